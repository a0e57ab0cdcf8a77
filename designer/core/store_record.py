"""Recording runs in the run store without ever getting in their way: the `StoreRecorder` run observer.

    run_pipeline(session, observers=[OutputWriter(out), StoreRecorder(store_path, warn=print_warning)])

Every store problem (missing folder, corrupt or locked file) becomes one call of `warn` (and a line in
`session.warnings`) and the run goes on unrecorded: recording must never cost a user their outputs. Runs
without an output folder (the desktop app) keep their trained models in `<store folder>/runs/<run id>/`,
so they can be registered like a model of a command-line run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterable, Literal

from designer.core.engine import RunResult
from designer.core.lifecycle import RunObserver, RunSession
from designer.core.pipeline import Pipeline
from designer.core.states import NodeState, RunStatus
from designer.core.store import RunRecord, RunStore, artifact_record

Warn = Callable[[str], None]
RUNS_DIR = "runs"


def bundle_folder(store: Path, run_id: str) -> Path:
    """Where the trained models of a run without an output folder are kept: `<store folder>/runs/<run id>/`."""
    return store.parent / RUNS_DIR / run_id


def run_status(result: RunResult | None, error: BaseException | None = None) -> RunStatus:
    if error is not None:
        return RunStatus.CANCELLED if isinstance(error, KeyboardInterrupt) else RunStatus.FAILED
    assert result is not None
    if result.cancelled:
        return RunStatus.CANCELLED
    return RunStatus.FAILED if result.errors else RunStatus.SUCCEEDED


def _jsonable(value: Any) -> Any:
    """The value as it will read back from the store (lists, not tuples; Python numbers)."""
    from designer.core.store.records import _dumps

    return json.loads(_dumps(value))


def run_facts(pipeline: Pipeline, result: RunResult, base_dir: str | Path, artifacts: Iterable[str | Path] = (),
              *, out_dir: str | Path | None = None) -> dict[str, Any]:
    """Everything `RunStore.finish_run` stores, computed from a finished run."""
    from designer.core.bundle import library_versions
    from designer.core.registry import default_registry
    from designer.core.runner import metrics_of

    v = result.validation
    params = {n: p.model_dump(mode="json") for n, p in (v.params.items() if v else ())}
    inputs = [s.to_json() for s in result.sources]
    files = [artifact_record(a, out_dir) for a in artifacts if Path(a).is_file()]
    registry = default_registry()
    written = {f["path"] for f in files}
    for node in pipeline.nodes:  # files written by nodes themselves (Save CSV)
        cls = registry.get(node.type)
        if cls is None or result.status.get(node.id) != NodeState.DONE or node.id not in params:
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
    failed = [n for n, s in result.status.items() if s == NodeState.FAILED]
    message = (f"{len(failed)} node{'s' * (len(failed) != 1)} failed: {', '.join(failed)}" if failed else
               "cancelled" if result.cancelled else None)
    return _jsonable({
        "status": run_status(result), "params": params, "metrics": metrics_of(result), "inputs": inputs,
        "artifacts": files, "libraries": library_versions(), "nodes": nodes, "errors": result.errors,
        "warnings": result.warnings, "message": message,
    })


def candidate_runs(result: RunResult) -> list[dict[str, Any]]:
    """One child run per tuning candidate (a Report entry with "candidates"): its parameters and scores."""
    from designer.core.values import Report

    children = []
    for node, outputs in result.outputs.items():
        for value in outputs.values():
            if not isinstance(value, Report):
                continue
            for entry in value.entries:
                for cand in entry.get("candidates") or []:
                    scores = {k: v for k, v in cand.items() if k.startswith(("mean_", "std_")) or k == "fit_seconds"}
                    params = {k: v for k, v in cand.items() if k not in scores}
                    children.append({"params": {node: _jsonable(params)},
                                     "metrics": {node: [{"port": "candidate", "task": "tuning", "model": node,
                                                         "metrics": _jsonable(scores)}]},
                                     "message": f"candidate {cand.get('candidate')} of '{node}'"})
    return children


class StoreRecorder(RunObserver):
    """Records one run in a run store; store trouble becomes a warning, never an exception."""

    def __init__(self, store: RunStore | str | Path | None, warn: Warn | None = None, *,
                 keep: Literal["", "bundles", "outputs"] = "", timeout: float | None = None) -> None:
        """`keep` saves the run's trained models ("bundles") or all its outputs ("outputs", as `run --out`
        writes them) in `<store folder>/runs/<run id>/`, for runs that have no output folder of their own."""
        self._store_arg = store
        self._warn_fn = warn
        self._keep = keep
        self._timeout = timeout
        self._session: RunSession | None = None
        self.store: RunStore | None = None
        self.run_id: str | None = None
        self.facts: dict[str, Any] | None = None
        self._owns_store = not isinstance(store, RunStore)

    @property
    def where(self) -> str:
        s = self._store_arg
        return str(s.path if isinstance(s, RunStore) else s)

    def _warn(self, what: str, e: BaseException) -> None:
        located = getattr(getattr(e, "location", None), "file", None)  # a StoreError names the file itself
        detail = str(e) if located or str(e).startswith(self.where) else f"{self.where}: {e}"
        message = f"run store {detail}; {what}"
        if self._session is not None:
            self._session.warnings.append(message)
        try:
            if self._warn_fn is not None:
                self._warn_fn(message)
        except Exception:
            pass

    def _close(self) -> None:
        if self.store is not None and self._owns_store:
            try:
                self.store.close()
            except Exception:
                pass
        self.store = None

    def begin(self, session: RunSession) -> None:
        """Insert the "running" row (sets `session.run_id`), or warn when the store cannot be used."""
        self._session = session
        if self._store_arg is None:
            return
        try:
            self.store = self._store_arg if isinstance(self._store_arg, RunStore) else RunStore.open(
                self._store_arg, timeout=self._timeout)
            session.store = self.store.path
            self.run_id = self.store.begin_run(
                pipeline_name=session.pipeline.name, pipeline_text=session.text, base_dir=session.base_dir,
                pipeline_path=session.pipeline_path, overrides=list(session.overrides), upto=session.upto,
                out_dir=session.out_dir, reproduces=session.reproduces)
        except Exception as e:
            self._warn("this run is not recorded", e)
            self._close()
            self.run_id = None
        session.run_id = self.run_id

    def finish(self, session: RunSession) -> None:
        """Store the outcome and the run's artifacts (also computed when the store is unusable)."""
        result = session.result
        assert result is not None
        if self._keep and self.run_id is not None and self.store is not None:
            self._keep_outputs(session, bundle_folder(self.store.path, self.run_id))
        try:
            self.facts = run_facts(session.pipeline, result, session.base_dir, session.artifacts,
                                   out_dir=session.out_dir)
        except Exception as e:
            self._warn("the run's record is incomplete", e)
            self.facts = None
            self._finish_plain(run_status(result), f"recording failed: {e}")
            return
        if self.run_id and self.store is not None:
            try:
                self.store.finish_run(self.run_id, **self.facts)
                self.store.record_children(self.run_id, candidate_runs(result))
            except Exception as e:
                self._warn(f"run {self.run_id} could not be completed in the store", e)
        self._close()

    def _keep_outputs(self, session: RunSession, folder: Path) -> None:
        from designer.core.runner import OutputWriter, write_bundles

        assert session.result is not None
        try:
            if self._keep == "outputs":
                session.out_dir = folder
                OutputWriter(folder).finish(session)
            else:
                session.artifacts += write_bundles(session.pipeline, session.result, folder, session.metrics)
        except Exception as e:  # noqa: BLE001  (a full disk must not lose the run's record)
            self._warn(f"the outputs of run {self.run_id} could not be saved", e)

    def fail(self, session: RunSession, error: BaseException) -> None:
        """The run raised before finishing (invalid pipeline, Ctrl+C, a bug)."""
        self._finish_plain(run_status(None, error), str(error) or type(error).__name__,
                           getattr(error, "issues", None))

    def _finish_plain(self, status: str, message: str, issues: Any = None) -> None:
        if self.run_id and self.store is not None:
            errors: dict[str, str] = {}
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


__all__ = ["StoreRecorder", "bundle_folder", "run_facts", "run_status"]
