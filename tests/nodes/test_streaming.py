"""Rows read in chunks: streamed scoring pipelines, Partition and Sample, Load Model (DESIGN §6)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from designer.core.digest import file_sha256
from designer.core.engine import Engine
from designer.core.pipeline import parse_pipeline
from designer.core.validate import validate
from tests.core.test_batch_score import bundle, messy_rows  # noqa: F401  (the module-scoped bundle fixture)


def pipeline(nodes: list[dict], links: list[tuple[str, str]]):
    return parse_pipeline(json.dumps({"format": "pipeline-designer", "version": 2, "name": "stream", "nodes": nodes,
                                      "links": [{"from": a, "to": b} for a, b in links]}))


@pytest.fixture(scope="module")
def rows_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("stream") / "rows.csv"
    frame = messy_rows(4000, seed=5)
    frame.loc[:1499, "distance_km"] = np.nan  # no value in the first chunk(s): read as a number anyway later
    frame.insert(0, "house_id", [f"h{i}" for i in range(len(frame))])
    frame.to_csv(path, index=False)
    return path


def scoring_pipeline(data: Path, bundle_path: Path, out: Path, chunk_rows: int, meta: tuple[str, ...] = ("house_id",)):
    return pipeline([
        {"id": "load", "type": "data.csv", "params": {"path": str(data), "chunk_rows": chunk_rows,
                                                      "meta_columns": list(meta)}},
        {"id": "model", "type": "data.model", "params": {"model": str(bundle_path)}},
        {"id": "score", "type": "score.model"},
        {"id": "save", "type": "data.save_csv", "params": {"path": str(out)}},
    ], [("load.data", "score.data"), ("model.model", "score.model"), ("score.scored", "save.data")])


def test_a_streamed_scoring_pipeline_writes_what_score_writes(bundle, rows_csv, tmp_path):  # noqa: F811
    from designer.cli import main

    result = Engine().run(scoring_pipeline(rows_csv, bundle, tmp_path / "streamed.csv", 700), tmp_path)
    assert result.ok, result.errors
    assert main(["score", str(bundle), str(rows_csv), "-o", str(tmp_path / "cli.csv")]) == 0
    streamed, cli = pd.read_csv(tmp_path / "streamed.csv"), pd.read_csv(tmp_path / "cli.csv")
    assert streamed["source_row"].tolist() == list(range(1, 4001))
    assert list(streamed.columns[:2]) == ["source_row", "house_id"]  # the meta column comes back
    pd.testing.assert_frame_equal(streamed, cli[streamed.columns], check_exact=True)
    (source,) = result.sources  # the input's full-content hash, made in a streaming pass
    assert source.sha256 == file_sha256(rows_csv) and source.rows == 4000

    whole = Engine().run(scoring_pipeline(rows_csv, bundle, tmp_path / "whole.csv", 0), tmp_path)
    assert whole.ok, whole.errors
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "whole.csv"), streamed, check_exact=True)


def test_a_bad_value_in_a_later_chunk_fails_the_run_naming_the_row(bundle, tmp_path):  # noqa: F811
    frame = messy_rows(3000)
    frame.loc[2100, "city"] = "Atlantis"
    frame.to_csv(tmp_path / "rows.csv", index=False)
    result = Engine().run(scoring_pipeline(tmp_path / "rows.csv", bundle, tmp_path / "out.csv", 1000, ()), tmp_path)
    assert "unseen category 'Atlantis' at row 2101" in result.errors["save"]
    assert "node 'encode'" in result.errors["save"] and not (tmp_path / "out.csv").exists()


def test_validation_refuses_streamed_rows_into_a_module_that_needs_them_all(rows_csv, tmp_path):
    p = pipeline([{"id": "load", "type": "data.csv", "params": {"path": str(rows_csv), "chunk_rows": 500}},
                  {"id": "norm", "type": "clean.normalize", "params": {"columns": {"mode": "numeric"}}}],
                 [("load.data", "norm.data")])
    errors = validate(p, tmp_path).errors
    assert [(e.location.node, "'load' reads its file in chunks" in e.message) for e in errors] == [("norm", True)]
    p = pipeline([{"id": "load", "type": "data.csv", "params": {"path": str(rows_csv), "chunk_rows": 500}},
                  {"id": "sample", "type": "split.sample", "params": {"fraction": 0.2}},
                  {"id": "norm", "type": "clean.normalize", "params": {"columns": {"mode": "numeric"}}}],
                 [("load.data", "sample.data"), ("sample.data", "norm.data")])
    assert validate(p, tmp_path).ok  # a sample is an ordinary table


@pytest.mark.parametrize("params", [
    {"mode": "fraction", "fraction": 0.25},
    {"mode": "rows", "rows": 333},
    {"mode": "fraction", "fraction": 0.1, "stratify": "city"},
    {"mode": "rows", "rows": 500, "stratify": "garden"},
    {"mode": "rows", "rows": 10_000},
])
def test_partition_and_sample_is_the_same_in_memory_and_in_chunks_of_any_size(rows_csv, tmp_path, params):
    frame = pd.read_csv(rows_csv)
    if params.get("stratify"):
        frame = frame[frame[params["stratify"]].notna()]
        frame.to_csv(tmp_path / "rows.csv", index=False)
        data = tmp_path / "rows.csv"
    else:
        data = rows_csv
    samples = []
    for chunk_rows in (0, 1000, 333):
        p = pipeline([{"id": "load", "type": "data.csv", "params": {"path": str(data), "chunk_rows": chunk_rows}},
                      {"id": "sample", "type": "split.sample", "params": {**params, "seed": 7}}],
                     [("load.data", "sample.data")])
        result = Engine().run(p, tmp_path)
        assert result.ok, result.errors
        samples.append(result.outputs["sample"]["data"].frame)
    whole = samples[0]
    for other in samples[1:]:
        assert other.index.tolist() == whole.index.tolist()  # the same rows, in file order, with their numbers
        pd.testing.assert_frame_equal(other[["area_m2", "city"]], whole[["area_m2", "city"]], check_exact=True)
    n = len(frame)
    if params["mode"] == "rows":
        assert len(whole) == min(params["rows"], n)
    elif not params.get("stratify"):
        assert abs(len(whole) - 0.25 * n) < 4 * np.sqrt(n * 0.25 * 0.75)
    if params.get("stratify"):
        column = params["stratify"]
        share = whole[column].value_counts(normalize=True)
        pd.testing.assert_series_equal(share, frame[column].value_counts(normalize=True)[share.index], atol=0.01)
    other_seed = Engine().run(pipeline(
        [{"id": "load", "type": "data.csv", "params": {"path": str(data)}},
         {"id": "sample", "type": "split.sample", "params": {**params, "seed": 8}}], [("load.data", "sample.data")]),
        tmp_path).outputs["sample"]["data"].frame
    assert params["rows" if params["mode"] == "rows" else "mode"] == 10_000 or \
        other_seed.index.tolist() != whole.index.tolist()


def test_streamed_edit_and_select_then_save(rows_csv, tmp_path):
    p = pipeline([{"id": "load", "type": "data.csv", "params": {"path": str(rows_csv), "chunk_rows": 600}},
                  {"id": "select", "type": "clean.select", "params": {"columns": ["house_id", "area_m2", "city"]}},
                  {"id": "edit", "type": "clean.edit", "params": {"rename": {"area_m2": "area"}}},
                  {"id": "save", "type": "data.save_csv", "params": {"path": "out.csv", "delimiter": ";"}}],
                 [("load.data", "select.data"), ("select.data", "edit.data"), ("edit.data", "save.data")])
    assert Engine().run(p, tmp_path).ok
    out = pd.read_csv(tmp_path / "out.csv", sep=";")
    raw = pd.read_csv(rows_csv)
    assert list(out.columns) == ["house_id", "area", "city"] and len(out) == len(raw)
    pd.testing.assert_series_equal(out["area"], raw["area_m2"], check_names=False)


def test_load_model_names_a_missing_bundle_and_an_unknown_registered_model(tmp_path):
    for ref, text in (("nope.bundle.zip", "no such bundle"), ("housing:3", "neither a bundle file nor")):
        p = pipeline([{"id": "model", "type": "data.model", "params": {"model": ref}}], [])
        (issue,) = validate(p, tmp_path).errors
        assert issue.location.node == "model" and text in issue.message


def test_the_run_report_profiles_the_first_chunk_of_streamed_input(rows_csv, tmp_path):
    from designer.cli import main

    p = {"format": "pipeline-designer", "version": 2, "name": "sampled", "nodes": [
        {"id": "load", "type": "data.csv", "params": {"path": str(rows_csv), "chunk_rows": 1000}},
        {"id": "sample", "type": "split.sample", "params": {"mode": "rows", "rows": 50}}],
        "links": [{"from": "load.data", "to": "sample.data"}]}
    (tmp_path / "p.pipeline.json").write_text(json.dumps(p))
    assert main(["run", str(tmp_path / "p.pipeline.json"), "--out", str(tmp_path / "out"), "--report",
                 str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    assert "read in chunks: the profile shows the first 1,000 rows" in html and "1,000 rows" in html
