"""A node on the canvas: category-coloured header, typed ports (inputs left, outputs right), run badge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from designer.core.node import LearnerSpec, ModelSpec
from designer.core.states import NodeState
from designer.gui.theme import RUN_STATES, category_colour, port_colour, theme, ui_font

if TYPE_CHECKING:
    from designer.gui.canvas.scene import PipelineScene

WIDTH = 184.0
"""The narrowest node; nodes widen to fit their title, ports and results (up to MAX_WIDTH)."""
MAX_WIDTH = 340.0
RESULT_ROOM = 74.0
"""Room beside an output port's name for its result ('12,345 × 20')."""
READABLE_PX = 11.0
"""Zoomed out below SEMANTIC_ZOOM, titles are drawn this tall on screen, wrapped over the whole node."""
SEMANTIC_ZOOM = 0.6
HEADLINE_HINTS = {"Model": "999 trees · 99 features · fit 99.9 s", "Report": "ROC AUC 0.999 | ROC AUC 0.999"}
"""The longest usual headline of a node with such an output: room kept for it."""
HEADER = 28.0
SUBTITLE = 20.0
ROW = 20.0
PAD = 6.0
BADGE_R = 9.0
GRID = 20.0
TIP_LINES = 15
"""At most this many column lines in a port's tooltip."""


@dataclass(frozen=True)
class RunState:
    """What the canvas shows of a node's last run."""

    state: NodeState
    progress: float | None = None
    message: str = ""
    seconds: float | None = None


class HoverItem(QGraphicsItem):
    """A graphics item that repaints highlighted while the pointer is over it."""

    _hover = False

    def hoverEnterEvent(self, event: Any) -> None:
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event: Any) -> None:
        self._hover = False
        self.update()


class PortItem(HoverItem):
    """One port: a coloured circle on the node's edge; the grab target for links."""

    RADIUS = 5.5
    HIT = 10.0

    def __init__(self, node: "NodeItem", name: str, port_type: str, is_output: bool, description: str = "",
                 optional: bool = False) -> None:
        super().__init__(node)
        self.node_item, self.name, self.port_type, self.is_output = node, name, port_type, is_output
        self.optional = optional
        self.connected = False
        self.highlight: str | None = None  # "ok" | "bad" | None
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CrossCursor)
        kind = "output" if is_output else ("optional input" if optional else "input")
        self._tip = f"<b>{_esc(name)}</b>: {port_type} {kind}" + (f"<br>{_esc(description)}" if description else "")
        self.setToolTip(self._tip)
        self._hover = False
        self._schema_tip = ""
        self.result = ""
        """After a run: the output's size ('1,234 × 12'), drawn beside the port."""
        self.preview = ""
        """After a run: a few rows of the table, as rich text for the hover tooltip."""

    def set_schema(self, schema: Any, connected: bool = True) -> None:
        """Show what flows through this port (before any run): the propagated schema from validation.
        `connected=False`: an input with no link."""
        self._schema_tip = schema_tip(self.port_type, schema) if connected else "<i>not connected</i>"
        self._refresh_tip()

    def set_result(self, result: str, preview: str) -> None:
        self.result, self.preview = result, preview
        self._refresh_tip()

    def _refresh_tip(self) -> None:
        parts = [self._tip]
        if self.preview:
            parts.append(self.preview)
        elif self._schema_tip:
            parts.append(self._schema_tip)
        self.setToolTip("<br><br>".join(parts))

    @property
    def node_id(self) -> str:
        return self.node_item.node_id

    def boundingRect(self) -> QRectF:
        return QRectF(-self.HIT, -self.HIT, 2 * self.HIT, 2 * self.HIT)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addEllipse(QPointF(0, 0), self.HIT, self.HIT)
        return path

    def set_highlight(self, value: str | None) -> None:
        if value != self.highlight:
            self.highlight = value
            self.update()

    def set_connected(self, value: bool) -> None:
        if value != self.connected:
            self.connected = value
            self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        colour = port_colour(self.port_type)
        r = self.RADIUS + (1.5 if self._hover or self.highlight == "ok" else 0.0)
        if self.highlight == "ok":
            glow = QColor(colour)
            glow.setAlpha(70)
            painter.setPen(Qt.NoPen)
            painter.setBrush(glow)
            painter.drawEllipse(QPointF(0, 0), r + 5, r + 5)
        if self.highlight == "bad":
            colour.setAlpha(70)
        painter.setPen(QPen(colour, 2.0))
        painter.setBrush(colour if (self.connected or self.is_output) else theme().c("node_body"))
        painter.drawEllipse(QPointF(0, 0), r, r)


