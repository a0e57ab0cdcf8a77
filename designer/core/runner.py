"""Headless runs: apply parameter overrides, run, and write scored tables, metrics and bundles to a folder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

import networkx as nx

from designer.core import jsontext
from designer.core.batch import write_scored
from designer.core.early_outputs import EarlyOutputs, started_outputs
from designer.core.engine import Engine, Event, RunResult
from designer.core.lifecycle import EventCallback, RunObserver, RunSession, run_pipeline
from designer.core.errors import BadInput, CannotWrite
from designer.core.node import NodeType
from designer.core.pipeline import Pipeline, atomic_write_text
from designer.core.states import EventKind, NodeState
from designer.core.values import PortType, Report, Table


def parse_value(text: str) -> Any:
    """A command-line value: JSON if it parses (numbers, true/false, lists), else the plain string."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # not JSON (or a number beyond Python's digit limit): a string
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
    by_id = {n.id: n for n in pipeline.nodes}
    return {n: {"type": by_id[n].type, **v.params[n].model_dump(mode="json")} for n in sorted(nodes)}


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
    by_id = {n.id: n for n in pipeline.nodes}
    evaluations, scored, sources = [], [], {}
    for node_id, outputs in result.outputs.items():
        for port, value in outputs.items():
            if isinstance(value, Report):
                files = {link.target_port: scored_file(link.source_node, link.source_port, scored_format)
                         for link in pipeline.links_into(node_id)}
                evaluations.append({"node": node_id, "title": by_id[node_id].title,
                                    "entries": value.entries, "files": files})
            elif isinstance(value, Table) and value.scored is not None:
                scored.append({"node": node_id, "port": port, "title": by_id[node_id].title,
                               "file": scored_file(node_id, port, scored_format), "scored": value.scored})
                sources.update({s.sha256: s.to_json() for s in value.sources})
    v = result.validation
    assert v is not None
    inputs = [{"node": n, "type": by_id[n].type, "title": by_id[n].title,
               "params": v.params[n].model_dump(mode="json")}
              for n in v.order if result.status.get(n) in (NodeState.DONE, NodeState.CACHED)
              and _is_source(registry.require(by_id[n].type, n))]
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
                made = payload(value)  # the estimator and recipe: the same whichever reference the model keeps
                value = with_held_out_predictions(value, result)
                write_bundle(path, value, pipeline_json=pipeline_json, payload=made,
                             params=model_params(pipeline, result, node_id), metrics=model_metrics)
                written.append(path)
    return written


OUTPUTS_FORMAT = "pipeline-designer-outputs"


