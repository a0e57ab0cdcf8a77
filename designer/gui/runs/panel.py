"""The Runs dock: the recorded runs of the open pipeline, comparison, reopening a run's pipeline, the
registered models with their lineage, and the data sets with their versions, profiles and usage. All facts
come from the run store (`designer.core.store`)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QShowEvent
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QMessageBox, QPushButton, QScrollArea,
                               QSplitter, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from designer.core.run_history import (default_model_name, latest_run_with_bundle, pipeline_of_run, run_cells,
                                       when)
from designer.core.store import DatasetRecord, ModelRecord, RunRecord, RunStore, compare_runs
from designer.gui.runs.compare_view import CompareView
from designer.gui.runs.datasets_view import DatasetsView, RegisterDatasetDialog
from designer.gui.runs.drift_view import DriftView
from designer.gui.runs.models_view import ModelsView
from designer.core.lifecycle import RunSession
from designer.gui.runs.register_dialog import RegisterDialog

COLUMNS = ("Run", "Status", "Started", "Took", "Metrics")
STATUS_COLOURS = {"succeeded": "#16a34a", "failed": "#dc2626", "cancelled": "#78716c", "running": "#2563eb",
                  "interrupted": "#b45309"}
UNSAVED = ("This pipeline is not saved yet: its runs are recorded in your own run store, and move to a run store "
           "beside the file when you save it.")


class RunsPanel(QWidget):
    """Runs of one pipeline in one store (`set_pipeline`); `refresh` re-reads the store."""

    open_pipeline = Signal(object, object, str)  # Pipeline, its file (or None), run id
    reproduce = Signal(object, object, str)  # the same, to run again as it ran
    status = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.store_path: Path | None = None
        self.pipeline_name = ""
        self.runs: list[RunRecord] = []
        self._stale = True
        self._run_warnings: list[str] = []
        self._read_error = ""
        self._show_run: str | None = None  # a run just recorded: select it
        self._show_model: str | None = None  # a model just registered: select it
        self._show_dataset: str | None = None  # a data set version just registered: select it
        self.header = QLabel(UNSAVED, wordWrap=True, objectName="hint")
        self.header.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.banner = QLabel(wordWrap=True, objectName="storeWarning")
        self.banner.setStyleSheet("background: #fef3c7; color: #92400e; padding: 4px 8px;")
        self.banner.hide()

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(lambda _: self.open_selected())
        self.compare_button = QPushButton("Compare", clicked=lambda: self.compare_selected(),
                                          toolTip="Parameter, metric and data differences of two selected runs")
        self.open_button = QPushButton("Open Pipeline as in This Run", clicked=lambda: self.open_selected(),
                                       toolTip="Open the copy of the pipeline stored with the selected run")
        self.reproduce_button = QPushButton("Reproduce", clicked=lambda: self.open_selected(reproduce=True),
                                            toolTip="Run the selected run's pipeline again, as it ran, in a new "
                                                    "window (and compare it in this list)")
        self.register_button = QPushButton("Register Model…", clicked=lambda: self.register_model(),
                                           toolTip="Register a model the selected run trained")
        self.refresh_button = QPushButton("Refresh", clicked=lambda: self.refresh())
        buttons = QHBoxLayout()
        for b in (self.compare_button, self.open_button, self.reproduce_button, self.register_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.table, 1)
        self.compare_view = CompareView()
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(self.compare_view)
        runs_page = QSplitter(Qt.Horizontal)
        runs_page.addWidget(left)
        runs_page.addWidget(scroll)
        runs_page.setSizes([500, 600])

        self.models = ModelsView(self._store, self._update_banner)
        self.models.serve_requested.connect(self.serve_model)
        self.models.drift_requested.connect(self.check_drift)
        self.drift = DriftView(lambda: self.store_path)
        self.serving: dict[str, Any] = {}  # model ref -> its ServeDialog
        self.datasets = DatasetsView(self._store, self._update_banner)
        self.tabs = QTabWidget(documentMode=True)
        self.tabs.addTab(runs_page, "Runs")
        self.tabs.addTab(self.models, "Models")
        self.tabs.addTab(self.datasets, "Data")
        self.tabs.addTab(self.drift, "Drift")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self._update_buttons()

    # ------------------------------------------------------------------------------------ store
    def set_pipeline(self, store: Path | None, pipeline_name: str) -> None:
        """Show the runs of `pipeline_name` in `store` (None: an unsaved pipeline, nothing is recorded)."""
        if (store, pipeline_name) != (self.store_path, self.pipeline_name):
            self.store_path, self.pipeline_name = store, pipeline_name
            self._run_warnings = []
            self.refresh()

    @contextmanager
    def _store(self) -> Iterator[RunStore]:
        assert self.store_path is not None
        store = RunStore.open(self.store_path, create=False)
        try:
            yield store
        finally:
            store.close()

    def _update_banner(self, extra: str = "") -> None:
        """Store trouble: the last run's recording warnings (else the store's read error), plus `extra`."""
        lines = self._run_warnings or ([self._read_error] if self._read_error else [])
        lines = [*lines, extra] if extra else lines
        self.banner.setText("\n".join(f"⚠ {line}" for line in lines))
        self.banner.setVisible(bool(lines))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        """Re-read the runs and models (after a run, a registration, or on request); while hidden, only
        note that the next show must."""
        self._stale = not self.isVisible()
        if self._stale:
            return
        runs: list[RunRecord] = []
        models: list[ModelRecord] = []
        datasets: list[DatasetRecord] = []
        pipelines: dict[str, str] = {}
        self._read_error = ""
        if self.store_path is None:
            self.header.setText(UNSAVED)
        elif not self.store_path.is_file():
            self.header.setText(f"No runs recorded yet. Runs of this pipeline will be recorded in "
                                f"{self.store_path}.")
        else:
            try:
                with self._store() as store:
                    runs = store.list_runs(self.pipeline_name)
                    models = store.list_models()
                    pipelines = {m.run_id: store.get_run(m.run_id).pipeline_name for m in models}
                    datasets = store.list_datasets()
            except Exception as e:  # noqa: BLE001  (StoreError: corrupt, locked, too new)
                self._read_error = str(e)
            self.header.setText(f"Cannot read the run store {self.store_path}." if self._read_error else
                                f"{len(runs)} run{'s' * (len(runs) != 1)} of “{self.pipeline_name}” in "
                                f"{self.store_path}")
        self._update_banner()
        self._fill_runs(runs)
        if self._show_run:
            self.select_runs([self._show_run])
        self.models.show_models(models, pipelines, self._show_model)
        self.datasets.show_datasets(datasets, self._show_dataset)
        self.drift.set_models([m.ref for m in models])
        self._show_run = self._show_model = self._show_dataset = None

    def note_recorded(self, recorded: RunSession) -> None:
        """A GUI run ended: show store problems, then the new run."""
        self._run_warnings = list(recorded.warnings)
        self._update_banner()
        self._show_run = recorded.run_id
        self.refresh()

    def note_problem(self, text: str) -> None:
        """A store problem outside a run (earlier runs that could not be moved), shown like a run's; "" clears it."""
        self._run_warnings = [text] if text else []
        self._update_banner()

    # ------------------------------------------------------------------------------------ runs table
    def _fill_runs(self, runs: list[RunRecord]) -> None:
        selected = self.selected_runs()
        self.runs = runs
        self.table.blockSignals(True)
        self.table.setRowCount(len(runs))
        for r, run in enumerate(runs):
            for c, text in enumerate(run_cells(run)):
                item = QTableWidgetItem(text)
                item.setToolTip(run.message or text)
                if c == 1:
                    item.setForeground(QColor(STATUS_COLOURS.get(run.status, "#57606a")))
                if c == 3:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.table.blockSignals(False)
        self.select_runs(selected)

    def select_runs(self, run_ids: list[str]) -> None:
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.MultiSelection)
        for r, run in enumerate(self.runs):
            if run.id in run_ids:
                self.table.selectRow(r)
        self.table.setSelectionMode(mode)
        self._update_buttons()

    def selected_runs(self) -> list[str]:
        """Selected run ids, oldest first."""
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        return [self.runs[r].id for r in rows if r < len(self.runs)]

    def _update_buttons(self) -> None:
        n = len(self.selected_runs())
        self.compare_button.setEnabled(n == 2)
        self.open_button.setEnabled(n == 1)
        self.reproduce_button.setEnabled(n == 1)
        self.register_button.setEnabled(n == 1)

    # ------------------------------------------------------------------------------------ actions
    def compare_selected(self) -> dict[str, Any] | None:
        """Compare the two selected runs (older → newer) side by side."""
        ids = self.selected_runs()
        if len(ids) != 2 or self.store_path is None:
            return None
        try:
            with self._store() as store:
                a, b = store.get_run(ids[0]), store.get_run(ids[1])
            c = compare_runs(a, b)
        except Exception as e:  # noqa: BLE001
            self.show_error("Cannot compare runs", str(e))
            return None
        self.compare_view.show_comparison(c, f"Run {a.id} ({when(a.started_at)})",
                                          f"Run {b.id} ({when(b.started_at)})")
        return c

    def open_selected(self, reproduce: bool = False) -> None:
        """Ask the window to open (or with `reproduce`, to run again) the pipeline exactly as the selected run
        ran it."""
        ids = self.selected_runs()
        if len(ids) != 1 or self.store_path is None:
            return
        try:
            with self._store() as store:
                run = store.get_run(ids[0])
            pipeline, path = pipeline_of_run(run)
        except Exception as e:  # noqa: BLE001  (StoreError, BadInput of an unreadable stored copy)
            self.show_error("Cannot open the run's pipeline", str(e))
            return
        (self.reproduce if reproduce else self.open_pipeline).emit(pipeline, path, run.id)

    def register_model(self, node: str | None = None) -> ModelRecord | None:
        """Register a trained model: of the selected run, or with `node` the one of the newest run that trained
        it. Asks for the node and the name."""
        if self.store_path is None or not self.store_path.is_file():
            self.show_error("Cannot register a model", "No run of this pipeline is recorded yet: run it first."
                            if self.store_path else UNSAVED)
            return None
        ids = self.selected_runs()
        if node is None and len(ids) != 1:
            return None
        try:
            with self._store() as store:
                run = latest_run_with_bundle(store, self.pipeline_name, node) if node else store.get_run(ids[0])
            if run is None or not run.bundles():
                what = f"node '{node}'" if node else f"run {ids[0]}"
                self.show_error("Cannot register a model", f"No recorded run saved a model trained by {what}. "
                                "Run the pipeline (with its training node) first.")
                return None
            answer = self.ask_registration(run, sorted(run.bundles()), node,
                                           default_model_name(self.pipeline_name, node or ""))
            if answer is None:
                return None
            with self._store() as store:  # not held open while the dialog shows
                model = store.register_model(run.id, *answer)
        except Exception as e:  # noqa: BLE001  (StoreError: invalid name, changed bundle, locked store)
            self.show_error("Cannot register the model", str(e))
            return None
        self._show_model = model.ref
        self.tabs.setCurrentWidget(self.models)
        self.refresh()
        self.status.emit(f"{'Registered' if model.new else 'Already registered as'} {model.ref} "
                         f"(run {model.run_id}, node {model.node})")
        return model

    def register_dataset(self, frame: Any, source: str, default_name: str) -> DatasetRecord | None:
        """Register a table (a node's output) as the next version of a data set the user names."""
        if self.store_path is None:
            self.show_error("Cannot register a data set", UNSAVED)
            return None
        answer = self.ask_dataset(source, default_name)
        if answer is None:
            return None
        name, description = answer
        try:
            from designer.core.datasets import register_frame
            from designer.core.digest import frame_sha256

            with RunStore.open(self.store_path) as store:  # created when this is the first thing it holds
                record = register_frame(store, frame, name, sha256=frame_sha256(frame), source=source,
                                        description=description)
        except Exception as e:  # noqa: BLE001  (BadInput: a bad name, no rows; StoreError: locked, full disk)
            self.show_error("Cannot register the data set", str(e))
            return None
        self._show_dataset = record.ref
        self.tabs.setCurrentWidget(self.datasets)
        self.refresh()
        self.status.emit(f"{'Registered' if record.new else 'Already registered as'} data set {record.ref} "
                         f"({record.rows:,} rows × {record.columns} columns)")
        return record

    def serve_model(self, ref: str) -> Any:
        """Open (or bring back) the dialog serving `ref` locally, and start it."""
        from designer.gui.runs.serve_dialog import ServeDialog

        if self.store_path is None:
            return None
        dialog = self.serving.get(ref)
        if dialog is None:
            dialog = ServeDialog(ref, self.store_path, self)
            self.serving[ref] = dialog
        dialog.show()
        dialog.raise_()
        dialog.start()
        return dialog

    def check_drift(self, ref: str) -> None:
        self.drift.set_models([m.ref for m in self.models.models], select=ref)
        self.tabs.setCurrentWidget(self.drift)
        self.drift.check()

    def stop_serving(self) -> None:
        """Stop every endpoint this dock started (the window is closing)."""
        for dialog in self.serving.values():
            dialog.stop(wait_ms=15000)

    # ------------------------------------------------------------------------------------ dialogs (tests replace)
    def ask_dataset(self, what: str, name: str) -> tuple[str, str] | None:
        """(data set name, description), or None when cancelled."""
        dialog = RegisterDatasetDialog(what, name, self)
        return dialog.choice() if dialog.exec() == RegisterDatasetDialog.Accepted else None

    def ask_registration(self, run: RunRecord, nodes: list[str], node: str | None,
                         name: str) -> tuple[str, str] | None:
        """(node, model name), or None when cancelled."""
        dialog = RegisterDialog(run, nodes, node, name, self)
        return dialog.choice() if dialog.exec() == RegisterDialog.Accepted else None

    def show_error(self, title: str, text: str) -> None:
        QMessageBox.warning(self, title, text)
