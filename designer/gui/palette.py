"""The module palette: modules grouped by category, a search box, drag onto the canvas or double-click to add."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from designer.core.registry import ModuleInfo, default_registry
from designer.gui.canvas.view import MODULE_MIME
from designer.gui.theme import CATEGORY_COLOURS, category_colour

CATEGORY_ORDER = list(CATEGORY_COLOURS)


def swatch(colour: QColor, size: int = 12) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(Qt.NoPen)
    p.setBrush(colour)
    p.drawRoundedRect(1, 1, size - 2, size - 2, 3, 3)
    p.end()
    return QIcon(pm)


def modules_by_category() -> dict[str, list[tuple[ModuleInfo, Any]]]:
    """(manifest entry, class or None when its code fails to load) grouped by category (known categories
    first), each group sorted by title."""
    registry = default_registry()
    groups: dict[str, list[tuple[ModuleInfo, Any]]] = {}
    for info in registry.infos():
        groups.setdefault(info.category, []).append((info, registry.get(info.type_id)))
    order = sorted(groups, key=lambda c: (CATEGORY_ORDER.index(c) if c in CATEGORY_ORDER else 99, c))
    return {c: sorted(groups[c], key=lambda k: k[0].title) for c in order}


def module_tooltip(cls: Any) -> str:
    """Title, the first paragraph of the help, and the ports."""
    summary = " ".join(cls.help().split("\n\n")[0].split())
    ins = ", ".join(f"{p.name} ({p.type.value})" for p in cls.inputs) or "none"
    outs = ", ".join(f"{p.name} ({p.type.value})" for p in cls.outputs) or "none"
    return f"<b>{cls.title}</b><br>{summary}<br><br>Inputs: {ins}<br>Outputs: {outs}"


class _ModuleTree(QTreeWidget):
    def mimeTypes(self) -> list[str]:
        return [MODULE_MIME]

    def supportedDropActions(self) -> Qt.DropAction:
        """Also the actions a drag from here offers: copy only. A drop that ends as a Move (Shift held) would
        make the tree delete the dragged module's row from the palette."""
        return Qt.CopyAction

    def mimeData(self, items: list[QTreeWidgetItem]) -> QMimeData:
        data = QMimeData()
        type_id = items[0].data(0, Qt.UserRole) if items else None
        if type_id:
            data.setData(MODULE_MIME, type_id.encode())
        return data


class Palette(QWidget):
    """Emits `add_requested(type_id)` on double-click or Enter; dragging an entry carries its type id."""

    add_requested = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search modules…")
        self.search.setClearButtonEnabled(True)
        self.tree = _ModuleTree()
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragOnly)
        self.tree.setIndentation(12)
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)  # every entry as tall as the first (Qt measured some rows shorter)
        self.tree.setObjectName("palette")
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        self.items: dict[str, QTreeWidgetItem] = {}
        for category, classes in modules_by_category().items():
            group = QTreeWidgetItem([category])
            group.setFlags(Qt.ItemIsEnabled)
            group.setIcon(0, swatch(category_colour(category)))
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            self.tree.addTopLevelItem(group)
            for info, cls in classes:
                item = QTreeWidgetItem([info.title])
                item.setData(0, Qt.UserRole, info.type_id)
                if cls is None:  # a plugin whose code fails: listed, greyed out, with the reason
                    item.setToolTip(0, f"<b>{info.title}</b> ({info.package})<br>Unavailable: "
                                       f"{default_registry().problem(info.type_id)}")
                    item.setFlags(Qt.NoItemFlags)
                else:
                    item.setToolTip(0, module_tooltip(cls))
                    item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
                group.addChild(item)
                self.items[info.type_id] = item
            group.setExpanded(True)
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._add_first_visible)
        self.tree.itemActivated.connect(self._activated)

    def filter(self, text: str) -> None:
        words = text.lower().split()
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            shown = 0
            for j in range(group.childCount()):
                item = group.child(j)
                hay = f"{item.text(0)} {item.data(0, Qt.UserRole)} {group.text(0)} {item.toolTip(0)}".lower()
                visible = all(w in hay for w in words)
                item.setHidden(not visible)
                shown += visible
            group.setHidden(shown == 0)

    def _add_first_visible(self) -> None:
        for type_id, item in self.items.items():
            if not item.isHidden() and not item.parent().isHidden() and item.flags() & Qt.ItemIsEnabled:
                self.add_requested.emit(type_id)
                return

    def _activated(self, item: QTreeWidgetItem, column: int) -> None:
        type_id = item.data(0, Qt.UserRole)
        if type_id:
            self.add_requested.emit(type_id)
