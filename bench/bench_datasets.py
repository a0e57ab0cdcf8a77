"""Benchmark: registering and loading a versioned data set versus reading the CSV with pandas.

    python bench/bench_datasets.py                     # 1,000,000 rows (bench/make_data.py), 3 repetitions
    python bench/bench_datasets.py --rows 20000 --repeat 1

Everything runs through the real command line, each timing in a fresh subprocess (interpreter start and
imports included on both sides), repetitions alternating, medians reported:

- register: `pipeline-designer data register FILE --name bench` into an empty store (a first registration:
  read, Parquet snapshot, profile, record) versus the hand-written `pandas.read_csv(FILE)`; target < 1.5x.
- again:    registering the same file once more (content already stored: no new version, no second copy).
- load:     `pipeline-designer run` of a one-node pipeline, Load Data Set (the registered version) versus
            Load CSV (the original file); target: loading the version is at least as fast (<= 1.0x).

The same operations are also timed alone (after their imports, in a fresh process each), to show what
the commands' fixed costs (interpreter, imports, the run's validation and record) hide.

The machine may be shared, so compare medians and look at the best-of times too.
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
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import make_data  # noqa: E402

TARGET_REGISTER = 1.5
TARGET_LOAD = 1.0
PY = sys.executable
RESULT = "BENCH-SECONDS "

# The same work timed inside a fresh process after its imports (what the commands above pay for imports
# and interpreter start is then left out); each prints the seconds of the operation alone.
OPERATIONS = {
    "op_pandas": "import pandas as pd\nt = now()\npd.read_csv(DATA)",
    "op_register": ("import shutil\nfrom designer.core.datasets import register_path\nfrom designer.core.store import "
                    "RunStore\nshutil.rmtree(STORE + '-op', ignore_errors=True)\ns = RunStore.open(STORE + '-op')\n"
                    "t = now()\nregister_path(s, DATA, 'bench')"),
    "op_load_csv": ("from pathlib import Path\nfrom nodes.data import LoadCsv, LoadCsvParams\nfrom designer.core.node "
                    "import RunContext\nt = now()\n"
                    "LoadCsv().run(LoadCsvParams(path=DATA), {}, RunContext('l', Path('.')))"),
    "op_load_dataset": ("from pathlib import Path\nfrom nodes.data import LoadDataset, LoadDatasetParams\n"
                        "from designer.core.node import RunContext\nt = now()\nLoadDataset().run(LoadDatasetParams("
                        "name='bench'), {}, RunContext('l', Path('.'), store=Path(STORE)))"),
}


def operation(key: str, data: Path, store: Path, env: dict[str, str]) -> float:
    code = (f"import time\nnow = time.perf_counter\nDATA, STORE = {str(data)!r}, {str(store)!r}\n"
            "import pandas, pyarrow.parquet, designer.core.datasets, designer.core.profile, designer.core.csv_read\n"
            f"{OPERATIONS[key]}\nprint({RESULT!r} + repr(now() - t))")
    done = subprocess.run([PY, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    line = next((l for l in done.stdout.splitlines() if l.startswith(RESULT)), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"{key} failed:\n{done.stdout}\n{done.stderr}")
    return float(line[len(RESULT):])


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(argv)}\n{done.stdout}\n{done.stderr}")
    return took


def pipeline(folder: Path, node: dict) -> Path:
    path = folder / f"{node['type'].replace('.', '_')}.pipeline.json"
    path.write_text(json.dumps({"format": "pipeline-designer", "version": 2, "name": "load", "nodes": [node],
                                "links": []}))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=make_data.DEFAULT_ROWS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    data = make_data.ensure_data(args.rows)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("PIPELINE_DESIGNER_STORE", None)
    cli = [PY, "-m", "designer"]
    times: dict[str, list[float]] = {k: [] for k in ("pandas", "register", "again", "load_csv", "load_dataset",
                                                     *OPERATIONS)}
    with tempfile.TemporaryDirectory(prefix="bench-datasets-") as tmp:
        work = Path(tmp)
        store = work / "store"
        csv_pipe = pipeline(work, {"id": "load", "type": "data.csv", "params": {"path": str(data)}})
        ds_pipe = pipeline(work, {"id": "load", "type": "data.dataset", "params": {"name": "bench"}})
        for i in range(args.repeat):
            print(f"repetition {i + 1}/{args.repeat} ...", file=sys.stderr, flush=True)
            order = ["pandas", "register"] if i % 2 == 0 else ["register", "pandas"]
            for what in order:
                if what == "pandas":
                    times["pandas"].append(timed([PY, "-c", f"import pandas as pd; pd.read_csv({str(data)!r})"], env))
                else:
                    shutil.rmtree(store, ignore_errors=True)
                    times["register"].append(timed([*cli, "data", "register", str(data), "--name", "bench",
                                                    "--store", str(store)], env))
            times["again"].append(timed([*cli, "data", "register", str(data), "--name", "bench", "--store",
                                         str(store)], env))
            loads = [("load_csv", csv_pipe), ("load_dataset", ds_pipe)]
            for what, pipe in (loads if i % 2 == 0 else loads[::-1]):
                times[what].append(timed([*cli, "run", str(pipe), "--out", str(work / "out"), "--store",
                                          str(store)], env))
            keys = list(OPERATIONS) if i % 2 == 0 else list(OPERATIONS)[::-1]
            for key in keys:
                times[key].append(operation(key, data, store, env))
        objects = list((store / "datasets" / "objects").rglob("*.parquet"))
        snapshot = sum(p.stat().st_size for p in objects)
    med = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    size = data.stat().st_size
    print(f"data: {args.rows:,} rows, {size / 1e6:.1f} MB CSV; snapshot {snapshot / 1e6:.1f} MB Parquet "
          f"({len(objects)} object{'s' * (len(objects) != 1)} after {args.repeat} registrations of the same file "
          "per store)")
    print(f"{'':<44}{'median':>9}{'best':>9}")
    for key, label in (("pandas", "pandas.read_csv (hand-written)"), ("register", "pipeline-designer data register"),
                       ("again", "data register, same content again"),
                       ("load_csv", "run: Load CSV (the original file)"),
                       ("load_dataset", "run: Load Data Set (the version)")):
        print(f"{label:<44}{med[key]:>8.2f}s{best[key]:>8.2f}s")
    print("the same work alone, timed after the imports in a fresh process:")
    for key, label in (("op_pandas", "pandas.read_csv"), ("op_register", "register_path (read, snapshot, profile)"),
                       ("op_load_csv", "Load CSV node"), ("op_load_dataset", "Load Data Set node")):
        print(f"  {label:<42}{med[key]:>8.2f}s{best[key]:>8.2f}s")
    print(f"  ratios: register {med['op_register'] / med['op_pandas']:.2f}x, "
          f"load version / load CSV {med['op_load_dataset'] / med['op_load_csv']:.2f}x")
    register = med["register"] / med["pandas"]
    load = med["load_dataset"] / med["load_csv"]
    ok_register, ok_load = register < TARGET_REGISTER, load <= TARGET_LOAD
    print(f"ratio register / pandas read:   {register:.2f}x (best-of {best['register'] / best['pandas']:.2f}x)  "
          f"target < {TARGET_REGISTER}x: {'met' if ok_register else 'MISSED'}")
    print(f"ratio load version / load CSV:  {load:.2f}x (best-of {best['load_dataset'] / best['load_csv']:.2f}x)  "
          f"target <= {TARGET_LOAD}x: {'met' if ok_load else 'MISSED'}")
    return 1 if args.strict and not (ok_register and ok_load) else 0


if __name__ == "__main__":
    sys.exit(main())
