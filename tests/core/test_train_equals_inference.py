"""The central promise (DESIGN §3): the bundle, the Score node and hand-written scikit-learn agree exactly."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from designer.core.bundle import load_bundle, write_bundle
from designer.core.engine import Engine
from designer.core.model import ROW_BLOCK
from designer.core.pipeline import Link, load_pipeline
from designer.core.recipe import Step
from designer.core.validate import validate
from designer.core.values import Table
from tests.conftest import DATA, SAMPLES, sample_paths

# sample → (data node, [(train node, score node)])
SAMPLE_NODES = {
    "diabetes_linear_regression": ("data", [("train", "score")]),
    "messy_housing_boosted_trees": ("data", [("train", "score")]),
    "iris_kmeans": ("data", [("train", "score")]),
    "breast_cancer_classification": ("data", [("train_boosted", "score_boosted"),
                                              ("train_logistic", "score_logistic")]),
}


@pytest.fixture(scope="module")
def runs():
    """Each sample pipeline run once, with every output kept."""
    out = {}
    for path in sample_paths():
        name = path.name.removesuffix(".pipeline.json")
        result = Engine().run(load_pipeline(path), path.parent)
        assert result.ok, result.errors
        out[name] = (path, result)
    return out


def test_every_sample_is_covered():
    assert {p.name.removesuffix(".pipeline.json") for p in sample_paths()} == set(SAMPLE_NODES)


@pytest.mark.parametrize("name", sorted(SAMPLE_NODES))
def test_bundle_on_raw_rows_reproduces_score_node_bit_for_bit(runs, name, tmp_path):
    path, result = runs[name]
    data_node, pairs = SAMPLE_NODES[name]
    raw = result.outputs[data_node]["data"].frame
    for train, score in pairs:
        scored = result.outputs[score]["scored"].frame
        bundle = tmp_path / f"{train}.bundle.zip"
        write_bundle(bundle, result.outputs[train]["model"], pipeline_json=path.read_text(), params={})
        model, _, _ = load_bundle(bundle)
        again = model.score(Table(frame=raw.loc[scored.index])).frame
        predictions = [c for c in scored.columns if c not in raw.columns]
        assert predictions and predictions == [c for c in again.columns if c not in raw.columns]
        pd.testing.assert_frame_equal(again[predictions], scored[predictions], check_exact=True)
        pd.testing.assert_frame_equal(again.drop(columns=predictions), raw.loc[scored.index])  # rows as given


def _rowwise(predict, frame: pd.DataFrame) -> np.ndarray:
    """`predict` on `frame` padded the way the app pads every batch (designer.core.model.ROW_BLOCK): BLAS sums
    a batch's last `n % 4` rows in another order, so scikit-learn itself gives a row other last bits in
    another batch. Padded, each row's prediction depends on the row alone, here as in the app."""
    pad = ROW_BLOCK - len(frame) if len(frame) < ROW_BLOCK else -len(frame) % ROW_BLOCK
    return predict(pd.concat([frame, frame.iloc[[-1] * pad]]))[:len(frame)]


def _split(df: pd.DataFrame, fraction: float, seed: int = 42, stratify: str | None = None):
    return train_test_split(df, train_size=fraction, random_state=seed,
                            stratify=df[stratify] if stratify else None)


def test_diabetes_equals_hand_written(runs):
    _, result = runs["diabetes_linear_regression"]
    df = result.outputs["data"]["data"].frame
    train, test = _split(df, 0.8)
    feats = [c for c in df.columns if c != "progression"]
    pipe = make_pipeline(StandardScaler(), LinearRegression()).fit(train[feats], train["progression"])
    np.testing.assert_array_equal(result.outputs["score"]["scored"].frame["prediction"].to_numpy(),
                                  _rowwise(pipe.predict, test[feats]))


def test_messy_housing_equals_hand_written(runs):
    _, result = runs["messy_housing_boosted_trees"]
    df = pd.read_csv(DATA / "messy_housing.csv")
    train, test = _split(df, 0.8)
    num = ["area_m2", "rooms", "age_years", "distance_km"]
    cat = ["city", "condition", "garden"]
    prep = ColumnTransformer([
        ("num", SimpleImputer(strategy="median"), num),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(sparse_output=False)), cat),
    ])
    hgb = HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=10,
                                        early_stopping=False, random_state=42)
    pipe = make_pipeline(prep, hgb).fit(train[num + cat], train["price_k"])
    np.testing.assert_array_equal(result.outputs["score"]["scored"].frame["prediction"].to_numpy(),
                                  _rowwise(pipe.predict, test[num + cat]))


def test_iris_kmeans_equals_hand_written(runs):
    _, result = runs["iris_kmeans"]
    df = result.outputs["data"]["data"].frame
    feats = [c for c in df.columns if c != "species"]
    scaler = StandardScaler().fit(df[feats])
    km = KMeans(n_clusters=3, n_init=10, random_state=42).fit(scaler.transform(df[feats]))
    scored = result.outputs["score"]["scored"].frame
    X = scaler.transform(df[feats])
    np.testing.assert_array_equal(scored["cluster"].to_numpy(), km.predict(X))
    np.testing.assert_array_equal(scored["distance"].to_numpy(), km.transform(X).min(axis=1))


