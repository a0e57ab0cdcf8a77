"""Link routing around node bodies (Qt-free, so it is tested on its own).

A link leaves its output port to the right and enters its input port from the left. `Router.route` returns
an orthogonal polyline that never passes through a node: the plain three-segment path when that is clear,
else the cheapest path (length plus a penalty per bend) on a sparse grid made of the lines just outside the
nearby nodes, as orthogonal routers in graph editors do. Node rectangles live in a bucket index so a route
looks only at the nodes near it.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Iterable, Sequence

Point = tuple[float, float]

MARGIN = 14.0
"""Distance a route keeps from node bodies (and the length of the stubs out of and into ports)."""
BEND = 40.0
"""Cost of one bend, in pixels of length: fewer bends beat slightly shorter paths."""
CELL = 400.0


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle: a node body."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def grown(self, d: float) -> "Rect":
        return Rect(self.x - d, self.y - d, self.w + 2 * d, self.h + 2 * d)

    def contains(self, p: Point) -> bool:
        """Strictly inside (the border does not count)."""
        return self.x < p[0] < self.right and self.y < p[1] < self.bottom

    def hit_by(self, a: Point, b: Point) -> bool:
        """Whether the axis-aligned segment a-b passes through the inside (touching the border is fine)."""
        if a[1] == b[1]:
            lo, hi = min(a[0], b[0]), max(a[0], b[0])
            return self.y < a[1] < self.bottom and lo < self.right and hi > self.x
        lo, hi = min(a[1], b[1]), max(a[1], b[1])
        return self.x < a[0] < self.right and lo < self.bottom and hi > self.y

    def overlaps(self, other: "Rect") -> bool:
        return self.x < other.right and other.x < self.right and self.y < other.bottom and other.y < self.bottom


def crosses(points: Sequence[Point], rect: Rect) -> bool:
    """Whether an orthogonal polyline passes through `rect` (diagonal pieces are checked by sampling)."""
    for a, b in zip(points, points[1:]):
        if a[0] == b[0] or a[1] == b[1]:
            if rect.hit_by(a, b):
                return True
        else:
            steps = max(2, int(math.hypot(b[0] - a[0], b[1] - a[1]) / 4))
            if any(rect.contains((a[0] + (b[0] - a[0]) * i / steps, a[1] + (b[1] - a[1]) * i / steps))
                   for i in range(steps + 1)):
                return True
    return False


class Router:
    """Node rectangles by key, and routes between ports that avoid all of them."""

    def __init__(self, rects: dict[str, Rect] | None = None, margin: float = MARGIN) -> None:
        self.margin = margin
        self.rects: dict[str, Rect] = {}
        self._cells: dict[tuple[int, int], set[str]] = {}
        for key, rect in (rects or {}).items():
            self.set(key, rect)

    # ------------------------------------------------------------------------------------ index
    @staticmethod
    def _cells_of(rect: Rect) -> Iterable[tuple[int, int]]:
        for i in range(math.floor(rect.x / CELL), math.floor(rect.right / CELL) + 1):
            for j in range(math.floor(rect.y / CELL), math.floor(rect.bottom / CELL) + 1):
                yield i, j

    def set(self, key: str, rect: Rect) -> None:
        self.remove(key)
        self.rects[key] = rect
        for c in self._cells_of(rect):
            self._cells.setdefault(c, set()).add(key)

    def remove(self, key: str) -> None:
        old = self.rects.pop(key, None)
        if old is not None:
            for c in self._cells_of(old):
                self._cells.get(c, set()).discard(key)

    def near(self, area: Rect) -> list[Rect]:
        """The rectangles that overlap `area`."""
        keys: set[str] = set()
        for c in self._cells_of(area):
            keys |= self._cells.get(c, set())
        return [r for k in sorted(keys) if (r := self.rects[k]).overlaps(area)]

    # ------------------------------------------------------------------------------------ routing
    def route(self, start: Point, end: Point) -> list[Point]:
        """An orthogonal path from an output port at `start` to an input port at `end` around every node."""
        m = self.margin
        s1, e1 = (start[0] + m, start[1]), (end[0] - m, end[1])
        box = _box(s1, e1).grown(m)
        obstacles = self.near(box)
        for candidate in _simple_paths(start, end, s1, e1):
            if not any(crosses(candidate, r) for r in obstacles):
                return candidate
        area = _box(s1, e1).grown(3 * m)
        obstacles = self.near(area)
        for _ in range(8):  # a detour may meet nodes outside the first area: add them and route again
            path = _grid_route(s1, e1, obstacles, m)
            if path is None:
                break
            path = _simplify([start, *path, end])
            xs, ys = [p[0] for p in path], [p[1] for p in path]
            around = self.near(Rect(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)).grown(m))
            missed = [r for r in around if r not in obstacles and crosses(path, r.grown(m - 1))]
            if not missed:
                return path
            obstacles += missed
        return _simplify([start, s1, (s1[0], e1[1]), e1, end])  # boxed in: the plain path


def _box(a: Point, b: Point) -> Rect:
    x, y = min(a[0], b[0]), min(a[1], b[1])
    return Rect(x, y, abs(a[0] - b[0]), abs(a[1] - b[1]))


def _simple_paths(start: Point, end: Point, s1: Point, e1: Point) -> list[list[Point]]:
    """The plain routes: straight, or one vertical run half-way (forward links only)."""
    if s1[0] > e1[0]:
        return []
    if start[1] == end[1]:
        return [[start, end]]
    mid = (s1[0] + e1[0]) / 2
    return [_simplify([start, (x, start[1]), (x, end[1]), end]) for x in (mid, s1[0], e1[0])]


def _grid_route(s: Point, e: Point, obstacles: list[Rect], m: float) -> list[Point] | None:
    """Cheapest orthogonal path from s to e on the lines just outside the obstacles (Dijkstra with bends)."""
    blocked = [r.grown(m - 1) for r in obstacles]
    xs = sorted({s[0], e[0], *(v for r in obstacles for v in (r.x - m, r.right + m))})
    ys = sorted({s[1], e[1], *(v for r in obstacles for v in (r.y - m, r.bottom + m))})
    start, goal = (xs.index(s[0]), ys.index(s[1])), (xs.index(e[0]), ys.index(e[1]))
    clear: dict[tuple[tuple[int, int], tuple[int, int]], bool] = {}

    def ok(a: tuple[int, int], b: tuple[int, int]) -> bool:
        """The step a-b (neighbouring grid points) stays outside every obstacle, ends included."""
        key = (a, b) if a <= b else (b, a)
        if key not in clear:
            pa, pb = (xs[a[0]], ys[a[1]]), (xs[b[0]], ys[b[1]])
            clear[key] = not any(r.hit_by(pa, pb) or r.contains(pb) for r in blocked)
        return clear[key]

    # state: (cell, direction 0..3); the path leaves s heading right (it came out of the port that way)
    dirs = ((1, 0), (-1, 0), (0, 1), (0, -1))
    best: dict[tuple[tuple[int, int], int], float] = {(start, 0): 0.0}
    back: dict[tuple[tuple[int, int], int], tuple[tuple[int, int], int]] = {}
    heap: list[tuple[float, tuple[int, int], int]] = [(0.0, start, 0)]
    while heap:
        cost, cell, d = heapq.heappop(heap)
        if cost > best.get((cell, d), math.inf):
            continue
        if cell == goal:
            if d == 1:  # would enter the port against its direction
                continue
            points = [(xs[cell[0]], ys[cell[1]])]
            state = (cell, d)
            while state in back:
                state = back[state]
                points.append((xs[state[0][0]], ys[state[0][1]]))
            return points[::-1]
        for nd, (dx, dy) in enumerate(dirs):
            if (d, nd) in ((0, 1), (1, 0), (2, 3), (3, 2)):
                continue  # no U-turns on the spot
            nxt = (cell[0] + dx, cell[1] + dy)
            if not (0 <= nxt[0] < len(xs) and 0 <= nxt[1] < len(ys)) or not ok(cell, nxt):
                continue
            step = abs(xs[nxt[0]] - xs[cell[0]]) + abs(ys[nxt[1]] - ys[cell[1]])
            new = cost + step + (BEND if nd != d else 0.0)
            if new < best.get((nxt, nd), math.inf):
                best[(nxt, nd)] = new
                back[(nxt, nd)] = (cell, d)
                heapq.heappush(heap, (new, nxt, nd))
    return None


def _simplify(points: list[Point]) -> list[Point]:
    """Drop repeated points and the middle of three collinear ones."""
    out: list[Point] = []
    for p in points:
        if out and p == out[-1]:
            continue
        if len(out) >= 2 and ((out[-2][0] == out[-1][0] == p[0]) or (out[-2][1] == out[-1][1] == p[1])):
            out[-1] = p
        else:
            out.append(p)
    return out
