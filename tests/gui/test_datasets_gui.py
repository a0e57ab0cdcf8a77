"""The Data tab: register a table output from its port menu, see its versions, profile and usage, and pick a
data set and version in Load Data Set's property panel."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from designer.core.store import RunStore
from tests.gui.conftest import port_pos
from tests.gui.test_outputs import choose, right_click
from tests.gui.test_runs import run, saved  # noqa: F401  (fixture)


def test_register_a_table_output_then_load_it_by_name_and_version(saved, qtbot):  # noqa: F811
    w = saved
    run(qtbot, w)
    asked = []
    w.runs.ask_dataset = lambda what, name: asked.append((what, name)) or ("diabetes", "from the sample")
    right_click(w, port_pos(w, "data", "data", output=True))
    choose(qtbot, "Register as Data Set")
    assert asked == [(f"output data.data of '{w.doc.pipeline.name}'", "data")]
    assert "Registered data set diabetes:1 (442 rows × 11 columns)" in w.statusBar().currentMessage()
    view = w.runs.datasets
    assert w.runs.tabs.currentWidget() is view
    assert [d.ref for d in view.datasets] == ["diabetes:1"]
    assert [view.table.item(0, c).text() for c in (0, 1, 2, 3)] == ["diabetes:1", "442", "11", "copy"]
    texts = view.texts()
    assert "description: from the sample" in texts and "bmi" in texts and "numeric" in texts
    assert "no recorded run has read this version" in texts

    # the same table again is the same version
    w.register_dataset("data", "data")
    assert "Already registered as data set diabetes:1" in w.statusBar().currentMessage()

    # Load Data Set offers the names and versions in its property panel
    node = w.editor.add_node("data.dataset", (40.0, 400.0))
    assert node is not None
    w.scene.select_only({node})
    QApplication.processEvents()
    assert w.panel.node_id == node
    assert w.panel.editors["name"].choices() == ["diabetes"]
    w.panel.editors["name"].combo.setEditText("diabetes")
    w.panel.editors["name"].combo.lineEdit().editingFinished.emit()
    assert w.doc.node(node).params["name"] == "diabetes"
    assert w.panel.editors["version"].choices() == ["latest", "1"]
    w.panel.editors["version"].combo.setEditText("1")
    w.panel.editors["version"].combo.lineEdit().editingFinished.emit()
    assert w.doc.node(node).params["version"] == 1

    # a run that reads it shows in the version's usage
    w.editor.remove({"data"})
    w.editor.connect(node, "data", "split", "data")
    assert [l.source for l in w.doc.pipeline.links_into("split")] == [f"{node}.data"]
    run(qtbot, w)
    assert w.runner.last_recorded.run_id
    with RunStore.open(w.store_path, create=False) as store:
        inputs = store.get_run(w.runner.last_recorded.run_id).inputs
    assert [(i.get("dataset"), i.get("version")) for i in inputs] == [("diabetes", 1)]
    w.runs.tabs.setCurrentWidget(view)
    w.runs.refresh()
    view.table.selectRow(0)
    assert f"run {w.runner.last_recorded.run_id}" in view.texts()


def popup_actions(qtbot) -> dict[str, bool]:
    """The open popup menu's items and whether each is enabled; closes it."""
    from PySide6.QtWidgets import QMenu

    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=5000)
    menu = QApplication.activePopupWidget()
    items = {a.text().replace("&", ""): a.isEnabled() for a in menu.actions() if a.text()}
    menu.close()
    return items


def test_register_is_offered_only_for_a_table_that_ran(diabetes, qtbot):
    w = diabetes
    right_click(w, port_pos(w, "data", "data", output=True))
    assert popup_actions(qtbot)["Register as Data Set… (run it first)"] is False
    right_click(w, port_pos(w, "train", "model", output=True))
    assert not any("Data Set" in t for t in popup_actions(qtbot))


def test_compare_with_shows_the_drift_of_the_selected_version_against_another(tmp_path, qtbot):
    import numpy as np
    import pandas as pd

    from designer.core.datasets import register_frame
    from designer.gui.runs.datasets_view import DatasetsView

    rng = np.random.default_rng(3)
    a = pd.DataFrame({"x": rng.normal(0, 1, 300), "c": rng.choice(["u", "v"], 300)})
    b = pd.DataFrame({"x": rng.normal(1, 1, 300), "c": rng.choice(["u", "v"], 300)})
    with RunStore.open(tmp_path / "store") as store:
        register_frame(store, a, "s", sha256="1" * 64, source="t")
        register_frame(store, b, "s", sha256="2" * 64, source="t")
        records = store.list_datasets()
    view = DatasetsView(lambda: RunStore.open(tmp_path / "store", create=False), lambda message: None)
    qtbot.addWidget(view)
    assert not view.compare_button.isEnabled()
    view.show_datasets(records, select="s:2")
    assert view.compare_button.isEnabled()
    asked = []
    view.ask_version = lambda refs, current: asked.append((refs, current)) or refs[current]
    view.compare_button.click()
    assert asked == [(["s:1"], 0)]
    qtbot.waitUntil(lambda: "columns  1 of 2 drift: x" in view.texts(), timeout=20000)
    texts = view.texts()
    assert "Compared with s:1" in texts and "s:1 -> s:2: different content" in texts
    assert any(t.startswith("  x ") and "drift" in t and "normalized Wasserstein" in t for t in texts)
    assert any(t.startswith("  c ") and "no drift" in t for t in texts)
    view.compare_button.click()  # again: one comparison branch, not two
    qtbot.waitUntil(lambda: "columns  1 of 2 drift: x" in view.texts(), timeout=20000)
    assert view.texts().count("Compared with s:1") == 1
