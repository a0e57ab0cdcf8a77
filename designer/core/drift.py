"""Drift: a reference profile of the data a model was trained on, and how far live data has moved from it.

The reference profile (saved in bundles as `reference.json`) holds, for every raw input column of the rows
the model was fit on: row count, missing count, min, max, mean, standard deviation and 1,001 quantiles for
numbers (and every value, sorted, of a column of at most EXACT_ROWS values); category counts for text. The
same for the predictions, on held-out rows when the run scored some (else on the training rows; the profile
says which).

Each column of new data is compared with its profile:
- numbers: missing-rate change, out-of-range rate, normalized Wasserstein distance (W1 / reference sd: the
  effect), Kolmogorov-Smirnov D and p, a rank test of location (Mann-Whitney) and of scale (Mood), PSI;
- categories (missing is a category of its own): unseen-category rate, Jensen-Shannon distance, Cohen's w
  (the effect), a two-sample chi-square test (rare categories merged so every expected count is >= 5), PSI.
Every test works from the stored profile alone (the ECDF of the reference comes from its values when they
are kept, else from its quantiles).

Verdict per column: drift when an effect is at least `effect` (0.1) AND its test's p-value, Bonferroni-
adjusted over the column's tests, is below `p` (0.01); "not enough rows" below `min_rows`. The data set is
drifting when any column is; prediction drift is reported on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

FORMAT = "pipeline-designer-reference"
VERSION = 1
QUANTILES = 1001
LEVELS = np.linspace(0.0, 1.0, QUANTILES)
EXACT_ROWS = 10_000
"""A number column with at most this many values keeps them all in its profile: its ECDF, and so every test
against it (KS exactly as scipy.stats.ks_2samp on the raw column), is then exact. Between quantiles a small
reference's ECDF is steps that no interpolation can guess; a large one's is smooth."""
MAX_CATEGORIES = 1000
PSI_BINS = 10
MIN_EXPECTED = 5.0
MISSING = "(missing)"
UNSEEN = "(unseen)"
OTHER = "(other)"


@dataclass(frozen=True)
class Thresholds:
    """When a column counts as drifting: effect >= `effect` and adjusted p < `p`, with >= `min_rows` rows."""

    effect: float = 0.1
    p: float = 0.01
    min_rows: int = 50

    def to_json(self) -> dict[str, Any]:
        return {"effect": self.effect, "p": self.p, "min_rows": self.min_rows}


DEFAULT_THRESHOLDS = Thresholds()


# ---------------------------------------------------------------------------------------------- profiles


def _f(v: Any) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def numeric_profile(values: np.ndarray) -> dict[str, Any]:
    """count, missing, min, max, mean, sd and 1,001 quantiles of a number column. The quantiles are values of
    the column itself (numpy's 'nearest' method: the row of rank round(p * (n - 1))), so the reference's
    ECDF is exact at each of them, and exact everywhere for up to 1,001 rows."""
    values = np.asarray(values, dtype=np.float64)
    present = np.sort(values[np.isfinite(values)])
    out: dict[str, Any] = {"kind": "numeric", "count": int(values.size), "missing": int(values.size - present.size)}
    if present.size:
        out.update({"min": _f(present[0]), "max": _f(present[-1]), "mean": _f(present.mean()),
                    "std": _f(present.std(ddof=1)) if present.size > 1 else 0.0,
                    "quantiles": quantiles_of_sorted(present).tolist(), "quantile_method": "nearest"})
        if present.size <= EXACT_ROWS:
            out["values"] = present.tolist()
    return out


def categorical_profile(counts: Mapping[str, int], missing: int) -> dict[str, Any]:
    """Category counts of a text column (the most frequent MAX_CATEGORIES; the rest as one `other` count)."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = dict(ordered[:MAX_CATEGORIES])
    other = int(sum(c for _, c in ordered[MAX_CATEGORIES:]))
    total = int(sum(counts.values())) + int(missing)
    return {"kind": "categorical", "count": total, "missing": int(missing),
            "categories": {str(k): int(v) for k, v in kept.items()}, "other": other}


def series_profile(series: Any, kind: str) -> dict[str, Any]:
    """The profile of a pandas column of a raw input kind (numbers, or anything else as text categories)."""
    import pandas as pd

    if kind == "numeric":
        return numeric_profile(pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan))
    present = series[series.notna()]
    counts = present.astype(str).value_counts()
    return categorical_profile({str(k): int(v) for k, v in counts.items()}, int(series.isna().sum()))


