"""One-line summaries of run outputs, shown on the nodes after a run (Qt-free)."""

from __future__ import annotations

from typing import Any

HEADLINE_METRICS = {"classification": ("accuracy", "roc_auc"), "regression": ("r2", "rmse"),
                    "clustering": ("silhouette", "inertia")}
METRIC_LABELS = {"r2": "R²", "roc_auc": "ROC AUC", "rmse": "RMSE", "mae": "MAE"}


def table_size(table: Any) -> str:
    """'1,234 × 12' (rows × columns, meta columns included)."""
    frame = table.frame
    cols = frame.shape[1] + (0 if table.meta is None else table.meta.shape[1])
    return f"{len(frame):,} × {cols}"


def model_headline(model: Any) -> str:
    """What was fitted: '120 trees · 14 features', '3 clusters · 4 features', 'linear · 10 features'."""
    est = model.estimator
    n = len(model.features)
    parts = []
    if hasattr(est, "n_iter_") and hasattr(est, "_predictors"):
        parts.append(f"{est.n_iter_} trees")
    elif hasattr(est, "cluster_centers_"):
        parts.append(f"{len(est.cluster_centers_)} clusters")
    elif hasattr(est, "coef_"):
        parts.append("linear")
    parts.append(f"{n} feature{'s' * (n != 1)}")
    return " · ".join(parts)


def report_headline(report: Any) -> str:
    """The headline metric of the first scored input (and of the second, side by side): 'accuracy 0.965'."""
    texts = []
    for entry in report.entries[:2]:
        metrics = entry.get("metrics", {})
        name = next((m for m in HEADLINE_METRICS.get(entry.get("task", ""), ()) if m in metrics), None)
        if name is not None:
            texts.append(f"{METRIC_LABELS.get(name, name)} {metrics[name]:.3g}")
    return " | ".join(texts)


def node_results(outputs: dict[str, Any], seconds: float | None) -> tuple[dict[str, str], str]:
    """Per output port a short size ('1,234 × 12' for tables), and the node's headline (the model's shape and
    fit time, or the evaluation's headline metric)."""
    from designer.core.model import TrainedModel
    from designer.core.values import Report, Table

    ports: dict[str, str] = {}
    headline = ""
    for port, value in outputs.items():
        if isinstance(value, Table):
            ports[port] = table_size(value)
        elif isinstance(value, TrainedModel):
            headline = model_headline(value) + (f" · fit {seconds:.1f} s" if seconds is not None else "")
        elif isinstance(value, Report):
            headline = report_headline(value)
    return ports, headline


def preview_rows(table: Any, rows: int = 5, columns: int = 6) -> tuple[list[str], list[list[str]]]:
    """The first rows and columns of a table as text, for a hover preview."""
    view = table.view
    head = view.iloc[:rows, :columns]
    names = [str(c) for c in head.columns] + (["…"] if view.shape[1] > columns else [])
    body = [[_cell(v) for v in row] + (["…"] if view.shape[1] > columns else []) for row in head.itertuples(False)]
    return names, body


def _cell(value: Any) -> str:
    import pandas as pd

    if pd.api.types.is_scalar(value) and pd.isna(value):
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 14 else text[:13] + "…"
