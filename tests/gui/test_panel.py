"""The property panel holds still (messages never move the fields) and keyboard shortcuts inside a text field
act on the text, not on the canvas."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import click, node_pos


def test_fields_do_not_move_when_run_messages_or_problems_appear(diabetes, qtbot):
    w = diabetes
    click(w, node_pos(w, "split"))
    spin = w.panel.editors["fraction"]
    QApplication.processEvents()
    before = spin.mapTo(w.panel.widget(), spin.rect().topLeft())
    w.run()
    qtbot.waitUntil(lambda: not w.runner.running, timeout=30_000)
    QApplication.processEvents()
    assert w.panel.run_box.isVisible() and "Finished" in w.panel.run_box.text()
    spin = w.panel.editors["fraction"]
    assert spin.mapTo(w.panel.widget(), spin.rect().topLeft()) == before
    w.editor.set_param("split", "fraction", 5)  # a problem
    w.validate_now()
    QApplication.processEvents()
    assert w.panel.issues.isVisible()
    spin = w.panel.editors["fraction"]
    assert spin.mapTo(w.panel.widget(), spin.rect().topLeft()) == before


def test_ctrl_a_in_a_field_selects_its_text_not_the_nodes(diabetes, qtbot):
    w = diabetes
    click(w, node_pos(w, "split"))
    field = w.panel.title_edit
    field.setFocus()
    QApplication.processEvents()
    QTest.keyClick(field, Qt.Key_A, Qt.ControlModifier)
    assert field.selectedText() == field.text() and field.text()
    assert w.scene.selected_node_ids() == {"split"}
    w.panel.description_edit if hasattr(w.panel, "description_edit") else None


def test_pipeline_counts_and_file_stay_current(diabetes, qtbot, tmp_path):
    w = diabetes
    w.scene.clearSelection()
    QApplication.processEvents()
    summary = w.panel.summary
    assert summary.text().startswith("7 nodes · 7 links")
    w.editor.remove(set(), [w.doc.pipeline.links[0]])
    assert summary.text().startswith("7 nodes · 6 links")
    w.stack.undo()
    assert summary.text().startswith("7 nodes · 7 links")
    w.ask_save_path = lambda: str(tmp_path / "x.pipeline.json")
    w.save_as()
    assert str(tmp_path / "x.pipeline.json") in w.panel.summary.text()


def test_the_status_bar_says_running_during_a_run(diabetes, qtbot):
    w = diabetes
    assert "Ready" in w.problems.text()
    w.run()
    assert "Running" in w.problems.text()
    qtbot.waitUntil(lambda: not w.runner.running, timeout=30_000)
    assert "Ready" in w.problems.text()
