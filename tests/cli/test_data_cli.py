"""`data register/list/show/diff/get`, Load Data Set in runs, `runs reproduce` of a data set version and
`models show` lineage naming it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from designer.core import store as rs
from tests.cli.test_store_cli import run_cli, run_json
from tests.core.test_store import csv_pipeline, write_csv


@pytest.fixture(autouse=True)
def _no_store_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(rs.ENV_STORE, raising=False)


@pytest.fixture
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pipeline reading data set 'sales' (latest) in tmp/proj; the current folder is tmp/proj."""
    pipe = csv_pipeline(tmp_path / "proj")
    doc = json.loads(pipe.read_text())
    doc["nodes"][0] = {"id": "data", "type": "data.dataset", "params": {"name": "sales"}}
    pipe.write_text(json.dumps(doc, indent=2))
    monkeypatch.chdir(tmp_path / "proj")
    return pipe


def metrics(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("  ") and any(m in line for m in ("mae", "r2"))]


def test_register_train_change_register_reproduce_and_lineage(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = proj.parent / "data.csv"
    rc, out, err = run_cli(capsys, "data", "register", data, "--name", "sales", "--description", "Q1 sales")
    assert rc == 0, err
    assert "registered sales:1" in out
    rc, out1, err = run_cli(capsys, "run", proj, "--out", "out1")
    assert rc == 0, err
    run1 = out1.split("recorded run ")[1].split()[0]
    assert run_cli(capsys, "models", "register", run1, "train", "--name", "m")[0] == 0

    write_csv(data, rows=80, seed=5, shift=3.0)  # the file changes on disk: a new version
    rc, out, err = run_cli(capsys, "data", "register", data, "--name", "sales")
    assert rc == 0 and "registered sales:2" in out, err
    rc, out2, err = run_cli(capsys, "run", proj, "--out", "out2")
    assert rc == 0, err
    run2 = out2.split("recorded run ")[1].split()[0]
    assert metrics(out2) != metrics(out1)
    shown = [run_json(capsys, "runs", "show", run1), run_json(capsys, "runs", "show", run2)]
    inputs = {r["id"]: r["inputs"] for r in shown}
    assert [(i["dataset"], i["version"]) for i in inputs[run1]] == [("sales", 1)]
    assert [(i["dataset"], i["version"]) for i in inputs[run2]] == [("sales", 2)]

    rc, out, err = run_cli(capsys, "runs", "reproduce", run1)
    assert rc == 0, out + err
    assert "pinned data.version=1" in out and "metrics: identical" in out and "reproduced:" in out

    rc, out, _ = run_cli(capsys, "models", "show", "m:1")
    assert rc == 0 and "data set sales:1" in out and "sales:2" not in out
    lineage = run_json(capsys, "models", "show", "m")
    assert [(d["dataset"], d["version"]) for d in lineage["data"]] == [("sales", 1)]

    rc, out, _ = run_cli(capsys, "data", "show", "sales:1")
    assert rc == 0 and f"run {run1}" in out and "model m:1" in out and "Q1 sales" in out
    assert f"run {run2}" not in out
    shown = run_json(capsys, "data", "show", "sales")
    assert shown["version"] == 2 and [r["id"] for r in shown["usage"]["runs"]] == [run2]

    rc, out, _ = run_cli(capsys, "runs", "compare", run1, run2)
    assert "sales: sha256" in out and "version 1 -> 2" in out


def test_reproduce_a_run_with_a_pinned_version_set_on_the_command_line(proj: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    data = proj.parent / "data.csv"
    assert run_cli(capsys, "data", "register", data, "--name", "sales")[0] == 0
    write_csv(data, rows=70, seed=9)
    assert run_cli(capsys, "data", "register", data, "--name", "sales")[0] == 0
    result = run_json(capsys, "run", proj, "--out", "o", "--set", "data.version=1")
    run = run_json(capsys, "runs", "show", result["run_id"])
    assert run["overrides"] == ["data.version=1"] and run["inputs"][0]["version"] == 1
    rc, out, err = run_cli(capsys, "runs", "reproduce", result["run_id"])
    assert rc == 0 and "pinned" not in out and "reproduced:" in out, out + err
    rc, _, err = run_cli(capsys, "run", proj, "--out", "o", "--set", "data.version=7")
    assert rc == 2 and "has no version 7" in err and "data" in err


def test_same_content_is_stored_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    a = write_csv(tmp_path / "a.csv")
    b = tmp_path / "copy.csv"
    b.write_bytes(a.read_bytes())
    first = run_json(capsys, "data", "register", a, "--name", "one")
    again = run_json(capsys, "data", "register", a, "--name", "one")
    other = run_json(capsys, "data", "register", b, "--name", "two")
    assert first["new"] and not again["new"] and again["version"] == 1 and other["version"] == 1
    assert first["object"] == other["object"]
    objects = list((tmp_path / ".pipeline-designer" / "datasets" / "objects").rglob("*.parquet"))
    assert len(objects) == 1
    assert [d["ref"] for d in run_json(capsys, "data", "list")] == ["one:1", "two:1"]


def test_diff_names_schema_rows_and_drift_per_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "t.csv"
    pd.DataFrame({"x": range(100), "c": ["a"] * 50 + ["b"] * 50, "k": [1, 2] * 50, "gone": 1.0}).to_csv(f, index=False)
    run_cli(capsys, "data", "register", f, "--name", "t")
    pd.DataFrame({"x": [v + 40 for v in range(120)], "c": ["a"] * 20 + ["b"] * 100, "k": [1, 2] * 60,
                  "new": "z"}).to_csv(f, index=False)
    run_cli(capsys, "data", "register", f, "--name", "t")
    c = run_json(capsys, "data", "diff", "t:1", "t:2")
    assert c["rows"] == [100, 120] and c["verdict"] == "drift"
    assert {(s["column"], s["change"]) for s in c["schema"]} == {("gone", "removed"), ("new", "added")}
    assert c["changed_columns"] == ["x", "c"]
    by = {d["column"]: d for d in c["distributions"]}
    assert by["x"]["effect_name"] == "normalized Wasserstein" and by["x"]["p"] < 0.01 and by["x"]["effect"] > 1
    assert by["c"]["effect_name"] == "Cohen's w" and by["c"]["p"] < 0.01
    assert by["k"]["verdict"] == "no drift"
    rc, out, _ = run_cli(capsys, "data", "diff", "t:1", "t:2")
    assert rc == 0 and "rows     100 -> 120" in out and "gone: removed" in out and "columns  2 of 3 drift: x, c" in out
    assert "mean 49.5 -> 99.5 (+1.72 sd)" in out and "b 50.0% -> 83.3%" in out and "a 50.0% -> 16.7%" in out
    assert run_json(capsys, "data", "diff", "t:1", "t:2", "--effect", "5")["changed_columns"] == []
    assert run_json(capsys, "data", "diff", "t:1", "t:2", "--min-rows", "500")["verdict"] == "not enough rows"
    rc, _, err = run_cli(capsys, "data", "diff", "t:1", "t:2", "--p", "2")
    assert rc == 2 and "--p must be in (0, 1)" in err
    rc, _, err = run_cli(capsys, "data", "diff", "t:1", "t:9")
    assert rc == 2 and "has no version 9" in err
    rc, _, err = run_cli(capsys, "data", "diff", "nope:1", "t:1")
    assert rc == 2


def test_get_writes_csv_and_parquet_equal_to_the_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    f = write_csv(tmp_path / "a.csv")
    run_cli(capsys, "data", "register", f, "--name", "a")
    write_csv(f, seed=3)  # the original is gone; the version is not
    for name in ("back.csv", "back.parquet"):
        rc, out, err = run_cli(capsys, "data", "get", "a:1", "-o", tmp_path / name)
        assert rc == 0, err
    original = pd.read_csv(write_csv(tmp_path / "orig.csv"))
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "back.csv"), original)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "back.parquet"), original)
    rc, _, err = run_cli(capsys, "data", "get", "a:1", "-o", tmp_path / "x.xlsx")
    assert rc == 2 and ".csv or .parquet" in err


