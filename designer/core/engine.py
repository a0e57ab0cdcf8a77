"""Run a pipeline: plan with networkx, execute, report events, reuse unchanged outputs, cancel (DESIGN §4).

`Engine.run` is four small steps: `plan` (validate, order, fingerprint), then for each node either reuse
its cached output or `_execute` it, reporting `Event`s, and free what no later node needs.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import networkx as nx

from designer.core.errors import BadInput, Cancelled
from designer.core.node import RunContext
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


def _file_token(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return "missing"
    return f"{st.st_size}:{st.st_mtime_ns}"


def failure_message(error: BadInput, node_id: str) -> str:
    """A node's BadInput without the node's own name (the run reports it under that node)."""
    if error.location.node != node_id:
        return str(error)
    return str(BadInput(error.message, replace(error.location, node=None)))


class Engine:
    """Executes pipelines and remembers each node's outputs under its fingerprint for reuse."""

    def __init__(self, registry: NodeRegistry | None = None) -> None:
        self._registry = registry
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
    def fingerprint(self, pipeline: Pipeline, v: Validation, base_dir: Path) -> dict[str, str]:
        """Hash of each node's type, parameters, input files and upstream fingerprints."""
        fps: dict[str, str] = {}
        for node_id in v.order:
            node = pipeline.node(node_id)
            cls = self.registry.get(node.type)
            params = v.params.get(node_id)
            files = {}
            for name in (cls.reads_files if cls else ()):
                value = getattr(params, name, None)
                if value:
                    p = Path(value).expanduser()
                    files[name] = _file_token(p if p.is_absolute() else base_dir / p)
            upstream = sorted((l.target_port, fps.get(l.source_node, "?"), l.source_port)
                              for l in pipeline.links_into(node_id))
            raw = params.model_dump(mode="json") if params is not None else node.params
            blob = json.dumps({"type": node.type, "params": raw, "files": files, "in": upstream},
                              sort_keys=True, default=str)
            fps[node_id] = hashlib.sha256(blob.encode()).hexdigest()
        return fps

    def plan(self, pipeline: Pipeline, base_dir: Path, upto: str | None = None) -> Plan:
        """Validate and order the nodes to run. Raises InvalidPipeline when the run cannot start."""
        v = validate(pipeline, base_dir, self.registry)
        if not v.runnable:
            raise InvalidPipeline(v.issues)
        if upto is not None and not pipeline.has_node(upto):
            raise BadInput(f"no node '{upto}' to run up to", node=upto)
        nodes = v.order if upto is None else [n for n in v.order if n == upto or n in nx.ancestors(v.graph, upto)]
        consumers = {n: {t for _, t in v.graph.out_edges(n)} & set(nodes) for n in nodes}
        return Plan(v, nodes, self.fingerprint(pipeline, v, base_dir), consumers)

    # -------------------------------------------------------------------------------------- running
    def run(self, pipeline: Pipeline, base_dir: str | Path = ".", *, upto: str | None = None,
            on_event: Callable[[Event], None] | None = None, cancel: Callable[[], bool] | None = None,
            reuse: bool = True, keep_outputs: bool = True) -> RunResult:
        """Run the pipeline (or only what `upto` needs). Raises InvalidPipeline when it cannot start.

        `keep_outputs=False` (headless) frees each intermediate table once its consumers have run and
        keeps only models, reports, scored tables and the outputs of nodes nothing consumes.
        """
        base = Path(base_dir)
        plan = self.plan(pipeline, base, upto)
        emit = on_event or (lambda e: None)
        result = RunResult(validation=plan.validation, fingerprints=plan.fingerprints)
        for w in plan.validation.warnings:
            result.warnings.setdefault(w.location.node or "", []).append(w.message)
        done: set[str] = set()
        for node_id in plan.nodes:
            emit(Event(EventKind.QUEUED, node_id))
        for node_id in plan.nodes:
            upstream = {l.source_node for l in pipeline.links_into(node_id)}
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
            if cached and cached[0] == plan.fingerprints[node_id]:
                result.outputs[node_id] = cached[1]
                result.status[node_id] = NodeState.CACHED
                emit(Event(EventKind.CACHED, node_id))
            elif not self._execute(pipeline, plan, node_id, base, result, emit, cancel, keep_outputs):
                continue
            done.add(node_id)
            self._note_sources(result, result.outputs[node_id])
            if not keep_outputs:
                for u in upstream:
                    if plan.consumers[u] <= done:
                        self._release(result, u, plan.consumers[u])
        return result

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
        node = pipeline.node(node_id)
        inputs = {l.target_port: result.outputs[l.source_node][l.source_port] for l in pipeline.links_into(node_id)}
        ctx = RunContext(node_id, base, plan.fingerprints[node_id],
                         progress=lambda f, m: emit(Event(EventKind.PROGRESS, node_id, f, m)), cancelled=cancel)
        emit(Event(EventKind.STARTED, node_id))
        start = time.perf_counter()
        try:
            outputs = self.registry.require(node.type, node_id)().run(plan.validation.params[node_id], inputs, ctx)
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
            result.tracebacks[node_id] = traceback.format_exc()
            self._fail(result, emit, node_id, f"{type(e).__name__}: {e}")
            return False
        elapsed = time.perf_counter() - start
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
