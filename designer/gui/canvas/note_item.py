"""A text note on the canvas (Layout.notes): movable, edited in place with a double-click."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsTextItem, QStyle, QStyleOptionGraphicsItem, QWidget

from designer.core.pipeline import Note
from designer.gui.theme import theme, ui_font

if TYPE_CHECKING:
    from designer.gui.canvas.scene import PipelineScene


PLACEHOLDER = "Double-click to write a note"


class NoteItem(QGraphicsTextItem):
    """Shows one Note; text edits and moves go back to the document through the scene."""

    def __init__(self, note: Note) -> None:
        super().__init__()
        self.note = note
        self.setFlags(QGraphicsItem.ItemIsMovable | QGraphicsItem.ItemIsSelectable)
        self.setZValue(-2)
        self.setFont(ui_font(0))
        self.refresh()

    @property
    def editing(self) -> bool:
        return bool(self.textInteractionFlags() & Qt.TextEditorInteraction)

    def refresh(self) -> None:
        """Show the note's current text, width and position."""
        if self.toPlainText() != self.note.text:
            self.setPlainText(self.note.text)
        self.setTextWidth(self.note.width)
        self.setDefaultTextColor(theme().c("note_text"))
        self.setPos(self.note.x, self.note.y)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        t = theme()
        rect = self.boundingRect()
        painter.setPen(QPen(t.c("selection"), 2.0) if self.isSelected() else QPen(t.c("note_fill").darker(115), 1))
        painter.setBrush(t.c("note_fill"))
        painter.drawRoundedRect(rect, 4, 4)
        if not self.toPlainText() and not self.editing:  # a hint, never part of the note's text
            painter.setPen(t.c("node_subtext"))
            font = ui_font(0)
            font.setItalic(True)
            painter.setFont(font)
            painter.drawText(rect.adjusted(8, 4, -8, -4), Qt.AlignLeft | Qt.AlignVCenter | Qt.TextWordWrap, PLACEHOLDER)
        option.state &= ~QStyle.State_Selected
        option.state &= ~QStyle.State_HasFocus
        super().paint(painter, option, widget)

    def boundingRect(self) -> QRectF:
        return super().boundingRect().adjusted(-4, -4, 4, 4)

    def mouseDoubleClickEvent(self, event: Any) -> None:
        self.setTextInteractionFlags(Qt.TextEditorInteraction)
        self.setFocus(Qt.MouseFocusReason)
        super().mouseDoubleClickEvent(event)

    def focusOutEvent(self, event: Any) -> None:
        super().focusOutEvent(event)
        self.setTextInteractionFlags(Qt.NoTextInteraction)
        scene: PipelineScene | None = self.scene()  # type: ignore[assignment]
        if scene is not None and self.toPlainText() != self.note.text:
            scene.note_edited(self, self.toPlainText())
