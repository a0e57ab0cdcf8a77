"""Run a pipeline: plan with networkx, execute, report events, reuse unchanged outputs, cancel (DESIGN §4).

`Engine.run` is four small steps: `plan` (validate, order, fingerprint), then for each node either reuse
its cached output or `_execute` it, reporting `Event`s, and free what no later node needs.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import networkx as nx

from designer.core.errors import BadInput, Cancelled
from designer.core.node import RunContext, SchemaContext
from designer.core.pipeline import Pipeline
from designer.core.registry import NodeRegistry, default_registry
from designer.core.states import EventKind, NodeState
from designer.core.validate import InvalidPipeline, Validation, validate


@dataclass(frozen=True)
class Event:
    """One thing that happened during a run, reported through the `on_event` callback."""

    kind: EventKind
    node: str
    progress: float | None = None
    message: str = ""
    seconds: float | None = None
    outputs: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    """On `finished`: the node's outputs (observers may start writing them while the run goes on)."""


@dataclass
class RunResult:
    """Per-node status, outputs, errors, warnings and timings of one run."""

    status: dict[str, NodeState] = field(default_factory=dict)
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
        return [n for n, s in self.status.items() if s == NodeState.DONE]


class CancelToken:
    """Cooperative cancellation: set it from any thread; nodes check it between chunks of work."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def __call__(self) -> bool:
        return self._event.is_set()


@dataclass
class Plan:
    """What a run will do: the nodes in order, their fingerprints and, per node, who consumes its outputs."""

    validation: Validation
    nodes: list[str]
    fingerprints: dict[str, str]
    consumers: dict[str, set[str]]
    by_id: dict[str, Any] = field(default_factory=dict)
    store: Path | None = None


_CONTENT_HASHES: dict[tuple[str, int, int, int, int], str] = {}


def _file_token(path: Path, content: bool = False) -> str:
    """Size and modification time; with `content`, the SHA-256 of the bytes (hashed again whenever the file's
    inode, size, modification or change time differ: a rewrite that keeps size and mtime still changes ctime)."""
    try:
        st = path.stat()
    except OSError:
        return "missing"
    if not content or not path.is_file():
        return f"{st.st_size}:{st.st_mtime_ns}"
    from designer.core.digest import file_sha256

    key = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)  # ctime: any write
    if key not in _CONTENT_HASHES:
        _CONTENT_HASHES[key] = file_sha256(path)
    return "sha256:" + _CONTENT_HASHES[key]


def failure_message(error: BadInput, node_id: str) -> str:
    """A node's BadInput without the node's own name (the run reports it under that node)."""
    if error.location.node != node_id:
        return str(error)
    return str(BadInput(error.message, replace(error.location, node=None)))


class Engine:
    """Executes pipelines and remembers each node's outputs under its fingerprint for reuse."""

    def __init__(self, registry: NodeRegistry | None = None, chunked: bool = False, results: Any = None) -> None:
        """`chunked`: ask nodes to fit in cancellable chunks (the desktop app; see `RunContext.chunked`).
        `results`: a ResultCache (designer.core.result_cache) that saves finished nodes' outputs on disk and
        gives them back to later runs, keyed by fingerprints that hash input files' contents."""
        self._registry = registry
        self.chunked = chunked
        self.results = results
        self._cache: dict[str, tuple[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    @property
    def registry(self) -> NodeRegistry:
        """The registry given, else the process's (looked up at each use, so it may be replaced)."""
        return self._registry or default_registry()

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    # -------------------------------------------------------------------------------------- planning
    def fingerprint(self, pipeline: Pipeline, v: Validation, base_dir: Path,
                    store: Path | None = None) -> dict[str, str]:
        """Hash of each node's type, parameters, input files, freshness token and upstream fingerprints."""
        fps: dict[str, str] = {}
        by_id = {n.id: n for n in pipeline.nodes}
        for node_id in v.order:
            node = by_id[node_id]
            cls = self.registry.get(node.type)
            params = v.params.get(node_id)
            files = {}
            raw = params.model_dump(mode="json") if params is not None else dict(node.params)
            for name in (cls.reads_files if cls else ()):
                value = getattr(params, name, None)
                if value:
                    p = Path(value).expanduser()
                    p = (p if p.is_absolute() else base_dir / p).resolve()
                    files[name] = _file_token(p, self.results is not None)
                    raw[name] = str(p)  # the file itself, however the path is written (Save As rewrites it)
            upstream = sorted((l.target_port, fps.get(l.source_node, "?"), l.source_port)
                              for l in v.inbound[node_id])
            fresh = cls().freshness(params, SchemaContext(node_id, base_dir, store=store)) if cls and params else ""
            blob = json.dumps({"type": node.type, "params": raw, "files": files, "in": upstream, "fresh": fresh},
                              sort_keys=True, default=str)
            fps[node_id] = hashlib.sha256(blob.encode()).hexdigest()
        return fps

    def plan(self, pipeline: Pipeline, base_dir: Path, upto: str | None = None, store: Path | None = None) -> Plan:
        """Validate and order the nodes to run. Raises InvalidPipeline when the run cannot start."""
        v = validate(pipeline, base_dir, self.registry, store)
        if not v.runnable:
            raise InvalidPipeline(v.issues)
        if upto is not None and not pipeline.has_node(upto):
            raise BadInput(f"no node '{upto}' to run up to", node=upto)
        if upto is None:
            nodes = v.order
        else:
            needed = nx.ancestors(v.graph, upto)
            nodes = [n for n in v.order if n == upto or n in needed]
        planned = set(nodes)
        consumers = {n: {t for _, t in v.graph.out_edges(n)} & planned for n in nodes}
        return Plan(v, nodes, self.fingerprint(pipeline, v, base_dir, store), consumers,
                    {n.id: n for n in pipeline.nodes}, store)

    # -------------------------------------------------------------------------------------- running
    def run(self, pipeline: Pipeline, base_dir: str | Path = ".", *, upto: str | None = None,
            on_event: Callable[[Event], None] | None = None, cancel: Callable[[], bool] | None = None,
            reuse: bool = True, keep_outputs: bool = True, store: Path | None = None) -> RunResult:
        """Run the pipeline (or only what `upto` needs). Raises InvalidPipeline when it cannot start.

        `keep_outputs=False` (headless) frees each intermediate table once its consumers have run and
        keeps only models, reports, scored tables and the outputs of nodes nothing consumes. `store` is the
        run store the run records into (Load Data Set reads registered data sets from it).
        """
        try:
            return self._run(pipeline, base_dir, upto, on_event, cancel, reuse, keep_outputs, True, store)
        except _SavedUnreadable:  # a saved result left on disk turned out unreadable: run without them
            return self._run(pipeline, base_dir, upto, on_event, cancel, reuse, keep_outputs, False, store)

    def _run(self, pipeline: Pipeline, base_dir: str | Path, upto: str | None,
             on_event: Callable[[Event], None] | None, cancel: Callable[[], bool] | None,
             reuse: bool, keep_outputs: bool, saved_results: bool, store: Path | None) -> RunResult:
        base = Path(base_dir)
        plan = self.plan(pipeline, base, upto, store)
        emit = on_event or (lambda e: None)
        result = RunResult(validation=plan.validation, fingerprints=plan.fingerprints)
        for w in plan.validation.warnings:
            result.warnings.setdefault(w.location.node or "", []).append(w.message)
        done: set[str] = set()
        if self.results is not None:
            from designer.core.result_cache import preload

            preload()  # before the node and saver threads start importing
        saved = self._saved(plan, reuse and saved_results, keep_outputs, pipeline)
        saver = _Saver(self.results) if self.results is not None else None
        for node_id in plan.nodes:
            emit(Event(EventKind.QUEUED, node_id))
        for node_id in plan.nodes:
            upstream = {l.source_node for l in plan.validation.inbound[node_id]}
            if cancel and cancel():
                result.cancelled = True
            blocked = self._blocked(result, plan, node_id, upstream)
            if blocked is not None:
                kind, message = blocked
                result.status[node_id] = NodeState.after(kind)
                if kind == EventKind.FAILED:
                    result.errors[node_id] = message
                    result.bad_input.add(node_id)
                emit(Event(kind, node_id, message=message))
                continue
            cached = self._cache.get(node_id) if reuse else None
            from_disk = saved.get(node_id)
            if cached and cached[0] == plan.fingerprints[node_id]:
                result.outputs[node_id] = cached[1]
                result.status[node_id] = NodeState.CACHED
                emit(Event(EventKind.CACHED, node_id))
            elif from_disk is not None and (outputs := self._load(plan, node_id, from_disk, keep_outputs)) is not None:
                result.outputs[node_id] = outputs
                result.status[node_id] = NodeState.CACHED
                emit(Event(EventKind.CACHED, node_id, message="saved result"))
            elif not (self._reload_inputs(pipeline, plan, node_id, result)
                      and self._execute(pipeline, plan, node_id, base, result, emit, cancel, keep_outputs)):
                continue
            elif saver is not None:
                saver.put(plan.fingerprints[node_id], result.outputs[node_id])
            done.add(node_id)
            self._note_sources(result, result.outputs[node_id])
            if not keep_outputs:
                for u in upstream:
                    if plan.consumers[u] <= done:
                        self._release(result, u, plan.consumers[u])
        if saver is not None:
            saver.close(cancel)
        return result

    def _saved(self, plan: Plan, reuse: bool, keep_outputs: bool, pipeline: Pipeline) -> dict[str, bool]:
        """Nodes with saved results to reuse: {node: whether its outputs must be loaded}. Headless, a saved
        node is loaded only when a node that runs needs it, or it is an end result (a model, a report, scored
        rows, an output nothing consumes); the others stay on disk."""
        if not reuse or self.results is None:
            return {}
        have = {n for n in plan.nodes if self.results.has(plan.fingerprints[n])
                and not (self._cache.get(n) and self._cache[n][0] == plan.fingerprints[n])}
        out: dict[str, bool] = {}
        for n in plan.nodes:
            if n not in have:
                continue
            cls = self.registry.get(pipeline.node(n).type)
            final = cls is None or any(p.type.value in ("Model", "Report") for p in (*cls.inputs, *cls.outputs))
            out[n] = keep_outputs or final or not plan.consumers[n] or any(c not in have for c in plan.consumers[n])
        return out

    def _warm(self, fingerprint: str) -> Any:
        if self.results is None:
            return None
        from designer.core.result_cache import WarmStarts

        return WarmStarts(self.results, fingerprint)

    def _reload_inputs(self, pipeline: Pipeline, plan: Plan, node_id: str, result: RunResult) -> bool:
        """Load saved inputs that were left on disk (a saved result that turned out unreadable runs again)."""
        for link in pipeline.links_into(node_id):
            outputs = result.outputs.get(link.source_node, {})
            if link.source_port not in outputs and self.results is not None:
                loaded = self.results.get(plan.fingerprints[link.source_node])
                if loaded is None:
                    raise _SavedUnreadable(link.source_node)
                result.outputs[link.source_node] = loaded
        return True

    def _load(self, plan: Plan, node_id: str, load: bool, keep_outputs: bool) -> dict[str, Any] | None:
        if not load:
            return {}
        outputs = self.results.get(plan.fingerprints[node_id])
        if outputs is not None and keep_outputs:
            with self._lock:
                self._cache[node_id] = (plan.fingerprints[node_id], outputs)
        return outputs

    def load_saved(self, pipeline: Pipeline, base_dir: Path) -> dict[str, dict[str, Any]]:
        """The saved results of every node whose fingerprint is unchanged (to show them without a run)."""
        if self.results is None:
            return {}
        from designer.core.result_cache import preload

        preload()
        try:
            plan = self.plan(pipeline, Path(base_dir))
        except Exception:  # noqa: BLE001  (an invalid pipeline has nothing to show)
            return {}
        out = {}
        for n in plan.nodes:
            outputs = self.results.get(plan.fingerprints[n]) if self.results.has(plan.fingerprints[n]) else None
            if outputs is not None:
                out[n] = outputs
                with self._lock:
                    self._cache[n] = (plan.fingerprints[n], outputs)
        return out

    @staticmethod
    def _blocked(result: RunResult, plan: Plan, node_id: str, upstream: set[str]) -> tuple[EventKind, str] | None:
        """Why `node_id` cannot run now (cancelled, module unavailable, an upstream node did not finish)."""
        if result.cancelled:
            return EventKind.SKIPPED, "run cancelled"
        if node_id in plan.validation.unavailable:
            return EventKind.FAILED, plan.validation.unavailable[node_id]
        bad = sorted(u for u in upstream if result.status.get(u) in (NodeState.FAILED, NodeState.SKIPPED))
        if bad:
            return EventKind.SKIPPED, f"upstream node '{bad[0]}' did not finish"
        return None

    def _execute(self, pipeline: Pipeline, plan: Plan, node_id: str, base: Path, result: RunResult,
                 emit: Callable[[Event], None], cancel: Callable[[], bool] | None, keep_outputs: bool) -> bool:
        """Run one node; record its outputs or its failure. True when it finished."""
        node = plan.by_id[node_id]
        inputs = {l.target_port: result.outputs[l.source_node][l.source_port]
                  for l in plan.validation.inbound[node_id]}
        ctx = RunContext(node_id, base, plan.fingerprints[node_id],
                         progress=lambda f, m: emit(Event(EventKind.PROGRESS, node_id, f, m)), cancelled=cancel,
                         chunked=self.chunked, titles={n.id: n.title or n.id for n in pipeline.nodes},
                         inputs={l.target_port: f"{plan.fingerprints[l.source_node]}:{l.source_port}"
                                 for l in plan.validation.inbound[node_id]},
                         warm=self._warm(plan.fingerprints[node_id]), store=plan.store)
        emit(Event(EventKind.STARTED, node_id))
        start = time.perf_counter()
        node_type = self.registry.require(node.type, node_id)()
        try:
            outputs = call_cancellable(lambda c: node_type.run(plan.validation.params[node_id], inputs, c), ctx, cancel)
        except Cancelled:
            result.cancelled = True
            result.status[node_id] = NodeState.SKIPPED
            emit(Event(EventKind.SKIPPED, node_id, message="run cancelled"))
            return False
        except BadInput as e:
            result.bad_input.add(node_id)
            self._fail(result, emit, node_id, failure_message(e, node_id))
            return False
        except Exception as e:  # a bug or a library error: keep the message, store the traceback
            result.tracebacks[node_id] = getattr(e, "worker_traceback", None) or traceback.format_exc()
            self._fail(result, emit, node_id, f"{type(e).__name__}: {e}")
            return False
        elapsed = time.perf_counter() - start
        outputs = tag_origins(outputs, inputs, node_id)
        result.seconds[node_id] = elapsed
        result.outputs[node_id] = outputs
        result.status[node_id] = NodeState.DONE
        if ctx.warnings:
            result.warnings.setdefault(node_id, []).extend(ctx.warnings)
        if keep_outputs:
            with self._lock:
                self._cache[node_id] = (plan.fingerprints[node_id], outputs)
        emit(Event(EventKind.FINISHED, node_id, seconds=elapsed, outputs=outputs))
        return True

    @staticmethod
    def _fail(result: RunResult, emit: Callable[[Event], None], node_id: str, message: str) -> None:
        result.status[node_id] = NodeState.FAILED
        result.errors[node_id] = message
        emit(Event(EventKind.FAILED, node_id, message=message))

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


def tag_origins(outputs: dict[str, Any], inputs: dict[str, Any], node_id: str) -> dict[str, Any]:
    """Mark where each output table's rows come from: an input's origin when the rows are that input's (same
    index: a column step, a score), else this node's port (a source, a split, a sample, removed rows)."""
    from designer.core.values import Table

    tables = [t for t in inputs.values() if isinstance(t, Table)]
    out = dict(outputs)
    for port, value in outputs.items():
        if not isinstance(value, Table):
            continue
        same = next((t for t in tables if len(t.frame) == len(value.frame) and t.frame.index.equals(value.frame.index)),
                    None)
        origin = same.origin if same is not None and same.origin is not None else (node_id, port)
        if value.origin != origin:
            out[port] = replace(value, origin=origin)
    return out


class _SavedUnreadable(Exception):
    """A saved result needed as an input could not be read back."""


class _Saver:
    """Saves finished nodes' outputs in a background thread (overlapping the next nodes' work)."""

    def __init__(self, results: Any) -> None:
        self.results = results
        self.queue: queue.SimpleQueue[tuple[str, dict[str, Any]] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._work, name="save-results", daemon=True)
        self.thread.start()

    def put(self, fingerprint: str, outputs: dict[str, Any]) -> None:
        self.queue.put((fingerprint, outputs))

    def _work(self) -> None:
        from designer.core.background import BELOW_RUN, lower_priority

        lower_priority(BELOW_RUN)
        while (item := self.queue.get()) is not None:
            self.results.put(*item)

    def close(self, cancel: Callable[[], bool] | None) -> None:
        """Finish saving (a stopped run does not wait: the entries not yet written are simply not saved)."""
        self.queue.put(None)
        while self.thread.is_alive():
            self.thread.join(POLL)
            if cancel is not None and cancel():
                return


POLL = 0.05
"""Seconds between looks at the cancel flag while a node runs in its worker thread."""


def call_cancellable(work: Callable[[RunContext], Any], ctx: RunContext, cancel: Callable[[], bool] | None) -> Any:
    """`work(ctx)`, stoppable within POLL seconds even when it never checks the cancel flag (a long C-level fit).

    With a cancel flag, `work` runs in a daemon thread; this thread waits for it, forwards its progress
    and raises `Cancelled` as soon as the flag is set. A node that ignores the flag is abandoned: its
    thread finishes in the background and its result is dropped (it never reaches the run). Without a
    cancel flag `work` runs here, directly.
    """
    if cancel is None:
        return work(ctx)
    messages: queue.SimpleQueue[tuple[float, str]] = queue.SimpleQueue()
    forward, abandoned = ctx._progress, threading.Event()
    worker_ctx = RunContext(ctx.node_id, ctx.base_dir, ctx.fingerprint,
                            progress=lambda f, m: None if abandoned.is_set() else messages.put((f, m)),
                            cancelled=lambda: abandoned.is_set() or cancel(), chunked=ctx.chunked,
                            titles=ctx.titles, inputs=ctx.input_fingerprints, warm=ctx.warm, store=ctx.store)
    worker_ctx.warnings = ctx.warnings
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = work(worker_ctx)
        except BaseException as e:  # noqa: BLE001  (handed to the waiting thread)
            e.worker_traceback = traceback.format_exc()  # type: ignore[attr-defined]
            box["error"] = e

    thread = threading.Thread(target=target, name=f"node-{ctx.node_id}", daemon=True)
    thread.start()
    while True:
        thread.join(POLL)
        while not messages.empty():
            f, m = messages.get()
            if forward is not None:
                forward(f, m)
        if not thread.is_alive():
            break
        if cancel():
            abandoned.set()
            raise Cancelled()
    if "error" in box:
        raise box["error"]
    return box["value"]
