"""Benchmark: a designer pipeline run headless versus the same work hand-written in pandas + scikit-learn.

    python bench/bench_pipeline.py                     # 1,000,000 rows, 3 repetitions (`make bench`)
    python bench/bench_pipeline.py --rows 20000 --repeat 1

The pipeline (bench/bench.pipeline.json, rebuilt from `build_pipeline` below) is
Load CSV -> Clean Missing (median, numeric columns except the target) -> Normalize (z-score, same
columns) -> Encode (one-hot) -> Split (0.8, seed 42) -> Boosted Trees regression (100 trees) -> Train
-> Score -> Evaluate, run through the core engine exactly as `pipeline-designer run` runs it
(`run_to_dir`, headless, intermediate tables released once consumed), only without writing the output
files. The hand-written script does the same work the way a data scientist would write it.

Each implementation runs in a fresh subprocess, so its peak RSS (getrusage, printed by the child) is its
own; the order alternates between repetitions, and medians are reported with the ratios
designer / hand-written against the targets (wall <= 1.05x, peak memory <= 1.3x). Both must give the
same metrics (exit status 1 otherwise; with --strict also when a target is missed).
`pipeline-designer --help` is timed too (target < 0.3 s).

The machine may be shared: the model fit (OpenMP threads) slows down a lot when other processes compete
for the cores, so repeat, compare medians, and look at the best-of times and `--threads 1` for steadier
numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PIPELINE_FILE = HERE / "bench.pipeline.json"
sys.path.insert(0, str(HERE))
if str(ROOT) not in sys.path:
    sys.path.insert(1, str(ROOT))

import make_data  # noqa: E402  (bench/make_data.py; light: imports numpy/pandas only when generating)

IMPLS = ("designer", "handwritten")
LABELS = {"designer": "designer", "handwritten": "hand-written"}
TARGET_WALL = 1.05
TARGET_RSS = 1.3
TARGET_HELP = 0.3
METRICS = ("mae", "rmse", "r2")
RESULT_TAG = "BENCH-RESULT "
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

# Hyperparameters shared by both implementations (the designer's Boosted Trees parameters by name).
N_TREES = 100
LEARNING_RATE = 0.1
MAX_LEAVES = 31
MIN_SAMPLES_LEAF = 20
SEED = 42
TRAIN_FRACTION = 0.8


# ------------------------------------------------------------------------------------------ the pipeline
def build_pipeline(data_path: str = f".data/{make_data.data_path(make_data.DEFAULT_ROWS).name}"):  # -> Pipeline
    """The benchmark pipeline; `data_path` is stored relative to bench/ (the pipeline file's folder)."""
    from designer.core.pipeline import Layout, Link, Node, Pipeline

    features = {"mode": "numeric", "exclude": [make_data.TARGET]}
    nodes = [
        Node(id="load", type="data.csv", title="Load benchmark CSV", params={"path": data_path}),
        Node(id="clean", type="clean.missing", title="Fill numbers (median)",
             params={"columns": features, "mode": "median"}),
        Node(id="normalize", type="clean.normalize", title="z-score", params={"columns": features,
                                                                              "method": "zscore"}),
        Node(id="encode", type="clean.encode", title="One-hot encode", params={"method": "onehot"}),
        Node(id="split", type="split.rows", title="Split 80/20",
             params={"fraction": TRAIN_FRACTION, "seed": SEED}),
        Node(id="learner", type="learn.boosted_regression", title="Boosted Trees",
             params={"n_trees": N_TREES, "learning_rate": LEARNING_RATE, "max_leaves": MAX_LEAVES,
                     "min_samples_leaf": MIN_SAMPLES_LEAF, "seed": SEED}),
        Node(id="train", type="learn.train", title="Train", params={"label": make_data.TARGET}),
        Node(id="score", type="score.model", title="Score test rows"),
        Node(id="evaluate", type="evaluate.model", title="Evaluate"),
    ]
    links = [Link.make(*a.split(".") + b.split(".")) for a, b in [
        ("load.data", "clean.data"), ("clean.data", "normalize.data"), ("normalize.data", "encode.data"),
        ("encode.data", "split.data"), ("split.train", "train.data"), ("learner.learner", "train.learner"),
        ("train.model", "score.model"), ("split.test", "score.data"), ("score.scored", "evaluate.scored")]]
    positions = {"load": (0, 0), "clean": (0, 120), "normalize": (0, 240), "encode": (0, 360),
                 "split": (0, 480), "learner": (-260, 480), "train": (-130, 600), "score": (0, 720),
                 "evaluate": (0, 840)}
    return Pipeline(
        name="Benchmark: boosted trees on 1M rows",
        description="The pipeline of bench/bench_pipeline.py, timed against the same work hand-written in "
                    "pandas + scikit-learn. Like that script it cleans all rows before the split (so "
                    "validation warns about leakage, on purpose). Data: bench/make_data.py.",
        nodes=nodes, links=links, layout=Layout(positions=positions))


def write_pipeline_file(path: Path = PIPELINE_FILE, build: Callable[[], Any] | None = None) -> Path:
    """Write `path` (bench.pipeline.json) when its content differs from `build()` (default `build_pipeline`;
    atomic save)."""
    from designer.core.pipeline import save_pipeline

    pipeline = (build or build_pipeline)()
    if not path.is_file() or path.read_text(encoding="utf-8") != pipeline.to_json_text():
        save_pipeline(pipeline, path)
    return path


def run_designer(data: Path, pipeline_file: Path = PIPELINE_FILE,
                 timings: dict[str, float] | None = None) -> dict[str, float]:
    """Run the pipeline file headless as `pipeline-designer run` does (without writing outputs).

    Returns the Evaluate metrics; `timings` (if given) receives the seconds of the model fit (the Train
    node: the fit plus its checks and feature matrix).
    """
    from designer.core.pipeline import load_pipeline
    from designer.core.runner import apply_overrides, run_to_dir

    pipeline = load_pipeline(pipeline_file)
    base = pipeline_file.resolve().parent
    data = Path(data).resolve()
    if data != (base / pipeline.node("load").params["path"]).resolve():
        try:
            value = data.relative_to(base).as_posix()
        except ValueError:
            value = str(data)
        pipeline = apply_overrides(pipeline, [f"load.path={value}"])
    run = run_to_dir(pipeline, base, None)
    if not run.result.ok:
        raise RuntimeError(f"the designer run failed: {run.result.errors}")
    if timings is not None:
        timings["fit"] = run.result.seconds["train"]
    return dict(run.metrics["evaluate"][0]["metrics"])


# ------------------------------------------------------------------------------------- the hand-written
def run_handwritten(data: Path, timings: dict[str, float] | None = None) -> dict[str, float]:
    """The same work as a data scientist would write it with pandas + scikit-learn.

    Returns the metrics; `timings` (if given) receives the seconds of the model fit.
    """
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
    y = df["target"].to_numpy()
    X = df.drop(columns="target")
    numeric = X.select_dtypes("number").columns
    categorical = X.columns.difference(numeric, sort=False)
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", OneHotEncoder(sparse_output=False), categorical),
    ])
    Xt = prep.fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(Xt, y, train_size=TRAIN_FRACTION, random_state=SEED)
    model = HistGradientBoostingRegressor(max_iter=N_TREES, learning_rate=LEARNING_RATE, max_leaf_nodes=MAX_LEAVES,
                                          min_samples_leaf=MIN_SAMPLES_LEAF, early_stopping=False,
                                          random_state=SEED)
    fit_start = time.perf_counter()
    model.fit(X_train, y_train)
    if timings is not None:
        timings["fit"] = time.perf_counter() - fit_start
    pred = model.predict(X_test)
    return {"mae": float(mean_absolute_error(y_test, pred)),
            "rmse": float(np.sqrt(mean_squared_error(y_test, pred))),
            "r2": float(r2_score(y_test, pred))}


