"""Outputs a user can trust: row identity, meta columns, scored rows as given, label safety, honest records."""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from designer import cli
from designer.core.engine import Engine
from designer.core.pipeline import parse_pipeline
from designer.core.validate import validate


def call(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def customers(n: int = 120, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.uniform(0, 10, size=n)
    return pd.DataFrame({"customer_id": [f"C{1000 + i}" for i in range(n)], "x1": x1, "x2": x2,
                         "city": rng.choice(["north", "south"], size=n),
                         "spend": 3 * x1 + 0.5 * x2 + rng.normal(scale=0.1, size=n)})


def pipeline_file(folder: Path, nodes: list[dict], links: list[tuple[str, str]], name: str = "p") -> Path:
    doc = {"format": "pipeline-designer", "version": 2, "name": name, "nodes": nodes,
           "links": [{"from": a, "to": b} for a, b in links]}
    path = folder / f"{name}.pipeline.json"
    path.write_text(json.dumps(doc, indent=2))
    return path


def spend_pipeline(folder: Path, meta: bool = True) -> Path:
    customers().to_csv(folder / "customers.csv", index=False)
    load = {"id": "load", "type": "data.csv", "params": {"path": "customers.csv"}}
    if meta:
        load["params"]["meta_columns"] = ["customer_id"]
    return pipeline_file(folder, [
        load,
        {"id": "split", "type": "split.rows", "params": {"fraction": 0.75, "seed": 1}},
        {"id": "scale", "type": "clean.normalize", "params": {"columns": {"mode": "numeric", "exclude": ["spend"]}}},
        {"id": "encode", "type": "clean.encode"},
        {"id": "learner", "type": "learn.linear_regression"},
        {"id": "train", "type": "learn.train", "params": {"label": "spend"}},
        {"id": "score", "type": "score.model"},
        {"id": "evaluate", "type": "evaluate.model"},
    ], [("load.data", "split.data"), ("split.train", "scale.data"), ("scale.data", "encode.data"),
        ("encode.data", "train.data"), ("learner.learner", "train.learner"), ("train.model", "score.model"),
        ("split.test", "score.data"), ("score.scored", "evaluate.scored")])


def test_scored_output_joins_back_to_the_raw_csv_by_id_and_the_id_is_never_a_feature(tmp_path: Path) -> None:
    path = spend_pipeline(tmp_path)
    rc, _, err = call("run", str(path), "--out", str(tmp_path / "out"))
    assert rc == 0, err
    with zipfile.ZipFile(tmp_path / "out" / "train.bundle.zip") as z:
        features = json.loads(z.read("schema.json"))["features"]
    assert "customer_id" not in features and set(features) == {"x1", "x2", "city_north", "city_south"}

    raw = pd.read_csv(tmp_path / "customers.csv")
    new = raw.drop(columns="spend").sample(frac=1.0, random_state=0)  # other order, no label
    new.to_csv(tmp_path / "new.csv", index=False)
    rc, _, err = call("score", str(tmp_path / "out" / "train.bundle.zip"), str(tmp_path / "new.csv"),
                      "-o", str(tmp_path / "scored.csv"))
    assert rc == 0, err
    scored = pd.read_csv(tmp_path / "scored.csv")
    assert list(scored.columns) == ["source_row", *new.columns, "prediction"]
    pd.testing.assert_frame_equal(scored[list(new.columns)], new.reset_index(drop=True))  # values as given
    joined = raw.merge(scored[["customer_id", "prediction"]], on="customer_id", validate="one_to_one")
    assert len(joined) == len(raw) and np.abs(joined["prediction"] - joined["spend"]).max() < 1.0

    in_run = pd.read_parquet(tmp_path / "out" / "score.scored.parquet")  # the test rows, as they were in the file
    assert list(in_run.columns[:2]) == ["source_row", "customer_id"]
    original = raw.iloc[in_run["source_row"] - 1].reset_index(drop=True)
    pd.testing.assert_frame_equal(in_run[list(raw.columns)], original)
    assert not any(c.startswith("feature:") for c in in_run.columns)


def test_without_meta_the_id_column_stops_training_with_a_located_message(tmp_path: Path) -> None:
    path = spend_pipeline(tmp_path, meta=False)
    rc, _, err = call("run", str(path), "--out", str(tmp_path / "out"))
    assert rc == 2 and "customer_id" in err  # a text column: encoded (as a feature!) or refused, never silent


def test_with_features_adds_the_features_as_the_model_saw_them(tmp_path: Path) -> None:
    path = spend_pipeline(tmp_path)
    rc, _, err = call("run", str(path), "--out", str(tmp_path / "out"), "--set", "score.with_features=true")
    assert rc == 0, err
    scored = pd.read_parquet(tmp_path / "out" / "score.scored.parquet")
    assert {"feature:x1", "feature:city_north"} <= set(scored.columns)
    assert abs(scored["feature:x1"].mean()) < 1.0 and not np.allclose(scored["feature:x1"], scored["x1"])


def test_roles_flow_through_every_node_and_can_be_changed(tmp_path: Path) -> None:
    frame = customers(30)
    text = frame.to_csv(index=False)
    p = parse_pipeline(json.dumps({"format": "pipeline-designer", "version": 2, "name": "roles", "nodes": [
        {"id": "data", "type": "data.manual", "params": {"text": text}},
        {"id": "edit", "type": "clean.edit", "params": {"meta": ["customer_id", "city"]}},
        {"id": "select", "type": "clean.select", "params": {"columns": ["x1", "spend"], "meta": ["x2"]}},
        {"id": "back", "type": "clean.edit", "params": {"features": ["x2"]}},
    ], "links": [{"from": "data.data", "to": "edit.data"}, {"from": "edit.data", "to": "select.data"},
                 {"from": "select.data", "to": "back.data"}]}))
    v = validate(p, tmp_path)
    assert v.ok, v.issues
    assert v.schemas[("select", "data")].names == ["x1", "spend"]
    assert v.schemas[("select", "data")].meta_names == ["customer_id", "city", "x2"]
    assert v.schemas[("back", "data")].names == ["x1", "spend", "x2"]
    result = Engine().run(p, tmp_path)
    assert result.ok, result.errors
    table = result.outputs["select"]["data"]
    assert list(table.frame.columns) == ["x1", "spend"] and list(table.meta.columns) == ["customer_id", "city", "x2"]
    assert list(table.view.columns) == ["customer_id", "city", "x2", "x1", "spend"]
    assert table.schema == v.schemas[("select", "data")].model_copy(update={"steps": table.schema.steps,
                                                                             "stats_steps": ()})
    p.node("select").params["columns"] = ["x1", "customer_id"]
    [issue] = validate(p, tmp_path).errors
    assert issue.location.node == "select" and "meta column" in issue.message


def test_rows_keep_their_source_number_through_splits(tmp_path: Path) -> None:
    path = spend_pipeline(tmp_path)
    from designer.core.pipeline import load_pipeline

    result = Engine().run(load_pipeline(path), tmp_path)
    test_rows = result.outputs["split"]["test"]
    scored = result.outputs["score"]["scored"].view
    assert scored["source_row"].tolist() == (test_rows.frame.index + 1).tolist()
    raw = pd.read_csv(tmp_path / "customers.csv")
    assert scored["customer_id"].tolist() == raw["customer_id"].iloc[test_rows.frame.index].tolist()


# ---------------------------------------------------------------------------------------------- label safety
def test_a_step_that_would_transform_the_label_is_refused_at_validation_naming_both_nodes(tmp_path: Path) -> None:
    path = spend_pipeline(tmp_path)
    doc = json.loads(path.read_text())
    doc["nodes"][2]["params"] = {}  # Normalize's default selection: every numeric column, the label too
    p = parse_pipeline(json.dumps(doc))
    [issue] = validate(p, tmp_path).errors
    assert issue.location.node == "scale" and issue.location.column == "spend"
    assert "'train'" in issue.message and "allow_label" in issue.message
    p.node("scale").params["allow_label"] = True
    assert validate(p, tmp_path).ok


def test_an_encoder_that_would_eat_a_categorical_label_is_named_at_validation(tmp_path: Path) -> None:
    frame = customers(60)
    frame["segment"] = np.where(frame["spend"] > 0, "high", "low")
    frame.drop(columns=["spend", "customer_id"]).to_csv(tmp_path / "seg.csv", index=False)
    path = pipeline_file(tmp_path, [
        {"id": "load", "type": "data.csv", "params": {"path": "seg.csv"}},
        {"id": "encode", "type": "clean.encode"},
        {"id": "learner", "type": "learn.logistic_regression"},
        {"id": "train", "type": "learn.train", "params": {"label": "segment"}},
    ], [("load.data", "encode.data"), ("encode.data", "train.data"), ("learner.learner", "train.learner")])
    rc, _, err = call("validate", str(path))
    assert rc == 2 and "node 'encode'" in err and "segment" in err and "'train'" in err
    rc, _, err = call("run", str(path), "--out", str(tmp_path / "out"))
    assert rc == 2 and "node 'encode'" in err


# ---------------------------------------------------------------------------------------------- records
def test_reproduce_records_its_outputs_so_latest_can_be_registered(tmp_path: Path) -> None:
    path = spend_pipeline(tmp_path)
    store = tmp_path / "store"
    assert call("run", str(path), "--out", str(tmp_path / "out"), "--store", str(store))[0] == 0
    rc, out, err = call("runs", "reproduce", "latest", "--store", str(store))
    assert rc == 0, out + err
    assert "reproduced" in out and "reproducing run" in out
    rc, out, err = call("models", "register", "latest", "train", "--name", "spend", "--store", str(store))
    assert rc == 0, err
    rc, out, err = call("runs", "show", "latest", "--json", "--store", str(store))
    shown = json.loads(out)
    assert shown["reproduces"] and {a["kind"] for a in shown["artifacts"]} >= {"bundle", "scored"}
    assert "pipeline-designer" in shown["libraries"]


def test_the_record_names_the_designers_source_and_the_pipelines_git_state(tmp_path: Path) -> None:
    import subprocess

    from designer.core.bundle import library_versions

    path = spend_pipeline(tmp_path)
    git = ["git", "-C", str(tmp_path), "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", path.name, "customers.csv"], check=True)
    subprocess.run([*git, "commit", "-qm", "pipeline"], check=True)
    store = tmp_path / "store"
    assert call("run", str(path), "--out", str(tmp_path / "o1"), "--store", str(store))[0] == 0
    path.write_text(path.read_text().replace('"seed": 1', '"seed": 2'))  # an uncommitted change
    assert call("run", str(path), "--out", str(tmp_path / "o2"), "--store", str(store))[0] == 0
    first = json.loads(call("runs", "show", "latest~1", "--json", "--store", str(store))[1])
    second = json.loads(call("runs", "show", "latest", "--json", "--store", str(store))[1])
    assert first["git_commit"] == second["git_commit"] and len(first["git_commit"]) == 40
    assert first["git_dirty"] is False and second["git_dirty"] is True
    assert "with uncommitted changes" in call("runs", "show", "latest", "--store", str(store))[1]
    here = library_versions()
    if "pipeline-designer source" in here:  # running from a git checkout of the designer
        assert second["libraries"]["pipeline-designer source"] == here["pipeline-designer source"]
    else:
        pytest.skip("the designer does not run from a git checkout here")
