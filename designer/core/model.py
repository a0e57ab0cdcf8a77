"""A trained model: recipe + estimator + input schema + label/task, and scoring with it (DESIGN §3).

Score Model and bundle scoring both call `TrainedModel.score`, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from designer.core.errors import BadInput
from designer.core.recipe import (Recipe, apply_steps, check_numeric, located_values, pending_steps, row_number,
                                   to_numbers)
from designer.core.schema import TableSchema
from designer.core.values import DataSource, Table

if TYPE_CHECKING:
    import pandas as pd

PREDICTION = "prediction"
CLUSTER = "cluster"
DISTANCE = "distance"
FEATURE_PREFIX = "feature:"


def probability_column(cls: Any) -> str:
    return f"probability_{cls}"


SAMPLE_ROWS = 20


def input_sample(table: Table, columns: list[str]) -> "pd.DataFrame | None":
    """Up to SAMPLE_ROWS raw input rows of `table`'s source: its training rows first, else the first rows."""
    sample = table.source_sample
    if sample is None or any(c not in sample.columns for c in columns):
        return None
    train = sample.index.intersection(table.frame.index)
    rows = sample.loc[train] if len(train) else sample
    return rows[columns].head(SAMPLE_ROWS).reset_index(drop=True)


COPY_BLOCK_BYTES = 1 << 21
"""Bytes of rows copied at a time when a frame's columns are turned into rows (see `feature_matrix`)."""


