"""Start the desktop designer: `pipeline-designer` or `pipeline-designer open FILE`."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from designer.core.errors import BadInput
from designer.core.pipeline import parse_pipeline
from designer.gui.main_window import APP, MainWindow
from designer.gui.recovery import Recovered, find_recovered
from designer.gui.theme import apply_theme

RUN_ON_START = "PIPELINE_DESIGNER_RUN_ON_START"
"""Set to 1 to start a run as soon as the window shows (used to take documentation screenshots)."""


def application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    app.setApplicationName("pipeline-designer")
    app.setOrganizationName("pipeline-designer")
    app.setApplicationDisplayName(APP)
    return app  # type: ignore[return-value]


def ask_recovery(window: MainWindow, found: Recovered, index: int, total: int) -> str:
    """'restore', 'later' (keep the copy, ask again next start) or 'discard' (delete it)."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(found.saved_at))
    box = QMessageBox(QMessageBox.Question, "Restore unsaved work?",
                      f"Pipeline Designer closed without saving “{found.name}” ({found.original or 'never saved'})."
                      f"\nAn autosaved copy from {when} exists" + (f" ({index} of {total})" if total > 1 else "")
                      + ". Restore it?", QMessageBox.NoButton, window)
    restore = box.addButton("Restore", QMessageBox.AcceptRole)
    later = box.addButton("Keep for Later", QMessageBox.RejectRole)
    discard = box.addButton("Discard", QMessageBox.DestructiveRole)
    box.setDefaultButton(restore)
    box.exec()
    clicked = box.clickedButton()
    return "restore" if clicked is restore else "discard" if clicked is discard else "later" if clicked is later \
        else "later"


def offer_recovery(window: MainWindow, new_window: Callable[[], MainWindow] | None = None) -> bool:
    """Offer every autosaved copy left by a window that ended without saving (newest first): the first one
    restored goes into `window`, each further one into a window from `new_window`. A copy is deleted only when
    it was restored or the user chose Discard; 'Keep for Later' leaves it for the next start."""
    found = find_recovered()
    restored = False
    for i, r in enumerate(found, 1):
        answer = ask_recovery(window, r, i, len(found))
        if answer == "discard":
            r.discard()
        if answer != "restore":
            continue
        target = window if not restored else (new_window() if new_window else None)
        if target is None:
            continue
        try:
            pipeline = parse_pipeline(r.file.read_text(encoding="utf-8"), str(r.file))
        except (BadInput, OSError) as e:
            window.show_error("Cannot restore", str(e))
            continue
        target.set_document(pipeline, Path(r.original) if r.original else None, clean=False)
        target.autosave()  # the restored work is safe in the new window's own copy before the old one goes
        r.discard()
        restored = True
    return restored


def main(pipeline_path: str | None = None) -> int:
    """Open the main window (with `pipeline_path` if given) and run the event loop; returns the exit status."""
    app = application()
    settings = QSettings()
    apply_theme(app, str(settings.value("theme", "system")))
    window = MainWindow(settings)
    screen = app.primaryScreen()
    if settings.value("geometry") is None and screen is not None:  # first start: most of the screen
        area = screen.availableGeometry()
        window.resize(int(area.width() * 0.94), int(area.height() * 0.94))
        window.move(area.center() - window.rect().center())
    window.show()
    app.processEvents()
    windows = [window]

    def new_window() -> MainWindow:
        w = MainWindow(settings)
        w.show()
        windows.append(w)
        return w

    if not offer_recovery(window, new_window) and pipeline_path:
        window.open_file(pipeline_path, confirm=False)
    if os.environ.get(RUN_ON_START) == "1":
        QTimer.singleShot(500, window.run)
    return app.exec()
