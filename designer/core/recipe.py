"""Fitted column steps: the recipe a Table carries and a Model replays (DESIGN §3).

A step is fitted on the rows that flow into its node during a run, then applied to any later rows
unchanged. Each step is a plain object (names, lists, fitted scikit-learn transformers) so `skops`
can save it without pickle.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import numpy as np

from designer.core.errors import BadInput
from designer.core.schema import kind_of_dtype
from designer.core.trust import bundle_type

if TYPE_CHECKING:
    import pandas as pd


class Step:
    """A fitted column transformation, tagged with the node (and run fingerprint) that fitted it."""

    kind = "step"

    def __init__(self, node_id: str, step_id: str, title: str, columns: list[str], kinds: dict[str, str],
                 fits_statistics: bool) -> None:
        self.node_id = node_id
        self.step_id = step_id
        self.title = title
        self.columns = list(columns)
        self.kinds = dict(kinds)
        self.fits_statistics = fits_statistics

    # -- applying ------------------------------------------------------------------------------------
    def transform(self, frame: "pd.DataFrame", optional: Iterable[str] = ()) -> "pd.DataFrame":
        """Apply to `frame`. Fitted columns listed in `optional` (the label at scoring) may be absent."""
        optional = set(optional)
        placeholders = []
        for col in self.columns:
            if col not in frame.columns:
                if col in optional:
                    placeholders.append(col)
                    continue
                raise BadInput(f"missing from the data; '{self.title}' was fitted with it",
                               node=self.node_id, column=col)
            self._check_kind(frame, col)
        if placeholders:
            frame = frame.assign(**{c: np.nan for c in placeholders})
        with located_values(frame, self.columns, self.node_id, f"'{self.title}'"):
            out = self._apply(frame)
        if placeholders:
            out = out.drop(columns=[c for p in placeholders for c in self.outputs_of(p) if c in out.columns])
        return out

    def _check_kind(self, frame: "pd.DataFrame", col: str) -> None:
        if self.kinds.get(col) == "numeric":
            check_numeric(frame[col], node=self.node_id, column=col)

    def _apply(self, frame: "pd.DataFrame") -> "pd.DataFrame":
        raise NotImplementedError

    def outputs_of(self, column: str) -> list[str]:
        """The output columns that come from input `column`."""
        return [column]

    def describe(self) -> dict[str, Any]:
        """What this step learned, for people (the model viewer, the manifest)."""
        return {"node": self.node_id, "step": self.title, "columns": self.columns}

    # -- refitting ------------------------------------------------------------------------------------
    def refit(self, frame: "pd.DataFrame") -> "Step":
        """A fresh step with the same parameters fitted on `frame` (cross-validation folds): steps that
        learn nothing from rows return themselves."""
        return self

    def _args(self) -> dict[str, Any]:
        return {"node_id": self.node_id, "step_id": self.step_id, "title": self.title, "columns": self.columns,
                "kinds": self.kinds, "fits_statistics": self.fits_statistics}


def sklearn_input(data: "pd.DataFrame") -> "pd.DataFrame":
    """Numeric columns as they are; text columns as object with NaN for missing, as scikit-learn expects."""
    if all(kind_of_dtype(t) == "numeric" for t in data.dtypes):
        return data
    return as_categories(data)


def as_categories(data: Any) -> Any:
    """Values as plain Python objects with NaN for missing (how encoders see categories)."""
    return data.astype(object).where(data.notna(), np.nan)


def _replace_columns(frame: "pd.DataFrame", columns: list[str], values: np.ndarray,
                     extra: dict[str, np.ndarray] | None = None) -> "pd.DataFrame":
    out = frame.copy(deep=False)
    for i, col in enumerate(columns):
        out[col] = values[:, i]
    for name, col_values in (extra or {}).items():
        out[name] = col_values
    return out


@bundle_type
class TransformerStep(Step):
    """A fitted scikit-learn transformer applied 1:1 to its columns (imputer, scaler)."""

    kind = "transformer"

    def __init__(self, transformer: Any, **kw: Any) -> None:
        super().__init__(**kw)
        self.transformer = transformer

    def _apply(self, frame: "pd.DataFrame") -> "pd.DataFrame":
        values = self.transformer.transform(sklearn_input(frame[self.columns]))
        values = np.asarray(values)
        n = len(self.columns)
        extra = {}
        if values.shape[1] > n:  # SimpleImputer(add_indicator=True) appends indicator columns
            ind = self.transformer.indicator_
            for j, feat in enumerate(ind.features_):
                extra[f"{self.columns[feat]}_missing"] = values[:, n + j].astype(np.float64)
            values = values[:, :n]
        out = _replace_columns(frame, self.columns, values)
        for col in self.columns:
            if self.kinds.get(col) == "numeric":
                out[col] = out[col].astype(np.float64)
        for name, vals in extra.items():
            out[name] = vals
        return out

    def outputs_of(self, column: str) -> list[str]:
        return [column, f"{column}_missing"]

    def refit(self, frame: "pd.DataFrame") -> "TransformerStep":
        from sklearn.base import clone

        data = frame[self.columns]
        data = sklearn_input(data) if type(self.transformer).__name__ == "SimpleImputer" else data
        return TransformerStep(clone(self.transformer).fit(data), **self._args())

    def describe(self) -> dict[str, Any]:
        t = self.transformer
        learned: dict[str, Any] = {}
        for attr in ("statistics_", "mean_", "scale_", "data_min_", "data_max_", "center_", "max_abs_"):
            if hasattr(t, attr):
                learned[attr.rstrip("_")] = dict(zip(self.columns, _plain(getattr(t, attr))))
        return {**super().describe(), "method": type(t).__name__, "learned": learned}


@bundle_type
class EncodeStep(Step):
    """One-hot or ordinal encoding of categorical columns, with categories learned at fit time."""

    kind = "encode"

    def __init__(self, encoder: Any, unseen: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.encoder = encoder
        self.unseen = unseen

    def _check_kind(self, frame: "pd.DataFrame", col: str) -> None:
        return None  # categories are compared as values below

    def _check_unseen(self, frame: "pd.DataFrame") -> None:
        if self.unseen != "error":
            return
        for col, cats in zip(self.columns, self.encoder.categories_):
            values = frame[col]
            known = set(cats.tolist())
            has_nan_cat = any(isinstance(c, float) and np.isnan(c) for c in cats.tolist())
            mask = ~values.isin(list(known))
            if has_nan_cat:
                mask &= values.notna()
            if mask.any():
                row = mask.to_numpy().nonzero()[0][0]
                raise BadInput(
                    f"unseen category {quote(values.iloc[row])} at row {row_number(values, row)}; '{self.title}' "
                    "knows only "
                    f"{', '.join(quote(c) for c in cats.tolist()[:10])}"
                    f"{' …' if len(cats) > 10 else ''}",
                    node=self.node_id, column=col)

    def _apply(self, frame: "pd.DataFrame") -> "pd.DataFrame":
        import pandas as pd

        self._check_unseen(frame)
        data = as_categories(frame[self.columns])
        values = np.asarray(self.encoder.transform(data), dtype=np.float64)
        names = list(self.encoder.get_feature_names_out(self.columns))
        if len(names) == len(self.columns) and names == self.columns:
            return _replace_columns(frame, self.columns, values)
        encoded = pd.DataFrame(values, columns=names, index=frame.index)
        parts: list[pd.DataFrame] = []
        first = min(frame.columns.get_loc(c) for c in self.columns)
        rest = frame.drop(columns=self.columns)
        parts = [rest.iloc[:, :first], encoded, rest.iloc[:, first:]]
        return pd.concat(parts, axis=1)

    def refit(self, frame: "pd.DataFrame") -> "EncodeStep":
        from sklearn.base import clone

        return EncodeStep(clone(self.encoder).fit(as_categories(frame[self.columns])), self.unseen, **self._args())

    def outputs_of(self, column: str) -> list[str]:
        i = self.columns.index(column)
        if type(self.encoder).__name__ == "OrdinalEncoder":
            return [column]
        return [f"{column}_{c}" for c in self.encoder.categories_[i].tolist()]

    def describe(self) -> dict[str, Any]:
        cats = {c: _plain(v) for c, v in zip(self.columns, self.encoder.categories_)}
        return {**super().describe(), "method": type(self.encoder).__name__, "unseen": self.unseen,
                "learned": {"categories": cats}}


@bundle_type
class ClipStep(Step):
    """Clip numeric columns to bounds fixed (or learned as percentiles) at fit time."""

    kind = "clip"

    def __init__(self, lower: list[float | None], upper: list[float | None],
                 percentiles: tuple[float, float] | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.lower = list(lower)
        self.upper = list(upper)
        self.percentiles = None if percentiles is None else [float(p) for p in percentiles]
        """The percentiles the bounds were learned at (None: fixed bounds)."""

    def refit(self, frame: "pd.DataFrame") -> "ClipStep":
        pct = getattr(self, "percentiles", None)  # bundles from before refitting existed have none
        if pct is None:
            return self
        lower, upper = percentile_bounds(frame[self.columns], *pct)
        return ClipStep(list(lower), list(upper), pct, **self._args())

    def _apply(self, frame: "pd.DataFrame") -> "pd.DataFrame":
        return clip_columns(frame, self.columns, self.lower, self.upper)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "learned": {"lower": dict(zip(self.columns, self.lower)),
                                                  "upper": dict(zip(self.columns, self.upper))}}


@bundle_type
class SelectStep(Step):
    """Keep exactly these columns, in this order."""

    kind = "select"

    def _check_kind(self, frame: "pd.DataFrame", col: str) -> None:
        return None

    def _apply(self, frame: "pd.DataFrame") -> "pd.DataFrame":
        return frame[self.columns]


@bundle_type
class DropStep(Step):
    """Drop these columns (decided at fit time, e.g. too many missing values)."""

    kind = "drop"

    def _check_kind(self, frame: "pd.DataFrame", col: str) -> None:
        return None

    def __init__(self, candidates: list[str] | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.candidates = None if candidates is None else list(candidates)
        """Columns dropped when they have missing values (None: always drop `columns`)."""

    def transform(self, frame: "pd.DataFrame", optional: Iterable[str] = ()) -> "pd.DataFrame":
        return frame.drop(columns=self.columns, errors="ignore")

    def refit(self, frame: "pd.DataFrame") -> "DropStep":
        candidates = getattr(self, "candidates", None)
        if candidates is None:
            return self
        drop = [c for c in candidates if frame[c].isna().any()]
        return DropStep(candidates, **{**self._args(), "columns": drop, "kinds": {c: self.kinds.get(c, "unknown")
                                                                                 for c in drop}})

    def outputs_of(self, column: str) -> list[str]:
        return []


@bundle_type
class EditStep(Step):
    """Cast column types and rename columns."""

    kind = "edit"

    def __init__(self, casts: dict[str, str], renames: dict[str, str], **kw: Any) -> None:
        super().__init__(**kw)
        self.casts = dict(casts)
        self.renames = dict(renames)

    def _check_kind(self, frame: "pd.DataFrame", col: str) -> None:
        return None

    def _apply(self, frame: "pd.DataFrame") -> "pd.DataFrame":
        return edit_columns(frame, self.casts, self.renames, cast=self._cast)

    def _cast(self, series: "pd.Series", kind: str) -> "pd.Series":
        return cast_series(series, kind, node=self.node_id, column=str(series.name))

    def outputs_of(self, column: str) -> list[str]:
        return [self.renames.get(column, column)]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "learned": {"casts": self.casts, "renames": self.renames}}


_NON_FINITE = re.compile(r"Input (X|y)\b.* contains (NaN|infinity)")


def row_number(frame: "pd.Series | pd.DataFrame", position: int) -> int:
    """The 1-based data row a user can find: the row of the source (index label) when the table kept its
    source's integer row labels (through splits and shuffles, and chunks of a file read in pieces), else the
    position."""
    label = frame.index[position]
    return int(label) + 1 if isinstance(label, (int, np.integer)) and not isinstance(label, bool) else position + 1


def quote(value: Any, limit: int = 60) -> str:
    """repr of a cell for a message, cut short (a 5,000-digit cell must not become a 5,000-character message)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def non_finite_value(frame: "pd.DataFrame", columns: Iterable[str], infinite: bool, node: str | None,
                     who: str) -> BadInput | None:
    """A located BadInput for the first infinite (or missing) value in `columns` of `frame`, saying which
    module fixes it; None when there is none."""

    for col in columns:
        if col not in frame.columns:
            continue
        values = to_numbers(frame[col]) if infinite else frame[col]
        bad = np.isinf(values.to_numpy(dtype=np.float64, na_value=np.nan)) if infinite else values.isna().to_numpy()
        if bad.any():
            row = row_number(frame, int(bad.nonzero()[0][0]))
            if infinite:
                return BadInput(f"has an infinite value at row {row}, which {who} cannot take; limit the column "
                                "with Clip Values (mode bounds) or remove those rows first", node=node, column=col)
            return BadInput(f"has a missing value at row {row}, which {who} cannot take; fill or remove missing "
                            "values with Clean Missing Data first", node=node, column=col)
    return None