def reference_profile(frame: Any, kinds: Iterable[tuple[str, str]], predictions: Any = None,
                      task: str = "regression", rows: str = "training", positions: Any = None) -> dict[str, Any]:
    """The reference profile of raw training rows `frame` (columns and kinds of the model's input schema;
    `positions`: only those rows of it, taken one column at a time), and of `predictions` (made on `rows`:
    "held-out" or "training")."""
    from concurrent.futures import ThreadPoolExecutor

    def profile(name: str, kind: str) -> dict[str, Any]:
        column = frame[name]
        return series_profile(column if positions is None else column.take(positions), kind)

    present = [(name, kind) for name, kind in kinds if name in frame.columns]
    with ThreadPoolExecutor(2) as pool:  # numpy sorts without the GIL: two columns at a time
        profiles = list(pool.map(lambda nk: profile(*nk), present))
    columns = {name: profile for (name, _), profile in zip(present, profiles)}
    n_rows = len(frame) if positions is None else len(positions)
    out: dict[str, Any] = {"format": FORMAT, "version": VERSION, "rows": int(n_rows), "columns": columns}
    if predictions is not None:
        out["predictions"] = prediction_profile(predictions, task, rows)
    return out


def prediction_profile(values: Any, task: str, rows: str) -> dict[str, Any]:
    """Profile of a model's predictions: numbers for regression, classes (or clusters) as categories."""
    import pandas as pd

    series = pd.Series(np.asarray(values))
    kind = "numeric" if task == "regression" else "categorical"
    return {"rows": rows, "task": task, "profile": series_profile(series, kind)}


# ---------------------------------------------------------------------------------------------- statistics


def _sf_normal(z: float) -> float:
    """Two-sided p of a standard normal z."""
    return math.erfc(abs(z) / math.sqrt(2.0))


EXACT_KS_PAIRS = 10_000_000


def ks_pvalue(d: float, n1: int, n2: int) -> float:
    """Two-sided two-sample KS p-value for statistic d, as scipy.stats.ks_2samp computes it: the exact
    distribution (scipy's own routine) up to 10 million row pairs, Smirnov's asymptotic one above (scipy goes
    exact up to 10,000 rows a side; above 10 million pairs the two differ by less than 0.005 and the exact one
    costs tens of milliseconds)."""
    from scipy import stats

    if d <= 0:
        return 1.0
    if max(n1, n2) <= 10_000 and n1 * n2 <= EXACT_KS_PAIRS:
        try:
            from scipy.stats._stats_py import _attempt_exact_2kssamp

            ok, _, p = _attempt_exact_2kssamp(n1, n2, math.gcd(n1, n2), d, "two-sided")
            if ok:
                return float(min(1.0, max(0.0, p)))
        except (ImportError, FloatingPointError, OverflowError, ValueError):
            pass
    m, n = sorted((float(n1), float(n2)), reverse=True)
    return float(min(1.0, max(0.0, stats.kstwo.sf(d, np.round(m * n / (m + n))))))


PSEUDO_ROWS = 200_000


