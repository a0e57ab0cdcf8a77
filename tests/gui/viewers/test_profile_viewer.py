"""ProfileViewer: one row per column with pandas' statistics, sparklines, and the selected column's chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from PySide6.QtCore import Qt

from designer.core.profile import format_stat
from designer.gui.viewers.profile_viewer import COLUMNS, DISTRIBUTION_ROLE, ProfileViewer


def col(name: str) -> int:
    return [label for _, label in COLUMNS].index(name)


def test_statistics_shown_equal_pandas(qtbot: Any, housing: pd.DataFrame) -> None:
    v = ProfileViewer(housing, "housing")
    qtbot.addWidget(v)
    m = v.model
    assert m.rowCount() == housing.shape[1]
    assert v.summary.text() == f"600 rows × 8 columns, {int(housing.isna().sum().sum())} missing cells"
    describe = housing.describe()
    for row, name in enumerate(housing.columns):
        assert m.index(row, col("Column")).data() == name
        assert m.index(row, col("Missing")).data() == format_stat(int(housing[name].isna().sum()))
        assert m.index(row, col("Unique")).data() == format_stat(housing[name].nunique())
        if name in describe.columns:
            for label, key in (("Mean", "mean"), ("Std", "std"), ("Min", "min"), ("25%", "25%"),
                               ("50%", "50%"), ("75%", "75%"), ("Max", "max"), ("Count", "count")):
                assert m.index(row, col(label)).data() == format_stat(describe.loc[key, name]), (name, label)
    top = housing["city"].value_counts()
    assert m.index(4, col("Most frequent")).data() == f"{top.index[0]} ({top.iloc[0]})"
    assert m.index(0, col("Missing")).data(Qt.ForegroundRole) is not None  # missing values stand out


def test_sparklines_from_precomputed_counts(qtbot: Any, housing: pd.DataFrame) -> None:
    v = ProfileViewer(housing)
    qtbot.addWidget(v)
    counts, numeric, other = v.model.index(0, col("Distribution")).data(DISTRIBUTION_ROLE)
    assert numeric and sum(counts) == housing["area_m2"].count() and not other
    counts, numeric, _ = v.model.index(4, col("Distribution")).data(DISTRIBUTION_ROLE)
    assert not numeric and list(counts) == housing["city"].value_counts().tolist()
    v.resize(1000, 700)
    v.show()
    qtbot.waitExposed(v)
    image = v.view.viewport().grab().toImage()  # the delegate painted bars in the distribution column
    x = v.view.columnViewportPosition(col("Distribution")) + 60
    y = v.view.rowViewportPosition(2) + v.view.rowHeight(2) - 5
    assert image.pixelColor(x, y).name() not in ("#ffffff", "#f3f5f8")


def test_selecting_a_column_draws_its_chart(qtbot: Any, housing: pd.DataFrame) -> None:
    v = ProfileViewer(housing, "housing")
    qtbot.addWidget(v)
    bars = v.chart.figure.axes[0].patches
    assert sum(b.get_height() for b in bars) == housing["area_m2"].count()  # first column shown at start
    v.view.selectRow(4)
    ax = v.chart.figure.axes[0]
    assert "city" in ax.get_title()
    assert [b.get_width() for b in ax.patches] == housing["city"].value_counts().tolist()


def test_refresh_keeps_the_selected_column(qtbot: Any, housing: pd.DataFrame) -> None:
    v = ProfileViewer(housing)
    qtbot.addWidget(v)
    v.view.selectRow(5)
    v.refresh(housing[["price_k", "condition"]].iloc[:50])
    assert v.model.rowCount() == 2 and v.view.currentIndex().row() == 1
    assert "condition" in v.chart.figure.axes[0].get_title() and v.summary.text().startswith("50 rows")


def test_export_statistics_and_chart(qtbot: Any, housing: pd.DataFrame, tmp_path: Path) -> None:
    from designer.gui.viewers.export import save_table_csv

    v = ProfileViewer(housing)
    qtbot.addWidget(v)
    stats = pd.read_csv(save_table_csv(v.stats_frame(), tmp_path / "stats.csv"))
    assert stats["column"].tolist() == list(housing.columns)
    assert stats["Mean"].iloc[0] == housing["area_m2"].mean()
    assert v.chart.save(tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")


def test_the_summary_gets_most_of_the_room_and_the_split_is_remembered(qtbot):
    from PySide6.QtCore import QSettings  # the app's settings: a temporary folder in tests (conftest)

    QSettings().remove("splitters/profile")
    frame = pd.DataFrame({f"c{i}": range(50) for i in range(12)})
    v = ProfileViewer(frame)
    qtbot.addWidget(v)
    v.resize(900, 600)
    v.show()
    qtbot.waitExposed(v)
    top, bottom = v.splitter.sizes()
    assert top > bottom  # the column summary is not squeezed to a few rows
    v.splitter.moveSplitter(int((top + bottom) * 0.3), 1)
    ratio = QSettings().value("splitters/profile")
    assert ratio is not None and float(ratio) < 0.5
    again = ProfileViewer(frame)
    qtbot.addWidget(again)
    again.resize(900, 600)
    again.show()
    qtbot.waitExposed(again)
    a, b = again.splitter.sizes()
    assert a < b  # the user's choice, remembered
    QSettings().remove("splitters/profile")
