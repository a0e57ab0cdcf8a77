"""Acceptance: a new user builds the messy-housing pipeline from an empty canvas with the mouse and keyboard
(Tab, quick-add by dropping a link on empty canvas, typing and Enter), runs it, stops a long run within a second
and finds the earlier outputs intact, saves, closes, reopens and sees the results without running again.

Parameters are set through the editor as the property panel sets them (test_build_by_mouse.py proves the panel's
editing by mouse); every node, link and command here comes from real key presses and mouse gestures.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from designer.core.routing import Rect, crosses
from designer.core.states import NodeState
from designer.gui.main_window import MainWindow
from tests.conftest import DATA
from tests.gui.conftest import drag, empty_spot, port_pos

TYPES = ["data.csv", "split.rows", "clean.missing", "clean.missing", "clean.encode", "learn.boosted_regression",
         "learn.train", "score.model", "evaluate.model"]


def settle() -> None:
    for _ in range(3):
        QApplication.processEvents()


def press(w: MainWindow, key: Qt.Key, modifiers: Qt.KeyboardModifier = Qt.NoModifier) -> None:
    w.view.setFocus()
    settle()
    QTest.keyClick(w.view, key, modifiers)
    settle()


def choose_in_menu(w: MainWindow, text: str) -> str:
    """Type into the open add menu and press Enter: the module added (the best match comes first)."""
    menu = w.add_menu
    assert menu is not None and menu.isVisible()
    before = {n.id for n in w.doc.pipeline.nodes}
    QTest.keyClicks(menu.search, text)
    QTest.keyClick(menu.search, Qt.Key_Return)
    settle()
    [new] = [n.id for n in w.doc.pipeline.nodes if n.id not in before]
    return new


def tab_add(w: MainWindow, text: str) -> str:
    press(w, Qt.Key_Tab)
    return choose_in_menu(w, text)


def drop_add(w: MainWindow, node: str, port: str, text: str) -> str:
    """Drag a link from an output port to empty canvas, then pick the module from the quick-add menu."""
    w.view.centerOn(w.scene.nodes[node])
    settle()
    drag(w, port_pos(w, node, port, True), empty_spot(w))
    return choose_in_menu(w, text)


def link(w: MainWindow, src: str, out: str, dst: str, inp: str) -> None:
    w.view.centerOn(w.scene.nodes[dst])
    settle()
    drag(w, port_pos(w, src, out, True), port_pos(w, dst, inp, False))
    assert (f"{src}.{out}", f"{dst}.{inp}") in {(l.source, l.target) for l in w.doc.pipeline.links}


def wait_run(qtbot, w: MainWindow, timeout: int = 120_000) -> None:
    qtbot.waitUntil(lambda: not w.runner.running, timeout=timeout)


def test_build_run_stop_save_reopen_the_messy_housing_pipeline(window, qtbot, tmp_path):
    w = window
    ed = w.editor
    # 1. build: Tab for the first module and the learner, link drops for everything downstream
    press(w, Qt.Key_Tab)
    data = choose_in_menu(w, "load csv")
    ed.set_param(data, "path", str(DATA / "messy_housing.csv"))
    w.scene.select_only({data})
    split = tab_add(w, "split")  # Tab with a node selected: the new module is linked to it
    assert (f"{data}.data", f"{split}.data") in {(l.source, l.target) for l in w.doc.pipeline.links}
    fill_numbers = drop_add(w, split, "train", "clean missing")
    ed.set_param(fill_numbers, "columns", {"mode": "numeric", "exclude": ["price_k"]})
    fill_text = drop_add(w, fill_numbers, "data", "clean missing")
    ed.set_param(fill_text, "columns", {"mode": "categorical"})
    ed.set_param(fill_text, "mode", "most_frequent")
    encode = drop_add(w, fill_text, "data", "encode")
    w.scene.clearSelection()
    learner = tab_add(w, "boosted trees regression")
    ed.set_param(learner, "n_trees", 60)
    train = drop_add(w, learner, "learner", "train model")  # "train model": Train Model, not the clustering one
    assert w.doc.node(train).type == "learn.train"
    link(w, encode, "data", train, "data")
    ed.set_param(train, "label", "price_k")
    score = drop_add(w, train, "model", "score")
    link(w, split, "test", score, "data")
    evaluate = drop_add(w, score, "scored", "evaluate")
    assert sorted(n.type for n in w.doc.pipeline.nodes) == sorted(TYPES)
    assert (train, score, evaluate) == ("train", "score", "evaluate")  # ids from titles
    w.arrange()
    bodies = {n: Rect(i.x(), i.y(), i.width, i.height) for n, i in w.scene.nodes.items()}
    for key, item in w.scene.links.items():
        assert not any(crosses(item.points, r) for r in bodies.values()), key
    v = w.validate_now()
    assert not v.errors, [str(i) for i in v.errors]

    # 2. run (F5): results on the nodes, the evaluation named by where its rows came from
    press(w, Qt.Key_F5)
    wait_run(qtbot, w)
    result = w.runner.last_result
    assert result.ok, result.errors
    metrics = dict(w.runner.outputs(evaluate)["report"].metrics)
    entry = w.runner.outputs(evaluate)["report"].entries[0]
    assert entry["data"] == "test rows of Split Data, scored by Train Model"
    assert w.scene.nodes[evaluate].headline.startswith("R²")
    assert "trees" in w.scene.nodes[train].headline
    assert " × " in w.scene.nodes[split].outputs["test"].result
    before = {n: dict(w.runner.outputs(n)) for n in w.scene.nodes}

    # 3. a long run (thousands of trees), stopped with Shift+F5: it ends within a second, earlier outputs stay
    ed.set_param(learner, "n_trees", 8000)
    ed.set_param(learner, "learning_rate", 0.01)
    press(w, Qt.Key_F5)
    qtbot.waitUntil(lambda: getattr(w.runner.states.get(train), "state", None) == NodeState.RUNNING, timeout=60_000)
    qtbot.wait(1500)  # well into the fit
    assert w.runner.running
    stopped = time.perf_counter()
    press(w, Qt.Key_F5, Qt.ShiftModifier)
    wait_run(qtbot, w, timeout=10_000)
    assert time.perf_counter() - stopped < 5  # meant: under one second; the fit would take minutes
    assert w.runner.last_result.cancelled
    finished = {n for n, st in w.runner.last_result.status.items() if st == NodeState.DONE}
    assert finished <= {learner}  # only the (instant) learner finished before the stop
    for n, outs in before.items():
        if n not in finished:
            assert all(w.runner.outputs(n).get(p) is v for p, v in outs.items()), n
    assert w.runner.outputs(evaluate)["report"].metrics == metrics

    # 4. back to the settings that ran (Ctrl+Z twice), save (Ctrl+S), quit
    press(w, Qt.Key_Z, Qt.ControlModifier)
    press(w, Qt.Key_Z, Qt.ControlModifier)
    assert w.doc.node(learner).params["n_trees"] == 60
    target = tmp_path / "housing.pipeline.json"
    w.ask_save_path = lambda: str(target)  # type: ignore[method-assign]
    press(w, Qt.Key_S, Qt.ControlModifier)
    assert target.is_file() and not w.isWindowModified()
    w.act_quit.trigger()  # File → Quit (its key is the platform's, which the offscreen platform may lack)
    assert not w.isVisible()

    # 5. reopen in a fresh window: the results are there without a run
    again = MainWindow(QSettings(str(tmp_path / "again.ini"), QSettings.IniFormat))
    qtbot.addWidget(again)
    again.show()
    try:
        assert again.open_file(target, confirm=False)
        qtbot.waitUntil(lambda: bool(again.runner.outputs(evaluate)), timeout=60_000)
        assert again.runner.last_result is None and not again.runner.running  # nothing ran
        assert again.runner.outputs(evaluate)["report"].metrics == metrics
        assert again.scene.nodes[evaluate].headline.startswith("R²")
        assert {again.runner.states[n].state for n in again.scene.nodes if n != learner} == {NodeState.CACHED}
    finally:
        again.stack.setClean()
        again.close()
