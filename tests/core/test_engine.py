"""Engine: event callbacks, failure isolation, cooperative cancel, reuse and run-up-to."""

from __future__ import annotations

import pytest

from designer.core.engine import CancelToken, Engine
from designer.core.pipeline import Link, Node, Pipeline
from designer.core.validate import InvalidPipeline

DATA = "a,b,y\n1,2,3\n2,1,4\n3,5,8\n4,4,9\n5,7,12\n6,2,9\n"


def two_branches() -> Pipeline:
    """One healthy branch (select → save nothing) and one whose Train fails at run time."""
    return Pipeline(nodes=[
        Node(id="src", type="data.manual", params={"text": DATA}),
        Node(id="ok", type="clean.normalize", params={"columns": ["a", "b"]}),
        Node(id="bad_text", type="data.manual", params={"text": "a,y\n1,\n2,3\n"}),
        Node(id="lin", type="learn.linear_regression"),
        Node(id="train_bad", type="learn.train", params={"label": "y"}),
        Node(id="score_bad", type="score.model"),
    ], links=[
        Link.make("src", "data", "ok", "data"),
        Link.make("lin", "learner", "train_bad", "learner"),
        Link.make("bad_text", "data", "train_bad", "data"),
        Link.make("train_bad", "model", "score_bad", "model"),
        Link.make("src", "data", "score_bad", "data"),
    ])


def test_failure_stops_only_descendants_and_events_are_reported():
    events = []
    result = Engine().run(two_branches(), on_event=lambda e: events.append((e.kind, e.node)))
    assert result.status["ok"] == "finished"
    assert result.status["train_bad"] == "failed"
    assert "missing values" in result.errors["train_bad"] and "train_bad" in result.bad_input
    assert result.status["score_bad"] == "skipped"
    kinds = [k for k, n in events if n == "train_bad"]
    assert kinds[0] == "queued" and "started" in kinds and kinds[-1] == "failed"
    assert ("skipped", "score_bad") in events
    assert not result.ok


def test_cancel_skips_the_rest_and_marks_the_run():
    token = CancelToken()

    def on_event(e):
        if e.kind == "finished" and e.node == "src":
            token.cancel()

    result = Engine().run(two_branches(), on_event=on_event, cancel=token)
    assert result.cancelled and result.status["src"] == "finished"
    assert {s for n, s in result.status.items() if n != "src"} == {"skipped"}


def test_run_upto_runs_only_what_the_node_needs():
    result = Engine().run(two_branches(), upto="ok")
    assert set(result.status) == {"src", "ok"}


def test_unchanged_nodes_are_reused_and_changed_ones_rerun():
    engine = Engine()
    p = two_branches()
    engine.run(p)
    p.node("ok").params["method"] = "minmax"
    again = engine.run(p)
    assert again.status["src"] == "cached" and again.status["ok"] == "finished"
    assert again.status["lin"] == "cached"
    third = engine.run(p, reuse=False)
    assert third.status["src"] == "finished"


def test_file_change_invalidates_a_loader(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text(DATA)
    p = Pipeline(nodes=[Node(id="load", type="data.csv", params={"path": "d.csv"})])
    engine = Engine()
    assert engine.run(p, tmp_path).status["load"] == "finished"
    assert engine.run(p, tmp_path).status["load"] == "cached"
    csv.write_text(DATA + "7,7,14\n")
    r = engine.run(p, tmp_path)
    assert r.status["load"] == "finished" and len(r.outputs["load"]["data"].frame) == 7


def test_invalid_pipeline_reports_every_problem_at_once():
    p = Pipeline(nodes=[
        Node(id="x", type="no.such"),
        Node(id="s", type="split.rows", params={"fraction": 2}),
        Node(id="t", type="learn.train", params={}),
    ])
    with pytest.raises(InvalidPipeline) as err:
        Engine().run(p)
    where = {(i.location.node, i.location.param, i.location.port) for i in err.value.issues}
    assert ("x", None, None) in where
    assert ("s", "fraction", None) in where
    assert ("s", None, "data") in where
    assert ("t", "label", None) in where
    assert ("t", None, "learner") in where


def test_headless_release_keeps_models_and_scored_tables_only():
    from designer.core.pipeline import load_pipeline
    from tests.conftest import SAMPLES

    path = SAMPLES / "diabetes_linear_regression.pipeline.json"
    result = Engine().run(load_pipeline(path), path.parent, keep_outputs=False)
    assert result.ok
    assert result.outputs["data"] == {} and result.outputs["split"] == {} and result.outputs["scale"] == {}
    assert result.outputs["score"]["scored"].scored and result.outputs["train"]["model"]


def test_stop_ends_a_node_that_never_checks_the_flag_within_a_second(test_modules):
    """A node stuck in one long call (a big fit) is abandoned: the run reports it cancelled at once."""
    import threading
    import time

    p = Pipeline(nodes=[Node(id="slow", type="test.stubborn_sample", params={"dataset": "iris", "seconds": 10}),
                        Node(id="after", type="clean.normalize")],
                 links=[Link.make("slow", "data", "after", "data")])
    token = CancelToken()
    events = []
    threading.Timer(0.5, token.cancel).start()
    start = time.perf_counter()
    result = Engine().run(p, on_event=lambda e: events.append((e.kind, e.node)), cancel=token)
    assert time.perf_counter() - start < 0.5 + 1.0
    assert result.cancelled and result.status == {"slow": "skipped", "after": "skipped"}
    assert ("skipped", "slow") in events


def test_errors_and_progress_cross_from_the_node_thread(test_modules):
    token = CancelToken()
    events = []
    result = Engine().run(two_branches(), on_event=lambda e: events.append((e.kind, e.node)), cancel=token)
    assert result.status["train_bad"] == "failed" and "missing values" in result.errors["train_bad"]
    p = Pipeline(nodes=[Node(id="s", type="test.slow_sample", params={"dataset": "iris"})])
    events.clear()
    assert Engine().run(p, on_event=lambda e: events.append(e.kind), cancel=token).ok
    assert events.count("progress") >= 50
