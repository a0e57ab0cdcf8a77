"""EvaluationViewer: an Evaluate report's metrics side by side, and its plots (one tab per plot, the
scored inputs next to each other)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from PySide6.QtWidgets import QHBoxLayout, QLabel, QTabWidget, QVBoxLayout, QWidget

from designer.core.plots import evaluation_figures
from designer.gui.viewers.figure_canvas import FigureView
from designer.gui.viewers.table_viewer import frame_of
from designer.gui.viewers.widgets import make_table, note

if TYPE_CHECKING:
    import pandas as pd

    from designer.core.values import Report, Table

def metrics_rows(entries: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of the metrics table: one row per metric, one column per entry."""
    headers = ["Metric", *(f"{e.get('port')}\n{e.get('model')}" for e in entries)]
    names = list(dict.fromkeys(k for e in entries for k in e.get("metrics", {})))
    rows = [[n, *(e["metrics"].get(n) for e in entries)] for n in names]
    rows.append(["rows", *(e.get("rows") for e in entries)])
    return headers, rows


def scored_by_port(report: "Report", scored: Any) -> dict[str, tuple["pd.DataFrame", list[str] | None]]:
    """The scored frames (and their model's features) by entry port; a single table goes to the first entry."""
    if scored is None or not report.entries:
        return {}
    items = scored.items() if isinstance(scored, Mapping) else [(report.entries[0]["port"], scored)]
    return {port: (frame_of(v), (getattr(v, "scored", None) or {}).get("features")) for port, v in items}


class EvaluationViewer(QWidget):
    """Metrics table plus the task's plots. Clustering's PCA scatter needs the scored table(s)."""

    def __init__(self, report: "Report", scored: "Table | pd.DataFrame | Mapping[str, Any] | None" = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self.body: QWidget | None = None
        self.figures: dict[str, list[FigureView]] = {}
        self.tabs: QTabWidget | None = None
        self.refresh(report, scored)

    def refresh(self, report: "Report", scored: Any = None) -> None:
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

        frames = scored_by_port(report, scored)
        self.figures = {}
        for e in entries:
            frame, features = frames.get(e.get("port"), (None, None))
            for name, fig in evaluation_figures(e, frame, features).items():
                view = FigureView(fig, name=f"{e.get('model')}_{e.get('port')}_{name}")
                self.figures.setdefault(name, []).append(view)
        self.tabs = QTabWidget()
        for name, views in self.figures.items():
            page = QWidget()
            row = QHBoxLayout(page)
            for v in views:
                row.addWidget(v)
            self.tabs.addTab(page, name)
        if task == "clustering" and "Clusters (PCA)" not in self.figures:
            self.tabs.addTab(note("Open this report together with the scored table to see the clusters on "
                                  "their first two principal components."), "Clusters (PCA)")
        if not self.figures and task != "clustering":
            self.tabs.addTab(note("This report holds no plot data."), "Plots")
        names = [self.tabs.tabText(i) for i in range(self.tabs.count())]
        if old_tab in names:
            self.tabs.setCurrentIndex(names.index(old_tab))
        top_layout.addWidget(self.tabs, 1)
        self._layout.addWidget(self.body)
