"""Work in a background thread, optionally below the run's own threads' scheduling priority."""

from __future__ import annotations

import os
import threading
from typing import Any, Callable

BELOW_RUN = 10
"""How much lower than the run's nodes background work runs (saving results, profiling the training rows for
the drift reference while the model fits): it uses the CPU time their work leaves."""


def lower_priority(nice: int) -> None:
    """Lower the calling thread's scheduling priority by `nice` (Linux: per thread; elsewhere, or when not
    allowed, nothing happens)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except (AttributeError, OSError):
        pass


class Background:
    """`work()` in a daemon thread started at once; `result()` waits for it and returns its value, or raises
    what it raised. With `nice` > 0 the thread uses the CPU time the others leave (a model's fit) first."""

    def __init__(self, work: Callable[[], Any], nice: int = 0, name: str = "background") -> None:
        self._work, self._nice = work, nice
        self._box: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        if self._nice:
            lower_priority(self._nice)
        try:
            self._box["value"] = self._work()
        except BaseException as e:  # noqa: BLE001  (raised again by result(), in the thread that waits)
            self._box["error"] = e

    def result(self) -> Any:
        self._thread.join()
        if "error" in self._box:
            raise self._box["error"]
        return self._box["value"]
