"""Tune Model Hyperparameters: reproducible sweeps (scikit-learn and Optuna paths), defined scores in every
halving round, Stop within one candidate, candidates that survive a crash, child runs in the run store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from designer.core.engine import CancelToken, Engine
from designer.core.pipeline import Pipeline
from designer.core.tuning import SearchRange, default_space, halving_schedule, min_halving_rows, round_iterations
from tests.conftest import DATA

LINEAR_SPACE = {"l2": {"low": 0.001, "high": 100.0, "log": True}, "fit_intercept": {"values": [True, False]}}


def tune_pipeline(dataset: str, label: str, learner: str, tune: dict[str, Any], learner_params: Any = None,
                  clean: bool = False) -> Pipeline:
    nodes = [{"id": "data", "type": "data.sample", "params": {"dataset": dataset}},
             {"id": "split", "type": "split.rows", "params": {"fraction": 0.8, "seed": 1}},
             {"id": "learner", "type": learner, "params": learner_params or {}},
             {"id": "tune", "type": "learn.tune", "params": {"label": label, **tune}},
             {"id": "train", "type": "learn.train", "params": {"label": label}},
             {"id": "score", "type": "score.model", "params": {}},
             {"id": "evaluate", "type": "evaluate.model", "params": {}}]
    links = [("data.data", "split.data"), ("learner.learner", "tune.learner"), ("tune.learner", "train.learner"),
             ("train.model", "score.model"), ("split.test", "score.data"), ("score.scored", "evaluate.scored")]
    table = "split.train"
    if clean:
        nodes += [{"id": "fill", "type": "clean.missing",
                   "params": {"columns": {"mode": "numeric", "exclude": [label]}}},
                  {"id": "fill_text", "type": "clean.missing", "params": {"columns": {"mode": "categorical"},
                                                                          "mode": "most_frequent"}},
                  {"id": "encode", "type": "clean.encode", "params": {}}]
        links += [("split.train", "fill.data"), ("fill.data", "fill_text.data"), ("fill_text.data", "encode.data")]
        table = "encode.data"
    links += [(table, "tune.data"), (table, "train.data")]
    return Pipeline.model_validate({"format": "pipeline-designer", "version": 2, "name": f"tune {dataset}",
                                    "nodes": nodes, "links": [{"from": a, "to": b} for a, b in links]})


def run(p: Pipeline, **kw: Any) -> Any:
    result = Engine().run(p, DATA, keep_outputs=True, **kw)
    return result


def sweep_without_times(result: Any) -> Any:
    return result.outputs["tune"]["sweep"].frame.drop(columns=["fit_seconds"])


@pytest.mark.parametrize("search", ["random", "grid", "halving", "optuna"])
def test_same_seed_gives_the_same_sweep_and_best_parameters(search: str) -> None:
    if search == "optuna":
        pytest.importorskip("optuna")
    p = tune_pipeline("diabetes", "progression", "learn.linear_regression",
                      {"search": search, "space": LINEAR_SPACE, "candidates": 6, "seed": 5, "cache": False})
    a, b = run(p), run(p)
    assert a.ok and b.ok, (a.errors, b.errors)
    assert sweep_without_times(a).equals(sweep_without_times(b))
    best_a = a.outputs["tune"]["report"].entries[0]["best"]
    assert best_a == b.outputs["tune"]["report"].entries[0]["best"]
    learner = a.outputs["tune"]["learner"]
    assert learner.params["l2"] == best_a["l2"] and learner.tuned["search"] == search
    assert a.outputs["evaluate"]["report"].metrics == b.outputs["evaluate"]["report"].metrics
    # another seed draws other candidates (grid has none to draw)
    if search in ("random", "optuna"):
        p.node("tune").params["seed"] = 6
        assert not sweep_without_times(run(p)).equals(sweep_without_times(a))


@pytest.mark.parametrize("dataset,label,learner", [
    ("diabetes", "progression", "learn.boosted_regression"), ("iris", "species", "learn.logistic_regression"),
    ("wine", "cultivar", "learn.boosted_classification"),
    ("breast_cancer", "diagnosis", "learn.boosted_classification"),
    ("messy_housing", "price_k", "learn.boosted_regression")])
def test_halving_scores_are_defined_in_every_round_on_every_sample(dataset: str, label: str, learner: str) -> None:
    boosted = {"n_trees": 15} if "boosted" in learner else {}
    space = {"learning_rate": {"low": 0.05, "high": 0.3, "log": True}, "max_leaves": {"low": 4, "high": 31}} \
        if "boosted" in learner else {"C": {"low": 0.01, "high": 10.0, "log": True}}
    p = tune_pipeline(dataset, label, learner, {"search": "halving", "space": space, "candidates": 9,
                                                "cache": False, "min_rows": 1}, boosted,
                      clean=dataset == "messy_housing")
    r = run(p)
    assert r.ok, r.errors
    sweep = r.outputs["tune"]["sweep"].frame
    metric = [c for c in sweep.columns if c.startswith("mean_")][0]
    train = r.outputs["split"]["train"].frame
    assert sweep["round"].nunique() >= (2 if len(train) >= 3 * min_halving_rows(3, 1) else 1)
    assert not sweep[metric].isna().any() and not sweep[metric.replace("mean_", "std_")].isna().any()
    classes = train[label].nunique() if sweep.columns[0] and "mean_accuracy" in sweep.columns else 1
    assert sweep["rows"].min() >= min(len(train), min_halving_rows(3, classes))


def test_halving_schedule_starts_no_lower_than_the_minimum_and_ends_with_the_best() -> None:
    # rows only: (candidates, rows, iteration divisor 1) until at most `factor` candidates are left
    assert halving_schedule(24, 20000, 50, 3) == [(24, 50, 1), (8, 150, 1), (3, 450, 1)]
    assert halving_schedule(24, 442, 50, 3) == [(24, 50, 1), (8, 442, 1)]  # rows run out: the last round uses all
    assert halving_schedule(27, 20000, 50, 3) == [(27, 50, 1), (9, 150, 1), (3, 450, 1)]  # not on to 1
    assert halving_schedule(3, 1000, 100, 3) == [(3, 100, 1)] and halving_schedule(1, 1000, 100, 3) == [(1, 100, 1)]
    assert min_halving_rows(5, 3) == 50 and min_halving_rows(5, 10) == 100


def test_halving_schedule_of_boosted_trees_grows_rows_and_iterations() -> None:
    # the benchmark's task: 16,000 training rows, 3 folds (300 rows), 24 candidates; the last round fits every tree
    assert halving_schedule(24, 16000, 300, 3, iterations=True) == [(24, 300, 9), (8, 900, 3), (3, 2700, 1)]
    # rows run out (every row from round 3), iterations go on growing; the rounds follow the candidates
    assert halving_schedule(24, 442, 50, 3, iterations=True) == [(24, 50, 9), (8, 150, 3), (3, 442, 1)]
    assert halving_schedule(9, 353, 300, 3, iterations=True) == [(9, 300, 3), (3, 353, 1)]
    assert halving_schedule(100, 100000, 300, 2, iterations=True) == [
        (100, 300, 64), (50, 600, 32), (25, 1200, 16), (13, 2400, 8), (7, 4800, 4), (4, 9600, 2), (2, 19200, 1)]
    assert halving_schedule(3, 1000, 100, 3, iterations=True) == [(3, 100, 1)]
    assert [round_iterations(200, d) for d in (9, 3, 1)] == [23, 67, 200]
    assert round_iterations(15, 9) == 5 and round_iterations(3, 27) == 3  # at least 5, never more than all


def test_halving_fits_fewer_trees_early_and_outputs_the_winners_own_parameters() -> None:
    space = {"learning_rate": {"low": 0.05, "high": 0.3, "log": True}, "n_trees": {"low": 40, "high": 90}}
    p = tune_pipeline("messy_housing", "price_k", "learn.boosted_regression",
                      {"search": "halving", "space": space, "candidates": 9, "cache": False, "min_rows": 60,
                       "seed": 3}, {"max_leaves": 8}, clean=True)
    a, b = run(p), run(p)
    assert a.ok and b.ok, (a.errors, b.errors)
    sweep = sweep_without_times(a)
    assert sweep.equals(sweep_without_times(b))  # the same seed: the same sweep
    rounds = sorted(sweep["round"].unique())
    assert len(rounds) == 2 and (sweep.groupby("round").size().tolist() == [9, 3])
    for r, divisor in zip(rounds, (3, 1)):
        part = sweep[sweep["round"] == r]
        assert (part["iterations"] == [round_iterations(n, divisor) for n in part["n_trees"]]).all()
    first, last = sweep[sweep["round"] == 1], sweep[sweep["round"] == 2]
    assert (first["iterations"] < first["n_trees"]).all() and (last["iterations"] == last["n_trees"]).all()
    best = a.outputs["tune"]["report"].entries[0]["best"]
    winner = sweep[sweep["round"] == 2].sort_values(["mean_r2", "candidate"], ascending=[False, True]).iloc[0]
    assert best == {"learning_rate": winner["learning_rate"], "n_trees": winner["n_trees"]}
    learner = a.outputs["tune"]["learner"]
    assert learner.params["n_trees"] == best["n_trees"] and learner.params["max_leaves"] == 8
    assert learner.estimator.max_iter == best["n_trees"]  # every tree of the winner, not a round's share
    # off: every round fits all the trees (and the rows-only schedule)
    p.node("tune").params["halve_iterations"] = False
    c = run(p)
    assert c.ok, c.errors
    assert "iterations" not in c.outputs["tune"]["sweep"].frame.columns


def test_a_search_cut_short_after_a_round_of_fewer_trees_outputs_the_winners_own_trees(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from nodes.tune import Search

    # the time limit runs out once the first round (a third of the trees) is done: its best wins
    monkeypatch.setattr(Search, "out_of_time", lambda self: len(self.rows) >= 9)
    p = tune_pipeline("diabetes", "progression", "learn.boosted_regression",
                      {"search": "halving", "space": {"learning_rate": {"low": 0.05, "high": 0.3, "log": True}},
                       "candidates": 9, "cache": False, "min_rows": 60, "minutes": 1}, {"n_trees": 60})
    r = run(p)
    assert r.ok, r.errors
    sweep = r.outputs["tune"]["sweep"].frame
    assert len(sweep) == 9 and (sweep["iterations"] == 20).all()
    learner = r.outputs["tune"]["learner"]
    assert learner.params["n_trees"] == 60 and learner.estimator.max_iter == 60
    assert learner.params["learning_rate"] == r.outputs["tune"]["report"].entries[0]["best"]["learning_rate"]


def test_default_space_follows_the_learners_parameter_model() -> None:
    from nodes.learn import BoostedParams, LogisticParams

    space = default_space(BoostedParams)
    assert "seed" not in space
    assert space["learning_rate"] == SearchRange(low=0.025, high=0.4, log=True)
    assert space["max_leaves"].low >= 2 and space["max_leaves"].high <= 4096
    assert default_space(LogisticParams)["class_weight"].values == ["none", "balanced"]


def test_a_space_the_learner_does_not_have_is_refused_at_validation() -> None:
    from designer.core.validate import validate

    p = tune_pipeline("diabetes", "progression", "learn.linear_regression",
                      {"space": {"max_depth": {"values": [1, 2]}}})
    v = validate(p, DATA)
    assert any(i.location.node == "tune" and "max_depth" in i.message for i in v.errors)
    p.node("tune").params["space"] = {"l2": {"low": -1.0, "high": 2.0}}
    assert any(i.location.node == "tune" and "bounds" in i.message for i in validate(p, DATA).errors)


def test_stop_ends_the_search_within_one_candidate_and_finished_ones_are_cached(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_DESIGNER_STORE", str(tmp_path / "store"))
    p = tune_pipeline("diabetes", "progression", "learn.linear_regression",
                      {"search": "random", "space": LINEAR_SPACE, "candidates": 30, "seed": 1})
    def cached() -> list[Any]:
        return [json.loads(x) for f in (tmp_path / "store" / "tune-cache").glob("*.jsonl")
                for x in f.read_text().splitlines()]

    class StopAfterTwo(CancelToken):
        """Stop pressed the moment the second candidate is recorded (nodes look at the flag from their thread)."""

        def __call__(self) -> bool:
            if len(cached()) >= 2:
                self.cancel()
            return super().__call__()

    r = Engine().run(p, DATA, keep_outputs=True, cancel=StopAfterTwo())
    assert r.cancelled
    assert len(cached()) == 2  # Stop came as the third candidate was about to start: it never ran
    p.node("tune").params["candidates"] = 5
    r = run(p)
    assert r.ok and r.outputs["tune"]["report"].entries[0]["metrics"]["reused"] == 2.0


def test_finished_candidates_survive_a_killed_process_and_a_widened_search_fits_only_new_ones(tmp_path: Path) -> None:
    p = tune_pipeline("messy_housing", "price_k", "learn.boosted_regression",
                      {"search": "random", "candidates": 40, "seed": 2,
                       "space": {"max_leaves": {"low": 4, "high": 64}, "n_trees": {"low": 50, "high": 150}}},
                      clean=True)
    path = tmp_path / "tune.pipeline.json"
    path.write_text(p.to_json_text())
    env = {**os.environ, "PIPELINE_DESIGNER_STORE": str(tmp_path / "store")}
    proc = subprocess.Popen([sys.executable, "-m", "designer", "run", str(path), "--out", str(tmp_path / "out")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cache = tmp_path / "store" / "tune-cache"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            files = list(cache.glob("*.jsonl")) if cache.is_dir() else []
            if files and len(files[0].read_text().splitlines()) >= 2:
                break
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    finished = len(list(cache.glob("*.jsonl"))[0].read_text().splitlines())
    assert finished >= 2
    with open(list(cache.glob("*.jsonl"))[0], "a") as f:
        f.write('{"key": "torn')  # a line cut short by the kill is skipped
    os.environ["PIPELINE_DESIGNER_STORE"] = env["PIPELINE_DESIGNER_STORE"]
    try:
        p.node("tune").params["candidates"] = finished + 1  # the same first candidates, one more
        r = Engine().run(p, DATA, keep_outputs=True)
    finally:
        del os.environ["PIPELINE_DESIGNER_STORE"]
    assert r.ok, r.errors
    assert r.outputs["tune"]["report"].entries[0]["metrics"]["reused"] == finished


def test_candidates_are_child_runs_that_runs_compare_understands(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib
    import io

    from designer import cli
    from designer.core.bundle import load_bundle
    from designer.core.store import RunStore

    monkeypatch.setenv("PIPELINE_DESIGNER_STORE", str(tmp_path / "store"))
    p = tune_pipeline("diabetes", "progression", "learn.linear_regression",
                      {"search": "random", "space": LINEAR_SPACE, "candidates": 4, "seed": 3})
    path = tmp_path / "tune.pipeline.json"
    path.write_text(p.to_json_text())
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["run", str(path), "--out", str(tmp_path / "out"), "--json"]) == 0
    run_id = json.loads(out.getvalue())["run_id"]
    with RunStore.open(tmp_path / "store") as store:
        children = store.list_runs(parent=run_id)
        assert len(children) == 4 and all(c.parent_run == run_id for c in children)
        assert [r.id for r in store.list_runs()] == [run_id]  # candidates are not top-level runs
        assert store.resolve_run("latest") == run_id
        diff = store.compare(children[0].id, children[1].id)
    assert diff["params"] and diff["metrics"]
    with contextlib.redirect_stdout(io.StringIO()) as text:
        assert cli.main(["runs", "compare", children[0].id, children[1].id]) == 0
    assert "l2" in text.getvalue()
    model, manifest, _ = load_bundle(tmp_path / "out" / "train.bundle.zip")
    assert manifest["learner"]["tuned"]["search"] == "random"
    assert manifest["learner"]["tuned"]["from"]["l2"] == 0.0
    assert np.isclose(manifest["learner"]["params"]["l2"], manifest["learner"]["tuned"]["score"] * 0 +
                      manifest["learner"]["params"]["l2"])


def test_report_plots_the_score_against_each_parameter() -> None:
    from designer.core.plots import evaluation_figures

    p = tune_pipeline("diabetes", "progression", "learn.linear_regression",
                      {"search": "halving", "space": LINEAR_SPACE, "candidates": 9, "cache": False, "min_rows": 50})
    r = run(p)
    assert r.ok, r.errors
    figs = evaluation_figures(r.outputs["tune"]["report"].entries[0])
    assert set(figs) == {"Score vs l2", "Score vs fit_intercept"}
    ax = figs["Score vs l2"].axes[0]
    assert ax.get_xscale() == "log" and sum(len(c.get_offsets()) for c in ax.collections) == len(
        r.outputs["tune"]["sweep"].frame) + 1


def test_a_validation_table_scores_candidates_instead_of_inner_folds() -> None:
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score

    p = tune_pipeline("diabetes", "progression", "learn.linear_regression",
                      {"search": "grid", "space": {"l2": {"values": [0.1, 1.0, 10.0]}}, "cache": False})
    p.links.append(type(p.links[0]).make("split", "test", "tune", "validation"))
    r = run(p)
    assert r.ok, r.errors
    sweep = r.outputs["tune"]["sweep"].frame
    train, test = r.outputs["split"]["train"].frame, r.outputs["split"]["test"].frame
    X, y = train.drop(columns="progression"), train["progression"]
    for l2, score in zip(sweep["l2"], sweep["mean_r2"]):
        expected = r2_score(test["progression"], Ridge(alpha=l2).fit(X.to_numpy(), y).predict(
            test.drop(columns="progression").to_numpy()))
        assert score == pytest.approx(expected, rel=1e-12)
    assert (sweep["std_r2"] == 0).all()  # one validation split
