"""A searchable popup list of modules (Tab on the canvas, or a link dropped on empty canvas)."""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout

from designer.core.module_search import match_rank

from designer.gui.palette import modules_by_category, module_tooltip, swatch
from designer.gui.theme import category_colour


FUZZY = 5
"""`match_rank` tier of a fuzzy match."""


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
                item.setData(Qt.UserRole + 1, f"{cls.type_id} {category}".lower())
                item.setData(Qt.UserRole + 2, self.list.count())  # catalogue order breaks ties
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
        """Show the matching modules, best first: exact and prefix matches, then words; fuzzy (letters in
        order) matches only when nothing matches better."""
        items = [self.list.takeItem(0) for _ in range(self.list.count())]
        ranks = [match_rank(text, item.text(), item.data(Qt.UserRole + 1)) for item in items]
        if any(r is not None and r[0] < FUZZY for r in ranks):
            ranks = [r if r is not None and r[0] < FUZZY else None for r in ranks]
        ranked = []
        for i, (item, rank) in enumerate(zip(items, ranks)):
            ranked.append(((rank is None, rank or (0, 0), item.data(Qt.UserRole + 2) if text.strip() else i), item))
        ranked.sort(key=lambda r: r[0])
        for key, item in ranked:
            self.list.addItem(item)
            item.setHidden(key[0])
        first = next((item for _, item in ranked if not item.isHidden()), None)
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
        """Show at `global_pos`, moved (or flipped above the point) so it stays on the screen."""
        self.adjustSize()
        screen = QGuiApplication.screenAt(global_pos) or QGuiApplication.primaryScreen()
        area = screen.availableGeometry() if screen is not None else QRect(global_pos, self.size())
        self.move(on_screen(global_pos, self.width(), self.height(), area))
        self.show()
        self.search.setFocus()


def on_screen(pos: QPoint, w: int, h: int, area: QRect) -> QPoint:
    """Where a popup of w × h opened at `pos` fits inside `area`: flipped above or left of `pos` if needed."""
    x, y = pos.x(), pos.y()
    if y + h > area.bottom():
        y = max(area.top(), y - h)
    if x + w > area.right():
        x = max(area.left(), area.right() - w)
    return QPoint(max(area.left(), x), max(area.top(), y))
