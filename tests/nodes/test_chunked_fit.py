"""Boosted trees grown in cancellable chunks (warm start) equal one fit bit for bit; a Stop ends the fit."""

from __future__ import annotations

import numpy as np
import pytest

import nodes.learn as learn
from designer.core.engine import CancelToken, Engine
from designer.core.errors import Cancelled
from designer.core.node import RunContext
from designer.core.pipeline import load_pipeline
from tests.conftest import sample_paths

BOOSTED = [p for p in sample_paths() if '"learn.boosted_' in p.read_text()]


def test_there_are_boosted_samples():
    assert len(BOOSTED) >= 2


@pytest.mark.parametrize("path", BOOSTED, ids=lambda p: p.name.split(".")[0])
def test_chunked_fit_of_every_boosted_sample_is_bit_identical(path, monkeypatch):
    pipeline = load_pipeline(path)
    whole = Engine().run(pipeline, path.parent)
    monkeypatch.setattr(learn, "CHUNK_SECONDS", 1e-9)  # one tree per chunk: the most warm starts
    chunked = Engine(chunked=True).run(pipeline, path.parent, cancel=CancelToken())
    assert whole.ok and chunked.ok
    scored = [n for n, outs in whole.outputs.items() if "scored" in outs]
    assert scored
    for n in scored:
        a, b = whole.outputs[n]["scored"].frame, chunked.outputs[n]["scored"].frame
        assert a.equals(b), n
    for n, outs in whole.outputs.items():
        if "model" in outs:
            ea, eb = outs["model"].estimator, chunked.outputs[n]["model"].estimator
            assert ea.get_params() == eb.get_params() and ea.n_iter_ == eb.n_iter_


@pytest.mark.parametrize("kind", ["HistGradientBoostingClassifier", "HistGradientBoostingRegressor"])
def test_chunked_fit_on_random_20k_rows_is_bit_identical(kind):
    import sklearn.ensemble as ens
    from sklearn.base import clone

    rng = np.random.RandomState(0)
    X = rng.randn(20_000, 8)
    X[rng.rand(*X.shape) < 0.05] = np.nan
    y = np.nan_to_num(X[:, 0]) + 2 * np.nan_to_num(X[:, 1]) + rng.randn(20_000)
    if kind.endswith("Classifier"):
        y = np.digitize(y, [-1, 1])  # three classes
    est = getattr(ens, kind)(max_iter=23, early_stopping=False, random_state=7)
    whole = clone(est).fit(X, y)
    chunked = learn.fit_in_chunks(clone(est), X, y, RunContext("t", ".", cancelled=lambda: False), chunk=4)
    predict = (lambda m: m.predict_proba(X)) if kind.endswith("Classifier") else (lambda m: m.predict(X))
    assert np.array_equal(predict(whole), predict(chunked))
    assert chunked.get_params() == whole.get_params()


def test_a_chunked_fit_stops_between_chunks():
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.RandomState(1)
    X, y = rng.randn(2000, 4), rng.randn(2000)
    calls = []

    def cancelled() -> bool:
        calls.append(1)
        return len(calls) > 3

    est = HistGradientBoostingRegressor(max_iter=50, early_stopping=False)
    with pytest.raises(Cancelled):
        learn.fit_in_chunks(est, X, y, RunContext("t", ".", cancelled=cancelled), chunk=2)
    assert est.n_iter_ < 50 and est.max_iter == 50 and est.warm_start is False


@pytest.mark.parametrize("kind", ["HistGradientBoostingClassifier", "HistGradientBoostingRegressor"])
def test_cut_and_continued_models_equal_fits_from_scratch(kind):
    """A saved model of 30 trees cut to 17, and a model of 17 grown to 30, equal fresh fits bit for bit."""
    import copy

    import sklearn.ensemble as ens
    from sklearn.base import clone

    rng = np.random.RandomState(2)
    X = rng.randn(3000, 6)
    y = X[:, 0] + rng.randn(3000)
    if kind.endswith("Classifier"):
        y = (y > 0).astype(int)
    est = getattr(ens, kind)(early_stopping=False, random_state=3)
    predict = (lambda m: m.predict_proba(X)) if kind.endswith("Classifier") else (lambda m: m.predict(X))
    big = clone(est).set_params(max_iter=30).fit(X, y)
    small = clone(est).set_params(max_iter=17).fit(X, y)
    cut = learn.truncate_trees(copy.deepcopy(big), 17)
    assert np.array_equal(predict(cut), predict(small)) and cut.get_params() == small.get_params()
    grown = copy.deepcopy(small).set_params(warm_start=True, max_iter=30).fit(X, y).set_params(warm_start=False)
    assert np.array_equal(predict(grown), predict(big)) and grown.get_params() == big.get_params()


def test_run_with_other_tree_counts_reuses_the_saved_model_and_equals_a_fresh_run(tmp_path, monkeypatch):
    from designer.core.result_cache import ResultCache

    path = next(p for p in BOOSTED if "messy" in p.name)
    pipeline = load_pipeline(path)
    engine = Engine(results=ResultCache(tmp_path / "results"))
    assert engine.run(pipeline, path.parent, keep_outputs=False).ok
    for n in (60, 260):  # fewer trees: cut; more: continued
        pipeline.node("learner").params["n_trees"] = n
        events = []
        warm = Engine(results=ResultCache(tmp_path / "results")).run(
            pipeline, path.parent, keep_outputs=False, on_event=lambda e: events.append(e.message))
        fresh = Engine().run(pipeline, path.parent, keep_outputs=False)
        assert warm.status["split"] == "cached" and warm.status["train"] == "finished"
        a, b = warm.outputs["score"]["scored"].frame, fresh.outputs["score"]["scored"].frame
        assert a.equals(b)
        assert warm.outputs["train"]["model"].estimator.n_iter_ == n
        assert any("fitted earlier" in m for m in events)
