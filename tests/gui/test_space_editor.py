"""The search-space editor of Tune Model Hyperparameters: rows from the connected learner's own parameters,
edited by mouse and keyboard, each edit one undo step; unknown entries listed in red, never dropped."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QCheckBox, QWidget

from designer.gui.properties.editors import make_editor
from designer.gui.properties.panel import learner_params
from designer.gui.properties.space_editor import EMPTY, NO_LEARNER, SpaceEditor
from nodes.learn import BoostedParams, LinearParams
from nodes.tune import TuneParams
from tests.gui.conftest import click, node_pos

SPACE = TuneParams.model_fields["space"]


def _tune_pipeline(w: Any, learner: str | None = "learn.boosted_regression") -> str:
    """The diabetes sample plus a Tune node fed by the scaled rows (and a new learner of `learner`)."""
    tune = w.editor.add_node("learn.tune", (900, 420))
    w.editor.connect("scale", "data", tune, "data")
    w.editor.set_param(tune, "label", "progression")
    if learner is not None:
        src = w.editor.add_node(learner, (650, 420))
        w.editor.connect(src, "learner", tune, "learner")
    w.validate_now()
    w.view.fit()
    QApplication.processEvents()
    click(w, node_pos(w, tune))
    assert w.panel.node_id == tune
    return tune


def _space(w: Any, node: str) -> dict[str, Any]:
    return w.doc.node(node).params.get("space", {})


def _tick(box: QCheckBox) -> None:
    """A real click on a check box's indicator."""
    box.ensurePolished()
    QTest.mouseClick(box, Qt.LeftButton, Qt.NoModifier, QPoint(8, box.height() // 2))
    QApplication.processEvents()


def _type_into(spin: QWidget, text: str) -> None:
    QTest.mouseClick(spin, Qt.LeftButton, Qt.NoModifier, QPoint(spin.width() // 2, spin.height() // 2))
    QTest.keyClick(spin, Qt.Key_A, Qt.ControlModifier)
    QTest.keyClicks(spin, text)
    QTest.keyClick(spin, Qt.Key_Return)
    QApplication.processEvents()


def test_check_a_row_type_its_range_toggle_log_then_undo_each_step(diabetes, qtbot):
    w = diabetes
    tune = _tune_pipeline(w)
    editor = w.panel.editors["space"]
    assert isinstance(editor, SpaceEditor)
    assert list(editor.rows) == ["max_leaves", "min_samples_leaf", "learning_rate", "n_trees"]  # no seed
    row = editor.rows["max_leaves"]
    # empty: the default space is shown half-checked, its controls greyed, a note says so
    assert editor.note.text() == EMPTY and row.check.checkState() == Qt.PartiallyChecked
    assert not row.low.isEnabled() and row.low.font().italic()
    assert (row.low.value(), row.high.value()) == (8, 124) and row.log.isChecked()
    assert "Maximum leaves per tree" in row.check.toolTip()
    assert not w.panel.horizontalScrollBar().isVisible()  # fits the panel's default width

    search = w.panel.editors["search"]
    for _ in range(3):
        QApplication.processEvents()
    before = search.mapTo(w.panel.widget(), QPoint(0, 0))
    _tick(row.check)
    assert _space(w, tune) == {"max_leaves": {"low": 8, "high": 124, "log": True, "steps": 4}}
    for _ in range(3):  # let the layouts settle
        QApplication.processEvents()
    assert search.mapTo(w.panel.widget(), QPoint(0, 0)) == before  # the panel holds still
    assert row.check.checkState() == Qt.Checked and row.low.isEnabled() and not row.low.font().italic()
    assert editor.rows["n_trees"].check.checkState() == Qt.Unchecked  # no longer searched
    _type_into(row.low, "10")
    _type_into(row.high, "100")
    _tick(row.log)
    space = _space(w, tune)
    assert space == {"max_leaves": {"low": 10, "high": 100, "log": False, "steps": 4}}
    assert isinstance(space["max_leaves"]["low"], int)  # an int parameter's range stays ints
    _tick(editor.rows["learning_rate"].check)
    _type_into(editor.rows["learning_rate"].high, "0.5")
    assert _space(w, tune)["learning_rate"] == {"low": 0.025, "high": 0.5, "log": True, "steps": 4}
    w.validate_now()
    assert not w.panel.issues.isVisible()

    expected = [
        {"max_leaves": {"low": 10, "high": 100, "log": False, "steps": 4},
         "learning_rate": {"low": 0.025, "high": 0.4, "log": True, "steps": 4}},
        {"max_leaves": {"low": 10, "high": 100, "log": False, "steps": 4}},
        {"max_leaves": {"low": 10, "high": 100, "log": True, "steps": 4}},
        {"max_leaves": {"low": 10, "high": 124, "log": True, "steps": 4}},
        {"max_leaves": {"low": 8, "high": 124, "log": True, "steps": 4}},
        {},
    ]
    for value in expected:  # one undo step per edit
        w.stack.undo()
        QApplication.processEvents()
        assert _space(w, tune) == value
        assert editor.value() == value
    assert "space" not in w.doc.node(tune).params
    assert row.check.checkState() == Qt.PartiallyChecked and editor.note.text() == EMPTY
    w.stack.redo()
    assert _space(w, tune) == {"max_leaves": {"low": 8, "high": 124, "log": True, "steps": 4}}
    assert row.check.checkState() == Qt.Checked


def test_low_above_high_moves_high_and_arrow_steps_undo_as_one(diabetes, qtbot):
    w = diabetes
    tune = _tune_pipeline(w)
    editor = w.panel.editors["space"]
    row = editor.rows["n_trees"]
    _tick(row.check)
    _type_into(row.low, "500")
    assert _space(w, tune)["n_trees"] == {"low": 500, "high": 500, "log": True, "steps": 4}
    count = w.stack.count()
    for _ in range(3):
        QTest.keyClick(row.steps, Qt.Key_Up)
    assert _space(w, tune)["n_trees"]["steps"] == 7
    assert w.stack.count() == count + 1  # three steps of one spin box: one undo step
    w.stack.undo()
    assert _space(w, tune)["n_trees"]["steps"] == 4


def test_edit_it_copies_the_default_space_in_one_step(diabetes, qtbot):
    w = diabetes
    tune = _tune_pipeline(w)
    editor = w.panel.editors["space"]
    QTest.mouseClick(editor.start, Qt.LeftButton)
    space = _space(w, tune)
    assert set(space) == {"max_leaves", "min_samples_leaf", "learning_rate", "n_trees"}
    assert space["n_trees"] == {"low": 25, "high": 400, "log": True, "steps": 4}
    assert all(r.check.checkState() == Qt.Checked for r in editor.rows.values())
    assert editor.note.text().startswith("4 of 4 parameters searched")
    w.stack.undo()
    assert _space(w, tune) == {}


def test_swapping_the_learner_lists_the_unknown_parameter_in_red(diabetes, qtbot):
    w = diabetes
    tune = _tune_pipeline(w)
    editor = w.panel.editors["space"]
    _tick(editor.rows["max_leaves"].check)
    _tick(editor.rows["learning_rate"].check)
    before = _space(w, tune)
    w.editor.connect("learner", "learner", tune, "learner")  # the sample's linear regression instead
    QApplication.processEvents()
    assert list(editor.rows) == ["l2", "fit_intercept"]
    assert _space(w, tune) == before  # nothing dropped
    label = editor.findChild(QWidget, "unknown_max_leaves")
    assert label is not None and label.isVisible() and "#dc2626" in label.styleSheet()
    assert "not a parameter of this learner" in label.text()
    assert editor.findChild(QWidget, "unknown_learning_rate").isVisible()
    w.validate_now()
    assert "no tunable parameter 'max_leaves'" in w.panel.issues.text()
    QTest.mouseClick(editor.findChild(QWidget, "remove_max_leaves"), Qt.LeftButton)
    QApplication.processEvents()
    assert set(_space(w, tune)) == {"learning_rate"}
    assert editor.findChild(QWidget, "unknown_max_leaves") is None or \
        not editor.findChild(QWidget, "unknown_max_leaves").isVisible()
    w.stack.undo()
    assert _space(w, tune) == before
    # the linear learner's own rows: l2 as a list of values, fit_intercept as choices
    l2 = editor.rows["l2"]
    assert not l2.low.isVisibleTo(editor) and l2.values.text() == "0, 0.01, 0.1, 1, 10"
    fit = editor.rows["fit_intercept"]
    assert [b.text() for b in fit.boxes] == ["True", "False"]


def test_no_learner_says_so_and_keeps_the_value(diabetes, qtbot):
    w = diabetes
    tune = _tune_pipeline(w, learner=None)
    editor = w.panel.editors["space"]
    assert editor.note.text() == NO_LEARNER and not editor.table.isVisible()
    value = {"max_leaves": {"low": 8, "high": 64, "log": True, "steps": 4}}
    w.editor.set_param(tune, "space", value)
    w.validate_now()
    QApplication.processEvents()
    assert _space(w, tune) == value
    assert editor.kept.isVisible() and "max_leaves: 8 – 64, log" in editor.kept.text()
    learner = w.editor.add_node("learn.boosted_regression", (650, 520))
    w.editor.connect(learner, "learner", tune, "learner")
    QApplication.processEvents()
    assert editor.table.isVisible() and editor.rows["max_leaves"].check.checkState() == Qt.Checked
    assert editor.rows["max_leaves"].high.value() == 64
    w.stack.undo()  # the link goes: the message is back, the value still there
    assert editor.note.text() == NO_LEARNER and _space(w, tune) == value


def test_a_tuned_learner_passed_on_is_still_known(diabetes, qtbot):
    """Tune → Tune: the second one edits the space of the learner the first one passes on."""
    w = diabetes
    first = _tune_pipeline(w)
    second = w.editor.add_node("learn.tune", (1150, 420))
    w.editor.connect(first, "learner", second, "learner")
    w.validate_now()
    assert learner_params(w.doc, second, "learner") is BoostedParams
    assert learner_params(w.doc, second, "data") is None
    w.panel.show_node(second)
    assert "n_trees" in w.panel.editors["space"].rows


# ------------------------------------------------------------------------------------------- unit
def _editor(qtbot, params: Any) -> tuple[SpaceEditor, list[Any]]:
    editor = make_editor(SPACE, lambda: None, dict, lambda port: params if port == "learner" else None)
    assert isinstance(editor, SpaceEditor)
    qtbot.addWidget(editor)
    emitted: list[Any] = []
    editor.changed.connect(emitted.append)
    return editor, emitted


def test_a_value_set_in_the_editor_reads_back_the_same(qtbot):
    editor, emitted = _editor(qtbot, BoostedParams)
    value = {"max_leaves": {"low": 4, "high": 64, "log": False, "steps": 6},
             "learning_rate": {"values": [0.05, 0.1]}}
    editor.set_value(value)
    assert editor.value() == value and not emitted  # showing a value never emits
    row = editor.rows["max_leaves"]
    assert (row.low.value(), row.high.value(), row.log.isChecked(), row.steps.value()) == (4, 64, False, 6)
    assert editor.rows["learning_rate"].values.text() == "0.05, 0.1"
    editor.rows["learning_rate"].values.setText("0.05, 0.2, 0.3")
    editor.rows["learning_rate"].values.editingFinished.emit()
    row.high.setValue(128)
    assert emitted[-1] == {"max_leaves": {"low": 4, "high": 128, "log": False, "steps": 6},
                           "learning_rate": {"values": [0.05, 0.2, 0.3]}}
    other, _ = _editor(qtbot, BoostedParams)
    other.set_value(emitted[-1])
    assert other.value() == emitted[-1] and other.rows["max_leaves"].high.value() == 128
    TuneParams(label="y", space=emitted[-1])  # what the editor writes is a valid space


def test_choices_keep_one_value_and_a_list_becomes_a_range(qtbot):
    editor, emitted = _editor(qtbot, LinearParams)
    editor.set_value({"fit_intercept": {"values": [True, False]}, "l2": {"values": [0.0, 1.0, 10.0]}})
    true, false = editor.rows["fit_intercept"].boxes
    false.setChecked(False)
    assert emitted[-1]["fit_intercept"] == {"values": [True]}
    true.setChecked(False)  # the last value cannot go
    assert true.isChecked() and len(emitted) == 1
    l2 = editor.rows["l2"]
    l2.values.setText("1, x")
    l2.values.editingFinished.emit()
    assert len(emitted) == 1 and "#dc2626" in l2.values.styleSheet()  # not numbers: refused, marked
    l2.values.setText("0, 1, 100")
    l2.values.editingFinished.emit()
    assert emitted[-1]["l2"] == {"values": [0.0, 1.0, 100.0]} and not l2.values.styleSheet()
    l2.to_range.click()
    assert emitted[-1]["l2"] == {"low": 0.0, "high": 100.0, "log": False, "steps": 3}
    assert l2.low.isVisibleTo(editor) and not l2.values.isVisibleTo(editor)
