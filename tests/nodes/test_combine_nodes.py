"""Join Data and Add Rows: results, reported problems, and the module contract (schema predicts run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from designer.core.errors import BadInput
from designer.core.node import RunContext, SchemaContext
from designer.core.registry import node_type
from designer.core.values import Table
from tests.nodes.helpers import table

LEFT = pd.DataFrame({"id": [1, 2, 3, 4, np.nan], "x": [10.0, 20.0, 30.0, 40.0, 50.0],
                     "flag": [True, False, True, False, True], "name": ["a", "b", "c", "d", "e"]})
RIGHT = pd.DataFrame({"key": [2, 3, 3, 5, np.nan], "x": [0.2, 0.3, 0.33, 0.5, 0.9],
                      "ok": [True, True, False, True, False]})


def run(type_id: str, params: dict[str, Any], **inputs: Table) -> tuple[Table, list[str]]:
    """Run a module and check its contract: the schema it predicts is exactly what the run produced."""
    cls = node_type(type_id)
    parsed = cls.Params.model_validate(params)
    assert cls.Params.model_validate(parsed.model_dump(mode="json")) == parsed  # params round-trip
    assert cls.help().strip() and cls.help() != cls.title
    predicted = cls().schema(parsed, {k: v.schema for k, v in inputs.items()}, SchemaContext("n", Path(".")))
    ctx = RunContext("n", Path("."), fingerprint="f" * 64)
    out = cls().run(parsed, inputs, ctx)["data"]
    assert predicted["data"].columns == out.schema.columns and predicted["data"].meta == out.schema.meta
    assert out.recipe == () and list(out.frame.index) == list(range(len(out.frame)))
    assert out.source_schema is not None
    return out, ctx.warnings


def join(how: str, **params: Any) -> tuple[pd.DataFrame, list[str]]:
    out, warnings = run("data.join", {"how": how, "keys": ["id"], "right_keys": ["key"], **params},
                        left=table(LEFT), right=table(RIGHT))
    return out.view, warnings


def test_inner_join_matches_keys_repeats_duplicates_and_suffixes_clashing_names() -> None:
    out, warnings = join("inner")
    assert out["id"].tolist() == [2, 3, 3] and out["x_right"].tolist() == [0.2, 0.3, 0.33]
    assert list(out.columns) == ["id", "x", "flag", "name", "x_right", "ok"]
    assert "1 left row(s) have a missing key" in warnings[0] and "1 right row(s) have a missing key" in warnings[1]
    assert "right table: 1 key value(s) appear more than once (2 rows)" in warnings[2]


def test_left_full_semi_and_anti_joins() -> None:
    left, _ = join("left")
    assert left["name"].tolist() == ["a", "b", "c", "c", "d", "e"]
    assert left["ok"].tolist()[:2] == [np.nan, True] or pd.isna(left["ok"].iloc[0])
    assert left["ok"].dtype == object  # true/false with possible gaps is categorical, whatever matched
    full, _ = join("full")
    assert full["name"].tolist()[:6] == ["a", "b", "c", "c", "d", "e"] and len(full) == 8
    assert full["id"].tolist()[6] == 5 and pd.isna(full["id"].iloc[7])  # right-only rows, then the keyless one
    semi, _ = join("semi")
    assert semi["name"].tolist() == ["b", "c"] and list(semi.columns) == list(LEFT.columns)
    anti, _ = join("anti")
    assert anti["name"].tolist() == ["a", "d", "e"]


def test_join_on_two_keys_and_meta_columns_stay_meta() -> None:
    a = pd.DataFrame({"k1": [1, 1, 2], "k2": ["p", "q", "p"], "v": [1.0, 2.0, 3.0], "note": ["x", "y", "z"]})
    b = pd.DataFrame({"k1": [1, 2], "k2": ["q", "p"], "w": [7.0, 8.0]})
    out, _ = run("data.join", {"keys": ["k1", "k2"]}, left=table(a).with_roles(meta=["note"]), right=table(b))
    assert out.frame["w"].tolist() == [7.0, 8.0] and out.meta["note"].tolist() == ["y", "z"]
    assert "note" not in out.frame.columns


def test_mismatched_key_types_name_both_columns() -> None:
    b = RIGHT.assign(key=RIGHT["key"].astype(str))
    cls = node_type("data.join")
    params = cls.Params.model_validate({"keys": ["id"], "right_keys": ["key"]})
    with pytest.raises(BadInput) as e:
        cls().schema(params, {"left": table(LEFT).schema, "right": table(b).schema}, SchemaContext("n", Path(".")))
    assert "left 'id' is numeric, right 'key' is categorical" in str(e.value)
    assert e.value.location.column == "key"


@pytest.mark.parametrize("params, message", [
    ({"keys": ["nope"], "right_keys": ["key"]}, "unknown left key column 'nope'"),
    ({"keys": ["id"]}, "unknown right key column 'id'"),
    ({"keys": ["id", "x"], "right_keys": ["key"]}, "2 left key(s) but 1 right key(s)"),
    ({"keys": ["id"], "right_keys": ["key"], "suffix": "", }, "at least 1 character"),
])
def test_bad_join_parameters_are_located(params: dict[str, Any], message: str) -> None:
    cls = node_type("data.join")
    with pytest.raises(Exception) as e:
        cls().schema(cls.Params.model_validate(params), {"left": table(LEFT).schema, "right": table(RIGHT).schema},
                     SchemaContext("n", Path(".")))
    assert message in str(e.value)


def test_a_suffixed_name_the_right_table_already_has_is_refused_before_the_run() -> None:
    """Right has 'x' (renamed 'x_right', as left has 'x') and its own 'x_right': two columns of one name."""
    right = RIGHT.assign(x_right=[1.0, 2.0, 3.0, 4.0, 5.0])
    cls = node_type("data.join")
    params = cls.Params.model_validate({"keys": ["id"], "right_keys": ["key"]})
    with pytest.raises(BadInput, match="right column 'x_right' would be named 'x_right'") as e:
        cls().schema(params, {"left": table(LEFT).schema, "right": table(right).schema}, SchemaContext("n", Path(".")))
    assert e.value.location.param == "suffix"
    out, _ = run("data.join", {"keys": ["id"], "right_keys": ["key"], "suffix": "_r"}, left=table(LEFT),
                 right=table(right))
    assert list(out.view.columns) == ["id", "x", "flag", "name", "x_r", "ok", "x_right"]


def test_add_rows_same_and_union() -> None:
    a = pd.DataFrame({"x": [1, 2], "c": ["u", "v"], "b": [True, False]})
    b = pd.DataFrame({"c": ["w"], "x": [3.5], "b": [True]})
    out, _ = run("data.add_rows", {}, first=table(a), second=table(b))
    assert out.view.to_dict("list") == {"x": [1.0, 2.0, 3.5], "c": ["u", "v", "w"], "b": [True, False, True]}
    extra = pd.DataFrame({"x": [9], "d": [True]})
    with pytest.raises(BadInput, match="only the first has c, b; only the second has d"):
        run("data.add_rows", {}, first=table(a), second=table(extra))
    out, _ = run("data.add_rows", {"columns": "union"}, first=table(a), second=table(extra))
    assert list(out.view.columns) == ["x", "c", "b", "d"] and out.view["b"].dtype == object
    assert pd.isna(out.view["c"].iloc[2]) and out.view["d"].tolist()[2] is True
    with pytest.raises(BadInput, match="column 'x' is numeric in the first table but categorical"):
        run("data.add_rows", {}, first=table(a), second=table(b.assign(x=["t"])))


def pipeline(tmp_path: Path, nodes: list[dict[str, Any]], links: list[tuple[str, str]]) -> Path:
    doc = {"format": "pipeline-designer", "version": 2, "name": "join", "nodes": nodes,
           "links": [{"from": a, "to": b} for a, b in links]}
    path = tmp_path / "join.pipeline.json"
    path.write_text(json.dumps(doc))
    return path


def write_tables(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 120
    pd.DataFrame({"cid": range(n), "x1": rng.normal(size=n), "y": rng.normal(size=n)}).to_csv(
        tmp_path / "facts.csv", index=False)
    pd.DataFrame({"customer": range(0, n, 1), "x2": rng.normal(size=n),
                  "region": rng.choice(["n", "s"], n)}).to_csv(tmp_path / "customers.csv", index=False)


def test_a_model_trained_on_a_join_expects_the_joined_table_and_scores_it_like_the_run(tmp_path: Path) -> None:
    from designer.core.bundle import load_bundle
    from designer.core.pipeline import load_pipeline
    from designer.core.runner import run_to_dir

    write_tables(tmp_path)
    nodes = [{"id": "facts", "type": "data.csv", "params": {"path": "facts.csv"}},
             {"id": "cust", "type": "data.csv", "params": {"path": "customers.csv"}},
             {"id": "join", "type": "data.join",
              "params": {"how": "left", "keys": ["cid"], "right_keys": ["customer"]}},
             {"id": "split", "type": "split.rows", "params": {"seed": 1}},
             {"id": "encode", "type": "clean.encode", "params": {}},
             {"id": "learner", "type": "learn.linear_regression", "params": {}},
             {"id": "train", "type": "learn.train", "params": {"label": "y"}},
             {"id": "score", "type": "score.model", "params": {}}]
    links = [("facts.data", "join.left"), ("cust.data", "join.right"), ("join.data", "split.data"),
             ("split.train", "encode.data"), ("encode.data", "train.data"), ("learner.learner", "train.learner"),
             ("train.model", "score.model"), ("split.test", "score.data")]
    path = pipeline(tmp_path, nodes, links)
    session = run_to_dir(load_pipeline(path), tmp_path, tmp_path / "out")
    assert session.result is not None and session.result.ok, session.result.errors
    model, manifest, _ = load_bundle(tmp_path / "out" / "train.bundle.zip")
    assert model.input_schema.names == ["cid", "x1", "x2", "region"]  # the joined columns, less the label
    assert {d["name"] for d in manifest["data"]} == {"facts.csv", "customers.csv"}
    joined = session.result.outputs["score"]["scored"]
    rows = pd.read_parquet(tmp_path / "out" / "score.scored.parquet")
    raw = rows.drop(columns=["source_row", "prediction"])
    again = model.score(Table(frame=raw)).view
    np.testing.assert_array_equal(again["prediction"].to_numpy(), rows["prediction"].to_numpy())
    assert len(joined.frame) == len(rows)


def test_cleaned_input_is_refused_before_the_run(tmp_path: Path) -> None:
    from designer.core.pipeline import load_pipeline
    from designer.core.validate import validate

    write_tables(tmp_path)
    nodes = [{"id": "facts", "type": "data.csv", "params": {"path": "facts.csv"}},
             {"id": "norm", "type": "clean.normalize", "params": {}},
             {"id": "cust", "type": "data.csv", "params": {"path": "customers.csv"}},
             {"id": "join", "type": "data.join", "params": {"keys": ["cid"], "right_keys": ["region"]}}]
    path = pipeline(tmp_path, nodes, [("facts.data", "norm.data"), ("norm.data", "join.left"),
                                      ("cust.data", "join.right")])
    v = validate(load_pipeline(path), tmp_path)
    messages = [str(i) for i in v.errors]
    assert any("node 'join'" in m and "port 'left'" in m and "fitted cleaning (norm)" in m for m in messages)
