"""The Qt-free figure builders behind the viewers and the HTML reports."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from designer.core.errors import BadInput
from designer.core.plots import (column_figure, evaluation_figures, feature_importance, figure_bytes,
                                 importance_figure, save_figure)
from designer.core.profile import profile_column

PNG = b"\x89PNG\r\n\x1a\n"


def regression_entry(n: int = 40) -> dict:
    rng = np.random.default_rng(0)
    y = rng.normal(size=n)
    pred = y + rng.normal(scale=0.3, size=n)
    return {"port": "scored", "task": "regression", "model": "train", "label": "y", "rows": n,
            "metrics": {"mae": 0.1}, "plots": {"actual": y.tolist(), "predicted": pred.tolist()}}


def classification_entry() -> dict:
    return {"port": "scored", "task": "classification", "model": "train", "label": "y", "rows": 10,
            "metrics": {"accuracy": 0.8},
            "plots": {"classes": ["no", "yes"], "confusion": [[4, 1], [1, 4]],
                      "curves": [{"class": "yes", "fpr": [0, 0.2, 1], "tpr": [0, 0.8, 1],
                                  "precision": [0.5, 0.8, 1], "recall": [1, 0.8, 0]}]}}


def test_column_figures_draw_bars() -> None:
    num = column_figure(profile_column(pd.Series([1.5, 2.5, 2.5, np.nan, 9.0], name="x")))
    assert sum(p.get_height() for p in num.axes[0].patches) == 4
    cat = column_figure(profile_column(pd.Series(list("aabbbc") + [None], name="c"), top=2))
    bars = cat.axes[0].patches
    assert [b.get_width() for b in bars] == [3, 2, 1]  # the two top values, then "other"
    assert "other" in cat.axes[0].get_yticklabels()[-1].get_text()
    none = column_figure(profile_column(pd.Series([np.nan, np.nan], name="gone")))
    assert none.axes[0].texts


def test_regression_and_classification_figures() -> None:
    figs = evaluation_figures(regression_entry())
    assert list(figs) == ["Predicted vs actual", "Residuals"]
    scatter = [c for c in figs["Predicted vs actual"].axes[0].collections if isinstance(c, PathCollection)]
    assert len(scatter[0].get_offsets()) == 40
    assert len(figs["Residuals"].axes[0].patches) == 30
    exact = {**regression_entry(), "plots": {"actual": [1.0, 2.0], "predicted": [1.1, 2.1]}}  # one residual
    assert len(evaluation_figures(exact)["Residuals"].axes[0].patches) == 1
    figs = evaluation_figures(classification_entry())
    assert list(figs) == ["Confusion matrix", "ROC curve", "Precision-recall"]
    ax = figs["Confusion matrix"].axes[0]
    assert any(isinstance(i, AxesImage) for i in ax.images) and {t.get_text() for t in ax.texts} == {"4", "1"}
    assert len(figs["ROC curve"].axes[0].lines) == 2  # the class curve and the chance diagonal


def test_clustering_figures_draw_the_pca_points_evaluate_stored() -> None:
    from nodes.evaluate import pca_points

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    entry = {"port": "scored", "task": "clustering", "model": "km", "rows": 60, "metrics": {},
             "plots": {"cluster_sizes": {"0": 20, "1": 20, "2": 20}}}
    assert list(evaluation_figures(entry)) == ["Cluster sizes"]
    entry["plots"]["pca"] = pca_points(X, np.repeat([0, 1, 2], 20))
    figs = evaluation_figures(entry)
    scatters = [c for c in figs["Clusters (PCA)"].axes[0].collections if isinstance(c, PathCollection)]
    assert len(scatters) == 3 and sum(len(s.get_offsets()) for s in scatters) == 60


def test_coefficients_and_centroids_as_importance() -> None:
    from sklearn.cluster import KMeans
    from sklearn.linear_model import LinearRegression

    from designer.core.model import TrainedModel
    from designer.core.schema import TableSchema

    X = np.random.default_rng(0).normal(size=(30, 2))
    lin = LinearRegression().fit(X, X @ [2.0, -1.0])
    model = TrainedModel("train", "regression", lin, ["a", "b"], (), TableSchema(), label="y")
    imp = feature_importance(model)
    assert imp is not None and imp.kind == "coefficients"
    assert np.allclose(list(imp.series.values())[0], lin.coef_)
    assert len(importance_figure(imp).axes[0].patches) == 2
    km = KMeans(2, n_init=1, random_state=0).fit(X)
    imp = feature_importance(TrainedModel("km", "clustering", km, ["a", "b"], (), TableSchema()))
    assert imp is not None and imp.kind == "centroids" and len(imp.series) == 2
    assert importance_figure(imp).axes[0].images


def test_save_png_and_svg(tmp_path: Path) -> None:
    fig = column_figure(profile_column(pd.Series([1.0, 2.0, 3.0], name="x")))
    assert save_figure(fig, tmp_path / "a.png").read_bytes().startswith(PNG)
    root = ElementTree.parse(save_figure(fig, tmp_path / "a.svg")).getroot()
    assert root.tag.endswith("svg")
    assert figure_bytes(Figure(), "svg").lstrip().startswith(b"<?xml")
    with pytest.raises(BadInput, match=".png or .svg"):
        save_figure(fig, tmp_path / "a.jpg")
    with pytest.raises(BadInput):
        figure_bytes(fig, "pdf")


def test_dollar_signs_in_names_are_literal_text() -> None:
    """A "$" in a column or category name must not be parsed as mathtext (which fails at draw time)."""
    for series in (pd.Series([1.0, 2.0], name="cost $ (x^"), pd.Series(["$a", "b $x^$"], name="price $x^$ (usd)")):
        fig = column_figure(profile_column(series))
        assert figure_bytes(fig, "png").startswith(PNG)
        assert "$" in fig.axes[0].get_title()