@contextmanager
def located_values(frame: "pd.DataFrame", columns: Iterable[str], node: str | None, who: str,
                   label: str | None = None) -> Iterator[None]:
    """Turn scikit-learn's "Input X contains NaN / infinity" (from fit, transform or predict) into a
    BadInput naming the column and row of the first such value in `frame` (the label for "Input y") and the
    module that fixes it. Estimators that take such values (boosted trees) never raise it."""
    try:
        yield
    except ValueError as e:
        m = _NON_FINITE.search(str(e))
        cols = [label] if m and m.group(1) == "y" and label else list(columns)
        found = non_finite_value(frame, cols, m.group(2) == "infinity", node, who) if m else None
        if found is None:
            raise
        raise found from None


def to_numbers(series: "pd.Series") -> "pd.Series":
    """`pd.to_numeric(series, errors="coerce")` that also takes integers too large for a float (pandas reads
    a 400-digit integer as a Python int, which to_numeric cannot convert): they become ±inf, as a decimal
    number that long does, and are then refused where infinity is (naming the row)."""
    import pandas as pd

    try:
        return pd.to_numeric(series, errors="coerce")
    except OverflowError:
        return pd.to_numeric(series.map(lambda v: str(v) if isinstance(v, int) and not isinstance(v, bool) else v),
                             errors="coerce")


