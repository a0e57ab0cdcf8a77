"""The pipeline being edited, as a Qt-free model that reports every change to its listeners.

Only undo commands (`designer.gui.commands`) call the mutating methods; the canvas and the panels listen
to `Change` notifications and redraw. Validation is computed lazily and dropped on every change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import networkx as nx

from designer.core.pipeline import Link, Node, Note, Pipeline, parse_pipeline
from designer.core.validate import Validation, build_graph, validate

Position = tuple[float, float]

# Change kinds
RESET = "reset"
NODE_ADDED, NODE_REMOVED, NODE_CHANGED, NODE_MOVED = "node_added", "node_removed", "node_changed", "node_moved"
LINK_ADDED, LINK_REMOVED = "link_added", "link_removed"
NOTE_ADDED, NOTE_REMOVED, NOTE_CHANGED = "note_added", "note_removed", "note_changed"
META_CHANGED = "meta_changed"


@dataclass(frozen=True)
class Change:
    """One change to the document; `node`, `link` or `note` says what it touched."""

    kind: str
    node: str | None = None
    link: Link | None = None
    note: Note | None = None
    param: str | None = None


@dataclass
class Fragment:
    """A piece of a pipeline: nodes with positions, links and notes, plus where each sat in its list."""

    nodes: list[Node] = field(default_factory=list)
    positions: dict[str, Position] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    indices: dict[int, int] = field(default_factory=dict)
    """id() of a node, link or note → its index in the document's list, for re-insertion in place."""

    def is_empty(self) -> bool:
        return not (self.nodes or self.links or self.notes)


GENERIC_WORDS = {"model", "data"}


def id_from_title(title: str) -> str:
    """A readable node id from a module title: "Evaluate Model" -> "evaluate", "Clean Missing Data" ->
    "clean_missing" (generic trailing words dropped; `Document.new_id` makes it unique)."""
    words = [w for w in "".join(c.lower() if c.isalnum() else " " for c in title).split()]
    while len(words) > 1 and words[-1] in GENERIC_WORDS:
        words.pop()
    return "_".join(words) or "node"


def link_key(link: Link) -> tuple[str, str]:
    return (link.source, link.target)


