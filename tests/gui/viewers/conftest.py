"""Values for the viewer tests, built in code: small frames, trained models, scored tables and reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from designer.core.model import TrainedModel
from designer.core.recipe import TransformerStep, sklearn_input
from designer.core.schema import TableSchema
from designer.core.values import Report, Table
from nodes.evaluate import evaluate_table
from tests.conftest import DATA

NUMERIC = ["area_m2", "rooms", "age_years", "distance_km"]


@pytest.fixture(scope="session")
def housing() -> pd.DataFrame:
    return pd.read_csv(DATA / "messy_housing.csv")


def imputed_model(frame: pd.DataFrame, estimator: object, task: str, label: str | None,
                  learner: dict) -> TrainedModel:
    """A model whose recipe fills missing numbers with medians, fitted on `frame`."""
    from sklearn.impute import SimpleImputer

    imputer = SimpleImputer(strategy="median").fit(sklearn_input(frame[NUMERIC]))
    step = TransformerStep(imputer, node_id="fill", step_id="fill@test", title="Clean Missing Data",
                           columns=NUMERIC, kinds={c: "numeric" for c in NUMERIC}, fits_statistics=True)
    clean = step.transform(frame)
    rows = clean[clean[label].notna()] if label else clean
    X = rows[NUMERIC].to_numpy(dtype=float)
    if label:
        estimator.fit(X, rows[label].to_numpy())  # type: ignore[attr-defined]
    else:
        estimator.fit(X)  # type: ignore[attr-defined]
    return TrainedModel(node_id="train", task=task, estimator=estimator, features=list(NUMERIC), recipe=(step,),
                        input_schema=TableSchema.of_frame(frame[NUMERIC]), label=label, learner=learner,
                        train_rows=len(rows))


@pytest.fixture(scope="session")
def linear(housing: pd.DataFrame) -> TrainedModel:
    from sklearn.linear_model import LinearRegression

    return imputed_model(housing, LinearRegression(), "regression", "price_k",
                         {"type": "learn.linear_regression", "title": "Linear Regression",
                          "params": {"l2": 0.0, "fit_intercept": True}})


@pytest.fixture(scope="session")
def trees(housing: pd.DataFrame) -> TrainedModel:
    """A tree model (no coefficients); a plain decision tree keeps the test quick on a busy machine."""
    from sklearn.tree import DecisionTreeClassifier

    return imputed_model(housing, DecisionTreeClassifier(max_depth=4, random_state=0), "classification",
                         "garden", {"type": "learn.tree", "title": "Decision Tree", "params": {"max_depth": 4}})


@pytest.fixture(scope="session")
def kmeans(housing: pd.DataFrame) -> TrainedModel:
    from sklearn.cluster import KMeans

    return imputed_model(housing, KMeans(3, n_init=1, random_state=0), "clustering", None,
                         {"type": "learn.kmeans", "title": "K-Means Clustering", "params": {"k": 3}})


def scored_of(model: TrainedModel, frame: pd.DataFrame) -> Table:
    return model.score(Table(frame=frame))


@pytest.fixture(scope="session")
def regression_report(linear: TrainedModel, housing: pd.DataFrame) -> tuple[Report, Table]:
    scored = scored_of(linear, housing)
    return Report([evaluate_table(scored, "scored")]), scored


@pytest.fixture(scope="session")
def classification_report(trees: TrainedModel, housing: pd.DataFrame) -> tuple[Report, Table, Table]:
    first, second = scored_of(trees, housing.iloc[:300]), scored_of(trees, housing.iloc[300:])
    return Report([evaluate_table(first, "scored"), evaluate_table(second, "scored2")]), first, second


@pytest.fixture(scope="session")
def clustering_report(kmeans: TrainedModel, housing: pd.DataFrame) -> tuple[Report, Table]:
    scored = scored_of(kmeans, housing)
    return Report([evaluate_table(scored, "scored")]), scored


@pytest.fixture
def big_frame() -> pd.DataFrame:
    """100,000 rows: enough to notice a model that touches every cell."""
    rng = np.random.default_rng(0)
    n = 100_000
    x = rng.normal(size=n)
    x[::7] = np.nan
    return pd.DataFrame({"x": x, "city": pd.Series(rng.choice(["Lisbon", "Porto", "Braga"], n), dtype="str")})