Bounds = list[float | None]
"""Per-column clip bounds (None: no bound on that side)."""


def percentile_bounds(data: "pd.DataFrame", lower: float, upper: float) -> tuple[Bounds, Bounds]:
    """Per-column percentile bounds of numeric columns (missing values ignored)."""
    values = data.to_numpy(dtype=np.float64)
    lo = np.nanpercentile(values, lower, axis=0)
    hi = np.nanpercentile(values, upper, axis=0)
    return [float(v) for v in lo], [float(v) for v in hi]


def clip_columns(frame: "pd.DataFrame", columns: list[str], lower: Bounds, upper: Bounds) -> "pd.DataFrame":
    """Clip Values' step: `frame` with each of `columns` as float64 clipped to its bounds (None: no bound on
    that side). Exported scripts copy it with `percentile_bounds`."""
    out = frame.copy(deep=False)
    for col, lo, hi in zip(columns, lower, upper):
        out[col] = frame[col].astype(np.float64).clip(lower=lo, upper=hi)
    return out


def check_numeric(series: "pd.Series", node: str | None = None, column: str | None = None) -> None:
    """Refuse a column that should hold numbers but holds text, quoting the first value that is not a number."""

    if kind_of_dtype(series.dtype) == "numeric":
        return
    as_numbers = to_numbers(series)
    bad = as_numbers.isna() & series.notna()
    if bad.any():
        row = bad.to_numpy().nonzero()[0][0]
        raise BadInput(f"expected numbers but found {quote(series.iloc[row])} (row {row_number(series, row)})",
                       node=node, column=column)


