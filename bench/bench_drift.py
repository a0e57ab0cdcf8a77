"""Benchmark: `pipeline-designer drift` over a million captured rows of twenty columns.

    python bench/bench_drift.py                  # 1,000,000 rows x 20 columns over 7 days
    python bench/bench_drift.py --rows 200000

A model is trained on 20,000 synthetic rows (10 number columns, 10 text columns, a few missing values) with
the real `run` command and registered; then captures are written as `serve --capture` writes them (hourly
Parquet partitions, one day with drift in two columns), and `pipeline-designer drift NAME:1 --json` runs in a
subprocess. Its wall time and peak memory (the child's own rusage) are printed against the targets (<= 10 s,
<= 500 MB), and against a hand-written pandas + scipy script doing less (KS and chi-square per column on
all rows, no trend) against the raw training rows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

NUM, CAT = 10, 10
TRAIN_ROWS = 20_000
DAYS = 7
TARGET_S, TARGET_MB = 10.0, 500.0

HANDWRITTEN = r'''
import sys, time, numpy as np, pandas as pd, pyarrow.dataset as ds
from scipy.stats import ks_2samp, chi2_contingency
t = time.perf_counter()
train = pd.read_csv(sys.argv[1])
frame = ds.dataset(sys.argv[2], format="parquet").to_table().to_pandas()
out = {}
for c in train.columns:
    if c == "y":
        continue
    cur = frame["input:" + c]
    if c.startswith("n"):
        out[c] = ks_2samp(train[c].dropna(), cur.dropna()).pvalue
    else:
        a, b = train[c].fillna("(missing)").value_counts(), cur.fillna("(missing)").value_counts()
        keys = sorted(set(a.index) | set(b.index))
        out[c] = chi2_contingency([[a.get(k, 0) for k in keys], [b.get(k, 0) for k in keys]])[1]
print(len(out), time.perf_counter() - t)
'''


def synthetic(rows: int, seed: int, shift: bool = False):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    data = {}
    for i in range(NUM):
        col = rng.normal(10 * i, 1 + i, rows)
        if shift and i == 0:
            col = col + 0.5
        col[rng.random(rows) < 0.02] = np.nan
        data[f"n{i}"] = col
    letters = np.array(list("abcdefgh"))
    for i in range(CAT):
        p = np.linspace(1, 2, len(letters))
        p = p / p.sum()
        if shift and i == 0:
            p = np.roll(p, 3)
        col = letters[rng.choice(len(letters), rows, p=p)].astype(object)
        col[rng.random(rows) < 0.02] = None
        data[f"c{i}"] = col
    frame = pd.DataFrame(data)
    frame["y"] = sum(np.nan_to_num(frame[f"n{i}"]) for i in range(NUM)) + rng.normal(0, 1, rows)
    return frame


PIPELINE = {"format": "pipeline-designer", "version": 2, "name": "drift bench", "nodes": [
    {"id": "data", "type": "data.csv", "params": {"path": "train.csv"}},
    {"id": "split", "type": "split.rows", "params": {"fraction": 0.8, "seed": 1}},
    {"id": "fill", "type": "clean.missing",
     "params": {"columns": {"mode": "numeric", "exclude": ["y"]}, "mode": "median"}},
    {"id": "fill_text", "type": "clean.missing",
     "params": {"columns": {"mode": "categorical"}, "mode": "most_frequent"}},
    {"id": "encode", "type": "clean.encode", "params": {"method": "onehot", "unseen": "ignore"}},
    {"id": "learner", "type": "learn.linear_regression", "params": {}},
    {"id": "train", "type": "learn.train", "params": {"label": "y"}},
    {"id": "score", "type": "score.model", "params": {}}],
    "links": [{"from": "data.data", "to": "split.data"}, {"from": "split.train", "to": "fill.data"},
              {"from": "fill.data", "to": "fill_text.data"}, {"from": "fill_text.data", "to": "encode.data"},
              {"from": "encode.data", "to": "train.data"}, {"from": "learner.learner", "to": "train.learner"},
              {"from": "train.model", "to": "score.model"}, {"from": "split.test", "to": "score.data"}]}


def cli(args: list[str], env: dict[str, str], cwd: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "designer", *args], env=env, cwd=cwd, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"{' '.join(args)} failed: {r.stderr}")


def write_captures(folder: Path, rows: int) -> None:
    """`rows` capture rows over DAYS days in hourly partitions, drift on the last day (n0 mean, c0 shares)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from designer.core.serve.capture import arrow_schema

    inputs = [(f"n{i}", "numeric") for i in range(NUM)] + [(f"c{i}", "categorical") for i in range(CAT)]
    schema = arrow_schema(inputs, {"prediction": "number"})
    hours = DAYS * 24
    per_hour = rows // hours
    start = (int(time.time()) // 86400 - DAYS) * 86400
    for h in range(hours):
        n = per_hour + (rows - per_hour * hours if h == hours - 1 else 0)
        frame = synthetic(n, 1000 + h, shift=h >= (DAYS - 1) * 24)
        stamp = start + h * 3600
        cols = {"request_id": pa.array([f"r{h}-{k}" for k in range(n)]),
                "row": pa.array(np.ones(n, np.int32)),
                "time": pa.array(np.full(n, stamp * 1_000_000 + 1, np.int64)).cast(pa.timestamp("us", tz="UTC")),
                "latency_ms": pa.array(np.full(n, 2.0)), "status": pa.array(np.full(n, 200, np.int16)),
                "error": pa.nulls(n, pa.string()), "raw": pa.nulls(n, pa.string())}
        for name, kind in inputs:
            cols[f"input:{name}"] = pa.array(frame[name].to_numpy(), from_pandas=True,
                                             type=pa.float64() if kind == "numeric" else pa.string())
        cols["prediction"] = pa.array(frame["y"].to_numpy())
        day = time.strftime("%Y-%m-%d", time.gmtime(stamp))
        part = folder / f"date={day}" / f"hour={time.strftime('%H', time.gmtime(stamp))}"
        part.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(cols, schema=schema), part / f"part-{h:04d}.parquet", compression="zstd")


