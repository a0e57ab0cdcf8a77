"""Open, save, unsaved-changes prompts, recent files, autosave and recovery."""

from __future__ import annotations

import json

from PySide6.QtCore import QPoint

from designer.core.pipeline import load_pipeline
from designer.gui.app import offer_recovery
from designer.gui.recovery import find_recovered
from tests.gui.conftest import DIABETES, drag, node_pos


def test_save_then_open_gives_an_equal_pipeline(diabetes, tmp_path):
    w = diabetes
    original = load_pipeline(DIABETES)
    start = node_pos(w, "learner")
    drag(w, start, start + QPoint(-40, 0))
    w.editor.set_param("split", "seed", 7)
    assert w.isWindowModified()
    target = tmp_path / "copy.pipeline.json"
    w.ask_save_path = lambda: str(target)
    assert w.save_as()
    assert not w.isWindowModified() and w.doc.path == target.resolve()
    saved = load_pipeline(target)
    assert saved.nodes[1].params["seed"] == 7
    assert saved.layout.positions["learner"] != original.layout.positions["learner"]
    w.new_document()
    assert not w.doc.pipeline.nodes and not w.scene.nodes
    assert w.open_file(target)
    again = w.doc.snapshot()
    assert again.model_dump(exclude={"layout": {"view"}}) == saved.model_dump(exclude={"layout": {"view"}})
    assert set(w.scene.nodes) == {n.id for n in saved.nodes}
    assert str(target) in w.recent_files()[0]


def test_save_keeps_the_file_diff_small(diabetes, tmp_path):
    w = diabetes
    target = tmp_path / "d.pipeline.json"
    w.ask_save_path = lambda: str(target)
    w.save_as()
    first = target.read_text().splitlines()
    w.editor.set_param("learner", "l2", 0.5)
    w.save()
    second = target.read_text().splitlines()
    changed = [(a, b) for a, b in zip(first, second) if a != b]
    assert len(first) == len(second) and len(changed) == 1 and '"l2": 0.5' in changed[0][1]


def test_broken_file_shows_the_error_and_changes_nothing(diabetes, tmp_path):
    w = diabetes
    bad = tmp_path / "bad.pipeline.json"
    bad.write_text('{"format": "pipeline-designer", "version": 2,\n "nodes": [{"id": "1x", "type": "a"}]}\n')
    before = w.doc.snapshot()
    assert not w.open_file(bad, confirm=False)
    assert len(w.errors) == 1 and "bad.pipeline.json" in w.errors[0] and "line 2" in w.errors[0]
    assert w.doc.snapshot() == before and w.doc.path == DIABETES.resolve()
    assert len(w.scene.nodes) == 7


def test_unsaved_changes_prompt_on_new_open_and_close(diabetes):
    w = diabetes
    w.editor.set_param("split", "seed", 1)
    w.answer = "cancel"
    w.new_document()
    assert w.doc.has_node("split")  # cancelled: nothing changed
    assert not w.open_file(DIABETES)
    assert w.doc.node("split").params["seed"] == 1
    assert not w.close()
    assert w.isVisible()
    saved = []
    w.answer = "save"
    w.save = lambda: saved.append(1) or True
    w.new_document()
    assert saved and not w.doc.pipeline.nodes


def test_title_shows_name_and_unsaved_marker(diabetes):
    w = diabetes
    assert w.windowTitle() == "Diabetes regression[*] — Pipeline Designer"
    assert not w.isWindowModified()
    w.editor.add_node("data.sample", (0, 0))
    assert w.isWindowModified()
    w.stack.undo()
    assert not w.isWindowModified()


