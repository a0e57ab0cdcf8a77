"""Automatic left-to-right layout of a pipeline graph (layers by longest path from the sources)."""

from __future__ import annotations

import networkx as nx

from designer.core.pipeline import Pipeline
from designer.core.validate import build_graph

Position = tuple[float, float]


def layered_layout(pipeline: Pipeline, spacing: Position = (250.0, 130.0)) -> dict[str, Position] | None:
    """Positions with each node one column right of its furthest input; None when the graph has a cycle."""
    g = build_graph(pipeline)
    if g.number_of_nodes() == 0 or not nx.is_directed_acyclic_graph(g):
        return None
    order = list(nx.topological_sort(g))
    layer: dict[str, int] = {}
    for n in order:
        layer[n] = max((layer[p] + 1 for p in g.predecessors(n)), default=0)
    for n in reversed(order):  # pull sources next to their first consumer
        succ = [layer[s] for s in g.successors(n)]
        if not list(g.predecessors(n)) and succ:
            layer[n] = min(succ) - 1
    columns: dict[int, list[str]] = {}
    for n in order:
        columns.setdefault(layer[n], []).append(n)
    out: dict[str, Position] = {}
    for col in sorted(columns):
        nodes = columns[col]
        placed = {n: [out[p][1] for p in g.predecessors(n) if p in out] for n in nodes}
        nodes.sort(key=lambda n: sum(placed[n]) / max(1, len(placed[n])))
        top = -(len(nodes) - 1) * spacing[1] / 2
        for i, n in enumerate(nodes):
            out[n] = (col * spacing[0], top + i * spacing[1])
    return out
