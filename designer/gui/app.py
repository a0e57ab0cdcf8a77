"""Start the desktop designer: `pipeline-designer` or `pipeline-designer open FILE`."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from designer.core.errors import BadInput
from designer.core.pipeline import parse_pipeline
from designer.gui.main_window import APP, MainWindow
from designer.gui.recovery import find_recovered
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


def offer_recovery(window: MainWindow) -> bool:
    """Offer to restore the newest autosaved copy left by a run that ended without saving."""
    found = find_recovered()
    if not found:
        return False
    newest = found[0]
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(newest.saved_at))
    answer = QMessageBox.question(
        window, "Restore unsaved work?",
        f"Pipeline Designer closed without saving “{newest.name}” ({newest.original or 'never saved'}).\n"
        f"An autosaved copy from {when} exists. Restore it?",
        QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
    restored = False
    if answer == QMessageBox.Yes:
        try:
            pipeline = parse_pipeline(newest.file.read_text(encoding="utf-8"), str(newest.file))
            window.set_document(pipeline, Path(newest.original) if newest.original else None, clean=False)
            restored = True
        except (BadInput, OSError) as e:
            window.show_error("Cannot restore", str(e))
    for r in found:
        r.discard()
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
    if not offer_recovery(window) and pipeline_path:
        window.open_file(pipeline_path, confirm=False)
    if os.environ.get(RUN_ON_START) == "1":
        QTimer.singleShot(500, window.run)
    return app.exec()
