"""Link routing: no route passes through a node body, on random layouts and arranged random DAGs."""

from __future__ import annotations

import random

from designer.core.routing import Rect, Router, crosses


def random_rects(rng: random.Random, n: int) -> dict[str, Rect]:
    rects: dict[str, Rect] = {}
    while len(rects) < n:
        r = Rect(rng.uniform(0, 2000), rng.uniform(0, 1200), rng.uniform(120, 260), rng.uniform(60, 130))
        if not any(r.grown(30).overlaps(o) for o in rects.values()):
            rects[f"n{len(rects)}"] = r
    return rects


def check(router: Router, src: Rect, dst: Rect, sy: float, ey: float) -> list[tuple[float, float]]:
    path = router.route((src.right, sy), (dst.x, ey))
    assert path[0] == (src.right, sy) and path[-1] == (dst.x, ey)
    for a, b in zip(path, path[1:]):
        assert a[0] == b[0] or a[1] == b[1], path  # orthogonal
    for key, rect in router.rects.items():
        assert not crosses(path, rect), (key, rect, path)
    return path


def test_routes_avoid_every_node_on_random_layouts():
    rng = random.Random(3)
    for _ in range(20):
        rects = random_rects(rng, 14)
        router = Router(rects)
        keys = list(rects)
        for _ in range(15):
            a, b = rng.sample(keys, 2)
            src, dst = rects[a], rects[b]
            check(router, src, dst, src.y + rng.uniform(40, src.h - 5), dst.y + rng.uniform(40, dst.h - 5))


def test_a_clear_forward_link_is_the_plain_three_segment_path():
    router = Router({"a": Rect(0, 0, 100, 80), "b": Rect(300, 100, 100, 80)})
    assert router.route((100, 50), (300, 150)) == [(100, 50), (200, 50), (200, 150), (300, 150)]
    assert router.route((100, 50), (300, 50)) == [(100, 50), (300, 50)]


def test_a_link_past_a_row_of_nodes_goes_around_them():
    """The Split 'test' link of the housing sample: a straight line would run through the cleaning nodes."""
    rects = {"split": Rect(0, 0, 150, 80), "fill": Rect(250, 10, 150, 80), "encode": Rect(500, 10, 150, 80),
             "score": Rect(800, 0, 150, 100)}
    router = Router(rects)
    path = check(router, rects["split"], rects["score"], 60, 70)
    assert len(path) > 2


def test_backward_links_loop_around_both_ends():
    rects = {"a": Rect(500, 0, 150, 80), "b": Rect(0, 0, 150, 80), "c": Rect(250, -20, 150, 140)}
    check(Router(rects), rects["a"], rects["b"], 50, 50)


def test_index_follows_moves_and_removals():
    router = Router({"a": Rect(0, 0, 100, 80)})
    router.set("a", Rect(1000, 1000, 100, 80))
    assert router.near(Rect(0, 0, 50, 50)) == []
    assert router.near(Rect(950, 950, 100, 100)) == [Rect(1000, 1000, 100, 80)]
    router.remove("a")
    assert router.near(Rect(950, 950, 100, 100)) == []
