"""Registered data sets: every version in a table; the selected one's columns (kind, missing, summary) and the
runs and models that used it (all read from the run store); "Compare with…" adds the diff of the selected version
against another one (designer.core.dataset_diff, in a worker thread: it reads both versions)."""

from __future__ import annotations

import threading
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QFormLayout, QHeaderView, QInputDialog,
                               QLabel, QLineEdit, QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from designer.core.profile import format_stat
from designer.core.run_history import when
from designer.core.store import MODEL_NAME, DatasetRecord, RunStore
from designer.gui.runs.models_view import tree_texts

COLUMNS = ("Data set", "Rows", "Columns", "Stored", "Registered", "Description")


def column_summary(schema: dict[str, str], profile: dict[str, Any]) -> list[str]:
    """[name, kind, missing, summary] of one column, as the Data tab shows it."""
    rows = profile.get("rows") or 0
    missing = f"{profile.get('missing', 0) / rows:.1%} missing" if rows else ""
    if schema["kind"] == "numeric":
        summary = (f"mean {format_stat(profile.get('mean'))}, sd {format_stat(profile.get('std'))}, "
                   f"{format_stat(profile.get('min'))} … {format_stat(profile.get('max'))}")
    else:
        count = profile.get("count") or 0
        tops = ", ".join(f"{k} {n / count:.0%}" for k, n in (profile.get("top_values") or [])[:3]) if count else ""
        summary = f"{profile.get('unique', 0)} distinct" + (f": {tops}" if tops else "")
    return [schema["name"], schema["kind"], missing, summary]


