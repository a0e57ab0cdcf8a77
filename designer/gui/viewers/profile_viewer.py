"""ProfileViewer: one row per column with its statistics and a sparkline of its distribution; the selected
column's chart below."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QSplitter, QStyle, QStyledItemDelegate,
                               QStyleOptionViewItem, QTableView, QToolButton, QVBoxLayout, QWidget)

from designer.core.plots import BLUE, GREY, column_figure
from designer.core.profile import STAT_NAMES, ColumnProfile, format_stat, profile_frame, profile_rows
from designer.gui.viewers.export import add_csv_export, ask_save_table
from designer.gui.viewers.figure_canvas import FigureView
from designer.gui.viewers.table_viewer import frame_of
from designer.gui.viewers.widgets import remember_sizes

if TYPE_CHECKING:
    import pandas as pd

    from designer.core.values import Table

DISTRIBUTION_ROLE = Qt.UserRole + 1
Index = QModelIndex | QPersistentModelIndex
COLUMNS: tuple[tuple[str, str], ...] = (("name", "Column"), ("kind", "Kind"), ("distribution", "Distribution"),
                                        *(s for s in STAT_NAMES if s[0] != "top_count"))


class ProfileModel(QAbstractTableModel):
    """Column profiles as rows; column "distribution" carries the bar heights for the sparkline delegate."""

    def __init__(self, profiles: list[ColumnProfile], parent: Any = None) -> None:
        super().__init__(parent)
        self.profiles = profiles

    def set_profiles(self, profiles: list[ColumnProfile]) -> None:
        self.beginResetModel()
        self.profiles = profiles
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.profiles)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        p = self.profiles[index.row()]
        attr = COLUMNS[index.column()][0]
        if role == DISTRIBUTION_ROLE and attr == "distribution":
            return (p.distribution, p.numeric, bool(p.other_count))
        if role == Qt.DisplayRole and attr != "distribution":
            if attr == "top" and p.top is not None:
                return f"{format_stat(p.top)} ({p.top_count:,})"
            return format_stat(p.stat(attr))
        if role == Qt.ToolTipRole:
            if attr == "distribution":
                return "histogram" if p.numeric else "most frequent values (grey: all others)"
            return f"{p.name}: {format_stat(p.stat(attr)) or '—'}"
        if role == Qt.ForegroundRole and attr == "missing" and p.missing:
            return QColor("#c2410c")
        if role == Qt.TextAlignmentRole:
            left = attr in ("name", "kind", "top")
            return int((Qt.AlignLeft if left else Qt.AlignRight) | Qt.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole) -> Any:
        if role == Qt.DisplayRole:
            return COLUMNS[section][1] if orientation == Qt.Horizontal else str(section + 1)
        return None


class SparklineDelegate(QStyledItemDelegate):
    """Draws the precomputed bar heights of a column's distribution inside its cell."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        selected = bool(option.state & QStyle.State_Selected)
        if selected:
            painter.fillRect(option.rect, option.palette.color(QPalette.Highlight))
        value = index.data(DISTRIBUTION_ROLE)
        if not value or not value[0]:
            return
        counts, numeric, other = value
        rect = QRectF(option.rect).adjusted(4, 3, -4, -3)
        top = max(counts) or 1
        step = rect.width() / len(counts)
        gap = 0.0 if numeric and step < 4 else min(2.0, step * 0.2)
        painter.save()
        painter.setRenderHint(QPainter.Antialiasing, False)
        painter.setPen(Qt.NoPen)
        bar = option.palette.color(QPalette.HighlightedText) if selected else QColor(BLUE)
        for i, c in enumerate(counts):
            grey = other and i == len(counts) - 1
            painter.setBrush(QColor(GREY) if grey else bar)
            h = max(1.0, rect.height() * c / top) if c else 0.0
            painter.drawRect(QRectF(rect.left() + i * step, rect.bottom() - h, max(1.0, step - gap), h))
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(120, 24)


class ProfileViewer(QWidget):
    """Column statistics (equal to pandas' describe) with sparklines; click a column for its large chart."""

    def __init__(self, value: "Table | pd.DataFrame", name: str = "profile",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.summary = QLabel()
        self.model = ProfileModel([], self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setItemDelegateForColumn(2, SparklineDelegate(self.view))
        self.view.setSelectionBehavior(QTableView.SelectRows)
        self.view.setSelectionMode(QTableView.SingleSelection)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.Fixed)
        self.view.verticalHeader().setDefaultSectionSize(QFontMetrics(self.view.font()).height() + 10)
        self.view.horizontalHeader().setStretchLastSection(True)
        add_csv_export(self.view, self.stats_frame, f"{name}_profile")
        self.chart = FigureView(name=f"{name}_column")
        self._shown: ColumnProfile | None = None
        self.export_button = QToolButton(text="Export CSV…", toolTip="Save the statistics table as CSV")
        self.export_button.clicked.connect(
            lambda: ask_save_table(self, self.stats_frame, f"{self.name}_profile"))

        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.export_button)
        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addLayout(top)
        upper_layout.addWidget(self.view, 1)
        self.splitter = QSplitter(Qt.Vertical)
        self.splitter.addWidget(upper)
        self.splitter.addWidget(self.chart)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        remember_sizes(self.splitter, "profile", 0.6)  # the summary gets room for many columns
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.splitter)
        self.view.selectionModel().currentRowChanged.connect(lambda cur, _: self.show_column(cur.row()))
        self.refresh(value)

    @property
    def profiles(self) -> list[ColumnProfile]:
        return self.model.profiles

    def refresh(self, value: "Table | pd.DataFrame") -> None:
        """Profile new data, keeping the selected column when it still exists."""
        frame = frame_of(value)
        current = self.view.currentIndex().row()
        keep = self.profiles[current].name if 0 <= current < len(self.profiles) else None
        self.model.set_profiles(profile_frame(frame))
        missing = sum(p.missing for p in self.profiles)
        self.summary.setText(f"{len(frame):,} rows × {frame.shape[1]:,} columns, {missing:,} missing cells")
        self.view.resizeColumnsToContents()
        self.view.setColumnWidth(2, 130)
        names = [p.name for p in self.profiles]
        row = names.index(keep) if keep in names else 0
        if self.profiles:
            self.view.selectRow(row)  # shows the chart through currentRowChanged...
            self.show_column(row)  # ...unless the current row did not change

    def show_column(self, row: int) -> None:
        if 0 <= row < len(self.profiles) and self.profiles[row] is not self._shown:
            p = self._shown = self.profiles[row]
            self.chart.set_figure(column_figure(p, 6.0, 3.2), name=f"{self.name}_{p.name}")

    def stats_frame(self) -> "pd.DataFrame":
        import pandas as pd

        return pd.DataFrame(profile_rows(self.profiles))
