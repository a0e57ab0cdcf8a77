"""A trained model: recipe + estimator + input schema + label/task, and scoring with it (DESIGN §3).

Score Model and bundle scoring both call `TrainedModel.score`, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from designer.core.errors import BadInput
from designer.core.recipe import Recipe, apply_steps, check_numeric, pending_steps, row_number
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


def feature_matrix(frame: "pd.DataFrame") -> np.ndarray:
    """Features as one C-ordered float64 array: the layout scikit-learn's own transformers hand on, so
    fitting and predicting give bit-identical results to a hand-written scikit-learn Pipeline."""
    return np.ascontiguousarray(frame.to_numpy(dtype=np.float64))


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

    # -------------------------------------------------------------------------------------- scoring
    def check_input(self, frame: "pd.DataFrame", node: str | None = None) -> None:
        """Raw rows must have every input column with a compatible type."""
        for name, kind in self.input_schema.columns:
            if name not in frame.columns:
                raise BadInput(f"missing from the data; the model was trained with columns "
                               f"{', '.join(self.input_schema.names)}", node=node, column=name)
            if kind == "numeric":
                check_numeric(frame[name], node=node, column=name)

    def prepare(self, table: Table, node: str | None = None) -> "pd.DataFrame":
        """Apply the recipe steps `table` has not been through yet; returns the cleaned frame."""
        steps = pending_steps(table.step_ids, self.recipe, node=node)
        if not table.recipe:
            self.check_input(table.frame, node=node)
        optional = [self.label] if self.label else []
        return apply_steps(table.frame, steps, optional)

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
        self._check_missing(X, features, node)
        out = table.frame.copy(deep=False)
        if with_features:
            for name in self.features:
                out[f"{FEATURE_PREFIX}{name}"] = features[name].to_numpy()
        if self.task == "clustering":
            out[CLUSTER] = est.predict(X)
            out[DISTANCE] = np.min(est.transform(X), axis=1)
        else:
            out[PREDICTION] = est.predict(X)
            if self.task == "classification" and hasattr(est, "predict_proba"):
                proba = est.predict_proba(X)
                for i, cls in enumerate(est.classes_):
                    out[probability_column(cls)] = proba[:, i]
        scored = {"task": self.task, "label": self.label, "model": self.node_id,
                  "features": list(self.features), "classes": [_plain(c) for c in getattr(est, "classes_", [])]}
        applied = pending_steps(table.step_ids, self.recipe)
        return Table(frame=out, recipe=table.recipe + tuple(applied), source_schema=table.source_schema,
                     sources=table.sources, scored=scored, meta=table.meta, features=features)

    def _check_missing(self, X: np.ndarray, features: "pd.DataFrame", node: str | None) -> None:
        """Missing values reach the estimator only if it handles them (boosted trees do, linear models do not)."""
        from sklearn.utils import get_tags

        if get_tags(self.estimator).input_tags.allow_nan:
            return
        rows, cols = np.nonzero(np.isnan(X))
        if len(rows):
            raise BadInput(f"has a missing value at row {row_number(features, rows[0])} that the model cannot take; "
                           "the training rows had none (missing values were removed by a row step, which scoring does not "
                           "replay); fill them with Clean Missing Data before training", node=node,
                           column=str(features.columns[cols[0]]))

    def describe(self) -> dict[str, Any]:
        return {"node": self.node_id, "task": self.task, "label": self.label, "features": self.features,
                "learner": self.learner, "recipe": [s.describe() for s in self.recipe],
                "input_schema": self.input_schema.to_json(), "train_rows": self.train_rows}


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