def foreign_files(out_dir: Path) -> list[str]:
    """The entries of an existing output folder that no run of this program wrote: those its metrics.json does
    not list (written by older versions: metrics.json, report.json, bundles and `<node>.<port>.csv` of the
    nodes it names). Empty when the folder holds exactly one run's outputs, or nothing."""
    names = sorted(p.name for p in out_dir.iterdir())
    if not names:
        return []
    try:
        summary = json.loads((out_dir / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return names
    if not isinstance(summary, dict):
        return names
    listed = summary.get("files")
    if isinstance(listed, list):
        ours = {"metrics.json", *(f for f in listed if isinstance(f, str))}
        return [n for n in names if n not in ours]
    nodes = set(summary.get("status") or {}) if isinstance(summary.get("status"), dict) else set()
    return [n for n in names if not (n in ("metrics.json", REPORT_FILE) or n.endswith(".bundle.zip")
                                     or (n.endswith(".csv") and n.split(".")[0] in nodes and n.count(".") == 2))]


def with_held_out_predictions(model: Any, result: RunResult) -> Any:
    """The model with its reference profile's predictions taken from held-out rows: a scored table of this
    model from the same data whose rows it was not trained on (kept on the training rows otherwise)."""
    from dataclasses import replace

    from designer.core.drift import prediction_profile

    if model.reference is None or model.train_index is None:
        return model
    trained = set(model.train_index.tolist())
    for outputs in result.outputs.values():
        for value in outputs.values():
            if not isinstance(value, Table) or not value.scored or value.scored.get("model") != model.node_id:
                continue
            if value.sources != model.sources or trained.intersection(value.frame.index.tolist()):
                continue
            column = "cluster" if model.task == "clustering" else "prediction"
            reference = {**model.reference,
                         "predictions": prediction_profile(value.frame[column].to_numpy(), model.task, "held-out")}
            return replace(model, reference=reference)
    return model


class OutputWriter(RunObserver):
    """Writes a run into a folder: `<score node>.scored.parquet` (or `.csv`), `<train node>.bundle.zip`,
    `report.json` (evaluations with plot data, for `pipeline-designer report`) and `metrics.json` (which lists
    the files).

    The folder always holds exactly one run's outputs: they are written into a new sibling folder that then
    takes the old one's place (a failed or cancelled re-run leaves no bundle or table of the run before it
    beside its metrics.json). Scored files and model payloads are written into that staging folder while the
    run goes on (designer.core.early_outputs); a run that raises removes it. A folder holding files no run
    wrote is refused before the run starts, never emptied. `also` names files the caller writes into the
    folder afterwards (`run --report`).
    """

    def __init__(self, out_dir: Path, also: tuple[Path, ...] = (), scored_format: str = "parquet") -> None:
        self.out_dir = out_dir
        self.also = also
        self.scored_format = scored_format
        self._early: EarlyOutputs | None = None
        self._staging: Path | None = None

    def _check(self) -> None:
        out = self.out_dir
        if out.exists() and not out.is_dir():
            raise BadInput("the output folder is a file", file=str(out))
        foreign = foreign_files(out) if out.is_dir() else []
        if foreign:
            more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
            raise BadInput(f"the output folder holds files no run wrote ({', '.join(foreign[:3])}{more}); a run "
                           "replaces the folder's contents, so choose an empty or new folder", file=str(out))

    def _new_staging(self) -> Path:
        import tempfile

        out = self.out_dir
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".new", dir=out.parent))
            staging.chmod(0o777 & ~_umask())
        except OSError as e:
            raise CannotWrite(e, out) from None
        return staging

    def begin(self, session: RunSession) -> None:
        self._check()
        self._staging = self._new_staging()
        self._early = EarlyOutputs()  # scored files and model payloads are written while the run goes on

    def event(self, session: RunSession, event: Event) -> None:
        if self._early is not None and self._staging is not None and event.kind == EventKind.FINISHED \
                and event.outputs:
            started_outputs(self._early, event.node, event.outputs, self._staging, self.scored_format)

    def fail(self, session: RunSession, error: BaseException) -> None:
        self._discard()

    def _discard(self) -> None:
        """Stop the background writing and remove the staging folder (the output folder stays as it was)."""
        import shutil

        early, staging, self._early, self._staging = self._early, self._staging, None, None
        if early is not None:
            early.close()
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)

    def finish(self, session: RunSession) -> None:
        out = self.out_dir
        if self._staging is None:  # finish without begin (a run store keeping a run's outputs)
            self._staging = self._new_staging()
        early, staging = self._early or EarlyOutputs(), self._staging
        try:
            names = self._write(session, staging, early)
        except BaseException:
            self._discard()
            raise
        early.close()
        self._early = self._staging = None
        self._swap(staging)
        session.artifacts += [out / n for n in names]

    def _write(self, session: RunSession, folder: Path, early: EarlyOutputs) -> list[str]:
        result, pipeline = session.result, session.pipeline
        assert result is not None
        names = []
        for node_id, outputs in result.outputs.items():
            for port, value in outputs.items():
                if isinstance(value, Table) and value.scored is not None:
                    name = scored_file(node_id, port, self.scored_format)
                    early.result(("scored", node_id, port)) or write_scored(value.view, folder / name)
                    names.append(name)
        names += [p.name for p in write_bundles(pipeline, result, folder, session.metrics,
                                                payload=lambda model: early.result(("payload", id(model))))]
        report = report_of(pipeline, result, session.base_dir, self.scored_format)
        atomic_write_text(folder / REPORT_FILE, jsontext.dumps(report) + "\n")
        names.append(REPORT_FILE)
        also = [a.name for a in self.also if a.parent.resolve() == self.out_dir.resolve()]
        summary = {"pipeline": pipeline.name, "ok": result.ok, "cancelled": result.cancelled,
                   "status": result.status, "errors": result.errors, "warnings": result.warnings,
                   "seconds": {k: round(v, 4) for k, v in result.seconds.items()}, "metrics": session.metrics,
                   "files": sorted({*names, *also, "metrics.json"})}
        atomic_write_text(folder / "metrics.json", jsontext.dumps(summary, indent=2) + "\n")
        return [*names, "metrics.json"]

    def _swap(self, staging: Path) -> None:
        """Put `staging` where the output folder is: the old one is renamed aside, the new one in, the old one
        deleted (checked again first: files put there during the run are never deleted)."""
        import shutil

        out = self.out_dir
        aside = None
        try:
            if out.exists():
                self._check()
                aside = out.with_name(f"{staging.name.removesuffix('.new')}.old")
                os.rename(out, aside)
            try:
                os.rename(staging, out)
            except OSError:
                if aside is not None:
                    os.rename(aside, out)
                    aside = None
                raise
        except BadInput:
            raise BadInput(f"the output folder changed during the run; this run's outputs are in {staging}",
                           file=str(out)) from None
        except OSError as e:
            raise CannotWrite(e, out) from None
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
