"""The Outputs dock: right-click an output port to open a viewer tab, tabs refresh on re-run, port tooltips."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu, QToolTip

from designer.core.schema import TableSchema
from designer.gui.canvas.node_item import TIP_LINES, schema_tip
from tests.conftest import sample_with_types
from tests.conftest import SAMPLES
from tests.gui.conftest import node_pos, port_pos


def wait_run(qtbot, w):
    qtbot.waitUntil(lambda: not w.runner.running, timeout=60_000)


def right_click(w, pos: QPoint) -> None:
    """A right click through the window system, so Qt makes the context-menu event as for a real mouse."""
    window = w.view.window()
    QTest.mouseClick(window.windowHandle(), Qt.RightButton, Qt.NoModifier,
                     w.view.viewport().mapTo(window, pos))
    QApplication.processEvents()


def choose(qtbot, text: str) -> None:
    """Click the item of the open popup menu whose text starts with `text`."""
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=5000)
    menu = QApplication.activePopupWidget()
    action = next((a for a in menu.actions() if a.text().replace("&", "").startswith(text)), None)
    assert action is not None, [a.text() for a in menu.actions()]
    QTest.mouseClick(menu, Qt.LeftButton, Qt.NoModifier, menu.actionGeometry(action).center())
    QApplication.processEvents()


def menu_texts(qtbot) -> list[str]:
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=5000)
    menu = QApplication.activePopupWidget()
    texts = [a.text() for a in menu.actions() if a.isEnabled()]
    menu.close()
    return texts


def test_right_click_output_port_opens_a_table_tab_that_refreshes_on_rerun(diabetes, qtbot):
    w = diabetes
    w.run()
    wait_run(qtbot, w)
    right_click(w, port_pos(w, "score", "scored", output=True))
    choose(qtbot, "Open scored as table")
    assert w.outputs_dock.isVisible()
    assert w.outputs.titles() == ["score.scored · table"]
    tab = w.outputs.tabs.currentWidget()
    viewer = tab.viewer
    assert viewer.model.rowCount() == 89 and "prediction" in list(viewer.model.frame.columns)
    before = viewer.model.frame["prediction"].tolist()

    right_click(w, port_pos(w, "score", "scored", output=True))  # a second viewer of the same output
    choose(qtbot, "Open scored as profile")
    assert w.outputs.titles() == ["score.scored · table", "score.scored · profile"]

    w.editor.set_param("learner", "l2", 500.0)
    assert "Out of date" in tab.note.text() and tab.note.isVisibleTo(tab) and not tab.missing
    w.run()
    wait_run(qtbot, w)
    assert w.outputs.tabs.widget(0) is tab and tab.viewer is viewer  # refreshed in place
    after = viewer.model.frame["prediction"].tolist()
    assert len(after) == 89 and after != before
    assert not tab.missing and not tab.note.isVisibleTo(tab)

    w.outputs.tabs.tabCloseRequested.emit(1)  # tabs are closable
    QApplication.processEvents()
    assert w.outputs.titles() == ["score.scored · table"]


def test_a_tab_says_why_there_is_no_output(window, qtbot, tmp_path, test_modules):
    w = window
    assert w.open_file(sample_with_types("diabetes_linear_regression", tmp_path, split="test.exploding_split"),
                       confirm=False)
    right_click(w, port_pos(w, "split", "train", output=True))
    choose(qtbot, "Open train as table")
    tab = w.outputs.tabs.currentWidget()
    assert tab.missing and "No output: not run yet" in tab.message.text()
    w.run()
    wait_run(qtbot, w)
    assert not tab.missing and tab.viewer.model.rowCount() > 0

    w.editor.set_param("split", "seed", 7)  # the test-only split explodes with this seed
    w.run()
    wait_run(qtbot, w)
    # the last good output stays, marked as from an earlier run, with why this run did not give one
    assert not tab.missing and tab.viewer.model.rowCount() > 0
    assert "failed this time" in tab.note.text() and "exploded" in tab.note.text() and tab.note.isVisibleTo(tab)

    w.editor.remove({"split"})
    assert tab.missing and "no longer in the pipeline" in tab.message.text()


def test_input_port_menu_opens_the_upstream_output(diabetes, qtbot):
    w = diabetes
    right_click(w, port_pos(w, "evaluate", "scored", output=False))
    assert menu_texts(qtbot) == ["Open scored as table", "Open scored as profile"]
    right_click(w, port_pos(w, "train", "model", output=True))
    assert menu_texts(qtbot) == ["Open model as model"]


def test_port_tooltips_list_propagated_columns_before_any_run(diabetes, qtbot):
    w = diabetes
    assert not w.runner.states
    out_tip = w.scene.nodes["split"].outputs["train"].toolTip()
    assert "Table</b> — 11 columns" in out_tip and "age <span style='color:gray'>(numeric)</span>" in out_tip
    in_tip = w.scene.nodes["scale"].inputs["data"].toolTip()  # an input shows what its link brings
    assert "11 columns" in in_tip and "progression" in in_tip
    assert "regression" in w.scene.nodes["train"].outputs["model"].toolTip()

    viewport = w.view.viewport()  # hovering shows it (a tooltip event, as after the mouse rests)
    pos = port_pos(w, "split", "train", output=True)
    QTest.mouseMove(viewport, pos)
    QApplication.sendEvent(viewport, QHelpEvent(QEvent.ToolTip, pos, viewport.mapToGlobal(pos)))
    assert "11 columns" in QToolTip.text()
    QToolTip.hideText()

    w.editor.remove(set(), [next(l for l in w.doc.pipeline.links if l.target == "scale.data")])
    w.validate_now()
    assert "not connected" in w.scene.nodes["scale"].inputs["data"].toolTip()


def test_long_column_lists_are_capped(window):
    w = window
    assert w.open_file(SAMPLES / "breast_cancer_classification.pipeline.json", confirm=False)
    w.validate_now()
    tip = w.scene.nodes["data"].outputs["data"].toolTip()
    columns = tip.split("columns:<br>", 1)[1].split("<br>")
    assert len(columns) == TIP_LINES and columns[-1].startswith("… and ") and columns[-1].endswith(" more")
    wide = TableSchema(columns=tuple((f"c{i}", "numeric") for i in range(40)))
    assert schema_tip("Table", wide).endswith("… and 26 more")
    assert "at least 2 columns" in schema_tip("Table", TableSchema(columns=(("a", "numeric"), ("b", "boolean")),
                                                                     exact=False))


def test_the_node_menu_deletes_renames_duplicates_runs_and_helps(diabetes, qtbot):
    w = diabetes
    texts = [t.replace("&", "") for t in menu_texts_at(w, qtbot, "scale")]
    assert texts[:2] == ["Show Outputs", "Run Up to Here"]
    assert {"Rename…", "Duplicate", "Delete", "Help"} <= set(texts)
    right_click(w, node_pos(w, "scale"))
    choose(qtbot, "Rename")
    qtbot.wait(QApplication.doubleClickInterval() + 50)
    assert w.panel.node_id == "scale" and w.panel.title_edit.hasFocus()
    assert w.panel.title_edit.selectedText() == w.panel.title_edit.text()
    w.view.setFocus()
    right_click(w, node_pos(w, "scale"))
    choose(qtbot, "Duplicate")
    qtbot.wait(QApplication.doubleClickInterval() + 50)
    assert len(w.doc.pipeline.nodes) == 8
    new = next(iter(w.scene.selected_node_ids()))
    right_click(w, node_pos(w, new))
    choose(qtbot, "Delete")
    assert len(w.doc.pipeline.nodes) == 7 and new not in w.scene.nodes


def menu_texts_at(w, qtbot, node: str) -> list[str]:
    right_click(w, node_pos(w, node))
    texts = menu_texts(qtbot)
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is None, timeout=5000)
    qtbot.wait(QApplication.doubleClickInterval() + 50)  # the next right click is not a double click
    return texts


def test_the_outputs_dock_opens_tall_enough_to_use(diabetes, qtbot):
    w = diabetes
    w.run()
    qtbot.waitUntil(lambda: not w.runner.running, timeout=60_000)
    w.show_outputs("split")
    QApplication.processEvents()
    assert w.outputs_dock.height() >= w.height() * 0.3
    page = w.outputs.tabs.currentWidget()
    assert page.viewer.model.rowCount() > 0


def test_boosted_trees_show_permutation_importance_from_the_connected_score_node(window, qtbot):
    from tests.conftest import SAMPLES

    w = window
    assert w.open_file(SAMPLES / "messy_housing_boosted_trees.pipeline.json", confirm=False)
    w.run()
    qtbot.waitUntil(lambda: not w.runner.running, timeout=120_000)
    page = w.outputs.open("train", "model", "model")
    viewer = page.viewer
    qtbot.waitUntil(lambda: not viewer.measuring, timeout=120_000)
    assert viewer.importance is not None and viewer.importance.kind == "permutation"
    assert viewer.importance_view is not None


def test_rows_read_in_chunks_show_their_first_chunk(tmp_path):
    """A streamed table is never all in memory: the Outputs dock shows its first chunk, saying so."""
    from types import SimpleNamespace

    import pandas as pd

    from designer.core.engine import Engine
    from designer.core.pipeline import parse_pipeline
    from designer.core.states import NodeState
    from designer.gui.outputs import output_of

    pd.DataFrame({"x": range(2500), "y": ["a", "b"] * 1250}).to_csv(tmp_path / "rows.csv", index=False)
    pipeline = parse_pipeline('{"format": "pipeline-designer", "version": 2, "name": "s", "nodes": [{"id": "load", '
                              '"type": "data.csv", "params": {"path": "rows.csv", "chunk_rows": 1000}}], "links": []}')
    result = Engine().run(pipeline, tmp_path)
    runner = SimpleNamespace(states={"load": SimpleNamespace(state=NodeState.DONE)},
                             outputs=lambda node: result.outputs.get(node, {}))
    out = output_of(runner, pipeline, "load", "data")
    assert len(out.value.frame) == 1000 and out.value.frame.index[-1] == 999
    assert "read in chunks: this shows the first 1,000 of 2,500 rows" in out.note