def test_reference_is_verified_at_every_load(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = proj.parent / "data.csv"
    rc, out, err = run_cli(capsys, "data", "register", data, "--name", "sales", "--reference")
    assert rc == 0 and "reference to" in out, err
    assert not (proj.parent / ".pipeline-designer" / "datasets").exists()
    assert run_cli(capsys, "run", proj, "--out", "o")[0] == 0
    write_csv(data, seed=4)
    rc, _, err = run_cli(capsys, "run", proj, "--out", "o")
    assert rc == 2 and "node 'data' failed" in err and "has changed since it was registered" in err


def test_folder_of_csv_files_registers_rows_in_file_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    parts = tmp_path / "parts"
    parts.mkdir()
    pd.DataFrame({"a": [1, 2]}).to_csv(parts / "p1.csv", index=False)
    pd.DataFrame({"a": [3]}).to_csv(parts / "p2.csv", index=False)
    d = run_json(capsys, "data", "register", parts, "--name", "parts")
    assert d["rows"] == 3 and [f[0] for f in d["options"]["files"]] == ["p1.csv", "p2.csv"]
    run_cli(capsys, "data", "get", "parts", "-o", tmp_path / "all.csv")
    assert pd.read_csv(tmp_path / "all.csv")["a"].tolist() == [1, 2, 3]
    pd.DataFrame({"b": [1]}).to_csv(parts / "p3.csv", index=False)
    rc, _, err = run_cli(capsys, "data", "register", parts, "--name", "parts")
    assert rc == 2 and "p3.csv" in err and "differ" in err


@pytest.mark.parametrize("argv, message", [
    (["data", "register", "missing.csv", "--name", "x"], "no such file or folder"),
    (["data", "register", "{csv}", "--name", "bad name"], "not a valid data set name"),
    (["data", "show", "nothing"], "no data set 'nothing'"),
    (["data", "register", "--name", "x"], "either a FILE|FOLDER"),
])
def test_bad_input_exits_2_with_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    f = write_csv(tmp_path / "a.csv")
    run_cli(capsys, "data", "register", f, "--name", "a")
    rc, _, err = run_cli(capsys, *[a.format(csv=f) for a in argv])
    assert rc == 2 and message in err and "Traceback" not in err
