"""Headless runs: apply parameter overrides, run, and write scored tables, metrics and bundles to a folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import networkx as nx

from designer.core.batch import write_scored
from designer.core.early_outputs import EarlyOutputs, started_outputs
from designer.core.engine import Engine, Event, RunResult
from designer.core.lifecycle import EventCallback, RunObserver, RunSession, run_pipeline
from designer.core.errors import BadInput
from designer.core.node import NodeType
from designer.core.pipeline import Pipeline, atomic_write_text
from designer.core.states import EventKind, NodeState
from designer.core.values import PortType, Report, Table


def parse_value(text: str) -> Any:
    """A command-line value: JSON if it parses (numbers, true/false, lists), else the plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def apply_overrides(pipeline: Pipeline, overrides: list[str]) -> Pipeline:
    """Return a copy with `NODE.PARAM=VALUE` overrides applied (validated later with everything else)."""
    p = pipeline.model_copy(deep=True)
    for item in overrides:
        key, sep, value = item.partition("=")
        node_id, dot, param = key.partition(".")
        if not sep or not dot or not node_id or not param:
            raise BadInput(f"--set '{item}' must look like NODE.PARAM=VALUE")
        if not p.has_node(node_id):
            raise BadInput(f"--set '{item}': no node '{node_id}' (nodes: {', '.join(n.id for n in p.nodes)})",
                           node=node_id)
        p.node(node_id).params[param] = parse_value(value)
    return p


def metrics_of(result: RunResult) -> dict[str, list[dict[str, Any]]]:
    """Every Evaluate node's entries without plot data: {node: [{port, task, model, metrics}, ...]}."""
    out: dict[str, list[dict[str, Any]]] = {}
    for node_id, outputs in result.outputs.items():
        for value in outputs.values():
            if isinstance(value, Report):
                out[node_id] = value.to_json()["entries"]
    return out


def model_params(pipeline: Pipeline, result: RunResult, node_id: str) -> dict[str, Any]:
    """Parameters of a node and of everything upstream of it, as validated (defaults filled in)."""
    v = result.validation
    assert v is not None
    nodes = nx.ancestors(v.graph, node_id) | {node_id}
    return {n: {"type": pipeline.node(n).type, **v.params[n].model_dump(mode="json")} for n in sorted(nodes)}


def _is_source(cls: type[NodeType]) -> bool:
    """A module with no inputs and a table output: where data enters a pipeline."""
    return not cls.inputs and any(p.type == PortType.TABLE for p in cls.outputs)


REPORT_FILE = "report.json"
REPORT_FORMAT = "pipeline-designer-report"
SCORED_FORMATS = ("parquet", "csv")
"""How `run` writes scored tables: Parquet (the default: fast, typed, small) or CSV (on request)."""


def scored_file(node_id: str, port: str, scored_format: str = "parquet") -> str:
    return f"{node_id}.{port}.{scored_format}"


def report_of(pipeline: Pipeline, result: RunResult, base_dir: Path, scored_format: str = "parquet") -> dict[str, Any]:
    """What `pipeline-designer report` needs besides the scored tables: every Evaluate entry with its plot
    data and the file of the scored table behind it, and how to reload each input data set."""
    from designer.core.registry import default_registry

    registry = default_registry()
    evaluations, scored, sources = [], [], {}
    for node_id, outputs in result.outputs.items():
        for port, value in outputs.items():
            if isinstance(value, Report):
                files = {link.target_port: scored_file(link.source_node, link.source_port, scored_format)
                         for link in pipeline.links_into(node_id)}
                evaluations.append({"node": node_id, "title": pipeline.node(node_id).title,
                                    "entries": value.entries, "files": files})
            elif isinstance(value, Table) and value.scored is not None:
                scored.append({"node": node_id, "port": port, "title": pipeline.node(node_id).title,
                               "file": scored_file(node_id, port, scored_format), "scored": value.scored})
                sources.update({s.sha256: s.to_json() for s in value.sources})
    v = result.validation
    inputs = [{"node": n, "type": pipeline.node(n).type, "title": pipeline.node(n).title,
               "params": v.params[n].model_dump(mode="json")}
              for n in (v.order if v else []) if result.status.get(n) in (NodeState.DONE, NodeState.CACHED)
              and _is_source(registry.require(pipeline.node(n).type, n))]
    return {"format": REPORT_FORMAT, "version": 1, "pipeline": pipeline.name,
            "base_dir": str(Path(base_dir).resolve()), "evaluations": evaluations, "scored": scored,
            "inputs": inputs, "sources": list(sources.values())}