class NodeItem(QGraphicsItem):
    """A module instance. Moves are previews: the scene turns a finished drag into one undo command."""

    def __init__(self, node_id: str, title: str, type_title: str, category: str,
                 inputs: list[tuple[str, str, str, bool]], outputs: list[tuple[str, str, str, bool]]) -> None:
        super().__init__()
        self.node_id = node_id
        self.title = title
        self.type_title = type_title
        self.category = category
        self.run_state: RunState | None = None
        self.issue_level: str | None = None
        self.issue_text = ""
        self.setFlags(QGraphicsItem.ItemIsMovable | QGraphicsItem.ItemIsSelectable
                      | QGraphicsItem.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)
        rows = max(len(inputs), len(outputs), 1)
        self.height = HEADER + SUBTITLE + rows * ROW + PAD
        self.headline = ""
        self._headline_hint = next((HEADLINE_HINTS[p[1]] for p in outputs if p[1] in HEADLINE_HINTS), "")
        self.width = self._natural_width([p[0] for p in inputs], [p[0] for p in outputs])
        self.inputs: dict[str, PortItem] = {}
        self.outputs: dict[str, PortItem] = {}
        top = HEADER + SUBTITLE + ROW / 2
        for i, (name, ptype, desc, optional) in enumerate(inputs):
            port = PortItem(self, name, ptype, False, desc, optional)
            port.setPos(0, top + i * ROW)
            self.inputs[name] = port
        for i, (name, ptype, desc, optional) in enumerate(outputs):
            port = PortItem(self, name, ptype, True, desc, optional)
            port.setPos(self.width, top + i * ROW)
            self.outputs[name] = port
        self._update_tooltip()

    def _natural_width(self, ins: list[str], outs: list[str]) -> float:
        """Wide enough for the title (bold, with the badge), the type title and the port names with results."""
        bold, small = QFontMetricsF(ui_font(-0.5, bold=True)), QFontMetricsF(ui_font(-2))
        title = bold.horizontalAdvance(self.title or self.type_title) + 20 + 2 * BADGE_R
        sub = small.horizontalAdvance(self.type_title) + 20 + 50
        left = max((small.horizontalAdvance(n) for n in ins), default=0.0)
        right = max((small.horizontalAdvance(n) for n in outs), default=0.0) + (RESULT_ROOM if outs else 0)
        ports = left + right + 40
        headline = QFontMetricsF(ui_font(-2, bold=True)).horizontalAdvance(self._headline_hint) + 20
        return float(min(MAX_WIDTH, max(WIDTH, title, sub, ports, headline)))

    @property
    def body(self) -> QRectF:
        """The node's body in scene coordinates (what links must not cross)."""
        return QRectF(self.pos(), QRectF(0, 0, self.width, self.height).size())

    # ------------------------------------------------------------------------------------ state
    def set_title(self, title: str) -> None:
        self.title = title
        width = self._natural_width(list(self.inputs), list(self.outputs))
        if width != self.width:
            self.prepareGeometryChange()
            self.width = width
            for port in self.outputs.values():
                port.setPos(width, port.pos().y())
            scene = self.scene()
            if scene is not None:
                scene.node_item_moved(self)  # type: ignore[attr-defined]
        self._update_tooltip()
        self.update()

    def set_results(self, ports: dict[str, tuple[str, str]], headline: str) -> None:
        """After a run: per output port its size and preview, and the node's headline (none: cleared)."""
        for name, port in self.outputs.items():
            port.set_result(*ports.get(name, ("", "")))
        if headline != self.headline:
            self.headline = headline
            self.update()

    def set_run_state(self, state: RunState | None) -> None:
        self.run_state = state
        self._update_tooltip()
        self.update()

    def set_port_schemas(self, schemas: dict[tuple[bool, str], Any]) -> None:
        """Port tooltips from validation: {(is_output, port): schema}; an input not in it is not connected."""
        for port in (*self.inputs.values(), *self.outputs.values()):
            key = (port.is_output, port.name)
            port.set_schema(schemas.get(key), connected=port.is_output or key in schemas)

    def set_issues(self, level: str | None, text: str) -> None:
        if (level, text) != (self.issue_level, self.issue_text):
            self.issue_level, self.issue_text = level, text
            self._update_tooltip()
            self.update()

    def _update_tooltip(self) -> None:
        parts = [f"<b>{_esc(self.title or self.type_title)}</b> — {_esc(self.type_title)}",
                 f"<span style='color:gray'>id: {self.node_id}</span>"]
        rs = self.run_state
        if rs is not None:
            label = RUN_STATES[rs.state][2]
            if rs.state == NodeState.FAILED:
                parts.append(f"<span style='color:#dc2626'><b>Failed:</b> {_esc(rs.message)}</span>")
            elif rs.seconds is not None:
                parts.append(f"{label} in {rs.seconds:.2f} s")
            else:
                parts.append(label + (f": {_esc(rs.message)}" if rs.message else ""))
        if self.issue_text:
            colour = "#dc2626" if self.issue_level == "error" else "#b45309"
            parts.append(f"<span style='color:{colour}'>{_esc(self.issue_text)}</span>".replace("\n", "<br>"))
        self.setToolTip("<br>".join(parts))

    # ------------------------------------------------------------------------------------ geometry
    def boundingRect(self) -> QRectF:
        # room for the selection halo (3 px pen, 3 px out) and the badge: nothing painted outside, no trails
        return QRectF(-6, -BADGE_R - 6, self.width + BADGE_R + 12, self.height + BADGE_R + 12)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, self.width, self.height), 7, 7)
        return path

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        scene: PipelineScene | None = self.scene()  # type: ignore[assignment]
        if change == QGraphicsItem.ItemPositionChange and scene is not None and scene.snap_to_grid:
            return QPointF(round(value.x() / GRID) * GRID, round(value.y() / GRID) * GRID)
        if change == QGraphicsItem.ItemPositionHasChanged and scene is not None:
            scene.node_item_moved(self)
        return super().itemChange(change, value)

    # ------------------------------------------------------------------------------------ painting
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        t = theme()
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        W = self.width
        rect = QRectF(0, 0, W, self.height)
        accent = category_colour(self.category)
        selected = self.isSelected()
        if lod < 0.25:  # the minimap, or zoomed very far out: a plain block
            painter.setPen(QPen(t.c("selection"), 6) if selected else Qt.NoPen)
            painter.setBrush(accent)
            painter.drawRect(rect)
            self._paint_badge(painter, simple=True)
            return
        border = t.c("node_border")
        width = 1.0
        if self.issue_level == "error" or (self.run_state and self.run_state.state == NodeState.FAILED):
            border, width = QColor(t.error), 2.0
        elif self.issue_level == "warning":
            border, width = QColor(t.warning), 1.6
        if selected:
            halo = t.c("selection")
            painter.setPen(QPen(halo, 3.0))
            painter.setBrush(Qt.NoBrush)
            painter.drawRoundedRect(rect.adjusted(-3, -3, 3, 3), 9, 9)
        if lod < SEMANTIC_ZOOM:  # zoomed out: a coloured card with a title large enough to read
            painter.setPen(QPen(border, width) if width > 1 else Qt.NoPen)
            painter.setBrush(accent)
            painter.drawRoundedRect(rect, 7, 7)
            self._paint_zoomed_out(painter, lod)
            self._paint_badge(painter)
            return
        painter.setPen(QPen(border, width))
        painter.setBrush(t.c("node_body"))
        painter.drawRoundedRect(rect, 7, 7)
        # header
        header = QPainterPath()
        header.addRoundedRect(QRectF(0, 0, W, HEADER + 8), 7, 7)
        clip = QPainterPath()
        clip.addRect(QRectF(0, 0, W, HEADER))
        painter.setPen(Qt.NoPen)
        painter.setBrush(accent)
        painter.drawPath(header.intersected(clip))
        title_font = ui_font(-0.5, bold=True)
        painter.setFont(title_font)
        painter.setPen(QColor("#ffffff"))
        fm = QFontMetricsF(title_font)
        room = W - 20 - (BADGE_R * 2 if self.run_state else 0)
        painter.drawText(QRectF(10, 0, room, HEADER), Qt.AlignVCenter | Qt.AlignLeft,
                         fm.elidedText(self.title or self.type_title, Qt.ElideRight, room))
        small = ui_font(-2)
        painter.setFont(small)
        fm = QFontMetricsF(small)
        painter.setPen(t.c("node_subtext"))
        sub_rect = QRectF(10, HEADER, W - 20, SUBTITLE)
        detail = self._state_detail()
        if detail:
            painter.drawText(sub_rect, Qt.AlignVCenter | Qt.AlignRight, detail)
        sub_room = W - 20 - (fm.horizontalAdvance(detail) + 8 if detail else 0)
        if self.headline:
            bold_small = ui_font(-2, bold=True)
            painter.setFont(bold_small)
            painter.setPen(t.c("node_text"))
            painter.drawText(QRectF(10, HEADER, sub_room, SUBTITLE), Qt.AlignVCenter | Qt.AlignLeft,
                             QFontMetricsF(bold_small).elidedText(self.headline, Qt.ElideRight, sub_room))
            painter.setFont(small)
        else:
            painter.drawText(QRectF(10, HEADER, sub_room, SUBTITLE), Qt.AlignVCenter | Qt.AlignLeft,
                             fm.elidedText(self.type_title, Qt.ElideRight, sub_room))
        painter.setPen(t.c("node_text"))
        in_room = max((fm.horizontalAdvance(p.name) for p in self.inputs.values()), default=0.0) + 4
        for port in self.inputs.values():
            y = port.pos().y()
            painter.drawText(QRectF(12, y - ROW / 2, in_room, ROW), Qt.AlignVCenter | Qt.AlignLeft, port.name)
        for port in self.outputs.values():
            y = port.pos().y()
            name_w = fm.horizontalAdvance(port.name) + 2
            painter.setPen(t.c("node_text"))
            painter.drawText(QRectF(W - 12 - name_w, y - ROW / 2, name_w, ROW), Qt.AlignVCenter | Qt.AlignRight,
                             port.name)
            if port.result:
                room = W - 12 - name_w - 8 - (12 + in_room)
                painter.setPen(t.c("node_subtext"))
                painter.drawText(QRectF(12 + in_room, y - ROW / 2, room, ROW), Qt.AlignVCenter | Qt.AlignRight,
                                 fm.elidedText(port.result, Qt.ElideLeft, room))
        self._paint_badge(painter)

    def _paint_zoomed_out(self, painter: QPainter, lod: float) -> None:
        """Semantic zoom: the title (and headline) at a readable size on screen, wrapped over the whole node;
        what does not fit ends in an ellipsis."""
        font = ui_font(0, bold=True)
        font.setPixelSize(max(1, round(READABLE_PX / lod)))
        fm = QFontMetricsF(font)
        inner = QRectF(6, 3, self.width - 12, self.height - 6)
        line_h = fm.height()
        max_lines = max(1, int(inner.height() // line_h))
        lines = wrap_lines(self.title or self.type_title, fm, inner.width(), max_lines)
        headline = self.headline if len(lines) < max_lines else ""
        block = (len(lines) + (1 if headline else 0)) * line_h
        y = inner.y() + (inner.height() - block) / 2
        painter.setFont(font)
        painter.setPen(QColor("#ffffff"))
        for line in lines:
            painter.drawText(QRectF(inner.x(), y, inner.width(), line_h), Qt.AlignCenter, line)
            y += line_h
        if headline:
            small = QFont(font)
            small.setBold(False)
            painter.setFont(small)
            painter.drawText(QRectF(inner.x(), y, inner.width(), line_h), Qt.AlignCenter,
                             QFontMetricsF(small).elidedText(headline, Qt.ElideRight, inner.width()))

    def _state_detail(self) -> str:
        rs = self.run_state
        if rs is None:
            return ""
        if rs.state == NodeState.RUNNING:
            return f"{int((rs.progress or 0) * 100)} %"
        if rs.state == NodeState.RUNNING and rs.message == "stopping…":
            return "stopping…"
        if rs.state == NodeState.DONE and rs.seconds is not None and "fit " not in self.headline:
            return f"{rs.seconds:.2f} s" if rs.seconds < 100 else f"{rs.seconds:.0f} s"
        return "" if rs.state == NodeState.DONE else RUN_STATES[rs.state][2].lower()

    def _paint_badge(self, painter: QPainter, simple: bool = False) -> None:
        rs = self.run_state
        if rs is None:
            return
        colour_name, symbol, _ = RUN_STATES[rs.state]
        colour = QColor(colour_name)
        centre = QPointF(self.width - 2, 0)
        r = BADGE_R * (2.2 if simple else 1.0)
        painter.setPen(QPen(QColor("#ffffff"), 1.6))
        if rs.state == NodeState.STALE:
            painter.setBrush(theme().c("node_body"))
            painter.setPen(QPen(colour, 2.2))
            painter.drawEllipse(centre, r - 1, r - 1)
            return
        if rs.state == NodeState.RUNNING:
            painter.setBrush(QColor("#ffffff"))
            painter.setPen(QPen(colour.lighter(170), 2.0))
            painter.drawEllipse(centre, r, r)
            span = int(-360 * 16 * max(0.04, rs.progress or 0.0))
            painter.setPen(QPen(colour, 3.0, Qt.SolidLine, Qt.RoundCap))
            painter.drawArc(QRectF(centre.x() - r + 2, centre.y() - r + 2, 2 * r - 4, 2 * r - 4), 90 * 16, span)
            return
        painter.setBrush(QBrush(colour))
        painter.drawEllipse(centre, r, r)
        if simple or not symbol:
            return
        painter.setFont(ui_font(-1, bold=True))
        painter.setPen(QColor("#ffffff"))
        painter.drawText(QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r), Qt.AlignCenter, symbol)


def schema_tip(port_type: str, schema: Any) -> str:
    """Rich text for a port tooltip: a table's columns and kinds (at most TIP_LINES lines), or what a model or
    learner is; empty when there is nothing to say."""
    if isinstance(schema, (LearnerSpec, ModelSpec)):
        what = f"<b>{port_type}</b> — {_esc(schema.task)}"
        if isinstance(schema, ModelSpec) and schema.label:
            what += f", predicting <b>{_esc(schema.label)}</b>"
        if isinstance(schema, ModelSpec):
            n = len(schema.features)
            what += f" from {n} feature{'s' * (n != 1)}"
        return what
    columns = getattr(schema, "columns", None)
    if columns is not None:
        exact = getattr(schema, "exact", True)
        count = f"{len(columns)} column{'s' * (len(columns) != 1)}" if exact else f"at least {len(columns)} columns"
        shown = columns if len(columns) <= TIP_LINES else columns[:TIP_LINES - 1]
        lines = [f"{_esc(str(name))} <span style='color:gray'>({kind})</span>" for name, kind in shown]
        if len(shown) < len(columns):
            lines.append(f"… and {len(columns) - len(shown)} more")
        return f"<b>{port_type}</b> — {count}:<br>" + "<br>".join(lines)
    if schema is None and port_type == "Table":
        return "<i>columns unknown: fix the problems upstream</i>"
    return ""


def wrap_lines(text: str, fm: QFontMetricsF, width: float, max_lines: int) -> list[str]:
    """Words wrapped into at most `max_lines` lines of `width`; the last line ends in '…' if text is left."""
    lines: list[str] = []
    words = text.split()
    while words and len(lines) < max_lines:
        line = words.pop(0)
        while words and fm.horizontalAdvance(f"{line} {words[0]}") <= width:
            line += " " + words.pop(0)
        lines.append(line)
    if words and lines:
        lines[-1] = fm.elidedText(f"{lines[-1]} {' '.join(words)}", Qt.ElideRight, width)
    return [fm.elidedText(l, Qt.ElideRight, width) for l in lines]


def preview_html(names: list[str], rows: list[list[str]]) -> str:
    """A small table preview for a port's tooltip."""
    head = "".join(f"<th align=left>{_esc(n)}</th>" for n in names)
    body = "".join("<tr>" + "".join(f"<td>{_esc(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table cellspacing=0 cellpadding=2><tr>{head}</tr>{body}</table>"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
