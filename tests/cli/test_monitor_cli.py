"""`drift`, `capture join`, `score --capture` and the captures in `models show`, on a registered model."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pandas as pd
import pytest

from designer import cli
from designer.core.metrics import regression_metrics
from tests.conftest import DATA, SAMPLES

MESSY = SAMPLES / "messy_housing_boosted_trees.pipeline.json"


def call(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(argv)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def registered(tmp_path_factory):
    """messy:1 registered in a fresh store; (store folder, work folder)."""
    root = tmp_path_factory.mktemp("monitor")
    store = root / "store"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIPELINE_DESIGNER_STORE", str(store))
        rc, out, err = call(["run", str(MESSY), "--out", str(root / "out")])
        assert rc == 0, err
        rc, out, err = call(["models", "register", "latest", "train", "--name", "messy"])
        assert rc == 0, err
        data = root / "rows.csv"
        pd.read_csv(DATA / "messy_housing.csv").drop(columns=["price_k"]).to_csv(data, index=False)
        rc, out, err = call(["score", "messy:1", str(data), "-o", str(root / "s.csv"), "--capture"])
        assert rc == 0, err
        assert "captured 600 rows" in err
    return store, root


@pytest.fixture(autouse=True)
def _store(registered, monkeypatch):
    monkeypatch.setenv("PIPELINE_DESIGNER_STORE", str(registered[0]))


def test_score_capture_then_drift_and_models_show(registered, tmp_path):
    rc, out, err = call(["models", "show", "messy:1"])
    assert rc == 0 and "captures  600 rows (600 scored, 0 rejected)" in out
    rc, out, err = call(["models", "show", "messy:1", "--json"])
    assert json.loads(out)["captures"]["rows"] == 600
    rc, out, err = call(["drift", "messy:1", "--html", str(tmp_path / "d.html")])
    assert rc == 0, err
    assert "data: NO DRIFT" in out and "area_m2" in out and (tmp_path / "d.html").read_text().startswith("<!DOCTYPE")
    rc, out, err = call(["drift", "messy:1", "--json", "--fail-on-drift"])
    assert rc == 0 and json.loads(out)["verdict"] == "no drift"


def test_drift_of_a_file_exits_3_with_fail_on_drift(tmp_path):
    rows = pd.read_csv(DATA / "messy_housing.csv").drop(columns=["price_k"])
    rows["distance_km"] = rows["distance_km"] + 5
    data = tmp_path / "moved.csv"
    rows.to_csv(data, index=False)
    rc, out, err = call(["drift", "messy:1", "--data", str(data)])
    assert rc == 0 and "data: DRIFT in distance_km" in out
    rc, out, err = call(["drift", "messy:1", "--data", str(data), "--fail-on-drift", "--json"])
    report = json.loads(out)
    assert rc == 3 and report["columns"]["distance_km"]["verdict"] == "drift"
    assert report["columns"]["city"]["verdict"] == "no drift" and report["source"]["kind"] == "file"
    rc, out, err = call(["drift", "messy:1", "--data", str(data), "--effect", "5", "--fail-on-drift"])
    assert rc == 0  # thresholds are overridable


def test_drift_bad_input(tmp_path):
    rc, _, err = call(["drift", "messy:1", "--since", "soon"])
    assert rc == 2 and "--since" in err
    rc, _, err = call(["drift", "messy:1", "--since", "1d", "--data", "x.csv"])
    assert rc == 2 and "not both" in err
    rc, _, err = call(["drift", "nosuch:1"])
    assert rc == 2 and "nosuch" in err


def test_capture_join_evaluates_live_predictions(registered, tmp_path):
    from designer.core.serve.capture import capture_folder, read_captures

    frame = read_captures(capture_folder(registered[0], "messy", "1")).to_pandas()
    truth = pd.read_csv(DATA / "messy_housing.csv")
    frame = frame[frame["status"] == 200].sort_values("row").head(600)
    actuals = pd.DataFrame({"request_id": frame["request_id"], "row": frame["row"],
                            "price_k": truth["price_k"].to_numpy()[frame["row"].to_numpy() - 1]})
    path = tmp_path / "actuals.csv"
    actuals.to_csv(path, index=False)
    rc, out, err = call(["capture", "join", "messy:1", str(path), "--on", "request_id", "--json"])
    assert rc == 0, err
    result = json.loads(out)
    assert result["joined_rows"] == 600 and result["on"] == ["request_id", "row"]
    expected = regression_metrics(actuals["price_k"].to_numpy(float), frame["prediction"].to_numpy(float))
    assert result["metrics"] == pytest.approx(expected)
    rc, out, err = call(["capture", "join", "messy:1", str(path)])
    assert rc == 0 and "rmse" in out
    actuals.drop(columns=["price_k"]).to_csv(path, index=False)
    rc, _, err = call(["capture", "join", "messy:1", str(path)])
    assert rc == 2 and "price_k" in err
    pd.concat([actuals, actuals]).to_csv(path, index=False)
    rc, _, err = call(["capture", "join", "messy:1", str(path)])
    assert rc == 2 and "two rows" in err
    assert np.isfinite(expected["r2"])


def _new_captures(folder, before: set[str]) -> pd.DataFrame:
    from designer.core.serve.capture import read_captures

    frame = read_captures(folder).to_pandas()
    return frame[~frame["request_id"].isin(before)]


def test_score_capture_in_chunks_is_one_request_numbering_rows_in_the_whole_file(registered, tmp_path):
    """Chunked (and parallel) scoring captures chunk by chunk: one request id, rows numbered in the whole file,
    the predictions written to the output."""
    from designer.cli_serve import served_model
    from designer.core.serve.capture import capture_folder

    bundle = registered[1] / "out" / "train.bundle.zip"
    _, name, version, store = served_model(str(bundle), None)
    folder = capture_folder(store, name, version)
    before = set(_new_captures(folder, set())["request_id"]) if folder.exists() else set()
    rc, out, err = call(["score", str(bundle), str(registered[1] / "rows.csv"), "-o", str(tmp_path / "s.parquet"),
                         "--capture", "--chunk-rows", "250", "--jobs", "2"])
    assert rc == 0, err
    assert "captured 600 rows" in err
    captured = _new_captures(folder, before).sort_values("row")
    assert captured["request_id"].nunique() == 1 and captured["row"].tolist() == list(range(1, 601))
    assert (captured["status"] == 200).all()
    scored = pd.read_parquet(tmp_path / "s.parquet")
    np.testing.assert_array_equal(captured["prediction"].to_numpy(), scored["prediction"].to_numpy())


def test_score_capture_of_a_refused_chunk_keeps_its_rows_with_the_message(registered, tmp_path):
    from designer.cli_serve import served_model
    from designer.core.serve.capture import capture_folder

    bundle = registered[1] / "out" / "train.bundle.zip"
    _, name, version, store = served_model(str(bundle), None)
    folder = capture_folder(store, name, version)
    before = set(_new_captures(folder, set())["request_id"]) if folder.exists() else set()
    rows = pd.read_csv(registered[1] / "rows.csv")
    rows.loc[299, "city"] = "Atlantis"  # row 300, in the second chunk of 250
    data = tmp_path / "rows.csv"
    rows.to_csv(data, index=False)
    rc, out, err = call(["score", str(bundle), str(data), "-o", str(tmp_path / "s.csv"), "--capture",
                         "--chunk-rows", "250"])
    assert rc == 2 and "Atlantis" in err and "row 300" in err and not (tmp_path / "s.csv").exists()
    captured = _new_captures(folder, before).sort_values("row")
    assert captured["row"].tolist() == list(range(1, 501))  # the third chunk was never scored
    assert (captured["status"].to_numpy()[:250] == 200).all() and (captured["status"].to_numpy()[250:] == 422).all()
    assert captured["error"].iloc[-1] and "Atlantis" in captured["error"].iloc[-1]
    assert captured["prediction"].iloc[250:].isna().all()


def test_score_capture_is_refused_with_dask(registered, tmp_path):
    rc, _, err = call(["score", "messy:1", str(registered[1] / "rows.csv"), "-o", str(tmp_path / "s.parquet"),
                       "--capture", "--engine", "dask"])
    assert rc == 2 and "--capture" in err and "dask" in err
