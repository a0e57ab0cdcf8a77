"""Canvas gestures with real mouse and key events on the view's viewport."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from designer.gui.canvas.link_item import LinkItem
from designer.gui.canvas.view import MODULE_MIME
from tests.gui.conftest import click, drag, empty_spot, node_pos, port_pos, vp


def _links(window) -> set[tuple[str, str]]:
    return {(l.source, l.target) for l in window.doc.pipeline.links}


def test_palette_drop_adds_a_node_where_dropped(window):
    scene = window.scene  # keep a reference to the scene for the whole test
    data = QMimeData()
    data.setData(MODULE_MIME, b"clean.missing")
    target = QPoint(300, 200)
    for kind in (QDropEvent.Type.DragEnter, QDropEvent.Type.DragMove):
        from PySide6.QtGui import QDragMoveEvent
        ev = QDragMoveEvent(target, Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier, kind)
        QApplication.sendEvent(window.view.viewport(), ev)
    drop = QDropEvent(QPointF(target), Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window.view.viewport(), drop)
    assert [n.type for n in window.doc.pipeline.nodes] == ["clean.missing"]
    node_id = window.doc.pipeline.nodes[0].id
    item = scene.nodes[node_id]
    assert item.sceneBoundingRect().contains(window.view.mapToScene(target))
    assert scene.selected_node_ids() == {node_id}
    assert window.panel.node_id == node_id
    window.stack.undo()
    assert not window.doc.pipeline.nodes and not scene.nodes


def test_palette_double_click_adds_at_view_centre(window):
    item = window.palette.items["data.sample"]
    assert bytes(window.palette.tree.mimeData([item]).data(MODULE_MIME).data()) == b"data.sample"  # drag payload
    window.palette.tree.itemActivated.emit(item, 0)
    assert [n.type for n in window.doc.pipeline.nodes] == ["data.sample"]
    window.palette.search.setText("normalize")
    assert not window.palette.items["clean.normalize"].isHidden()
    assert window.palette.items["data.sample"].isHidden()


def test_drag_output_to_input_creates_a_link(diabetes):
    w = diabetes
    w.editor.remove(set(), [l for l in w.doc.pipeline.links if l.target == "evaluate.scored"])
    assert ("score.scored", "evaluate.scored") not in _links(w)
    drag(w, port_pos(w, "score", "scored", True), port_pos(w, "evaluate", "scored", False))
    assert ("score.scored", "evaluate.scored") in _links(w)
    assert ("score.scored", "evaluate.scored") in w.scene.links
    w.stack.undo()
    assert ("score.scored", "evaluate.scored") not in w.scene.links


def test_link_refusals_show_the_reason(diabetes):
    w = diabetes
    before = _links(w)
    # wrong type: a Learner output into a Table input
    drag(w, port_pos(w, "learner", "learner", True), port_pos(w, "evaluate", "scored2", False))
    assert "cannot connect Learner output" in w.statusBar().currentMessage()
    # a link dropped on an input that already has one replaces it, in one undo step
    drag(w, port_pos(w, "split", "test", True), port_pos(w, "scale", "data", False))
    assert "Replaced split.train → scale.data" in w.statusBar().currentMessage()
    assert ("split.test", "scale.data") in _links(w) and ("split.train", "scale.data") not in _links(w)
    assert w.stack.undoText() == "Replace link"
    w.stack.undo()
    assert _links(w) == before
    # cycle: evaluate's report can't go anywhere, so close a loop with tables: score.scored → split.data is
    # taken; free split's input first, then try
    w.editor.remove(set(), [l for l in w.doc.pipeline.links if l.target == "split.data"])
    drag(w, port_pos(w, "score", "scored", True), port_pos(w, "split", "data", False))
    assert "cycle" in w.statusBar().currentMessage()
    assert _links(w) == before - {("data.data", "split.data")}


def test_compatible_ports_highlight_while_dragging(diabetes):
    w = diabetes
    viewport = w.view.viewport()
    start = port_pos(w, "split", "test", True)
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, start)
    QTest.mouseMove(viewport, start + QPoint(30, 40))
    ev_scored2 = w.scene.nodes["evaluate"].inputs["scored2"]
    learner_in = w.scene.nodes["train"].inputs["learner"]
    scale_in = w.scene.nodes["scale"].inputs["data"]
    assert ev_scored2.highlight == "ok"
    assert learner_in.highlight == "bad"  # wrong type
    assert scale_in.highlight == "ok"  # linked already: a drop there replaces the link
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, start + QPoint(30, 40))
    assert ev_scored2.highlight is None


def test_link_dropped_on_empty_canvas_offers_compatible_modules(diabetes, qtbot):
    w = diabetes
    spot = empty_spot(w)
    drag(w, port_pos(w, "split", "test", True), spot)
    menu = w.add_menu
    assert menu is not None and menu.isVisible()
    offered = menu.type_ids()
    assert "clean.missing" in offered and "score.model" in offered
    assert "learn.linear_regression" not in offered and "data.sample" not in offered
    QTest.keyClicks(menu.search, "clip")
    assert menu.type_ids() == ["clean.clip"]
    QTest.keyClick(menu.search, Qt.Key_Return)
    new = [n for n in w.doc.pipeline.nodes if n.type == "clean.clip"]
    assert len(new) == 1
    assert ("split.test", f"{new[0].id}.data") in _links(w)
    w.stack.undo()  # one step removes node and link
    assert not [n for n in w.doc.pipeline.nodes if n.type == "clean.clip"]
    assert ("split.test", "score.data") in _links(w)


def test_tab_opens_searchable_add_menu(diabetes):
    w = diabetes
    QTest.keyClick(w.view, Qt.Key_Tab)
    menu = w.add_menu
    assert menu is not None and menu.isVisible()
    QTest.keyClicks(menu.search, "kmeans")
    assert menu.type_ids() == ["learn.kmeans"]
    QTest.keyClick(menu.search, Qt.Key_Return)
    assert any(n.type == "learn.kmeans" for n in w.doc.pipeline.nodes)


def test_rubber_band_and_ctrl_click_selection(diabetes):
    w = diabetes
    scene = w.scene
    def body(n):
        item = scene.nodes[n]
        return item.mapRectToScene(item.shape().boundingRect())
    a = body("learner").united(body("scale"))
    start = vp(w, a.topLeft() + QPointF(-8, -8))
    end = vp(w, a.bottomRight() + QPointF(8, 8))
    assert not w.view.items(start)
    drag(w, start, end)
    assert scene.selected_node_ids() == {"learner", "scale"}
    click(w, node_pos(w, "data"))
    assert scene.selected_node_ids() == {"data"}
    click(w, node_pos(w, "split"), Qt.ControlModifier)
    assert scene.selected_node_ids() == {"data", "split"}
    click(w, node_pos(w, "data"), Qt.ControlModifier)
    assert scene.selected_node_ids() == {"split"}


def test_moving_a_node_updates_only_its_links_and_is_one_undo_step(diabetes):
    w = diabetes
    scene = w.scene
    before = w.doc.position("learner")
    start = node_pos(w, "learner")
    LinkItem.path_updates = 0
    drag(w, start, start + QPoint(-60, -40), steps=5)
    learner_links = [l for l in w.doc.pipeline.links if "learner" in (l.source_node, l.target_node)]
    assert len(learner_links) == 1
    assert 1 <= LinkItem.path_updates <= 6  # one link, once per mouse move (never the others)
    after = w.doc.position("learner")
    assert after != before
    assert (scene.nodes["learner"].x(), scene.nodes["learner"].y()) == after
    assert w.stack.count() == 1 and w.stack.undoText() == "Move"
    link = scene.links[("learner.learner", "train.learner")]
    assert link.path().pointAtPercent(0) == scene.nodes["learner"].outputs["learner"].scenePos()
    w.stack.undo()
    assert w.doc.position("learner") == before
    assert link.path().pointAtPercent(0) == scene.nodes["learner"].outputs["learner"].scenePos()


def test_snap_to_grid(diabetes):
    w = diabetes
    w.act_snap.trigger()
    start = node_pos(w, "learner")
    drag(w, start, start + QPoint(33, 17))
    x, y = w.doc.position("learner")
    assert x % 20 == 0 and y % 20 == 0
    w.act_snap.trigger()
    assert not w.scene.snap_to_grid


def test_wheel_zooms_around_the_cursor_and_f_fits(diabetes):
    w = diabetes
    view = w.view
    anchor = node_pos(w, "split")
    scene_before = view.mapToScene(anchor)
    zoom = view.zoom
    QTest.mouseMove(view.viewport(), anchor)
    from PySide6.QtGui import QWheelEvent
    ev = QWheelEvent(QPointF(anchor), QPointF(view.viewport().mapToGlobal(anchor)), QPoint(), QPoint(0, 240),
                     Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), ev)
    assert view.zoom > zoom * 1.3
    after = view.mapToScene(anchor)
    assert abs(after.x() - scene_before.x()) < 3 and abs(after.y() - scene_before.y()) < 3
    QTest.keyClick(view, Qt.Key_F)
    QApplication.processEvents()
    visible = view.visible_scene_rect()
    assert visible.contains(w.scene.content_rect())


def test_middle_drag_and_space_drag_pan(diabetes):
    w = diabetes
    view = w.view
    spot = empty_spot(w)
    centre = view.centre_scene_pos()
    drag(w, spot, spot + QPoint(80, 50), button=Qt.MiddleButton)
    moved = view.centre_scene_pos()
    assert abs((centre.x() - moved.x()) - 80 / view.zoom) < 2
    QTest.keyPress(view, Qt.Key_Space)
    drag(w, spot, spot + QPoint(-40, 0))
    QTest.keyRelease(view, Qt.Key_Space)
    assert view.centre_scene_pos().x() > moved.x()
    assert w.stack.count() == 0 and not w.scene.selected_node_ids()


def test_notes_are_added_moved_and_edited_undoably(diabetes):
    w = diabetes
    w.act_note.trigger()
    notes = w.doc.pipeline.layout.notes
    assert len(notes) == 1
    item = w.scene.notes[id(notes[0])]
    w.scene.note_edited(item, "Training data only")
    assert notes[0].text == "Training data only"
    before = (notes[0].x, notes[0].y)
    rect = item.sceneBoundingRect()
    spots = [vp(w, QPointF(rect.left() + fx * rect.width(), rect.top() + fy * rect.height()))
             for fx in (0.1, 0.3, 0.5, 0.7, 0.9) for fy in (0.2, 0.5, 0.8)]
    start = next(p for p in spots if w.view.items(p)[:1] == [item])
    drag(w, start, start + QPoint(50, 30))
    assert notes[0].x > before[0] and notes[0].y > before[1]
    assert (item.x(), item.y()) == (notes[0].x, notes[0].y)
    w.stack.undo()
    assert (notes[0].x, notes[0].y) == before
    w.stack.undo()
    assert notes[0].text == ""  # the placeholder is only painted, never the note's text
    w.stack.undo()
    assert not w.doc.pipeline.layout.notes and not w.scene.notes


def test_keyboard_zoom_keeps_the_view_centre(diabetes):
    w = diabetes
    centre = w.view.centre_scene_pos()
    w.act_zoom_in.trigger()
    after = w.view.centre_scene_pos()
    tolerance = 2 / w.view.zoom  # two screen pixels (scroll positions are whole pixels)
    assert abs(after.x() - centre.x()) < tolerance and abs(after.y() - centre.y()) < tolerance


def test_a_dragged_node_paints_inside_its_bounds(diabetes):
    """No repaint trails: the selection halo and the badge lie inside the item's bounding rectangle."""
    item = diabetes.scene.nodes["train"]
    item.setSelected(True)
    bounds = item.boundingRect()
    halo = item.shape().boundingRect().adjusted(-4.5, -4.5, 4.5, 4.5)
    assert bounds.contains(halo)


def test_minimap_shows_the_same_scene(diabetes):
    w = diabetes
    assert w.view.minimap.scene() is w.scene
    w.act_minimap.trigger()
    assert not w.view.minimap.isVisible()
