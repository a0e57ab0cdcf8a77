"""`pipeline-designer export`: a pipeline, or a trained bundle / registered model, as a plain scikit-learn script.

    pipeline-designer export PIPELINE -o train.py [--check]    # the whole pipeline, prints its metrics
    pipeline-designer export NAME[:VER] -o score.py [--check]  # the same code plus score(df) for that model

The script carries the designer's own metrics (from the latest recorded run of the same pipeline text in
the run store, else from a run made now) and, for a bundle, a few stored input rows with the designer's
predictions; `python SCRIPT --check` asserts them exactly. Exit 2 names the nodes that cannot be exported.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _latest_recorded(store_option: str | None, pipeline_path: Path, text: str) -> Any:
    """The newest successful run of exactly this pipeline text in the run store, or None."""
    import hashlib

    from designer.core.store import RunStore, store_for_pipeline

    sha = hashlib.sha256(text.encode()).hexdigest()
    try:
        with RunStore.open(store_for_pipeline(pipeline_path, store_option)) as store:
            for record in store.list_runs(limit=200):
                if record.pipeline_hash == sha and record.status == "succeeded" and not record.overrides \
                        and not record.upto:
                    return record
    except Exception:  # no store, or an unreadable one: export runs the pipeline instead
        return None
    return None


def _run_now(pipeline: Any, pipeline_path: Path, text: str, store_option: str | None) -> tuple[Any, str | None]:
    """Run the pipeline once (recorded in the run store like `run`); returns (session, run id)."""
    from designer.core.lifecycle import RunSession, run_pipeline
    from designer.core.store import store_for_pipeline
    from designer.core.store_record import StoreRecorder

    session = RunSession(pipeline, pipeline_path.resolve().parent, pipeline_path=pipeline_path, pipeline_text=text)
    try:
        recorder = StoreRecorder(store_for_pipeline(pipeline_path, store_option),
                                 lambda m: print(f"warning: {m}", file=sys.stderr))
        observers = [recorder]
    except Exception:
        observers = []
    run_pipeline(session, observers=observers, reuse=False, keep_outputs=True)
    r = session.result
    assert r is not None
    if not r.ok:
        from designer.core.errors import BadInput

        node, message = next(iter(r.errors.items()), ("", "cancelled"))
        raise BadInput(f"the pipeline does not run, so there is nothing to export: {message}", node=node or None)
    return session, session.run_id


def pipeline_script(pipeline: Any, pipeline_path: Path, text: str, output: Path, store_option: str | None,
                    score_model: str | None = None, check_rows: Any = None,
                    check_predictions: Any = None, fresh: bool = False) -> tuple[str, str | None]:
    """The script text and the id of the run whose numbers it carries."""
    from designer.core.digest import bytes_sha256
    from designer.core.export import Expected, NeedsRun, check_exportable, export_script
    from designer.core.registry import default_registry

    base = pipeline_path.resolve().parent
    check_exportable(pipeline, default_registry(), base)  # before any run: exit 2 naming what cannot be written
    sha = bytes_sha256(text.encode())
    kw = dict(score_model=score_model, check_rows=check_rows, check_predictions=check_predictions)
    record = None if fresh else _latest_recorded(store_option, pipeline_path, text)
    if record is not None:
        try:
            expected = Expected(record.id, sha, record.metrics)
            return export_script(pipeline, base, output, expected=expected, **kw), record.id
        except NeedsRun:
            pass  # a column list only a run shows: run it
    session, run_id = _run_now(pipeline, pipeline_path, text, store_option)
    expected = Expected(run_id, sha, session.metrics)
    return export_script(pipeline, base, output, expected=expected, values=session.result.outputs, **kw), run_id


def _bundle_check(model: Any) -> tuple[Any, Any]:
    """The bundle's stored input rows (as script literals) and the designer's predictions for them."""
    from designer.core.bundle import sample_to_json
    from designer.core.model import CLUSTER, DISTANCE, PREDICTION
    from designer.core.values import Table

    if model.sample is None:
        return None, None
    scored = model.score(Table(frame=model.sample)).frame
    cols = [c for c in scored.columns if c in (PREDICTION, CLUSTER, DISTANCE) or c.startswith("probability_")]
    rows = sample_to_json(model.sample)["columns"]
    for col in rows:
        col["values"] = [float("nan") if v is None else v for v in col["values"]]
    return rows, {c: scored[c].tolist() for c in cols}


def cmd_export(args: argparse.Namespace) -> int:
    from designer.core.errors import BadInput
    from designer.core.pipeline import atomic_write_text, load_pipeline, parse_pipeline

    output = Path(args.output)
    source = Path(args.source)
    if args.source.endswith(".pipeline.json") or (source.is_file() and source.suffix == ".json"):
        text = source.read_text(encoding="utf-8")
        script, run_id = pipeline_script(load_pipeline(source), source, text, output, args.store, fresh=args.fresh)
        what = f"pipeline {source.name}"
    else:
        from designer.cli_store import resolve_bundle
        from designer.core.bundle import read_manifest, load_bundle

        bundle, ref = resolve_bundle(args.source, args.store)
        model, manifest, warnings = load_bundle(bundle)
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        text = read_manifest(bundle)[1]["pipeline.json"].decode()
        base = Path(args.base) if args.base else _base_of(ref, args.store)
        if base is None:
            raise BadInput("the bundle does not say where its pipeline's data files are; pass --base DIR "
                           "(the folder the pipeline file was in)", file=str(bundle))
        rows, predictions = _bundle_check(model)
        pseudo_path = base / "bundle.pipeline.json"
        script, run_id = pipeline_script(parse_pipeline(text, str(bundle)), pseudo_path, text, output, args.store,
                                         score_model=model.node_id, check_rows=rows, check_predictions=predictions,
                                         fresh=args.fresh)
        what = f"{ref or bundle} (model '{model.node_id}')"
    atomic_write_text(output, script)
    if args.json:
        print(json.dumps({"output": str(output), "run_id": run_id}))
    else:
        print(f"wrote {output}: {what} as a plain scikit-learn script (designer numbers from run {run_id})")
    if args.check:
        done = subprocess.run([sys.executable, str(output), "--check"], capture_output=True, text=True)
        sys.stderr.write(done.stderr)
        if done.returncode != 0:
            print(f"pipeline-designer: error: {output} --check failed", file=sys.stderr)
            return EXIT_FAILED
        print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "check passed")
    return EXIT_OK


def _base_of(ref: str | None, store_option: str | None) -> Path | None:
    """The folder of the pipeline a registered model came from (its run's base folder)."""
    if ref is None:
        return None
    from designer.core.store import open_found

    with open_found(store_option) as store:
        run = store.get_run(store.model_bundle(ref).run_id)
    return Path(run.base_dir) if run.base_dir else None


def add_export_commands(sub: Any) -> None:
    p = sub.add_parser("export", help="write a pipeline (or a trained model) as a plain scikit-learn script",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", metavar="PIPELINE|BUNDLE|NAME[:VERSION]",
                   help="a .pipeline.json file, or a .bundle.zip / registered model (adds score(df))")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write the script")
    p.add_argument("--check", action="store_true", help="then run the script with --check (same Python): it "
                   "asserts the designer's metrics (and, for a model, its predictions on the stored rows)")
    p.add_argument("--fresh", action="store_true", help="run the pipeline now even if the run store has a run "
                   "of the same pipeline")
    p.add_argument("--base", metavar="DIR", help="for a bundle file: the folder its pipeline file was in "
                   "(relative data paths start there)")
    p.add_argument("--store", metavar="PATH", help="run store (default: $PIPELINE_DESIGNER_STORE, else "
                   ".pipeline-designer/ beside the pipeline)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_export)