class DatasetsView(QWidget):
    """A table of data set versions; selecting one shows its columns and usage. The store is opened per use."""

    compared = Signal(str, str, str)  # the selected version, the other one, the diff text (or an error): worker

    def __init__(self, open_store: Callable[[], RunStore], on_error: Callable[[str], None]) -> None:
        super().__init__()
        self._open_store = open_store
        self._on_error = on_error
        self.datasets: list[DatasetRecord] = []
        self.usage: dict[str, list[dict[str, Any]]] = {}
        self.hint = QLabel("No data sets registered yet. Right-click a table output and choose “Register as Data "
                           "Set…”, or run `pipeline-designer data register FILE --name NAME`.", wordWrap=True,
                           objectName="hint")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._show_selected)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["Data set version", "", "", ""])
        self.tree.setAlternatingRowColors(True)
        self.compare_button = QPushButton("Compare with…", enabled=False, clicked=lambda: self.compare(),
                                          toolTip="The selected version's schema, rows and per-column drift against "
                                                  "another version (as `pipeline-designer data diff`)")
        self.compared.connect(self._show_comparison)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.table, 1)
        column.addWidget(self.compare_button, 0, Qt.AlignLeft)
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.tree)
        splitter.setSizes([420, 580])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.hint)
        layout.addWidget(splitter, 1)

    def show_datasets(self, datasets: list[DatasetRecord], select: str | None = None) -> None:
        """Fill the table; select the version `select` ("NAME:VERSION"), else keep the selection."""
        row = self.table.currentRow()
        keep = select or (self.datasets[row].ref if 0 <= row < len(self.datasets) else None)
        self.datasets = datasets
        self.hint.setVisible(not datasets)
        self.table.blockSignals(True)
        self.table.clearSelection()
        self.table.setRowCount(len(datasets))
        for r, d in enumerate(datasets):
            cells = (d.ref, f"{d.rows:,}", str(d.columns), d.storage, when(d.created_at), d.description)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(d.source if c == 3 else text)
                if c in (1, 2):
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.table.blockSignals(False)
        refs = [d.ref for d in datasets]
        if keep in refs:
            self.table.selectRow(refs.index(keep))
        elif datasets:
            self.table.selectRow(len(datasets) - 1)
        else:
            self.tree.clear()
            self.compare_button.setEnabled(False)

    def _show_selected(self) -> None:
        row = self.table.currentRow()
        if not 0 <= row < len(self.datasets):
            return
        d = self.datasets[row]
        self.compare_button.setEnabled(len(self.datasets) > 1)
        try:
            with self._open_store() as store:
                self.usage = store.dataset_usage(d.name, d.version)
        except Exception as e:  # noqa: BLE001  (a locked or damaged store)
            self.usage = {"runs": [], "models": []}
            self._on_error(str(e))
        self._fill(d)

    def _fill(self, d: DatasetRecord) -> None:
        self.tree.clear()
        top = self._branch(f"{d.ref}", [])
        for label, value in (("rows", f"{d.rows:,}"), ("columns", str(d.columns)), ("stored", d.storage),
                             ("source", d.source), ("sha256", d.sha256), ("registered", when(d.created_at)),
                             ("by", d.created_by or ""), ("description", d.description)):
            if value:
                fact = QTreeWidgetItem(top, [f"{label}: {value}"])
                fact.setFirstColumnSpanned(True)  # long values (paths, hashes) do not widen the columns below
                fact.setToolTip(0, value)
        sampled = d.profile and (d.profile[0].get("rows") or 0) < d.rows
        columns = self._branch("Columns" + (f" (profile of {d.profile[0]['rows']:,} rows evenly spaced)"
                                            if sampled else ""), [])
        for schema, profile in zip(d.schema, d.profile):
            QTreeWidgetItem(columns, column_summary(schema, profile))
        used = self._branch("Used by", [])
        for r in self.usage.get("runs", []):
            QTreeWidgetItem(used, [f"run {r['id']}", r["status"], when(r["started_at"]), r["pipeline"]])
        for m in self.usage.get("models", []):
            QTreeWidgetItem(used, [f"model {m['ref']}", f"node {m['node']}", f"run {m['run']}", ""])
        if not used.childCount():
            QTreeWidgetItem(used, ["no recorded run has read this version"])
        self.tree.header().setSectionResizeMode(0, QHeaderView.Interactive)
        for i in range(4):
            self.tree.resizeColumnToContents(i)
        self.tree.setColumnWidth(0, min(self.tree.columnWidth(0), 260))

    def ask_version(self, refs: list[str], current: int) -> str | None:
        """The version to compare the selected one with (a dialog; tests replace it)."""
        ref, ok = QInputDialog.getItem(self, "Compare with", "Compare the selected version with:", refs, current,
                                       False)
        return ref if ok else None

    def compare(self) -> None:
        """Diff the selected version against another (by default the one before it) in a worker thread."""
        from designer.core.dataset_diff import diff_text, diff_versions

        row = self.table.currentRow()
        if not 0 <= row < len(self.datasets):
            return
        b = self.datasets[row]
        others = [d for d in self.datasets if d is not b]
        earlier = [i for i, d in enumerate(others) if d.name == b.name and d.version < b.version]
        ref = self.ask_version([d.ref for d in others], earlier[-1] if earlier else 0)
        a = next((d for d in others if d.ref == ref), None)
        if a is None:
            return
        self._comparison(f"Compared with {a.ref}", ["reading both versions…"])

        def work() -> None:
            try:
                text = diff_text(diff_versions(a, b))
            except Exception as e:  # noqa: BLE001  (BadInput: a snapshot missing or changed; a store problem)
                text = f"could not compare: {e}"
            if shiboken6.isValid(self):  # the dock may have closed meanwhile
                self.compared.emit(b.ref, a.ref, text)

        threading.Thread(target=work, name="dataset-diff", daemon=True).start()

    def _show_comparison(self, ref: str, other: str, text: str) -> None:
        row = self.table.currentRow()
        if 0 <= row < len(self.datasets) and self.datasets[row].ref == ref:  # still the version compared
            self._comparison(f"Compared with {other}", text.splitlines())

    def _comparison(self, title: str, lines: list[str]) -> None:
        """The comparison branch (replacing an earlier one), one diff line per row in a fixed-width font."""
        last = self.tree.topLevelItem(self.tree.topLevelItemCount() - 1)
        if last is not None and last.text(0).startswith("Compared with"):
            self.tree.takeTopLevelItem(self.tree.topLevelItemCount() - 1)
        branch = self._branch(title, [])
        font = QFontDatabase.systemFont(QFontDatabase.FixedFont)
        for line in lines:
            item = QTreeWidgetItem(branch, [line])
            item.setFirstColumnSpanned(True)
            item.setFont(0, font)
            item.setToolTip(0, line)
        self.tree.scrollToItem(branch, QAbstractItemView.PositionAtTop)

    def _branch(self, title: str, cells: list[str]) -> QTreeWidgetItem:
        item = QTreeWidgetItem(self.tree, [title, *cells])
        font = item.font(0)
        font.setBold(True)
        item.setFont(0, font)
        item.setExpanded(True)
        return item

    def texts(self) -> list[str]:
        """Every cell of the detail tree (for tests and copy)."""
        return tree_texts(self.tree, 4)


class RegisterDatasetDialog(QDialog):
    """Name (and description) for registering a table output as a data set version."""

    def __init__(self, what: str, name: str, parent: QWidget | None = None) -> None:
        from PySide6.QtCore import QRegularExpression
        from PySide6.QtGui import QRegularExpressionValidator

        super().__init__(parent)
        self.setWindowTitle("Register as data set")
        self.name = QLineEdit(name)
        self.name.setValidator(QRegularExpressionValidator(QRegularExpression(MODEL_NAME.pattern), self))
        self.description = QLineEdit()
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Register")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.name.textChanged.connect(
            lambda text: buttons.button(QDialogButtonBox.Ok).setEnabled(bool(MODEL_NAME.fullmatch(text))))
        form = QFormLayout(self)
        form.addRow("Table:", QLabel(what))
        form.addRow("Data set name:", self.name)
        form.addRow("Description:", self.description)
        form.addRow(QLabel("The rows are copied into the run store as the next version of this name."))
        form.addRow(buttons)

    def choice(self) -> tuple[str, str]:
        return self.name.text(), self.description.text()
