"""“Serve locally…”: a registered model answering on 127.0.0.1, with its URL, state, request count, p50/p99 and
the last requests, and a link to its try-it page.

The endpoint runs as a `pipeline-designer serve` child process (QProcess), not as a thread of the app:
- its thread pools must be limited before numpy loads (one OpenMP/BLAS thread: with two, one-row latency has a
  tail of seconds on a small machine), and the app has long loaded numpy with its own settings;
- the editor and the server would otherwise share one interpreter lock: a busy endpoint would make the
  window stutter, and a long run in the app would stall the endpoint;
- a crash or a hang of the endpoint never takes the editor (and unsaved work) with it;
- it is the very command users script, so `pipeline-designer endpoints list|stop` sees and stops it too, and it
  stops the same way (SIGTERM: it finishes the requests it is answering and writes what it captured).
The dialog reads the child's JSON lines (ready, stopped) and polls its `/stats` once a second.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QProcess, QProcessEnvironment, Qt, QTimer, QUrl, Signal
from PySide6.QtNetwork import QNetworkAccessManager, QNetworkReply, QNetworkRequest
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDialog, QFormLayout, QHBoxLayout, QLabel,
                               QPlainTextEdit, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout)

RECENT_COLUMNS = ("Time", "Request", "Status", "ms", "Rows", "Request id")
POLL_MS = 1000


class ServeDialog(QDialog):
    """Serves one registered model (`ref`, NAME:VERSION) of a run store while the dialog is open."""

    state_changed = Signal(str)

    def __init__(self, ref: str, store_file: Path, parent: Any = None) -> None:
        super().__init__(parent)
        self.ref = ref
        self.store_file = store_file
        self.url = ""
        self.state = "stopped"
        self.stats: dict[str, Any] = {}
        self.stopped: dict[str, Any] | None = None
        self._stderr = ""
        self._buffer = b""
        self.setWindowTitle(f"Serve {ref} locally")
        self.capture = QCheckBox("Capture traffic (for drift and live evaluation)")
        self.start_button = QPushButton("Start", clicked=lambda: self.start())
        self.stop_button = QPushButton("Stop", clicked=lambda: self.stop())
        self.state_label = QLabel()
        self.url_label = QLabel(openExternalLinks=True, textInteractionFlags=Qt.TextBrowserInteraction)
        self.requests_label = QLabel("-")
        self.latency_label = QLabel("-")
        self.path_label = QLabel("-")
        self.recent = QTableWidget(0, len(RECENT_COLUMNS))
        self.recent.setHorizontalHeaderLabels(RECENT_COLUMNS)
        self.recent.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.recent.verticalHeader().setVisible(False)
        self.recent.horizontalHeader().setStretchLastSection(True)
        self.errors = QPlainTextEdit(readOnly=True)
        self.errors.setMaximumHeight(90)
        self.errors.hide()
        form = QFormLayout()
        form.addRow("State", self.state_label)
        form.addRow("URL", self.url_label)
        form.addRow("Requests", self.requests_label)
        form.addRow("Latency", self.latency_label)
        form.addRow("Scoring", self.path_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.capture)
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addLayout(form)
        layout.addWidget(QLabel("Last requests"))
        layout.addWidget(self.recent, 1)
        layout.addWidget(self.errors)
        self.resize(640, 460)
        self.process = QProcess(self)
        self.process.setProcessEnvironment(QProcessEnvironment.systemEnvironment())
        self.process.readyReadStandardOutput.connect(self._read_stdout)
        self.process.readyReadStandardError.connect(self._read_stderr)
        self.process.finished.connect(self._finished)
        self.network = QNetworkAccessManager(self)
        self.timer = QTimer(self, interval=POLL_MS, timeout=self.poll)
        self._set_state("stopped")

    # ------------------------------------------------------------------------------------------ the process
    def command(self) -> list[str]:
        args = ["-m", "designer", "serve", self.ref, "--port", "0", "--json", "--store", str(self.store_file)]
        return args + (["--capture"] if self.capture.isChecked() else [])

    def start(self) -> None:
        if self.process.state() != QProcess.NotRunning:
            return
        self.url, self.stats, self.stopped, self._stderr, self._buffer = "", {}, None, "", b""
        self.errors.clear()
        self.errors.hide()
        self.recent.setRowCount(0)
        self._set_state("starting")
        self.process.start(sys.executable, self.command())

    def stop(self, wait_ms: int = 0) -> None:
        """Ask the endpoint to stop (it finishes the requests it is answering); optionally wait for it."""
        if self.process.state() == QProcess.NotRunning:
            return
        self._set_state("stopping")
        self.timer.stop()
        self.process.terminate()
        if wait_ms and not self.process.waitForFinished(wait_ms):
            self.process.kill()
            self.process.waitForFinished(2000)

    def closeEvent(self, event: Any) -> None:
        self.stop(wait_ms=15000)
        super().closeEvent(event)

    def _read_stdout(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "ready":
                self.url = event["url"]
                self.path_label.setText(event.get("path", "-"))
                self.url_label.setText(f'<a href="{self.url}/">{self.url}</a> (the try-it page) &nbsp; '
                                       f"POST {self.url}/invocations")
                self._set_state("serving")
                self.timer.start()
                self.poll()
            elif event.get("event") == "stopped":
                self.stopped = event

    def _read_stderr(self) -> None:
        self._stderr = (self._stderr + bytes(self.process.readAllStandardError()).decode("utf-8", "replace"))[-4000:]

    def _finished(self, code: int, status: Any) -> None:
        self.timer.stop()
        if code != 0 and self.state != "stopping":
            self.errors.setPlainText(self._stderr.strip() or f"the endpoint exited with status {code}")
            self.errors.show()
            self._set_state("failed")
        else:
            self._set_state("stopped")

    def _set_state(self, state: str) -> None:
        self.state = state
        shown = {"serving": "serving", "starting": "starting (loading the model, self-test)…",
                 "stopping": "stopping…", "stopped": "stopped", "failed": "failed to start"}[state]
        if state == "stopped" and self.stopped:
            shown += f" after {self.stopped.get('requests', 0)} requests"
        self.state_label.setText(shown)
        running = state in ("starting", "serving", "stopping")
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(state in ("starting", "serving"))
        self.capture.setEnabled(not running)
        if state != "serving":
            self.url_label.setText(self.url_label.text() if state == "stopping" else "-")
        self.state_changed.emit(state)

    # ------------------------------------------------------------------------------------------ statistics
    def poll(self) -> None:
        if not self.url:
            return
        reply = self.network.get(QNetworkRequest(QUrl(f"{self.url}/stats")))
        reply.finished.connect(lambda: self._stats_arrived(reply))

    def _stats_arrived(self, reply: QNetworkReply) -> None:
        data = bytes(reply.readAll())
        reply.deleteLater()
        if reply.error() != QNetworkReply.NoError:
            return
        try:
            self.show_stats(json.loads(data))
        except ValueError:
            pass

    def show_stats(self, stats: dict[str, Any]) -> None:
        self.stats = stats
        by_status = stats.get("by_status", {})
        errors = sum(v for k, v in by_status.items() if not k.startswith("2"))
        n, rows = stats.get("requests", 0), stats.get("rows", 0)
        self.requests_label.setText(f"{n} request{'s' * (n != 1)}, {rows} row{'s' * (rows != 1)} scored, "
                                    f"{errors} refused")
        p50, p99 = stats.get("p50_ms"), stats.get("p99_ms")
        self.latency_label.setText("-" if p50 is None else f"p50 {p50:.2f} ms, p99 {p99:.2f} ms")
        recent = list(reversed(stats.get("recent", [])))
        self.recent.setRowCount(len(recent))
        for r, item in enumerate(recent):
            cells = (datetime.fromtimestamp(item["time"]).strftime("%H:%M:%S"), f"{item['method']} {item['path']}",
                     str(item["status"]), f"{item['ms']:.2f}", str(item["rows"]), item.get("request_id") or "")
            for c, text in enumerate(cells):
                self.recent.setItem(r, c, QTableWidgetItem(text))
        self.recent.resizeColumnsToContents()
