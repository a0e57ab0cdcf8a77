"""Editing through shortcuts and the generated property panel; every edit undoes."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox

from designer.core.pipeline import parse_pipeline
from designer.gui.properties.editors import ColumnEditor, ColumnsEditor, FileEditor
from tests.gui.conftest import click, node_pos


def _state(w):
    p = w.doc.pipeline
    return ([n.model_dump() for n in p.nodes], [(l.source, l.target) for l in p.links])


def test_delete_key_then_undo_restores_nodes_and_links(diabetes):
    w = diabetes
    scene = w.scene
    before = _state(w)
    click(w, node_pos(w, "split"))
    click(w, node_pos(w, "train"), Qt.ControlModifier)
    QTest.keyClick(w.view, Qt.Key_Delete)
    assert not w.doc.has_node("split") and not w.doc.has_node("train")
    assert not any("split" in k[0] or "split" in k[1] for k in scene.links)
    assert [(l.source, l.target) for l in w.doc.pipeline.links] == [("score.scored", "evaluate.scored")]
    assert w.isWindowModified()
    QTest.keyClick(w.view, Qt.Key_Z, Qt.ControlModifier)
    assert _state(w) == before
    assert set(scene.nodes) == {n.id for n in w.doc.pipeline.nodes}
    assert set(scene.links) == set(before[1])
    assert not w.isWindowModified()
    QTest.keyClick(w.view, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert not w.doc.has_node("split")
    click(w, node_pos(w, "score"))
    QTest.keyClick(w.view, Qt.Key_Backspace)
    assert not w.doc.has_node("score")


def test_selected_link_can_be_deleted(diabetes):
    w = diabetes
    link = w.scene.links[("learner.learner", "train.learner")]
    link.setSelected(True)
    w.act_delete.trigger()
    assert ("learner.learner", "train.learner") not in {(l.source, l.target) for l in w.doc.pipeline.links}
    assert w.doc.has_node("learner")
    w.stack.undo()
    assert ("learner.learner", "train.learner") in w.scene.links


def test_copy_paste_gives_new_ids_and_keeps_internal_links(diabetes):
    w = diabetes
    w.scene.select_only({"learner", "train", "scale"})
    QTest.keyClick(w.view, Qt.Key_C, Qt.ControlModifier)
    text = QGuiApplication.clipboard().text()
    clip = parse_pipeline(text)
    assert {n.id for n in clip.nodes} == {"learner", "train", "scale"}
    assert {(l.source, l.target) for l in clip.links} == {("learner.learner", "train.learner"),
                                                         ("scale.data", "train.data")}
    QTest.keyClick(w.view, Qt.Key_V, Qt.ControlModifier)
    new_ids = w.scene.selected_node_ids()
    assert len(new_ids) == 3 and not new_ids & {"learner", "train", "scale"}
    new_links = {(l.source, l.target) for l in w.doc.pipeline.links
                 if l.source_node in new_ids or l.target_node in new_ids}
    assert len(new_links) == 2 and all(l[0].split(".")[0] in new_ids and l[1].split(".")[0] in new_ids
                                       for l in new_links)
    old = w.doc.position("learner")
    new_learner = next(i for i in new_ids if w.doc.node(i).type == "learn.linear_regression")
    assert w.doc.position(new_learner) == (old[0] + 40, old[1] + 40)
    w.stack.undo()
    assert len(w.doc.pipeline.nodes) == 7


def test_cut_and_duplicate(diabetes):
    w = diabetes
    w.scene.select_only({"learner"})
    QTest.keyClick(w.view, Qt.Key_D, Qt.ControlModifier)
    assert len(w.doc.pipeline.nodes) == 8
    dup = next(iter(w.scene.selected_node_ids()))
    assert dup != "learner" and w.doc.node(dup).params == w.doc.node("learner").params
    QTest.keyClick(w.view, Qt.Key_X, Qt.ControlModifier)
    assert not w.doc.has_node(dup)
    assert json.loads(QGuiApplication.clipboard().text())["nodes"][0]["type"] == "learn.linear_regression"


def test_paste_of_other_text_changes_nothing(diabetes):
    w = diabetes
    QGuiApplication.clipboard().setText("hello")
    w.paste()
    assert len(w.doc.pipeline.nodes) == 7 and w.stack.count() == 0
    assert "Nothing to paste" in w.statusBar().currentMessage()


def test_panel_is_generated_from_the_params_model(diabetes):
    w = diabetes
    w.scene.select_only({"split"})
    panel = w.panel
    assert panel.node_id == "split"
    fraction = panel.editors["fraction"].findChild(QDoubleSpinBox)
    assert 0 < fraction.minimum() < 0.001 and 0.999 < fraction.maximum() < 1  # gt=0, lt=1
    assert fraction.value() == 0.8
    seed = panel.editors["seed"].findChild(QSpinBox)
    assert seed.minimum() == 0 and seed.value() == 42
    assert panel.editors["shuffle"].findChild(QCheckBox).isChecked()
    stratify = panel.editors["stratify"]
    assert isinstance(stratify, ColumnEditor)
    combo = stratify.findChild(QComboBox)
    names = [combo.itemText(i) for i in range(combo.count())]
    assert names[0] == "" and "progression" in names and "bmi" in names  # upstream schema of data.data
    w.scene.select_only({"scale"})
    method = panel.editors["method"].findChild(QComboBox)
    assert [method.itemData(i) for i in range(method.count())] == ["zscore", "minmax", "robust", "maxabs"]
    columns = panel.editors["columns"]
    assert isinstance(columns, ColumnsEditor)
    listed = [columns.list.item(i).data(Qt.UserRole) for i in range(columns.list.count())]
    assert listed[:3] == ["age", "sex", "bmi"] and "progression" in listed
    checked = [columns.list.item(i).data(Qt.UserRole) for i in range(columns.list.count())
               if columns.list.item(i).checkState() == Qt.Checked]
    assert checked == ["progression"]  # mode numeric, excluding the label
    assert "10 of 11 columns" in columns.summary.text()


def test_parameter_edit_and_undo(diabetes):
    w = diabetes
    w.scene.select_only({"split"})
    spin = w.panel.editors["fraction"].findChild(QDoubleSpinBox)
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, "0.6")
    QTest.keyClick(spin, Qt.Key_Return)
    assert w.doc.node("split").params["fraction"] == 0.6
    assert w.stack.undoText() == "Change fraction"
    assert w.windowTitle().startswith("Diabetes regression[*]") and w.isWindowModified()
    w.stack.undo()
    assert w.doc.node("split").params["fraction"] == 0.8
    assert spin.value() == 0.8  # the panel follows the model
    assert not w.isWindowModified()


def test_columns_picker_edit_and_undo(diabetes):
    w = diabetes
    w.scene.select_only({"scale"})
    columns = w.panel.editors["columns"]
    bmi = next(columns.list.item(i) for i in range(columns.list.count())
               if columns.list.item(i).data(Qt.UserRole) == "bmi")
    bmi.setCheckState(Qt.Checked)
    assert w.doc.node("scale").params["columns"] == {"mode": "numeric", "exclude": ["bmi", "progression"]}
    columns.mode.setCurrentIndex(columns.mode.findData("names"))
    columns.mode.activated.emit(columns.mode.currentIndex())
    assert w.doc.node("scale").params["columns"]["mode"] == "names"
    w.stack.undo()
    assert w.doc.node("scale").params["columns"] == {"mode": "numeric", "exclude": ["bmi", "progression"]}
    w.stack.undo()
    assert w.doc.node("scale").params["columns"] == {"mode": "numeric", "exclude": ["progression"]}


def test_x_file_param_is_stored_relative_to_the_pipeline(window, tmp_path):
    w = window
    (tmp_path / "data").mkdir()
    csv = tmp_path / "data" / "rows.csv"
    csv.write_text("a,b\n1,2\n", encoding="utf-8")
    target = tmp_path / "p.pipeline.json"
    w.ask_save_path = lambda: str(target)
    w.save_as()
    node_id = w.editor.add_node("data.csv", (0, 0))
    w.scene.select_only({node_id})
    editor = w.panel.editors["path"]
    assert isinstance(editor, FileEditor)
    assert editor.relative(str(csv)) == "data/rows.csv"
    editor.line.setText(editor.relative(str(csv)))
    editor.line.editingFinished.emit()
    assert w.doc.node(node_id).params["path"] == "data/rows.csv"
    w.validate_now()
    assert not w.doc.validation.node_issues(node_id)


def test_validation_messages_show_in_the_panel_and_on_the_node(window, qtbot):
    w = window
    node_id = w.editor.add_node("learn.train", (0, 0))
    w.scene.select_only({node_id})
    # validated in the background after the edit, then shown in the GUI thread
    qtbot.waitUntil(lambda: w.scene.nodes[node_id].issue_level == "error", timeout=5000)
    assert w.panel.issues.isVisible()
    assert "required" in w.panel.issues.text()
    assert w.scene.nodes[node_id].issue_level == "error"
    assert "problem" in w.problems.text()


def test_title_and_pipeline_name_edits_undo(diabetes):
    w = diabetes
    w.scene.select_only({"split"})
    w.panel.title_edit.setText("Hold-out split")
    w.panel.title_edit.editingFinished.emit()
    assert w.scene.nodes["split"].title == "Hold-out split"
    w.stack.undo()
    assert w.scene.nodes["split"].title == "Split 80/20"
    w.scene.clearSelection()
    QApplication.processEvents()
    w.panel.name_edit.setText("Diabetes v2")
    w.panel.name_edit.editingFinished.emit()
    assert w.windowTitle().startswith("Diabetes v2")
    w.stack.undo()
    assert w.windowTitle().startswith("Diabetes regression")


def test_arrange_is_one_undo_step(diabetes):
    w = diabetes
    before = dict(w.doc.pipeline.layout.positions)
    w.act_arrange.trigger()
    after = w.doc.pipeline.layout.positions
    assert after != before
    xs = {n: after[n][0] for n in after}
    assert xs["data"] < xs["split"] < xs["scale"] < xs["train"] < xs["score"] < xs["evaluate"]
    w.stack.undo()
    assert dict(w.doc.pipeline.layout.positions) == before


def test_every_module_gets_a_generated_form(window):
    from designer.core.registry import default_registry

    w = window
    for type_id, cls in default_registry().types().items():
        node_id = w.editor.add_node(type_id, (0, 0))
        w.scene.select_only({node_id})
        assert w.panel.node_id == node_id
        assert set(w.panel.editors) == set(cls.Params.model_fields), type_id


def test_clicking_a_column_name_or_its_box_toggles_it_once(diabetes, qtbot):
    from PySide6.QtCore import QPoint
    from PySide6.QtTest import QTest

    w = diabetes
    w.scene.select_only({"scale"})
    columns = w.panel.editors["columns"]
    columns.list.show()
    row = next(i for i in range(columns.list.count()) if columns.list.item(i).data(Qt.UserRole) == "bmi")
    rect = columns.list.visualItemRect(columns.list.item(row))
    columns.list.scrollToItem(columns.list.item(row))
    rect = columns.list.visualItemRect(columns.list.item(row))
    on_name = QPoint(rect.right() - 10, rect.center().y())
    QTest.mouseClick(columns.list.viewport(), Qt.LeftButton, Qt.NoModifier, on_name)
    assert w.doc.node("scale").params["columns"]["exclude"] == ["bmi", "progression"]
    QTest.mouseClick(columns.list.viewport(), Qt.LeftButton, Qt.NoModifier, on_name)
    assert w.doc.node("scale").params["columns"]["exclude"] == ["progression"]
    on_box = QPoint(rect.left() + 10, rect.center().y())
    QTest.mouseClick(columns.list.viewport(), Qt.LeftButton, Qt.NoModifier, on_box)
    assert w.doc.node("scale").params["columns"]["exclude"] == ["bmi", "progression"]
