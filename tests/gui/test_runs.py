"""The Runs dock: GUI runs recorded like CLI runs, comparison, reopening a run, registering models, store trouble."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from designer.core.store import STORE_DIR, STORE_FILE, RunStore
from tests.gui.conftest import DIABETES, node_pos
from tests.gui.test_outputs import choose, right_click, wait_run


@pytest.fixture
def saved(window, tmp_path, monkeypatch):
    """The diabetes sample saved in a temporary folder, so its run store is `.pipeline-designer/` beside it."""
    monkeypatch.delenv("PIPELINE_DESIGNER_STORE", raising=False)
    path = tmp_path / "diabetes.pipeline.json"
    shutil.copyfile(DIABETES, path)
    assert window.open_file(path, confirm=False)
    window.validate_now()
    window.view.fit()
    window.runs_dock.show()
    QApplication.processEvents()
    window.store_path = tmp_path / STORE_DIR / STORE_FILE  # type: ignore[attr-defined]
    return window


def run(qtbot, w):
    w.run()
    wait_run(qtbot, w)


def click(widget):
    QTest.mouseClick(widget, Qt.LeftButton)
    QApplication.processEvents()


def test_a_gui_run_is_recorded_in_the_store_and_listed(saved, qtbot):
    w = saved
    assert "No runs recorded yet" in w.runs.header.text()
    run(qtbot, w)
    recorded = w.runner.last_recorded
    assert recorded.run_id and not recorded.warnings
    assert f"recorded as run {recorded.run_id}" in w.statusBar().currentMessage()
    table = w.runs.table
    assert table.rowCount() == 1
    assert [table.item(0, c).text() for c in (0, 1)] == [recorded.run_id, "succeeded"]
    assert "r2=" in table.item(0, 4).text()
    with RunStore.open(w.store_path, create=False) as store:
        rec = store.get_run(recorded.run_id)
    assert rec.status == "succeeded" and rec.pipeline_path == str(w.doc.path)
    assert rec.params["learner"]["l2"] == 0.0 and rec.inputs and rec.metrics["evaluate"]
    bundle = Path(rec.bundles()["train"]["path"])
    assert bundle == w.store_path.parent / "runs" / rec.id / "train.bundle.zip" and bundle.is_file()


def test_compare_shows_exactly_the_changed_parameter(saved, qtbot):
    w = saved
    run(qtbot, w)
    w.editor.set_param("learner", "l2", 3.0)
    run(qtbot, w)
    assert w.runs.table.rowCount() == 2
    w.runs.select_runs([r.id for r in w.runs.runs])
    assert w.runs.compare_button.isEnabled() and not w.runs.open_button.isEnabled()
    click(w.runs.compare_button)
    c = w.runs.compare_view.comparison
    assert [(p["node"], p["param"], p["a"], p["b"]) for p in c["params"]] == [("learner", "l2", 0.0, 3.0)]
    assert not c["data_changed"] and not c["metrics_identical"]
    labels = [l.text() for l in w.runs.compare_view.findChildren(type(w.runs.header))]
    assert "<b>Parameters: 1 difference</b>" in labels
    assert any(t.startswith("<b>Input data: unchanged") for t in labels)


def test_open_the_pipeline_as_it_was_in_an_earlier_run(saved, qtbot):
    w = saved
    run(qtbot, w)
    first = w.runner.last_recorded.run_id
    w.editor.set_param("learner", "l2", 3.0)
    assert w.save()
    run(qtbot, w)
    w.runs.select_runs([first])
    w.editor.set_param("learner", "l2", 4.0)  # unsaved work here stays untouched: the run opens in a new window
    click(w.runs.open_button)
    assert w.doc.node("learner").params["l2"] == 4.0
    [other] = w.windows
    try:
        assert other.doc.node("learner").params["l2"] == 0.0 and other.doc.path == w.store_path.parent.parent / \
            "diabetes.pipeline.json"
        assert not other.stack.isClean() and first in other.statusBar().currentMessage()
    finally:
        other.stack.setClean()
        other.close()


def test_reproduce_runs_the_stored_pipeline_again_in_a_new_window(saved, qtbot):
    w = saved
    run(qtbot, w)
    first = w.runner.last_recorded.run_id
    metrics = w.runner.last_result.outputs["evaluate"]["report"].metrics
    w.runs.select_runs([first])
    click(w.runs.reproduce_button)
    [other] = w.windows
    try:
        qtbot.waitUntil(lambda: not other.runner.running and other.runner.last_result is not None, timeout=60_000)
        assert other.runner.last_result.ok
        assert other.runner.last_result.outputs["evaluate"]["report"].metrics == metrics
    finally:
        other.stack.setClean()
        other.close()


def test_register_a_model_from_the_node_menu_shows_its_lineage(saved, qtbot):
    w = saved
    run(qtbot, w)
    asked = []
    w.runs.ask_registration = lambda run, nodes, node, name: asked.append((run.id, nodes, node, name)) or \
        (node, "diabetes_lr")
    right_click(w, node_pos(w, "train"))
    choose(qtbot, "Register Model")
    assert asked == [(w.runner.last_recorded.run_id, ["train"], "train", "diabetes_regression")]
    assert "Registered diabetes_lr:1" in w.statusBar().currentMessage()
    models = w.runs.models
    assert [m.ref for m in models.models] == ["diabetes_lr:1"] and w.runs.tabs.currentWidget() is models
    with RunStore.open(w.store_path, create=False) as store:
        sha = store.get_run(w.runner.last_recorded.run_id).inputs[0]["sha256"]
        assert store.get_model("diabetes_lr").node == "train"
    texts = models.texts()
    assert sha in texts and "Model diabetes_lr:1" in texts and "Parameters" in texts
    assert any(t.startswith("Run ") for t in texts) and "evaluate.scored.r2" in texts

    w.runs.tabs.setCurrentIndex(0)  # the Runs tab registers the selected run's model too
    w.runs.select_runs([w.runner.last_recorded.run_id])
    w.runs.ask_registration = lambda run, nodes, node, name: ("train", "lr_from_runs")
    click(w.runs.register_button)
    assert [m.ref for m in models.models] == ["diabetes_lr:1", "lr_from_runs:1"]
    assert "Model lr_from_runs:1" in models.texts()


def test_a_corrupt_store_warns_and_the_run_still_finishes(saved, qtbot):
    w = saved
    w.store_path.parent.mkdir(parents=True)
    w.store_path.write_bytes(b"this is not a database" * 100)
    run(qtbot, w)
    assert {item.run_state.state for item in w.scene.nodes.values()} == {"finished"}
    assert "Run finished" in w.statusBar().currentMessage() and "not recorded" in w.statusBar().currentMessage()
    assert w.runs.banner.isVisibleTo(w.runs) and "corrupt" in w.runs.banner.text()
    assert w.runs.table.rowCount() == 0


def test_an_unsaved_pipeline_is_recorded_in_the_users_own_store(window, qtbot):
    w = window
    from designer.core.pipeline import load_pipeline

    w.set_document(load_pipeline(DIABETES), None, clean=False)
    w.runs_dock.show()
    run(qtbot, w)
    assert w.runner.last_recorded.run_id and w.runner.last_recorded.store is not None
    assert "your own run store" in w.statusBar().currentMessage()
