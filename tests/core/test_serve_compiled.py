"""The compiled row path gives the same bits as `TrainedModel.score` (the pandas path): on every sample
bundle's test rows, one at a time and as a batch; and on small pipelines that use every step kind it knows.
A step it does not know falls back to the pandas path for that model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from designer.core.bundle import load_bundle
from designer.core.engine import Engine
from designer.core.errors import BadInput
from designer.core.model import TrainedModel
from designer.core.pipeline import parse_pipeline
from designer.core.recipe import Step
from designer.core.serve.compiled import NotCompiled, compile_model
from designer.core.serve.scorer import Scorer, same_bits
from tests.serve_helpers import build_sample_bundles


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    return build_sample_bundles(tmp_path_factory.mktemp("bundles"))


def _columns(scorer: Scorer, frame: pd.DataFrame) -> dict:
    cols = {r.name: [None if isinstance(v, float) and v != v else v for v in frame[r.name].tolist()]
            for r in scorer.contract.rules}
    checked = scorer.contract.check(cols, len(frame))
    assert not checked.problems, checked.problems[:3]
    return checked.columns


def test_every_sample_model_is_compiled(bundles):
    assert len(bundles) == 5
    for b in bundles:
        model, _, _ = load_bundle(b.bundle)
        assert Scorer.of(model).compiled is not None, (b.sample, b.node, Scorer.of(model).why_not_compiled)


@pytest.mark.parametrize("i", range(5))
def test_compiled_equals_pandas_path_on_all_test_rows(bundles, i):
    b = bundles[i]
    model, _, _ = load_bundle(b.bundle)
    scorer = Scorer.of(model)
    cols = _columns(scorer, b.raw)
    n = len(b.raw)
    batch_full = scorer.full(cols, n)
    batch_compiled = scorer.compiled.predict(cols, n)
    assert same_bits(batch_compiled, batch_full)
    # the Score node inside the run gave the same values too
    for name, values in batch_full.items():
        assert np.asarray(values).tolist() == b.scored[name].tolist()
    for r in range(n):
        one = {c: [v[r]] for c, v in cols.items()}
        full = scorer.full(one, 1)
        assert same_bits(scorer.compiled.predict(one, 1), full), (b.sample, b.node, r)
        assert same_bits(full, {k: v[r:r + 1] for k, v in batch_full.items()}), (b.sample, b.node, r)


def test_self_test_keeps_a_correct_compiled_path(bundles):
    model, _, _ = load_bundle(bundles[0].bundle)
    scorer = Scorer.of(model)
    rows = scorer.self_test()
    assert rows and scorer.compiled is not None


# ---------------------------------------------------------------------------------- every step kind

CSV = """num_a,num_b,num_c,cat_a,cat_b,drop_me,y
1.5,10,0.1,red,small,1,3.2
2.5,,0.2,blue,large,2,4.1
,30,0.3,red,,3,5.3
4.0,40,,green,small,,6.2
5.5,50,0.5,,large,,7.9
6.0,60,0.6,blue,small,,8.1
7.5,70,0.7,red,large,,9.4
8.0,,0.8,green,small,,10.2
9.5,90,0.9,blue,large,,11.7
10.0,100,1.0,red,small,,12.3
"""


def _pipeline(steps: list[dict], learner: str = "learn.boosted_regression", learner_params: dict | None = None):
    nodes = [{"id": "data", "type": "data.manual", "params": {"text": CSV}}]
    links = []
    prev = "data"
    for i, step in enumerate(steps):
        node = f"s{i}"
        nodes.append({"id": node, **step})
        links.append({"from": f"{prev}.data", "to": f"{node}.data"})
        prev = node
    params = learner_params if learner_params is not None else {"n_trees": 5, "min_samples_leaf": 1}
    nodes += [{"id": "learner", "type": learner, "params": params},
              {"id": "train", "type": "learn.train", "params": {"label": "y"}}]
    links += [{"from": f"{prev}.data", "to": "train.data"}, {"from": "learner.learner", "to": "train.learner"}]
    text = json.dumps({"format": "pipeline-designer", "version": 2, "name": "steps", "nodes": nodes, "links": links})
    result = Engine().run(parse_pipeline(text), Path("."))
    assert result.ok, result.errors
    return result.outputs["train"]["model"]


ROWS = [  # raw rows, including missing values where the recipe allows them
    {"num_a": 3.0, "num_b": 20.0, "num_c": 0.25, "cat_a": "red", "cat_b": "small", "drop_me": 2.0},
    {"num_a": None, "num_b": None, "num_c": None, "cat_a": None, "cat_b": None, "drop_me": None},
    {"num_a": -7.25, "num_b": 1e6, "num_c": -0.0, "cat_a": "green", "cat_b": "large", "drop_me": 1.0},
    {"num_a": 123.456, "num_b": 55.5, "num_c": 0.3333333333333333, "cat_a": "blue", "cat_b": None, "drop_me": None},
]

ENCODE = {"type": "clean.encode", "params": {"method": "onehot", "unseen": "ignore"}}
FILL_ALL = [{"type": "clean.missing", "params": {"columns": {"mode": "numeric", "exclude": ["y"]}, "mode": "mean"}},
            {"type": "clean.missing", "params": {"columns": {"mode": "categorical"}, "mode": "most_frequent"}}]
CASES = {
    "impute mean + indicator": [{"type": "clean.missing", "params": {"columns": {"mode": "numeric", "exclude": ["y"]},
                                                                     "mode": "mean", "indicator": True}}, ENCODE],
    "impute median": [{"type": "clean.missing", "params": {"columns": {"mode": "numeric", "exclude": ["y"]},
                                                           "mode": "median"}}, ENCODE],
    "impute constant + most frequent": [
        {"type": "clean.missing", "params": {"columns": ["num_a", "num_b"], "mode": "constant", "constant": -1}},
        {"type": "clean.missing", "params": {"columns": {"mode": "categorical"}, "mode": "most_frequent"}},
        {"type": "clean.encode", "params": {"method": "onehot", "unseen": "error"}}],
    "zscore": [*FILL_ALL, {"type": "clean.normalize", "params": {"columns": {"mode": "numeric", "exclude": ["y"]},
                                                                 "method": "zscore"}}, ENCODE],
    "minmax": [{"type": "clean.normalize", "params": {"columns": {"mode": "numeric", "exclude": ["y"]},
                                                      "method": "minmax"}}, ENCODE],
    "robust": [{"type": "clean.normalize", "params": {"columns": {"mode": "numeric", "exclude": ["y"]},
                                                      "method": "robust"}}, ENCODE],
    "maxabs": [{"type": "clean.normalize", "params": {"columns": {"mode": "numeric", "exclude": ["y"]},
                                                      "method": "maxabs"}}, ENCODE],
    "ordinal ignore": [{"type": "clean.encode", "params": {"method": "ordinal", "unseen": "ignore"}}],
    "ordinal error after fill": [FILL_ALL[1], {"type": "clean.encode", "params": {"method": "ordinal",
                                                                                  "unseen": "error"}}],
    "clip percentiles + bounds": [
        {"type": "clean.clip", "params": {"columns": ["num_a", "num_b"], "lower_percentile": 10,
                                          "upper_percentile": 90}},
        {"type": "clean.clip", "params": {"columns": ["num_c"], "mode": "bounds", "lower": 0.2, "upper": None}},
        ENCODE],
    "select + drop + rename": [
        {"type": "clean.missing", "params": {"columns": {"mode": "all"}, "mode": "remove_column",
                                             "min_missing_ratio": 0.5}},
        {"type": "clean.edit", "params": {"rename": {"num_a": "a", "cat_a": "colour"},
                                          "cast": {"cat_b": "categorical"}}},
        {"type": "clean.select", "params": {"columns": ["a", "num_c", "colour", "cat_b", "y"]}}, ENCODE],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_equals_pandas_path_for_every_step_kind(case, tmp_path):
    model = _pipeline(CASES[case])
    scorer = Scorer.of(model)
    assert scorer.compiled is not None, scorer.why_not_compiled
    names = scorer.contract.names
    rows = [{k: v for k, v in r.items() if k in names} for r in ROWS]
    allowed = [r for r in rows if not scorer.contract.check({k: [r[k]] for k in names}, 1).problems]
    assert allowed, "no sample row passes the contract"
    cols = {k: [r[k] for r in allowed] for k in names}
    checked = scorer.contract.check(cols, len(allowed))
    assert same_bits(scorer.compiled.predict(checked.columns, len(allowed)), scorer.full(checked.columns, len(allowed)))
    for r in range(len(allowed)):
        one = {c: [v[r]] for c, v in checked.columns.items()}
        assert same_bits(scorer.compiled.predict(one, 1), scorer.full(one, 1)), (case, r)


def test_linear_model_refuses_nulls_it_cannot_take_before_scikit_learn():
    rows_without_num_a = {"type": "clean.missing", "params": {"columns": ["num_a"], "mode": "remove_row"}}
    fill_others = {"type": "clean.missing", "params": {"columns": ["num_b", "num_c", "drop_me"], "mode": "mean"}}
    model = _pipeline([rows_without_num_a, fill_others, ENCODE], learner="learn.linear_regression",
                      learner_params={})
    contract = Scorer.of(model).contract
    assert not contract.rule("num_a").nullable  # nothing fills it and linear regression takes no NaN
    assert contract.rule("cat_a").nullable      # one-hot with unseen=ignore encodes a missing category as zeros
    checked = contract.check({"num_a": [None], "num_b": [1.0], "num_c": [1.0], "cat_a": [None], "cat_b": ["small"],
                              "drop_me": [None]}, 1)
    assert [(p.row, p.column) for p in checked.problems] == [(1, "num_a")]


def test_unknown_step_kind_falls_back_to_the_pandas_path():
    model = _pipeline(CASES["zscore"])

    class Odd(Step):  # a plugin's step kind the compiler does not know
        kind = "odd"

        def _apply(self, frame):
            return frame

    odd = Odd(node_id="odd", step_id="odd@1", title="Odd", columns=["num_a"], kinds={"num_a": "numeric"},
              fits_statistics=False)
    model.recipe = model.recipe + (odd,)
    with pytest.raises(NotCompiled, match="Odd"):
        compile_model(model)
    scorer = Scorer.of(model)
    assert scorer.compiled is None and "Odd" in scorer.why_not_compiled
    rows = {k: [v] for k, v in ROWS[0].items() if k in scorer.contract.names}
    checked = scorer.contract.check(rows, 1)
    assert scorer.score(checked.columns, 1)["prediction"].shape == (1,)
    assert scorer.counts["pandas"] == 1


def test_self_test_turns_off_a_compiled_path_that_disagrees():
    model = _pipeline(CASES["zscore"])
    scorer = Scorer.of(model)
    original = scorer.compiled.features
    scorer.compiled.features = lambda cols, n: original(cols, n) * 3 + 1  # a bug in the row path
    scorer.self_test()
    assert scorer.compiled is None and "self-test" in scorer.why_not_compiled


def test_unseen_category_in_compiled_path_is_bad_input_not_a_crash():
    model = _pipeline(CASES["impute constant + most frequent"])
    scorer = Scorer.of(model)
    cols = {k: [v] for k, v in ROWS[0].items() if k in scorer.contract.names}
    cols["cat_a"] = ["purple"]
    assert scorer.contract.check(cols, 1).problems[0].column == "cat_a"
    with pytest.raises(BadInput, match="purple"):
        scorer.compiled.predict(cols, 1)


def test_trained_model_type_is_the_one_served():
    assert isinstance(_pipeline(CASES["robust"]), TrainedModel)


def test_batches_above_the_limit_take_the_pandas_path_with_the_same_bits(bundles):
    model, _, _ = load_bundle(bundles[0].bundle)
    scorer = Scorer.of(model)
    cols = _columns(scorer, bundles[0].raw)
    n = len(bundles[0].raw)
    small = scorer.score(cols, n)
    scorer.compiled_max_rows = n - 1
    large = scorer.score(cols, n)
    assert scorer.counts == {"compiled": 1, "pandas": 1} and same_bits(small, large)
