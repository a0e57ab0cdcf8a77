"""Cross-validation that refits the whole upstream cleaning inside each fold (no leak from test folds).

A table that went through fitted column steps keeps the rows it had before them (`Table.raw`). For each
fold, every step of its recipe is refitted (`Step.refit`) on the fold's training rows only, the fold's test
rows are cleaned with those refitted steps, and a clone of the learner is fitted and predicts. This is what
a scikit-learn `Pipeline(ColumnTransformer, estimator)` inside `cross_val_predict` does, step for step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from designer.core.errors import BadInput
from designer.core.model import PREDICTION, feature_matrix, probability_column
from designer.core.recipe import Recipe, Step, apply_steps

if TYPE_CHECKING:
    import pandas as pd

    from designer.core.values import Learner, Table


def fold_splitter(task: str, folds: int, seed: int, shuffle: bool = True, grouped: bool = False) -> Any:
    """KFold for regression, StratifiedKFold for classification; the Group variants with a group column."""
    from sklearn import model_selection as ms

    rs = seed if shuffle else None
    if grouped:
        if task == "classification":
            return ms.StratifiedGroupKFold(n_splits=folds, shuffle=shuffle, random_state=rs)
        return ms.GroupKFold(n_splits=folds, shuffle=shuffle, random_state=rs)
    if task == "classification":
        return ms.StratifiedKFold(n_splits=folds, shuffle=shuffle, random_state=rs)
    return ms.KFold(n_splits=folds, shuffle=shuffle, random_state=rs)


def split_folds(splitter: Any, rows: "pd.DataFrame", y: np.ndarray, groups: np.ndarray | None,
                param: str = "folds") -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, test) positions of each fold, with scikit-learn's complaints as located errors."""
    try:
        return [(tr, te) for tr, te in splitter.split(rows, y, groups)]
    except ValueError as e:
        raise BadInput(f"cannot make the folds: {e}", param=param) from None


def refit_recipe(recipe: Recipe, frame: "pd.DataFrame", label: str | None) -> tuple[list[Step], "pd.DataFrame"]:
    """Each step refitted in turn on `frame` (the fold's training rows): (the new steps, the cleaned frame)."""
    steps: list[Step] = []
    optional = [label] if label else []
    for step in recipe:
        fresh = step.refit(frame)
        frame = fresh.transform(frame, optional)
        steps.append(fresh)
    return steps, frame


@dataclass
class FoldResult:
    """One fold: the test rows' positions, predictions (and class probabilities), the refitted steps."""

    fold: int
    test: np.ndarray
    prediction: np.ndarray
    proba: np.ndarray | None
    classes: list[Any]
    steps: list[Step]
    estimator: Any
    features: list[str]


def clean_fold(rows: "pd.DataFrame", recipe: Recipe, label: str, meta: list[str],
               train: np.ndarray) -> tuple[list[Step], "pd.DataFrame", list[str]]:
    """The recipe refitted on the training rows of one fold: (the steps, the cleaned training rows, the
    feature columns in their order: every column but the label and the meta columns)."""
    steps, clean_train = refit_recipe(recipe, rows.iloc[train], label)
    return steps, clean_train, [c for c in clean_train.columns if c != label and c not in meta]


def fit_fold(learner: "Learner", rows: "pd.DataFrame", recipe: Recipe, label: str, meta: list[str],
             train: np.ndarray, test: np.ndarray, fold: int = 0) -> FoldResult:
    """Refit the recipe on the training rows of one fold, fit a clone of the learner, predict the test rows."""
    from sklearn.base import clone

    steps, clean_train, features = clean_fold(rows, recipe, label, meta, train)
    clean_test = apply_steps(rows.iloc[test], steps, [label])
    est = clone(learner.estimator)
    est.fit(feature_matrix(clean_train[features]), clean_train[label].to_numpy())
    X = feature_matrix(clean_test[features])
    proba = est.predict_proba(X) if learner.task == "classification" and hasattr(est, "predict_proba") else None
    classes = [c.item() if isinstance(c, np.generic) else c for c in getattr(est, "classes_", [])]
    return FoldResult(fold, test, est.predict(X), proba, classes, steps, est, features)


def _folds(table: "Table", label: str, splitter: Any,
           groups: np.ndarray | None) -> tuple["pd.DataFrame", list[str], list[tuple[np.ndarray, np.ndarray]]]:
    """`table`'s rows before cleaning, its meta columns and the (train, test) positions of each fold."""
    rows = table.rows_before_recipe
    if label not in rows.columns:
        raise BadInput(f"unknown label column '{label}'", param="label", column=label)
    y = rows[label]
    if y.isna().any():
        raise BadInput(f"the label has {int(y.isna().sum())} missing values; remove those rows first",
                       param="label", column=label)
    meta = [] if table.meta is None else list(table.meta.columns)
    return rows, meta, split_folds(splitter, rows, y.to_numpy(), groups)


def cross_validate(learner: "Learner", table: "Table", label: str, splitter: Any, groups: np.ndarray | None = None,
                   on_fold: Callable[[int, int], None] | None = None) -> Iterator[FoldResult]:
    """Every fold of `table`'s rows before cleaning, with the whole recipe refitted inside each fold."""
    rows, meta, folds = _folds(table, label, splitter, groups)
    for i, (train, test) in enumerate(folds):
        if on_fold is not None:
            on_fold(i, len(folds))
        yield fit_fold(learner, rows, table.recipe, label, meta, train, test, i)


def fold_features(table: "Table", label: str, splitter: Any, groups: np.ndarray | None = None) -> list[list[str]]:
    """The feature columns of each fold, in the designer's order, as `cross_validate` fits them (the recipe
    is refitted on each fold's training rows; no learner is fitted): one-hot columns of a category that no
    training row of a fold has are not among that fold's features."""
    rows, meta, folds = _folds(table, label, splitter, groups)
    return [clean_fold(rows, table.recipe, label, meta, train)[2] for train, _ in folds]


def fold_classes(results: list[Any]) -> list[Any]:
    """The classes of every fold's estimator, sorted (also copied into exported scripts)."""
    return sorted({c for r in results for c in r.classes}, key=lambda c: (str(type(c)), c))


def out_of_fold(results: list[FoldResult], n_rows: int, task: str) -> "pd.DataFrame":
    """Every row's fold and out-of-fold prediction (and class probabilities), in row order (also copied into
    exported scripts)."""
    import pandas as pd

    fold = np.empty(n_rows, dtype=np.int64)
    preds: list[Any] = [None] * n_rows
    classes = fold_classes(results)
    proba = np.full((n_rows, len(classes)), np.nan) if task == "classification" else None
    for r in results:
        fold[r.test] = r.fold + 1
        for j, p in zip(r.test, r.prediction):
            preds[j] = p
        if proba is not None and r.proba is not None:
            for k, cls in enumerate(r.classes):
                proba[r.test, classes.index(cls)] = r.proba[:, k]
    out = pd.DataFrame({"fold": fold, PREDICTION: np.asarray(preds) if task == "classification"
                        else np.asarray(preds, dtype=np.float64)})
    if proba is not None and any(r.proba is not None for r in results):
        for k, cls in enumerate(classes):
            out[probability_column(cls)] = proba[:, k]
    return out
