"""Runs in a worker thread: badges, reuse, stale marks, failures, Stop, and a responsive event loop."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer

from designer.core.states import NodeState
from tests.conftest import sample_with_types

DONE, CACHED, STALE, FAILED, SKIPPED = (NodeState.DONE, NodeState.CACHED, NodeState.STALE, NodeState.FAILED,
                                        NodeState.SKIPPED)


def _open_with(window, tmp_path, **types):
    """The diabetes sample with some modules swapped for test-only ones."""
    assert window.open_file(sample_with_types("diabetes_linear_regression", tmp_path, **types), confirm=False)
    window.validate_now()
    return window


def _wait_run(qtbot, w, timeout=60_000):
    qtbot.waitUntil(lambda: not w.runner.running, timeout=timeout)


def _states(w):
    return {n: (item.run_state.state if item.run_state else None) for n, item in w.scene.nodes.items()}


def test_run_shows_badges_then_reuses_and_marks_stale(diabetes, qtbot):
    w = diabetes
    w.run()
    assert w.runner.running and not w.act_run.isEnabled() and w.act_stop.isEnabled()
    _wait_run(qtbot, w)
    assert set(_states(w).values()) == {DONE}
    assert "Run finished: 7 ran" in w.statusBar().currentMessage()
    assert w.act_run.isEnabled() and not w.act_stop.isEnabled()
    w.scene.select_only({"evaluate"})
    assert "r2" in w.panel.outputs.text() and w.panel.run_box.isVisible()

    w.editor.set_param("learner", "l2", 1.0)  # the learner and everything downstream is now stale
    assert _states(w) == {"data": DONE, "split": DONE, "scale": DONE, "learner": STALE, "train": STALE,
                          "score": STALE, "evaluate": STALE}
    w.run()
    _wait_run(qtbot, w)
    assert _states(w) == {"data": CACHED, "split": CACHED, "scale": CACHED, "learner": DONE,
                          "train": DONE, "score": DONE, "evaluate": DONE}
    assert "reused" in w.scene.nodes["data"].toolTip().lower()


def test_run_up_to_selected_runs_only_what_it_needs(diabetes, qtbot):
    w = diabetes
    w.scene.select_only({"scale"})
    w.act_run_upto.trigger()
    _wait_run(qtbot, w)
    states = _states(w)
    assert {n for n, s in states.items() if s} == {"data", "split", "scale"}


def test_a_failing_node_shows_its_error(window, qtbot, tmp_path, test_modules):
    w = _open_with(window, tmp_path, split="test.exploding_split")
    w.editor.set_param("split", "seed", 7)
    w.run()
    _wait_run(qtbot, w)
    states = _states(w)
    assert states["data"] == DONE and states["split"] == FAILED
    assert states["learner"] == DONE
    assert {states[n] for n in ("scale", "train", "score", "evaluate")} == {SKIPPED}
    item = w.scene.nodes["split"]
    assert "split exploded on purpose" in item.toolTip()
    w.scene.select_only({"split"})
    assert "split exploded on purpose" in w.panel.run_box.text() and "Failed" in w.panel.run_box.text()
    assert "Run failed" in w.statusBar().currentMessage()


def test_event_loop_turns_while_a_slow_node_runs_and_stop_cancels(window, qtbot, tmp_path, test_modules):
    w = _open_with(window, tmp_path, data="test.slow_sample")
    ticks = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    w.run()
    qtbot.waitUntil(lambda: (w.scene.nodes["data"].run_state or 0) and
                    w.scene.nodes["data"].run_state.state == NodeState.RUNNING and
                    (w.scene.nodes["data"].run_state.progress or 0) > 0.05, timeout=10_000)
    assert w.scene.nodes["split"].run_state.state == NodeState.QUEUED
    n = len(ticks)
    qtbot.wait(300)
    assert len(ticks) - n >= 5  # the GUI thread keeps turning while the node sleeps
    assert w.runner.running
    w.editor.set_param("learner", "l2", 2.0)  # edited mid-run: shown as out of date once the run ends
    w.act_stop.trigger()
    _wait_run(qtbot, w, timeout=10_000)
    timer.stop()
    states = _states(w)
    assert states["data"] == SKIPPED and states["evaluate"] == STALE and states["split"] == SKIPPED
    assert "stopped" in w.statusBar().currentMessage()
    assert w.runner.last_result.cancelled


def test_run_refuses_an_invalid_pipeline(window):
    w = window
    w.editor.add_node("learn.train", (0, 0))
    w.run()
    assert not w.runner.running
    assert "Cannot run" in w.statusBar().currentMessage()


def test_double_click_shows_a_nodes_outputs(diabetes, qtbot):
    from tests.gui.conftest import node_pos
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    w = diabetes
    w.run()
    _wait_run(qtbot, w)
    assert not w.outputs_dock.isVisible()
    QTest.mouseDClick(w.view.viewport(), Qt.LeftButton, Qt.NoModifier, node_pos(w, "score"))
    assert w.outputs_dock.isVisible()
    tabs = w.outputs.tabs
    titles = [tabs.tabText(i) for i in range(tabs.count())]
    assert titles == ["score.scored · table", "score.scored · profile"]
    assert tabs.currentIndex() == 0 and "89 rows" in tabs.currentWidget().viewer.count_label.text()
    QTest.mouseDClick(w.view.viewport(), Qt.LeftButton, Qt.NoModifier, node_pos(w, "evaluate"))
    assert w.outputs.titles() == titles + ["evaluate.report · evaluation"]  # tabs stay open side by side
    QTest.mouseDClick(w.view.viewport(), Qt.LeftButton, Qt.NoModifier, node_pos(w, "learner"))
    assert tabs.count() == 3 and "no outputs to look at" in w.statusBar().currentMessage()


def test_stop_ends_a_stuck_node_within_a_second_and_keeps_the_earlier_outputs(window, qtbot, tmp_path,
                                                                               test_modules):
    w = _open_with(window, tmp_path, data="test.stubborn_sample")
    w.run()
    _wait_run(qtbot, w)
    before = {n: dict(w.runner.outputs(n)) for n in w.scene.nodes}
    assert all(before.values())
    w.editor.set_param("data", "seconds", 30.0)  # now the source works 30 s without looking at Stop
    w.run()
    qtbot.waitUntil(lambda: getattr(w.scene.nodes["data"].run_state, "state", None) == NodeState.RUNNING,
                    timeout=10_000)
    w.act_stop.trigger()
    assert w.act_stop.text() == "Stopping…" and not w.act_stop.isEnabled()
    assert "Stopping" in w.statusBar().currentMessage()
    assert w.scene.nodes["data"].run_state.message == "stopping…"
    pressed = time.perf_counter()
    _wait_run(qtbot, w, timeout=10_000)
    assert time.perf_counter() - pressed < 5  # meant: under a second (the node would take 30 s)
    assert w.runner.last_result.cancelled
    for n, outs in before.items():  # every node keeps its last good outputs, unchanged
        assert w.runner.outputs(n).keys() == outs.keys() and all(w.runner.outputs(n)[p] is v for p, v in outs.items())
    states = _states(w)
    assert states.pop("learner") in (DONE, CACHED)
    assert set(states.values()) == {STALE}  # edited since they ran: out of date, not lost
    w.show_outputs("evaluate")
    page = w.outputs.tabs.currentWidget()
    assert page.note.isVisibleTo(page) and "Out of date" in page.note.text()
    assert w.act_stop.text() == "S&top"


def test_reopened_pipeline_shows_saved_results_without_a_run_and_reuses_them(window, qtbot, tmp_path):
    import shutil

    from tests.gui.conftest import DIABETES

    path = tmp_path / "d.pipeline.json"
    shutil.copy(DIABETES, path)
    w = window
    assert w.open_file(path, confirm=False)
    w.run()
    _wait_run(qtbot, w)
    evaluated = w.runner.outputs("evaluate")["report"].metrics
    w.set_document(type(w.doc.pipeline)(), None)  # close it
    assert not w.runner.outputs("evaluate")
    assert w.open_file(path, confirm=False)
    qtbot.waitUntil(lambda: bool(w.runner.outputs("evaluate")), timeout=20_000)
    assert not w.runner.running and w.runner.outputs("evaluate")["report"].metrics == evaluated
    assert w.scene.nodes["evaluate"].headline.startswith("R²")
    assert w.scene.nodes["split"].outputs["train"].result  # sizes on the ports
    assert "saved results" in w.statusBar().currentMessage()
    w.run()
    _wait_run(qtbot, w)
    assert set(_states(w).values()) == {CACHED}  # nothing changed: everything reused


def test_quit_during_a_stuck_run_does_not_wait_for_it(window, qtbot, tmp_path, test_modules):
    w = _open_with(window, tmp_path, data="test.stubborn_sample")
    w.editor.set_param("data", "seconds", 30.0)
    w.run()
    qtbot.waitUntil(lambda: getattr(w.scene.nodes["data"].run_state, "state", None) == NodeState.RUNNING,
                    timeout=10_000)
    w.stack.setClean()
    start = time.perf_counter()
    w.close()
    assert not w.isVisible()
    assert time.perf_counter() - start < 5  # meant: about one second (the node would take 30 s)
