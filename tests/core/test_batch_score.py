"""Scoring of any size: chunks, threads and Dask give exactly the rows the whole-file scoring gives (DESIGN §6)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from designer.core.batch import ScoredWriter, find_data, read_chunks, score_chunks
from designer.core.bundle import load_bundle
from designer.core.errors import BadInput
from tests.conftest import ROOT, SAMPLES

MESSY = SAMPLES / "messy_housing_boosted_trees.pipeline.json"
ROWS, CHUNK, MISSING_FIRST = 5000, 1000, 1500
HAS_DASK = importlib.util.find_spec("dask") is not None and importlib.util.find_spec("distributed") is not None


def messy_rows(rows: int, seed: int = 3) -> pd.DataFrame:
    spec = importlib.util.spec_from_file_location("make_messy_housing", ROOT / "resources" / "make_messy_housing.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make(rows, seed=seed).drop(columns="price_k")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    from designer.core.pipeline import load_pipeline
    from designer.core.runner import run_to_dir

    out = tmp_path_factory.mktemp("messy")
    run = run_to_dir(load_pipeline(MESSY), MESSY.parent, out)
    assert run.result.ok, run.result.errors
    return out / "train.bundle.zip"


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    """The same rows as one CSV, one Parquet file and a folder of Parquet files (one of them empty); a column
    whose first 1,500 values are missing (more than a chunk)."""
    folder = tmp_path_factory.mktemp("rows")
    frame = messy_rows(ROWS)
    frame.loc[: MISSING_FIRST - 1, "distance_km"] = np.nan
    frame.loc[: MISSING_FIRST - 1, "condition"] = np.nan
    frame.to_csv(folder / "rows.csv", index=False)
    frame.to_parquet(folder / "rows.parquet", index=False)
    parts = folder / "parts"
    parts.mkdir()
    frame.iloc[:2000].to_parquet(parts / "part-0.parquet", index=False)
    frame.iloc[:0].to_parquet(parts / "part-1.parquet", index=False)  # an empty partition
    frame.iloc[2000:].to_parquet(parts / "part-2.parquet", index=False)
    return {"csv": folder / "rows.csv", "parquet": folder / "rows.parquet", "folder": parts,
            "glob": parts / "part-*.parquet"}


def score(bundle: Path, data: Path, out: Path, chunk_rows: int, jobs: int = 1) -> pd.DataFrame:
    model, _, _ = load_bundle(bundle)
    with ScoredWriter(out) as w:
        for frame in score_chunks(model, read_chunks(find_data(str(data)), model.input_schema, chunk_rows), jobs):
            w.write(frame)
    return pd.read_parquet(out) if out.suffix == ".parquet" else pd.read_csv(out)


@pytest.fixture(scope="module")
def whole(bundle, data, tmp_path_factory) -> pd.DataFrame:
    return score(bundle, data["csv"], tmp_path_factory.mktemp("whole") / "whole.parquet", 0)


def test_whole_file_scoring_is_the_score_function_on_the_rows(bundle, data, whole):
    model, _, _ = load_bundle(bundle)
    frame = pd.read_csv(data["csv"])
    assert whole["source_row"].tolist() == list(range(1, ROWS + 1))
    assert list(whole.columns) == ["source_row", *frame.columns, "prediction"]
    np.testing.assert_array_equal(whole["prediction"].to_numpy(),
                                  model.score(__import__("designer.core.values", fromlist=["Table"]).Table(
                                      frame=frame)).frame["prediction"].to_numpy())
    assert whole["distance_km"].dtype == np.float64 and whole["distance_km"].iloc[:MISSING_FIRST].isna().all()


@pytest.mark.parametrize("source", ["csv", "parquet", "folder", "glob"])
@pytest.mark.parametrize("jobs", [1, 2])
def test_chunks_and_threads_give_the_whole_file_result_exactly(bundle, data, whole, tmp_path, source, jobs):
    got = score(bundle, data[source], tmp_path / "out.parquet", CHUNK, jobs)
    pd.testing.assert_frame_equal(got, whole, check_exact=True)


def test_csv_output_is_the_same_bytes_whole_or_in_chunks(bundle, data, tmp_path):
    score(bundle, data["csv"], tmp_path / "a.csv", 0)
    score(bundle, data["csv"], tmp_path / "b.csv", 700, jobs=2)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_a_bad_value_in_a_later_chunk_names_its_row_in_the_file_and_writes_nothing(bundle, tmp_path):
    frame = messy_rows(3000)
    text = frame.astype(object).where(frame.notna(), "")
    text.loc[2500, "area_m2"] = "big"
    text.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(BadInput, match=r"expected numbers but found 'big' \(row 2501\)") as err:
        score(bundle, tmp_path / "bad.csv", tmp_path / "out.parquet", CHUNK)
    assert err.value.location.column == "area_m2"
    frame.loc[2100, "city"] = "Atlantis"
    frame.to_csv(tmp_path / "unseen.csv", index=False)
    with pytest.raises(BadInput, match="unseen category 'Atlantis' at row 2101"):
        score(bundle, tmp_path / "unseen.csv", tmp_path / "out.parquet", CHUNK, jobs=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "unseen.csv"]  # no output, no temp file


def test_find_data_and_header_only_files_are_named(tmp_path, bundle):
    model, _, _ = load_bundle(bundle)
    with pytest.raises(BadInput, match="no such data file"):
        find_data(str(tmp_path / "nope.csv"))
    with pytest.raises(BadInput, match="no file matches"):
        find_data(str(tmp_path / "*.parquet"))
    (tmp_path / "header.csv").write_text("area_m2,rooms\n")
    with pytest.raises(BadInput, match="header but no rows"):
        list(read_chunks(find_data(str(tmp_path / "header.csv")), model.input_schema, 10))


# ------------------------------------------------------------------------------------------------ Dask
needs_dask = pytest.mark.skipif(not HAS_DASK, reason="the dask extra is not installed")


@needs_dask
@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
@pytest.mark.parametrize("source", ["csv", "folder", "glob"])
def test_dask_gives_the_whole_file_result_exactly(bundle, data, whole, tmp_path, scheduler, source):
    from designer.core.dask_score import DaskOptions, score_with_dask

    model, _, _ = load_bundle(bundle)
    out = tmp_path / "dask.parquet"
    rows = score_with_dask(bundle, model, str(data[source]), str(out), DaskOptions(scheduler, chunk_rows=CHUNK))
    assert rows == ROWS
    pd.testing.assert_frame_equal(pd.read_parquet(out), whole, check_exact=True)


@needs_dask
def test_dask_partitions_really_are_small_and_one_is_empty(bundle, data):
    from designer.core.dask_score import import_dask, read_partitions

    model, _, _ = load_bundle(bundle)
    ddf, _ = read_partitions(import_dask(), str(data["csv"]), model.input_schema, CHUNK)
    assert ddf.npartitions >= 3
    ddf, _ = read_partitions(import_dask(), str(data["folder"]), model.input_schema, None)
    assert 0 in [len(ddf.partitions[i].compute(scheduler="synchronous")) for i in range(ddf.npartitions)]


@needs_dask
def test_dask_names_the_row_of_a_bad_value_in_the_whole_file(bundle, tmp_path):
    from designer.core.dask_score import DaskOptions, score_with_dask

    model, _, _ = load_bundle(bundle)
    frame = messy_rows(3000)
    frame.loc[2100, "city"] = "Atlantis"
    frame.to_csv(tmp_path / "unseen.csv", index=False)
    with pytest.raises(BadInput, match="unseen category 'Atlantis' at row 2101"):
        score_with_dask(bundle, model, str(tmp_path / "unseen.csv"), str(tmp_path / "o.parquet"),
                        DaskOptions("threads", chunk_rows=CHUNK))
    text = frame.astype(object).where(frame.notna(), "")
    text.loc[2500, "area_m2"] = "big"
    text.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(BadInput, match=r"'big' \(row 2501\)"):
        score_with_dask(bundle, model, str(tmp_path / "bad.csv"), str(tmp_path / "o.parquet"),
                        DaskOptions("synchronous", chunk_rows=CHUNK))
    assert not (tmp_path / "o.parquet").exists()


@needs_dask
@pytest.mark.cluster
@pytest.mark.timeout(120)
def test_a_local_cluster_on_loopback_gives_the_whole_file_result_exactly(bundle, data, whole, tmp_path):
    """Through the real command: workers are separate processes that load the bundle by path themselves."""
    out = tmp_path / "cluster.parquet"
    proc = subprocess.run([sys.executable, "-m", "designer", "score", str(bundle), str(data["folder"]), "-o",
                           str(out), "--engine", "dask", "--scheduler", "local", "--json"],
                          capture_output=True, text=True, env=os.environ.copy(), timeout=110)
    assert proc.returncode == 0, proc.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(out), whole, check_exact=True)
