"""Column profiles: the statistics and distribution of every column of a table (Qt-free).

The numbers are pandas' own (`Series.count/mean/std/quantile/value_counts`), so a profile agrees with
`DataFrame.describe()`; the distribution is a histogram (numeric) or the most frequent values
(categorical, boolean), small enough to draw as a sparkline or a chart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from designer.core.kinds import kind_of_dtype

if TYPE_CHECKING:
    import pandas as pd

HIST_BINS = 20
TOP_VALUES = 10

STAT_NAMES: tuple[tuple[str, str], ...] = (
    ("count", "Count"), ("missing", "Missing"), ("unique", "Unique"), ("mean", "Mean"), ("std", "Std"),
    ("min", "Min"), ("q25", "25%"), ("q50", "50%"), ("q75", "75%"), ("max", "Max"), ("top", "Most frequent"),
    ("top_count", "Top count"),
)
"""Profile attributes in display order, with their column headings."""


@dataclass(frozen=True)
class ColumnProfile:
    """Statistics of one column. Numeric statistics are None for columns that are not numeric."""

    name: str
    kind: str
    rows: int
    count: int
    missing: int
    unique: int
    mean: float | None = None
    std: float | None = None
    min: Any = None
    q25: Any = None
    q50: Any = None
    q75: Any = None
    max: Any = None
    top: Any = None
    top_count: int = 0
    hist_counts: tuple[int, ...] = ()
    """Numeric columns: counts of the histogram bins (finite values only)."""
    hist_edges: tuple[float, ...] = ()
    """Numeric columns: len(hist_counts) + 1 bin edges."""
    top_values: tuple[tuple[str, int], ...] = ()
    """Categorical and boolean columns: the most frequent values and their counts."""
    other_count: int = 0
    """Categorical and boolean columns: how many non-missing values are not among `top_values`."""

    @property
    def numeric(self) -> bool:
        return self.kind == "numeric"

    @property
    def distribution(self) -> tuple[int, ...]:
        """The bar heights of the column's small chart (histogram bins or top-value counts)."""
        if self.numeric:
            return self.hist_counts
        return tuple(c for _, c in self.top_values) + ((self.other_count,) if self.other_count else ())

    def stat(self, name: str) -> Any:
        return getattr(self, name)


def _scalar(value: Any) -> Any:
    """numpy/pandas scalars as plain Python values; missing as None."""
    import pandas as pd

    if value is None or (not isinstance(value, (str, bytes)) and pd.isna(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def histogram(values: np.ndarray, bins: int = HIST_BINS) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Counts and edges of the finite `values`; whole numbers in a narrow range get one bin per value."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (), ()
    lo, hi = float(finite.min()), float(finite.max())
    if hi - lo <= 1e-9 * max(1.0, abs(lo), abs(hi)):  # (nearly) constant: one bin
        edges = np.array([lo - 0.5, hi + 0.5])
    elif hi - lo < bins * 2 and np.all(np.mod(finite, 1) == 0):
        edges = np.arange(lo - 0.5, hi + 1.5)
    else:
        edges = np.histogram_bin_edges(finite, bins=bins)
    counts, edges = np.histogram(finite, bins=edges)
    return tuple(int(c) for c in counts), tuple(float(e) for e in edges)


def profile_column(series: "pd.Series", top: int = TOP_VALUES, bins: int = HIST_BINS) -> ColumnProfile:
    """Profile one column: pandas' statistics plus its histogram or most frequent values."""
    kind = kind_of_dtype(series.dtype)
    counts = series.value_counts(dropna=True)
    count = int(series.count())
    base: dict[str, Any] = {
        "name": str(series.name), "kind": kind, "rows": len(series), "count": count,
        "missing": len(series) - count, "unique": len(counts),
        "top": _scalar(counts.index[0]) if len(counts) else None,
        "top_count": int(counts.iloc[0]) if len(counts) else 0,
    }
    if kind in ("numeric", "datetime") and count:
        q = series.quantile([0.25, 0.5, 0.75])
        base.update(mean=_scalar(series.mean()), min=_scalar(series.min()), max=_scalar(series.max()),
                    q25=_scalar(q.iloc[0]), q50=_scalar(q.iloc[1]), q75=_scalar(q.iloc[2]))
    if kind == "numeric":
        if count:
            base["std"] = _scalar(series.std())
        hc, he = histogram(series.to_numpy(dtype=np.float64, na_value=np.nan), bins)
        return ColumnProfile(**base, hist_counts=hc, hist_edges=he)
    if kind == "datetime":
        return ColumnProfile(**base)
    head = counts.iloc[:top]
    values = tuple((str(_scalar(k)), int(v)) for k, v in head.items())
    return ColumnProfile(**base, top_values=values, other_count=count - int(head.sum()))


def profile_frame(frame: "pd.DataFrame", top: int = TOP_VALUES, bins: int = HIST_BINS) -> list[ColumnProfile]:
    """One profile per column, in column order."""
    return [profile_column(frame.iloc[:, i], top, bins) for i in range(frame.shape[1])]


def format_stat(value: Any) -> str:
    """A statistic as people read it: 6 significant digits, thousands separators for counts."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if np.isfinite(v) and v == int(v) and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:.6g}"
    return str(value)


def profile_rows(profiles: list[ColumnProfile]) -> list[dict[str, Any]]:
    """The statistics as plain records (for CSV export and the HTML report)."""
    return [{"column": p.name, "kind": p.kind, **{label: p.stat(attr) for attr, label in STAT_NAMES}}
            for p in profiles]