def test_breast_cancer_equals_hand_written(runs):
    _, result = runs["breast_cancer_classification"]
    df = result.outputs["data"]["data"].frame
    train, test = _split(df, 0.75, stratify="diagnosis")
    feats = [c for c in df.columns if c != "diagnosis"]
    hgb = HistGradientBoostingClassifier(max_iter=100, early_stopping=False, random_state=42)
    hgb.fit(train[feats], train["diagnosis"].to_numpy())
    lr = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    lr.fit(train[feats], train["diagnosis"].to_numpy())
    for node, est in (("score_boosted", hgb), ("score_logistic", lr)):
        scored = result.outputs[node]["scored"].frame
        np.testing.assert_array_equal(scored["prediction"].to_numpy(), _rowwise(est.predict, test[feats]))
        malignant = list(est.classes_).index("malignant")
        np.testing.assert_array_equal(scored["probability_malignant"].to_numpy(),
                                      _rowwise(est.predict_proba, test[feats])[:, malignant])


# ------------------------------------------------------------------------ cleaning before vs after the split
def _diabetes_scaled_before_split():
    """The diabetes sample rewired: scaling on all rows, then the split (cleaning before the split)."""
    path = SAMPLES / "diabetes_linear_regression.pipeline.json"
    p = load_pipeline(path)
    p.links = [l for l in p.links if l.target not in ("split.data", "scale.data", "train.data")]
    p.links += [Link.make("data", "data", "scale", "data"), Link.make("scale", "data", "split", "data"),
                Link.make("split", "train", "train", "data")]
    return p, path.parent


def _count_transforms(monkeypatch) -> dict[str, int]:
    calls: dict[str, int] = {}
    original = Step.transform

    def counting(self, frame, optional=()):
        calls[self.node_id] = calls.get(self.node_id, 0) + 1
        return original(self, frame, optional)

    monkeypatch.setattr(Step, "transform", counting)
    return calls


def test_cleaning_before_the_split_is_not_applied_twice(monkeypatch):
    p, base = _diabetes_scaled_before_split()
    calls = _count_transforms(monkeypatch)
    result = Engine().run(p, base)
    assert result.ok, result.errors
    assert calls == {"scale": 1}  # fitted once on all rows; Score Model does not scale the test rows again
    df = result.outputs["data"]["data"].frame
    feats = [c for c in df.columns if c != "progression"]
    X = StandardScaler().fit_transform(df[feats])
    X_train, X_test, y_train, _ = train_test_split(X, df["progression"].to_numpy(), train_size=0.8, random_state=42)
    expected = LinearRegression().fit(X_train, y_train).predict(X_test)
    np.testing.assert_array_equal(result.outputs["score"]["scored"].frame["prediction"].to_numpy(), expected)


def test_cleaning_after_the_split_is_replayed_once_on_test_rows(monkeypatch):
    path = SAMPLES / "diabetes_linear_regression.pipeline.json"
    calls = _count_transforms(monkeypatch)
    result = Engine().run(load_pipeline(path), path.parent)
    assert result.ok
    assert calls == {"scale": 2}  # once on the training rows, once replayed on the raw test rows


def test_leakage_warning_names_the_step_fitted_before_the_split():
    p, base = _diabetes_scaled_before_split()
    warnings = validate(p, base).warnings
    assert any(w.location.node == "split" and "'scale'" in w.message and "leak" in w.message for w in warnings)
    clean = validate(load_pipeline(SAMPLES / "diabetes_linear_regression.pipeline.json"), SAMPLES).warnings
    assert not clean


def test_scoring_rows_cleaned_by_a_step_the_model_never_saw_warns_then_refuses():
    path = SAMPLES / "diabetes_linear_regression.pipeline.json"
    p = load_pipeline(path)
    p.nodes.append(p.node("scale").model_copy(update={"id": "scale_test"}))
    p.links = [l for l in p.links if l.target != "score.data"]
    p.links += [Link.make("split", "test", "scale_test", "data"), Link.make("scale_test", "data", "score", "data")]
    warnings = validate(p, path.parent).warnings
    assert any(w.location.node == "score" and "never saw" in w.message for w in warnings)
    result = Engine().run(p, path.parent)
    assert result.status["score"] == "failed" and "never saw" in result.errors["score"]
    assert result.status["evaluate"] == "skipped"


def test_missing_values_a_linear_model_cannot_take_are_named_at_scoring():
    from designer.core.errors import BadInput

    path = SAMPLES / "diabetes_linear_regression.pipeline.json"
    p = load_pipeline(path)
    result = Engine().run(p, path.parent)
    model = result.outputs["train"]["model"]
    raw = result.outputs["data"]["data"].frame.drop(columns="progression").iloc[:5].copy()
    raw.loc[raw.index[2], "bmi"] = np.nan
    with pytest.raises(BadInput, match="row 3") as err:
        model.score(Table(frame=raw))
    assert err.value.location.column == "bmi"
