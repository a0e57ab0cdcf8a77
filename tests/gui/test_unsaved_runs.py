"""Runs of a pipeline not saved yet: recorded in the user's own store, moved next to the file on its first save."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from designer.core.pipeline import load_pipeline
from designer.core.store import STORE_DIR, STORE_FILE, RunStore
from designer.core.store.location import user_store
from tests.gui.conftest import DIABETES
from tests.gui.test_outputs import wait_run


@pytest.fixture
def own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's own run store in a temporary folder, and no store chosen by the environment."""
    monkeypatch.delenv("PIPELINE_DESIGNER_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert user_store() == tmp_path / "data" / "pipeline-designer" / STORE_FILE
    return user_store()


def unsaved_run(qtbot, w, runs: int = 1) -> list[str]:
    """The diabetes sample as a new unsaved document, run `runs` times; the ids recorded."""
    w.set_document(load_pipeline(DIABETES), None, clean=False)
    ids = []
    for _ in range(runs):
        w.run()
        wait_run(qtbot, w)
        assert "your own run store" in w.statusBar().currentMessage()
        ids.append(w.runner.last_recorded.run_id)
    return ids


def run_ids(store: Path) -> list[str]:
    with RunStore.open(store, create=False) as s:
        return [r.id for r in s.list_runs()]


def test_runs_made_before_the_first_save_move_next_to_the_file(window, qtbot, tmp_path, own):
    w = window
    w.runs_dock.show()
    first, second = unsaved_run(qtbot, w, runs=2)
    other = w.new_window()  # another window's unsaved run in the same store is not this document's
    try:
        [elsewhere] = unsaved_run(qtbot, other)
        assert sorted(run_ids(own)) == sorted([first, second, elsewhere])
        target = tmp_path / "project" / "diabetes.pipeline.json"
        target.parent.mkdir()
        w.ask_save_path = lambda: str(target)  # type: ignore[method-assign]
        assert w.save_as()
        assert w.statusBar().currentMessage() == f"Saved {target} · 2 earlier runs moved next to the file"
        beside = target.parent / STORE_DIR / STORE_FILE
        assert run_ids(beside) == [second, first] and run_ids(own) == [elsewhere]
        assert [w.runs.table.item(r, 0).text() for r in range(w.runs.table.rowCount())] == [second, first]
        assert w.runs.header.text().startswith("2 runs of “Diabetes regression”") and not w.runs.banner.isVisibleTo(
            w.runs)
        with RunStore.open(beside, create=False) as s:
            run = s.get_run(first)
        assert run.pipeline_path == str(target) and run.status == "succeeded" and run.metrics["evaluate"]
        assert Path(run.bundles()["train"]["path"]) == beside.parent / "runs" / first / "train.bundle.zip"
        assert Path(run.bundles()["train"]["path"]).is_file() and not (own.parent / "runs" / first).exists()
        # a run made after the save is recorded beside the file directly; nothing more moves on the next save
        w.run()
        wait_run(qtbot, w)
        assert len(run_ids(beside)) == 3 and w.runs.table.rowCount() == 3
        assert w.save() and "moved" not in w.statusBar().currentMessage()
    finally:
        other.stack.setClean()
        other.close()


def test_a_run_still_going_when_the_pipeline_is_saved_follows_it(window, qtbot, tmp_path, own):
    w = window
    w.set_document(load_pipeline(DIABETES), None, clean=False)
    w.runs_dock.show()
    target = tmp_path / "diabetes.pipeline.json"
    w.ask_save_path = lambda: str(target)  # type: ignore[method-assign]
    w.run()
    assert w.runner.running and w.save_as()  # saved before the run's end reaches the window
    wait_run(qtbot, w)
    recorded = w.runner.last_recorded
    beside = tmp_path / STORE_DIR / STORE_FILE
    assert run_ids(beside) == [recorded.run_id] and run_ids(own) == []
    assert recorded.pipeline_path == target and f"recorded as run {recorded.run_id}" in \
        w.statusBar().currentMessage() and "own run store" not in w.statusBar().currentMessage()
    assert w.runs.table.rowCount() == 1 and w.runs.selected_runs() == [recorded.run_id]


def test_runs_that_cannot_move_stay_and_move_on_a_later_save(window, qtbot, tmp_path, own):
    w = window
    w.runs_dock.show()
    [run_id] = unsaved_run(qtbot, w)
    target = tmp_path / "diabetes.pipeline.json"
    blocked = tmp_path / STORE_DIR / STORE_FILE
    blocked.mkdir(parents=True)  # a folder where the store beside the file belongs
    w.ask_save_path = lambda: str(target)  # type: ignore[method-assign]
    assert w.save_as() and target.is_file() and w.doc.path == target and w.stack.isClean()
    message = w.statusBar().currentMessage()
    assert message.startswith(f"Saved {target} · 1 earlier run stays in your own run store") and \
        "is a folder" in message
    assert w.runs.banner.isVisibleTo(w.runs) and "1 earlier run stays" in w.runs.banner.text()
    assert run_ids(own) == [run_id]
    with RunStore.open(own, create=False) as s:
        assert Path(s.get_run(run_id).bundles()["train"]["path"]).is_file()
    shutil.rmtree(blocked)
    QApplication.processEvents()
    assert w.save()
    assert w.statusBar().currentMessage() == f"Saved {target} · 1 earlier run moved next to the file"
    assert run_ids(blocked) == [run_id] and run_ids(own) == [] and w.runs.table.rowCount() == 1
    assert not w.runs.banner.isVisibleTo(w.runs)
