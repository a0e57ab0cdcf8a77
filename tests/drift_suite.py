"""A seeded synthetic drift suite: false alarms and power of `designer.core.drift` verdicts, and how close the
KS p-value from the stored 1,001 quantiles is to scipy.stats.ks_2samp on the raw column.

Shared by tests/core/test_drift_suite.py (asserts the targets) and bench/bench_drift_suite.py (prints them).
Each trial draws a new 5,000-row reference and a new window; every cell has its own seed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from designer.core.drift import Thresholds, categorical_profile, compare_categorical, compare_numeric, numeric_profile

REFERENCE_ROWS = 5000
WINDOWS = (50, 100, 200, 500, 1000, 2000, 5000, 10000)
CATEGORIES = ("a", "b", "c", "d", "e")
SHARES = np.array([0.35, 0.25, 0.20, 0.12, 0.08])
MOVE_SMALL = np.array([0.25, 0.25, 0.20, 0.12, 0.18])
"""10 points from the most frequent category to the least frequent one."""
MOVE_LARGE = np.array([0.25, 0.35, 0.20, 0.12, 0.08])
"""10 points between the two most frequent categories (reported, not a target: see the bench)."""
KS_CHECK_TRIALS = 25


@dataclass
class Cell:
    kind: str
    change: str
    window: int
    trials: int
    drift: int = 0
    ks_error: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.drift / self.trials


def _numeric_window(rng: np.random.Generator, n: int, change: str) -> np.ndarray:
    if change == "mean +0.25 sd":
        return rng.normal(0.25, 1.0, n)
    if change == "sd x 1.25":
        return rng.normal(0.0, 1.25, n)
    return rng.normal(0.0, 1.0, n)


def _counts(rng: np.random.Generator, n: int, shares: np.ndarray) -> dict[str, int]:
    drawn = rng.multinomial(n, shares)
    return {c: int(k) for c, k in zip(CATEGORIES, drawn) if k}


def run_cell(kind: str, change: str, window: int, trials: int, seed: int, ks_check: bool = False,
             thresholds: Thresholds = Thresholds()) -> Cell:
    from scipy.stats import ks_2samp

    rng = np.random.default_rng(seed)
    cell = Cell(kind, change, window, trials)
    for t in range(trials):
        if kind == "numeric":
            ref = rng.normal(0.0, 1.0, REFERENCE_ROWS)
            cur = _numeric_window(rng, window, change)
            result = compare_numeric(numeric_profile(ref), cur, thresholds)
            if ks_check and t < KS_CHECK_TRIALS:
                cell.ks_error.append(abs(result["ks_p"] - float(ks_2samp(ref, cur).pvalue)))
        else:
            shares = {"none": SHARES, "move 10 points (to the rarest)": MOVE_SMALL,
                      "move 10 points (between the largest)": MOVE_LARGE}[change]
            ref_counts = _counts(rng, REFERENCE_ROWS, SHARES)
            result = compare_categorical(categorical_profile(ref_counts, 0), _counts(rng, window, shares), 0,
                                         thresholds)
        cell.drift += result["verdict"] == "drift"
    return cell


def plan(trials: int = 200) -> list[tuple[str, str, int, int]]:
    """(kind, change, window, trials) of every cell."""
    cells = [("numeric", "none", w, trials) for w in WINDOWS]
    cells += [("categorical", "none", w, trials) for w in WINDOWS]
    cells += [("numeric", "mean +0.25 sd", w, trials) for w in WINDOWS if w >= 500]
    cells += [("numeric", "sd x 1.25", w, trials) for w in WINDOWS if w >= 1000]
    cells += [("categorical", "move 10 points (to the rarest)", w, trials) for w in WINDOWS if w >= 200]
    return cells


def _run(args: tuple[str, str, int, int, int]) -> Cell:
    kind, change, window, trials, seed = args
    return run_cell(kind, change, window, trials, seed, ks_check=kind == "numeric" and change == "none")


def run_suite(trials: int = 200, seed: int = 20240601, extra: bool = False, workers: int = 1,
              progress: Callable[[Cell], Any] | None = None) -> tuple[list[Cell], float]:
    """Every cell (each with its own seed: the results do not depend on `workers`); (cells, seconds)."""
    cells = plan(trials)
    if extra:
        cells += [("categorical", "move 10 points (between the largest)", w, trials) for w in WINDOWS if w >= 200]
    jobs = [(kind, change, window, n, seed + i) for i, (kind, change, window, n) in enumerate(cells)]
    jobs.sort(key=lambda j: -j[2] * (j[0] == "numeric"))  # the slow cells first
    started = time.perf_counter()
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as pool:
            out = list(pool.map(_run, jobs))
    else:
        out = [_run(j) for j in jobs]
    order = {(c[0], c[1], c[2]): i for i, c in enumerate(cells)}
    out.sort(key=lambda c: order[(c.kind, c.change, c.window)])
    if progress:
        for cell in out:
            progress(cell)
    return out, time.perf_counter() - started


TARGETS = {"none": ("false alarms", "<=", 0.02), "mean +0.25 sd": ("power", ">=", 0.95),
           "sd x 1.25": ("power", ">=", 0.95), "move 10 points (to the rarest)": ("power", ">=", 0.90)}


def meets(cell: Cell) -> bool | None:
    target = TARGETS.get(cell.change)
    if target is None:
        return None
    _, op, bound = target
    return cell.rate <= bound if op == "<=" else cell.rate >= bound
