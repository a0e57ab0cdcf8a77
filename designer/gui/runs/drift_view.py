"""The Drift tab: a registered model's captured traffic against the reference profile in its bundle, per column
and per day (designer.core.drift_report builds the report, in a worker thread; this view only shows it)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton,
                               QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from designer.core.drift_report import COLUMN_HEADERS, column_rows, fmt, fmt_window

SINCE = (("all captured rows", None), ("last 24 hours", "1d"), ("last 7 days", "7d"), ("last 30 days", "30d"))
WINDOWS = (("daily", "1d"), ("hourly", "1h"), ("weekly", "7d"))
VERDICT_COLOURS = {"drift": "#dc2626", "no drift": "#16a34a", "not enough rows": "#78716c"}


class DriftView(QWidget):
    """Pick a model, check it: verdicts of the data and the predictions, the column table, the trend."""

    finished = Signal(object)  # the report (dict) or an error message (str), from the worker thread

    def __init__(self, store_file: Callable[[], Path | None]) -> None:
        super().__init__()
        self._store_file = store_file
        self.report: dict[str, Any] | None = None
        self.error = ""
        self.model = QComboBox()
        self.since = QComboBox()
        for text, value in SINCE:
            self.since.addItem(text, value)
        self.window = QComboBox()
        for text, value in WINDOWS:
            self.window.addItem(text, value)
        self.check_button = QPushButton("Check drift", clicked=lambda: self.check())
        self.save_button = QPushButton("Save HTML…", clicked=lambda: self.save_html())
        self.summary = QLabel("Pick a registered model whose traffic was captured (serve --capture, or Serve "
                              "locally… with Capture traffic), then Check drift.", wordWrap=True)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.columns = self._table(COLUMN_HEADERS)
        self.trend = self._table(["window", "rows", "data", "predictions"])
        top = QHBoxLayout()
        for w in (QLabel("Model"), self.model, QLabel("Rows"), self.since, QLabel("Trend"), self.window,
                  self.check_button, self.save_button):
            top.addWidget(w)
        top.addStretch(1)
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.columns)
        split.addWidget(self.trend)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)
        self.finished.connect(self._show)
        self._update_buttons()

    @staticmethod
    def _table(headers: list[str]) -> QTableWidget:
        t = QTableWidget(0, len(headers))
        t.setHorizontalHeaderLabels(headers)
        t.setEditTriggers(QAbstractItemView.NoEditTriggers)
        t.verticalHeader().setVisible(False)
        t.horizontalHeader().setStretchLastSection(True)
        return t

    def set_models(self, refs: list[str], select: str | None = None) -> None:
        keep = select or self.model.currentText()
        self.model.blockSignals(True)
        self.model.clear()
        self.model.addItems(refs)
        if keep in refs:
            self.model.setCurrentText(keep)
        self.model.blockSignals(False)
        self._update_buttons()

    def _update_buttons(self, busy: bool = False) -> None:
        self.check_button.setEnabled(bool(self.model.count()) and not busy)
        self.save_button.setEnabled(self.report is not None and not busy)

    def check(self) -> None:
        """Build the report of the chosen model in a worker thread; `finished` delivers it."""
        from designer.core.drift_report import parse_duration, parse_since, registered_drift

        store, ref = self._store_file(), self.model.currentText()
        if store is None or not ref:
            return
        since_text, window_text = self.since.currentData(), self.window.currentData()
        self.summary.setText(f"Checking {ref}…")
        self._update_buttons(busy=True)

        def work() -> None:
            try:
                since = parse_since(since_text) if since_text else None
                result: Any = registered_drift(store, ref, since=since, window=parse_duration(window_text))
            except Exception as e:  # noqa: BLE001  (BadInput: no profile, no captures; a store problem)
                result = str(e)
            self.finished.emit(result)

        threading.Thread(target=work, name="drift", daemon=True).start()

    def _show(self, result: Any) -> None:
        self._update_buttons()
        if isinstance(result, str):
            self.report, self.error = None, result
            self.summary.setText(result)
            self.columns.setRowCount(0)
            self.trend.setRowCount(0)
            self._update_buttons()
            return
        self.report, self.error = result, ""
        src = result["source"]
        pred = (result.get("predictions") or {}).get("verdict", "-")
        self.summary.setText(
            f"<b>Data: {result['verdict']}</b>"
            + (f" ({', '.join(result['drifted_columns'])})" if result["drifted_columns"] else "")
            + f" &nbsp; <b>Predictions: {pred}</b> &nbsp; {src['rows']:,} captured rows ({src['scored']:,} scored, "
              f"{src['rejected']:,} refused), {src['first'][:16]} to {src['last'][:16]} UTC; reference: "
              f"{result['reference']['rows']:,} training rows, predictions on "
              f"{result['reference'].get('predictions_on') or '-'} rows")
        self._fill(self.columns, column_rows(result), verdict_column=2)
        windows = (result.get("trend") or {}).get("windows", [])
        names = list(result["columns"])
        headers = ["window", "rows", "data"] + names + ["predictions"]
        self.trend.setColumnCount(len(headers))
        self.trend.setHorizontalHeaderLabels(headers)
        rows = []
        for w in windows:
            cells = [f"{c['verdict']} ({fmt(c.get('effect'), 2)})" if (c := w["columns"].get(n)) else "-"
                     for n in names]
            p = w.get("predictions") or {}
            rows.append([w["start"][:16], w["rows"], w["verdict"], *cells,
                         f"{p.get('verdict', '-')} ({fmt(p.get('effect'), 2)})"])
        self._fill(self.trend, rows, verdict_column=2)
        if windows:
            self.trend.setToolTip(f"{fmt_window(result['trend']['window_seconds'])} windows")
        self._update_buttons()

    @staticmethod
    def _fill(table: QTableWidget, rows: list[list[Any]], verdict_column: int) -> None:
        table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                item = QTableWidgetItem(str(value))
                text = str(value)
                colour = next((v for k, v in VERDICT_COLOURS.items() if text.startswith(k)), None)
                if colour and c >= verdict_column:
                    item.setForeground(QColor(colour))
                table.setItem(r, c, item)
        table.resizeColumnsToContents()

    def texts(self) -> list[str]:
        """Every cell of both tables (for tests and copy)."""
        return [t.item(r, c).text() for t in (self.columns, self.trend) for r in range(t.rowCount())
                for c in range(t.columnCount()) if t.item(r, c) is not None]

    def save_html(self, path: str | None = None) -> Path | None:
        from designer.core.drift_report import html_report
        from designer.core.pipeline import atomic_write_text

        if self.report is None:
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save drift report", "drift.html", "HTML (*.html)")
            if not path:
                return None
        atomic_write_text(path, html_report(self.report))
        return Path(path)