RUNNERS = {"designer": run_designer, "handwritten": run_handwritten}


# ------------------------------------------------------------------------------------------ measuring
def child(impl: str, data: Path) -> int:
    """Run one implementation in this (fresh) process and print its timings, peak RSS and metrics."""
    import resource

    start = time.perf_counter()
    timings: dict[str, float] = {}
    metrics = RUNNERS[impl](data, timings=timings)
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(RESULT_TAG + json.dumps({"impl": impl, "seconds": seconds, "fit": timings["fit"],
                                   "cpu": usage.ru_utime + usage.ru_stime,
                                   "peak_mb": usage.ru_maxrss / 1024,  # ru_maxrss is in kilobytes on Linux
                                   "metrics": metrics}), flush=True)
    return 0


def spawn(impl: str, data: Path, threads: int | None = None) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", impl, "--data", str(data)]
    env = dict(os.environ)
    if threads:
        env.update({v: str(threads) for v in THREAD_VARS})
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{impl} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    line = next((l for l in proc.stdout.splitlines() if l.startswith(RESULT_TAG)), None)
    if line is None:
        raise SystemExit(f"{impl} printed no result:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return {**json.loads(line[len(RESULT_TAG):]), "wall": wall}


def help_command() -> list[str]:
    script = Path(sys.executable).parent / "pipeline-designer"
    return [str(script), "--help"] if script.is_file() else [sys.executable, "-m", "designer", "--help"]


def time_help(runs: int) -> tuple[float, list[float]]:
    cmd = help_command()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def same_metrics(a: dict[str, float], b: dict[str, float], rel: float = 1e-9) -> bool:
    return all(abs(a[k] - b[k]) <= rel * max(1.0, abs(a[k]), abs(b[k])) for k in METRICS)


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=make_data.DEFAULT_ROWS,
                        help="rows of generated data (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each implementation (default 3)")
    parser.add_argument("--threads", type=int, default=None,
                        help="OpenMP/BLAS threads of both implementations (default: the libraries' own "
                             "choice); 1 gives steadier numbers on a busy machine")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")
    parser.add_argument("--help-runs", type=int, default=7, help="timed runs of `pipeline-designer --help`")
    parser.add_argument("--child", choices=IMPLS, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.data)
    if args.rows < 100 or args.repeat < 1:
        parser.error("--rows must be at least 100 and --repeat at least 1")

    data = make_data.ensure_data(args.rows)
    write_pipeline_file()
    size_mb = data.stat().st_size / 2**20
    print(f"data: {data.relative_to(ROOT) if data.is_relative_to(ROOT) else data} "
          f"({args.rows:,} rows, {size_mb:.0f} MB); pipeline: {PIPELINE_FILE.relative_to(ROOT)}")
    threads = f"{args.threads} thread(s)" if args.threads else "default threads"
    print(f"{args.repeat} repetition(s), order alternating, each run in a fresh process; "
          f"{os.cpu_count()} cpus, {threads}")
    runs: dict[str, list[dict[str, Any]]] = {impl: [] for impl in IMPLS}
    for rep in range(args.repeat):
        order = IMPLS if rep % 2 == 0 else IMPLS[::-1]
        for impl in order:
            r = spawn(impl, data, args.threads)
            runs[impl].append(r)
            print(f"  rep {rep + 1} {LABELS[impl]:<12} wall {r['wall']:7.2f} s  (work {r['seconds']:7.2f} s, "
                  f"fit {r['fit']:7.2f} s, cpu {r['cpu']:7.2f} s)  peak RSS {r['peak_mb']:7.1f} MB", flush=True)

    keys = ("wall", "seconds", "fit", "cpu", "peak_mb")
    med = {impl: {k: statistics.median(r[k] for r in runs[impl]) for k in keys} for impl in IMPLS}
    d, h = med["designer"], med["handwritten"]
    wall_ratio = d["wall"] / h["wall"]
    work_ratio = d["seconds"] / h["seconds"]
    rest = {impl: statistics.median(r["seconds"] - r["fit"] for r in runs[impl]) for impl in IMPLS}
    fit_ratio = d["fit"] / h["fit"]
    rest_ratio = rest["designer"] / rest["handwritten"]
    cpu_ratio = d["cpu"] / h["cpu"]
    rss_ratio = d["peak_mb"] / h["peak_mb"]
    print()
    print(f"medians over {args.repeat} repetition(s), {args.rows:,} rows:")
    print(f"  {'':<26}{'designer':>10}{'hand-written':>14}{'ratio':>8}   target")
    print(f"  {'wall time, process (s)':<26}{d['wall']:>10.2f}{h['wall']:>14.2f}{wall_ratio:>8.3f}   "
          f"<= {TARGET_WALL}x  {verdict(wall_ratio <= TARGET_WALL)}")
    print(f"  {'  of which the work (s)':<26}{d['seconds']:>10.2f}{h['seconds']:>14.2f}{work_ratio:>8.3f}")
    print(f"  {'    model fit (s)':<26}{d['fit']:>10.2f}{h['fit']:>14.2f}{fit_ratio:>8.3f}")
    print(f"  {'    all but the fit (s)':<26}{rest['designer']:>10.2f}{rest['handwritten']:>14.2f}"
          f"{rest_ratio:>8.3f}")
    best = {impl: min(r["wall"] for r in runs[impl]) for impl in IMPLS}
    print(f"  {'best wall time (s)':<26}{best['designer']:>10.2f}{best['handwritten']:>14.2f}"
          f"{best['designer'] / best['handwritten']:>8.3f}   (least disturbed by other load)")
    print(f"  {'cpu time, all threads (s)':<26}{d['cpu']:>10.2f}{h['cpu']:>14.2f}{cpu_ratio:>8.3f}")
    print(f"  {'peak RSS (MB)':<26}{d['peak_mb']:>10.1f}{h['peak_mb']:>14.1f}{rss_ratio:>8.3f}   "
          f"<= {TARGET_RSS}x  {verdict(rss_ratio <= TARGET_RSS)}")

    print("metrics (test rows):")
    dm, hm = runs["designer"][0]["metrics"], runs["handwritten"][0]["metrics"]
    for k in METRICS:
        print(f"  {k:<6} designer {dm[k]:.12g}   hand-written {hm[k]:.12g}")
    all_metrics = [r["metrics"] for impl in IMPLS for r in runs[impl]]
    equal = all(same_metrics(all_metrics[0], m) for m in all_metrics)
    print(f"  same metrics in every run: {'yes' if equal else 'NO'}")

    help_median, help_times = time_help(args.help_runs)
    print(f"`{' '.join(Path(c).name if i == 0 else c for i, c in enumerate(help_command()))}`: median "
          f"{help_median:.3f} s over {len(help_times)} runs (target < {TARGET_HELP} s)  "
          f"{verdict(help_median < TARGET_HELP)}")
    missed = wall_ratio > TARGET_WALL or rss_ratio > TARGET_RSS or help_median >= TARGET_HELP
    return 1 if not equal or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
