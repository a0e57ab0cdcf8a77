"""TableViewer: a lazy model (only asked-for cells are formatted), sort, filter, count, missing marks, CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt

from designer.core.values import Table
from designer.gui.viewers import table_viewer
from designer.gui.viewers.export import save_table_csv
from designer.gui.viewers.table_viewer import MISSING, TableViewer


def shown(viewer: TableViewer, column: int) -> list[str]:
    m = viewer.model
    return [m.index(r, column).data() for r in range(m.rowCount())]


def test_rows_and_cells_match_the_frame(qtbot: Any, housing: pd.DataFrame) -> None:
    v = TableViewer(Table(frame=housing), "housing")
    qtbot.addWidget(v)
    m = v.model
    assert (m.rowCount(), m.columnCount()) == housing.shape
    assert m.headerData(0, Qt.Horizontal) == "area_m2\nnumeric"
    assert m.headerData(4, Qt.Horizontal) == "city\ncategorical"
    assert m.index(1, 0).data() == "29.4" and m.index(2, 4).data() == "Braga"
    assert v.count_label.text() == "600 rows"
    missing = m.index(0, 0)  # area_m2 is empty in the first row
    assert missing.data() == MISSING and missing.data(Qt.FontRole).italic()
    assert missing.data(Qt.BackgroundRole) is not None and m.index(1, 0).data(Qt.FontRole) is None
    assert m.index(0, 0).data(Qt.TextAlignmentRole) & Qt.AlignRight


def test_only_visible_cells_are_formatted(qtbot: Any, big_frame: pd.DataFrame, monkeypatch: Any) -> None:
    calls = []
    original = table_viewer.format_cell
    monkeypatch.setattr(table_viewer, "format_cell", lambda v: calls.append(v) or original(v))
    v = TableViewer(big_frame)
    qtbot.addWidget(v)
    v.resize(600, 400)
    v.show()
    qtbot.waitExposed(v)
    assert v.model.rowCount() == 100_000 and v.count_label.text() == "100,000 rows"
    assert 0 < len(calls) < 2_000  # the first screen and the column-width sample, never all 200,000 cells


def test_sort_by_header_keeps_missing_last(qtbot: Any, housing: pd.DataFrame) -> None:
    v = TableViewer(housing)
    qtbot.addWidget(v)
    v.view.sortByColumn(0, Qt.DescendingOrder)
    values = housing["area_m2"]
    first = [float(x) for x in shown(v, 0)[:3]]
    assert first == sorted(values.dropna(), reverse=True)[:3]
    assert shown(v, 0)[-1] == MISSING and shown(v, 0).count(MISSING) == values.isna().sum()
    assert v.model.headerData(0, Qt.Vertical) == f"{int(values.idxmax()) + 1:,}"  # the original row number
    v.view.sortByColumn(4, Qt.AscendingOrder)
    cities = [c for c in shown(v, 4) if c != MISSING]
    assert cities == sorted(cities)
    v.model.sort(-1)
    assert shown(v, 1)[:5] == [str(int(x)) if x == x else MISSING for x in housing["rooms"][:5]]


def test_filter_rows_and_count(qtbot: Any, housing: pd.DataFrame) -> None:
    v = TableViewer(housing)
    qtbot.addWidget(v)
    v.filter_edit.setText("FARO")
    qtbot.waitUntil(lambda: v.model.rowCount() < 600, timeout=3000)  # after the typing pause
    n = int((housing["city"] == "Faro").sum())
    assert v.model.rowCount() == n and v.count_label.text() == f"{n} of 600 rows"
    assert set(shown(v, 4)) == {"Faro"}
    v.view.sortByColumn(7, Qt.AscendingOrder)  # sort and filter combine
    prices = [float(p) for p in shown(v, 7)]
    assert prices == sorted(housing.loc[housing["city"] == "Faro", "price_k"])
    v.filter_edit.setText("422.1")  # numbers match their text too
    v.apply_filter()
    assert shown(v, 7) == ["422.1"]
    v.filter_edit.clear()
    v.apply_filter()
    assert v.model.rowCount() == 600 and v.count_label.text() == "600 rows"


def test_refresh_keeps_filter_and_sort(qtbot: Any, housing: pd.DataFrame) -> None:
    v = TableViewer(housing)
    qtbot.addWidget(v)
    v.filter_edit.setText("porto")
    v.apply_filter()
    v.view.sortByColumn(7, Qt.DescendingOrder)
    v.refresh(housing.iloc[:100])
    subset = housing.iloc[:100]
    expected = subset.loc[subset["city"] == "Porto", "price_k"].sort_values(ascending=False)
    assert [float(x) for x in shown(v, 7)] == expected.tolist()
    assert v.count_label.text() == f"{len(expected)} of 100 rows"


def test_mixed_types_sort_and_filter(qtbot: Any) -> None:
    frame = pd.DataFrame({"m": pd.Series(["b", 2, None, "a"], dtype=object), "n": [1.0, np.nan, 3.0, 4.0]})
    v = TableViewer(frame)
    qtbot.addWidget(v)
    v.view.sortByColumn(0, Qt.AscendingOrder)
    assert shown(v, 0) == ["2", "a", "b", MISSING]
    v.filter_edit.setText("3")
    v.apply_filter()
    assert shown(v, 1) == ["3"]


def test_export_shown_rows_as_csv(qtbot: Any, housing: pd.DataFrame, tmp_path: Path, monkeypatch: Any) -> None:
    v = TableViewer(housing, "housing")
    qtbot.addWidget(v)
    v.filter_edit.setText("braga")
    v.apply_filter()
    back = pd.read_csv(save_table_csv(v.model.visible_frame(), tmp_path / "rows.csv"))
    pd.testing.assert_frame_equal(back, housing[housing["city"] == "Braga"].reset_index(drop=True))
    from PySide6.QtWidgets import QFileDialog  # the button: dialog answered, suffix added

    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(tmp_path / "via_button"), "CSV file (*.csv)")))
    v.export_button.click()
    assert len(pd.read_csv(tmp_path / "via_button.csv")) == len(back)


@pytest.mark.parametrize("value", [pd.DataFrame({"a": []}), pd.DataFrame()])
def test_empty_frames(qtbot: Any, value: pd.DataFrame) -> None:
    v = TableViewer(value)
    qtbot.addWidget(v)
    assert v.model.rowCount() == 0 and v.count_label.text() == "0 rows"


def test_clicking_a_header_sorts(qtbot: Any, housing: pd.DataFrame) -> None:
    from PySide6.QtCore import QPoint
    from PySide6.QtTest import QTest

    v = TableViewer(housing)
    qtbot.addWidget(v)
    v.resize(1000, 500)
    v.show()
    qtbot.waitExposed(v)
    header = v.view.horizontalHeader()
    spot = QPoint(header.sectionViewportPosition(7) + header.sectionSize(7) // 2, header.height() // 2)
    QTest.mouseClick(header.viewport(), Qt.LeftButton, Qt.NoModifier, spot)
    prices = [float(x) for x in shown(v, 7)]
    assert prices in (sorted(prices), sorted(prices, reverse=True)) and prices != housing["price_k"].tolist()
