"""`pipeline-designer runs ...` and `pipeline-designer models ...`: run history, reproduction and the model registry.

Also the glue `run` and `score` use: `store_recorder` (record a run, warning instead of failing when the
store is unusable) and `resolve_bundle` (NAME[:VERSION] or a bundle path). Everything heavy (sqlite3,
pandas, the engine) is imported inside the commands so `--help` stays instant.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _warn(message: str) -> None:
    print(f"pipeline-designer: warning: {message}", file=sys.stderr)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, default=str) if isinstance(value, (list, dict)) else str(value)


def _when(iso: str | None) -> str:
    from designer.core.store import local_time

    return local_time(iso, "-")


def _took(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def _dump(data: Any) -> None:
    from designer.core import jsontext

    print(jsontext.dumps(data, indent=2))  # valid JSON: a NaN metric (of an older record) prints as null


def _open(args: argparse.Namespace, write: bool = False) -> Any:
    """The store of a `runs`/`models` command; commands that only read also read a read-only store."""
    from designer.core.store import open_found

    return open_found(getattr(args, "store", None), write=write)


# ---------------------------------------------------------------------------------------------- run / score glue


def store_recorder(args: argparse.Namespace, session: Any) -> Any:
    """The StoreRecorder of a `run` (`--store`, else beside the pipeline); sets the text to record. Never raises."""
    from designer.core.store import store_for_pipeline
    from designer.core.store_record import StoreRecorder

    try:  # the file exactly as it is; `--set` overrides are recorded beside it
        session.pipeline_text = Path(args.pipeline).read_text(encoding="utf-8")
        store_path: Path | None = store_for_pipeline(args.pipeline, getattr(args, "store", None))
    except Exception as e:  # an unreadable file was already loaded once; be safe anyway
        _warn(f"run store: {e}; this run is not recorded")
        store_path = None
    return StoreRecorder(store_path, _warn)


def resolve_bundle(ref: str, store_option: str | None = None) -> tuple[Path, str | None]:
    """A bundle path, or the verified store copy of a registered model NAME[:VERSION] (then also its ref)."""
    from designer.core.errors import BadInput

    p = Path(ref)
    if p.exists() or ref.endswith(".zip") or "/" in ref or os.sep in ref:
        return p, None
    from designer.core.store import StoreError, open_found, parse_model_ref

    try:
        parse_model_ref(ref)
    except StoreError:
        return p, None  # load_bundle reports the missing file
    try:
        store = open_found(store_option, write=False)
    except StoreError as e:
        raise BadInput(f"'{ref}' is neither a bundle file nor a registered model ({e})") from None
    with store:
        model = store.model_bundle(ref)
    return model.bundle, model.ref


# ---------------------------------------------------------------------------------------------- runs


def cmd_runs_list(args: argparse.Namespace) -> int:
    with _open(args) as store:
        runs = store.list_runs(args.pipeline, args.limit)
    if args.json:
        _dump([r.to_json(text=False) for r in runs])
        return EXIT_OK
    if not runs:
        print(f"no runs recorded in {store.path}")
        return EXIT_OK
    print(f"{'RUN':<12}  {'STARTED':<19}  {'TOOK':>6}  {'STATUS':<11}  {'PIPELINE':<28}  METRIC")
    for r in runs:
        print(f"{r.id:<12}  {_when(r.started_at):<19}  {_took(r.seconds):>6}  {r.status:<11}  "
              f"{r.pipeline_name[:28]:<28}  {r.headline()}")
    return EXIT_OK


def _print_params(params: dict[str, dict[str, Any]], nodes: dict[str, dict[str, Any]], indent: str = "  ") -> None:
    from designer.core.store import flat_params

    for node, values in params.items():
        kind = (nodes.get(node) or {}).get("type") or values.get("type")
        flat = ", ".join(f"{k}={_fmt(v)}" for k, v in flat_params(
            {k: v for k, v in values.items() if k != "type"}).items())
        print(f"{indent}{node}{f' ({kind})' if kind else ''}: {flat or '-'}")


def _print_metrics(metrics: dict[str, Any], indent: str = "  ") -> None:
    from designer.core.store import flat_metrics

    flat = flat_metrics(metrics) if all(isinstance(v, list) for v in metrics.values()) else {
        f"{k}.{m}": v for k, ms in metrics.items() for m, v in (ms or {}).items()}
    if not flat:
        print(f"{indent}-")
    for key, value in flat.items():
        print(f"{indent}{key:<40} {_fmt(value)}")


def _print_data(sources: list[dict[str, Any]], indent: str = "  ") -> None:
    from designer.core.store import data_label

    if not sources:
        print(f"{indent}-")
    for s in sources:
        where = f"data set {data_label(s)}" if s.get("dataset") else data_label(s)
        print(f"{indent}{where}  {s.get('rows')} rows x {s.get('columns')} columns  sha256 {s.get('sha256')}")


def cmd_runs_show(args: argparse.Namespace) -> int:
    with _open(args) as store:
        r = store.get_run(args.run)
    if args.json:
        _dump(r.to_json(text=True))
        return EXIT_OK
    print(f"run        {r.id}  {r.status}")
    print(f"pipeline   {r.pipeline_name}  (sha256 {r.pipeline_hash})")
    if r.pipeline_path:
        print(f"file       {r.pipeline_path}")
    print(f"data from  {r.base_dir}")
    print(f"started    {_when(r.started_at)}   ended {_when(r.ended_at)}   took {_took(r.seconds)}")
    print(f"process    pid {r.pid} on {r.host}")
    dirty = " (with uncommitted changes)" if r.git_dirty else ""
    print(f"git        {(r.git_commit or '') + dirty or '- (not in a git repository)'}")
    for label, value in (("overrides", " ".join(r.overrides)), ("upto", r.upto), ("output", r.out_dir),
                         ("reproduces", r.reproduces), ("message", r.message)):
        if value:
            print(f"{label:<10} {value}")
    print("data")
    _print_data(r.inputs)
    print("parameters")
    _print_params(r.params, r.nodes)
    print("metrics")
    _print_metrics(r.metrics)
    print("artifacts")
    if not r.artifacts:
        print("  -")
    for a in r.artifacts:
        print(f"  {a['kind']:<8} {a['path']}  sha256 {a['sha256']}")
    for node, msg in r.errors.items():
        print(f"error      {node or '(pipeline)'}: {msg}")
    for node, ws in r.warnings.items():
        for w in ws:
            print(f"warning    {node or '(pipeline)'}: {w}")
    if r.libraries:
        print("libraries  " + ", ".join(f"{k} {v}" for k, v in r.libraries.items()))
    return EXIT_OK


def _print_data_changes(data: list[dict[str, Any]], a: str, b: str) -> None:
    changed = [d for d in data if d["change"] != "same"]
    if not changed:
        print(f"data: unchanged ({len(data)} input{'s' * (len(data) != 1)}, same SHA-256)")
        return
    print(f"data: CHANGED between run {a} and run {b}:")
    for d in changed:
        if d["change"] == "changed":
            x, y = d["a"], d["b"]
            rows = f", rows {x['rows']} -> {y['rows']}" if x["rows"] != y["rows"] else ""
            if x.get("version") != y.get("version"):
                rows = f", version {x.get('version')} -> {y.get('version')}" + rows
            cols = f", columns {x['columns']} -> {y['columns']}" if x["columns"] != y["columns"] else ""
            print(f"  {d['data']}: sha256 {x['sha256'][:12]}… -> {y['sha256'][:12]}…{rows}{cols}")
        else:
            print(f"  {d['data']}: {'only in run ' + (b if d['change'] == 'added' else a)}")


def _print_comparison(c: dict[str, Any]) -> None:
    print("pipeline: " + ("same file text" if c["pipeline"]["same_text"] else "different file text")
          + ("" if c["pipeline"]["a"] == c["pipeline"]["b"] else
             f" ({c['pipeline']['a']} -> {c['pipeline']['b']})"))
    for label, value in (("a", c["overrides"]["a"]), ("b", c["overrides"]["b"])):
        if value:
            print(f"--set of run {c[label]}: {' '.join(value)}")
    if c["params"] or c["nodes_added"] or c["nodes_removed"]:
        print("parameters: differ")
        for p in c["params"]:
            how = " (--set)" if p.get("set") else ""
            print(f"  {p['node']}.{p['param']}: {_fmt(p['a'])} -> {_fmt(p['b'])}{how}")
        for n in c["nodes_added"]:
            print(f"  node {n}: only in run {c['b']}")
        for n in c["nodes_removed"]:
            print(f"  node {n}: only in run {c['a']}")
    else:
        print("parameters: identical")
    if c["metrics"]:
        print("metrics: " + ("identical" if c["metrics_identical"] else "differ"))
        for m in c["metrics"]:
            mark = "=" if m["same"] else (f"{m['delta']:+.6g}" if m["delta"] is not None else "changed")
            print(f"  {m['metric']:<40} {_fmt(m['a']):>12} -> {_fmt(m['b']):<12} {mark}")
    else:
        print("metrics: none")
    _print_data_changes(c["data"], c["a"], c["b"])
    for lib in c["libraries"]:
        print(f"library {lib['library']}: {lib['a']} -> {lib['b']}")


def cmd_runs_compare(args: argparse.Namespace) -> int:
    with _open(args) as store:
        a, b = store.get_run(args.run_a), store.get_run(args.run_b)
    from designer.core.store import compare_runs

    c = compare_runs(a, b)
    if args.json:
        _dump(c)
        return EXIT_OK
    print(f"run {a.id} ({a.pipeline_name}, {_when(a.started_at)}, {a.status}) -> "
          f"run {b.id} ({b.pipeline_name}, {_when(b.started_at)}, {b.status})")
    _print_comparison(c)
    return EXIT_OK


def cmd_runs_reproduce(args: argparse.Namespace) -> int:
    from designer.cli import Progress, ctrl_c_cancels
    from designer.core.engine import CancelToken
    from designer.core.errors import BadInput
    from designer.core.datasets import freeze_database_reads, pin_versions
    from designer.core.lifecycle import EventCallback, RunObserver, RunSession, run_pipeline
    from designer.core.pipeline import parse_pipeline
    from designer.core.runner import OutputWriter, apply_overrides
    from designer.core.store import RUNNING, compare_runs
    from designer.core.store_record import StoreRecorder

    store = _open(args, write=True)
    try:
        orig = store.get_run(args.run)
        if orig.status == RUNNING:
            raise BadInput(f"run {orig.id} is still running; reproduce it once it has finished")
        base = Path(orig.base_dir)
        if not base.is_dir():
            raise BadInput(f"the original pipeline folder {base} no longer exists, so the run's relative data "
                           "paths cannot be resolved")
        pipeline = apply_overrides(parse_pipeline(orig.pipeline_text, f"run {orig.id} "
                                                  f"({orig.pipeline_path or 'stored copy'})"), orig.overrides)
        pins = pin_versions(pipeline, orig.inputs)  # a "latest" data set reads the version the run read
        pipeline, frozen = freeze_database_reads(apply_overrides(pipeline, pins), orig.inputs)
        say = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
        say(f"reproducing run {orig.id} of '{orig.pipeline_name}' ({_when(orig.started_at)}) with data from {base}")
        for pin in pins:
            say(f"pinned {pin} (the data set version run {orig.id} read)")
        for node, ref in frozen.items():
            say(f"{node} reads data set {ref}, the rows run {orig.id} read from the database")
        out = Path(args.out) if args.out else None
        session = RunSession(pipeline, base, upto=orig.upto, pipeline_text=orig.pipeline_text,
                             pipeline_path=Path(orig.pipeline_path) if orig.pipeline_path else None,
                             overrides=[*orig.overrides, *pins], reproduces=orig.id, out_dir=out)
        # without --out, the reproduction keeps its outputs in the store, as usable as the original's
        recorder = StoreRecorder(store, _warn, keep="" if out else "outputs")
        observers: list[RunObserver] = [EventCallback(Progress(len(pipeline.nodes), sys.stderr.isatty()))]
        observers += [OutputWriter(out)] if out else []
        token = CancelToken()
        with ctrl_c_cancels(token):
            run_pipeline(session, observers=[*observers, recorder], cancel=token, reuse=False, keep_outputs=False)
        new = recorder.record()
    finally:
        store.close()
    if new is None:
        raise BadInput("the reproduction ran but its results could not be collected")
    new.pipeline_name, new.pipeline_hash = orig.pipeline_name, orig.pipeline_hash
    c = compare_runs(orig, new)
    pinned = {pin.partition("=")[0] for pin in pins}  # "latest" then, the version it resolved to now: the same
    c["params"] = [p for p in c["params"] if (f"{p['node']}.{p['param']}" not in pinned or p["a"] != "latest")
                   and p["node"] not in frozen]
    scored_a = {Path(a["path"]).name: a["sha256"] for a in orig.artifacts if a["kind"] == "scored"}
    scored_b = {Path(a["path"]).name: a["sha256"] for a in new.artifacts if a["kind"] == "scored"}
    scored = {n: scored_a[n] == scored_b.get(n) for n in scored_a if n in scored_b}
    ok_run = new.status == "succeeded"
    identical = ok_run and not c["data_changed"] and c["metrics_identical"] and not c["params"]
    if args.json:
        _dump({"original": orig.id, "reproduction": recorder.run_id, "status": new.status,
               "identical": identical, "data_changed": c["data_changed"], "metrics_identical": c["metrics_identical"],
               "scored_identical": scored, "comparison": c})
        return EXIT_OK if identical else EXIT_FAILED
    if not ok_run:
        for node, msg in new.errors.items():
            print(f"node '{node}' failed: {msg}")
        print(f"the reproduction {new.status}: {new.message or ''}".rstrip(": "))
    _print_data_changes(c["data"], orig.id, "now")
    if c["params"]:
        print("parameters: differ (this version fills in different defaults):")
        for p in c["params"]:
            print(f"  {p['node']}.{p['param']}: {_fmt(p['a'])} -> {_fmt(p['b'])}")
    else:
        print("parameters: identical")
    for lib in c["libraries"]:
        print(f"library {lib['library']}: {lib['a']} then, {lib['b']} now")
    if c["metrics_identical"]:
        print(f"metrics: identical ({len(c['metrics'])} value{'s' * (len(c['metrics']) != 1)})")
    else:
        print("metrics: DIFFER")
        for m in c["metrics"]:
            if not m["same"]:
                print(f"  {m['metric']:<40} {_fmt(m['a']):>12} then, {_fmt(m['b'])} now")
    for name, same in scored.items():
        print(f"scored table {name}: {'identical' if same else 'differs'}")
    if recorder.run_id:
        print(f"recorded as run {recorder.run_id} (reproducing run {orig.id})")
    if identical:
        print(f"reproduced: the results are identical to run {orig.id}")
        return EXIT_OK
    why = ("the run did not succeed" if not ok_run else "the input data changed" if c["data_changed"]
           else "the metrics differ" if not c["metrics_identical"] else "the parameters differ")
    print(f"NOT reproduced: {why}")
    return EXIT_FAILED


# ---------------------------------------------------------------------------------------------- models


def cmd_models_register(args: argparse.Namespace) -> int:
    with _open(args, write=True) as store:
        m = store.register_model(args.run, args.node, args.name)
    if args.json:
        _dump(m.to_json())
    else:
        print(f"{'registered' if m.new else 'already registered as'} {m.ref} (run {m.run_id}, node {m.node}) "
              f"-> {m.bundle}")
    return EXIT_OK


def cmd_models_list(args: argparse.Namespace) -> int:
    with _open(args) as store:
        models = store.list_models(args.name)
        runs = {m.run_id: store.get_run(m.run_id) for m in models}
    if args.json:
        _dump([{**m.to_json(), "pipeline": runs[m.run_id].pipeline_name} for m in models])
        return EXIT_OK
    if not models:
        print(f"no models registered in {store.path}")
        return EXIT_OK
    print(f"{'MODEL':<28}  {'RUN':<12}  {'NODE':<12}  {'REGISTERED':<19}  {'PIPELINE':<24}  METRIC")
    for m in models:
        r = runs[m.run_id]
        print(f"{m.ref:<28}  {m.run_id:<12}  {m.node:<12}  {_when(m.registered_at):<19}  "
              f"{r.pipeline_name[:24]:<24}  {r.headline()}")
    return EXIT_OK


def model_captures(store_folder: Path, name: str, version: int) -> dict[str, Any]:
    """What `serve --capture` and `score --capture` kept for a model version (rows, time range, size)."""
    from designer.core.serve.capture import capture_folder, capture_summary

    try:
        return capture_summary(capture_folder(store_folder, name, str(version)))
    except Exception as e:  # noqa: BLE001  (an unreadable part file: say so, the lineage still shows)
        return {"error": f"captures not readable: {e}"}


def cmd_models_show(args: argparse.Namespace) -> int:
    with _open(args) as store:
        lin = store.lineage(args.model)
        lin["captures"] = model_captures(store.folder, lin["model"]["name"], lin["model"]["version"])
    if args.json:
        _dump(lin)
        return EXIT_OK
    m, r, p = lin["model"], lin["run"], lin["pipeline"]
    print(f"model     {m['ref']}  ({m['task']}{', label ' + m['label'] if m.get('label') else ''}, "
          f"trained on {m['train_rows']} rows)  registered {_when(m['registered_at'])}")
    print(f"  bundle  {m['bundle']}  sha256 {m['sha256']}")
    learner = m.get("learner") or {}
    if learner:
        print(f"  learner {learner.get('title') or learner.get('type') or ''} "
              f"{json.dumps(learner.get('params', {}), default=str)}")
    print(f"run       {r['id']}  {r['status']}  {_when(r['started_at'])}  took {_took(r['seconds'])}"
          f"{'  git ' + r['git_commit'] if r.get('git_commit') else ''}"
          f"{' (with uncommitted changes)' if r.get('git_dirty') else ''}")
    if r.get("overrides"):
        print(f"  overrides {' '.join(r['overrides'])}")
    print(f"pipeline  {p['name']}  node {p['node']}  sha256 {p['sha256']}")
    if p.get("path"):
        print(f"  file    {p['path']}")
    print("data (training)")
    _print_data(lin["data"])
    print("parameters")
    _print_params(lin["params"], {})
    print("metrics")
    _print_metrics(lin["metrics"])
    if lin.get("libraries"):
        print("libraries " + ", ".join(f"{k} {v}" for k, v in lin["libraries"].items()))
    c = lin["captures"]
    if c.get("error"):
        print(f"captures  {c['error']}")
    elif c.get("rows"):
        print(f"captures  {c['rows']:,} rows ({c['scored']:,} scored, {c['rejected']:,} rejected) from "
              f"{_when(c['first'])} to {_when(c['last'])}; {c['files']} files, {c['bytes'] / 1e6:.1f} MB in "
              f"{c['folder']}")
    else:
        print(f"captures  none (serve --capture or score --capture keep them in {c['folder']})")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------- parsers


def _store_parent() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", metavar="PATH",
                        help="run store folder or .sqlite file (default: $PIPELINE_DESIGNER_STORE, else the "
                             ".pipeline-designer folder of this folder or its nearest parent)")
    return common


def add_store_commands(sub: Any) -> None:
    """Register `runs` and `models` on the main parser's subparsers."""
    common = _store_parent()
    runs = sub.add_parser("runs", help="run history: list, show, compare and reproduce recorded runs",
                          description="Every `run` is recorded in a run store beside the pipeline file. RUN is a "
                                      "run id, a unique prefix of one, 'latest' or 'latest~N'.",
                          epilog="Exit status: 0 success, 1 not reproduced, 2 bad input or unusable store.")
    rsub = runs.add_subparsers(dest="runs_command", metavar="COMMAND", required=True)
    p = rsub.add_parser("list", parents=[common], help="recorded runs, newest first")
    p.add_argument("--pipeline", metavar="NAME", help="only runs of this pipeline name")
    p.add_argument("--limit", type=int, metavar="N", help="at most N runs")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_runs_list)
    p = rsub.add_parser("show", parents=[common], help="everything recorded about one run")
    p.add_argument("run", metavar="RUN", help="run id (or unique prefix, 'latest', 'latest~N')")
    p.add_argument("--json", action="store_true", help="machine-readable output (includes the pipeline text)")
    p.set_defaults(func=cmd_runs_show)
    p = rsub.add_parser("compare", parents=[common], help="parameter, metric and data differences of two runs")
    p.add_argument("run_a", metavar="RUN", help="the first run")
    p.add_argument("run_b", metavar="RUN", help="the second run")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_runs_compare)
    p = rsub.add_parser("reproduce", parents=[common],
                        help="re-run the stored copy of a run's pipeline and check data and metrics are identical",
                        description="Re-runs the pipeline text stored with RUN, resolving relative data paths "
                                    "against the original pipeline folder, then checks the input data hashes "
                                    "and the metrics. Exit 0 when both are identical, 1 otherwise.")
    p.add_argument("run", metavar="RUN", help="run id (or unique prefix, 'latest', 'latest~N')")
    p.add_argument("--out", metavar="DIR", help="keep the reproduction's outputs here (default: a temporary "
                                                "folder, removed afterwards)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_runs_reproduce)

    models = sub.add_parser("models", help="model registry: register trained bundles as NAME:VERSION, list, show "
                                           "lineage", epilog="Exit status: 0 success, 2 bad input or unusable store.")
    msub = models.add_subparsers(dest="models_command", metavar="COMMAND", required=True)
    p = msub.add_parser("register", parents=[common], help="copy a run's trained bundle into the store as NAME:N")
    p.add_argument("run", metavar="RUN", help="run id (or unique prefix, 'latest', 'latest~N')")
    p.add_argument("node", help="the training node whose bundle to register")
    p.add_argument("--name", required=True, help="model name (letters, digits, '_', '.', '-')")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_models_register)
    p = msub.add_parser("list", parents=[common], help="registered models and versions")
    p.add_argument("name", nargs="?", help="only this model's versions")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_models_list)
    p = msub.add_parser("show", parents=[common],
                        help="lineage of NAME[:VERSION]: run, pipeline, data hashes, parameters, metrics")
    p.add_argument("model", metavar="NAME[:VERSION]", help="model name, latest version when VERSION is omitted")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_models_show)


