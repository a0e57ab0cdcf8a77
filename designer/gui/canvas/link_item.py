"""Links: orthogonal routes around node bodies (designer.core.routing) with rounded corners, from an output
port to an input port, with a wide invisible click area."""

from __future__ import annotations


from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from designer.core.pipeline import Link
from designer.core.routing import Point, Router
from designer.gui.canvas.node_item import HoverItem, PortItem
from designer.gui.theme import port_colour, theme

CLICK_WIDTH = 14.0


def curve(start: QPointF, end: QPointF) -> QPainterPath:
    """An S-curve leaving `start` to the right and entering `end` from the left."""
    dx = end.x() - start.x()
    reach = max(40.0, abs(dx) * 0.5) if dx >= 0 else max(60.0, min(220.0, abs(end.y() - start.y()) * 0.5 + 40))
    path = QPainterPath(start)
    path.cubicTo(QPointF(start.x() + reach, start.y()), QPointF(end.x() - reach, end.y()), end)
    return path


CORNER = 10.0


def rounded(points: list[Point]) -> QPainterPath:
    """A polyline with its corners rounded (radius at most CORNER, less on short segments)."""
    path = QPainterPath(QPointF(*points[0]))
    for i in range(1, len(points) - 1):
        (ax, ay), (bx, by), (cx, cy) = points[i - 1], points[i], points[i + 1]
        r = min(CORNER, abs(bx - ax + by - ay) / 2, abs(cx - bx + cy - by) / 2)
        ux, uy = _unit(ax, ay, bx, by)
        vx, vy = _unit(bx, by, cx, cy)
        path.lineTo(QPointF(bx - ux * r, by - uy * r))
        path.quadTo(QPointF(bx, by), QPointF(bx + vx * r, by + vy * r))
    path.lineTo(QPointF(*points[-1]))
    return path


def _unit(ax: float, ay: float, bx: float, by: float) -> tuple[float, float]:
    d = abs(bx - ax) + abs(by - ay)
    return ((bx - ax) / d, (by - ay) / d) if d else (0.0, 0.0)


class LinkItem(HoverItem):
    """A link between two port items. `path_updates` counts recomputations (moves must touch few links)."""

    path_updates = 0

    def __init__(self, link: Link, source: PortItem, target: PortItem, router: Router | None = None) -> None:
        super().__init__()
        self.link, self.source, self.target = link, source, target
        self.router = router
        self.points: list[Point] = []
        self.setFlags(QGraphicsItem.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(0)
        self.setToolTip(f"{link.source} → {link.target} ({source.port_type})")
        self._path = QPainterPath()
        self._shape: QPainterPath | None = None
        self._rect = QRectF()
        self._hover = False
        self.update_path()

    def update_path(self) -> None:
        LinkItem.path_updates += 1
        self.prepareGeometryChange()
        start, end = self.source.scenePos(), self.target.scenePos()
        if self.router is None:
            self.points = []
            self._path = curve(start, end)
        else:
            self.points = self.router.route((start.x(), start.y()), (end.x(), end.y()))
            self._path = rounded(self.points)
        self._shape = None
        self._rect = self._path.controlPointRect().adjusted(-CLICK_WIDTH, -CLICK_WIDTH, CLICK_WIDTH, CLICK_WIDTH)

    def path(self) -> QPainterPath:
        return self._path

    def boundingRect(self) -> QRectF:
        return self._rect

    def shape(self) -> QPainterPath:
        if self._shape is None:
            stroker = QPainterPathStroker()
            stroker.setWidth(CLICK_WIDTH)
            stroker.setCapStyle(Qt.RoundCap)
            self._shape = stroker.createStroke(self._path)
        return self._shape

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        colour = port_colour(self.source.port_type)
        painter.setBrush(Qt.NoBrush)
        if self.isSelected():
            painter.setPen(QPen(theme().c("selection"), 6.0, Qt.SolidLine, Qt.RoundCap))
            painter.drawPath(self._path)
        width = 3.0 if self._hover or self.isSelected() else 2.0
        painter.setPen(QPen(colour, width, Qt.SolidLine, Qt.RoundCap))
        painter.drawPath(self._path)


class DraftLinkItem(QGraphicsItem):
    """The dashed link that follows the mouse while a new link is dragged."""

    def __init__(self, source: PortItem) -> None:
        super().__init__()
        self.source = source
        self.ok: bool | None = None
        self.setZValue(5)
        self._path = QPainterPath()
        self.set_end(source.scenePos())

    def set_end(self, end: QPointF, ok: bool | None = None) -> None:
        self.prepareGeometryChange()
        self.ok = ok
        self._path = curve(self.source.scenePos(), end)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._path.controlPointRect().adjusted(-4, -4, 4, 4)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        colour = port_colour(self.source.port_type) if self.ok is not False else QColor(theme().error)
        painter.setPen(QPen(colour, 2.2, Qt.DashLine if self.ok is None else Qt.SolidLine, Qt.RoundCap))
        painter.drawPath(self._path)
