"""ModelViewer: a trained model's learner and hyperparameters, its recipe step by step with what each step
learned, and its feature importance (coefficients, permutation importance or k-means centroids)."""

from __future__ import annotations

import threading
from html import escape
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QProgressBar, QPushButton, QSplitter, QTabWidget, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from designer.core.plots import Importance, feature_importance, importance_figure
from designer.gui.viewers.export import add_csv_export, model_frame
from designer.gui.viewers.figure_canvas import FigureView
from designer.gui.viewers.widgets import cell_text, make_table, note, remember_sizes

if TYPE_CHECKING:
    import pandas as pd

    from designer.core.model import TrainedModel
    from designer.core.values import Table


def learned_by_column(step: dict[str, Any]) -> tuple[dict[str, list[str]], list[str]]:
    """A step's description as per-column lines ("mean 3.1", "categories a, b") plus lines about the step."""
    per_column: dict[str, list[str]] = {c: [] for c in step.get("columns", [])}
    general: list[str] = []
    for what, values in (step.get("learned") or {}).items():
        if isinstance(values, dict) and values:
            for column, value in values.items():
                per_column.setdefault(column, []).append(f"{what} {cell_text(value)}")
        elif values:
            general.append(f"{what}: {cell_text(values)}")
    return per_column, general


def recipe_tree(recipe: list[dict[str, Any]]) -> QTreeWidget:
    """One item per recipe step (in order), with one child per column and what was learned for it."""
    tree = QTreeWidget()
    tree.setHeaderLabels(["Step / column", "Learned"])
    tree.setAlternatingRowColors(True)
    for i, step in enumerate(recipe, 1):
        extras = [f"{k}: {cell_text(v)}" for k, v in step.items()
                  if k not in ("node", "step", "columns", "learned")]
        per_column, general = learned_by_column(step)
        item = QTreeWidgetItem([f"{i}. {step.get('step')} ({step.get('node')})", " · ".join(extras + general)])
        for column, lines in per_column.items():
            item.addChild(QTreeWidgetItem([column, " · ".join(lines)]))
        tree.addTopLevelItem(item)
    tree.expandAll()
    tree.resizeColumnToContents(0)
    tree.setColumnWidth(0, min(tree.columnWidth(0) + 16, 320))
    add_csv_export(tree, lambda: model_frame(tree.model()), "recipe")
    return tree


