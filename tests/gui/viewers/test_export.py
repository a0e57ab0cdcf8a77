"""Saving plots and tables: file names, suffixes from the chosen filter, cancel, and failures reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from designer.gui.viewers import export
from designer.gui.viewers.figure_canvas import FigureView
from designer.gui.viewers.widgets import make_table


def answer(monkeypatch: Any, path: str, chosen: str = "") -> None:
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (path, chosen)))


def figure() -> Figure:
    fig = Figure(figsize=(3, 2))
    fig.add_subplot().plot([0, 1], [1, 0])
    return fig


def test_safe_name() -> None:
    assert export.safe_name("Predicted vs actual (scored)") == "Predicted_vs_actual__scored"
    assert export.safe_name("  ") == "export"


def test_ask_save_figure_adds_the_suffix_of_the_chosen_format(qtbot: Any, tmp_path: Path,
                                                              monkeypatch: Any) -> None:
    view = FigureView(figure(), "plot")
    qtbot.addWidget(view)
    answer(monkeypatch, str(tmp_path / "out"), "SVG image (*.svg)")
    assert view.ask_save() == tmp_path / "out.svg" and (tmp_path / "out.svg").read_text().count("<svg") == 1
    answer(monkeypatch, str(tmp_path / "pic.png"), "SVG image (*.svg)")  # a typed suffix wins
    assert view.ask_save() == tmp_path / "pic.png"
    answer(monkeypatch, "")  # cancelled
    assert view.ask_save() is None


def test_failures_are_reported_not_raised(qtbot: Any, tmp_path: Path, monkeypatch: Any) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda parent, title, text: warnings.append(text)))
    blocker = tmp_path / "file"
    blocker.write_text("")
    answer(monkeypatch, str(blocker / "inside.csv"))  # a folder that is a file
    assert export.ask_save_table(None, lambda: pd.DataFrame({"a": [1]}), "t") is None
    assert warnings


def test_small_tables_export_their_text(qtbot: Any, tmp_path: Path) -> None:
    table = make_table(["Metric", "value"], [["mae", 1.23456789], ["rows", 1200]], "metrics", fit=True)
    qtbot.addWidget(table)
    assert table.contextMenuPolicy() == Qt.CustomContextMenu
    frame = export.model_frame(table.model())
    assert frame.to_dict("list") == {"Metric": ["mae", "rows"], "value": ["1.23457", "1,200"]}
    back = pd.read_csv(export.save_table_csv(frame, tmp_path / "m.csv"))
    assert back["Metric"].tolist() == ["mae", "rows"]
