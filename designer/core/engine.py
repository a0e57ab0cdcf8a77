"""Run a pipeline: plan with networkx, execute, report events, reuse unchanged outputs, cancel (DESIGN §4)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import networkx as nx

from designer.core.errors import BadInput, Cancelled
from designer.core.pipeline import Pipeline
from designer.core.registry import node_types
from designer.core.validate import InvalidPipeline, Validation, validate

QUEUED, STARTED, PROGRESS, FINISHED, CACHED, FAILED, SKIPPED = (
    "queued", "started", "progress", "finished", "cached", "failed", "skipped")


@dataclass(frozen=True)
class Event:
    """One thing that happened during a run, reported through the `on_event` callback."""

    kind: str
    node: str
    progress: float | None = None
    message: str = ""
    seconds: float | None = None


@dataclass
class RunResult:
    """Per-node status, outputs, errors, warnings and timings of one run."""

    status: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    tracebacks: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, list[str]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)
    bad_input: set[str] = field(default_factory=set)
    """Failed nodes whose failure was the user's input (wrong data, column, category), not a bug."""
    sources: list[Any] = field(default_factory=list)
    """Every input data set (DataSource) the run's tables came from, each once, even after release."""
    cancelled: bool = False
    validation: Validation | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and not self.cancelled

    def executed(self) -> list[str]:
        return [n for n, s in self.status.items() if s == FINISHED]


class CancelToken:
    """Cooperative cancellation: set it from any thread; nodes check it between chunks of work."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def __call__(self) -> bool:
        return self._event.is_set()


def _file_token(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return "missing"
    return f"{st.st_size}:{st.st_mtime_ns}"


class Engine:
    """Executes pipelines and remembers each node's outputs under its fingerprint for reuse."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def fingerprint(self, pipeline: Pipeline, v: Validation, base_dir: Path) -> dict[str, str]:
        """Hash of each node's type, parameters, input files and upstream fingerprints."""
        types = node_types()
        fps: dict[str, str] = {}
        for node_id in v.order:
            node = pipeline.node(node_id)
            cls = types[node.type]
            params = v.params[node_id]
            files = {}
            for name in cls.reads_files:
                value = getattr(params, name, None)
                if value:
                    p = Path(value).expanduser()
                    files[name] = _file_token(p if p.is_absolute() else base_dir / p)
            upstream = sorted((l.target_port, fps.get(l.source_node, "?"), l.source_port)
                              for l in pipeline.links_into(node_id))
            blob = json.dumps({"type": node.type, "params": params.model_dump(mode="json"), "files": files,
                               "in": upstream}, sort_keys=True, default=str)
            fps[node_id] = hashlib.sha256(blob.encode()).hexdigest()
        return fps

    def run(self, pipeline: Pipeline, base_dir: str | Path = ".", *, upto: str | None = None,
            on_event: Callable[[Event], None] | None = None, cancel: Callable[[], bool] | None = None,
            reuse: bool = True, keep_outputs: bool = True) -> RunResult:
        """Run the pipeline (or only what `upto` needs). Raises InvalidPipeline when it cannot start.

        `keep_outputs=False` (headless) frees each intermediate table once its consumers have run and
        keeps only models, reports, scored tables and the outputs of nodes nothing consumes.
        """
        from nodes.base import RunContext

        base = Path(base_dir)
        v = validate(pipeline, base)
        if not v.ok:
            raise InvalidPipeline(v.issues)
        if upto is not None and not pipeline.has_node(upto):
            raise BadInput(f"no node '{upto}' to run up to", node=upto)
        emit = on_event or (lambda e: None)
        plan = v.order if upto is None else [n for n in v.order if n == upto or n in nx.ancestors(v.graph, upto)]
        fps = self.fingerprint(pipeline, v, base)
        result = RunResult(validation=v, fingerprints=fps)
        for w in v.warnings:
            result.warnings.setdefault(w.location.node or "", []).append(w.message)
        consumers = {n: {t for _, t in v.graph.out_edges(n)} & set(plan) for n in plan}
        done: set[str] = set()
        types = node_types()
        for node_id in plan:
            emit(Event(QUEUED, node_id))
        for node_id in plan:
            node = pipeline.node(node_id)
            upstream = {l.source_node for l in pipeline.links_into(node_id)}
            if cancel and cancel():
                result.cancelled = True
            if result.cancelled:
                result.status[node_id] = SKIPPED
                emit(Event(SKIPPED, node_id, message="run cancelled"))
                continue
            bad = [u for u in upstream if result.status.get(u) in (FAILED, SKIPPED)]
            if bad:
                result.status[node_id] = SKIPPED
                emit(Event(SKIPPED, node_id, message=f"upstream node '{bad[0]}' did not finish"))
                continue
            cached = self._cache.get(node_id) if reuse else None
            if cached and cached[0] == fps[node_id]:
                result.outputs[node_id] = cached[1]
                result.status[node_id] = CACHED
                emit(Event(CACHED, node_id))
            else:
                inputs = {l.target_port: result.outputs[l.source_node][l.source_port]
                          for l in pipeline.links_into(node_id)}
                ctx = RunContext(node_id, base, fps[node_id],
                                 progress=lambda f, m, n=node_id: emit(Event(PROGRESS, n, f, m)), cancelled=cancel)
                emit(Event(STARTED, node_id))
                start = time.perf_counter()
                try:
                    outputs = types[node.type]().run(v.params[node_id], inputs, ctx)
                except Cancelled:
                    result.cancelled = True
                    result.status[node_id] = SKIPPED
                    emit(Event(SKIPPED, node_id, message="run cancelled"))
                    continue
                except BadInput as e:
                    result.bad_input.add(node_id)
                    self._fail(result, emit, node_id, e.message if e.location.describe() == "" else
                               str(e).replace(f"node '{node_id}', ", "").replace(f"node '{node_id}': ", ""))
                    continue
                except Exception as e:  # a bug or a library error: keep the message, store the traceback
                    result.tracebacks[node_id] = traceback.format_exc()
                    self._fail(result, emit, node_id, f"{type(e).__name__}: {e}")
                    continue
                elapsed = time.perf_counter() - start
                result.seconds[node_id] = elapsed
                result.outputs[node_id] = outputs
                result.status[node_id] = FINISHED
                if ctx.warnings:
                    result.warnings.setdefault(node_id, []).extend(ctx.warnings)
                if keep_outputs:
                    with self._lock:
                        self._cache[node_id] = (fps[node_id], outputs)
                emit(Event(FINISHED, node_id, seconds=elapsed))
            done.add(node_id)
            self._note_sources(result, result.outputs[node_id])
            if not keep_outputs:
                for u in upstream:
                    if consumers[u] <= done:
                        self._release(result, u, consumers[u])
        return result

    @staticmethod
    def _fail(result: RunResult, emit: Callable[[Event], None], node_id: str, message: str) -> None:
        result.status[node_id] = FAILED
        result.errors[node_id] = message
        emit(Event(FAILED, node_id, message=message))

    @staticmethod
    def _note_sources(result: RunResult, outputs: dict[str, Any]) -> None:
        for value in outputs.values():
            for source in getattr(value, "sources", None) or ():
                if source not in result.sources:
                    result.sources.append(source)

    @staticmethod
    def _release(result: RunResult, node_id: str, consumers: set[str]) -> None:
        from designer.core.values import Table

        if not consumers:
            return
        outputs = result.outputs.get(node_id, {})
        result.outputs[node_id] = {p: val for p, val in outputs.items()
                                   if not isinstance(val, Table) or val.scored is not None}
