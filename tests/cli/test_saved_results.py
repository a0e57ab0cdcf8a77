"""`run` reuses unchanged nodes' saved results from earlier runs (file contents hashed); `--no-cache` forces."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from pathlib import Path

from designer import cli
from tests.conftest import SAMPLES

DIABETES = SAMPLES / "diabetes_linear_regression.pipeline.json"


@pytest.fixture(autouse=True)
def _own_store(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_DESIGNER_STORE", str(tmp_path / "store"))


def run(capsys, *args: str) -> dict:
    capsys.readouterr()
    assert cli.main(["run", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def csv_pipeline(tmp_path: Path) -> Path:
    data = tmp_path / "rows.csv"
    data.write_text("a,b,y\n" + "".join(f"{i},{(i * 7) % 5},{i * 2 + (i % 3)}\n" for i in range(60)))
    p = {"format": "pipeline-designer", "version": 2, "name": "csv",
         "nodes": [{"id": "load", "type": "data.csv", "params": {"path": "rows.csv"}},
                   {"id": "split", "type": "split.rows", "params": {"fraction": 0.7, "seed": 1}},
                   {"id": "learner", "type": "learn.linear_regression"},
                   {"id": "train", "type": "learn.train", "params": {"label": "y"}},
                   {"id": "score", "type": "score.model"},
                   {"id": "evaluate", "type": "evaluate.model"}],
         "links": [{"from": "load.data", "to": "split.data"}, {"from": "split.train", "to": "train.data"},
                   {"from": "learner.learner", "to": "train.learner"}, {"from": "train.model", "to": "score.model"},
                   {"from": "split.test", "to": "score.data"}, {"from": "score.scored", "to": "evaluate.scored"}]}
    path = tmp_path / "csv.pipeline.json"
    path.write_text(json.dumps(p))
    return path


def test_a_second_run_reuses_everything_and_gives_the_same_outputs(tmp_path, capsys):
    first = run(capsys, str(DIABETES), "--out", str(tmp_path / "a"))
    assert set(first["status"].values()) == {"finished"}
    second = run(capsys, str(DIABETES), "--out", str(tmp_path / "b"))
    assert second["status"].pop("learner") == "finished"  # a learner (unfitted estimator) is rebuilt, not saved
    assert set(second["status"].values()) == {"cached"} and second["metrics"] == first["metrics"]
    for name in ("score.scored.parquet",):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "b" / "train.bundle.zip").is_file()
    changed = run(capsys, str(DIABETES), "--out", str(tmp_path / "c"), "--set", "learner.l2=0.5")
    assert changed["status"]["learner"] == "finished" and changed["status"]["train"] == "finished"
    assert changed["status"]["split"] == "cached" and changed["status"]["scale"] == "cached"
    forced = run(capsys, str(DIABETES), "--out", str(tmp_path / "d"), "--no-cache")
    assert set(forced["status"].values()) == {"finished"} and forced["metrics"] == first["metrics"]


def test_changed_file_contents_are_noticed_even_with_the_same_size_and_time(tmp_path, capsys):
    path = csv_pipeline(tmp_path)
    first = run(capsys, str(path), "--out", str(tmp_path / "a"))
    data = tmp_path / "rows.csv"
    st = data.stat()
    text = data.read_text()
    data.write_text(text.replace("\n5,", "\n6,", 1))  # same size
    os.utime(data, ns=(st.st_atime_ns, st.st_mtime_ns))  # same time
    assert data.stat().st_size == st.st_size and data.stat().st_mtime_ns == st.st_mtime_ns
    second = run(capsys, str(path), "--out", str(tmp_path / "b"))
    assert second["status"]["load"] == "finished" and second["status"]["split"] == "finished"
    assert second["metrics"] != first["metrics"]


def test_an_unreadable_saved_result_is_computed_again(tmp_path, capsys):
    first = run(capsys, str(DIABETES), "--out", str(tmp_path / "a"))
    results = Path(os.environ["PIPELINE_DESIGNER_STORE"]) / "results"
    for f in results.rglob("*.arrow"):
        f.write_bytes(b"not arrow")
    again = run(capsys, str(DIABETES), "--out", str(tmp_path / "b"))
    assert again["metrics"] == first["metrics"]
    shutil.rmtree(results)


def test_saved_results_of_another_format_version_are_computed_again_and_replaced(tmp_path, capsys):
    first = run(capsys, str(DIABETES), "--out", str(tmp_path / "a"))
    results = Path(os.environ["PIPELINE_DESIGNER_STORE"]) / "results"
    manifests = list(results.rglob("manifest.json"))
    for m in manifests:  # as written by a version that saved Parquet tables
        m.write_text(m.read_text().replace('"version": 2', '"version": 1'))
    again = run(capsys, str(DIABETES), "--out", str(tmp_path / "b"))
    assert set(again["status"].values()) == {"finished"} and again["metrics"] == first["metrics"]
    assert all('"version": 2' in m.read_text() for m in results.rglob("manifest.json"))
    assert run(capsys, str(DIABETES), "--out", str(tmp_path / "c"))["status"]["split"] == "cached"


def bundle_members(path: Path) -> set[str]:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return set(z.namelist())


def test_reused_cleaning_keeps_what_refits_drift_and_export_checks_need(tmp_path, capsys):
    """Cleaning nodes reused from saved results still hand on their rows before cleaning (Tune refits the
    cleaning per fold), the source rows (the drift reference) and the source sample (export --check)."""
    from tests.nodes.test_tune import tune_pipeline

    p = tune_pipeline("messy_housing", "price_k", "learn.boosted_regression",
                      {"search": "random", "candidates": 2, "seed": 2, "folds": 2,
                       "space": {"max_leaves": {"low": 4, "high": 16}, "n_trees": {"low": 5, "high": 10}}},
                      clean=True)
    path = tmp_path / "tune.pipeline.json"
    path.write_text(p.to_json_text())
    first = run(capsys, str(path), "--out", str(tmp_path / "a"))
    assert first["status"]["encode"] == "finished"
    results = Path(os.environ["PIPELINE_DESIGNER_STORE"]) / "results"
    raws = list(results.rglob("data.raw.arrow"))
    assert len(raws) == 3 and all(f.stat().st_nlink > 1 for f in raws)  # the split's rows, linked, not copied
    second = run(capsys, str(path), "--out", str(tmp_path / "b"), "--set", "tune.candidates=3")
    assert second["status"]["encode"] == "cached" and second["status"]["tune"] == "finished"
    assert second["metrics"]["tune"][0]["metrics"]["reused"] == 2  # only the new candidate was fitted
    members = bundle_members(tmp_path / "a" / "train.bundle.zip")
    assert {"reference.json", "sample.json"} <= members
    assert bundle_members(tmp_path / "b" / "train.bundle.zip") == members