def measured(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str, float]:
    """(seconds, peak MB of that process alone (its own rusage), stdout, CPU seconds)."""
    import threading

    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out: list[str] = []
    err: list[str] = []
    readers = [threading.Thread(target=lambda: out.append(proc.stdout.read())),  # type: ignore[union-attr]
               threading.Thread(target=lambda: err.append(proc.stderr.read()))]  # type: ignore[union-attr]
    for r in readers:
        r.start()
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - t
    for r in readers:
        r.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {''.join(err)}")
    return took, usage.ru_maxrss / 1024.0, "".join(out), usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               "PIPELINE_DESIGNER_STORE": str(work / "store")}
        synthetic(TRAIN_ROWS, 1).to_csv(work / "train.csv", index=False)
        (work / "bench.pipeline.json").write_text(json.dumps(PIPELINE))
        cli(["run", "bench.pipeline.json", "--out", "out"], env, work)
        cli(["models", "register", "latest", "train", "--name", "bench"], env, work)
        folder = work / "store" / "captures" / "bench" / "1"
        t = time.perf_counter()
        write_captures(folder, args.rows)
        size = sum(p.stat().st_size for p in folder.rglob("*.parquet")) / 1e6
        print(f"wrote {args.rows:,} capture rows x {NUM + CAT} columns ({size:.0f} MB Parquet, {DAYS * 24} files) in "
              f"{time.perf_counter() - t:.1f} s")
        took, peak, out, cpu = measured([sys.executable, "-m", "designer", "drift", "bench:1", "--json"], env, work)
        report = json.loads(out)
        drifted = report["drifted_columns"]
        last = report["trend"]["windows"][-1]
        print(f"drift: {took:.2f} s ({cpu:.2f} s of CPU), peak {peak:.0f} MB; {report['source']['rows']:,} rows; "
              f"data {report['verdict']} "
              f"({', '.join(drifted) or '-'}); {len(report['trend']['windows'])} daily windows, last day "
              f"{last['verdict']} ({', '.join(n for n, c in last['columns'].items() if c['verdict'] == 'drift')})")
        (work / "hand.py").write_text(HANDWRITTEN)
        base, base_peak, _, base_cpu = measured([sys.executable, "hand.py", "train.csv", str(folder)], env, work)
        print(f"hand-written pandas + scipy (KS / chi-square per column, all rows, no trend): {base:.2f} s "
              f"({base_cpu:.2f} s of CPU), peak {base_peak:.0f} MB")
        print(f"ratio drift / hand-written: {took / base:.2f}x wall, {peak / base_peak:.2f}x peak memory")
    ok_time, ok_mem = took <= TARGET_S, peak <= TARGET_MB
    print(f"targets: {'ok  ' if ok_time else 'MISS'} time <= {TARGET_S:g} s ({took:.2f}); "
          f"{'ok  ' if ok_mem else 'MISS'} peak <= {TARGET_MB:g} MB ({peak:.0f})")
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 1 if args.strict and not (ok_time and ok_mem) else 0


if __name__ == "__main__":
    sys.exit(main())
