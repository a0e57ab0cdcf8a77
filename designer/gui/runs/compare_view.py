"""Two runs side by side: the parameter, metric and input-data differences that `RunStore.compare` found."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from designer.core.run_history import number
from designer.gui.viewers.widgets import make_table, note


def _cell(value: Any) -> str:
    return "—" if value is None else number(value)


def _sha(side: dict[str, Any] | None) -> str:
    if not side:
        return "—"
    return f"{str(side.get('sha256'))[:12]}…  {side.get('rows')} × {side.get('columns')}"


class CompareView(QWidget):
    """Parameters (node.param, run A, run B), metrics (with the change) and whether the input data changed."""

    def __init__(self) -> None:
        super().__init__()
        self.comparison: dict[str, Any] | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self._layout.addWidget(note("Select two runs and press Compare."))
        self._layout.addStretch(1)

    def show_comparison(self, c: dict[str, Any], label_a: str, label_b: str) -> None:
        """`c` is `compare_runs(a, b)`; the labels name the runs in the column headers."""
        self.comparison = c
        while self._layout.count():
            item = self._layout.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()
                item.widget().deleteLater()
        a, b = f"run {c['a']}", f"run {c['b']}"
        self._layout.addWidget(QLabel(f"<b>{label_a}</b> → <b>{label_b}</b>", wordWrap=True))

        params = [[f"{p['node']}.{p['param']}", _cell(p["a"]), _cell(p["b"])] for p in c["params"]]
        params += [[f"node {n}", "—", "(added)"] for n in c["nodes_added"]]
        params += [[f"node {n}", "(present)", "—"] for n in c["nodes_removed"]]
        self._section(f"Parameters: {len(params)} difference{'s' * (len(params) != 1)}" if params
                      else "Parameters: identical", ["Parameter", a, b], params, "parameter_changes")

        changed = [m for m in c["metrics"] if not m["same"]]
        metrics = [[m["metric"], _cell(m["a"]), _cell(m["b"]),
                    "=" if m["same"] else (f"{m['delta']:+.4g}" if m["delta"] is not None else "changed")]
                   for m in c["metrics"]]
        title = ("Metrics: none recorded" if not metrics else "Metrics: identical" if not changed else
                 f"Metrics: {len(changed)} of {len(metrics)} differ")
        self._section(title, ["Metric", a, b, "Change"], metrics, "metric_changes")

        data = [[d["data"], _sha(d["a"]), _sha(d["b"]), d["change"]] for d in c["data"]]
        title = ("Input data: CHANGED" if c["data_changed"] else
                 f"Input data: unchanged (same SHA-256 for {len(data)} input{'s' * (len(data) != 1)})")
        self._section(title, ["Input", a, b, "Change"], data, "data_changes", warn=c["data_changed"])
        libs = ", ".join(f"{x['library']} {x['a']} → {x['b']}" for x in c["libraries"])
        if libs:
            self._layout.addWidget(note(f"Library versions differ: {libs}"))
        self._layout.addStretch(1)

    def _section(self, title: str, headers: list[str], rows: list[list[str]], name: str,
                 warn: bool = False) -> None:
        label = QLabel(f"<b>{title}</b>")
        if warn:
            label.setStyleSheet("color: #b45309;")
        self._layout.addWidget(label)
        if rows:
            table = make_table(headers, rows, name, fit=True)
            table.setMinimumWidth(table.maximumWidth())  # never squeezed: the scroll area scrolls instead
            self._layout.addWidget(table)
