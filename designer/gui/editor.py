"""Editing operations in the user's terms; each becomes one undo command on the document."""

from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from designer.core.document import (Document, Fragment, Position, fragment_from_text, fragment_to_text, id_from_title,
                                     rebase_paths)
from designer.core.errors import BadInput
from designer.core.layout import layered_layout
from designer.core.pipeline import Link, Node, Note
from designer.core.registry import node_type
from designer.core.validate import check_link
from designer.gui.commands import (EditNoteCommand, InsertCommand, MoveCommand, RemoveCommand, SetMetaCommand,
                                   SetParamCommand, SetTitleCommand)


class Editor(QObject):
    """The document plus its undo stack. `status` carries refusals and hints for the status bar."""

    status = Signal(str)

    def __init__(self, doc: Document, stack: QUndoStack | None = None) -> None:
        super().__init__()
        self.doc = doc
        self.stack = stack or QUndoStack(self)

    # ------------------------------------------------------------------------------------ nodes
    def add_node(self, type_id: str, pos: Position, link_from: tuple[str, str] | None = None) -> str | None:
        """Add a module at `pos`; with `link_from` (node, output port) also connect it to a free input."""
        try:
            cls = node_type(type_id)
        except BadInput as e:
            self.status.emit(e.message)
            return None
        node = Node(id=self.doc.new_id(id_from_title(cls.title)), type=type_id, title=cls.title)
        fragment = Fragment(nodes=[node], positions={node.id: (float(pos[0]), float(pos[1]))})
        if link_from is not None:
            link = self._first_free_input(node, cls, *link_from)
            if link is None:
                self.status.emit(f"'{cls.title}' has no input that accepts {link_from[0]}.{link_from[1]}")
                return None
            fragment.links.append(link)
        self.stack.push(InsertCommand(self.doc, fragment, f"Add {cls.title}"))
        return node.id

    def _first_free_input(self, node: Node, cls: Any, src_node: str, src_port: str) -> Link | None:
        probe = self.doc.pipeline.model_copy(update={"nodes": [*self.doc.pipeline.nodes, node]})
        for port in cls.inputs:
            link = Link.make(src_node, src_port, node.id, port.name)
            if check_link(probe, link) is None:
                return link
        return None

    def remove(self, node_ids: set[str], links: Sequence[Link] = (), notes: Sequence[Note] = ()) -> None:
        fragment = self.doc.fragment(set(node_ids), list(links), list(notes))
        if fragment.is_empty():
            return
        what = [f"{len(fragment.nodes)} node{'s' * (len(fragment.nodes) != 1)}"] if fragment.nodes else []
        if fragment.links and not fragment.nodes:
            what.append(f"{len(fragment.links)} link{'s' * (len(fragment.links) != 1)}")
        if fragment.notes:
            what.append(f"{len(fragment.notes)} note{'s' * (len(fragment.notes) != 1)}")
        self.stack.push(RemoveCommand(self.doc, fragment, "Delete " + ", ".join(what)))

    def move(self, before: dict[str, Position], after: dict[str, Position],
             notes: dict[int, tuple[Note, Position, Position]] | None = None, text: str = "Move") -> None:
        moved = {k: v for k, v in after.items() if before.get(k) != v}
        notes = {k: v for k, v in (notes or {}).items() if v[1] != v[2]}
        if moved or notes:
            self.stack.push(MoveCommand(self.doc, {k: before[k] for k in moved}, moved, notes, text))

    # ------------------------------------------------------------------------------------ links
    def link_refusal(self, src_node: str, src_port: str, dst_node: str, dst_port: str) -> str | None:
        """Why this link cannot be made; a link into an occupied input is fine (it replaces the old one)."""
        link = Link.make(src_node, src_port, dst_node, dst_port)
        return check_link(self.doc.pipeline, link, existing=self._others(link))

    def _others(self, link: Link) -> list[Link]:
        return [l for l in self.doc.pipeline.links if l.target != link.target]

    def connect(self, src_node: str, src_port: str, dst_node: str, dst_port: str) -> str | None:
        """Link an output to an input, replacing the link into that input if there is one (one undo step);
        returns (and reports) the reason when the link is refused."""
        link = Link.make(src_node, src_port, dst_node, dst_port)
        reason = check_link(self.doc.pipeline, link, existing=self._others(link))
        if reason is not None:
            self.status.emit(f"Cannot connect: {reason}")
            return reason
        old = [l for l in self.doc.pipeline.links if l.target == link.target]
        if old and old[0].source == link.source:
            return None  # already so
        if not old:
            self.stack.push(InsertCommand(self.doc, Fragment(links=[link]), "Connect"))
            return None
        self.stack.beginMacro("Replace link")
        self.stack.push(RemoveCommand(self.doc, self.doc.fragment(set(), old), "Remove link"))
        self.stack.push(InsertCommand(self.doc, Fragment(links=[link]), "Connect"))
        self.stack.endMacro()
        self.status.emit(f"Replaced {old[0].source} → {old[0].target} with {link.source} → {link.target}")
        return None

    # ------------------------------------------------------------------------------------ parameters
    def set_param(self, node_id: str, name: str, value: Any, merge: bool | str = False) -> None:
        """Set a parameter; `merge` folds repeated changes of it (spin box steps) into one undo step (a text:
        only changes with the same text, e.g. steps of one spin box of an editor made of several)."""
        if self.doc.node(node_id).params.get(name, object()) != value:
            self.stack.push(SetParamCommand(self.doc, node_id, name, value, merge))

    def set_title(self, node_id: str, title: str) -> None:
        if self.doc.node(node_id).title != title:
            self.stack.push(SetTitleCommand(self.doc, node_id, title))

    def set_meta(self, **values: str) -> None:
        changed = {k: v for k, v in values.items() if getattr(self.doc.pipeline, k) != v}
        if changed:
            self.stack.push(SetMetaCommand(self.doc, **changed))

    def rebase_files(self, new_base: Any) -> None:
        """Before Save As into another folder: keep file parameters pointing at the same files."""
        changes = rebase_paths(self.doc.pipeline, self.doc.base_dir, new_base)
        if not changes:
            return
        self.stack.beginMacro("Update file paths")
        for (node_id, name), value in changes.items():
            self.stack.push(SetParamCommand(self.doc, node_id, name, value))
        self.stack.endMacro()

    # ------------------------------------------------------------------------------------ notes
    def add_note(self, text: str, pos: Position, width: float = 220.0) -> Note:
        note = Note(text=text, x=pos[0], y=pos[1], width=width)
        self.stack.push(InsertCommand(self.doc, Fragment(notes=[note]), "Add note"))
        return note

    def edit_note(self, note: Note, **values: Any) -> None:
        if any(getattr(note, k) != v for k, v in values.items()):
            self.stack.push(EditNoteCommand(self.doc, note, **values))

    # ------------------------------------------------------------------------------------ clipboard
    def copy_text(self, node_ids: set[str], notes: Sequence[Note] = ()) -> str:
        """Pipeline JSON of the chosen nodes, the links among them, and notes."""
        fragment = self.doc.fragment(set(node_ids), [], list(notes), with_touching_links=False)
        fragment.links = [l for l in self.doc.pipeline.links
                          if l.source_node in node_ids and l.target_node in node_ids]
        return fragment_to_text(fragment) if not fragment.is_empty() else ""

    def paste_text(self, text: str, offset: Position = (40.0, 40.0), what: str = "Paste") -> Fragment | None:
        """Insert pipeline JSON text with fresh ids; returns the inserted fragment (None if not a pipeline)."""
        try:
            fragment = fragment_from_text(text, self.doc, offset)
        except BadInput as e:
            self.status.emit(f"Nothing to paste: the clipboard does not hold pipeline nodes ({e.message})")
            return None
        if fragment.is_empty():
            return None
        self.stack.push(InsertCommand(self.doc, fragment, what))
        return fragment

    # ------------------------------------------------------------------------------------ layout
    def arrange(self, sizes: dict[str, tuple[float, float]] | None = None) -> None:
        """Lay the graph out left to right in layers (one undoable move); `sizes`: each node's (w, h)."""
        after = layered_layout(self.doc.pipeline, sizes)
        if after is None:
            self.status.emit("Arrange needs a pipeline without cycles")
            return
        before = {n: self.doc.position(n) for n in after}
        self.move(before, after, text="Arrange")
