"""A matplotlib Figure (from designer.core.plots) on a Qt canvas, with "Save image…" on a button and the
right-click menu."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QHBoxLayout, QMenu, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from designer.gui.viewers.export import ask_save_figure, save_figure


class FigureView(QWidget):
    """Shows one figure; `set_figure` swaps it (a canvas belongs to one figure, so the canvas is rebuilt)."""

    def __init__(self, figure: Figure | None = None, name: str = "plot", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.canvas: FigureCanvasQTAgg | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        bar = QHBoxLayout()
        bar.addStretch(1)
        self.save_button = QToolButton(text="Save image…", toolTip="Save this plot as PNG or SVG")
        self.save_button.clicked.connect(self.ask_save)
        bar.addWidget(self.save_button)
        self._layout.addLayout(bar)
        self.set_figure(figure or Figure())

    @property
    def figure(self) -> Figure:
        assert self.canvas is not None
        return self.canvas.figure

    def set_figure(self, figure: Figure, name: str | None = None) -> None:
        if name:
            self.name = name
        if self.canvas is not None:
            self._layout.removeWidget(self.canvas)
            self.canvas.hide()  # deleted later, when control is back in the event loop
            self.canvas.deleteLater()
        self.canvas = FigureCanvasQTAgg(figure)
        self.canvas.setMinimumSize(280, 200)
        self.canvas.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.canvas.setContextMenuPolicy(Qt.CustomContextMenu)
        self.canvas.customContextMenuRequested.connect(self._menu)
        if getattr(figure, "keep_aspect", False):  # a matrix with its colour bar: its own shape, centred
            self._layout.addWidget(self.canvas, 1, Qt.AlignHCenter)
        else:
            self._layout.addWidget(self.canvas, 1)
        self._fit_aspect()
        self.canvas.draw_idle()

    def _fit_aspect(self) -> None:
        figure = self.canvas.figure if self.canvas is not None else None
        if figure is None or not getattr(figure, "keep_aspect", False):
            return
        w, h = figure.get_size_inches()
        height = max(self.canvas.minimumHeight(), self.height() - 30)
        self.canvas.setMaximumWidth(max(self.canvas.minimumWidth(), int(height * w / h)))

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit_aspect()

    def save(self, path: str | Path) -> Path:
        """Save the figure as PNG or SVG (by suffix) without asking."""
        return save_figure(self.figure, path)

    def ask_save(self) -> Path | None:
        return ask_save_figure(self, self.figure, self.name)

    def _menu(self, pos: QPoint) -> None:
        menu = QMenu(self)
        menu.addAction("Save image as PNG or SVG…", self.ask_save)
        assert self.canvas is not None
        menu.exec(self.canvas.mapToGlobal(pos))
