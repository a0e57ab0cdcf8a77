"""Recording runs in the run store without ever getting in their way (Qt-free; the CLI and the app use it).

    recorder = RunRecorder(store_path, warn=print_warning)
    recorder.begin(pipeline, pipeline_text=text, base_dir=base, pipeline_path=path, out_dir=out)
    try:
        output = run_to_dir(pipeline, base, out, engine=recorder.engine)   # or recorder.engine.run(...)
    except BaseException as e:
        recorder.fail(e)
        raise
    recorder.finish(pipeline, output.result, base, output.artifacts, out_dir=out)

Every store problem (missing folder, corrupt or locked file) becomes one call of `warn` and the run goes
on unrecorded: recording must never cost a user their outputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterable

from designer.core.engine import FAILED, FINISHED, Engine, RunResult
from designer.core.pipeline import Pipeline
from designer.core.store import (CANCELLED, FAILED as RUN_FAILED, SUCCEEDED, RunRecord, RunStore,
                                 artifact_record)

Warn = Callable[[str], None]


def run_status(result: RunResult | None, error: BaseException | None = None) -> str:
    if error is not None:
        return CANCELLED if isinstance(error, KeyboardInterrupt) else RUN_FAILED
    assert result is not None
    if result.cancelled:
        return CANCELLED
    return RUN_FAILED if result.errors else SUCCEEDED


def _jsonable(value: Any) -> Any:
    """The value as it will read back from the store (lists, not tuples; Python numbers)."""
    from designer.core.store.records import _dumps

    return json.loads(_dumps(value))


def run_facts(pipeline: Pipeline, result: RunResult, base_dir: str | Path, artifacts: Iterable[str | Path] = (),
              *, out_dir: str | Path | None = None) -> dict[str, Any]:
    """Everything `RunStore.finish_run` stores, computed from a finished run."""
    from designer.core.bundle import library_versions
    from designer.core.registry import node_types
    from designer.core.runner import metrics_of

    v = result.validation
    params = {n: p.model_dump(mode="json") for n, p in (v.params.items() if v else ())}
    inputs = [s.to_json() for s in result.sources]
    files = [artifact_record(a, out_dir) for a in artifacts if Path(a).is_file()]
    types = node_types()
    written = {f["path"] for f in files}
    for node in pipeline.nodes:  # files written by nodes themselves (Save CSV)
        cls = types.get(node.type)
        if cls is None or result.status.get(node.id) != FINISHED or node.id not in params:
            continue
        for name in getattr(cls, "writes_files", ()):
            value = params[node.id].get(name)
            if value:
                p = Path(value).expanduser()
                p = p if p.is_absolute() else Path(base_dir) / p
                if p.is_file() and str(p.resolve()) not in written:
                    files.append(artifact_record(p, kind="file", node=node.id))
    nodes = {n.id: {"type": n.type, "title": n.title, "status": result.status.get(n.id, "not run"),
                    "seconds": round(result.seconds[n.id], 4) if n.id in result.seconds else None}
             for n in pipeline.nodes}
    failed = [n for n, s in result.status.items() if s == FAILED]
    message = (f"{len(failed)} node{'s' * (len(failed) != 1)} failed: {', '.join(failed)}" if failed else
               "cancelled" if result.cancelled else None)
    return _jsonable({
        "status": run_status(result), "params": params, "metrics": metrics_of(result), "inputs": inputs,
        "artifacts": files, "libraries": library_versions(), "nodes": nodes, "errors": result.errors,
        "warnings": result.warnings, "message": message,
    })


class RunRecorder:
    """Records one run; store trouble becomes a warning through `warn`, never an exception."""

    def __init__(self, store: RunStore | str | Path | None, warn: Warn, *, timeout: float | None = None) -> None:
        self._store_arg = store
        self._warn_fn = warn
        self._timeout = timeout
        self.store: RunStore | None = None
        self.run_id: str | None = None
        self.engine = Engine()
        self.facts: dict[str, Any] | None = None
        self._owns_store = not isinstance(store, RunStore)

    @property
    def where(self) -> str:
        s = self._store_arg
        return str(s.path if isinstance(s, RunStore) else s)

    def _warn(self, what: str, e: BaseException) -> None:
        detail = str(e) if str(e).startswith(self.where) else f"{self.where}: {e}"
        try:
            self._warn_fn(f"run store {detail}; {what}")
        except Exception:
            pass

    def _close(self) -> None:
        if self.store is not None and self._owns_store:
            try:
                self.store.close()
            except Exception:
                pass
        self.store = None

    def begin(self, pipeline: Pipeline, *, pipeline_text: str, base_dir: str | Path,
              pipeline_path: str | Path | None = None, overrides: Iterable[str] = (), upto: str | None = None,
              out_dir: str | Path | None = None, reproduces: str | None = None) -> str | None:
        """Insert the "running" row; returns the run id, or None when the store cannot be used."""
        if self._store_arg is None:
            return None
        try:
            self.store = self._store_arg if isinstance(self._store_arg, RunStore) else RunStore.open(
                self._store_arg, timeout=self._timeout)
            self.run_id = self.store.begin_run(
                pipeline_name=pipeline.name, pipeline_text=pipeline_text, base_dir=base_dir,
                pipeline_path=pipeline_path, overrides=list(overrides), upto=upto, out_dir=out_dir,
                reproduces=reproduces)
        except Exception as e:
            self._warn("this run is not recorded", e)
            self._close()
            self.run_id = None
        return self.run_id

    def finish(self, pipeline: Pipeline, result: RunResult, base_dir: str | Path,
               artifacts: Iterable[str | Path] = (), *, out_dir: str | Path | None = None) -> dict[str, Any] | None:
        """Store the outcome; returns the facts stored (also computed when the store is unusable)."""
        try:
            self.facts = run_facts(pipeline, result, base_dir, artifacts, out_dir=out_dir)
        except Exception as e:
            self._warn("the run's record is incomplete", e)
            self.facts = None
            self._finish_plain(run_status(result), f"recording failed: {e}")
            return None
        if self.run_id and self.store is not None:
            try:
                self.store.finish_run(self.run_id, **self.facts)
            except Exception as e:
                self._warn(f"run {self.run_id} could not be completed in the store", e)
        self._close()
        return self.facts

    def fail(self, error: BaseException) -> None:
        """The run raised before finishing (invalid pipeline, Ctrl+C, a bug)."""
        self._finish_plain(run_status(None, error), str(error) or type(error).__name__,
                           getattr(error, "issues", None))

    def _finish_plain(self, status: str, message: str, issues: Any = None) -> None:
        if self.run_id and self.store is not None:
            errors = {}
            for issue in issues or ():
                key = getattr(getattr(issue, "location", None), "node", None) or ""
                if getattr(issue, "severity", "error") == "error":
                    errors[key] = f"{errors[key]}; {issue.message}" if key in errors else issue.message
            try:
                from designer.core.bundle import library_versions

                libraries = library_versions()
            except Exception:
                libraries = {}
            try:
                self.store.finish_run(self.run_id, status=status, message=message, errors=errors,
                                      libraries=libraries)
            except Exception as e:
                self._warn(f"run {self.run_id} could not be completed in the store", e)
        self._close()

    def record(self) -> RunRecord | None:
        """The facts of the finished run as a RunRecord (for comparisons), whether or not it was stored."""
        if self.facts is None:
            return None
        f = self.facts
        return RunRecord(id=self.run_id or "(not recorded)", pipeline_name="", status=f["status"],
                         params=f["params"], metrics=f["metrics"], libraries=f["libraries"], nodes=f["nodes"],
                         errors=f["errors"], warnings=f["warnings"], message=f["message"], inputs=f["inputs"],
                         artifacts=f["artifacts"])


__all__ = ["RunRecorder", "run_facts", "run_status"]
