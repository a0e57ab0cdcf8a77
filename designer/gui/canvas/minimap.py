"""A small overview of the whole canvas in the view's corner; click or drag in it to move the view."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QFrame, QGraphicsView

from designer.gui.theme import theme

if TYPE_CHECKING:
    from designer.gui.canvas.view import PipelineView

SIZE = (200, 128)
MARGIN = 12


class Minimap(QGraphicsView):
    """Another view of the same scene, scaled to fit its content, showing the main view's rectangle."""

    def __init__(self, main: "PipelineView") -> None:
        super().__init__(main.scene(), main)
        self.main = main
        self.setInteractive(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setRenderHints(QPainter.Antialiasing)
        self.setFixedSize(*SIZE)
        self.setFrameShape(QFrame.StyledPanel)
        self.setCursor(Qt.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the view")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self.refit)
        # A bound method, not a lambda: Qt drops the connection when the map is destroyed, while the scene (kept
        # alive from Python) may still emit `changed`; a lambda then reached a deleted timer.
        main.scene().changed.connect(self._scene_changed)
        self.wanted = True
        self.refresh_colours()
        self.refit()

    def set_wanted(self, wanted: bool) -> None:
        """The user's choice; the map also hides itself while the canvas is empty."""
        self.wanted = wanted
        self.refit()

    def refresh_colours(self) -> None:
        canvas = theme().c("canvas")
        self.setBackgroundBrush(canvas.darker(104) if not theme().dark else canvas.lighter(115))

    def place(self) -> None:
        parent = self.main.viewport()
        self.move(parent.width() - SIZE[0] - MARGIN, parent.height() - SIZE[1] - MARGIN)

    def _scene_changed(self, *_: object) -> None:
        self._timer.start()

    def refit(self) -> None:
        rect = self.main.pipeline_scene.content_rect()
        self.setVisible(self.wanted and not rect.isNull())
        if rect.isNull():
            return
        self.fitInView(rect.adjusted(-80, -80, 80, 80), Qt.KeepAspectRatio)
        self.viewport().update()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        area = self.main.visible_scene_rect()
        fill = QColor(theme().selection)
        fill.setAlpha(22)
        painter.setBrush(fill)
        painter.setPen(QPen(QColor(theme().selection), 0))
        painter.drawRect(area)

    def _centre_main(self, event: Any) -> None:
        self.main.centerOn(self.mapToScene(event.position().toPoint()))
        self.viewport().update()

    def mousePressEvent(self, event: Any) -> None:
        self._centre_main(event)

    def mouseMoveEvent(self, event: Any) -> None:
        if event.buttons() & Qt.LeftButton:
            self._centre_main(event)

    def wheelEvent(self, event: Any) -> None:
        event.ignore()
