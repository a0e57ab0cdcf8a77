"""Runs the pipeline with one long-lived Engine in a worker thread; events reach the GUI as queued signals.

The run goes through the core's one lifecycle (`run_pipeline`); the Qt bridge is one of its observers and
the run store's `StoreRecorder` another (runs of a saved pipeline, with their trained models kept in the store).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from designer.core.engine import CancelToken, Engine, Event, RunResult
from designer.core.errors import BadInput
from designer.core.lifecycle import RunObserver, RunSession, run_pipeline
from designer.core.pipeline import Pipeline
from designer.core.result_cache import ResultCache, results_folder
from designer.core.store import store_for_pipeline
from designer.core.store.location import user_store
from designer.core.states import EventKind, NodeState
from designer.core.store_record import StoreRecorder
from designer.gui.canvas.node_item import RunState


RESTORE_DELAY_MS = 300
"""A reopened pipeline looks for its saved results once the window has painted (the search validates and
fingerprints the pipeline, which would compete with the first paint of a large one)."""


class _Bridge(QObject):
    """Lives in the GUI thread; the worker emits on it, so slots run in the GUI thread (queued)."""

    event = Signal(object)
    done = Signal(object, object)  # RunSession, BadInput | Exception | None
    restored = Signal(object, object)  # generation, {node: outputs}


class _Forward(RunObserver):
    """The run's observer in the worker thread: hands every event to the bridge."""

    def __init__(self, bridge: _Bridge) -> None:
        self.bridge = bridge

    def event(self, session: RunSession, event: Event) -> None:
        self.bridge.event.emit(event)


