"""Small building blocks shared by the viewers: read-only tables with CSV export, wrapped notes."""

from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics, QPalette
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem

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
