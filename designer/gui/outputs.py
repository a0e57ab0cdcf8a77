"""The Outputs dock: closable tabs, each one viewer ("table", "profile", "model", "evaluation") of one output
port, titled "node.port · kind". Tabs stay open across runs and refresh when their output changes; an output
that is gone (failed, skipped, removed, not run yet) shows why instead of stale data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QMenu, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from designer.core.states import NodeState
from designer.core.pipeline import Pipeline
from designer.core.stream import TableStream

if TYPE_CHECKING:
    from designer.gui.runner import RunController

KINDS: dict[str, tuple[str, ...]] = {"Table": ("table", "profile"), "Model": ("model",), "Report": ("evaluation",)}
"""The viewers that fit each port type."""
_CLASSES = {"table": "TableViewer", "profile": "ProfileViewer", "model": "ModelViewer",
            "evaluation": "EvaluationViewer"}
_FITS = {"table": "frame", "profile": "frame", "model": "estimator", "evaluation": "entries"}
HINT = "Double-click a node, or right-click an output port, to open its outputs here."


def kinds_for(port_type: str) -> tuple[str, ...]:
    return KINDS.get(port_type, ())


@dataclass(frozen=True)
class OutputKey:
    """One viewer of one output port."""

    node: str
    port: str
    kind: str

    @property
    def title(self) -> str:
        return f"{self.node}.{self.port} · {self.kind}"


@dataclass
class Output:
    """A port's current value with the node's inputs (evaluation plots use the scored tables), or why there is
    no value; `note` warns that a value may be out of date."""

    value: Any = None
    inputs: dict[str, Any] = field(default_factory=dict)
    scored: Any = None
    """For a model: the rows a Score Model node it feeds scored (for permutation importance), if any."""
    missing: str = ""
    note: str = ""


def output_of(runner: "RunController", pipeline: Pipeline, node: str, port: str) -> Output:
    """What the Outputs dock shows for (node, port) after the runs so far."""
    if not pipeline.has_node(node):
        return Output(missing=f"node '{node}' is no longer in the pipeline")
    state = runner.states.get(node)
    value = runner.outputs(node).get(port)
    if value is None:
        if state is not None and state.state == NodeState.FAILED:
            return Output(missing=f"'{node}' failed: {state.message}")
        if state is not None and state.state == NodeState.SKIPPED:
            return Output(missing=f"'{node}' did not run ({state.message or 'skipped'})")
        return Output(missing="not run yet: run the pipeline to see this output" if state is None or
                      state.state in (NodeState.QUEUED, NodeState.RUNNING) else f"'{node}' has no output '{port}'")
    inputs = {l.target_port: runner.outputs(l.source_node).get(l.source_port) for l in pipeline.links_into(node)}
    scored = next((v for l in pipeline.links if l.source == f"{node}.{port}" and l.target_port == "model"
                   for v in [runner.outputs(l.target_node).get("scored")] if v is not None), None)
    if isinstance(value, TableStream):
        return _first_chunk(value, inputs, _note(node, state))
    return Output(value, inputs, scored=scored, note=_note(node, state))


def _note(node: str, state: Any) -> str:
    """Why a shown value may not be what the pipeline gives now: kept from an earlier run, or out of date."""
    if state is None:
        return ""
    if state.state == NodeState.STALE:
        return "Out of date: this node changed since it ran. Run again to refresh."
    if state.state == NodeState.FAILED:
        return f"From an earlier run: '{node}' failed this time ({state.message.splitlines()[0]})."
    if state.state in (NodeState.SKIPPED, NodeState.QUEUED, NodeState.RUNNING):
        return f"From an earlier run: '{node}' did not run this time ({state.message or 'skipped'})."
    return ""


def _first_chunk(stream: TableStream, inputs: dict[str, Any], note: str) -> Output:
    """Rows read in chunks are never all in memory: the viewers show the first chunk."""
    from designer.core.errors import BadInput

    try:
        head = stream.head()
    except (BadInput, OSError, StopIteration) as e:
        return Output(missing=f"the first chunk of rows cannot be read: {e}")
    rows = f" of {stream.rows:,}" if stream.rows else ""
    return Output(head, inputs, note=" ".join(filter(None, [note, f"These rows are read in chunks: this shows the "
                                                              f"first {len(head.frame):,}{rows} rows."])))


def _viewer_args(kind: str, out: Output) -> tuple[Any, ...]:
    return (out.value, out.scored) if kind == "model" else (out.value,)


class OutputTab(QWidget):
    """One open viewer; `show_output` builds it, refreshes it, or replaces it with the reason it is empty."""

    def __init__(self, key: OutputKey) -> None:
        super().__init__()
        self.key = key
        self.viewer: QWidget | None = None
        self.value: Any = None
        self.note = QLabel(objectName="staleNote", wordWrap=True)
        self.note.setStyleSheet("background: #fef3c7; color: #92400e; padding: 4px 8px;")
        self.message = QLabel(alignment=Qt.AlignCenter, wordWrap=True, objectName="hint")
        self.scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.NoFrame)  # the dock may be short
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.note)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.scroll, 1)

    @property
    def missing(self) -> bool:
        return self.message.isVisibleTo(self)

    def show_output(self, out: Output) -> None:
        self.note.setText(out.note)
        self.note.setVisible(bool(out.note) and out.value is not None)
        if out.value is None:
            self._show_message(f"No output: {out.missing}")
            return
        if not hasattr(out.value, _FITS[self.key.kind]):
            self._show_message(f"No output: '{self.key.port}' is not something a {self.key.kind} viewer shows")
            return
        if out.value is not self.value:
            try:
                if self.viewer is None:
                    self._make_viewer(out)
                else:
                    self.viewer.refresh(*_viewer_args(self.key.kind, out))  # type: ignore[attr-defined]
            except Exception as e:  # noqa: BLE001  (a viewer problem must not break the editor)
                self.value = None
                self._show_message(f"Cannot show this output: {type(e).__name__}: {e}")
                return
            self.value = out.value
        self.message.hide()
        self.scroll.show()

    def _make_viewer(self, out: Output) -> None:
        from designer.gui import viewers  # lazy: matplotlib and pandas are heavy

        cls = getattr(viewers, _CLASSES[self.key.kind])
        named = {"name": f"{self.key.node}.{self.key.port}"} if self.key.kind in ("table", "profile") else {}
        self.viewer = cls(*_viewer_args(self.key.kind, out), **named)
        self.scroll.setWidget(self.viewer)

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()
        self.scroll.hide()


class OutputsPanel(QWidget):
    """Open output viewers as closable tabs; `lookup(node, port)` says what each one should show now."""

    def __init__(self, lookup: Callable[[str, str], Output]) -> None:
        super().__init__()
        self.lookup = lookup
        self.tabs = QTabWidget(documentMode=True, tabsClosable=True, movable=True)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.message = QLabel(HINT, alignment=Qt.AlignCenter, wordWrap=True, objectName="hint")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message)
        layout.addWidget(self.tabs, 1)
        self._update_hint()

    def pages(self) -> list[OutputTab]:
        return [self.tabs.widget(i) for i in range(self.tabs.count())]  # type: ignore[misc]

    def titles(self) -> list[str]:
        return [self.tabs.tabText(i) for i in range(self.tabs.count())]

    def tab(self, key: OutputKey) -> OutputTab | None:
        return next((t for t in self.pages() if t.key == key), None)

    def open(self, node: str, port: str, kind: str, focus: bool = True) -> OutputTab:
        """Open (or bring forward) the `kind` viewer of node.port, showing its current output."""
        key = OutputKey(node, port, kind)
        page = self.tab(key)
        if page is None:
            page = OutputTab(key)
            self.tabs.addTab(page, key.title)
            self.tabs.setTabToolTip(self.tabs.count() - 1, f"{kind} of output '{port}' of node '{node}'")
        page.show_output(self.lookup(node, port))
        if focus:
            self.tabs.setCurrentWidget(page)
        self._update_hint()
        return page

    def refresh(self) -> None:
        """Show every open tab's current output (after a run, or when a node is removed)."""
        for page in self.pages():
            page.show_output(self.lookup(page.key.node, page.key.port))

    def close_tab(self, index: int) -> None:
        page = self.tabs.widget(index)
        self.tabs.removeTab(index)
        page.deleteLater()
        self._update_hint()

    def close_all(self) -> None:
        while self.tabs.count():
            self.close_tab(0)

    def _update_hint(self) -> None:
        self.tabs.setVisible(self.tabs.count() > 0)
        self.message.setVisible(self.tabs.count() == 0)


def add_open_actions(menu: QMenu, panel: OutputsPanel, node: str, port: str, port_type: str,
                     on_open: Callable[[], None] = lambda: None) -> None:
    """Add "Open <port> as <kind>" items for one output to a context menu (`on_open` runs after opening)."""
    kinds = kinds_for(port_type)
    for kind in kinds:
        def open_it(checked: bool = False, kind: str = kind) -> None:
            panel.open(node, port, kind)
            on_open()

        menu.addAction(f"Open {port} as {kind}", open_it)
    if not kinds:
        menu.addAction(f"No viewer for {port_type} outputs").setEnabled(False)
