"""Saving what a viewer shows: plots as PNG/SVG, tables as CSV. The save functions take a path (testable);
the `ask_*` helpers add the file dialog and report failures in a message box."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QAbstractItemModel, QPoint, Qt
from PySide6.QtWidgets import QAbstractItemView, QFileDialog, QMenu, QMessageBox, QWidget

from designer.core.errors import BadInput

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

IMAGE_FILTERS = {"PNG image (*.png)": ".png", "SVG image (*.svg)": ".svg"}
CSV_FILTERS = {"CSV file (*.csv)": ".csv"}


def safe_name(text: str) -> str:
    """A file name made from a title."""
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in text.strip())
    return keep.strip("_") or "export"


def save_table_csv(frame: "pd.DataFrame", path: str | Path) -> Path:
    """Write `frame` as CSV (no index), atomically."""
    from designer.core.pipeline import atomic_write_text

    p = Path(path)
    atomic_write_text(p, frame.to_csv(index=False))
    return p


def save_figure(fig: "Figure", path: str | Path) -> Path:
    """Write a plot as PNG or SVG (by suffix), at twice screen resolution for PNG."""
    from designer.core.plots import save_figure as save

    return save(fig, path, dpi=200 if Path(path).suffix.lower() == ".png" else None)


def model_frame(model: QAbstractItemModel) -> "pd.DataFrame":
    """The display text of a small table model (headers included), for CSV export."""
    import pandas as pd

    cols = [str(model.headerData(c, Qt.Horizontal, Qt.DisplayRole) or f"column_{c + 1}").replace("\n", " ")
            for c in range(model.columnCount())]
    rows = [[model.index(r, c).data(Qt.DisplayRole) for c in range(model.columnCount())]
            for r in range(model.rowCount())]
    return pd.DataFrame(rows, columns=cols)


def _ask_path(parent: QWidget | None, title: str, name: str, filters: dict[str, str]) -> Path | None:
    path, chosen = QFileDialog.getSaveFileName(parent, title, name, ";;".join(filters))
    if not path:
        return None
    p = Path(path)
    if p.suffix.lower() not in filters.values():
        p = p.with_name(p.name + filters.get(chosen, next(iter(filters.values()))))
    return p


def _report(parent: QWidget | None, action: Callable[[], Path]) -> Path | None:
    try:
        return action()
    except (BadInput, OSError) as e:
        QMessageBox.warning(parent, "Could not save", str(e))
        return None


def ask_save_figure(parent: QWidget | None, fig: "Figure", name: str) -> Path | None:
    path = _ask_path(parent, "Save plot", safe_name(name) + ".png", IMAGE_FILTERS)
    return _report(parent, lambda: save_figure(fig, path)) if path else None


def ask_save_table(parent: QWidget | None, frame: Callable[[], "pd.DataFrame"], name: str) -> Path | None:
    path = _ask_path(parent, "Export table as CSV", safe_name(name) + ".csv", CSV_FILTERS)
    return _report(parent, lambda: save_table_csv(frame(), path)) if path else None


def add_csv_export(view: QAbstractItemView, frame: Callable[[], "pd.DataFrame"], name: str) -> None:
    """A right-click "Export as CSV…" on a table or tree view."""
    view.setContextMenuPolicy(Qt.CustomContextMenu)

    def menu(pos: QPoint) -> None:
        m = QMenu(view)
        m.addAction("Export as CSV…", lambda: ask_save_table(view, frame, name))
        m.exec(view.viewport().mapToGlobal(pos))

    view.customContextMenuRequested.connect(menu)
