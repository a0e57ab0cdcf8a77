"""`run` recording, `runs list/show/compare/reproduce`, `models register/list/show` and `score NAME[:VERSION]`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from designer.cli import main
from designer.core import store as rs
from designer.core.store import RunStore
from tests.conftest import ROOT
from tests.core.test_store import csv_pipeline, write_csv

PY = sys.executable


@pytest.fixture(autouse=True)
def _no_store_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(rs.ENV_STORE, raising=False)
    monkeypatch.delenv(rs.ENV_TIMEOUT, raising=False)


@pytest.fixture
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pipeline in tmp/proj; the current folder is tmp/proj/work (a child, to exercise the parent search)."""
    pipe = csv_pipeline(tmp_path / "proj")
    (tmp_path / "proj" / "work").mkdir()
    monkeypatch.chdir(tmp_path / "proj" / "work")
    return pipe


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    rc, out, err = run_cli(capsys, *argv, "--json")
    assert rc == 0, err
    return json.loads(out)


def test_run_records_beside_the_pipeline_and_runs_list_finds_it(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run_cli(capsys, "run", proj, "--out", "out")
    assert rc == 0, err
    store = proj.parent / ".pipeline-designer" / "runs.sqlite"
    assert store.is_file() and f"in {store}" in out
    run_id = out.split("recorded run ")[1].split()[0]
    runs = run_json(capsys, "runs", "list")
    assert [(r["id"], r["status"], r["pipeline_name"]) for r in runs] == [(run_id, "succeeded", "Small regression")]
    assert "pipeline_text" not in runs[0]
    rc, out, _ = run_cli(capsys, "runs", "list")
    assert rc == 0 and run_id in out and "succeeded" in out and "r2=" in out or "mae=" in out
    assert run_json(capsys, "run", proj, "--out", "out")["run_id"] != run_id


def test_store_option_and_environment_override_the_default(proj: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli(capsys, "run", proj, "--out", "out", "--store", tmp_path / "opt")[0] == 0
    monkeypatch.setenv(rs.ENV_STORE, str(tmp_path / "env.sqlite"))
    assert run_cli(capsys, "run", proj, "--out", "out")[0] == 0
    assert not (proj.parent / ".pipeline-designer").exists()
    assert len(run_json(capsys, "runs", "list")) == 1  # the environment's store
    assert len(run_json(capsys, "runs", "list", "--store", tmp_path / "opt")) == 1
    monkeypatch.delenv(rs.ENV_STORE)
    rc, _, err = run_cli(capsys, "runs", "list")
    assert rc == 2 and "no run store" in err and "--store" in err


def test_show_and_compare(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "run", proj, "--out", "out")[0] == 0
    assert run_cli(capsys, "run", proj, "--out", "out2", "--set", "learner.l2=2.0")[0] == 0
    rc, out, _ = run_cli(capsys, "runs", "show", "latest")
    assert rc == 0
    for text in ("succeeded", "Small regression", "overrides  learner.l2=2.0", "data.csv  60 rows x 3 columns",
                 "learner (learn.linear_regression): l2=2", "evaluate.scored.r2", "bundle ", "python 3"):
        assert text in out, text
    shown = run_json(capsys, "runs", "show", "latest")
    assert json.loads(shown["pipeline_text"])["nodes"][2]["params"]["l2"] == 0.0  # the file as it is
    assert shown["overrides"] == ["learner.l2=2.0"] and shown["params"]["learner"]["l2"] == 2.0
    rc, out, _ = run_cli(capsys, "runs", "compare", "latest~1", "latest")
    assert rc == 0 and "learner.l2: 0 -> 2 (--set)" in out and "metrics: differ" in out
    assert "pipeline: same file text" in out and "learner.l2=2.0" in out
    assert "data: unchanged (1 input, same SHA-256)" in out
    c = run_json(capsys, "runs", "compare", "latest~1", "latest")
    assert c["params"] == [{"node": "learner", "param": "l2", "a": 0.0, "b": 2.0, "set": True}]
    assert not c["data_changed"] and c["overrides"] == {"a": [], "b": ["learner.l2=2.0"]}
    rc, _, err = run_cli(capsys, "runs", "show", "nosuchrun")
    assert rc == 2 and "no run 'nosuchrun'" in err


def test_reproduce_identical_then_data_changed(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "run", proj, "--out", "out")[0] == 0
    original = run_json(capsys, "runs", "list")[0]["id"]
    proj.unlink()  # the stored copy is what runs; data paths resolve against the original folder
    rc, out, err = run_cli(capsys, "runs", "reproduce", original)
    assert rc == 0, out + err
    assert "data: unchanged" in out and "metrics: identical" in out and "scored table score.scored.parquet: identical" \
        in out and f"reproduced: the results are identical to run {original}" in out
    again = run_json(capsys, "runs", "show", "latest")
    assert again["reproduces"] == original and again["status"] == "succeeded"
    write_csv(proj.parent / "data.csv", rows=60, seed=0, shift=0.5)  # same noise: the intercept absorbs it
    rc, out, _ = run_cli(capsys, "runs", "reproduce", original)
    assert rc == 1 and "metrics: identical" in out and "NOT reproduced: the input data changed" in out
    write_csv(proj.parent / "data.csv", rows=60, seed=1)
    rc, out, _ = run_cli(capsys, "runs", "reproduce", original)
    assert rc == 1
    assert f"data: CHANGED between run {original} and run now" in out and "data.csv: sha256" in out
    assert "metrics: DIFFER" in out and "NOT reproduced: the input data changed" in out
    rc, out, _ = run_cli(capsys, "runs", "reproduce", original, "--json")
    assert rc == 1 and json.loads(out)["data_changed"] is True


def test_models_register_list_show_and_score_by_name(proj: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "run", proj, "--out", "out")[0] == 0
    assert run_cli(capsys, "run", proj, "--out", "out2", "--set", "learner.l2=3.0")[0] == 0
    rc, out, err = run_cli(capsys, "models", "register", "latest~1", "train", "--name", "small")
    assert rc == 0 and "registered small:1" in out, err
    assert run_json(capsys, "models", "register", "latest", "train", "--name", "small")["ref"] == "small:2"
    shutil.rmtree("out")
    shutil.rmtree("out2")  # the registry keeps its own copies
    listed = run_json(capsys, "models", "list")
    assert [m["ref"] for m in listed] == ["small:1", "small:2"] and listed[0]["pipeline"] == "Small regression"
    rc, out, _ = run_cli(capsys, "models", "show", "small:1")
    assert rc == 0
    for text in ("model     small:1", "run       ", "pipeline  Small regression", "data.csv  60 rows x 3 columns",
                 "learner (learn.linear_regression): l2=0", "evaluate.scored.r2"):
        assert text in out, text
    lineage = run_json(capsys, "models", "show", "small")
    assert lineage["model"]["version"] == 2 and lineage["params"]["learner"]["l2"] == 3.0

    new_rows = tmp_path / "new.csv"
    write_csv(new_rows, rows=5, seed=9)
    rc, out, err = run_cli(capsys, "score", "small", new_rows, "-o", tmp_path / "latest.csv")
    assert rc == 0 and "with small:2" in out, err
    rc, out, err = run_cli(capsys, "score", "small:1", new_rows, "-o", tmp_path / "v1.csv", "--json")
    assert rc == 0 and json.loads(out)["model"] == "small:1", err
    assert (tmp_path / "latest.csv").read_text() != (tmp_path / "v1.csv").read_text()
    rc, _, err = run_cli(capsys, "score", "small:7", new_rows, "-o", tmp_path / "x.csv")
    assert rc == 2 and "no version 7" in err
    bundle = Path(lineage["model"]["bundle"])
    bundle.write_bytes(bundle.read_bytes()[:-1] + b"!")
    rc, _, err = run_cli(capsys, "score", "small", new_rows, "-o", tmp_path / "x.csv")
    assert rc == 2 and "changed after it was registered" in err
    rc, _, err = run_cli(capsys, "models", "register", "latest", "score", "--name", "x")
    assert rc == 2 and "no trained bundle for node 'score'" in err


def test_corrupt_store_warns_but_the_run_still_writes_its_outputs(proj: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    folder = proj.parent / ".pipeline-designer"
    folder.mkdir()
    (folder / "runs.sqlite").write_bytes(b"not sqlite " * 300)
    rc, out, err = run_cli(capsys, "run", proj, "--out", "out")
    assert rc == 0 and "wrote out/train.bundle.zip" in out and Path("out/train.bundle.zip").is_file()
    assert "warning: run store" in err and "corrupt" in err and "not recorded" in err
    rc, _, err = run_cli(capsys, "runs", "list")
    assert rc == 2 and "corrupt or not a SQLite database" in err and "Traceback" not in err
    rc, _, err = run_cli(capsys, "models", "list")
    assert rc == 2 and "corrupt" in err


def test_locked_store_warns_on_run_and_fails_clearly_elsewhere(proj: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli(capsys, "run", proj, "--out", "out")[0] == 0
    monkeypatch.setenv(rs.ENV_TIMEOUT, "0.1")
    path = proj.parent / ".pipeline-designer" / "runs.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # a writer that does not let go
    try:
        rc, out, err = run_cli(capsys, "run", proj, "--out", "out2")
        assert rc == 0 and Path("out2/metrics.json").is_file() and "recorded run" not in out
        assert "locked by another process" in err and "not recorded" in err
        rc, _, err = run_cli(capsys, "models", "register", "latest", "train", "--name", "m")
        assert rc == 2 and "locked by another process" in err
        assert len(run_json(capsys, "runs", "list")) == 1  # WAL: readers still read
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("COMMIT")  # keeps the file locked against readers as well
    try:
        rc, _, err = run_cli(capsys, "runs", "list")
        assert rc == 2 and "locked by another process" in err
    finally:
        holder.close()


def test_run_of_an_invalid_pipeline_is_recorded_as_failed(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run_cli(capsys, "run", proj, "--out", "out", "--set", "train.label=nope")
    assert rc == 2 and "nope" in err
    (r,) = run_json(capsys, "runs", "list")
    assert r["status"] == "failed" and "nope" in r["message"] and r["overrides"] == ["train.label=nope"]


def test_help_stays_light() -> None:
    code = textwrap.dedent("""
        import contextlib, io, sys
        from designer.cli import main
        for argv in (["--help"], ["runs", "--help"], ["models", "register", "--help"], ["runs", "reproduce", "-h"]):
            with contextlib.redirect_stdout(io.StringIO()) as out:
                try:
                    main(argv)
                except SystemExit as e:
                    assert e.code == 0, argv
            assert "usage" in out.getvalue()
        heavy = [m for m in ("sqlite3", "pandas", "numpy", "sklearn", "designer.core.store") if m in sys.modules]
        print(heavy)
    """)
    r = subprocess.run([PY, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------------- real processes

_SLOW = textwrap.dedent("""
    import sys, time
    from designer.core.registry import node_type
    cls = node_type("split.rows")
    original = cls.run
    def slow(self, *args, **kwargs):
        time.sleep(300)
        return original(self, *args, **kwargs)
    cls.run = slow
    from designer.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def _wait_for(predicate, seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_killed_run_is_shown_as_interrupted(proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "slow_run.py"
    script.write_text(_SLOW)
    store = tmp_path / "store"
    proc = subprocess.Popen([PY, str(script), "run", str(proj), "--out", str(tmp_path / "out"), "--store", str(store)],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        def running() -> bool:
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode())
            if not (store / "runs.sqlite").is_file():
                return False
            try:
                with RunStore.open(store, create=False, timeout=5) as s:
                    return any(r.status == "running" and r.pid == proc.pid for r in s.list_runs())
            except rs.StoreError:
                return False
        _wait_for(running)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stderr.close()
    (r,) = run_json(capsys, "runs", "list", "--store", store)
    assert r["status"] == "interrupted" and r["pid"] == proc.pid and r["ended_at"] is None
    rc, out, _ = run_cli(capsys, "runs", "show", r["id"], "--store", store)
    assert "interrupted" in out and f"process {proc.pid}" in out and "killed or crashed" in out


def test_two_runs_at_the_same_time_are_both_recorded(proj: Path, tmp_path: Path) -> None:
    store = tmp_path / "shared"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([PY, "-m", "designer", "run", str(proj), "--out", str(tmp_path / f"out{i}"),
                               "--store", str(store), "--set", f"learner.l2={i}.0", "--json"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(2)]
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err.decode()
        assert b"warning" not in err, err.decode()
        ids.append(json.loads(out)["run_id"])
    with RunStore.open(store, create=False) as s:
        runs = {r.id: r for r in s.list_runs()}
        assert set(runs) == set(ids)
        assert sorted(r.overrides[0] for r in runs.values()) == ["learner.l2=0.0", "learner.l2=1.0"]
        assert all(r.status == "succeeded" and r.metrics for r in runs.values())
