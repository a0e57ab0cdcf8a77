"""Writing a run's outputs while the run goes on (used by `OutputWriter`).

The slow parts of writing outputs start in one background thread as soon as the value exists: the skops
payload of a trained model when its Train node finishes (while Score and Evaluate run), a scored table's
file when its Score node finishes. `OutputWriter.finish` then only waits for them and writes what needs the
whole run (bundles with their metrics, report.json, metrics.json). The libraries the thread needs are
imported here first, in the run's own thread: two threads importing parts of one package at once can see
each other's half-initialised modules.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable


class EarlyOutputs:
    """Background work of one run's output writer, keyed by what it produces."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="outputs")
        self._jobs: dict[Any, Future[Any]] = {}

    def start(self, key: Any, work: Callable[..., Any], *args: Any) -> None:
        self._jobs[key] = self._pool.submit(work, *args)

    def result(self, key: Any) -> Any:
        """What the job under `key` made (re-raising its error), or None when there is no such job."""
        job = self._jobs.pop(key, None)
        return None if job is None else job.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._jobs.clear()


def started_outputs(early: EarlyOutputs, node_id: str, outputs: dict[str, Any], out_dir: Path,
                    scored_format: str) -> None:
    """Start the payload of each trained model and the file of each scored table among a node's outputs."""
    from designer.core.batch import write_scored
    from designer.core.bundle import model_payload
    from designer.core.model import TrainedModel
    from designer.core.runner import scored_file
    from designer.core.values import Table

    for port, value in outputs.items():
        if isinstance(value, TrainedModel) and value.node_id == node_id:
            from designer.core.skops_io import skops_io

            skops_io()  # here, not in the thread: see the module's docstring

            early.start(("payload", id(value)), model_payload, value)
        elif isinstance(value, Table) and value.scored is not None:
            import pyarrow.parquet  # noqa: F401

            out_dir.mkdir(parents=True, exist_ok=True)
            path = out_dir / scored_file(node_id, port, scored_format)
            early.start(("scored", node_id, port), lambda table=value, p=path: write_scored(table.view, p))