class Document:
    """A pipeline, the file it came from, and change notifications."""

    def __init__(self, pipeline: Pipeline | None = None, path: str | Path | None = None) -> None:
        self._pipeline = pipeline if pipeline is not None else Pipeline()
        self.path: Path | None = Path(path).resolve() if path else None
        self._listeners: list[Callable[[Change], None]] = []
        self._validation: Validation | None = None
        self.last_validation: Validation | None = None
        """The newest validation computed, possibly of an earlier generation (for display while re-validating)."""
        self.generation = 0
        """Counts changes; a validation computed elsewhere is kept only if no change happened meanwhile."""

    # ------------------------------------------------------------------------------------ observers
    def subscribe(self, listener: Callable[[Change], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[Change], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _emit(self, change: Change) -> None:
        self.generation += 1
        self._validation = None
        if change.kind == RESET:
            self.last_validation = None
        for listener in list(self._listeners):
            listener(change)

    # ------------------------------------------------------------------------------------ queries
    @property
    def pipeline(self) -> Pipeline:
        """The live pipeline: read it, never change it (use commands)."""
        return self._pipeline

    @property
    def base_dir(self) -> Path:
        """The folder relative data paths are resolved against."""
        return self.path.parent if self.path else Path.cwd()

    @property
    def name(self) -> str:
        return self._pipeline.name or "Untitled"

    @property
    def validation(self) -> Validation:
        """The validation of the current state (computed here, in the caller's thread, if not known)."""
        if self._validation is None:
            self._validation = self.last_validation = validate(self._pipeline, self.base_dir)
        return self._validation

    def offer_validation(self, validation: Validation, generation: int) -> bool:
        """Accept a validation computed from a snapshot (another thread) if the document is unchanged since."""
        if generation != self.generation:
            return False
        self._validation = self.last_validation = validation
        return True

    def node(self, node_id: str) -> Node:
        return self._pipeline.node(node_id)

    def has_node(self, node_id: str) -> bool:
        return self._pipeline.has_node(node_id)

    def position(self, node_id: str) -> Position:
        x, y = self._pipeline.layout.positions.get(node_id, (0.0, 0.0))
        return (float(x), float(y))

    def descendants(self, node_ids: set[str]) -> set[str]:
        """The nodes and everything downstream of them."""
        g = build_graph(self._pipeline)
        out = {n for n in node_ids if g.has_node(n)}
        for n in list(out):
            out |= nx.descendants(g, n)
        return out

    def new_id(self, base: str, taken: set[str] | None = None) -> str:
        """A node id not in use: `base`, else `base_2`, `base_3`, ..."""
        used = {n.id for n in self._pipeline.nodes} | (taken or set())
        base = "".join(c if c.isalnum() or c in "_-" else "_" for c in base) or "node"
        if not (base[0].isalpha() or base[0] == "_"):
            base = "n_" + base
        if base not in used:
            return base
        i = 2
        while f"{base}_{i}" in used:
            i += 1
        return f"{base}_{i}"

    def fragment(self, node_ids: set[str], links: Sequence[Link] = (), notes: Sequence[Note] = (),
                 with_touching_links: bool = True) -> Fragment:
        """The given nodes (with their links when asked), extra links and notes, remembering their places."""
        p = self._pipeline
        nodes = [n for n in p.nodes if n.id in node_ids]
        keys = {link_key(l) for l in links}
        chosen = [l for l in p.links if link_key(l) in keys
                  or (with_touching_links and (l.source_node in node_ids or l.target_node in node_ids))]
        note_ids = {id(n) for n in notes}
        chosen_notes = [n for n in p.layout.notes if id(n) in note_ids]
        indices = {id(n): i for i, n in enumerate(p.nodes) if n.id in node_ids}
        indices.update({id(l): i for i, l in enumerate(p.links) if l in chosen})
        indices.update({id(n): i for i, n in enumerate(p.layout.notes) if id(n) in note_ids})
        return Fragment(nodes=nodes, positions={n.id: self.position(n.id) for n in nodes}, links=chosen,
                        notes=chosen_notes, indices=indices)

    def snapshot(self) -> Pipeline:
        """A deep copy, safe to hand to another thread or to save."""
        return self._pipeline.model_copy(deep=True)

    # ------------------------------------------------------------------------------------ mutations
    def reset(self, pipeline: Pipeline, path: str | Path | None = None) -> None:
        self._pipeline = pipeline
        self.path = Path(path).resolve() if path else None
        self._emit(Change(RESET))

    def set_path(self, path: str | Path | None) -> None:
        self.path = Path(path).resolve() if path else None
        self._emit(Change(META_CHANGED))

    def insert(self, fragment: Fragment) -> None:
        """Add a fragment's nodes, then its links, then its notes (each at its remembered index)."""
        p = self._pipeline
        for node in sorted(fragment.nodes, key=lambda n: fragment.indices.get(id(n), len(p.nodes))):
            p.nodes.insert(fragment.indices.get(id(node), len(p.nodes)), node)
            p.layout.positions[node.id] = fragment.positions.get(node.id, (0.0, 0.0))
            self._emit(Change(NODE_ADDED, node=node.id))
        for link in sorted(fragment.links, key=lambda l: fragment.indices.get(id(l), len(p.links))):
            p.links.insert(fragment.indices.get(id(link), len(p.links)), link)
            self._emit(Change(LINK_ADDED, link=link))
        for note in sorted(fragment.notes, key=lambda n: fragment.indices.get(id(n), len(p.layout.notes))):
            p.layout.notes.insert(fragment.indices.get(id(note), len(p.layout.notes)), note)
            self._emit(Change(NOTE_ADDED, note=note))

    def remove(self, fragment: Fragment) -> None:
        """Remove a fragment's links, then its notes, then its nodes."""
        p = self._pipeline
        keys = {link_key(l) for l in fragment.links}
        for link in [l for l in p.links if link_key(l) in keys]:
            p.links.remove(link)
            self._emit(Change(LINK_REMOVED, link=link))
        note_ids = {id(n) for n in fragment.notes}
        for note in [n for n in p.layout.notes if id(n) in note_ids]:
            p.layout.notes.remove(note)
            self._emit(Change(NOTE_REMOVED, note=note))
        ids = {n.id for n in fragment.nodes}
        for node in [n for n in p.nodes if n.id in ids]:
            p.nodes.remove(node)
            p.layout.positions.pop(node.id, None)
            self._emit(Change(NODE_REMOVED, node=node.id))

    def set_positions(self, positions: dict[str, Position]) -> None:
        for node_id, pos in positions.items():
            if self.has_node(node_id) and self.position(node_id) != tuple(pos):
                self._pipeline.layout.positions[node_id] = (float(pos[0]), float(pos[1]))
                self._emit(Change(NODE_MOVED, node=node_id))

    def set_param(self, node_id: str, name: str, value: Any, present: bool = True) -> None:
        """Set one parameter (`present=False` removes it, falling back to the default)."""
        node = self.node(node_id)
        params = dict(node.params)
        if present:
            params[name] = value
        else:
            params.pop(name, None)
        node.params = params
        self._emit(Change(NODE_CHANGED, node=node_id, param=name))

    def set_title(self, node_id: str, title: str) -> None:
        self.node(node_id).title = title
        self._emit(Change(NODE_CHANGED, node=node_id))

    def set_note(self, note: Note, **values: Any) -> None:
        for key, value in values.items():
            setattr(note, key, value)
        self._emit(Change(NOTE_CHANGED, note=note))

    def set_meta(self, **values: str) -> None:
        for key, value in values.items():
            setattr(self._pipeline, key, value)
        self._emit(Change(META_CHANGED))


# ------------------------------------------------------------------------------------------ clipboard
def fragment_to_text(fragment: Fragment) -> str:
    """A fragment as pipeline JSON text (what copy puts on the clipboard)."""
    from designer.core.pipeline import Layout

    p = Pipeline(name="clipboard", nodes=[n.model_copy(deep=True) for n in fragment.nodes],
                 links=list(fragment.links),
                 layout=Layout(positions=dict(fragment.positions),
                               notes=[n.model_copy() for n in fragment.notes]))
    return p.to_json_text()


def fragment_from_text(text: str, doc: Document, offset: Position = (0.0, 0.0)) -> Fragment:
    """Parse pipeline JSON text into a fragment with fresh node ids; only links inside it are kept.

    Raises BadInput when the text is not a pipeline.
    """
    p = parse_pipeline(text, file="<clipboard>")
    rename: dict[str, str] = {}
    taken: set[str] = set()
    for n in p.nodes:
        rename[n.id] = doc.new_id(n.id.rstrip("0123456789").rstrip("_") or n.id, taken)
        taken.add(rename[n.id])
    dx, dy = offset
    nodes = [n.model_copy(update={"id": rename[n.id]}, deep=True) for n in p.nodes]
    positions = {rename[i]: (x + dx, y + dy) for i, (x, y) in p.layout.positions.items() if i in rename}
    links = [Link.make(rename[l.source_node], l.source_port, rename[l.target_node], l.target_port)
             for l in p.links if l.source_node in rename and l.target_node in rename]
    notes = [n.model_copy(update={"x": n.x + dx, "y": n.y + dy}) for n in p.layout.notes]
    return Fragment(nodes=nodes, positions=positions, links=links, notes=notes)


def rebase_paths(pipeline: Pipeline, old_base: Path, new_base: Path) -> dict[tuple[str, str], str]:
    """New values for file parameters so they point at the same files from `new_base` (relative when possible)."""
    from designer.core.registry import default_registry

    types = default_registry()
    changes: dict[tuple[str, str], str] = {}
    for node in pipeline.nodes:
        cls = types.get(node.type)
        if cls is None:
            continue
        for name in (*cls.reads_files, *cls.writes_files):
            value = node.params.get(name)
            if not isinstance(value, str) or not value:
                continue
            target = Path(value).expanduser()
            target = target if target.is_absolute() else old_base / target
            try:
                new = os.path.relpath(target, new_base)
            except ValueError:  # another drive (Windows)
                new = str(target)
            new = Path(new).as_posix()
            if new != value:
                changes[(node.id, name)] = new
    return changes
