"""TableViewer: a lazy view of a Table or DataFrame of any size, with sort, filter and CSV export.

`FrameModel` formats only the cells Qt asks for; sorting keeps an array of row positions (pandas argsort)
and filtering a boolean mask, so a million-row frame opens at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QLineEdit, QTableView, QToolButton,
                               QVBoxLayout, QWidget)

from designer.core.schema import kind_of_dtype
from designer.gui.viewers.export import add_csv_export, ask_save_table

if TYPE_CHECKING:
    from designer.core.values import Table

MISSING = "missing"
FILTER_DELAY_MS = 250
_NUMBER_CHARS = set("0123456789.-+e")
Index = QModelIndex | QPersistentModelIndex


def frame_of(value: "Table | pd.DataFrame") -> "pd.DataFrame":
    """What a person sees of a table: meta columns included (and the source row of scored rows)."""
    return getattr(value, "view", value)


def is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-like cells
        return False


def format_cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.10g}"
    return str(value)


def count_text(shown: int, total: int) -> str:
    noun = "row" if total == 1 else "rows"
    return f"{total:,} {noun}" if shown == total else f"{shown:,} of {total:,} {noun}"


class FrameModel(QAbstractTableModel):
    """A DataFrame as a Qt table model; `rows` maps view rows to frame positions (None: all, in order)."""

    def __init__(self, frame: "pd.DataFrame", parent: Any = None) -> None:
        super().__init__(parent)
        self._italic = QFont()
        self._italic.setItalic(True)
        self._grey = QColor("#8c959f")
        self._tint = QColor(245, 158, 11, 40)
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._filter = ""
        self._set(frame)

    # -- state -------------------------------------------------------------------------------------
    def _set(self, frame: "pd.DataFrame") -> None:
        self.frame = frame
        self._columns = [frame.iloc[:, j] for j in range(frame.shape[1])]
        self.kinds = [kind_of_dtype(s.dtype) for s in self._columns]
        self._order: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        self.rows: np.ndarray | None = None

    def set_frame(self, frame: "pd.DataFrame") -> None:
        """Show another frame, keeping the sort column (by position) and the filter text."""
        self.beginResetModel()
        self._set(frame)
        self._recompute_order()
        self._mask = self._filter_mask(self._filter)
        self._combine()
        self.endResetModel()

    @property
    def total_rows(self) -> int:
        return len(self.frame)

    @property
    def shown_rows(self) -> int:
        return self.total_rows if self.rows is None else len(self.rows)

    def visible_frame(self) -> "pd.DataFrame":
        """The rows as shown (filtered, sorted)."""
        return self.frame if self.rows is None else self.frame.iloc[self.rows]

    def position(self, row: int) -> int:
        """The frame position shown at view row `row`."""
        return row if self.rows is None else int(self.rows[row])

    # -- Qt model ------------------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else self.shown_rows

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: Index, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role in (Qt.DisplayRole, Qt.ToolTipRole, Qt.ForegroundRole, Qt.FontRole, Qt.BackgroundRole):
            value = self._columns[index.column()].iat[self.position(index.row())]
            missing = is_missing(value)
            if role == Qt.DisplayRole:
                return MISSING if missing else format_cell(value)
            if role == Qt.ToolTipRole:
                return "missing value" if missing else str(value)
            if missing:
                return {Qt.ForegroundRole: self._grey, Qt.FontRole: self._italic,
                        Qt.BackgroundRole: self._tint}[role]
            return None
        if role == Qt.TextAlignmentRole:
            numeric = self.kinds[index.column()] == "numeric"
            return int((Qt.AlignRight if numeric else Qt.AlignLeft) | Qt.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole) -> Any:
        if orientation == Qt.Horizontal:
            if role == Qt.DisplayRole:
                return f"{self.frame.columns[section]}\n{self.kinds[section]}"
            if role == Qt.ToolTipRole:
                name, kind = self.frame.columns[section], self.kinds[section]
                return f"{name} ({kind}, {self.frame.dtypes.iloc[section]})"
            return None
        if role == Qt.DisplayRole:
            return f"{self.position(section) + 1:,}"
        return None

    # -- sort and filter ----------------------------------------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.AscendingOrder) -> None:
        """Sort by a column (missing values last); column -1 restores the frame's order."""
        self.beginResetModel()
        self._sort = (column, order) if 0 <= column < len(self._columns) else None
        self._recompute_order()
        self._combine()
        self.endResetModel()

    def set_filter(self, text: str) -> None:
        """Keep rows where any cell contains `text` (case-insensitive)."""
        self.beginResetModel()
        self._filter = text
        self._mask = self._filter_mask(text)
        self._combine()
        self.endResetModel()

    def _recompute_order(self) -> None:
        if self._sort is None or self._sort[0] >= len(self._columns):
            self._order = None
            return
        column, order = self._sort
        series = self._columns[column]
        try:
            positions = series.argsort(kind="stable").to_numpy()  # missing values come last
        except TypeError:  # mixed types (numbers and text): sort by the text
            positions = series.astype("str").argsort(kind="stable").to_numpy()
        if order == Qt.DescendingOrder:
            known = len(series) - int(series.isna().sum())
            positions = np.concatenate([positions[:known][::-1], positions[known:]])
        self._order = positions

    def _filter_mask(self, text: str) -> np.ndarray | None:
        needle = text.strip().lower()
        if not needle:
            return None
        mask = np.zeros(len(self.frame), dtype=bool)
        numberish = set(needle) <= _NUMBER_CHARS
        for series, kind in zip(self._columns, self.kinds):
            if kind == "numeric" and not numberish:
                continue  # formatting a million numbers is slow; letters never match them
            hits = series.astype("str").str.contains(needle, case=False, regex=False)  # missing: no match
            mask |= hits.to_numpy(dtype=bool, na_value=False)
        return mask

    def _combine(self) -> None:
        if self._mask is None:
            self.rows = self._order
        elif self._order is None:
            self.rows = np.flatnonzero(self._mask)
        else:
            self.rows = self._order[self._mask[self._order]]


