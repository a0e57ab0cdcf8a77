"""Evaluate Model: metrics and plot data for regression, classification and clustering."""

from __future__ import annotations

from typing import Any

import numpy as np

from designer.core.errors import BadInput
from designer.core.model import CLUSTER, DISTANCE, PREDICTION, probability_column
from designer.core.values import PortType, Report, Table
from designer.core.node import NodeType, Port, ReportSpec, RunContext, SchemaContext

SILHOUETTE_SAMPLE = 5000
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
    return {
        "mae": float(m.mean_absolute_error(y, pred)),
        "rmse": float(np.sqrt(m.mean_squared_error(y, pred))),
        "r2": float(m.r2_score(y, pred)),
        "relative_absolute_error": float(np.abs(y - pred).sum() / np.abs(dev).sum()),
        "relative_squared_error": float(((y - pred) ** 2).sum() / (dev ** 2).sum()),
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


def clustering_metrics(frame: Any, features: Any) -> tuple[dict[str, float], dict[str, Any]]:
    """Inertia, cluster count and silhouette (on `features`, the rows as the model saw them), plus plot data:
    cluster sizes and the rows projected on their first two principal components."""
    from sklearn.metrics import silhouette_score

    labels = frame[CLUSTER].to_numpy()
    sizes = {str(k): int(v) for k, v in sorted(frame[CLUSTER].value_counts().items())}
    out = {"inertia": float((frame[DISTANCE].to_numpy() ** 2).sum()), "clusters": float(len(sizes))}
    plots: dict[str, Any] = {"cluster_sizes": sizes}
    if features is None:
        return out, plots
    X = features.to_numpy(dtype=float)
    if 1 < len(sizes) < len(frame):
        n = min(len(frame), SILHOUETTE_SAMPLE)
        out["silhouette"] = float(silhouette_score(X, labels, sample_size=n if n < len(frame) else None,
                                                   random_state=0))
    plots["pca"] = pca_points(X, labels)
    return out, plots


def pca_points(X: np.ndarray, labels: np.ndarray, limit: int = 2000) -> dict[str, Any]:
    """At most `limit` rows (a fixed sample) on their first two principal components, with their clusters."""
    from sklearn.decomposition import PCA

    idx = np.random.default_rng(0).choice(len(X), limit, replace=False) if len(X) > limit else np.arange(len(X))
    X, labels = X[idx], labels[idx]
    keep = np.isfinite(X).all(axis=1)
    X, labels = X[keep], labels[keep]
    if len(X) < 2 or X.shape[1] < 1:
        return {"x": [], "y": [], "cluster": [], "variance": [0.0, 0.0]}
    pca = PCA(n_components=min(2, X.shape[1]), random_state=0)
    points = pca.fit_transform(X)
    y = points[:, 1] if points.shape[1] > 1 else np.zeros(len(points))
    ratio = [float(r) for r in pca.explained_variance_ratio_] + [0.0]
    return {"x": points[:, 0].tolist(), "y": y.tolist(), "cluster": [int(v) for v in labels],
            "variance": ratio[:2]}


def regression_plots(y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    """A fixed sample of (actual, predicted) points for the scatter plot, and the residual histogram of
    every row."""
    from designer.core.profile import histogram

    idx = sample_positions(len(y))
    counts, edges = histogram(y - pred, bins=30)
    return {"actual": y[idx].tolist(), "predicted": pred[idx].tolist(), "points_of": len(y),
            "residuals": {"counts": list(counts), "edges": list(edges)}}


def evaluate_table(table: Table, name: str) -> dict[str, Any]:
    """Metrics and plot data of one scored table."""
    info = table.scored
    if not info:
        raise BadInput("this table is not scored; connect the output of Score Model", port=name)
    frame = table.frame
    task, label = info["task"], info.get("label")
    if task == "clustering":
        metrics, plots = clustering_metrics(frame, table.features)
        return {"port": name, "task": task, "model": info["model"], "rows": len(frame), "metrics": metrics,
                "plots": plots}
    if not label or label not in frame.columns:
        raise BadInput(f"the scored rows have no label column '{label}' holding the true values", port=name,
                       column=label)
    known = frame[label].notna()
    if not known.all():
        frame = frame[known]
    y = frame[label].to_numpy()
    pred = frame[PREDICTION].to_numpy()
    if task == "regression":
        metrics = regression_metrics(y.astype(float), pred.astype(float))
        plots = regression_plots(y.astype(float), pred.astype(float))
    else:
        classes = list(info.get("classes") or sorted(np.unique(np.concatenate([y, pred])).tolist()))
        cols = [probability_column(c) for c in classes]
        proba = frame[cols].to_numpy() if all(c in frame.columns for c in cols) else None
        metrics, plots = classification_metrics(y, pred, proba, classes)
    return {"port": name, "task": task, "model": info["model"], "label": label, "rows": len(frame),
            "metrics": metrics, "plots": plots}


class EvaluateModel(NodeType):
    """Measure how good scored predictions are.

    Regression: MAE, RMSE, R², relative absolute and squared error. Classification: accuracy,
    precision, recall, F1 (positive class: the second in sorted order; macro average for more classes),
    ROC AUC and the confusion matrix. Clustering: silhouette, inertia and cluster sizes. Connect a second
    scored table to compare two models side by side.
    """

    type_id = "evaluate.model"
    title = "Evaluate Model"
    category = "Score and evaluate"
    inputs = (Port("scored", PortType.TABLE, "Scored rows (from Score Model)"),
              Port("scored2", PortType.TABLE, "Optional second scored rows to compare", optional=True))
    outputs = (Port("report", PortType.REPORT, "Metrics and plot data"),)

    def schema(self, params: Any, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        tasks = []
        for port in ("scored", "scored2"):
            schema = inputs.get(port)
            if schema is not None and not schema.scored:
                raise BadInput("this table is not scored; connect the output of Score Model", port=port)
            if schema is not None and schema.scored:
                tasks.append(schema.scored.get("task", ""))
        return {"report": ReportSpec(tuple(tasks))}

    def run(self, params: Any, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        entries = [evaluate_table(inputs[p], p) for p in ("scored", "scored2") if inputs.get(p) is not None]
        return {"report": Report(entries)}
