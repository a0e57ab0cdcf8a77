"""Matplotlib figures of profiles, evaluations and models, built Qt-free (DESIGN §7).

Every builder returns a `matplotlib.figure.Figure` made directly (never pyplot), so the desktop app can put
it on a Qt canvas and the headless report can save it as PNG or SVG.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from designer.core.errors import BadInput
from designer.core.profile import ColumnProfile, format_stat, histogram

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from designer.core.model import TrainedModel
    from designer.core.values import Table

BLUE, ORANGE, GREY = "#2563eb", "#ea580c", "#94a3b8"
SCATTER_POINTS = 5000
IMPORTANCE_ROWS = 2000
MAX_BARS = 20
FORMATS = ("png", "svg")


def new_figure(width: float = 5.0, height: float = 3.4) -> Figure:
    """An empty figure with constrained layout, so titles and tick labels are never clipped."""
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    fig.set_facecolor("white")
    return fig


def _axes(fig: Figure, title: str, xlabel: str = "", ylabel: str = "") -> "Axes":
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.tick_params(labelsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def _sample(n: int, cap: int = SCATTER_POINTS) -> np.ndarray:
    """Row positions of at most `cap` rows, the same every time (fixed seed)."""
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, cap, replace=False))


def _plain(text: object) -> str:
    """User text (column, class, feature names) shown literally: a "$" must not start mathtext."""
    return str(text).replace("$", r"\$")


def _short(text: object, width: int = 28) -> str:
    text = str(text)
    return _plain(text if len(text) <= width else text[: width - 1] + "…")


def _bars(ax: "Axes", counts: Any, edges: Any) -> None:
    """A histogram from precomputed bin counts and edges."""
    edges = np.asarray(edges, dtype=float)
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color=BLUE, edgecolor="white", linewidth=0.5)


# ------------------------------------------------------------------------------------------ profiles
def column_figure(profile: ColumnProfile, width: float = 5.0, height: float = 3.0) -> Figure:
    """Histogram of a numeric column, or bar chart of a categorical column's most frequent values."""
    fig = new_figure(width, height)
    missing = f", {profile.missing:,} missing" if profile.missing else ""
    title = f"{_short(profile.name, 40)} ({profile.kind}{missing})"
    if profile.numeric and profile.hist_counts:
        ax = _axes(fig, title, _plain(profile.name), "rows")
        _bars(ax, profile.hist_counts, profile.hist_edges)
    elif profile.top_values:
        ax = _axes(fig, title, "rows")
        labels = [_short(v) for v, _ in profile.top_values]
        counts = [c for _, c in profile.top_values]
        if profile.other_count:
            labels.append(f"other ({profile.unique - len(profile.top_values):,} values)")
            counts.append(profile.other_count)
        y = np.arange(len(labels))
        ax.barh(y, counts, color=[BLUE] * len(profile.top_values) + [GREY] * bool(profile.other_count))
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
    else:
        ax = _axes(fig, title)
        ax.text(0.5, 0.5, "no values to plot", ha="center", va="center", transform=ax.transAxes, color=GREY)
        ax.set_axis_off()
    return fig


# ---------------------------------------------------------------------------------------- evaluation
def _title(entry: dict[str, Any], what: str) -> str:
    from designer.core.values import evaluated_data

    import textwrap

    return _plain(f"{what}\n" + textwrap.fill(evaluated_data(entry), 42))  # the data's name can be long


def predicted_vs_actual_figure(entry: dict[str, Any]) -> Figure:
    actual = np.asarray(entry["plots"]["actual"], dtype=float)
    pred = np.asarray(entry["plots"]["predicted"], dtype=float)
    fig = new_figure(5.0, 4.2)
    ax = _axes(fig, _title(entry, "Predicted vs actual"), _plain(f"actual {entry.get('label') or ''}"), "predicted")
    idx = _sample(len(actual))
    ax.scatter(actual[idx], pred[idx], s=12, alpha=0.6, color=BLUE, edgecolors="none")
    if len(actual):
        lo, hi = float(min(actual.min(), pred.min())), float(max(actual.max(), pred.max()))
        ax.plot([lo, hi], [lo, hi], color=GREY, linestyle="--", linewidth=1, label="perfect prediction")
        ax.legend(fontsize=8, loc="upper left", frameon=False)
    return fig


