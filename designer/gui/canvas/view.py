"""The canvas view: zoom around the cursor, pan (middle-drag or Space-drag), rubber band, drops, Tab menu."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QCursor, QKeyEvent, QMouseEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QGraphicsView, QWidget

from designer.gui.canvas.interactions import PanInteraction
from designer.gui.canvas.minimap import Minimap
from designer.gui.canvas.note_item import NoteItem
from designer.gui.canvas.scene import PipelineScene
from designer.gui.theme import theme, ui_font

MODULE_MIME = "application/x-pipeline-designer-module"
MIN_ZOOM, MAX_ZOOM = 0.08, 3.0


class PipelineView(QGraphicsView):
    """Shows a PipelineScene. Emits requests (add menu, module drop) that the main window fulfils."""

    zoom_changed = Signal(float)
    add_menu_requested = Signal(QPointF, QPoint)
    """Tab: scene position and global position of the cursor."""
    module_dropped = Signal(str, QPointF)
    """A palette module dropped on the canvas: type id and scene position."""

    def __init__(self, scene: PipelineScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.pipeline_scene = scene
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setFrameShape(QGraphicsView.NoFrame)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self._pan: PanInteraction | None = None
        self._space = False
        self.minimap = Minimap(self)
        self.horizontalScrollBar().valueChanged.connect(self.minimap.viewport().update)
        self.verticalScrollBar().valueChanged.connect(self.minimap.viewport().update)

    # ------------------------------------------------------------------------------------ zoom
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, zoom: float, around_cursor: bool = False) -> None:
        """Zoom keeping the view's centre in place (keyboard, menu), or the point under the cursor (wheel)."""
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        centre = self.mapToScene(self.viewport().rect().center())
        self.scale(zoom / self.zoom, zoom / self.zoom)
        if not around_cursor:
            self.centerOn(centre)
        self.zoom_changed.emit(self.zoom)
        self.minimap.viewport().update()

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.set_zoom(self.zoom * (1.0015 ** delta), around_cursor=True)
        event.accept()

    def fit(self) -> None:
        """Show every node and note (F)."""
        rect = self.pipeline_scene.content_rect()
        if rect.isNull():
            self.set_zoom(1.0)
            self.centerOn(0, 0)
            return
        rect = rect.adjusted(-60, -60, 60, 60)
        self.fitInView(rect, Qt.KeepAspectRatio)
        if self.minimap.wanted:  # keep the bottom of the pipeline clear of the minimap
            rect.adjust(0, 0, 0, (self.minimap.height() + 16) / max(self.zoom, 0.01))
            self.fitInView(rect, Qt.KeepAspectRatio)
        if self.zoom > 1.25:
            self.set_zoom(1.25)
            self.centerOn(rect.center())
        self.zoom_changed.emit(self.zoom)
        self.minimap.viewport().update()

    def centre_scene_pos(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    def cursor_scene_pos(self) -> tuple[QPointF, QPoint]:
        """The cursor in scene and global coordinates (the view centre when the cursor is outside)."""
        global_pos = QCursor.pos()
        local = self.viewport().mapFromGlobal(global_pos)
        if not self.viewport().rect().contains(local):
            local = self.viewport().rect().center()
            global_pos = self.viewport().mapToGlobal(local)
        return self.mapToScene(local), global_pos

    # ------------------------------------------------------------------------------------ pan
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MiddleButton or (event.button() == Qt.LeftButton and self._space):
            self._pan = PanInteraction(self, event.position().toPoint())
            self.viewport().setCursor(Qt.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan is not None:
            self._pan.move(event.position().toPoint())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan is not None:
            self._pan = None
            self.viewport().setCursor(Qt.OpenHandCursor if self._space else Qt.ArrowCursor)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    # ------------------------------------------------------------------------------------ keys
    def _editing_text(self) -> bool:
        focus = self.pipeline_scene.focusItem()
        return isinstance(focus, NoteItem) and focus.editing

    def focusNextPrevChild(self, next: bool) -> bool:  # Tab opens the add menu instead
        return False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._editing_text():
            super().keyPressEvent(event)
            return
        key = event.key()
        if key == Qt.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setDragMode(QGraphicsView.NoDrag)
            self.viewport().setCursor(Qt.OpenHandCursor)
            event.accept()
            return
        if key == Qt.Key_Tab:
            scene_pos, global_pos = self.cursor_scene_pos()
            self.add_menu_requested.emit(scene_pos, global_pos)
            event.accept()
            return
        if key == Qt.Key_Escape and self.pipeline_scene.linking:
            self.pipeline_scene.cancel_interaction()
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat() and self._space:
            self._space = False
            self.setDragMode(QGraphicsView.RubberBandDrag)
            self.viewport().setCursor(Qt.ArrowCursor)
            event.accept()
            return
        super().keyReleaseEvent(event)

    # ------------------------------------------------------------------------------------ drops
    def dragEnterEvent(self, event: Any) -> None:
        if event.mimeData().hasFormat(MODULE_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: Any) -> None:
        if event.mimeData().hasFormat(MODULE_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: Any) -> None:
        if event.mimeData().hasFormat(MODULE_MIME):
            type_id = bytes(event.mimeData().data(MODULE_MIME).data()).decode()
            self.module_dropped.emit(type_id, self.mapToScene(event.position().toPoint()))
            event.acceptProposedAction()
        else:
            super().dropEvent(event)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if self.pipeline_scene.nodes or self.pipeline_scene.notes:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(theme().c("node_subtext"))
        painter.setFont(ui_font(1.5))
        painter.drawText(self.viewport().rect(), Qt.AlignCenter,
                         "Drag modules here from the palette, or press Tab to add one.\n"
                         "Connect an output port (right) to an input port (left).")
        painter.restore()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self.minimap.place()

    def visible_scene_rect(self) -> QRectF:
        return self.mapToScene(self.viewport().rect()).boundingRect()
