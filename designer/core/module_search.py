"""Finding modules to add: rank by how well a query matches (exact, prefix, words, then fuzzy), and whether a
module can take what an output port gives (by type, and by what its schema step accepts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from designer.core.errors import BadInput
from designer.core.node import NodeType, SchemaContext


def match_rank(query: str, title: str, keywords: str = "") -> tuple[int, int] | None:
    """A sort key (lower is better) for `title` against `query`, or None when it does not match at all.

    Tiers: exact title, title prefix, every word a prefix of a title word in order, every word inside the
    title, every word inside the keywords (type id, category), then the letters in order (fuzzy)."""
    q, t = " ".join(query.lower().split()), title.lower()
    if not q:
        return (0, 0)
    words, title_words = q.split(), t.split()
    if t == q:
        return (0, len(t))
    if t.startswith(q):
        return (1, len(t))
    if _prefixes_in_order(words, title_words):
        return (2, len(t))
    if all(w in t for w in words):
        return (3, len(t))
    if all(w in f"{t} {keywords.lower()}" for w in words):
        return (4, len(t))
    if _subsequence(q.replace(" ", ""), t):
        return (5, len(t))
    return None


def _prefixes_in_order(words: Sequence[str], title_words: Sequence[str]) -> bool:
    i = 0
    for w in words:
        while i < len(title_words) and not title_words[i].startswith(w):
            i += 1
        if i == len(title_words):
            return False
        i += 1
    return True


def _subsequence(needle: str, hay: str) -> bool:
    it = iter(hay)
    return all(c in it for c in needle)


def accepts(cls: type[NodeType], port_type: str, spec: Any = None) -> str | None:
    """The name of the first input of `cls` that takes a `port_type` output whose schema is `spec` (None: the
    schema is unknown, the type decides), or None when no input does (a clustering trainer refuses a
    classification learner)."""
    for port in cls.inputs:
        if port.type.value != port_type:
            continue
        if spec is None or _schema_accepts(cls, port.name, spec):
            return port.name
    return None


def _schema_accepts(cls: type[NodeType], port: str, spec: Any) -> bool:
    try:
        params = cls.Params.model_construct()
        cls().schema(params, {port: spec}, SchemaContext(node_id="new", base_dir=Path(".")))
    except BadInput as e:
        return e.location.port != port
    except Exception:  # noqa: BLE001  (other inputs or parameters missing: not this port's fault)
        return True
    return True