def residuals_figure(entry: dict[str, Any]) -> Figure:
    plots = entry["plots"]
    fig = new_figure(5.0, 3.4)
    ax = _axes(fig, _title(entry, "Residuals"), "actual − predicted", "rows")
    if "residuals" in plots:  # every row's residual, counted by Evaluate (the points are a sample)
        counts, edges = plots["residuals"]["counts"], plots["residuals"]["edges"]
    else:
        residual = np.asarray(plots["actual"], dtype=float) - np.asarray(plots["predicted"], dtype=float)
        counts, edges = histogram(residual, bins=30)
    _bars(ax, counts, edges)
    ax.axvline(0, color="#334155", linestyle="--", linewidth=1, zorder=3)
    return fig


def confusion_figure(entry: dict[str, Any]) -> Figure:
    classes = [str(c) for c in entry["plots"]["classes"]]
    matrix = np.asarray(entry["plots"]["confusion"], dtype=int)
    n = len(classes)
    size = min(8.0, 3.2 + 0.45 * n)
    fig = new_figure(size + 0.8, size)
    ax = _axes(fig, _title(entry, "Confusion matrix"), "predicted", "actual")
    ax.spines[:].set_visible(False)
    image = ax.imshow(matrix, cmap="Blues")
    ticks = np.arange(n)
    ax.set_xticks(ticks, [_short(c, 16) for c in classes])
    if n > 4:
        ax.tick_params(axis="x", labelrotation=45)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    ax.set_yticks(ticks, [_short(c, 16) for c in classes])
    if n <= 20:
        threshold = matrix.max() / 2 if matrix.size else 0
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f"{matrix[i, j]:,}", ha="center", va="center", fontsize=11 if n <= 4 else 8,
                        color="white" if matrix[i, j] > threshold else "black")
    fig.colorbar(image, ax=ax, shrink=0.8)
    # shown at its own shape, centred: the colour bar stays beside it
    fig.keep_aspect = True  # type: ignore[attr-defined]
    return fig


def _curves_figure(entry: dict[str, Any], x: str, y: str, title: str, xlabel: str, ylabel: str,
                   diagonal: bool) -> Figure:
    from sklearn.metrics import auc

    fig = new_figure(5.0, 4.2)
    ax = _axes(fig, _title(entry, title), xlabel, ylabel)
    for curve in entry["plots"].get("curves", []):
        xs, ys = np.asarray(curve[x]), np.asarray(curve[y])
        area = auc(xs, ys) if len(xs) > 1 else float("nan")
        ax.plot(xs, ys, linewidth=1.6, label=f"{_short(curve['class'], 20)} (area {area:.3f})")
    if diagonal:
        ax.plot([0, 1], [0, 1], color=GREY, linestyle="--", linewidth=1, label="chance")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8, loc="lower right" if diagonal else "lower left", frameon=False)
    return fig


def roc_figure(entry: dict[str, Any]) -> Figure:
    return _curves_figure(entry, "fpr", "tpr", "ROC curve", "false positive rate", "true positive rate", True)


def pr_figure(entry: dict[str, Any]) -> Figure:
    return _curves_figure(entry, "recall", "precision", "Precision-recall", "recall", "precision", False)


def cluster_sizes_figure(entry: dict[str, Any]) -> Figure:
    sizes = entry["plots"]["cluster_sizes"]
    fig = new_figure(5.0, 3.4)
    ax = _axes(fig, _title(entry, "Cluster sizes"), "cluster", "rows")
    bars = ax.bar([str(k) for k in sizes], list(sizes.values()), color=BLUE)
    ax.bar_label(bars, labels=[f"{v:,}" for v in sizes.values()], fontsize=8)
    return fig


def cluster_pca_figure(pca: dict[str, Any], title: str = "Clusters (first two principal components)") -> Figure:
    """Rows projected on their first two principal components (computed by Evaluate), coloured by cluster."""
    points = np.column_stack([pca["x"], pca["y"]]) if pca.get("x") else np.zeros((0, 2))
    labels = np.asarray(pca.get("cluster", []))
    ratio = list(pca.get("variance") or [0.0, 0.0])
    fig = new_figure(5.0, 4.2)
    ax = _axes(fig, title)
    if len(points) < 2:
        ax.text(0.5, 0.5, "not enough rows", ha="center", va="center", transform=ax.transAxes, color=GREY)
        return fig
    ax.set_xlabel(f"PC1 ({ratio[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({ratio[1]:.0%} of variance)")
    for k in sorted(set(labels.tolist())):
        sel = labels == k
        ax.scatter(points[sel, 0], points[sel, 1], s=14, alpha=0.75, edgecolors="none", label=f"cluster {k}")
    ax.legend(fontsize=8, frameon=False, markerscale=1.5)
    return fig


