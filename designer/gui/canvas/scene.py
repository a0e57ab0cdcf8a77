"""The canvas scene: mirrors the document (node, link and note items) and turns gestures into edits."""

from __future__ import annotations

import math

import shiboken6
from typing import Any, Sequence

from PySide6.QtCore import QLineF, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QGraphicsScene, QGraphicsSceneMouseEvent

from designer.core import document as d
from designer.core.pipeline import Link, Note
from designer.core.registry import default_registry
from designer.core.routing import Rect, Router
from designer.core.summary import node_results, preview_rows
from designer.core.validate import Validation
from designer.gui.canvas.interactions import NewLinkInteraction
from designer.gui.canvas.link_item import LinkItem
from designer.gui.canvas.node_item import GRID, NodeItem, PortItem, RunState, preview_html
from designer.gui.canvas.note_item import NoteItem
from designer.gui.editor import Editor
from designer.gui.theme import theme

EXTENT = 100_000.0


def _rect(r: QRectF) -> Rect:
    return Rect(r.x(), r.y(), r.width(), r.height())


class PipelineScene(QGraphicsScene):
    """Items follow document changes; drags, link gestures and note edits go back through the editor."""

    status_message = Signal(str)
    link_dropped = Signal(str, str, str, QPointF, QPoint)
    """A new link was dropped on empty canvas: source node, port, port type, scene and screen position."""
    node_activated = Signal(str)
    """A node was double-clicked (show its outputs)."""

    def __init__(self, editor: Editor) -> None:
        super().__init__()
        self.editor = editor
        self.doc = editor.doc
        self.snap_to_grid = False
        self.nodes: dict[str, NodeItem] = {}
        self.links: dict[tuple[str, str], LinkItem] = {}
        self.notes: dict[int, NoteItem] = {}
        self._node_links: dict[str, set[LinkItem]] = {}
        self._run_states: dict[str, RunState] = {}
        self._interaction: NewLinkInteraction | None = None
        self._press_positions: dict[str, tuple[float, float]] = {}
        self._press_notes: dict[int, tuple[Note, tuple[float, float]]] = {}
        self.router = Router()
        self._dirty: list[QRectF] = []
        self._moved_links: set[LinkItem] = set()
        self._reroute_timer = QTimer(self, singleShot=True, interval=30)
        self._reroute_timer.timeout.connect(self.reroute_dirty)
        self.setSceneRect(-EXTENT, -EXTENT, 2 * EXTENT, 2 * EXTENT)
        self.setItemIndexMethod(QGraphicsScene.BspTreeIndex)
        self.doc.subscribe(self._on_change)
        self.rebuild()

    # ------------------------------------------------------------------------------------ model → items
    def rebuild(self) -> None:
        self.cancel_interaction()
        self.clear()
        self.nodes.clear()
        self.links.clear()
        self.notes.clear()
        self._node_links.clear()
        self._run_states.clear()
        self.router = Router()
        self._dirty.clear()
        self._moved_links.clear()
        for node in self.doc.pipeline.nodes:
            self._add_node(node.id)
        for link in self.doc.pipeline.links:
            self._add_link(link)
        for note in self.doc.pipeline.layout.notes:
            self._add_note(note)

    def _on_change(self, c: d.Change) -> None:
        if c.kind == d.RESET:
            self.rebuild()
        elif c.kind == d.NODE_ADDED:
            self._add_node(c.node)  # type: ignore[arg-type]
        elif c.kind == d.NODE_REMOVED:
            item = self.nodes.pop(c.node, None)  # type: ignore[arg-type]
            self._node_links.pop(c.node, None)  # type: ignore[arg-type]
            self.router.remove(c.node)  # type: ignore[arg-type]
            if item is not None:
                self._mark_dirty(item.body)
                self.removeItem(item)
        elif c.kind == d.NODE_MOVED:
            item = self.nodes[c.node]  # type: ignore[index]
            x, y = self.doc.position(c.node)  # type: ignore[arg-type]
            if (item.x(), item.y()) != (x, y):
                item.setPos(x, y)
        elif c.kind == d.NODE_CHANGED:
            self.nodes[c.node].set_title(self.doc.node(c.node).title)  # type: ignore[index,arg-type]
        elif c.kind == d.LINK_ADDED:
            self._add_link(c.link)  # type: ignore[arg-type]
        elif c.kind == d.LINK_REMOVED:
            self._remove_link(c.link)  # type: ignore[arg-type]
        elif c.kind == d.NOTE_ADDED:
            self._add_note(c.note)  # type: ignore[arg-type]
        elif c.kind == d.NOTE_REMOVED:
            item = self.notes.pop(id(c.note), None)
            if item is not None:
                self.removeItem(item)
        elif c.kind == d.NOTE_CHANGED:
            self.notes[id(c.note)].refresh()

    def _add_node(self, node_id: str) -> NodeItem:
        node = self.doc.node(node_id)
        cls = default_registry().get(node.type)
        if cls is None:  # a module that is not installed: keep its ports as its links use them
            ins, outs = self._ports_from_links(node_id)
            item = NodeItem(node_id, node.title, f"not installed: {node.type}", "", ins, outs)
        else:
            item = NodeItem(node_id, node.title, cls.title, cls.category,
                            [(p.name, p.type.value, p.description, p.optional) for p in cls.inputs],
                            [(p.name, p.type.value, p.description, p.optional) for p in cls.outputs])
        item.setPos(*self.doc.position(node_id))
        self.nodes[node_id] = item
        self._node_links[node_id] = set()
        self.router.set(node_id, _rect(item.body))
        if self.links:
            self._mark_dirty(item.body)  # links that ran where it now stands go around it
        if node_id in self._run_states:
            item.set_run_state(self._run_states[node_id])
        self.addItem(item)
        return item

    def _ports_from_links(self, node_id: str) -> tuple[list[Any], list[Any]]:
        """Ports of an unavailable module, as the links in the file use them (typed by the other end)."""
        registry = default_registry()

        def port_type(other_node: str, port: str, output: bool) -> str:
            other = registry.get(self.doc.node(other_node).type) if self.doc.has_node(other_node) else None
            found = other and (other.output(port) if output else other.input(port))
            return found.type.value if found else "Table"

        ins, outs = {}, {}
        for link in self.doc.pipeline.links:
            if link.target_node == node_id:
                ins[link.target_port] = port_type(link.source_node, link.source_port, True)
            if link.source_node == node_id:
                outs[link.source_port] = port_type(link.target_node, link.target_port, False)
        return ([(name, kind, "", False) for name, kind in ins.items()],
                [(name, kind, "", False) for name, kind in outs.items()])

    def _add_link(self, link: Link) -> None:
        src, dst = self.nodes.get(link.source_node), self.nodes.get(link.target_node)
        if src is None or dst is None:
            return
        sp, tp = src.outputs.get(link.source_port), dst.inputs.get(link.target_port)
        if sp is None or tp is None:
            return  # a broken link in a file: validation reports it
        item = LinkItem(link, sp, tp, self.router)
        self.links[d.link_key(link)] = item
        self._node_links[link.source_node].add(item)
        self._node_links[link.target_node].add(item)
        tp.set_connected(True)
        sp.set_connected(True)
        self.addItem(item)

    def _remove_link(self, link: Link) -> None:
        item = self.links.pop(d.link_key(link), None)
        if item is None:
            return
        for node_id in (link.source_node, link.target_node):
            self._node_links.get(node_id, set()).discard(item)
        item.target.set_connected(any(l.target is item.target for l in self.links.values()))
        item.source.set_connected(any(l.source is item.source for l in self.links.values()))
        self.removeItem(item)

    def _add_note(self, note: Note) -> None:
        item = NoteItem(note)
        self.notes[id(note)] = item
        self.addItem(item)

    def node_item_moved(self, item: NodeItem) -> None:
        """A node moved or resized (drag preview or model change): reroute its own links now, and the links
        near where it was and is, once the moves settle."""
        if item.node_id not in self.nodes:
            return
        old = self.router.rects.get(item.node_id)
        if old is not None:
            self._mark_dirty(QRectF(old.x, old.y, old.w, old.h))
        self.router.set(item.node_id, _rect(item.body))
        self._mark_dirty(item.body)
        for link in self._node_links.get(item.node_id, ()):
            link.update_path()
            self._moved_links.add(link)

    def _mark_dirty(self, rect: QRectF) -> None:
        self._dirty.append(rect)
        if shiboken6.isValid(self._reroute_timer):  # not while the scene is being torn down
            self._reroute_timer.start()

    def reroute_dirty(self) -> None:
        """Reroute the links that pass by a node that moved, appeared or went away."""
        self._reroute_timer.stop()
        dirty, self._dirty = self._dirty, []
        done, self._moved_links = self._moved_links, set()
        for link in self.links.values():  # moved links too: other nodes may have moved after them
            box = link.boundingRect()
            if link in done or any(box.intersects(r) for r in dirty):
                link.update_path()

    def set_results(self, node_id: str, outputs: dict[str, Any] | None, seconds: float | None) -> None:
        """Show a node's results (sizes on table ports with a preview, a headline), or clear them (None)."""
        item = self.nodes.get(node_id)
        if item is None:
            return
        if not outputs:
            item.set_results({}, "")
            return
        sizes, headline = node_results(outputs, seconds)
        item.set_results({port: (size, preview_html(*preview_rows(outputs[port]))) for port, size in sizes.items()},
                         headline)

    # ------------------------------------------------------------------------------------ run state, issues
    def set_run_state(self, node_id: str, state: RunState | None) -> None:
        if state is None:
            self._run_states.pop(node_id, None)
        else:
            self._run_states[node_id] = state
        item = self.nodes.get(node_id)
        if item is not None:
            item.set_run_state(state)

    def apply_validation(self, v: Validation) -> None:
        """Mark nodes that have problems (red) or warnings (amber); their tooltips list them."""
        by_node: dict[str, list[Any]] = {}
        for issue in v.issues:
            if issue.location.node:
                by_node.setdefault(issue.location.node, []).append(issue)
        for node_id, item in self.nodes.items():
            issues = by_node.get(node_id, [])
            level = ("error" if any(i.severity == "error" for i in issues) else "warning") if issues else None
            text = "\n".join(f"{'⚠' if i.severity == 'warning' else '✕'} "
                             f"{(i.location.param + ': ') if i.location.param else ''}{i.message}" for i in issues)
            item.set_issues(level, text)

    # ------------------------------------------------------------------------------------ selection
    def selected_node_ids(self) -> set[str]:
        return {i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)}

    def selected_links(self) -> list[Link]:
        return [i.link for i in self.selectedItems() if isinstance(i, LinkItem)]

    def selected_notes(self) -> list[Note]:
        return [i.note for i in self.selectedItems() if isinstance(i, NoteItem)]

    def select_only(self, node_ids: set[str], notes: Sequence[Note] = ()) -> None:
        self.clearSelection()
        for node_id in node_ids:
            if node_id in self.nodes:
                self.nodes[node_id].setSelected(True)
        for note in notes:
            if id(note) in self.notes:
                self.notes[id(note)].setSelected(True)

    def size_for(self, type_id: str) -> tuple[float, float]:
        """The size a new node of this module will have."""
        cls = default_registry().get(type_id)
        if cls is None:
            return (184.0, 94.0)
        probe = NodeItem("probe", cls.title, cls.title, cls.category,
                         [(p.name, p.type.value, "", p.optional) for p in cls.inputs],
                         [(p.name, p.type.value, "", p.optional) for p in cls.outputs])
        return (probe.width, probe.height)

    def node_sizes(self) -> dict[str, tuple[float, float]]:
        return {n: (item.width, item.height) for n, item in self.nodes.items()}

    def content_rect(self) -> QRectF:
        """The bounding rectangle of nodes and notes (the scene rect itself is huge)."""
        rect = QRectF()
        for item in (*self.nodes.values(), *self.notes.values()):
            rect = rect.united(item.sceneBoundingRect())
        return rect

    # ------------------------------------------------------------------------------------ gestures
    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._interaction is not None:
            return
        if event.button() == Qt.LeftButton:
            port = self._port_at(event.scenePos())
            if port is not None and port.is_output:
                view = event.widget().parent() if event.widget() else None
                visible = view.mapToScene(view.viewport().rect()).boundingRect() if view is not None else None
                self._interaction = NewLinkInteraction(self, port, visible)
                event.accept()
                return
        super().mousePressEvent(event)
        if event.button() == Qt.LeftButton:
            self._press_positions = {i.node_id: (i.x(), i.y()) for i in self.selectedItems()
                                     if isinstance(i, NodeItem)}
            self._press_notes = {id(i.note): (i.note, (i.x(), i.y())) for i in self.selectedItems()
                                 if isinstance(i, NoteItem)}

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._interaction is not None:
            self._interaction.move(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._interaction is not None:
            interaction, self._interaction = self._interaction, None
            interaction.release(event.scenePos(), event.screenPos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        if event.button() == Qt.LeftButton and (self._press_positions or self._press_notes):
            self._finish_move()

    def _finish_move(self) -> None:
        before = self._press_positions
        after = {n: (self.nodes[n].x(), self.nodes[n].y()) for n in before if n in self.nodes}
        notes = {k: (note, pos, (self.notes[k].x(), self.notes[k].y()))
                 for k, (note, pos) in self._press_notes.items() if k in self.notes}
        self._press_positions, self._press_notes = {}, {}
        self.editor.move(before, after, notes)

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        for item in self.items(event.scenePos()):
            if isinstance(item, (NodeItem, PortItem)):
                node = item if isinstance(item, NodeItem) else item.node_item
                self.node_activated.emit(node.node_id)
                event.accept()
                return
            if isinstance(item, NoteItem):
                break
        super().mouseDoubleClickEvent(event)

    def cancel_interaction(self) -> None:
        if self._interaction is not None:
            self._interaction.finish()
            self._interaction = None

    @property
    def linking(self) -> bool:
        return self._interaction is not None

    def _port_at(self, pos: QPointF) -> PortItem | None:
        for item in self.items(pos):
            if isinstance(item, PortItem):
                return item
            if isinstance(item, NodeItem):
                return None
        return None

    def note_edited(self, item: NoteItem, text: str) -> None:
        self.editor.edit_note(item.note, text=text)

    # ------------------------------------------------------------------------------------ background
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        t = theme()
        painter.fillRect(rect, t.c("canvas"))
        scale = painter.worldTransform().m11()
        step = GRID if scale >= 0.6 else GRID * 5
        if step * scale < 6:
            return
        left = math.floor(rect.left() / step) * step
        top = math.floor(rect.top() / step) * step
        major = GRID * 5
        pen = QPen(t.c("grid"), 0)
        painter.setPen(pen)
        lines = []
        x = left
        while x <= rect.right():
            if abs(x / major - round(x / major)) < 1e-6:
                lines.append(QLineF(x, rect.top(), x, rect.bottom()))
            x += step
        y = top
        while y <= rect.bottom():
            if abs(y / major - round(y / major)) < 1e-6:
                lines.append(QLineF(rect.left(), y, rect.right(), y))
            y += step
        if lines:
            faint = t.c("grid")
            faint.setAlpha(110)
            painter.setPen(QPen(faint, 0))
            painter.drawLines(lines)
        if step == GRID:
            dot = QPen(t.c("grid"), 2.0 / max(scale, 0.01))
            painter.setPen(dot)
            points = []
            x = left
            while x <= rect.right():
                y = top
                while y <= rect.bottom():
                    points.append(QPointF(x, y))
                    y += step
                x += step
            painter.drawPoints(points)
