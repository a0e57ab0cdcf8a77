"""Benchmark W1 through the real command: `pipeline-designer run` versus the same work hand-written.

    python bench/bench_run_w1.py                     # 1,000,000 rows, 3 repetitions of each
    python bench/bench_run_w1.py --rows 20000 --repeat 1

W1 (bench/w1.pipeline.json, rebuilt from `build_pipeline` below): Load CSV -> Split 80/20 (seed 42) -> on
the training rows: Clean Missing (median) -> Normalize (z-score) -> Encode (one-hot) -> Boosted Trees
regression (100 trees) -> Train; Score Model on the raw test rows (the cleaning fitted on the training rows
is replayed) -> Evaluate. Unlike bench/bench_pipeline.py (the engine alone, cleaning before the split), this
times the real command as a user runs it, `python -m designer run` (what the `pipeline-designer` script
runs) in a fresh process: the outputs (scored table, bundle, report.json, metrics.json) and the run record
in the run store included. The hand-written script does the
same work with pandas + scikit-learn in a fresh process and prints the metrics.

Runs alternate (designer, hand-written, hand-written, designer, ...); medians and best-of are printed with
the ratios designer / hand-written against the targets (wall <= 1.05x, peak memory <= 1.3x), and the load
average of the machine before and after (the machine may be shared: a busy machine makes every figure noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PIPELINE_FILE = HERE / "w1.pipeline.json"
sys.path.insert(0, str(HERE))
if str(ROOT) not in sys.path:
    sys.path.insert(1, str(ROOT))

import bench_pipeline as base  # noqa: E402  (shared hyperparameters, data and measuring helpers)
import make_data  # noqa: E402
from measure import measure as _measure  # noqa: E402

TARGET_WALL = 1.05
TARGET_RSS = 1.3
IMPLS = ("designer", "handwritten")


def build_pipeline(data_path: str = f".data/{make_data.data_path(make_data.DEFAULT_ROWS).name}"):  # -> Pipeline
    """W1; `data_path` is stored relative to bench/ (the pipeline file's folder)."""
    from designer.core.pipeline import Layout, Link, Node, Pipeline

    features = {"mode": "numeric", "exclude": [make_data.TARGET]}
    nodes = [
        Node(id="load", type="data.csv", title="Load benchmark CSV", params={"path": data_path}),
        Node(id="split", type="split.rows", title="Split 80/20",
             params={"fraction": base.TRAIN_FRACTION, "seed": base.SEED}),
        Node(id="clean", type="clean.missing", title="Fill numbers (median)",
             params={"columns": features, "mode": "median"}),
        Node(id="normalize", type="clean.normalize", title="z-score", params={"columns": features,
                                                                              "method": "zscore"}),
        Node(id="encode", type="clean.encode", title="One-hot encode", params={"method": "onehot"}),
        Node(id="learner", type="learn.boosted_regression", title="Boosted Trees",
             params={"n_trees": base.N_TREES, "learning_rate": base.LEARNING_RATE, "max_leaves": base.MAX_LEAVES,
                     "min_samples_leaf": base.MIN_SAMPLES_LEAF, "seed": base.SEED}),
        Node(id="train", type="learn.train", title="Train", params={"label": make_data.TARGET}),
        Node(id="score", type="score.model", title="Score raw test rows"),
        Node(id="evaluate", type="evaluate.model", title="Evaluate"),
    ]
    links = [Link.make(*a.split(".") + b.split(".")) for a, b in [
        ("load.data", "split.data"), ("split.train", "clean.data"), ("clean.data", "normalize.data"),
        ("normalize.data", "encode.data"), ("encode.data", "train.data"), ("learner.learner", "train.learner"),
        ("train.model", "score.model"), ("split.test", "score.data"), ("score.scored", "evaluate.scored")]]
    positions = {"load": (0, 0), "split": (0, 120), "clean": (-130, 240), "normalize": (-130, 360),
                 "encode": (-130, 480), "learner": (-390, 480), "train": (-260, 600), "score": (0, 720),
                 "evaluate": (0, 840)}
    return Pipeline(
        name="W1: split, clean on the training rows, boosted trees, score the raw test rows",
        description="Benchmark W1 of bench/bench_run_w1.py: the split comes first, the cleaning is fitted on "
                    "the training rows and replayed on the raw test rows by Score Model. Data: "
                    "bench/make_data.py.",
        nodes=nodes, links=links, layout=Layout(positions=positions))


def write_pipeline_file() -> Path:
    """Write w1.pipeline.json when its content differs from `build_pipeline()`."""
    return base.write_pipeline_file(PIPELINE_FILE, build_pipeline)


def run_handwritten(data: Path) -> dict[str, float]:
    """W1 as a data scientist writes it: split first, the preprocessing fitted on the training rows."""
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    df = pd.read_csv(data)
    train, test = train_test_split(df, train_size=base.TRAIN_FRACTION, random_state=base.SEED)
    X_train, y_train = train.drop(columns=make_data.TARGET), train[make_data.TARGET].to_numpy()
    X_test, y_test = test.drop(columns=make_data.TARGET), test[make_data.TARGET].to_numpy()
    numeric = X_train.select_dtypes("number").columns
    categorical = X_train.columns.difference(numeric, sort=False)
    model = make_pipeline(
        ColumnTransformer([("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
                           ("cat", OneHotEncoder(sparse_output=False), categorical)]),
        HistGradientBoostingRegressor(max_iter=base.N_TREES, learning_rate=base.LEARNING_RATE,
                                      max_leaf_nodes=base.MAX_LEAVES, min_samples_leaf=base.MIN_SAMPLES_LEAF,
                                      early_stopping=False, random_state=base.SEED))
    model.fit(X_train, y_train)
    pred = model.predict(X_test)
    return {"mae": float(mean_absolute_error(y_test, pred)),
            "rmse": float(np.sqrt(mean_squared_error(y_test, pred))), "r2": float(r2_score(y_test, pred))}


def run_designer_inprocess(data: Path, out: Path) -> dict[str, float]:
    """W1 through `pipeline-designer run` in this process (for the equivalence test)."""
    from designer.cli import main

    rc = main(["run", str(write_data_pipeline(data, out)), "--out", str(out / "run"), "--json"])
    if rc != 0:
        raise RuntimeError(f"pipeline-designer run exited {rc}")
    return json.loads((out / "run" / "metrics.json").read_text())["metrics"]["evaluate"][0]["metrics"]


def write_data_pipeline(data: Path, folder: Path) -> Path:
    """W1 reading `data`, saved in `folder` (a path relative to bench/ keeps the committed file)."""
    from designer.core.pipeline import save_pipeline

    data = Path(data).resolve()
    if data == make_data.data_path(make_data.DEFAULT_ROWS).resolve():
        return write_pipeline_file()
    path = Path(folder) / "w1.pipeline.json"
    save_pipeline(build_pipeline(str(data)), path)
    return path


# ------------------------------------------------------------------------------------------ measuring
def measure(cmd: list[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    """Wall time, CPU time and the process's own peak RSS (bench/measure.py)."""
    return _measure(cmd, log, env=env, cwd=ROOT)


def spawn(impl: str, data: Path, pipeline: Path, work: Path, threads: int | None) -> dict[str, Any]:
    """One run in a fresh process: the designer as `python -m designer run ...` (what the `pipeline-designer`
    script runs), the hand-written script as this file's `--child handwritten`."""
    env = dict(os.environ)
    if threads:
        env.update({v: str(threads) for v in base.THREAD_VARS})
    if impl == "designer":
        out = work / "out"
        shutil.rmtree(out, ignore_errors=True)
        # a new run store each time: a first run, computing every node and saving its results (a store kept
        # between repetitions would hand the later ones every node's saved results)
        shutil.rmtree(work / "store", ignore_errors=True)
        cmd = [sys.executable, "-m", "designer", "run", str(pipeline), "--out", str(out),
               "--store", str(work / "store")]
        r = measure(cmd, env, work / "designer.log")
        metrics = json.loads((out / "metrics.json").read_text())["metrics"]["evaluate"][0]["metrics"]
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", impl, "--data", str(data)]
        r = measure(cmd, env, work / "handwritten.log")
        line = next(l for l in r["stdout"].splitlines() if l.startswith(base.RESULT_TAG))
        metrics = json.loads(line[len(base.RESULT_TAG):])
    return {**r, "metrics": metrics}


def child(args: argparse.Namespace) -> int:
    print(base.RESULT_TAG + json.dumps(run_handwritten(args.data)), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=make_data.DEFAULT_ROWS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="OpenMP/BLAS threads of both (default: theirs)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--child", choices=("handwritten",), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)

    data = make_data.data_path(args.rows)
    if not data.is_file():  # made in a child process: this one stays small while it measures
        subprocess.run([sys.executable, str(HERE / "make_data.py"), "--rows", str(args.rows)], check=True)
    work = Path(tempfile.mkdtemp(prefix="bench-w1-"))
    try:
        pipeline = write_data_pipeline(data, work)
        load_before = os.getloadavg()
        print(f"data: {data.name} ({args.rows:,} rows, {data.stat().st_size / 2**20:.0f} MB); pipeline: "
              f"{pipeline.name}; {args.repeat} repetition(s) each, alternating, fresh processes; "
              f"{os.cpu_count()} cpus; load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
        runs: dict[str, list[dict[str, Any]]] = {i: [] for i in IMPLS}
        for rep in range(args.repeat):
            for impl in (IMPLS if rep % 2 == 0 else IMPLS[::-1]):
                r = spawn(impl, data, pipeline, work, args.threads)
                runs[impl].append(r)
                print(f"  rep {rep + 1} {impl:<12} wall {r['wall']:7.2f} s  cpu {r['cpu']:7.2f} s  "
                      f"peak RSS {r['peak_mb']:7.1f} MB  load {os.getloadavg()[0]:.2f}", flush=True)
        outputs = sorted(p.name for p in (work / "out").iterdir())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {i: {k: statistics.median(r[k] for r in runs[i]) for k in ("wall", "cpu", "peak_mb")} for i in IMPLS}
    best = {i: min(r["wall"] for r in runs[i]) for i in IMPLS}
    d, h = med["designer"], med["handwritten"]
    wall, rss = d["wall"] / h["wall"], d["peak_mb"] / h["peak_mb"]
    print(f"\nmedians over {args.repeat} repetition(s):{'':<6}designer  hand-written   ratio   target")
    print(f"  wall time (s){'':<26}{d['wall']:>8.2f}{h['wall']:>14.2f}{wall:>8.3f}   <= {TARGET_WALL}x  "
          f"{base.verdict(wall <= TARGET_WALL)}")
    print(f"  best wall time (s){'':<21}{best['designer']:>8.2f}{best['handwritten']:>14.2f}"
          f"{best['designer'] / best['handwritten']:>8.3f}")
    print(f"  cpu time (s){'':<27}{d['cpu']:>8.2f}{h['cpu']:>14.2f}{d['cpu'] / h['cpu']:>8.3f}")
    print(f"  peak RSS (MB){'':<26}{d['peak_mb']:>8.1f}{h['peak_mb']:>14.1f}{rss:>8.3f}   <= {TARGET_RSS}x  "
          f"{base.verdict(rss <= TARGET_RSS)}")
    print(f"  designer outputs: {', '.join(outputs)}")
    dm, hm = runs["designer"][0]["metrics"], runs["handwritten"][0]["metrics"]
    equal = all(base.same_metrics(dm, r["metrics"]) and base.same_metrics(hm, r["metrics"])
                for i in IMPLS for r in runs[i])
    print("metrics: " + ", ".join(f"{k} {dm[k]:.10g} / {hm[k]:.10g}" for k in base.METRICS)
          + f"; same in every run: {'yes' if equal else 'NO'}")
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 1 if not equal or (args.strict and (wall > TARGET_WALL or rss > TARGET_RSS)) else 0


if __name__ == "__main__":
    sys.exit(main())