def tuning_figure(entry: dict[str, Any], param: str) -> Figure:
    """A tuning sweep: the metric of every candidate against one parameter, coloured by halving round, the
    chosen candidate ringed."""
    t = entry["plots"]["tuning"]
    values, scores, rounds = t["params"][param], np.asarray(t["scores"], float), np.asarray(t["rounds"])
    fig = new_figure()
    ax = _axes(fig, _title(entry, f"{t['metric']} against {param}"), param, f"mean {t['metric']} (inner folds)")
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    labels = sorted({str(v) for v in values}) if not numeric else []
    x = np.asarray(values, float) if numeric else np.asarray([labels.index(str(v)) for v in values], float)
    for r in sorted(set(rounds.tolist())):
        keep = rounds == r
        ax.scatter(x[keep], scores[keep], s=18, alpha=0.8, label=f"round {r}" if len(set(rounds.tolist())) > 1
                   else None)
    best = t.get("best", {}).get(param)
    if best is not None:
        bx = float(best) if numeric else float(labels.index(str(best)))
        by = scores[[i for i, v in enumerate(values) if v == best]].max() if t.get("higher_is_better", True) else \
            scores[[i for i, v in enumerate(values) if v == best]].min()
        ax.scatter([bx], [by], s=90, facecolors="none", edgecolors="C3", linewidths=1.5, label="chosen")
    if numeric and len(x) and x.min() > 0 and x.max() / x.min() > 20:
        ax.set_xscale("log")
    if not numeric:
        ax.set_xticks(range(len(labels)), [_short(v, 12) for v in labels])
    ax.legend(fontsize=8, frameon=False)
    return fig


def evaluation_figures(entry: dict[str, Any]) -> dict[str, Figure]:
    """The plots of one Evaluate entry by name, drawn from the plot data Evaluate stored."""
    plots, task = entry.get("plots") or {}, entry.get("task")
    figs: dict[str, Figure] = {}
    if task == "regression" and "actual" in plots:
        figs["Predicted vs actual"] = predicted_vs_actual_figure(entry)
        figs["Residuals"] = residuals_figure(entry)
    elif task == "classification" and "confusion" in plots:
        figs["Confusion matrix"] = confusion_figure(entry)
        if plots.get("curves"):
            figs["ROC curve"] = roc_figure(entry)
            figs["Precision-recall"] = pr_figure(entry)
    elif task == "tuning" and "tuning" in plots:
        for param in plots["tuning"]["params"]:
            figs[f"Score vs {param}"] = tuning_figure(entry, param)
    elif task == "clustering" and "cluster_sizes" in plots:
        figs["Cluster sizes"] = cluster_sizes_figure(entry)
        if plots.get("pca"):
            figs["Clusters (PCA)"] = cluster_pca_figure(plots["pca"], title=_title(entry, "Clusters (PCA)"))
    return figs


# ------------------------------------------------------------------------------------------- models
@dataclass(frozen=True)
class Importance:
    """Per-feature weights of a model: one series (bars) or several (a heatmap: classes, clusters)."""

    kind: str  # "coefficients" | "permutation" | "centroids"
    title: str
    features: list[str]
    series: dict[str, list[float]]
    errors: list[float] | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def feature_importance(model: "TrainedModel", scored: "Table | pd.DataFrame | None" = None,
                       max_rows: int = IMPORTANCE_ROWS, repeats: int = 5) -> Importance | None:
    """The model's own coefficients (linear), centroids (k-means), or permutation importance measured on
    `scored` rows (any other model; needs the label column). None when there is nothing to show."""
    est, names = model.estimator, list(model.features)
    if hasattr(est, "coef_"):
        coef = np.atleast_2d(np.asarray(est.coef_, dtype=float))
        classes = [str(c) for c in getattr(est, "classes_", [])]
        if coef.shape[0] == 1:
            key = f"coefficient ({classes[-1]})" if len(classes) == 2 else "coefficient"
            series = {key: coef[0].tolist()}
        else:
            series = {f"class {c}": row.tolist() for c, row in zip(classes, coef)}
        return Importance("coefficients", "Coefficients", names, series,
                          note="Weights on the features as the model saw them (after the recipe).")
    if hasattr(est, "cluster_centers_"):
        centres = np.asarray(est.cluster_centers_, dtype=float)
        return Importance("centroids", "Cluster centroids", names,
                          {f"cluster {i}": row.tolist() for i, row in enumerate(centres)},
                          note="Centroid coordinates on the features as the model saw them (after the recipe).")
    if scored is None or model.task == "clustering" or not model.label:
        return None
    return _permutation_importance(model, scored, max_rows, repeats)


