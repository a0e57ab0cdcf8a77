"""A searchable popup list of modules (Tab on the canvas, or a link dropped on empty canvas)."""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout

from designer.gui.palette import modules_by_category, module_tooltip, swatch
from designer.gui.theme import category_colour


class AddMenu(QFrame):
    """Type to filter, arrows to move, Enter or click to choose; emits `chosen(type_id)` then closes."""

    chosen = Signal(str)

    def __init__(self, title: str, accept: Callable[[Any], bool] | None = None, parent: Any = None) -> None:
        super().__init__(parent, Qt.Popup)
        self.setObjectName("addMenu")
        self.setFrameShape(QFrame.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        caption = QLabel(title)
        caption.setObjectName("muted")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search…")
        self.list = QListWidget()
        self.list.setFixedSize(300, 260)
        layout.addWidget(caption)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        for category, classes in modules_by_category().items():
            for _, cls in classes:
                if cls is None or accept is not None and not accept(cls):
                    continue
                item = QListWidgetItem(swatch(category_colour(category)), f"{cls.title}")
                item.setData(Qt.UserRole, cls.type_id)
                item.setData(Qt.UserRole + 1, f"{cls.title} {cls.type_id} {category}".lower())
                item.setToolTip(module_tooltip(cls))
                self.list.addItem(item)
        self.search.textChanged.connect(self.filter)
        self.search.installEventFilter(self)
        self.list.itemClicked.connect(self._choose_item)
        self.list.itemActivated.connect(self._choose_item)
        self.filter("")

    def type_ids(self) -> list[str]:
        """The visible entries, in order."""
        return [self.list.item(i).data(Qt.UserRole) for i in range(self.list.count())
                if not self.list.item(i).isHidden()]

    def filter(self, text: str) -> None:
        words = text.lower().split()
        first = None
        for i in range(self.list.count()):
            item = self.list.item(i)
            visible = all(w in item.data(Qt.UserRole + 1) for w in words)
            item.setHidden(not visible)
            if visible and first is None:
                first = item
        self.list.setCurrentItem(first)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.search and event.type() == QEvent.KeyPress:
            key = event.key()  # type: ignore[attr-defined]
            if key in (Qt.Key_Down, Qt.Key_Up):
                self._step(1 if key == Qt.Key_Down else -1)
                return True
            if key in (Qt.Key_Return, Qt.Key_Enter):
                if self.list.currentItem() is not None and not self.list.currentItem().isHidden():
                    self._choose_item(self.list.currentItem())
                return True
        return super().eventFilter(obj, event)

    def _step(self, delta: int) -> None:
        rows = [i for i in range(self.list.count()) if not self.list.item(i).isHidden()]
        if not rows:
            return
        cur = self.list.currentRow()
        pos = rows.index(cur) if cur in rows else -1
        self.list.setCurrentRow(rows[max(0, min(len(rows) - 1, pos + delta))])

    def choose(self, type_id: str) -> None:
        self.chosen.emit(type_id)
        self.close()

    def _choose_item(self, item: QListWidgetItem) -> None:
        self.choose(item.data(Qt.UserRole))

    def popup(self, global_pos: QPoint) -> None:
        self.adjustSize()
        self.move(global_pos)
        self.show()
        self.search.setFocus()
