"""Run actions of a main window: start a run (after validation), follow it on the canvas, the progress bar
and the status bar, and show results on the nodes when it ends or when saved results are restored."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from designer.core.lifecycle import RunSession
from designer.core.states import NodeState
from designer.gui.canvas.node_item import RunState

if TYPE_CHECKING:
    from designer.gui.main_window import MainWindow


class RunActions:
    """Starts runs of the window's document and shows how they go."""

    def __init__(self, window: "MainWindow") -> None:
        self.w = window
        self._run_nodes: set[str] = set()

    def run(self, upto: str | None = None) -> None:
        if self.w.runner.running:
            return
        v = self.w.validate_now()
        if not v.ok:
            first = v.errors[0]
            self.w.show_status(f"Cannot run: {len(v.errors)} problem{'s' * (len(v.errors) != 1)} — "
                             f"{first.location.describe()}: {first.message}")
            self.w.next_problem()
            return
        if not self.w.doc.pipeline.nodes:
            self.w.show_status("Nothing to run: add modules from the palette first")
            return
        self._run_nodes = set()
        self.w.runner.start(self.w.doc.snapshot(), self.w.doc.base_dir, upto, self.w.doc.path)
        self.w.show_status("Running…" if upto is None else f"Running up to '{upto}'…", 0)

    def run_to_selected(self) -> None:
        ids = self.w.scene.selected_node_ids()
        if len(ids) != 1:
            self.w.show_status("Select one node to run up to")
            return
        self.run(upto=next(iter(ids)))

    def on_run_state(self, node_id: str, state: RunState | None) -> None:
        self.w.scene.set_run_state(node_id, state)
        if state is None:
            self.w.scene.set_results(node_id, None, None)
        if not self.w.runner.running:
            self.w._refresh_outputs()  # edited (out of date) or forgotten outputs
            return
        if state is None:
            return
        if state.state == NodeState.QUEUED:
            self._run_nodes.add(node_id)
        done = sum(1 for n in self._run_nodes
                   if self.w.runner.states.get(n, RunState(NodeState.QUEUED)).state.settled)
        self.w.progress.setMaximum(max(1, len(self._run_nodes)))
        self.w.progress.setValue(done)

    def running_changed(self, running: bool) -> None:
        self.w.act_run.setEnabled(not running)
        self.w.act_run_upto.setEnabled(not running)
        self.w.act_stop.setEnabled(running)
        self.w.act_stop.setText("S&top")
        self.w.progress.setVisible(running)
        if getattr(self.w, "_last_validation", None) is not None:
            self.w._apply_validation(self.w._last_validation)  # the status reads "Running…" only while it is
        self.w.progress.setValue(0)

    def results_restored(self, found: dict[str, Any]) -> None:
        for node_id in found:
            self.w.scene.set_results(node_id, self.w.runner.outputs(node_id), self.w.runner.seconds(node_id))
        if found:
            self.w.show_status(f"Showing the saved results of {len(found)} node{'s' * (len(found) != 1)} from "
                             "earlier runs (unchanged since)")
            self.w.panel.show_node(self.w.panel.node_id)
            self.w._refresh_outputs()

    def stopping(self) -> None:
        self.w.act_stop.setEnabled(False)
        self.w.act_stop.setText("Stopping…")
        self.w.show_status("Stopping… (the running node ends within a second; earlier outputs are kept)", 0)

    def run_finished(self, result: Any) -> None:
        ran = len(result.executed())
        reused = sum(1 for s in result.status.values() if s == NodeState.CACHED)
        total = sum(result.seconds.values())
        if result.cancelled:
            text = "Run stopped: the outputs of earlier runs are kept"
        elif result.errors:
            node, message = next(iter(result.errors.items()))
            text = f"Run failed: '{node}': {message.splitlines()[0]}"
        else:
            text = f"Run finished: {ran} ran, {reused} reused, {total:.2f} s"
        self.w.show_status(text + self.record_note(self.w.runner.last_recorded), 0)
        for node_id in self.w.scene.nodes:
            self.w.scene.set_results(node_id, self.w.runner.outputs(node_id), self.w.runner.seconds(node_id))
        self.w.panel.show_node(self.w.panel.node_id)
        self.w._refresh_outputs()

    @staticmethod
    def record_note(recorded: RunSession | None) -> str:
        if recorded is None:
            return ""
        if recorded.warnings:
            return " · not recorded: run store problem (see Runs)" if not recorded.run_id else \
                " · recorded with warnings (see Runs)"
        where = "" if recorded.pipeline_path is not None else \
            " in your own run store (not saved yet; it moves beside the file when you save)"
        return f" · recorded as run {recorded.run_id}{where}"
