"""EvaluationViewer: metrics side by side and the task's plots, each exportable."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from matplotlib.collections import PathCollection
from PySide6.QtWidgets import QFileDialog

from designer.core.values import Report, Table
from designer.gui.viewers.evaluation_viewer import EvaluationViewer


def tabs(v: EvaluationViewer) -> list[str]:
    assert v.tabs is not None
    return [v.tabs.tabText(i) for i in range(v.tabs.count())]


def scatter_points(fig: Any) -> int:
    return sum(len(c.get_offsets()) for c in fig.axes[0].collections if isinstance(c, PathCollection))


def test_regression(qtbot: Any, regression_report: tuple[Report, Table], tmp_path: Path) -> None:
    report, _ = regression_report
    v = EvaluationViewer(report)
    qtbot.addWidget(v)
    entry = report.entries[0]
    t = v.metrics_table
    assert t.columnCount() == 2 and t.rowCount() == len(entry["metrics"]) + 1
    assert t.item(0, 0).text() == "mae" and float(t.item(0, 1).text()) == float(f"{entry['metrics']['mae']:.6g}")
    assert tabs(v) == ["Predicted vs actual", "Residuals"]
    (scatter,) = v.figures["Predicted vs actual"]
    assert scatter_points(scatter.figure) == entry["rows"]
    (residuals,) = v.figures["Residuals"]
    assert sum(p.get_height() for p in residuals.figure.axes[0].patches) == entry["rows"]
    assert scatter.save(tmp_path / "scatter.png").read_bytes().startswith(b"\x89PNG")
    assert ElementTree.parse(residuals.save(tmp_path / "residuals.svg")).getroot().tag.endswith("svg")


def test_classification_side_by_side(qtbot: Any, classification_report: tuple[Report, Table, Table]) -> None:
    report, first, second = classification_report
    v = EvaluationViewer(report)
    qtbot.addWidget(v)
    assert v.metrics_table.columnCount() == 3  # metric, scored, scored2
    assert v.metrics_table.horizontalHeaderItem(2).text() == "scored2\nscored by train"
    assert tabs(v) == ["Confusion matrix", "ROC curve", "Precision-recall"]
    left, right = v.figures["Confusion matrix"]
    for view, entry in ((left, report.entries[0]), (right, report.entries[1])):
        ax = view.figure.axes[0]
        assert ax.images and sum(int(t.get_text().replace(",", "")) for t in ax.texts) == entry["rows"]
    for name in ("ROC curve", "Precision-recall"):
        assert all(len(view.figure.axes[0].lines) >= 1 for view in v.figures[name])


def test_clustering_shows_sizes_and_the_pca_scatter(qtbot: Any, clustering_report: tuple[Report, Table]) -> None:
    report, scored = clustering_report
    v = EvaluationViewer(report)
    qtbot.addWidget(v)
    assert tabs(v) == ["Cluster sizes", "Clusters (PCA)"]
    sizes = report.entries[0]["plots"]["cluster_sizes"]
    (bars,) = v.figures["Cluster sizes"]
    assert [p.get_height() for p in bars.figure.axes[0].patches] == list(sizes.values())
    (pca,) = v.figures["Clusters (PCA)"]
    assert scatter_points(pca.figure) == len(scored.frame)
    assert len(pca.figure.axes[0].get_legend().get_texts()) == len(sizes)


def test_refresh_keeps_the_tab_and_save_dialog(qtbot: Any, regression_report: tuple[Report, Table],
                                               tmp_path: Path, monkeypatch: Any) -> None:
    report, _ = regression_report
    v = EvaluationViewer(report)
    qtbot.addWidget(v)
    assert v.tabs is not None
    v.tabs.setCurrentIndex(1)
    v.refresh(report)
    assert v.tabs.tabText(v.tabs.currentIndex()) == "Residuals"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(tmp_path / "res"), "SVG image (*.svg)")))
    (view,) = v.figures["Residuals"]
    view.save_button.click()
    assert (tmp_path / "res.svg").read_text().count("<svg") == 1


def test_the_confusion_matrix_keeps_its_shape_centred_with_its_colour_bar(qtbot, classification_report):
    from designer.gui.viewers.figure_canvas import FigureView
    from designer.core.plots import confusion_figure

    report, _, _ = classification_report
    view = FigureView(confusion_figure(report.entries[0]))
    qtbot.addWidget(view)
    view.resize(1400, 400)  # a wide dock
    view.show()
    qtbot.waitExposed(view)
    canvas = view.canvas
    w, h = canvas.figure.get_size_inches()
    assert canvas.width() <= canvas.height() * w / h + 40  # not stretched across the dock
    centre = canvas.geometry().center().x()
    assert abs(centre - view.width() / 2) < 40  # centred
