"""`pipeline-designer drift` (live data against the bundle's reference profile) and `pipeline-designer capture
join` (captured predictions joined with the actual outcomes, measured with the Evaluate metrics).

Exit status: 0 success, 2 bad input, 3 drift found with --fail-on-drift.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from designer.core.drift import Thresholds

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_DRIFT = 0, 1, 2, 3


def _store_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", metavar="PATH", help="run store holding registered models and captures (default: "
                   "$PIPELINE_DESIGNER_STORE, else .pipeline-designer/ of this folder or its nearest parent)")


def add_threshold_options(p: argparse.ArgumentParser) -> None:
    """--effect, --p and --min-rows: when a column counts as drifting (designer.core.drift.Thresholds)."""
    p.add_argument("--effect", type=float, default=0.1, help="smallest effect that counts as drift (default 0.1)")
    p.add_argument("--p", type=float, default=0.01, help="significance level (default 0.01)")
    p.add_argument("--min-rows", type=int, default=50, metavar="N",
                   help="fewer rows than this: 'not enough rows' (default 50)")


def thresholds_of(args: argparse.Namespace) -> "Thresholds":
    """The Thresholds of --effect/--p/--min-rows (BadInput when out of range)."""
    from designer.core.drift import Thresholds
    from designer.core.errors import BadInput

    if not 0 < args.p < 1 or args.effect < 0 or args.min_rows < 1:
        raise BadInput("thresholds: --p must be in (0, 1), --effect >= 0, --min-rows >= 1")
    return Thresholds(effect=args.effect, p=args.p, min_rows=args.min_rows)


def _captures(ref: str, store_option: str | None) -> tuple[Path, str, Path | None]:
    """(bundle, 'name:version', capture folder or None) of a registered model or a bundle file."""
    from designer.cli_serve import served_model
    from designer.core.serve.capture import capture_folder

    bundle, name, version, store = served_model(ref, store_option)
    folder = capture_folder(store or Path(".pipeline-designer").resolve(), name, version) if name else None
    return bundle, f"{name}:{version}", folder


def cmd_drift(args: argparse.Namespace) -> int:
    from designer.cli import read_table
    from designer.core.bundle import load_bundle, read_reference
    from designer.core.drift_report import (drift_report, drifting, html_report, parse_duration, parse_since,
                                            text_report)
    from designer.core.errors import BadInput
    from designer.core.pipeline import atomic_write_text

    if args.since and args.data:
        raise BadInput("give --since (captured rows) or --data FILE, not both")
    thresholds = thresholds_of(args)
    window = None if args.window in ("none", "0") else parse_duration(args.window)
    since = parse_since(args.since) if args.since else None
    bundle, name, folder = _captures(args.model, args.store)
    if args.data:  # the file's rows are scored with the model
        model, _, _ = load_bundle(bundle)
        report = drift_report(model.reference, model_name=name, thresholds=thresholds, data=read_table(args.data),
                              data_name=args.data, model=model)
    else:  # captured rows carry their predictions: the profile alone will do (no scikit-learn to load)
        report = drift_report(read_reference(bundle), model_name=name, thresholds=thresholds, captures=folder,
                              since=since, window=window)
    if args.html:
        atomic_write_text(args.html, html_report(report))
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(text_report(report))
        if args.html:
            print(f"wrote {args.html}")
    return EXIT_DRIFT if args.fail_on_drift and drifting(report) else EXIT_OK


def cmd_capture_join(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from designer.cli import read_table
    from designer.core.bundle import load_bundle
    from designer.core.errors import BadInput
    from designer.core.metrics import classification_metrics, regression_metrics
    from designer.core.serve.capture import read_captures

    bundle, name, folder = _captures(args.model, args.store)
    model, manifest, warnings = load_bundle(bundle)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if model.task == "clustering":
        raise BadInput(f"{name} is a clustering model: there are no actual outcomes to compare with")
    label = args.label or model.label
    keys = [k.strip() for part in (args.on or ["request_id"]) for k in part.split(",") if k.strip()]
    actuals = read_table(args.actuals)
    for k in keys + [label]:
        if k not in actuals.columns:
            raise BadInput(f"the actuals file has no column '{k}' (it has {', '.join(map(str, actuals.columns))})",
                           file=args.actuals, column=k)
    table = read_captures(folder) if folder is not None else None
    if table is None or table.num_rows == 0:
        raise BadInput(f"no captured rows for {name} in {folder}; serve with --capture (or score --capture) first")
    captured = table.to_pandas()
    captured = captured[captured["status"] == 200]
    for k in keys:
        if k not in captured.columns and f"input:{k}" in captured.columns:
            captured[k] = captured[f"input:{k}"]
        if k not in captured.columns:
            raise BadInput(f"the captures have no column '{k}' to join on (request_id, row or an input column)",
                           column=k)
    if "row" in actuals.columns and "row" not in keys and keys == ["request_id"]:
        keys = ["request_id", "row"]  # requests of several rows: each row has its own outcome
    if actuals.duplicated(keys).any():
        dup = actuals[actuals.duplicated(keys)].iloc[0]
        raise BadInput(f"the actuals file has two rows for {', '.join(f'{k}={dup[k]!r}' for k in keys)}; "
                       "join on keys that name one row each (add 'row' for requests of several rows)",
                       file=args.actuals)
    for k in keys:
        captured[k] = captured[k].astype(str)
        actuals[k] = actuals[k].astype(str)
    joined = captured.merge(actuals[keys + [label]].rename(columns={label: "__actual"}), on=keys, how="inner")
    joined = joined[joined["__actual"].notna()]
    if joined.empty:
        raise BadInput(f"no captured row matches a row of {args.actuals} on {', '.join(keys)}", file=args.actuals)
    y = joined["__actual"].to_numpy()
    pred = joined["prediction"].to_numpy()
    if model.task == "regression":
        metrics: dict[str, Any] = regression_metrics(pd.to_numeric(pd.Series(y), errors="coerce").to_numpy(float),
                                                     pred.astype(float))
    else:
        classes = [str(c) for c in getattr(model.estimator, "classes_", [])]
        y = np.array([str(v) for v in y], dtype=object)
        pred = np.array([str(v) for v in pred], dtype=object)
        cols = [f"probability_{c}" for c in getattr(model.estimator, "classes_", [])]
        proba = joined[cols].to_numpy(float) if all(c in joined.columns for c in cols) else None
        metrics, _ = classification_metrics(y, pred, proba, classes)
    out = {"model": name, "joined_rows": int(len(joined)), "captured_rows": int(len(captured)),
           "actual_rows": int(len(actuals)), "on": keys, "metrics": metrics,
           "training_metrics": manifest.get("metrics") or {},
           "first": str(joined["time"].min()), "last": str(joined["time"].max())}
    if args.json:
        print(json.dumps(out, indent=2, default=str))
        return EXIT_OK
    print(f"{name}: {out['joined_rows']:,} captured rows joined with {args.actuals} on {', '.join(keys)} "
          f"({out['captured_rows']:,} scored rows captured, {out['actual_rows']:,} actual outcomes), "
          f"{out['first']} to {out['last']}")
    training: Any = out["training_metrics"] or {}
    trained: dict[str, Any] = next(iter(training.values()), {})
    print(f"  {'metric':<26} {'live':>12} {'at training':>12}")
    for k, v in metrics.items():
        print(f"  {k:<26} {v:>12.6g} {trained.get(k, float('nan')):>12.6g}")
    return EXIT_OK


def add_monitor_commands(sub: Any) -> None:
    """Register `drift` and `capture` on the main parser's subparsers."""
    p = sub.add_parser(
        "drift", help="compare live data (captures, or a file) with the model's training data; per column and "
                      "per day",
        description="New data against the reference profile stored in the bundle (the raw input columns of the "
                    "training rows and the predictions). Drift = effect >= --effect AND Bonferroni-adjusted "
                    "p < --p, with at least --min-rows rows.",
        epilog="Exit status: 0 success, 2 bad input (no profile, no data), 3 drift found with --fail-on-drift.")
    p.add_argument("model", metavar="NAME[:VERSION]|BUNDLE", help="registered model or bundle file")
    p.add_argument("--since", metavar="WHEN", help="captured rows from then on: a duration back (7d, 12h) or a date")
    p.add_argument("--data", metavar="FILE", help="compare this CSV or Parquet file instead of the captures")
    p.add_argument("--window", default="1d", metavar="DURATION", help="trend window (default 1d; 'none': no trend)")
    add_threshold_options(p)
    p.add_argument("--json", action="store_true", help="the whole report as JSON")
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page")
    p.add_argument("--fail-on-drift", action="store_true", help="exit 3 when the data or the predictions drift")
    _store_option(p)
    p.set_defaults(func=cmd_drift)

    c = sub.add_parser("capture", help="captured traffic: join with actual outcomes")
    csub = c.add_subparsers(dest="capture_command", metavar="COMMAND", required=True)
    p = csub.add_parser("join", help="evaluate a model on live data: its captured predictions joined with actuals",
                        epilog="Exit status: 0 success, 2 bad input.")
    p.add_argument("model", metavar="NAME[:VERSION]|BUNDLE", help="registered model or bundle file")
    p.add_argument("actuals", help="CSV or Parquet file with the join keys and the true outcome")
    p.add_argument("--on", action="append", default=None, metavar="COLUMN",
                   help="join key(s) (default request_id; 'row' is added when the file has it)")
    p.add_argument("--label", metavar="COLUMN", help="the column of true outcomes (default: the model's label)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _store_option(p)
    p.set_defaults(func=cmd_capture_join)