def cast_values(series: "pd.Series", kind: str) -> "pd.Series":
    """`series` cast to a kind: numeric (float64), categorical (plain Python values, NaN for missing), boolean
    or datetime. A value that is not a number, or an unknown kind, raises ValueError (naming the value and its
    row); pandas raises its own for a date it cannot read. Exported scripts copy it."""
    import pandas as pd

    if kind == "numeric":
        converted = to_numbers(series)
        bad = converted.isna() & series.notna()
        if bad.any():
            row = bad.to_numpy().nonzero()[0][0]
            raise ValueError(f"cannot cast {quote(series.iloc[row])} (row {row_number(series, row)}) to a number")
        return converted.astype(np.float64)
    if kind == "categorical":
        return as_categories(series)
    if kind == "boolean":
        return series.astype(bool)
    if kind == "datetime":
        return pd.to_datetime(series, errors="raise")
    raise ValueError(f"unknown type '{kind}'")


def cast_series(series: "pd.Series", kind: str, node: str | None = None, column: str | None = None) -> "pd.Series":
    """`cast_values`, its refusal of a value (or of a kind) as a BadInput naming the node and column."""
    try:
        return cast_values(series, kind)
    except ValueError as e:
        if kind == "datetime":
            raise  # pandas' own message, as it was
        raise BadInput(str(e), node=node, column=column) from None