def write_bundles(pipeline: Pipeline, result: RunResult, out_dir: Path,
                  metrics: dict[str, list[dict[str, Any]]] | None = None,
                  payload: Callable[[Any], bytes | None] = lambda model: None) -> list[Path]:
    """Write `<train node>.bundle.zip` into `out_dir` for every trained model of a run, with the parameters
    of the node and everything upstream and the metrics its Evaluate nodes measured."""
    from designer.core.bundle import SUFFIX, write_bundle
    from designer.core.model import TrainedModel

    metrics = metrics_of(result) if metrics is None else metrics
    pipeline_json = pipeline.to_json_text()
    written = []
    for node_id, outputs in result.outputs.items():
        for value in outputs.values():
            if isinstance(value, TrainedModel) and value.node_id == node_id:  # trained here, not loaded
                out_dir.mkdir(parents=True, exist_ok=True)
                model_metrics = {f"{ev}.{e['port']}": e["metrics"] for ev, entries in metrics.items()
                                 for e in entries if e.get("model") == node_id}
                path = out_dir / f"{node_id}{SUFFIX}"
                write_bundle(path, value, pipeline_json=pipeline_json, payload=payload(value),
                             params=model_params(pipeline, result, node_id), metrics=model_metrics)
                written.append(path)
    return written


class OutputWriter(RunObserver):
    """Writes a finished run into a folder: `<score node>.scored.parquet` (or `.csv`), `<train node>.bundle.zip`,
    `report.json` (evaluations with plot data, for `pipeline-designer report`) and `metrics.json`."""

    def __init__(self, out_dir: Path, scored_format: str = "parquet") -> None:
        self.out_dir = out_dir
        self.scored_format = scored_format
        self._early: EarlyOutputs | None = None

    def begin(self, session: RunSession) -> None:
        self._early = EarlyOutputs()  # scored files and model payloads are written while the run goes on

    def event(self, session: RunSession, event: Event) -> None:
        if self._early is not None and event.kind == EventKind.FINISHED and event.outputs:
            started_outputs(self._early, event.node, event.outputs, self.out_dir, self.scored_format)

    def fail(self, session: RunSession, error: BaseException) -> None:
        if self._early is not None:
            self._early.close()

    def finish(self, session: RunSession) -> None:
        early, self._early = self._early or EarlyOutputs(), None
        try:
            self._write(session, early)
        finally:
            early.close()

    def _write(self, session: RunSession, early: EarlyOutputs) -> None:
        result, out_dir, pipeline = session.result, self.out_dir, session.pipeline
        assert result is not None
        out_dir.mkdir(parents=True, exist_ok=True)
        for node_id, outputs in result.outputs.items():
            for port, value in outputs.items():
                if isinstance(value, Table) and value.scored is not None:
                    path = early.result(("scored", node_id, port)) or write_scored(
                        value.view, out_dir / scored_file(node_id, port, self.scored_format))
                    session.artifacts.append(path)
        session.artifacts += write_bundles(pipeline, result, out_dir, session.metrics,
                                           payload=lambda model: early.result(("payload", id(model))))
        path = out_dir / REPORT_FILE
        report = report_of(pipeline, result, session.base_dir, self.scored_format)
        atomic_write_text(path, json.dumps(report, default=str) + "\n")
        session.artifacts.append(path)
        summary = {"pipeline": pipeline.name, "ok": result.ok, "cancelled": result.cancelled,
                   "status": result.status, "errors": result.errors, "warnings": result.warnings,
                   "seconds": {k: round(v, 4) for k, v in result.seconds.items()}, "metrics": session.metrics}
        path = out_dir / "metrics.json"
        atomic_write_text(path, json.dumps(summary, indent=2, default=str) + "\n")
        session.artifacts.append(path)


def run_to_dir(pipeline: Pipeline, base_dir: Path, out_dir: Path | None, *,
               on_event: Callable[[Event], None] | None = None, cancel: Callable[[], bool] | None = None,
               upto: str | None = None, engine: Engine | None = None) -> RunSession:
    """Run headless (freeing intermediate tables) and write the outputs into `out_dir` (none when None)."""
    session = RunSession(pipeline, base_dir, upto=upto, out_dir=out_dir)
    observers: list[RunObserver] = [EventCallback(on_event)] if on_event else []
    if out_dir is not None:
        observers.append(OutputWriter(out_dir))
    return run_pipeline(session, engine=engine, observers=observers, cancel=cancel, reuse=False,
                        keep_outputs=False)
