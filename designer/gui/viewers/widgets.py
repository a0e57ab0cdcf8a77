"""Small building blocks shared by the viewers: read-only tables with CSV export, wrapped notes."""

from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import QEvent, QObject, QSettings, Qt
from PySide6.QtGui import QFontMetrics, QPalette
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QSplitter, QTableWidget, QTableWidgetItem

from designer.core.profile import format_stat
from designer.gui.viewers.export import add_csv_export, model_frame


def cell_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(cell_text(v) for v in value)
    return "" if value is None else format_stat(value)


def make_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], name: str,
               numeric_from: int = 1, fit: bool = False) -> QTableWidget:
    """A read-only table of small data; columns from `numeric_from` on are right-aligned. `fit` makes it
    exactly as large as its cells (no scrolling, no empty area). Right-click exports it as CSV."""
    table = QTableWidget(len(rows), len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QAbstractItemView.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setSectionResizeMode(QHeaderView.Fixed)
    table.verticalHeader().setDefaultSectionSize(QFontMetrics(table.font()).height() + 8)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            item = QTableWidgetItem(cell_text(value))
            item.setToolTip(str(value))
            if c >= numeric_from:
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            table.setItem(r, c, item)
    table.resizeColumnsToContents()
    for c in range(len(headers)):
        table.setColumnWidth(c, min(table.columnWidth(c) + 16, 360))
    if fit:
        height = table.horizontalHeader().sizeHint().height() + table.verticalHeader().length()
        table.setFixedHeight(height + 2 * table.frameWidth() + 2)
        table.setMaximumWidth(table.horizontalHeader().length() + 2 * table.frameWidth() + 2)
        table.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    add_csv_export(table, lambda: model_frame(table.model()), name)
    return table


def note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    palette = label.palette()
    palette.setColor(QPalette.WindowText, palette.color(QPalette.PlaceholderText))
    label.setPalette(palette)
    return label


class _SplitterMemory(QObject):
    """Restores a splitter's sizes once it is laid out (the user's last ones, else `ratio`) and saves moves."""

    def __init__(self, splitter: QSplitter, key: str, ratio: float) -> None:
        super().__init__(splitter)
        self.splitter, self.key, self.ratio = splitter, f"splitters/{key}", ratio
        self.restored = False
        splitter.installEventFilter(self)
        splitter.splitterMoved.connect(self.save)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Show, QEvent.Resize) and not self.restored and obj.width() > 0:
            self.restored = True
            total = sum(self.splitter.sizes()) or (self.splitter.height()
                                                   if self.splitter.orientation() == Qt.Vertical
                                                   else self.splitter.width())
            saved = QSettings().value(self.key)
            first = float(saved) if saved is not None else self.ratio
            first = min(0.9, max(0.1, first))
            self.splitter.setSizes([int(total * first), total - int(total * first)])
        return False

    def save(self, *_: Any) -> None:
        sizes = self.splitter.sizes()
        if sum(sizes) > 0:
            QSettings().setValue(self.key, round(sizes[0] / sum(sizes), 3))


def remember_sizes(splitter: QSplitter, key: str, ratio: float) -> QSplitter:
    """Give the first pane `ratio` of the room (or what the user chose last time for this kind of viewer)."""
    _SplitterMemory(splitter, key, ratio)
    return splitter
