"""Automatic left-to-right layout of a pipeline graph: layers by longest path from the sources, order within a
layer by barycentre sweeps (fewer crossings), each node level with the nodes it links to where there is room.
Links are then routed around node bodies (designer.core.routing), so none passes through a node."""

from __future__ import annotations

import networkx as nx

from designer.core.pipeline import Pipeline
from designer.core.validate import build_graph

Position = tuple[float, float]
Size = tuple[float, float]

DEFAULT_SIZE: Size = (184.0, 94.0)
GAP: Position = (80.0, 36.0)
"""Space between layers (x) and between nodes of one layer (y)."""
SWEEPS = 4


def layered_layout(pipeline: Pipeline, sizes: dict[str, Size] | None = None,
                   gap: Position = GAP) -> dict[str, Position] | None:
    """Top-left positions of every node; None when the graph has a cycle. `sizes`: each node's (w, h)."""
    g = build_graph(pipeline)
    if g.number_of_nodes() == 0 or not nx.is_directed_acyclic_graph(g):
        return None
    size = {n: (sizes or {}).get(n, DEFAULT_SIZE) for n in g.nodes}
    layers = _layers(g)
    _order(g, layers)
    xs, x = [], 0.0
    for nodes in layers:
        xs.append(x)
        x += max(size[n][0] for n in nodes) + gap[0]
    centre: dict[str, float] = {}
    sources = {n for n in g.nodes if g.in_degree(n) == 0 and g.out_degree(n) > 0}
    for nodes in layers:  # the data flow first: each node level with what feeds it
        _place_flow(g, [n for n in nodes if n not in sources], size, centre, gap[1])
    for nodes in reversed(layers):  # then sources (learners, second data sets) in free room beside their consumer
        for n in nodes:
            if n in sources:
                _place_source(g, n, [m for m in nodes if m in centre], size, centre, gap[1])
    return {n: (xs[i], round(centre[n] - size[n][1] / 2)) for i, nodes in enumerate(layers) for n in nodes}


def _layers(g: nx.DiGraph) -> list[list[str]]:
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
    return [columns[i] for i in sorted(columns)]


def _order(g: nx.DiGraph, layers: list[list[str]]) -> None:
    """Barycentre sweeps, down then up: each node sorts by the mean rank of its neighbours in the layer before."""
    rank = {n: i for nodes in layers for i, n in enumerate(nodes)}
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        seq = layers[1:] if down else layers[-2::-1]
        for nodes in seq:
            def key(n: str) -> float:
                near = list(g.predecessors(n) if down else g.successors(n))
                return sum(rank[m] for m in near) / len(near) if near else rank[n]
            nodes.sort(key=key)
            rank.update({n: i for i, n in enumerate(nodes)})


def _place_flow(g: nx.DiGraph, nodes: list[str], size: dict[str, Size], centre: dict[str, float],
                gap: float) -> None:
    """Vertical centres for the non-source nodes of one layer: each wants the mean centre of the placed nodes
    that feed it; kept in layer order without overlaps, the column as close to those wishes as it can be."""
    if not nodes:
        return
    wants: list[float | None] = []
    for n in nodes:
        near = [centre[m] for m in g.predecessors(n) if m in centre]
        wants.append(sum(near) / len(near) if near else None)
    known = [w for w in wants if w is not None]
    fill = sum(known) / len(known) if known else 0.0
    w = [fill if v is None else v for v in wants]
    tops = [v - size[n][1] / 2 for n, v in zip(nodes, w)]
    for i in range(1, len(nodes)):  # push down what overlaps the node above
        tops[i] = max(tops[i], tops[i - 1] + size[nodes[i - 1]][1] + gap)
    shift = (sum(w) - sum(t + size[n][1] / 2 for n, t in zip(nodes, tops))) / len(nodes)
    for n, t in zip(nodes, tops):
        centre[n] = t + shift + size[n][1] / 2


def _place_source(g: nx.DiGraph, node: str, placed: list[str], size: dict[str, Size], centre: dict[str, float],
                  gap: float) -> None:
    """Put a source at the free height in its layer nearest the mean centre of the nodes it feeds."""
    near = [centre[m] for m in g.successors(node) if m in centre]
    want = sum(near) / len(near) if near else 0.0
    h = size[node][1]
    taken = sorted((centre[m] - size[m][1] / 2 - gap, centre[m] + size[m][1] / 2 + gap) for m in placed)
    candidates = [want - h / 2] + [lo - h for lo, _ in taken] + [hi for _, hi in taken]
    free = [t for t in candidates if all(t + h <= lo or t >= hi for lo, hi in taken)]
    top = min(free, key=lambda t: (abs(t + h / 2 - want), t))
    centre[node] = top + h / 2


def free_position(want: Position, size: Size, taken: list[tuple[float, float, float, float]],
                  gap: float = 24.0) -> Position:
    """The top-left nearest `want` (tried below, above, then further right) where a node of `size` overlaps
    none of the `taken` rectangles (x, y, w, h), keeping `gap` between them."""
    w, h = size

    def free(x: float, y: float) -> bool:
        return all(x + w + gap <= tx or tx + tw + gap <= x or y + h + gap <= ty or ty + th + gap <= y
                   for tx, ty, tw, th in taken)

    step = h + gap
    for col in range(0, 12):
        x = want[0] + col * (w + 2 * gap) if col else want[0]
        for k in range(0, 40):
            for y in ((want[1] + k * step / 2, want[1] - k * step / 2) if k else (want[1],)):
                if free(x, y):
                    return (x, y)
    return (want[0], max((ty + th for _, ty, _, th in taken), default=want[1]) + gap)
