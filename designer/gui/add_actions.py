"""Adding modules: the add menus (Tab, a link dropped on empty canvas, the palette) and where a new node goes.

A new node lands in free space (never on another node), next to the selected node when there is one, linked
to it where a compatible port exists, and is scrolled into view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF

from designer.core.layout import free_position
from designer.core.module_search import accepts
from designer.core.registry import default_registry
from designer.gui.add_menu import AddMenu
from designer.gui.canvas.node_item import HEADER, ROW, SUBTITLE

if TYPE_CHECKING:
    from designer.gui.main_window import MainWindow

GAP_X = 80.0


class AddActions:
    """The window's add-module gestures; `menu` is the add menu showing (tests drive it)."""

    def __init__(self, window: "MainWindow") -> None:
        self.w = window
        self.menu: AddMenu | None = None

    # ------------------------------------------------------------------------------------ menus
    def tab_menu(self, scene_pos: QPointF, global_pos: QPoint) -> None:
        """Tab: every module, placed at the cursor; linked to the selected node where it fits."""
        link = self._selected_output(None)
        title = "Add a module" + (f" after '{self.w.doc.node(link[0]).title or link[0]}'" if link else "")
        self._popup(AddMenu(title, parent=self.w), scene_pos, global_pos, None)

    def quick_add(self, node: str, port: str, port_type: str, scene_pos: QPointF, global_pos: QPoint) -> None:
        """A link dropped on empty canvas: only modules that take what the port gives (by its schema too)."""
        spec = self.w.doc.validation.schemas.get((node, port))
        menu = AddMenu(f"Add a module that takes this {port_type}", parent=self.w,
                       accept=lambda cls: accepts(cls, port_type, spec) is not None)
        self._popup(menu, scene_pos, global_pos, (node, port))

    def _popup(self, menu: AddMenu, scene_pos: QPointF, global_pos: QPoint, link: tuple[str, str] | None) -> None:
        if self.menu is not None:
            self.menu.close()
        self.menu = menu
        menu.chosen.connect(lambda type_id: self.add(type_id, scene_pos, link, from_selection=link is None))
        menu.popup(global_pos)

    # ------------------------------------------------------------------------------------ adding
    def add(self, type_id: str, centre: QPointF, link_from: tuple[str, str] | None = None,
            from_selection: bool = False, beside_selection: bool = False) -> str | None:
        """Add a module centred on `centre` (with `link_from`, its input at `centre`), in free space, and select
        it. `from_selection`: link the selected node's first fitting output to it; `beside_selection`: place
        it right of the selected node instead of at `centre`."""
        w = self.w
        scene = w.scene
        size = scene.size_for(type_id)
        if from_selection and link_from is None:
            link_from = self._selected_output(type_id)
        selected = self._single_selected()
        if beside_selection and selected is not None:
            item = scene.nodes[selected]
            want = (item.x() + item.width + GAP_X, item.y())
        elif link_from is not None and not from_selection:
            want = (centre.x() + 16, centre.y() - HEADER - SUBTITLE - ROW / 2)
        else:
            want = (centre.x() - size[0] / 2, centre.y() - HEADER)
        if scene.snap_to_grid:
            want = (round(want[0] / 20) * 20, round(want[1] / 20) * 20)
        taken = [(i.x(), i.y(), i.width, i.height) for i in scene.nodes.values()]
        pos = free_position(want, size, taken)
        node_id = w.editor.add_node(type_id, pos, link_from)
        if node_id is not None:
            scene.select_only({node_id})
            w.view.ensureVisible(scene.nodes[node_id], 40, 40)
        return node_id

    def _single_selected(self) -> str | None:
        ids = self.w.scene.selected_node_ids()
        return next(iter(ids)) if len(ids) == 1 else None

    def _selected_output(self, type_id: str | None) -> tuple[str, str] | None:
        """The selected node's first output that the module `type_id` (None: any module) can take."""
        node_id = self._single_selected()
        if node_id is None:
            return None
        cls = default_registry().get(type_id) if type_id else None
        item = self.w.scene.nodes[node_id]
        for name, port in item.outputs.items():
            spec = self.w.doc.validation.schemas.get((node_id, name))
            if cls is None or accepts(cls, port.port_type, spec) is not None:
                return node_id, name
        return None