class RunController(QObject):
    """Starts and stops runs, keeps each node's last RunState and outputs, and marks edited nodes stale."""

    state_changed = Signal(str, object)  # node id, RunState | None
    running_changed = Signal(bool)
    recorded = Signal(object)  # RunSession: the run's id in the store (or why it is not there); before `finished`
    finished = Signal(object)  # RunResult
    failed_to_start = Signal(str)  # the reason (e.g. the pipeline has problems)
    stopping = Signal()  # Stop was pressed; the running node ends within a second
    restored = Signal(object)  # {node: outputs} shown from saved results (reopened without a run)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = Engine(chunked=True)
        self.states: dict[str, RunState] = {}
        self._before: dict[str, RunState] = {}
        self.last_result: RunResult | None = None
        self.last_recorded: RunSession | None = None
        self._outputs: dict[str, dict[str, Any]] = {}
        self._seconds: dict[str, float] = {}
        self._thread: threading.Thread | None = None
        self._cancel: CancelToken | None = None
        self._changed_while_running: set[str] = set()
        self._bridge = _Bridge()
        self._bridge.event.connect(self._on_event, Qt.QueuedConnection)
        self._bridge.done.connect(self._on_done, Qt.QueuedConnection)
        self._bridge.restored.connect(self._on_restored, Qt.QueuedConnection)
        self._generation = 0

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, pipeline: Pipeline, base_dir: Path, upto: str | None = None,
              pipeline_path: Path | None = None) -> bool:
        """Run a snapshot of the pipeline (everything, or only what `upto` needs), recording it in the run
        store of its file when it has one. False if already running."""
        if self.running:
            return False
        self._generation += 1  # a restore still loading is superseded
        self.use_results_of(pipeline_path)
        self._cancel = CancelToken()
        self._before = dict(self.states)
        plan_nodes = {n.id for n in pipeline.nodes}
        for node_id in list(self.states):
            if node_id not in plan_nodes:
                self._set(node_id, None)
        session = RunSession(pipeline, base_dir, upto=upto, pipeline_path=pipeline_path)
        self._thread = threading.Thread(target=self._work, args=(session, self._cancel), name="pipeline-run",
                                        daemon=True)
        self.running_changed.emit(True)
        self._thread.start()
        return True

    @property
    def is_stopping(self) -> bool:
        return self._cancel is not None and self._cancel()

    def stop(self) -> None:
        """Cancel the run: the running node is stopped (or abandoned) within a second; the last good outputs
        of every node stay."""
        if self._cancel is not None and not self._cancel():
            self._cancel.cancel()
            for node_id, st in list(self.states.items()):
                if st.state == NodeState.RUNNING:
                    self._set(node_id, RunState(NodeState.RUNNING, st.progress, "stopping…"))
            self.stopping.emit()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker ends (used on close); True when it has."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def use_results_of(self, pipeline_path: Path | None) -> None:
        """Save and reuse node results beside the run store of this pipeline (the user's own store when it is
        not saved yet)."""
        store = store_for_pipeline(pipeline_path) if pipeline_path is not None else user_store()
        self.engine.results = ResultCache(results_folder(store))

    def restore(self, pipeline: Pipeline, base_dir: Path, pipeline_path: Path | None) -> None:
        """Show the saved results of every unchanged node (a reopened pipeline), loaded in a worker thread."""
        self.use_results_of(pipeline_path)
        self._generation += 1
        generation = self._generation
        QTimer.singleShot(RESTORE_DELAY_MS, lambda: self._start_restore(generation, pipeline, base_dir))

    def _start_restore(self, generation: int, pipeline: Pipeline, base_dir: Path) -> None:
        if generation == self._generation and not self.running:  # nothing newer opened or started since
            threading.Thread(target=self._restore_work, args=(generation, pipeline, base_dir), name="restore-results",
                             daemon=True).start()

    def _restore_work(self, generation: int, pipeline: Pipeline, base_dir: Path) -> None:
        found = self.engine.load_saved(pipeline, base_dir)
        try:
            self._bridge.restored.emit(generation, found)
        except RuntimeError:  # the window closed meanwhile
            pass

    def _on_restored(self, generation: int, found: dict[str, dict[str, Any]]) -> None:
        if generation != self._generation or self.running:
            return  # another document opened, or a run started, since
        for node_id, outputs in found.items():
            self._outputs[node_id] = outputs
            self._set(node_id, RunState(NodeState.CACHED, message="saved result of an earlier run"))
        self.restored.emit(found)

    def _work(self, session: RunSession, cancel: CancelToken) -> None:
        observers: list[RunObserver] = [_Forward(self._bridge)]
        store = store_for_pipeline(session.pipeline_path) if session.pipeline_path is not None else user_store()
        observers.append(StoreRecorder(store, keep="bundles"))
        try:
            run_pipeline(session, engine=self.engine, observers=observers, cancel=cancel)
        except Exception as e:  # noqa: BLE001  (InvalidPipeline, BadInput or a bug: reported, never raised)
            self._bridge.done.emit(session, e)
            return
        self._bridge.done.emit(session, None)

    # ------------------------------------------------------------------------------------ GUI thread
    def _on_event(self, event: Event) -> None:
        progress = event.progress if event.kind == EventKind.PROGRESS else (
            0.0 if event.kind == EventKind.STARTED else None)
        self._set(event.node, RunState(NodeState.after(event.kind), progress, event.message, event.seconds))

    def _on_done(self, session: RunSession, error: Exception | None) -> None:
        self._thread = None
        self._cancel = None
        before_run, self._before = self._before, {}
        self.running_changed.emit(False)
        self.last_recorded = session
        self.recorded.emit(session)
        result = session.result
        if result is None:
            for node_id, st in list(self.states.items()):
                if st.state in (NodeState.QUEUED, NodeState.RUNNING):
                    self._set(node_id, None)
            message = error.message if isinstance(error, BadInput) else f"{type(error).__name__}: {error}"
            self.failed_to_start.emit(message)
            return
        self.last_result = result
        for node_id in result.status:
            if node_id in result.outputs:
                self._outputs[node_id] = result.outputs[node_id]
                if node_id in result.seconds:
                    self._seconds[node_id] = result.seconds[node_id]
        for node_id, st in list(self.states.items()):
            unfinished = st.state in (NodeState.QUEUED, NodeState.RUNNING) or (
                st.state == NodeState.SKIPPED and result.cancelled and node_id not in result.outputs)
            if not unfinished:
                continue
            before = before_run.get(node_id)
            if before is not None and node_id in self._outputs and before.state in (
                    NodeState.DONE, NodeState.CACHED, NodeState.STALE):
                self._set(node_id, before)  # a stopped run leaves the last good outputs as they were
            else:
                self._set(node_id, RunState(NodeState.SKIPPED, message="run cancelled"))
        changed, self._changed_while_running = self._changed_while_running, set()
        self.mark_stale(changed)  # edited during the run: the results shown are of the old settings
        self.finished.emit(result)

    def _set(self, node_id: str, state: RunState | None) -> None:
        if state is None:
            self.states.pop(node_id, None)
        else:
            self.states[node_id] = state
        self.state_changed.emit(node_id, state)

    def mark_stale(self, node_ids: set[str]) -> None:
        """Nodes whose inputs or parameters changed since their last run."""
        if self.running:
            self._changed_while_running |= node_ids
        for node_id in node_ids:
            st = self.states.get(node_id)
            if st is not None and st.state.settled:
                self._set(node_id, RunState(NodeState.STALE, message="changed since the last run"))

    def forget(self, node_ids: set[str] | None = None) -> None:
        """Drop shown states (all, or of removed nodes); the engine keeps its cache for reuse."""
        if node_ids is None:
            self._outputs.clear()
            self._seconds.clear()
        for node_id in list(self.states) if node_ids is None else node_ids:
            if node_id in self.states:
                self._set(node_id, None)
            self._outputs.pop(node_id, None)
            self._seconds.pop(node_id, None)

    def seconds(self, node_id: str) -> float | None:
        """How long the node took when it last ran (not when it was reused)."""
        return self._seconds.get(node_id)

    def outputs(self, node_id: str) -> dict[str, Any]:
        """A node's last good outputs: from the last run that finished it (a run up to another node, a stopped
        or a failed run keep the earlier ones)."""
        return self._outputs.get(node_id, {})
