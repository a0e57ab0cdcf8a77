"""EvaluationViewer: an Evaluate report's metrics side by side, and its plots (one tab per plot, the
scored inputs next to each other)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QTabWidget, QVBoxLayout, QWidget

from designer.core.values import evaluated_data
from designer.core.plots import evaluation_figures
from designer.gui.viewers.figure_canvas import FigureView
from designer.gui.viewers.widgets import make_table, note

if TYPE_CHECKING:

    from designer.core.values import Report

def metrics_rows(entries: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of the metrics table: one row per metric, one column per entry."""
    headers = ["Metric", *(f"{e.get('port')}\n" + evaluated_data(e).replace(", ", ",\n") for e in entries)]
    names = list(dict.fromkeys(k for e in entries for k in e.get("metrics", {})))
    rows = [[n, *(e["metrics"].get(n) for e in entries)] for n in names]
    rows.append(["rows", *(e.get("rows") for e in entries)])
    return headers, rows


class EvaluationViewer(QWidget):
    """Metrics table plus the task's plots, drawn from the plot data the Evaluate node stored."""

    def __init__(self, report: "Report", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self.body: QWidget | None = None
        self.figures: dict[str, list[FigureView]] = {}
        self.tabs: QTabWidget | None = None
        self.refresh(report)

    def refresh(self, report: "Report") -> None:
        """Show a new report (the pipeline ran again), keeping the selected plot tab."""
        self.report = report
        old_tab = self.tabs.tabText(self.tabs.currentIndex()) if self.tabs is not None else ""
        if self.body is not None:
            self.body.setParent(None)
            self.body.deleteLater()
        entries = report.entries
        self.body = QWidget()
        top_layout = QVBoxLayout(self.body)
        top_layout.setContentsMargins(0, 0, 0, 0)
        task = entries[0].get("task", "") if entries else ""
        top_layout.addWidget(QLabel(f"<b>Evaluation</b> — {task}, {len(entries)} scored input"
                                    f"{'s' * (len(entries) != 1)}"))
        headers, rows = metrics_rows(entries)
        self.metrics_table = make_table(headers, rows, "metrics", fit=True)
        top_layout.addWidget(self.metrics_table)

        self.figures = {}
        for e in entries:
            for name, fig in evaluation_figures(e).items():
                view = FigureView(fig, name=f"{e.get('model')}_{e.get('port')}_{name}")
                self.figures.setdefault(name, []).append(view)
        self.tabs = QTabWidget()
        for name, views in self.figures.items():
            page = QWidget()
            row = QHBoxLayout(page)
            for v in views:
                row.addWidget(v)
            self.tabs.addTab(page, name)
        if not self.figures:
            self.tabs.addTab(note("This report holds no plot data."), "Plots")
        names = [self.tabs.tabText(i) for i in range(self.tabs.count())]
        if old_tab in names:
            self.tabs.setCurrentIndex(names.index(old_tab))
        top_layout.addWidget(self.tabs, 1)
        self._layout.addWidget(self.body)
