"""Validation off the GUI thread: large pipelines take a while to validate, and the window must not stall."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from designer.core.document import Document
from designer.core.pipeline import Pipeline
from designer.core.validate import Validation, validate


class _Bridge(QObject):
    done = Signal(object, int)  # Validation | None, generation


class BackgroundValidator(QObject):
    """After each change (debounced), validates a snapshot in a worker thread; `validated` fires in the GUI
    thread with a result that matches the current document (stale results are dropped and redone)."""

    validated = Signal(object)

    def __init__(self, doc: Document, delay_ms: int = 150, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self._busy = False
        self._timer = QTimer(self, singleShot=True, interval=delay_ms)
        self._timer.timeout.connect(self._start)
        self._bridge = _Bridge()
        self._bridge.done.connect(self._done, Qt.QueuedConnection)

    def request(self) -> None:
        self._timer.start()

    def now(self) -> Validation:
        """Validate in this thread, right away (before a run, in tests)."""
        self._timer.stop()
        v = self.doc.validation
        self.validated.emit(v)
        return v

    def _start(self) -> None:
        if self._busy:
            return  # `_done` notices the newer generation and starts again
        self._busy = True
        threading.Thread(target=self._work, args=(self.doc.snapshot(), self.doc.base_dir, self.doc.generation),
                         name="validate", daemon=True).start()

    def _work(self, pipeline: Pipeline, base_dir: Path, generation: int) -> None:
        try:
            v: Validation | None = validate(pipeline, base_dir)
        except Exception:  # noqa: BLE001  (a validation bug must not kill the thread; the sync path will show it)
            v = None
        self._bridge.done.emit(v, generation)

    def _done(self, v: Validation | None, generation: int) -> None:
        self._busy = False
        if v is not None and self.doc.offer_validation(v, generation):
            self.validated.emit(v)
        elif generation != self.doc.generation:
            self._start()
        else:
            self.now()  # the worker failed: validate here so the error surfaces
