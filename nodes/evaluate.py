"""Evaluate Model: metrics and plot data for regression, classification and clustering."""

from __future__ import annotations

from typing import Any

import numpy as np

from designer.core.errors import BadInput
from designer.core.export import ExportContext, ExportFragment, TableRef, helper_source
from designer.core.metrics import PLOT_POINTS, classification_metrics, regression_metrics, sample_positions, thin_curve
from designer.core.profile import HIST_BINS, histogram
from designer.core.model import CLUSTER, DISTANCE, PREDICTION, probability_column
from designer.core.values import PortType, Report, Table
from designer.core.node import NodeType, Port, ReportSpec, RunContext, SchemaContext

SILHOUETTE_SAMPLE = 5000


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
    X = np.asarray(features, dtype=float)
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
    idx = sample_positions(len(y))
    counts, edges = histogram(y - pred, bins=30)
    return {"actual": y[idx].tolist(), "predicted": pred[idx].tolist(), "points_of": len(y),
            "residuals": {"counts": list(counts), "edges": list(edges)}}


def evaluate_table(table: Table, name: str) -> dict[str, Any]:
    """Metrics and plot data of one scored table."""
    info = table.scored
    if not info:
        raise BadInput("this table is not scored; connect the output of Score Model", port=name)
    label = info.get("label")
    if info["task"] != "clustering" and (not label or label not in table.frame.columns):
        raise BadInput(f"the scored rows have no label column '{label}' holding the true values", port=name,
                       column=label)
    entry = evaluate_frame(table.frame, info["task"], label, info.get("classes"), table.features)
    return {"port": name, "task": entry.pop("task"), "model": info["model"], **entry}


def evaluate_frame(frame: Any, task: str, label: str | None, classes: list[Any] | None,
                   features: Any) -> dict[str, Any]:
    """Metrics and plot data of scored rows (also copied into exported scripts)."""
    if task == "clustering":
        metrics, plots = clustering_metrics(frame, features)
        return {"task": task, "rows": len(frame), "metrics": metrics, "plots": plots}
    known = frame[label].notna()
    if not known.all():
        frame = frame[known]
    y = frame[label].to_numpy()
    pred = frame[PREDICTION].to_numpy()
    if task == "regression":
        metrics = regression_metrics(y.astype(float), pred.astype(float))
        plots = regression_plots(y.astype(float), pred.astype(float))
    else:
        classes = list(classes or sorted(np.unique(np.concatenate([y, pred])).tolist()))
        cols = [probability_column(c) for c in classes]
        proba = frame[cols].to_numpy() if all(c in frame.columns for c in cols) else None
        metrics, plots = classification_metrics(y, pred, proba, classes)
    return {"task": task, "label": label, "rows": len(frame), "metrics": metrics, "plots": plots}


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
        entries = [{**evaluate_table(inputs[p], p), "data": ctx.describe_rows(inputs[p])}
                   for p in ("scored", "scored2") if inputs.get(p) is not None]
        return {"report": Report(entries)}

    def export(self, params: Any, ctx: ExportContext) -> ExportFragment:
        """The same metric functions, copied into the script."""
        code, entries = [], []
        for port in ("scored", "scored2"):
            table = ctx.inputs.get(port)
            if table is None:
                continue
            if not isinstance(table, TableRef) or table.scored is None:
                raise BadInput("this table is not scored; connect the output of Score Model", port=port)
            info = table.scored
            classes = info.get("classes") or (f"{info['model']}[-1].classes_.tolist()"
                                               if info["task"] == "classification" else "None")
            var = ctx.var(port)
            code.append(f"{var} = {{\"port\": {port!r}, **evaluate_frame({table.var}, {info['task']!r}, "
                        f"{info['label']!r}, {classes}, {info['features']})}}")
            entries.append(var)
        return ExportFragment(code=code, imports={"import numpy as np"}, helpers=evaluation_helpers(),
                              evaluations=entries)


def evaluation_helpers() -> list[str]:
    """`evaluate_frame` and the metric functions it calls, with their constants, as script source."""
    from designer.core.model import probability_column

    constants = (f"PREDICTION, CLUSTER, DISTANCE = {PREDICTION!r}, {CLUSTER!r}, {DISTANCE!r}\n"
                 f"SILHOUETTE_SAMPLE, PLOT_POINTS, HIST_BINS = {SILHOUETTE_SAMPLE!r}, {PLOT_POINTS!r}, "
                 f"{HIST_BINS!r}\n")
    return [constants, *helper_source(probability_column, evaluate_frame, regression_metrics, regression_plots,
                                      histogram, sample_positions, thin_curve, classification_metrics,
                                      clustering_metrics, pca_points)]