class TableViewer(QWidget):
    """A table with a row filter, the row count, the column kinds in the header and CSV export."""

    def __init__(self, value: "Table | pd.DataFrame", name: str = "table",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.model = FrameModel(frame_of(value), self)
        self.filter_edit = QLineEdit(placeholderText="Filter rows (any cell contains…)",
                                     clearButtonEnabled=True)
        self.count_label = QLabel()
        self.export_button = QToolButton(text="Export CSV…", toolTip="Save the rows shown (filtered, sorted)")
        self.export_button.clicked.connect(lambda: ask_save_table(self, self.model.visible_frame, self.name))
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setSelectionBehavior(QTableView.SelectItems)
        rows = self.view.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.Fixed)
        rows.setDefaultSectionSize(QFontMetrics(self.view.font()).height() + 8)
        rows.setDefaultAlignment(Qt.AlignRight | Qt.AlignVCenter)
        header = self.view.horizontalHeader()
        header.setSortIndicatorClearable(True)
        header.setSortIndicator(-1, Qt.AscendingOrder)
        self.view.setSortingEnabled(True)
        add_csv_export(self.view, self.model.visible_frame, name)

        self._timer = QTimer(self, singleShot=True, interval=FILTER_DELAY_MS)
        self._timer.timeout.connect(self.apply_filter)
        self.filter_edit.textChanged.connect(lambda _: self._timer.start())
        self.model.modelReset.connect(self._update_count)

        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.count_label)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        self._fit_columns()
        self._update_count()

    def refresh(self, value: "Table | pd.DataFrame") -> None:
        """Show new data (the pipeline ran again), keeping the filter and the sort column."""
        self.model.set_frame(frame_of(value))
        self._fit_columns()

    def apply_filter(self) -> None:
        self._timer.stop()
        self.model.set_filter(self.filter_edit.text())

    def _update_count(self) -> None:
        self.count_label.setText(count_text(self.model.shown_rows, self.model.total_rows))

    def _fit_columns(self, sample: int = 50, limit: int = 320) -> None:
        """Column widths from the header and the first rows only (never a scan of the whole column)."""
        metrics = QFontMetrics(self.view.font())
        bold = QFontMetrics(self.view.horizontalHeader().font())
        n = min(sample, self.model.rowCount())
        for c in range(self.model.columnCount()):
            head = str(self.model.headerData(c, Qt.Horizontal)).split("\n")
            width = max(bold.horizontalAdvance(h) for h in head) + 28  # room for the sort arrow
            for r in range(n):
                width = max(width, metrics.horizontalAdvance(str(self.model.index(r, c).data())) + 16)
            self.view.setColumnWidth(c, min(width, limit))