class ModelViewer(QWidget):
    """What a trained model is and what it learned. Give `scored` rows (with the label) for the permutation
    importance of models without coefficients (boosted trees)."""

    def __init__(self, model: "TrainedModel", scored: "Table | pd.DataFrame | None" = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tabs = QTabWidget()
        self.header = QLabel()
        self.header.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        self.copy_python = QPushButton("Copy as Python")
        self.copy_python.setToolTip("Copy the model as a scikit-learn Pipeline (the recipe's transformers and the "
                                    "learner, every parameter spelled out)")
        self.copy_python.clicked.connect(self.copy_as_python)
        top.addWidget(self.copy_python, 0, Qt.AlignTop)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        self.importance: Importance | None = None
        self.importance_view: FigureView | None = None
        self.measuring = False
        """Permutation importance is being measured in a worker thread."""
        self.refresh(model, scored)

    def refresh(self, model: "TrainedModel", scored: "Table | pd.DataFrame | None" = None) -> None:
        """Show another model (the pipeline ran again), keeping the open tab."""
        self.model = model
        info = model.describe()
        learner = info.get("learner") or {}
        title = escape(learner.get("title") or type(model.estimator).__name__)
        label = f", predicting <b>{escape(info['label'])}</b>" if info.get("label") else ""
        self.header.setText(
            f"<span style='font-size:14pt; font-weight:600'>{title}</span><br>"
            f"{model.task}{label} from {len(model.features)} features, trained on {model.train_rows:,} rows "
            f"(node {model.node_id}, {type(model.estimator).__name__})")
        current = self.tabs.currentIndex()
        while self.tabs.count():
            page = self.tabs.widget(0)
            self.tabs.removeTab(0)
            page.setParent(None)
            page.deleteLater()
        self.tabs.addTab(self._overview(learner, info), "Learner")
        self.tabs.addTab(self._recipe(info["recipe"]), "Recipe")
        self.tabs.addTab(self._importance(model, scored), "Feature importance")
        self.tabs.setCurrentIndex(max(current, 0))

    def copy_as_python(self) -> str:
        """Put the model's Python on the clipboard; returns it (or the reason it cannot be written)."""
        from PySide6.QtWidgets import QApplication

        from designer.core.errors import BadInput
        from designer.core.export import model_code

        try:
            text = model_code(self.model)
        except BadInput as e:
            self.copy_python.setToolTip(f"Cannot copy as Python: {e.message}")
            return e.message
        QApplication.clipboard().setText(text)
        return text

    def _overview(self, learner: dict[str, Any], info: dict[str, Any]) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        params = (learner.get("params") or {}).items()
        layout.addWidget(QLabel("<b>Hyperparameters</b>"))
        self.params_table = make_table(["Parameter", "Value"], [[k, v] for k, v in params], "hyperparameters",
                                       numeric_from=99, fit=True)
        layout.addWidget(self.params_table)
        layout.addWidget(note(f"Features after the recipe: {', '.join(self.model.features)}"))
        layout.addWidget(QLabel("<b>Input columns</b> (what raw data to score must have)"))
        schema = info.get("input_schema") or []
        layout.addWidget(make_table(["Column", "Kind"], [[c["name"], c["kind"]] for c in schema],
                                    "input_columns", numeric_from=99), 1)
        return page

    def _recipe(self, recipe: list[dict[str, Any]]) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        if not recipe:
            layout.addWidget(note("No fitted cleaning steps: the model takes the columns as they come."))
            layout.addStretch(1)
            self.recipe_tree = None
            return page
        layout.addWidget(note("Scoring applies these steps, fitted on the training rows, to new raw rows."))
        self.recipe_tree = recipe_tree(recipe)
        layout.addWidget(self.recipe_tree, 1)
        return page

    def _importance(self, model: "TrainedModel", scored: "Table | pd.DataFrame | None") -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.importance = imp = feature_importance(model, None)  # coefficients or centroids: instant
        self.importance_view = None
        if imp is None and scored is not None:  # permutation importance: measured off the GUI thread
            self._measure(page, layout, model, scored)
            return page
        if imp is None:
            layout.addWidget(note("This model has no coefficients. Connect its output to a Score Model node whose "
                                  "rows hold the label and run: the permutation importance is then measured on "
                                  "those scored rows."))
            layout.addStretch(1)
            return page
        self._fill_importance(layout, model, imp)
        return page

    def _measure(self, page: QWidget, layout: QVBoxLayout, model: "TrainedModel",
                 scored: "Table | pd.DataFrame") -> None:
        rows = len(getattr(scored, "frame", scored))
        busy = QWidget()
        bl = QVBoxLayout(busy)
        bl.addWidget(note(f"Measuring permutation importance on {rows:,} scored rows (each feature shuffled "
                          "5 times)…"))
        bar = QProgressBar()
        bar.setRange(0, 0)  # busy: scikit-learn reports no steps
        bl.addWidget(bar)
        bl.addStretch(1)
        layout.addWidget(busy)
        self.measuring = True
        bridge = _Done(page)
        bridge.done.connect(lambda imp: self._measured(page, layout, busy, model, imp), Qt.QueuedConnection)

        def work() -> None:
            try:
                imp = feature_importance(model, scored)
            except Exception as e:  # noqa: BLE001  (shown in the viewer, never raised in a thread)
                imp = e
            if shiboken6.isValid(bridge):
                bridge.done.emit(imp)

        threading.Thread(target=work, name="permutation-importance", daemon=True).start()

    def _measured(self, page: QWidget, layout: QVBoxLayout, busy: QWidget, model: "TrainedModel", imp: Any) -> None:
        if not shiboken6.isValid(page) or model is not self.model:
            return  # another model is shown by now
        self.measuring = False
        busy.setParent(None)
        busy.deleteLater()
        if isinstance(imp, Exception) or imp is None:
            layout.addWidget(note(f"Permutation importance could not be measured: {imp}"))
            layout.addStretch(1)
            return
        self.importance = imp
        self._fill_importance(layout, model, imp)

    def _fill_importance(self, layout: QVBoxLayout, model: "TrainedModel", imp: Importance) -> None:
        layout.addWidget(note(imp.note))
        self.importance_view = FigureView(importance_figure(imp), name=f"{model.node_id}_importance")
        rows = [[f, *(values[i] for values in imp.series.values())] for i, f in enumerate(imp.features)]
        headers = ["Feature", *imp.series]
        if imp.errors is not None:
            headers.append("std")
            rows = [r + [e] for r, e in zip(rows, imp.errors)]
        self.importance_table = make_table(headers, rows, f"{model.node_id}_importance")
        bars = len(imp.series) == 1  # a tall bar chart beside its table; a wide heatmap above it
        split = QSplitter(Qt.Horizontal if bars else Qt.Vertical)
        split.addWidget(self.importance_view)
        split.addWidget(self.importance_table)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 0)
        if not bars:
            remember_sizes(split, "importance", 0.6)
        if bars:  # the table as wide as its columns (plus the scroll bar), the chart takes the rest
            table = self.importance_table
            width = table.horizontalHeader().length() + table.verticalScrollBar().sizeHint().width()
            table.setMinimumWidth(min(width + 2 * table.frameWidth() + 2, 460))
        layout.addWidget(split, 1)


class _Done(QObject):
    """Carries a result from a worker thread to the GUI thread (queued)."""

    done = Signal(object)
