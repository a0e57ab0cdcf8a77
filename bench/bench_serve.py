"""Benchmark: `pipeline-designer serve` over loopback, against calling scikit-learn in-process.

    python bench/bench_serve.py                 # 1,000 timed requests per figure
    python bench/bench_serve.py --requests 300  # quicker

Through the real command (`pipeline-designer serve BUNDLE --port 0` in a subprocess) for the messy-housing
boosted-trees sample and the diabetes linear sample:
- ready: from starting the command to the first answer of /v2/health/ready (target <= 2 s);
- one-row POST /invocations with a keep-alive client, 1,000 timed requests after a warm-up: p50 and p99
  (targets: messy p50 <= 5 ms and p99 <= 20 ms, diabetes p50 <= 2 ms);
- throughput with four concurrent keep-alive clients (target >= 300 requests/s);
- one 1,000-row request (target <= 60 ms);
- capture: the same one-row requests against a second endpoint with --capture, interleaved in rounds with the
  plain one so both see the same machine; the p50 difference (target <= 0.2 ms).
In-process baselines (same process, one thread): the hand-written scikit-learn Pipeline's predict on a
one-row DataFrame, and the bare estimator's predict on one prepared feature row; ratios are printed.

The machine may be shared: figures move with its load (the load average is printed); repeat and compare.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # the in-process baseline: one thread
    os.environ[var] = "1"

SAMPLES = {"messy": "messy_housing_boosted_trees", "diabetes": "diabetes_linear_regression"}
TARGETS = {"ready_s": 2.0, "messy_p50_ms": 5.0, "messy_p99_ms": 20.0, "diabetes_p50_ms": 2.0, "rps": 300.0,
           "batch_ms": 60.0, "capture_ms": 0.2}


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def build_bundles(folder: Path) -> dict[str, dict[str, Any]]:
    """Run each sample once (in-process) and write its bundle; keep the raw test rows."""
    from designer.core.engine import Engine
    from designer.core.pipeline import load_pipeline
    from designer.core.runner import write_bundles

    out = {}
    for key, name in SAMPLES.items():
        path = ROOT / "sample_pipelines" / f"{name}.pipeline.json"
        pipeline = load_pipeline(path)
        result = Engine().run(pipeline, path.parent)
        bundle = write_bundles(pipeline, result, folder / key)[0]
        model = result.outputs["train"]["model"]
        raw = result.outputs["data"]["data"].frame
        test = raw.loc[result.outputs["score"]["scored"].frame.index].drop(columns=[model.label])
        out[key] = {"bundle": bundle, "model": model, "test": test, "raw": raw}
    return out


def records(frame: Any) -> list[dict[str, Any]]:
    recs = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in recs]


class Served:
    def __init__(self, bundle: Path, *args: str, cwd: Path | None = None) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env.pop(var, None)  # the command sets them itself
        self.started = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-m", "designer", "serve", str(bundle), "--port", "0",
                                      "--json", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env, cwd=cwd)
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise SystemExit(f"serve did not start: {self.proc.stderr.read()}")  # type: ignore[union-attr]
        self.info = json.loads(line)
        self.port = int(self.info["url"].rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("GET", "/v2/health/ready")
        conn.getresponse().read()
        self.ready = time.perf_counter() - self.started
        conn.close()
        self.cpu = cpu_seconds(self.proc.pid)

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def stop(self) -> str:
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=60)
        return out


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far: its start-up cost, whatever the machine's load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def post(conn: http.client.HTTPConnection, body: bytes) -> float:
    t = time.perf_counter()
    conn.request("POST", "/invocations", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    took = time.perf_counter() - t
    if r.status != 200:
        raise SystemExit(f"answer {r.status}: {data[:300]!r}")
    return took * 1000.0


def one_row_bodies(test: Any) -> list[bytes]:
    names = list(test.columns)
    return [json.dumps({"dataframe_split": {"columns": names, "data": [[r[n] for n in names]]}}).encode()
            for r in records(test)]


def latencies(served: Served, bodies: list[bytes], n: int, warm: int = 50) -> list[float]:
    conn = served.connection()
    for i in range(warm):
        post(conn, bodies[i % len(bodies)])
    out = [post(conn, bodies[i % len(bodies)]) for i in range(n)]
    conn.close()
    return out


def throughput(served: Served, bodies: list[bytes], clients: int, per_client: int) -> float:
    done = []
    barrier = threading.Barrier(clients + 1)

    def client(k: int) -> None:
        conn = served.connection()
        post(conn, bodies[k])
        barrier.wait()
        for i in range(per_client):
            post(conn, bodies[(k + i) % len(bodies)])
        done.append(per_client)
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - t0)


def in_process(entry: dict[str, Any], n: int) -> dict[str, float]:
    """Hand-written scikit-learn Pipeline and bare estimator, one row at a time, in this process."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from threadpoolctl import threadpool_limits

    from designer.core.model import feature_matrix
    from designer.core.values import Table

    model = entry["model"]
    raw = entry["raw"]
    test = entry["test"]
    label = model.label
    est = model.estimator
    num = [c for c in test.columns if test[c].dtype.kind in "fi"]
    cat = [c for c in test.columns if c not in num]
    parts = [("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()) if cat else StandardScaler(),
              num)]
    if cat:
        parts.append(("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                           OneHotEncoder(handle_unknown="ignore")), cat))
    pipe = make_pipeline(ColumnTransformer(parts), type(est)(**est.get_params()))
    train = raw.drop(index=test.index)
    pipe.fit(train[num + cat], train[label])
    prepared = model.prepare(Table(frame=test))
    X = feature_matrix(prepared[model.features])
    rows = [test.iloc[[i]] for i in range(len(test))]
    with threadpool_limits(1):
        for i in range(50):
            pipe.predict(rows[i % len(rows)])
            est.predict(X[i % len(X):i % len(X) + 1])
        t_pipe, t_est = [], []
        for i in range(n):
            t = time.perf_counter()
            pipe.predict(rows[i % len(rows)])
            t_pipe.append((time.perf_counter() - t) * 1000)
            j = i % len(X)
            t = time.perf_counter()
            est.predict(X[j:j + 1])
            t_est.append((time.perf_counter() - t) * 1000)
    return {"pipeline_p50_ms": statistics.median(t_pipe), "estimator_p50_ms": statistics.median(t_est),
            "pipeline_p99_ms": pct(t_pipe, 0.99), "estimator_p99_ms": pct(t_est, 0.99), "check": float(np.nan)}


def capture_overhead(plain: Served, captured: Served, bodies: list[bytes], n: int,
                     rounds: int = 10) -> tuple[float, float]:
    a, b = [], []
    ca, cb = plain.connection(), captured.connection()
    for i in range(50):
        post(ca, bodies[i % len(bodies)])
        post(cb, bodies[i % len(bodies)])
    per = max(1, n // rounds)
    for r in range(rounds):
        first, second = (ca, a), (cb, b)
        for conn, sink in ((first, second) if r % 2 == 0 else (second, first)):
            sink.extend(post(conn, bodies[i % len(bodies)]) for i in range(per))
    return statistics.median(a), statistics.median(b)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1000, help="timed requests per latency figure (default 1000)")
    ap.add_argument("--clients", type=int, default=4, help="concurrent clients for throughput (default 4)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        entries = build_bundles(Path(tmp))
        for key, entry in entries.items():
            bodies = one_row_bodies(entry["test"])
            served = Served(entry["bundle"])
            try:
                lat = latencies(served, bodies, args.requests)
                rps = throughput(served, bodies, args.clients, max(50, args.requests // args.clients))
                big = records(entry["raw"].drop(columns=[entry["model"].label]).head(1000))
                while len(big) < 1000:
                    big += big[:1000 - len(big)]
                batch_body = json.dumps({"dataframe_records": big}).encode()
                conn = served.connection()
                post(conn, batch_body)
                batch = statistics.median(post(conn, batch_body) for _ in range(7))
                conn.close()
            finally:
                served.stop()
            base = in_process(entry, args.requests)
            p50, p99 = statistics.median(lat), pct(lat, 0.99)
            results.update({f"{key}_ready_s": served.ready, f"{key}_p50_ms": p50, f"{key}_p99_ms": p99,
                            f"{key}_rps": rps, f"{key}_batch_ms": batch})
            print(f"\n{key} ({SAMPLES[key]}; {served.info['path']})")
            cpu = f", {served.cpu:.2f} s of CPU" if served.cpu is not None else ""
            print(f"  ready                      {served.ready:8.2f} s   "
                  f"(server's own count {served.info['seconds']:.2f} s"
                  f"{cpu})")
            print(f"  one row, keep-alive        p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   "
                  f"mean {statistics.mean(lat):.2f} ms")
            print(f"  {args.clients} concurrent clients       {rps:8.0f} requests/s")
            print(f"  1,000-row request          {batch:8.1f} ms")
            print(f"  in process: hand-written Pipeline.predict p50 {base['pipeline_p50_ms']:.2f} ms "
                  f"(p99 {base['pipeline_p99_ms']:.2f}); bare estimator.predict p50 {base['estimator_p50_ms']:.2f} ms")
            print(f"  ratio HTTP p50 / in-process Pipeline p50 = {p50 / base['pipeline_p50_ms']:.2f}x; "
                  f"/ bare estimator p50 = {p50 / base['estimator_p50_ms']:.2f}x")
        # capture overhead on the messy model, interleaved
        entry = entries["messy"]
        bodies = one_row_bodies(entry["test"])
        plain = Served(entry["bundle"])
        captured = Served(entry["bundle"], "--capture", "--store", str(Path(tmp) / "store"), cwd=Path(tmp))
        try:
            p_plain, p_capture = capture_overhead(plain, captured, bodies, args.requests)
        finally:
            plain.stop()
            out = captured.stop()
        stopped = json.loads(out.strip().splitlines()[-1])
        results["capture_ms"] = p_capture - p_plain
        print(f"\ncapture (messy, {args.requests} requests each, interleaved): p50 {p_plain:.3f} ms without, "
              f"{p_capture:.3f} ms with --capture: +{p_capture - p_plain:.3f} ms; "
              f"captured {stopped['capture']['written']} rows, dropped {stopped['capture']['dropped']}")
    checks = [("ready (messy) <= 2 s", results["messy_ready_s"], TARGETS["ready_s"], "<="),
              ("ready (diabetes) <= 2 s", results["diabetes_ready_s"], TARGETS["ready_s"], "<="),
              ("messy one-row p50 <= 5 ms", results["messy_p50_ms"], TARGETS["messy_p50_ms"], "<="),
              ("messy one-row p99 <= 20 ms", results["messy_p99_ms"], TARGETS["messy_p99_ms"], "<="),
              ("diabetes one-row p50 <= 2 ms", results["diabetes_p50_ms"], TARGETS["diabetes_p50_ms"], "<="),
              ("messy 4 clients >= 300 req/s", results["messy_rps"], TARGETS["rps"], ">="),
              ("messy 1,000-row request <= 60 ms", results["messy_batch_ms"], TARGETS["batch_ms"], "<="),
              ("capture adds <= 0.2 ms at p50", results["capture_ms"], TARGETS["capture_ms"], "<=")]
    print("\ntargets:")
    missed = 0
    for name, value, bound, op in checks:
        ok = value <= bound if op == "<=" else value >= bound
        missed += not ok
        print(f"  {'ok  ' if ok else 'MISS'} {name:<36} {value:10.3f}")
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