class ReferenceCdf:
    """The reference's ECDF: its stored values when the profile keeps them (up to EXACT_ROWS), else from its
    1,001 stored quantiles (rows of known rank) and its row count: a sorted stand-in sample with the stored
    rows at their ranks and the rows between them spread evenly (at most PSEUDO_ROWS of them: above that
    the steps are finer than anything a test can see)."""

    def __init__(self, profile: Mapping[str, Any]) -> None:
        self.n = int(profile["count"] - profile["missing"])
        values = profile.get("values")
        if isinstance(values, list) and len(values) == self.n > 0:  # every row kept: the exact ECDF
            self.sample = np.sort(np.asarray(values, dtype=np.float64))
            self.m = self.n
            self.ties = bool(np.any(self.sample[1:] == self.sample[:-1]))
            return
        q = np.asarray(profile["quantiles"], dtype=np.float64)
        ranks = np.round(np.linspace(0.0, 1.0, len(q)) * (self.n - 1))
        if profile.get("quantile_method", "nearest") != "nearest":  # other definitions: spread by level
            ranks = np.linspace(0.0, 1.0, len(q)) * (self.n - 1)
        known, first = np.unique(ranks, return_index=True)
        m = min(self.n, PSEUDO_ROWS)
        at = np.linspace(0.0, self.n - 1, m) if m > 1 else np.zeros(1)
        self.sample = np.interp(at, known, q[first])
        self.m = m
        self.ties = bool(m > 1 and np.any(self.sample[1:] == self.sample[:-1]))

    def right(self, x: np.ndarray) -> np.ndarray:
        """P(X <= x)."""
        return np.searchsorted(self.sample, x, side="right") / self.m

    def both(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(P(X <= x), P(X < x)); one search when no two reference rows are equal."""
        idx = np.searchsorted(self.sample, x, side="right")
        if self.ties:
            return idx / self.m, np.searchsorted(self.sample, x, side="left") / self.m
        equal = idx > 0
        equal[equal] = self.sample[idx[equal] - 1] == x[equal]
        return idx / self.m, (idx - equal) / self.m

    def left(self, x: np.ndarray) -> np.ndarray:
        """P(X < x)."""
        return np.searchsorted(self.sample, x, side="left") / self.m

    def sample_scores(self) -> np.ndarray:
        """Mid-ranks of the reference's own rows, (F(x-) + F(x)) / 2: the null distribution of rank scores."""
        return (self.right(self.sample) + self.left(self.sample)) / 2.0


def quantiles_of_sorted(s: np.ndarray) -> np.ndarray:
    """np.quantile(s, LEVELS, method="nearest") of an already sorted array (without numpy's partial sorts)."""
    return s[np.round(LEVELS * (len(s) - 1)).astype(np.int64)]


def compare_numeric(profile: Mapping[str, Any], values: np.ndarray, thresholds: Thresholds,
                    presorted: bool = False, cdf: "ReferenceCdf | None" = None) -> dict[str, Any]:
    """Drift measures of one number column against its profile (see the module docstring). `presorted`:
    `values` are sorted already (missing values last, as numpy sorts NaN)."""
    values = np.asarray(values, dtype=np.float64)
    total = int(values.size)
    if presorted:
        n2 = int(np.searchsorted(values, np.inf, side="right"))  # NaN sort after +inf
        s = values[:n2]
        s = s[np.isfinite(s)]
        n2 = int(s.size)
    else:
        s = np.sort(values[np.isfinite(values)])
        n2 = int(s.size)
    ref_total = int(profile.get("count", 0))
    ref_missing = int(profile.get("missing", 0))
    p_ref_missing = ref_missing / ref_total if ref_total else 0.0
    p_cur_missing = (total - n2) / total if total else 0.0
    out: dict[str, Any] = {"kind": "numeric", "rows": total, "values": n2,
                           "missing_rate": p_cur_missing, "reference_missing_rate": p_ref_missing,
                           "missing_rate_change": p_cur_missing - p_ref_missing}
    missing = _missing_check(ref_missing, ref_total, total - n2, total)
    if not profile.get("quantiles"):
        out.update(verdict="no reference", note="the reference had no values in this column")
        return out
    lo, hi = profile["min"], profile["max"]
    out["out_of_range_rate"] = float(((s < lo) | (s > hi)).sum() / n2) if n2 else 0.0
    if n2 == 0:
        out.update(_verdict([missing], thresholds, total, note="no values"), effect=missing["effect"])
        return out
    cdf = cdf or ReferenceCdf(profile)
    n1 = cdf.n
    fr, fl = cdf.both(s)
    ranks = np.arange(n2, dtype=np.float64)
    # the largest ECDF gap: F_new - F_ref peaks at a new value, F_ref - F_new at a reference row
    d_plus = float(np.max((ranks + 1) / n2 - fr))
    ref_ranks = np.arange(1, cdf.m + 1, dtype=np.float64) / cdf.m
    d_minus = float(np.max(ref_ranks - np.searchsorted(s, cdf.sample, side="right") / n2))
    d = max(0.0, d_plus, d_minus)
    p_ks = ks_pvalue(d, n1, n2)
    mid = (fr + fl) / 2.0
    ref_scores = cdf.sample_scores()
    p_loc, z_loc = _score_test(mid, ref_scores, n1, n2, lambda u: u)
    p_scale, z_scale = _score_test(mid, ref_scores, n1, n2, lambda u: (u - 0.5) ** 2)
    q_ref = np.asarray(profile["quantiles"], dtype=np.float64)
    w1 = float(np.trapezoid(np.abs(quantiles_of_sorted(s) - q_ref), LEVELS))
    scale = profile.get("std") or 0.0
    if not scale or not math.isfinite(scale):
        scale = 1.0
    out.update({"wasserstein": w1, "effect": w1 / scale, "effect_name": "normalized Wasserstein",
                "ks_d": d, "ks_p": p_ks, "location_z": z_loc, "location_p": p_loc, "scale_z": z_scale,
                "scale_p": p_scale, "psi": _psi_numeric(cdf, s), "mean": float(s.mean()),
                "reference_mean": profile.get("mean")})
    distribution = {"check": "distribution", "effect": w1 / scale, "p": min(p_ks, p_loc, p_scale), "tests": 3}
    out.update(_verdict([distribution, missing], thresholds, n2))
    return out


def _score_test(mid: np.ndarray, ref_scores: np.ndarray, n1: int, n2: int, g: Any) -> tuple[float, float]:
    """A two-sample linear rank test from the reference ECDF: the mean of g(F(x)) over the new values
    against its mean over the reference, variance var(g)(1/n1 + 1/n2). (p, z)."""
    ref = g(ref_scores)
    sd = float(np.std(ref)) * math.sqrt(1.0 / n1 + 1.0 / n2)
    if sd <= 0:
        return 1.0, 0.0
    z = (float(np.mean(g(mid))) - float(np.mean(ref))) / sd
    return _sf_normal(z), z


def _psi_numeric(cdf: ReferenceCdf, s: np.ndarray) -> float:
    edges = np.unique(np.quantile(cdf.sample, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
    ref = np.diff(np.r_[0.0, cdf.right(edges), 1.0])
    cur = np.diff(np.r_[0, np.searchsorted(s, edges, side="right"), len(s)]) / len(s)
    return _psi(ref, cur)


def _psi(ref: np.ndarray, cur: np.ndarray, floor: float = 1e-4) -> float:
    ref, cur = np.maximum(ref, floor), np.maximum(cur, floor)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def _missing_check(ref_missing: int, ref_total: int, cur_missing: int, cur_total: int) -> dict[str, Any]:
    """Missing-rate change: Cohen's h and Fisher's exact test."""
    if not ref_total or not cur_total or (ref_missing == 0 and cur_missing == 0):
        return {"check": "missing rate", "effect": 0.0, "p": 1.0, "tests": 1}
    from scipy.stats import fisher_exact

    p1, p2 = ref_missing / ref_total, cur_missing / cur_total
    h = abs(2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1)))
    table = [[ref_missing, ref_total - ref_missing], [cur_missing, cur_total - cur_missing]]
    return {"check": "missing rate", "effect": h, "p": float(fisher_exact(table).pvalue), "tests": 1}


def _verdict(checks: list[dict[str, Any]], t: Thresholds, rows: int, note: str | None = None) -> dict[str, Any]:
    """Bonferroni over every test of the column; drift when some check has effect >= t.effect and
    adjusted p < t.p."""
    tests = sum(c["tests"] for c in checks)
    for c in checks:
        c["p_adjusted"] = min(1.0, c["p"] * tests)
        c["drift"] = bool(c["effect"] >= t.effect and c["p_adjusted"] < t.p)
    out: dict[str, Any] = {"checks": checks}
    if note:
        out["note"] = note
    if rows < t.min_rows:
        out["verdict"] = "not enough rows"
    else:
        out["verdict"] = "drift" if any(c["drift"] for c in checks) else "no drift"
    out["p"] = min(c["p_adjusted"] for c in checks)
    return out


def compare_categorical(profile: Mapping[str, Any], counts: Mapping[str, int], missing: int,
                        thresholds: Thresholds) -> dict[str, Any]:
    """Drift measures of one text column (category counts of the new data) against its profile."""
    from scipy.stats import chi2

    ref_counts = dict(profile.get("categories", {}))
    ref_other = int(profile.get("other", 0))
    ref_missing = int(profile.get("missing", 0))
    total = int(sum(counts.values())) + int(missing)
    present = total - int(missing)
    unseen = {k: v for k, v in counts.items() if k not in ref_counts}
    unseen_rows = int(sum(unseen.values()))
    keys = list(ref_counts) + [k for k in counts if k not in ref_counts]
    a = np.array([ref_counts.get(k, 0) for k in keys] + [ref_other, ref_missing], dtype=np.float64)
    b = np.array([counts.get(k, 0) for k in keys] + [0, missing], dtype=np.float64)
    names = keys + [OTHER, MISSING]
    keep = (a + b) > 0
    a, b = a[keep], b[keep]
    names = [n for n, k in zip(names, keep) if k]
    out: dict[str, Any] = {"kind": "categorical", "rows": total, "values": present,
                           "missing_rate": missing / total if total else 0.0,
                           "reference_missing_rate": ref_missing / a.sum() if a.sum() else 0.0,
                           "unseen_rate": unseen_rows / present if present else 0.0,
                           "unseen": dict(sorted(unseen.items(), key=lambda kv: -kv[1])[:10])}
    out["missing_rate_change"] = out["missing_rate"] - out["reference_missing_rate"]
    if not total or not a.sum():
        out.update(verdict="not enough rows" if not total else "no reference", effect=0.0, p=1.0, checks=[])
        return out
    pa, pb = a / a.sum(), b / b.sum()
    mean = (pa + pb) / 2.0
    w = float(np.sqrt(np.sum((pb - pa) ** 2 / mean)))
    js = float(np.sqrt(max(0.0, 0.5 * _kl(pa, mean) + 0.5 * _kl(pb, mean))))
    stat, df = _chi_square(a, b)
    p = float(chi2.sf(stat, df)) if df > 0 else 1.0
    out.update({"effect": w, "effect_name": "Cohen's w", "cohen_w": w, "jensen_shannon": js, "chi2": stat,
                "chi2_df": df,
                "chi2_p": p, "psi": _psi(pa, pb),
                "shares": {n: [float(x), float(y)] for n, x, y in list(zip(names, pa, pb))[:50]}})
    out.update(_verdict([{"check": "categories", "effect": w, "p": p, "tests": 1}], thresholds, total))
    return out


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    mask = p > 0
    return float(np.sum(p[mask] * np.log2(p[mask] / q[mask])))


def _chi_square(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """Chi-square of the 2 x k table [a; b], the rarest categories merged until every expected count >= 5."""
    order = np.argsort(a + b, kind="stable")
    a, b = a[order], b[order]
    na, nb = a.sum(), b.sum()
    n = na + nb
    merged_a, merged_b = [], []
    acc_a = acc_b = 0.0
    for x, y in zip(a, b):
        acc_a += x
        acc_b += y
        pooled = (acc_a + acc_b) / n
        if min(na, nb) * pooled >= MIN_EXPECTED:
            merged_a.append(acc_a)
            merged_b.append(acc_b)
            acc_a = acc_b = 0.0
    if acc_a + acc_b > 0:
        if merged_a:
            merged_a[-1] += acc_a
            merged_b[-1] += acc_b
        else:
            merged_a.append(acc_a)
            merged_b.append(acc_b)
    A, B = np.array(merged_a), np.array(merged_b)
    if len(A) < 2:
        return 0.0, 0
    pooled = (A + B) / n
    ea, eb = na * pooled, nb * pooled
    stat = float(np.sum((A - ea) ** 2 / ea) + np.sum((B - eb) ** 2 / eb))
    return stat, len(A) - 1


# ---------------------------------------------------------------------------------------------- data sets


@dataclass
class Column:
    """New data of one column: numbers (float64, NaN for missing) or category counts and a missing count."""

    numbers: np.ndarray | None = None
    counts: dict[str, int] | None = None
    missing: int = 0
    presorted: bool = False
    """`numbers` are sorted already (NaN last)."""

    @classmethod
    def of_values(cls, values: Any, kind: str) -> "Column":
        import pandas as pd

        series = pd.Series(values)
        if kind == "numeric":
            return cls(numbers=pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan))
        present = series[series.notna()].astype(str)
        return cls(counts={str(k): int(v) for k, v in present.value_counts().items()},
                   missing=int(series.isna().sum()))


def compare_column(profile: Mapping[str, Any] | None, column: Column | None, t: Thresholds) -> dict[str, Any]:
    if profile is None:
        return {"verdict": "no reference", "note": "the reference profile has no such column"}
    if column is None:
        return {"verdict": "absent", "kind": profile.get("kind"), "note": "the new data has no such column"}
    if profile.get("kind") == "numeric":
        numbers = column.numbers if column.numbers is not None else np.full(column.missing, np.nan)
        return compare_numeric(profile, numbers, t, presorted=column.presorted)
    counts = column.counts if column.counts is not None else _counts_of_numbers(column.numbers)
    missing = column.missing if column.counts is not None else int(np.isnan(column.numbers).sum())  # type: ignore[arg-type]
    return compare_categorical(profile, counts, missing, t)


def _counts_of_numbers(values: np.ndarray | None) -> dict[str, int]:
    if values is None:
        return {}
    present = values[~np.isnan(values)]
    keys, counts = np.unique(present, return_counts=True)
    return {_number_text(k): int(c) for k, c in zip(keys, counts)}


def _number_text(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def compare(reference: Mapping[str, Any], columns: Mapping[str, Column], predictions: Column | None,
            thresholds: Thresholds) -> dict[str, Any]:
    """Every column of the reference profile against new data; the data-set verdict; prediction drift."""
    profiles = reference.get("columns", {})
    results = {name: compare_column(prof, columns.get(name), thresholds) for name, prof in profiles.items()}
    verdicts = [r["verdict"] for r in results.values()]
    drifted = [n for n, r in results.items() if r["verdict"] == "drift"]
    if drifted:
        dataset = "drift"
    elif any(v == "no drift" for v in verdicts):
        dataset = "no drift"
    else:
        dataset = "not enough rows"
    out: dict[str, Any] = {"verdict": dataset, "drifted_columns": drifted, "columns": results,
                           "rows": max((r.get("rows", 0) for r in results.values()), default=0)}
    pred = reference.get("predictions")
    if pred is None:
        out["predictions"] = {"verdict": "no reference", "note": "the bundle's profile has no predictions"}
    elif predictions is None:
        out["predictions"] = {"verdict": "absent", "note": "no predictions in the new data"}
    else:
        out["predictions"] = {**compare_column(pred["profile"], predictions, thresholds),
                              "reference_rows": pred.get("rows")}
    return out
