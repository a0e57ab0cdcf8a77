"""Registered models and the lineage of the selected one: model → run → pipeline → data → parameters → metrics
(all read from the run store)."""

from __future__ import annotations

import json
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QPushButton, QSplitter, QTableWidget,
                               QTableWidgetItem, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from designer.core.run_history import number, took, when
from designer.core.store import ModelRecord, RunStore, flat_params

COLUMNS = ("Model", "Pipeline", "Run", "Node", "Registered")


class ModelsView(QWidget):
    """A table of registered models; selecting one shows its lineage as a tree. The store is opened per use.
    "Serve locally…" and "Check drift" ask the Runs dock to serve or check the selected model."""

    serve_requested = Signal(str)  # model ref
    drift_requested = Signal(str)

    def __init__(self, open_store: Callable[[], RunStore], on_error: Callable[[str], None]) -> None:
        super().__init__()
        self._open_store = open_store
        self._on_error = on_error
        self.models: list[ModelRecord] = []
        self.lineage: dict[str, Any] | None = None
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._show_selected)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Lineage", ""])
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeToContents)
        self.tree.setAlternatingRowColors(True)
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(self.tree)
        splitter.setSizes([380, 620])
        self.serve_button = QPushButton("Serve locally…", clicked=lambda: self._request(self.serve_requested),
                                        toolTip="Answer scoring requests for the selected model on 127.0.0.1 "
                                                "(MLflow /invocations, Open Inference V2), with a try-it page")
        self.drift_button = QPushButton("Check drift", clicked=lambda: self._request(self.drift_requested),
                                        toolTip="Compare the selected model's captured traffic with its training data")
        buttons = QHBoxLayout()
        buttons.addWidget(self.serve_button)
        buttons.addWidget(self.drift_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(splitter)
        self._update_buttons()

    def show_models(self, models: list[ModelRecord], pipelines: dict[str, str], select: str | None = None) -> None:
        """`pipelines`: run id -> pipeline name. Selects the model ref `select`, else keeps the selection."""
        keep = select or (self.models[self.table.currentRow()].ref if 0 <= self.table.currentRow() < len(self.models)
                          else None)
        self.models = models
        self.table.blockSignals(True)
        self.table.clearSelection()  # selecting below always shows the lineage anew
        self.table.setRowCount(len(models))
        for r, m in enumerate(models):
            for c, text in enumerate((m.ref, pipelines.get(m.run_id, ""), m.run_id, m.node, when(m.registered_at))):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.blockSignals(False)
        refs = [m.ref for m in models]
        if keep in refs:
            self.table.selectRow(refs.index(keep))
        elif models:
            self.table.selectRow(len(models) - 1)
        else:
            self.tree.clear()
        self._update_buttons()

    def selected_ref(self) -> str | None:
        row = self.table.currentRow()
        return self.models[row].ref if 0 <= row < len(self.models) and self.table.selectedItems() else None

    def _update_buttons(self) -> None:
        chosen = self.selected_ref() is not None
        self.serve_button.setEnabled(chosen)
        self.drift_button.setEnabled(chosen)

    def _request(self, signal: Any) -> None:
        ref = self.selected_ref()
        if ref:
            signal.emit(ref)

    def _show_selected(self) -> None:
        self._update_buttons()
        row = self.table.currentRow()
        if not 0 <= row < len(self.models):
            return
        m = self.models[row]
        try:
            with self._open_store() as store:
                self.lineage = store.lineage(m.name, m.version)
        except Exception as e:  # noqa: BLE001  (StoreError: a missing or changed bundle, a locked store)
            self.lineage = None
            self.tree.clear()
            self._on_error(str(e))
            return
        self._fill(self.lineage)

    def _fill(self, lin: dict[str, Any]) -> None:
        m, r, p = lin["model"], lin["run"], lin["pipeline"]
        self.tree.clear()
        learner = m.get("learner") or {}
        self._branch(f"Model {m['ref']}", {
            "task": m.get("task"), "label": m.get("label"), "trained on": f"{m.get('train_rows')} rows",
            "learner": learner.get("title") or learner.get("type"), "bundle": m["bundle"], "sha256": m["sha256"],
            "registered": when(m["registered_at"])})
        self._branch(f"Run {r['id']}", {"status": r["status"], "started": when(r["started_at"]),
                                        "took": took(r["seconds"]), "git commit": r.get("git_commit")})
        self._branch(f"Pipeline {p['name']}", {"node": p["node"], "file": p.get("path"), "sha256": p["sha256"]})
        data = self._branch("Data (training)", {})
        for s in lin["data"]:
            item = QTreeWidgetItem(data, [str(s.get("path") or s.get("name")),
                                          f"{s.get('rows')} rows × {s.get('columns')} columns"])
            QTreeWidgetItem(item, ["sha256", str(s.get("sha256"))]).setToolTip(1, str(s.get("sha256")))
            item.setExpanded(True)
        params = self._branch("Parameters", {})
        for node, values in lin["params"].items():
            flat = flat_params({k: v for k, v in values.items() if k != "type"})
            item = QTreeWidgetItem(params, [node, str(values.get("type", ""))])
            for k, v in flat.items():
                QTreeWidgetItem(item, [k, json.dumps(v, default=str) if isinstance(v, (list, dict)) else str(v)])
        self._branch("Metrics", {f"{where}.{name}": number(v)  # {"evaluate.report": {"r2": ...}}
                                 for where, values in lin["metrics"].items() for name, v in (values or {}).items()})

    def _branch(self, title: str, fields: dict[str, Any]) -> QTreeWidgetItem:
        top = QTreeWidgetItem(self.tree, [title, ""])
        font = top.font(0)
        font.setBold(True)
        top.setFont(0, font)
        for k, v in fields.items():
            if v not in (None, ""):
                QTreeWidgetItem(top, [k, str(v)]).setToolTip(1, str(v))
        top.setExpanded(True)
        return top

    def texts(self) -> list[str]:
        """Every cell of the lineage tree (for tests and copy)."""
        return tree_texts(self.tree, 2)


def tree_texts(tree: "QTreeWidget", columns: int) -> list[str]:
    """Every cell of a tree widget, depth first (for tests and copy)."""
    out: list[str] = []

    def walk(item: QTreeWidgetItem) -> None:
        out.extend(item.text(c) for c in range(columns))
        for i in range(item.childCount()):
            walk(item.child(i))

    for i in range(tree.topLevelItemCount()):
        walk(tree.topLevelItem(i))
    return out
