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
