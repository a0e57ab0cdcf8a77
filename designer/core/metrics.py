"""Evaluation metrics as pure functions of true and predicted values (scikit-learn does the work).

Evaluate Model (nodes/evaluate.py) and `pipeline-designer capture join` (live data joined with actuals) both
call these, so a metric means the same everywhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PLOT_POINTS = 5000
"""At most this many points per plot in a report (a fixed sample); metrics always use every row."""


def sample_positions(n: int, cap: int = PLOT_POINTS) -> np.ndarray:
    """Sorted positions of at most `cap` of `n` rows, the same every time (fixed seed)."""
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, cap, replace=False))


def thin_curve(curve: dict[str, Any], keys: tuple[str, ...], cap: int = PLOT_POINTS) -> dict[str, Any]:
    """A curve with at most `cap` points, evenly spaced along it (first and last point kept)."""
    n = len(curve[keys[0]])
    if n <= cap:
        return curve
    idx = np.unique(np.linspace(0, n - 1, cap).round().astype(int))
    return {**curve, **{k: np.asarray(curve[k])[idx].tolist() for k in keys}}


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from sklearn import metrics as m

    dev = y - y.mean()
    with np.errstate(divide="ignore", invalid="ignore"):  # a constant label: undefined (NaN; null in JSON)
        relative = (float(np.abs(y - pred).sum() / np.abs(dev).sum()),
                    float(((y - pred) ** 2).sum() / (dev ** 2).sum()))
    return {
        "mae": float(m.mean_absolute_error(y, pred)),
        "rmse": float(np.sqrt(m.mean_squared_error(y, pred))),
        "r2": float(m.r2_score(y, pred)),
        "relative_absolute_error": relative[0],
        "relative_squared_error": relative[1],
    }


def classification_metrics(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None,
                           classes: list[Any]) -> tuple[dict[str, float], dict[str, Any]]:
    from sklearn import metrics as m

    binary = len(classes) == 2
    avg: dict[str, Any] = {"average": "binary", "pos_label": classes[1]} if binary else {"average": "macro"}
    out = {
        "accuracy": float(m.accuracy_score(y, pred)),
        "precision": float(m.precision_score(y, pred, zero_division=0, **avg)),
        "recall": float(m.recall_score(y, pred, zero_division=0, **avg)),
        "f1": float(m.f1_score(y, pred, zero_division=0, **avg)),
    }
    plots: dict[str, Any] = {"classes": [str(c) for c in classes],
                             "confusion": m.confusion_matrix(y, pred, labels=classes).tolist()}
    present = set(np.unique(y).tolist())
    if proba is not None and present == set(classes):
        if binary:
            out["roc_auc"] = float(m.roc_auc_score(y == classes[1], proba[:, 1]))
        else:
            out["roc_auc"] = float(m.roc_auc_score(y, proba, multi_class="ovr", labels=classes))
        curves = []
        for i, cls in enumerate(classes if not binary else classes[1:]):
            fpr, tpr, _ = m.roc_curve(y == cls, proba[:, classes.index(cls)])
            prec, rec, _ = m.precision_recall_curve(y == cls, proba[:, classes.index(cls)])
            curve = thin_curve({"class": str(cls), "fpr": fpr.tolist(), "tpr": tpr.tolist()}, ("fpr", "tpr"))
            curves.append(thin_curve({**curve, "precision": prec.tolist(), "recall": rec.tolist()},
                                     ("precision", "recall")))
        plots["curves"] = curves
    return out, plots
