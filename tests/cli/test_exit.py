"""How the `pipeline-designer` process ends: `run` and `score` leave without Python's teardown, after their
output is flushed and their non-daemon threads are done; the exit code is the command's."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from designer import cli
from tests.conftest import DATA, SAMPLES

DIABETES = SAMPLES / "diabetes_linear_regression.pipeline.json"
MESSY = SAMPLES / "messy_housing_boosted_trees.pipeline.json"


def test_run_output_redirected_to_a_file_is_complete_and_the_code_kept(tmp_path: Path) -> None:
    log = tmp_path / "stdout.txt"
    with log.open("w") as f:
        done = subprocess.run([sys.executable, "-m", "designer", "run", str(DIABETES), "--out", str(tmp_path / "out"),
                               "--store", str(tmp_path / "store")], stdout=f, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 0, done.stderr
    text = log.read_text()
    assert "r2" in text and text.rstrip().splitlines()[-1].startswith("recorded run ")
    bad = subprocess.run([sys.executable, "-m", "designer", "run", str(tmp_path / "nope.pipeline.json")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "nope.pipeline.json" in bad.stderr


def test_score_writes_every_row_before_the_quick_exit(tmp_path: Path) -> None:
    trained = subprocess.run([sys.executable, "-m", "designer", "run", str(MESSY), "--out", str(tmp_path / "out"),
                              "--store", str(tmp_path / "store")], capture_output=True, text=True)
    assert trained.returncode == 0, trained.stderr
    bundle = tmp_path / "out" / "train.bundle.zip"
    rows = len((DATA / "messy_housing.csv").read_text().splitlines()) - 1
    for extra in ([], ["--jobs", "2", "--chunk-rows", "100"]):
        out = tmp_path / f"scored{len(extra)}.csv"
        done = subprocess.run([sys.executable, "-m", "designer", "score", str(bundle), str(DATA / "messy_housing.csv"),
                               "-o", str(out), *extra], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert len(out.read_text().splitlines()) == rows + 1


def test_leave_finishes_other_threads_and_flushes_before_the_quick_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    finished: list[str] = []
    exits: list[int] = []

    def slow() -> None:
        time.sleep(0.2)
        finished.append("thread")

    monkeypatch.setattr(cli.os, "_exit", lambda code: exits.append(code))
    monkeypatch.delitem(sys.modules, "dask", raising=False)  # other tests may have imported it
    worker = threading.Thread(target=slow)
    worker.start()
    cli.leave(3, quickly=True)
    assert finished == ["thread"] and exits == [3]


def test_other_commands_and_runs_that_used_dask_exit_as_usual(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.os, "_exit", lambda code: pytest.fail("quick exit where Python's own is needed"))
    monkeypatch.delitem(sys.modules, "dask", raising=False)
    with pytest.raises(SystemExit) as e:
        cli.leave(0, quickly=False)
    assert e.value.code == 0
    monkeypatch.setitem(sys.modules, "dask", sys.modules[__name__])  # any module object: Dask was imported
    with pytest.raises(SystemExit) as e:
        cli.leave(1, quickly=True)
    assert e.value.code == 1