def feature_matrix(frame: "pd.DataFrame") -> np.ndarray:
    """Features as one C-ordered float64 array: the layout scikit-learn's own transformers hand on, so
    fitting and predicting give bit-identical results to a hand-written scikit-learn Pipeline.

    pandas keeps columns, so its array is column-ordered; it is copied into row order a block of rows at a
    time (one `np.ascontiguousarray` of 800,000 rows x 29 columns strides across the whole array for every
    row and took 0.4 s; by blocks that stay in the CPU cache, 0.07 s)."""
    values = frame.to_numpy(dtype=np.float64)
    if values.flags.c_contiguous:
        return values
    out = np.empty(values.shape, dtype=np.float64)
    step = max(1, COPY_BLOCK_BYTES // (8 * max(1, values.shape[1])))
    for start in range(0, len(values), step):
        out[start:start + step] = values[start:start + step]
    return out


ROW_BLOCK = 4
"""Rows per BLAS micro-kernel: the last `n % 4` rows of a batch (and batches of 1-3 rows) go through other
kernels that sum in another order, so one row's linear prediction could differ in its last bits depending on
the batch it came in. Every batch is padded to a multiple of 4 rows, so a row's prediction depends on the row
alone: `score` of a file, the Score node and one row at a time through `serve` agree bit for bit."""

_blas: Any = None


def _single_thread_blas() -> Any:
    """A context that keeps BLAS on one thread while predicting (a multithreaded BLAS splits rows among
    threads, and each thread's last rows again go through other kernels); a no-op where it already is."""
    global _blas
    if _blas is None:
        from contextlib import nullcontext

        from threadpoolctl import ThreadpoolController

        blas = ThreadpoolController().select(user_api="blas")
        many = any(info.get("num_threads", 1) > 1 for info in blas.info())
        _blas = (lambda: blas.limit(limits=1)) if many else nullcontext
    return _blas()


def padded_rows(X: np.ndarray) -> np.ndarray:
    """`X` with copies of its last row appended up to a multiple of ROW_BLOCK rows (at least ROW_BLOCK)."""
    n = len(X)
    pad = ROW_BLOCK - n if n < ROW_BLOCK else -n % ROW_BLOCK
    if pad == 0 or n == 0:
        return X
    return np.ascontiguousarray(np.concatenate([X, np.repeat(X[-1:], pad, axis=0)]))


def predict_outputs(estimator: Any, task: str, X: np.ndarray) -> dict[str, np.ndarray]:
    """The prediction columns for feature rows `X`: `prediction` (+ `probability_<class>`), or `cluster` and
    `distance`. Each row's values depend on that row only (see ROW_BLOCK)."""
    n = len(X)
    if n == 0:
        if task == "clustering":
            return {CLUSTER: np.empty(0, np.int32), DISTANCE: np.empty(0)}
        classes = getattr(estimator, "classes_", None)
        return {PREDICTION: np.empty(0, classes.dtype if classes is not None else np.float64)}
    Xp = padded_rows(X)
    with _single_thread_blas():
        if task == "clustering":
            return {CLUSTER: estimator.predict(Xp)[:n], DISTANCE: np.min(estimator.transform(Xp), axis=1)[:n]}
        out = {PREDICTION: estimator.predict(Xp)[:n]}
        if task == "classification" and hasattr(estimator, "predict_proba"):
            proba = estimator.predict_proba(Xp)[:n]
            for i, cls in enumerate(estimator.classes_):
                out[probability_column(cls)] = proba[:, i]
    return out


@dataclass
class TrainedModel:
    """Everything needed to score new raw rows exactly as the training rows were treated."""

    node_id: str
    task: str
    estimator: Any
    features: list[str]
    recipe: Recipe
    input_schema: TableSchema
    label: str | None = None
    learner: dict[str, Any] = field(default_factory=dict)
    sources: tuple[DataSource, ...] = ()
    train_rows: int = 0
    sample: "pd.DataFrame | None" = None
    """A few raw input rows (training rows when there are any among the source's first rows), kept in the
    bundle so an exported scoring script can check its predictions against the designer's."""
    reference: dict[str, Any] | None = None
    """The reference profile for drift (designer.core.drift): the raw input columns of the training rows and
    the predictions; saved in bundles as `reference.json`. None for models from older bundles."""
    train_index: Any = field(default=None, repr=False, compare=False)
    """Source row positions of the training rows, during a run only (to tell held-out scored rows apart)."""

    # -------------------------------------------------------------------------------------- scoring
    def check_input(self, frame: "pd.DataFrame", node: str | None = None) -> "pd.DataFrame":
        """Raw rows must have every input column with a compatible type; returns them with numeric columns
        that arrived as text or as integers beyond 64 bits (pandas keeps those as Python ints) as numbers."""
        from designer.core.schema import kind_of_dtype

        numbers = {}
        for name, kind in self.input_schema.columns:
            if name not in frame.columns:
                raise BadInput(f"missing from the data; the model was trained with columns "
                               f"{', '.join(self.input_schema.names)}", node=node, column=name)
            if kind == "numeric":
                check_numeric(frame[name], node=node, column=name)
                if kind_of_dtype(frame[name].dtype) != "numeric":
                    numbers[name] = to_numbers(frame[name])
        return frame.assign(**numbers) if numbers else frame

    def prepare(self, table: Table, node: str | None = None) -> "pd.DataFrame":
        """Apply the recipe steps `table` has not been through yet; returns the cleaned frame."""
        steps = pending_steps(table.step_ids, self.recipe, node=node)
        frame = table.frame if table.recipe else self.check_input(table.frame, node=node)
        optional = [self.label] if self.label else []
        return apply_steps(frame, steps, optional)

    def features_of(self, frame: "pd.DataFrame", node: str | None = None) -> "pd.DataFrame":
        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            raise BadInput(f"feature column '{missing[0]}' is missing after cleaning", node=node,
                           column=missing[0])
        return frame[self.features]

    def score(self, table: Table, node: str | None = None, with_features: bool = False) -> Table:
        """Clean what still needs cleaning and predict. The scored table is the rows as given (meta columns
        and input columns, unchanged) plus the prediction columns; `with_features` also adds the features
        as the model saw them, as `feature:<name>` columns."""
        frame = self.prepare(table, node=node)
        features = self.features_of(frame, node=node)
        X = feature_matrix(features)
        est = self.estimator
        self.check_missing(X, node, features)
        out = table.frame.copy(deep=False)
        if with_features:
            for name in self.features:
                out[f"{FEATURE_PREFIX}{name}"] = features[name].to_numpy()
        with located_values(features, self.features, node, "the model"):
            for name, values in predict_outputs(est, self.task, X).items():
                out[name] = values
        scored = {"task": self.task, "label": self.label, "model": self.node_id,
                  "features": list(self.features), "classes": [_plain(c) for c in getattr(est, "classes_", [])]}
        applied = pending_steps(table.step_ids, self.recipe)
        return Table(frame=out, recipe=table.recipe + tuple(applied), source_schema=table.source_schema,
                     sources=table.sources, scored=scored, meta=table.meta, features=features)

    def check_missing(self, X: np.ndarray, node: str | None = None, features: "pd.DataFrame | None" = None) -> None:
        """Missing values reach the estimator only if it handles them (boosted trees do, linear models do not).
        `features` (the rows of X) gives the row number in the source, also in chunk k of a file."""
        from sklearn.utils import get_tags

        if get_tags(self.estimator).input_tags.allow_nan:
            return
        rows, cols = np.nonzero(np.isnan(X))
        if len(rows):
            row = row_number(features, int(rows[0])) if features is not None else int(rows[0]) + 1
            raise BadInput(f"has a missing value at row {row} that the model cannot take; the training rows had "
                           "none (missing values were removed by a row step, which scoring does not replay); fill "
                           "them with Clean Missing Data before training", node=node,
                           column=str(self.features[cols[0]]))

    def describe(self) -> dict[str, Any]:
        return {"node": self.node_id, "task": self.task, "label": self.label, "features": self.features,
                "learner": self.learner, "recipe": [s.describe() for s in self.recipe],
                "input_schema": self.input_schema.to_json(), "train_rows": self.train_rows}


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
