"""The Outputs dock: the selected node's last-run outputs, shown with the viewers of `designer.gui.viewers`."""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QTabWidget, QVBoxLayout, QWidget


def _viewer(kind: str) -> Any:
    from designer.gui import viewers  # lazy: matplotlib and pandas are heavy

    return getattr(viewers, kind)


def viewers_for(port: str, value: Any, inputs: dict[str, Any]) -> list[tuple[str, Callable[[], QWidget]]]:
    """(tab title, factory) pairs for one output value; the factories build the widgets when called."""
    if hasattr(value, "frame"):
        rows = f"{len(value.frame):,} rows"
        return [(f"{port} · {rows}", lambda: _viewer("TableViewer")(value, name=port)),
                (f"{port} · profile", lambda: _viewer("ProfileViewer")(value, name=port))]
    if hasattr(value, "entries"):
        scored = {p: v for p, v in inputs.items() if hasattr(v, "frame")} or None
        return [(f"{port} · evaluation", lambda: _viewer("EvaluationViewer")(value, scored))]
    if hasattr(value, "estimator") and hasattr(value, "recipe"):
        return [(f"{port} · model", lambda: _viewer("ModelViewer")(value))]
    return []


class OutputsPanel(QWidget):
    """Tabs with one viewer per output of one node; a viewer that fails shows its error instead."""

    def __init__(self) -> None:
        super().__init__()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.message = QLabel("Run the pipeline, then select a node to see its outputs here.")
        self.message.setAlignment(Qt.AlignCenter)
        self.message.setObjectName("hint")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message)
        layout.addWidget(self.tabs, 1)
        self.tabs.hide()
        self.shown: tuple[str | None, int] = (None, 0)

    def show_outputs(self, node_id: str | None, outputs: dict[str, Any], inputs: dict[str, Any]) -> None:
        key = (node_id, id(outputs))
        if key == self.shown:
            return
        self.shown = key
        current = self.tabs.tabText(self.tabs.currentIndex())
        while self.tabs.count():
            w = self.tabs.widget(0)
            self.tabs.removeTab(0)
            w.deleteLater()
        pages = [p for port, value in outputs.items() for p in viewers_for(port, value, inputs)]
        for title, make in pages:
            try:
                widget = make()
            except Exception as e:  # noqa: BLE001  (a viewer problem must not break the editor)
                widget = QLabel(f"Cannot show this output: {type(e).__name__}: {e}")
                widget.setWordWrap(True)
            scroll = QScrollArea()  # lets the dock be shorter than a viewer likes to be
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.NoFrame)
            scroll.setWidget(widget)
            self.tabs.addTab(scroll, title)
            if title == current:
                self.tabs.setCurrentIndex(self.tabs.count() - 1)
        self.tabs.setVisible(bool(pages))
        self.message.setVisible(not pages)
        if not pages:
            self.message.setText("Run the pipeline, then select a node to see its outputs here." if node_id is None
                                 or not outputs else "This node's outputs have no viewer.")