def test_autosave_and_recovery(window, qtbot, monkeypatch):
    w = window
    w.editor.add_node("data.sample", (10, 20))
    w.autosave()
    assert w.autosaver.file.is_file()
    assert find_recovered() == []  # this process is alive: not offered
    monkeypatch.setattr("designer.gui.recovery._alive", lambda pid: False)
    found = find_recovered()
    assert len(found) == 1 and found[0].original is None
    w.stack.setClean()
    w.autosave()
    assert not w.autosaver.file.is_file()  # saved work leaves no recovery copy

    w.editor.add_node("learn.kmeans", (0, 0))
    w.autosave()
    w.stack.setClean()
    other = type(w)(w.settings)
    qtbot.addWidget(other)
    monkeypatch.setattr("designer.gui.app.ask_recovery", lambda *a: "restore")
    assert offer_recovery(other)
    assert [n.type for n in other.doc.pipeline.nodes] == ["data.sample", "learn.kmeans"]
    assert other.isWindowModified()
    assert [r.file for r in find_recovered()] == [other.autosaver.file]  # only the restored window's own copy
    other.stack.setClean()
    other.close()
    assert find_recovered() == []


def test_every_windows_unsaved_work_is_offered_and_nothing_is_deleted_unasked(window, qtbot, monkeypatch):
    """Two windows with unsaved work, both killed: on restart both are offered; one restored into the first
    window, the other into a new one; a copy the user keeps for later stays."""
    monkeypatch.setattr("designer.gui.recovery._alive", lambda pid: False)
    made = []
    for kind in ("data.sample", "learn.kmeans", "split.rows"):
        w = type(window)(window.settings)
        qtbot.addWidget(w)
        w.editor.add_node(kind, (0, 0))
        w.autosave()
        made.append(w)
        w.autosaver = type(w.autosaver)()  # the process "dies": its copy stays behind
        w.stack.setClean()
    assert len(find_recovered()) == 3
    answers = iter(["restore", "restore", "later"])
    monkeypatch.setattr("designer.gui.app.ask_recovery", lambda *a: next(answers))
    opened = []

    def new_window():
        w = type(window)(window.settings)
        qtbot.addWidget(w)
        opened.append(w)
        return w

    assert offer_recovery(window, new_window)
    assert len(opened) == 1
    restored = {n.type for w in (window, opened[0]) for n in w.doc.pipeline.nodes}
    assert len(restored) == 2
    left = [r for r in find_recovered() if r.file not in (window.autosaver.file, opened[0].autosaver.file)]
    assert len(left) == 1  # kept for later, not deleted
    monkeypatch.setattr("designer.gui.app.ask_recovery", lambda *a: "discard")
    for w in (window, opened[0]):
        w.autosaver.clear()
    offer_recovery(window, new_window)
    assert find_recovered() == []
    for w in (window, opened[0], *made):
        w.stack.setClean()


def test_save_as_elsewhere_rebases_relative_data_paths(window, tmp_path):
    w = window
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "rows.csv").write_text("x\n1\n")
    w.ask_save_path = lambda: str(tmp_path / "a" / "p.pipeline.json")
    w.save_as()
    node_id = w.editor.add_node("data.csv", (0, 0))
    w.editor.set_param(node_id, "path", "rows.csv")
    w.ask_save_path = lambda: str(tmp_path / "b" / "p")
    assert w.save_as()
    saved = json.loads((tmp_path / "b" / "p.pipeline.json").read_text())
    assert saved["nodes"][0]["params"]["path"] == "../a/rows.csv"
    w.validate_now()
    assert w.doc.validation.ok


def test_a_module_that_is_not_installed_opens_keeps_its_links_and_saves_back(window, tmp_path):
    from tests.core.test_registry import PIPELINE

    path = tmp_path / "plugin.pipeline.json"
    path.write_text(json.dumps(PIPELINE, indent=2))
    w = window
    assert w.open_file(path, confirm=False)
    item = w.scene.nodes["logs"]
    assert set(item.inputs) == {"data"} and set(item.outputs) == {"data"}  # ports as its links use them
    assert len(w.scene.links) == 3
    v = w.validate_now()
    assert "pipeline-designer-gone-log" in " ".join(i.message for i in v.node_issues("logs"))
    target = tmp_path / "again.pipeline.json"
    w.ask_save_path = lambda: str(target)
    assert w.save_as()
    saved, original = json.loads(target.read_text()), json.loads(load_pipeline(path).to_json_text())
    for key in ("nodes", "links", "requires"):
        assert saved[key] == original[key]
    assert saved["layout"]["positions"] == original["layout"]["positions"]
