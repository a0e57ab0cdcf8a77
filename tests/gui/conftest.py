"""GUI test fixtures: a main window on the offscreen platform, and helpers that send real mouse events."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest

_HOME = tempfile.mkdtemp(prefix="pd-gui-tests-")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_HOME, "config")  # keep QSettings/QStandardPaths out of $HOME
os.environ["XDG_DATA_HOME"] = os.path.join(_HOME, "data")
os.environ["XDG_CACHE_HOME"] = os.path.join(_HOME, "cache")

pytest.importorskip("PySide6.QtWidgets")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QPointF, QSettings, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from designer.gui.app import application  # noqa: E402
from designer.gui.main_window import MainWindow  # noqa: E402
from designer.gui.theme import apply_theme  # noqa: E402
from tests.conftest import SAMPLES  # noqa: E402

DIABETES = SAMPLES / "diabetes_linear_regression.pipeline.json"


@pytest.fixture(scope="session")
def qapp_cls() -> Any:
    return QApplication


@pytest.fixture(scope="session")
def qapp(qapp_args: Any) -> Any:  # noqa: ARG001  (pytest-qt's fixture, with our names and theme)
    app = application()
    apply_theme(app, "light")
    return app


@pytest.fixture
def window(qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:
    """An empty main window, shown; dialogs are answered by attributes on the window."""
    monkeypatch.setenv("PIPELINE_DESIGNER_RECOVERY_DIR", str(tmp_path / "appdata"))
    w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    w.errors = []  # type: ignore[attr-defined]
    w.answer = "discard"  # type: ignore[attr-defined]
    w.show_error = lambda title, text: w.errors.append(text)  # type: ignore[method-assign,attr-defined]
    w.ask_save_changes = lambda: w.answer  # type: ignore[method-assign,attr-defined]
    qtbot.addWidget(w)
    w.resize(1300, 850)
    w.show()
    qtbot.waitExposed(w)
    QApplication.processEvents()
    yield w
    w.runner.stop()
    w.runner.wait(10)
    w.stack.setClean()


@pytest.fixture
def diabetes(window: MainWindow) -> MainWindow:
    """The window with the diabetes sample open and fitted in view."""
    assert window.open_file(DIABETES, confirm=False)
    window.validate_now()  # edits validate in the background; tests want the result now
    window.view.fit()
    QApplication.processEvents()
    window.view.setFocus()
    QApplication.processEvents()
    return window


# ---------------------------------------------------------------------------------------------- mouse
def vp(window: MainWindow, scene_pos: QPointF) -> QPoint:
    """A scene position in the view's viewport coordinates."""
    return window.view.mapFromScene(scene_pos)


def port_pos(window: MainWindow, node: str, port: str, output: bool) -> QPoint:
    item = window.scene.nodes[node]
    p = (item.outputs if output else item.inputs)[port]
    return vp(window, p.scenePos())


def node_pos(window: MainWindow, node: str, dx: float = 90, dy: float = 14) -> QPoint:
    item = window.scene.nodes[node]
    return vp(window, item.scenePos() + QPointF(dx, dy))


def drag(window: MainWindow, start: QPoint, end: QPoint, button: Qt.MouseButton = Qt.LeftButton,
         modifiers: Qt.KeyboardModifier = Qt.NoModifier, steps: int = 6) -> None:
    """Press, move in steps, release: a real mouse gesture on the canvas viewport."""
    viewport = window.view.viewport()
    QTest.mousePress(viewport, button, modifiers, start)
    for i in range(1, steps + 1):
        QTest.mouseMove(viewport, start + (end - start) * (i / steps))
    QTest.mouseRelease(viewport, button, modifiers, end)
    QApplication.processEvents()


def click(window: MainWindow, pos: QPoint, modifiers: Qt.KeyboardModifier = Qt.NoModifier) -> None:
    QTest.mouseClick(window.view.viewport(), Qt.LeftButton, modifiers, pos)
    QApplication.processEvents()


def empty_spot(window: MainWindow) -> QPoint:
    """A viewport point with no item under it."""
    view = window.view
    rect = view.viewport().rect()
    for y in range(30, rect.height() - 30, 25):
        for x in range(30, rect.width() - 250, 25):
            if not view.items(QPoint(x, y)):
                return QPoint(x, y)
    raise AssertionError("no empty spot on the canvas")