def _permutation_importance(model: "TrainedModel", scored: "Table | pd.DataFrame", max_rows: int,
                            repeats: int) -> Importance | None:
    from sklearn.inspection import permutation_importance

    from designer.core.model import feature_matrix

    import pandas as pd

    frame: pd.DataFrame = scored if isinstance(scored, pd.DataFrame) else scored.frame
    features = frame if isinstance(scored, pd.DataFrame) or scored.features is None else scored.features
    label = model.label
    if label not in frame.columns or any(f not in features.columns for f in model.features):
        return None
    rows = frame.index[frame[label].notna().to_numpy()]
    if len(rows) < 2:
        return None
    if len(rows) > max_rows:
        rows = pd.Index(rows.to_series().sample(max_rows, random_state=0))
    X = feature_matrix(features.loc[rows, model.features])
    y = frame.loc[rows, label].to_numpy()
    if model.task == "regression":
        y = y.astype(float)
    result = permutation_importance(model.estimator, X, y, n_repeats=repeats, random_state=0)
    metric = "R²" if model.task == "regression" else "accuracy"
    return Importance("permutation", "Permutation importance", list(model.features),
                      {f"drop in {metric}": result.importances_mean.tolist()},
                      errors=result.importances_std.tolist(),
                      note=f"How much {metric} drops when a feature's values are shuffled "
                           f"({len(rows):,} scored rows, {repeats} repeats, fixed seed).")


def importance_figure(imp: Importance) -> Figure:
    """Bars sorted by size for one series (at most MAX_BARS features); a heatmap for several."""
    n = len(imp.features)
    if len(imp.series) == 1:
        (name, values), = imp.series.items()
        v = np.asarray(values, dtype=float)
        order = np.argsort(-np.abs(v), kind="stable")[:MAX_BARS][::-1]
        fig = new_figure(5.6, max(2.6, 0.26 * len(order) + 1.2))
        shown = f" (top {len(order)} of {n})" if len(order) < n else ""
        ax = _axes(fig, imp.title + shown, _plain(name))
        err = np.asarray(imp.errors)[order] if imp.errors is not None else None
        colours = [BLUE if x >= 0 else ORANGE for x in v[order]]
        ax.barh(np.arange(len(order)), v[order], xerr=err, color=colours,
                error_kw={"elinewidth": 0.8, "ecolor": GREY})
        ax.set_yticks(np.arange(len(order)), [_short(imp.features[i], 32) for i in order])
        ax.axvline(0, color=GREY, linewidth=0.8)
        return fig
    matrix = np.asarray(list(imp.series.values()), dtype=float)
    rows = list(imp.series)
    fig = new_figure(min(12.0, max(5.0, 0.45 * n + 2.5)), max(2.6, 0.4 * len(rows) + 2.0))
    ax = _axes(fig, imp.title)
    ax.spines[:].set_visible(False)
    limit = float(np.abs(matrix).max()) or 1.0
    image = ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(np.arange(n), [_short(f, 20) for f in imp.features], rotation=45, ha="right")
    ax.set_yticks(np.arange(len(rows)), [_short(r, 24) for r in rows])
    if matrix.size <= 120:
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, format_stat(round(float(value), 3)), ha="center", va="center", fontsize=8,
                    color="white" if abs(value) > limit * 0.6 else "black")
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


# ------------------------------------------------------------------------------------------- export
def figure_bytes(fig: Figure, fmt: str = "png", dpi: float | None = None) -> bytes:
    """The figure as PNG or SVG bytes (the Agg/SVG renderers; no GUI toolkit involved)."""
    if fmt not in FORMATS:
        raise BadInput(f"cannot save a plot as '{fmt}'; choose one of {', '.join(FORMATS)}")
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi or fig.dpi, facecolor="white")
    return buf.getvalue()


def save_figure(fig: Figure, path: str | Path, dpi: float | None = None) -> Path:
    """Write the figure to `path`; the suffix (.png or .svg) picks the format. The write is atomic."""
    from designer.core.pipeline import atomic_write_bytes

    p = Path(path)
    fmt = p.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise BadInput(f"a plot is saved as .png or .svg, not '{p.suffix or p.name}'", file=str(p))
    atomic_write_bytes(p, figure_bytes(fig, fmt, dpi))
    return p
