"""Benchmark: how long the TableViewer takes to open a 1,000,000-row frame (target < 0.3 s).

    QT_QPA_PLATFORM=offscreen python bench/bench_table_viewer.py [--rows N] [--repeat R]

Times building the viewer, showing it and processing events until the first paint is done; also one
header-click sort and one filter, for information. Prints the times; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TARGET_OPEN = 0.3


def make_frame(rows: int):  # -> pd.DataFrame
    """Numbers, integers, text with missing values and a boolean: the mix a real table has."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    price = rng.normal(250, 80, rows)
    price[rng.random(rows) < 0.05] = np.nan
    city = rng.choice(np.array(["Lisbon", "Porto", "Braga", "Faro", None], dtype=object), rows)
    return pd.DataFrame({"id": np.arange(rows), "price_k": price, "rooms": rng.integers(1, 8, rows),
                         "city": pd.Series(city, dtype="str"), "garden": rng.random(rows) < 0.4,
                         "area_m2": rng.gamma(4, 25, rows)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from designer.gui.viewers.table_viewer import TableViewer

    app = QApplication.instance() or QApplication([])
    frame = make_frame(args.rows)
    opens, viewer = [], None
    for _ in range(args.repeat):
        start = time.perf_counter()
        viewer = TableViewer(frame)
        viewer.resize(1000, 600)
        viewer.show()
        app.processEvents()
        viewer.view.viewport().repaint()
        opens.append(time.perf_counter() - start)
        viewer.close()
        viewer.deleteLater()
        app.processEvents()
    assert viewer is not None
    viewer = TableViewer(frame)
    viewer.show()
    app.processEvents()
    start = time.perf_counter()
    viewer.view.sortByColumn(1, Qt.DescendingOrder)
    app.processEvents()
    sort_s = time.perf_counter() - start
    start = time.perf_counter()
    viewer.filter_edit.setText("porto")
    viewer.apply_filter()
    app.processEvents()
    filter_s = time.perf_counter() - start
    median = statistics.median(opens)
    print(f"TableViewer, {args.rows:,} rows x {frame.shape[1]} columns:")
    print(f"  open (build + show + first paint): median {median:.3f} s over {args.repeat} "
          f"(min {min(opens):.3f}, max {max(opens):.3f}); target < {TARGET_OPEN} s "
          f"{'met' if median < TARGET_OPEN else 'MISSED'}")
    print(f"  sort by price_k (descending):      {sort_s:.3f} s")
    print(f"  filter 'porto':                    {filter_s:.3f} s -> {viewer.count_label.text()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