def edit_columns(frame: "pd.DataFrame", casts: dict[str, str], renames: dict[str, str],
                 cast: "Callable[[pd.Series, str], pd.Series] | None" = None) -> "pd.DataFrame":
    """Edit Metadata's step: `frame` with the columns of `casts` cast to their kinds (`cast_values`, or
    `cast(series, kind)`), then the columns of `renames` renamed. Exported scripts copy it."""
    out = frame.copy(deep=False)
    for col, kind in casts.items():
        out[col] = (cast or cast_values)(out[col], kind)
    return out.rename(columns=renames)


def _plain(values: Any) -> list[Any]:
    out: list[Any] = []
    for v in np.asarray(values, dtype=object).tolist():
        if isinstance(v, float) and np.isnan(v):
            out.append(None)
        elif isinstance(v, np.generic):
            out.append(v.item())
        elif isinstance(v, np.ndarray):
            out.append(_plain(v))
        else:
            out.append(v)
    return out


Recipe = tuple[Step, ...]


def pending_steps(applied: Iterable[str], recipe: Recipe, node: str | None = None) -> list[Step]:
    """The steps of `recipe` a table that went through `applied` step ids still needs, in order.

    A table may have gone through a prefix-free subset of the recipe (cleaning before a split is shared,
    cleaning after it is not), but never through a step the recipe does not hold, and never through a
    later step while missing an earlier one.
    """
    applied = list(applied)
    ids = [s.step_id for s in recipe]
    foreign = [a for a in applied if a not in ids]
    if foreign:
        raise BadInput(f"the data went through a fitted step ({foreign[0].split('@')[0]}) that the model "
                       f"never saw; score data that is raw or cleaned by the model's own upstream steps",
                       node=node, port="data")
    pending = [s for s in recipe if s.step_id not in applied]
    if applied and pending:
        last_applied = max(ids.index(a) for a in applied)
        early = [s for s in pending if ids.index(s.step_id) < last_applied]
        if early:
            raise BadInput(f"the data skipped the step '{early[0].title}' ({early[0].node_id}) but went through "
                           "later ones", node=node, port="data")
    return pending


def apply_steps(frame: "pd.DataFrame", steps: Iterable[Step], optional: Iterable[str] = ()) -> "pd.DataFrame":
    for step in steps:
        frame = step.transform(frame, optional)
    return frame
