"""Benchmark: the seeded synthetic drift suite (the same one tests/core/test_drift_suite.py asserts).

    python bench/bench_drift_suite.py             # 200 trials a cell, 2 worker processes
    python bench/bench_drift_suite.py --trials 50 --workers 1

5,000 reference rows a trial. Prints the rate of 'drift' verdicts of every cell against its target: false
alarms <= 2 % with no change (numbers and categories, windows of 50 to 10,000 rows); power >= 95 % for a
+0.25 sd mean shift (>= 500 rows) and for sd x 1.25 (>= 1,000 rows); >= 90 % for a 10-point category move
(>= 200 rows; 10 points from the most frequent category to the rarest; a move between the two most
frequent ones is printed too, without a target). Then the KS p-value from the stored 1,001 quantiles against
scipy.stats.ks_2samp on the raw columns, by reference size and window.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def ks_accuracy(trials: int = 20) -> None:
    import numpy as np
    from scipy.stats import ks_2samp

    from designer.core.drift import Thresholds, compare_numeric, numeric_profile

    rng = np.random.default_rng(7)
    windows = (50, 200, 1000, 5000, 10000)
    print("\nKS p from the stored profile (every value up to 10,000 rows, else 1,001 quantiles) vs "
          f"scipy.stats.ks_2samp on the raw columns: largest |difference| over {trials} trials (no change, or a "
          "shift putting p in the decision range)")
    print(f"  {'reference rows':>14}  " + "  ".join(f"{w:>8}" for w in windows))
    for n1 in (1000, 5000, 20000, 100000):
        cells = []
        for n2 in windows:
            worst = 0.0
            for _ in range(trials):
                ref = rng.normal(size=n1)
                cur = rng.normal(rng.choice([0.0, 2.0 / np.sqrt(n2 * n1 / (n1 + n2))]), 1.0, n2)
                got = compare_numeric(numeric_profile(ref), cur, Thresholds())["ks_p"]
                worst = max(worst, abs(got - float(ks_2samp(ref, cur).pvalue)))
            cells.append(worst)
        print(f"  {n1:>14}  " + "  ".join(f"{c:8.4f}" for c in cells))


def main(argv: list[str] | None = None) -> int:
    from tests.drift_suite import TARGETS, meets, run_suite

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    cells, took = run_suite(trials=args.trials, workers=args.workers, extra=True)
    print(f"{'kind':<12} {'change':<38} {'rows':>6}  {'drift rate':>10}  target")
    missed = 0
    for c in cells:
        target = TARGETS.get(c.change)
        ok = meets(c)
        missed += ok is False
        mark = "-" if target is None else f"{target[0]} {target[1]} {target[2]:.0%}  {'ok' if ok else 'MISS'}"
        ks = f"   KS |p - scipy| <= {max(c.ks_error):.4f}" if c.ks_error else ""
        print(f"{c.kind:<12} {c.change:<38} {c.window:>6}  {c.rate:10.3f}  {mark}{ks}")
    print(f"suite: {len(cells)} cells x {args.trials} trials in {took:.1f} s ({args.workers} workers)")
    t = time.perf_counter()
    ks_accuracy()
    print(f"({time.perf_counter() - t:.1f} s)  load average {os.getloadavg()[0]:.1f}")
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
