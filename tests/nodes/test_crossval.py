"""Cross Validate Model: the whole upstream cleaning refitted inside each fold, bit for bit like scikit-learn's
cross_val_predict over a Pipeline(ColumnTransformer, estimator), and no statistic of a test fold leaks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from designer.core.engine import Engine
from designer.core.pipeline import Pipeline
from tests.conftest import DATA

MISSING = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "?"]
NUM = ["area_m2", "rooms", "age_years", "distance_km"]
CAT = ["city", "condition", "garden"]
BOOSTED = {"n_trees": 60, "learning_rate": 0.1, "max_leaves": 15, "min_samples_leaf": 10, "seed": 42}


def messy_cv(params: dict[str, Any] | None = None) -> Pipeline:
    """Load -> fill numbers (median) -> fill text (most frequent) -> one-hot -> Cross Validate -> Evaluate."""
    nodes = [{"id": "data", "type": "data.csv", "params": {"path": str(DATA / "messy_housing.csv")}},
             {"id": "fill_numbers", "type": "clean.missing",
              "params": {"columns": {"mode": "numeric", "exclude": ["price_k"]}, "mode": "median"}},
             {"id": "fill_text", "type": "clean.missing", "params": {"columns": {"mode": "categorical"},
                                                                     "mode": "most_frequent"}},
             {"id": "encode", "type": "clean.encode", "params": {}},
             {"id": "learner", "type": "learn.boosted_regression", "params": BOOSTED},
             {"id": "cv", "type": "evaluate.cross_validate",
              "params": {"label": "price_k", "seed": 3, **(params or {})}},
             {"id": "evaluate", "type": "evaluate.model", "params": {}}]
    links = [{"from": "data.data", "to": "fill_numbers.data"}, {"from": "fill_numbers.data", "to": "fill_text.data"},
             {"from": "fill_text.data", "to": "encode.data"}, {"from": "encode.data", "to": "cv.data"},
             {"from": "learner.learner", "to": "cv.learner"}, {"from": "cv.scored", "to": "evaluate.scored"}]
    return Pipeline.model_validate({"format": "pipeline-designer", "version": 2, "name": "cv", "nodes": nodes,
                                    "links": links})


@pytest.fixture(scope="module")
def messy_run() -> Any:
    result = Engine().run(messy_cv(), DATA, keep_outputs=True)
    assert result.ok, result.errors
    return result


def test_cross_validate_equals_cross_val_predict_over_a_sklearn_pipeline_bit_for_bit(messy_run: Any) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    df = pd.read_csv(DATA / "messy_housing.csv", na_values=MISSING, keep_default_na=False)
    pipe = make_pipeline(
        ColumnTransformer([("num", SimpleImputer(strategy="median"), NUM),
                           ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                                 OneHotEncoder(sparse_output=False)), CAT)]),
        HistGradientBoostingRegressor(max_leaf_nodes=15, min_samples_leaf=10, learning_rate=0.1, max_iter=60,
                                      early_stopping=False, random_state=42))
    expected = cross_val_predict(pipe, df.drop(columns="price_k"), df["price_k"],
                                 cv=KFold(5, shuffle=True, random_state=3))
    scored = messy_run.outputs["cv"]["scored"]
    assert np.array_equal(scored.frame["prediction"].to_numpy(), expected)
    folds = [te for _, te in KFold(5, shuffle=True, random_state=3).split(df)]
    for k, te in enumerate(folds):
        assert (scored.frame["fold"].to_numpy()[te] == k + 1).all()
    # the rows as given: raw values (missing values and text intact), then fold and prediction
    view = scored.view
    assert list(view.columns) == ["source_row", *df.columns, "fold", "prediction"]
    assert view["area_m2"].isna().sum() == df["area_m2"].isna().sum()


def test_each_folds_fitted_statistics_differ_from_the_whole_data_ones(messy_run: Any) -> None:
    """No leak: every fold's median and categories are learned from its training rows alone."""
    from designer.core.crossval import cross_validate, fold_splitter
    from designer.core.values import Learner

    table = messy_run.outputs["encode"]["data"]
    learner: Learner = messy_run.outputs["learner"]["learner"]
    whole = table.recipe[0].transformer.statistics_
    df = pd.read_csv(DATA / "messy_housing.csv", na_values=MISSING, keep_default_na=False)
    results = list(cross_validate(learner, table, "price_k", fold_splitter("regression", 5, 3)))
    assert len(results) == 5
    for r in results:
        fold_median = r.steps[0].transformer.statistics_
        assert not np.array_equal(fold_median, whole)
        train_rows = df.drop(index=df.index[r.test])
        assert np.array_equal(fold_median, train_rows[NUM].median().to_numpy())  # the training rows' own
        assert r.steps[0] is not table.recipe[0]


