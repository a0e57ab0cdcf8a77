"""Undo commands. Each one changes only the document; the canvas follows the document's notifications."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QUndoCommand

from designer.core.document import Document, Fragment, Position
from designer.core.pipeline import Note

_MISSING = object()


class InsertCommand(QUndoCommand):
    """Add nodes, links and notes (add a node, connect, paste, duplicate, quick-add with its link)."""

    def __init__(self, doc: Document, fragment: Fragment, text: str) -> None:
        super().__init__(text)
        self.doc, self.fragment = doc, fragment

    def redo(self) -> None:
        self.doc.insert(self.fragment)

    def undo(self) -> None:
        self.doc.remove(self.fragment)


class RemoveCommand(QUndoCommand):
    """Remove nodes (with their links), links and notes; undo puts them back in place."""

    def __init__(self, doc: Document, fragment: Fragment, text: str) -> None:
        super().__init__(text)
        self.doc, self.fragment = doc, fragment

    def redo(self) -> None:
        self.doc.remove(self.fragment)

    def undo(self) -> None:
        self.doc.insert(self.fragment)


class MoveCommand(QUndoCommand):
    """One drag gesture (or an arrange): node positions and note positions, before and after."""

    def __init__(self, doc: Document, before: dict[str, Position], after: dict[str, Position],
                 notes: dict[int, tuple[Note, Position, Position]] | None = None, text: str = "Move") -> None:
        super().__init__(text)
        self.doc, self.before, self.after = doc, before, after
        self.notes = notes or {}

    def _apply(self, positions: dict[str, Position], which: int) -> None:
        self.doc.set_positions(positions)
        for note, *pos in self.notes.values():
            x, y = pos[which]
            self.doc.set_note(note, x=x, y=y)

    def redo(self) -> None:
        self._apply(self.after, 1)

    def undo(self) -> None:
        self._apply(self.before, 0)


class SetParamCommand(QUndoCommand):
    """Change one parameter. With `merge`, consecutive changes of that parameter (spin box steps) are one step;
    a text `merge` joins only changes with the same text (steps of one control of an editor made of several)."""

    ID = 1001

    def __init__(self, doc: Document, node_id: str, name: str, value: Any, merge: bool | str = False) -> None:
        super().__init__(f"Change {name}")
        self.doc, self.node_id, self.name, self.merge = doc, node_id, name, merge
        self.old = doc.node(node_id).params.get(name, _MISSING)
        self.new = value

    def id(self) -> int:
        return self.ID if self.merge else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetParamCommand) or not other.merge or other.merge != self.merge or \
                (other.node_id, other.name) != (self.node_id, self.name):
            return False
        self.new = other.new
        self.setObsolete(self.new == self.old)
        return True

    def _set(self, value: Any) -> None:
        self.doc.set_param(self.node_id, self.name, None if value is _MISSING else value,
                           present=value is not _MISSING)

    def redo(self) -> None:
        self._set(self.new)

    def undo(self) -> None:
        self._set(self.old)


class SetTitleCommand(QUndoCommand):
    def __init__(self, doc: Document, node_id: str, title: str) -> None:
        super().__init__("Rename node")
        self.doc, self.node_id = doc, node_id
        self.old, self.new = doc.node(node_id).title, title

    def redo(self) -> None:
        self.doc.set_title(self.node_id, self.new)

    def undo(self) -> None:
        self.doc.set_title(self.node_id, self.old)


class SetMetaCommand(QUndoCommand):
    """Change the pipeline's name or description."""

    def __init__(self, doc: Document, **values: str) -> None:
        super().__init__("Change pipeline " + ", ".join(values))
        self.doc, self.new = doc, values
        self.old = {k: getattr(doc.pipeline, k) for k in values}

    def redo(self) -> None:
        self.doc.set_meta(**self.new)

    def undo(self) -> None:
        self.doc.set_meta(**self.old)


class EditNoteCommand(QUndoCommand):
    def __init__(self, doc: Document, note: Note, **values: Any) -> None:
        super().__init__("Edit note")
        self.doc, self.note, self.new = doc, note, values
        self.old = {k: getattr(note, k) for k in values}

    def redo(self) -> None:
        self.doc.set_note(self.note, **self.new)

    def undo(self) -> None:
        self.doc.set_note(self.note, **self.old)
