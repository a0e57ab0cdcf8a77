"""One object per mouse gesture: a new link being dragged, a pan."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF, QRectF

from designer.gui.canvas.link_item import DraftLinkItem
from designer.gui.canvas.node_item import NodeItem, PortItem

if TYPE_CHECKING:
    from PySide6.QtWidgets import QGraphicsView

    from designer.gui.canvas.scene import PipelineScene

SNAP = 16.0  # how near an input port the mouse must be to aim at it


class NewLinkInteraction:
    """Dragging from an output port: highlights inputs that would accept the link, explains refusals."""

    def __init__(self, scene: "PipelineScene", source: PortItem, visible: QRectF | None = None) -> None:
        self.scene, self.source = scene, source
        self.draft = DraftLinkItem(source)
        scene.addItem(self.draft)
        self._reasons: dict[PortItem, str | None] = {}
        self._lit: list[PortItem] = []
        area = visible if visible is not None else scene.itemsBoundingRect()
        for item in scene.items(area):
            if isinstance(item, PortItem) and not item.is_output and item.node_item is not source.node_item:
                item.set_highlight("ok" if self.reason(item) is None else "bad")
                self._lit.append(item)

    def reason(self, port: PortItem) -> str | None:
        """Why the link to `port` is refused (core check_link), or None; cached for the gesture."""
        if port not in self._reasons:
            self._reasons[port] = self.scene.editor.link_refusal(self.source.node_id, self.source.name,
                                                                 port.node_id, port.name)
        return self._reasons[port]

    def target_at(self, pos: QPointF) -> tuple[PortItem | None, NodeItem | None]:
        """The input port aimed at (nearest within SNAP), else the node under the mouse."""
        best, best_d = None, SNAP * SNAP
        node = None
        for item in self.scene.items(QRectF(pos.x() - SNAP, pos.y() - SNAP, 2 * SNAP, 2 * SNAP)):
            if isinstance(item, PortItem) and not item.is_output:
                d = item.scenePos() - pos
                dist = d.x() * d.x() + d.y() * d.y()
                if dist <= best_d:
                    best, best_d = item, dist
            elif isinstance(item, NodeItem) and node is None and item.contains(item.mapFromScene(pos)):
                node = item
        return best, node

    def _node_port(self, node: NodeItem) -> tuple[PortItem | None, str | None]:
        """For a drop on a node's body: its first input that accepts the link, else the first refusal."""
        first_reason = None
        for port in node.inputs.values():
            reason = self.reason(port)
            if reason is None:
                return port, None
            first_reason = first_reason or reason
        return None, first_reason or f"'{node.title}' has no inputs"

    def move(self, pos: QPointF) -> None:
        port, node = self.target_at(pos)
        if port is not None:
            reason = self.reason(port)
            self.draft.set_end(port.scenePos(), ok=reason is None)
            self.scene.status_message.emit(f"Cannot connect: {reason}" if reason else
                                           f"Connect to {port.node_id}.{port.name}")
        elif node is not None and node is not self.source.node_item:
            target, reason = self._node_port(node)
            self.draft.set_end(target.scenePos() if target else pos, ok=reason is None)
            self.scene.status_message.emit(f"Cannot connect: {reason}" if reason else
                                           f"Connect to {target.node_id}.{target.name}")  # type: ignore[union-attr]
        else:
            self.draft.set_end(pos)

    def release(self, pos: QPointF, screen_pos: QPoint) -> None:
        port, node = self.target_at(pos)
        self.finish()
        if port is None and node is not None and node is not self.source.node_item:
            port, reason = self._node_port(node)
            if port is None:
                self.scene.status_message.emit(f"Cannot connect: {reason}")
                return
        if port is not None:
            self.scene.editor.connect(self.source.node_id, self.source.name, port.node_id, port.name)
        elif node is None:
            self.scene.link_dropped.emit(self.source.node_id, self.source.name, self.source.port_type, pos,
                                         screen_pos)

    def finish(self) -> None:
        for port in self._lit:
            port.set_highlight(None)
        if self.draft.scene() is not None:
            self.scene.removeItem(self.draft)


class PanInteraction:
    """Middle-drag or Space-drag: scroll the view with the mouse."""

    def __init__(self, view: "QGraphicsView", pos: QPoint) -> None:
        self.view, self.last = view, pos

    def move(self, pos: QPoint) -> None:
        delta = pos - self.last
        self.last = pos
        h, v = self.view.horizontalScrollBar(), self.view.verticalScrollBar()
        h.setValue(h.value() - delta.x())
        v.setValue(v.value() - delta.y())
