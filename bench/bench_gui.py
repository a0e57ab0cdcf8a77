"""Open and render a generated 500-node / 600-link pipeline in the designer (offscreen); target < 1 s.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_gui.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from designer.core.pipeline import Layout, Link, Node, Pipeline, save_pipeline  # noqa: E402


def generate(groups: int = 50) -> Pipeline:
    """Per group: a sample, a learner, 3 normalizers, a train, 2 scores and 2 evaluates (10 nodes, 12 links)."""
    nodes: list[Node] = []
    links: list[Link] = []
    pos: dict[str, tuple[float, float]] = {}
    layout = {"data": (0, 0), "norm0": (1, 0), "norm1": (2, 0), "norm2": (2, 1), "learner": (2, -1),
              "train": (3, 0), "score0": (4, 0), "score1": (4, 1), "eval0": (5, 0), "eval1": (5, 1)}
    types = {"data": "data.sample", "learner": "learn.linear_regression", "train": "learn.train",
             "norm": "clean.normalize", "score": "score.model", "eval": "evaluate.model"}
    params = {"data": {"dataset": "diabetes"}, "train": {"label": "progression"}}
    for g in range(groups):
        x0, y0 = (g // 25) * 1700.0, (g % 25) * 420.0
        ids = {name: f"g{g}_{name}" for name in layout}
        for name, (col, row) in layout.items():
            kind = name.rstrip("0123456789")
            nodes.append(Node(id=ids[name], type=types[kind], title=name, params=params.get(kind, {})))
            pos[ids[name]] = (x0 + col * 260.0, y0 + row * 130.0)
        for src, sp, dst, dp in [("data", "data", "norm0", "data"), ("norm0", "data", "norm1", "data"),
                                 ("norm0", "data", "norm2", "data"), ("learner", "learner", "train", "learner"),
                                 ("norm1", "data", "train", "data"), ("train", "model", "score0", "model"),
                                 ("norm1", "data", "score0", "data"), ("train", "model", "score1", "model"),
                                 ("norm1", "data", "score1", "data"), ("score0", "scored", "eval0", "scored"),
                                 ("score1", "scored", "eval1", "scored"), ("score1", "scored", "eval0", "scored2")]:
            links.append(Link.make(ids[src], sp, ids[dst], dp))
    return Pipeline(name="Bench 500", nodes=nodes, links=links, layout=Layout(positions=pos))


def main() -> int:
    pipeline = generate()
    path = Path(tempfile.mkdtemp(prefix="pd-bench-")) / "bench500.pipeline.json"
    save_pipeline(pipeline, path)
    print(f"pipeline: {len(pipeline.nodes)} nodes, {len(pipeline.links)} links")

    from PySide6.QtCore import QPointF, QSettings
    from PySide6.QtWidgets import QApplication

    from designer.core.registry import default_registry
    from designer.gui.app import application
    from designer.gui.canvas.link_item import LinkItem
    from designer.gui.main_window import MainWindow
    from designer.gui.theme import apply_theme

    app = application()
    apply_theme(app, "light")
    default_registry().types()  # module library import: not part of the editor's cost
    window = MainWindow(QSettings(str(path.with_suffix(".ini")), QSettings.IniFormat))
    window.resize(1440, 900)
    window.show()
    QApplication.processEvents()

    start = time.perf_counter()
    assert window.open_file(path, confirm=False)
    window.view.fit()
    image = window.grab()  # renders the whole window, canvas included
    QApplication.processEvents()
    elapsed = time.perf_counter() - start
    print(f"open + render 500 nodes: {elapsed:.3f} s ({'OK' if elapsed < 1 else 'SLOW'}, target < 1 s); "
          f"image {image.width()}x{image.height()}")

    start = time.perf_counter()
    window.view.set_zoom(1.0)
    window.view.centerOn(window.scene.nodes["g0_train"])
    window.grab()
    print(f"zoom to 100 % + render: {time.perf_counter() - start:.3f} s")

    start = time.perf_counter()
    issues = window.validate_now().issues
    print(f"validation (core validate; runs off the GUI thread after edits): {time.perf_counter() - start:.3f} s, "
          f"{len(issues)} issues")

    item = window.scene.nodes["g7_train"]
    LinkItem.path_updates = 0
    item.setPos(item.pos() + QPointF(30, 10))
    own = sum(1 for l in pipeline.links if "g7_train" in (l.source_node, l.target_node))
    print(f"moving one node updated {LinkItem.path_updates} link paths (its own links: {own})")
    window.stack.setClean()
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
