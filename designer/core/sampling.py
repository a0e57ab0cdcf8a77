"""Random samples of rows that do not depend on how the rows are chunked (Partition and Sample).

Every row gets a key from `numpy.random.default_rng(seed).random()`, drawn in source order (so the same key
whether the rows come at once or in chunks of any size). A fraction keeps the rows whose key is below it; a
number of rows keeps the rows with the smallest keys; stratified, each class keeps its quota of smallest
keys (a fraction of its rows, or its share of the number, largest remainders rounded up). Only candidates
are held while rows stream in: memory is about twice the sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from designer.core.errors import BadInput

if TYPE_CHECKING:
    import pandas as pd

    from designer.core.node import RunContext
    from designer.core.stream import TableStream
    from designer.core.values import Table


def quotas(counts: dict[Any, int], mode: str, fraction: float, rows: int) -> dict[Any, int]:
    """Rows to keep per class: a fraction of each (rounded half up), or `rows` shared by size (largest
    remainders first, then class order)."""
    if mode == "fraction":
        return {c: int(np.floor(fraction * n + 0.5)) for c, n in counts.items()}
    total = sum(counts.values())
    if rows >= total:
        return dict(counts)
    exact = {c: rows * n / total for c, n in counts.items()}
    out = {c: int(np.floor(v)) for c, v in exact.items()}
    order = sorted(counts, key=lambda c: (-(exact[c] - out[c]), str(c)))
    for c in order[:rows - sum(out.values())]:
        out[c] += 1
    return out


@dataclass
class Sampler:
    """Takes rows chunk by chunk and keeps the sample's candidates."""

    mode: str
    fraction: float
    rows: int
    stratify: str
    seed: int
    quota: dict[Any, int] | None = None
    """Per class (stratified, known after counting) or {None: rows} (a number of rows)."""
    kept: list["Table"] = field(default_factory=list)
    keys: list[np.ndarray] = field(default_factory=list)
    template: "Table | None" = None

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        if not self.stratify and self.mode == "rows":
            self.quota = {None: self.rows}

    def add(self, table: "Table") -> None:
        frame = table.frame
        if self.template is None:
            self.template = table.with_frame(frame.iloc[:0])
        keys = self.rng.random(len(frame))
        if self.quota is None:  # a plain fraction: decided row by row
            mask = keys < self.fraction
            if mask.any():
                self.kept.append(table.with_frame(frame[mask]))
            return
        groups = self._groups(frame)
        limit = np.array([self.quota.get(g, 0) for g in groups]) if self.stratify else None
        mask = np.ones(len(frame), bool) if limit is None else limit > 0
        if mask.any():
            self.kept.append(table.with_frame(frame[mask]))
            self.keys.append(keys[mask])
        if sum(len(t.frame) for t in self.kept) > 2 * max(sum(self.quota.values()), 1) + len(frame):
            self._compact()

    def _groups(self, frame: "pd.DataFrame") -> list[Any]:
        if not self.stratify:
            return [None] * len(frame)
        column = frame[self.stratify]
        if column.isna().any():
            raise BadInput("the stratify column has missing values", param="stratify", column=self.stratify)
        return column.tolist()

    def _compact(self) -> None:
        """Keep only each class's quota of smallest keys among the candidates."""
        import pandas as pd

        from designer.core.stream import concat_tables

        if not self.kept:
            return
        table = concat_tables(self.kept, self.kept[0])
        keys = np.concatenate(self.keys)
        ranks = pd.DataFrame({"g": self._groups(table.frame), "k": keys}).groupby("g", sort=False, dropna=False)[
            "k"].rank(method="first").to_numpy()
        limit = np.array([self.quota.get(g, 0) for g in self._groups(table.frame)]) if self.quota else ranks
        mask = ranks <= limit
        self.kept, self.keys = [table.with_frame(table.frame[mask])], [keys[mask]]

    def result(self) -> "Table":
        from designer.core.stream import concat_tables

        if self.quota is not None:
            self._compact()
        assert self.template is not None
        table = concat_tables(self.kept, self.template)
        return table.with_frame(table.frame.sort_index(kind="stable"))


def _counts(values: Any, column: str) -> dict[Any, int]:
    import pandas as pd

    series = pd.Series(values)
    if series.isna().any():
        raise BadInput("the stratify column has missing values", param="stratify", column=column)
    return {k: int(v) for k, v in series.value_counts(sort=False).items()}


def sampler(params: Any, counts: dict[Any, int] | None) -> Sampler:
    s = Sampler(params.mode, params.fraction, params.rows, params.stratify, params.seed)
    if params.stratify:
        assert counts is not None
        s.quota = quotas(counts, params.mode, params.fraction, params.rows)
    return s


def _check_column(table: "Table", params: Any) -> None:
    if params.stratify and params.stratify not in table.frame.columns:
        raise BadInput(f"unknown column '{params.stratify}'", param="stratify", column=params.stratify)


def sampled_rows(df: "pd.DataFrame", mode: str, fraction: float, rows: int, stratify: str,
                 seed: int) -> "pd.DataFrame":
    """The rows of `df` that Partition and Sample keeps, in index order: every row's key drawn from
    `default_rng(seed)` in row order; the keys below `fraction`, the `rows` smallest keys, or (stratified) each
    class's quota of smallest keys. Missing values in the stratify column raise ValueError. Exported scripts
    copy this function and `quotas`."""
    import numpy as np
    import pandas as pd

    keys = np.random.default_rng(seed).random(len(df))
    if mode == "fraction" and not stratify:
        return df[keys < fraction].sort_index(kind="stable")
    if stratify:
        groups = df[stratify]
        if groups.isna().any():
            raise ValueError("the stratify column has missing values")
        counts = {k: int(v) for k, v in groups.value_counts(sort=False).items()}
        quota = quotas(counts, mode, fraction, rows)
        limit = np.array([quota[g] for g in groups.tolist()])
    else:
        groups = pd.Series(0, index=df.index)
        limit = np.full(len(df), rows)
    ranks = pd.Series(keys, index=df.index).groupby(groups.to_numpy(), sort=False).rank(method="first")
    return df[ranks.to_numpy() <= limit].sort_index(kind="stable")


def sample_table(table: "Table", params: Any) -> "Table":
    """The sample of a table in memory."""
    _check_column(table, params)
    try:
        frame = sampled_rows(table.frame, params.mode, params.fraction, params.rows, params.stratify, params.seed)
    except ValueError as e:  # sampled_rows raises it only for missing stratify values
        raise BadInput(str(e), param="stratify", column=params.stratify) from None
    return table.with_frame(frame)


def sample_stream(stream: "TableStream", params: Any, ctx: "RunContext") -> "Table":
    """The sample of rows read in chunks; stratified samples read them twice (first to count the classes)."""
    from collections import Counter

    from designer.core.stream import pull

    counts: dict[Any, int] | None = None
    if params.stratify:
        tally: Counter[Any] = Counter()
        for chunk in pull(stream, ctx, "counting classes of"):
            _check_column(chunk, params)
            tally.update(_counts(chunk.frame[params.stratify], params.stratify))
        counts = dict(tally)
    s = sampler(params, counts)
    for chunk in pull(stream, ctx, "sampling"):
        _check_column(chunk, params)
        s.add(chunk)
    if s.template is None:
        raise BadInput("there are no rows to sample", port="data")
    return s.result()