def test_report_has_per_fold_metrics_mean_std_and_plots_and_evaluate_accepts_the_output(messy_run: Any) -> None:
    entry = messy_run.outputs["cv"]["report"].entries[0]
    assert [f["fold"] for f in entry["folds"]] == [1, 2, 3, 4, 5]
    r2 = [f["metrics"]["r2"] for f in entry["folds"]]
    assert entry["metrics"]["r2"] == pytest.approx(np.mean(r2)) and entry["std"]["r2"] == pytest.approx(np.std(r2))
    assert len(entry["plots"]["predicted"]) == 600
    assert messy_run.outputs["evaluate"]["report"].metrics["r2"] == pytest.approx(entry["pooled"]["r2"])


def test_classification_folds_are_stratified_and_groups_stay_together() -> None:
    from sklearn.model_selection import StratifiedKFold

    nodes = [{"id": "data", "type": "data.sample", "params": {"dataset": "iris"}},
             {"id": "learner", "type": "learn.logistic_regression", "params": {}},
             {"id": "cv", "type": "evaluate.cross_validate", "params": {"label": "species", "folds": 3, "seed": 1}}]
    links = [{"from": "data.data", "to": "cv.data"}, {"from": "learner.learner", "to": "cv.learner"}]
    p = Pipeline.model_validate({"format": "pipeline-designer", "version": 2, "name": "x", "nodes": nodes,
                                 "links": links})
    r = Engine().run(p, DATA, keep_outputs=True)
    assert r.ok, r.errors
    frame = r.outputs["cv"]["scored"].frame
    y = frame["species"].to_numpy()
    for k, (_, te) in enumerate(StratifiedKFold(3, shuffle=True, random_state=1).split(frame, y)):
        assert (frame["fold"].to_numpy()[te] == k + 1).all()
    assert {"probability_setosa", "probability_versicolor", "probability_virginica"} <= set(frame.columns)
    assert r.outputs["cv"]["report"].entries[0]["metrics"]["accuracy"] > 0.9
    p.node("cv").params["group"] = "sepal length (cm)"
    r = Engine().run(p, DATA, keep_outputs=True)
    assert r.ok, r.errors
    frame = r.outputs["cv"]["scored"].frame
    assert (frame.groupby("sepal length (cm)")["fold"].nunique() == 1).all()


def test_a_clustering_learner_is_refused_at_validation(tmp_path: Path) -> None:
    from designer.core.validate import validate

    nodes = [{"id": "data", "type": "data.sample", "params": {"dataset": "iris"}},
             {"id": "learner", "type": "learn.kmeans", "params": {}},
             {"id": "cv", "type": "evaluate.cross_validate", "params": {"label": "species"}}]
    links = [{"from": "data.data", "to": "cv.data"}, {"from": "learner.learner", "to": "cv.learner"}]
    p = Pipeline.model_validate({"format": "pipeline-designer", "version": 2, "name": "x", "nodes": nodes,
                                 "links": links})
    v = validate(p, tmp_path)
    assert any(i.location.node == "cv" and "regression or classification" in i.message for i in v.errors)
