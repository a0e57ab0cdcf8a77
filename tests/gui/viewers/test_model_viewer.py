"""ModelViewer: learner and hyperparameters, the recipe with what each step learned, feature importance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from designer.core.model import TrainedModel
from designer.gui.viewers.model_viewer import ModelViewer
from tests.gui.viewers.conftest import NUMERIC, scored_of


def test_learner_hyperparameters_and_recipe(qtbot: Any, linear: TrainedModel, housing: pd.DataFrame) -> None:
    v = ModelViewer(linear)
    qtbot.addWidget(v)
    assert "Linear Regression" in v.header.text() and "price_k" in v.header.text()
    t = v.params_table
    assert [(t.item(r, 0).text(), t.item(r, 1).text()) for r in range(t.rowCount())] == [
        ("l2", "0"), ("fit_intercept", "True")]
    tree = v.recipe_tree
    assert tree is not None and tree.topLevelItemCount() == 1
    step = tree.topLevelItem(0)
    assert step.text(0) == "1. Clean Missing Data (fill)" and "SimpleImputer" in step.text(1)
    children = {step.child(i).text(0): step.child(i).text(1) for i in range(step.childCount())}
    assert list(children) == NUMERIC
    assert children["rooms"] == f"statistics {housing['rooms'].median():g}"


def test_linear_coefficients(qtbot: Any, linear: TrainedModel) -> None:
    v = ModelViewer(linear)
    qtbot.addWidget(v)
    imp = v.importance
    assert imp is not None and imp.kind == "coefficients" and imp.features == NUMERIC
    assert np.allclose(list(imp.series.values())[0], linear.estimator.coef_)
    assert v.importance_view is not None and len(v.importance_view.figure.axes[0].patches) == len(NUMERIC)
    assert v.importance_table.rowCount() == len(NUMERIC)


def test_trees_need_scored_rows_for_permutation_importance(qtbot: Any, trees: TrainedModel,
                                                           housing: pd.DataFrame) -> None:
    v = ModelViewer(trees)
    qtbot.addWidget(v)
    assert v.importance is None and v.importance_view is None
    scored = scored_of(trees, housing)
    v.refresh(trees, scored)
    assert v.measuring  # off the GUI thread, with a busy bar
    qtbot.waitUntil(lambda: not v.measuring, timeout=60_000)
    imp = v.importance
    assert imp is not None and imp.kind == "permutation" and imp.errors is not None
    assert len(next(iter(imp.series.values()))) == len(NUMERIC)
    assert v.importance_view is not None
    again = ModelViewer(trees, scored.frame)  # fixed seed: the same numbers every time
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: not again.measuring, timeout=60_000)
    assert again.importance is not None and again.importance.series == imp.series
    assert "600 scored rows" in imp.note


def test_kmeans_centroids(qtbot: Any, kmeans: TrainedModel, tmp_path: Path) -> None:
    v = ModelViewer(kmeans)
    qtbot.addWidget(v)
    imp = v.importance
    assert imp is not None and imp.kind == "centroids" and len(imp.series) == 3
    assert np.allclose(imp.series["cluster 1"], kmeans.estimator.cluster_centers_[1])
    assert v.importance_view is not None and v.importance_view.figure.axes[0].images
    svg = v.importance_view.save(tmp_path / "centroids.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
