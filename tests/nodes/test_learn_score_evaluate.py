"""Split, learners, training, scoring and evaluation metrics (checked against scikit-learn directly)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from designer.core.node import LearnerSpec
from sklearn import metrics

from designer.core.errors import BadInput
from designer.core.schema import TableSchema
from tests.nodes.helpers import node_schema, run_node, table


@pytest.fixture
def iris() -> pd.DataFrame:
    return run_node("data.sample", {"dataset": "iris"})["data"].frame


def test_split_fraction_seed_and_stratify(iris):
    out = run_node("split.rows", {"fraction": 0.6, "seed": 3, "stratify": "species"}, data=table(iris))
    train, test = out["train"].frame, out["test"].frame
    assert len(train) == 90 and len(test) == 60
    assert set(train.index).isdisjoint(test.index)
    assert train["species"].value_counts().tolist() == [30, 30, 30]
    again = run_node("split.rows", {"fraction": 0.6, "seed": 3, "stratify": "species"}, data=table(iris))
    assert again["train"].frame.index.equals(train.index)
    with pytest.raises(BadInput, match="unknown column") as err:
        node_schema("split.rows", {"stratify": "colour"}, data=TableSchema.of_frame(iris))
    assert err.value.location.param == "stratify"


def _train(learner: str, lparams: dict, frame: pd.DataFrame, label: str):
    learner_out = run_node(learner, lparams)["learner"]
    return run_node("learn.train", {"label": label}, learner=learner_out, data=table(frame))["model"]


def test_classification_metrics_match_scikit_learn(iris):
    binary = iris[iris["species"] != "setosa"]
    model = _train("learn.logistic_regression", {"C": 0.5}, binary, "species")
    scored = run_node("score.model", model=model, data=table(binary))["scored"]
    report = run_node("evaluate.model", scored=scored)["report"]
    y, pred = binary["species"], scored.frame["prediction"]
    m = report.metrics
    assert m["accuracy"] == metrics.accuracy_score(y, pred)
    assert m["f1"] == metrics.f1_score(y, pred, pos_label="virginica")
    assert m["roc_auc"] == metrics.roc_auc_score(y == "virginica", scored.frame["probability_virginica"])
    assert report.entries[0]["plots"]["confusion"] == metrics.confusion_matrix(y, pred).tolist()


def test_multiclass_boosted_trees_and_side_by_side_comparison(iris):
    boosted = _train("learn.boosted_classification", {"n_trees": 20}, iris, "species")
    logistic = _train("learn.logistic_regression", {}, iris, "species")
    s1 = run_node("score.model", model=boosted, data=table(iris))["scored"]
    s2 = run_node("score.model", model=logistic, data=table(iris))["scored"]
    report = run_node("evaluate.model", scored=s1, scored2=s2)["report"]
    assert [e["port"] for e in report.entries] == ["scored", "scored2"]
    assert report.entries[1]["metrics"]["f1"] == metrics.f1_score(iris["species"], s2.frame["prediction"],
                                                                  average="macro")
    assert {"accuracy", "precision", "recall", "f1", "roc_auc"} <= set(report.metrics)


def test_regression_metrics_match_scikit_learn():
    frame = run_node("data.sample", {"dataset": "diabetes"})["data"].frame
    model = _train("learn.linear_regression", {"l2": 0.1}, frame, "progression")
    assert type(model.estimator).__name__ == "Ridge" and model.estimator.alpha == 0.1
    scored = run_node("score.model", model=model, data=table(frame))["scored"]
    m = run_node("evaluate.model", scored=scored)["report"].metrics
    y, p = frame["progression"].to_numpy(), scored.frame["prediction"].to_numpy()
    assert m["mae"] == metrics.mean_absolute_error(y, p)
    assert m["rmse"] == pytest.approx(metrics.root_mean_squared_error(y, p), rel=1e-12)
    assert m["r2"] == metrics.r2_score(y, p)
    assert m["relative_squared_error"] == pytest.approx(1 - m["r2"], rel=1e-12)


def test_clustering_scores_and_metrics(iris):
    learner = run_node("learn.kmeans", {"k": 3, "seed": 1})["learner"]
    model = run_node("learn.train_clustering", {}, learner=learner, data=table(iris))["model"]
    assert model.features == list(iris.columns[:4])
    scored = run_node("score.model", model=model, data=table(iris))["scored"]
    report = run_node("evaluate.model", scored=scored)["report"]
    m = report.metrics
    X = iris[model.features].to_numpy()
    assert m["silhouette"] == pytest.approx(metrics.silhouette_score(X, scored.frame["cluster"]), rel=1e-12)
    assert m["inertia"] == pytest.approx(model.estimator.inertia_, rel=1e-9)
    assert sum(report.entries[0]["plots"]["cluster_sizes"].values()) == 150


def test_training_refuses_bad_tables(iris):
    learner = run_node("learn.linear_regression")["learner"]
    with pytest.raises(BadInput, match="encode it") as err:
        run_node("learn.train", {"label": "sepal length (cm)"}, learner=learner, data=table(iris))
    assert err.value.location.column == "species"
    gappy = iris.assign(**{"petal width (cm)": np.where(np.arange(150) == 3, np.nan, iris["petal width (cm)"])})
    with pytest.raises(BadInput, match="missing values") as err:
        run_node("learn.train", {"label": "petal width (cm)"}, learner=learner,
                 data=table(gappy.drop(columns="species")))
    assert err.value.location.param == "label"
    with pytest.raises(BadInput, match="numeric label"):
        node_schema("learn.train", {"label": "species"}, learner=LearnerSpec("learn.linear_regression", "regression"),
                    data=TableSchema.of_frame(iris))
    with pytest.raises(BadInput, match="Train Clustering"):
        node_schema("learn.train", {"label": "species"}, learner=LearnerSpec("learn.kmeans", "clustering"),
                    data=TableSchema.of_frame(iris))


def test_evaluate_needs_a_scored_table_with_the_label(iris):
    with pytest.raises(BadInput, match="not scored") as err:
        node_schema("evaluate.model", scored=TableSchema.of_frame(iris))
    assert err.value.location.port == "scored"
    model = _train("learn.boosted_regression", {"n_trees": 5}, iris.drop(columns="species"), "sepal length (cm)")
    scored = run_node("score.model", model=model, data=table(iris.drop(columns=["species", "sepal length (cm)"])))
    with pytest.raises(BadInput, match="no label column") as err:
        run_node("evaluate.model", scored=scored["scored"])
    assert err.value.location.column == "sepal length (cm)"
