"""`pipeline-designer open FILE` starts the window with the pipeline (in a subprocess: its own QApplication)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.conftest import ROOT, SAMPLES

SCRIPT = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from designer.cli import main
    from designer.gui.app import application

    application()  # the timer below needs the application's event dispatcher

    def report():
        windows = [w for w in QApplication.topLevelWidgets() if w.isVisible() and w.windowTitle()]
        for w in windows:
            print("TITLE", w.windowTitle(), "modified" if w.isWindowModified() else "clean")
        QApplication.instance().quit()

    QTimer.singleShot(1500, report)
    sys.exit(main(["open", sys.argv[1]]))
""")


def test_open_command_shows_the_pipeline(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "PIPELINE_DESIGNER_RECOVERY_DIR": str(tmp_path / "rec")}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(SAMPLES / "diabetes_linear_regression.pipeline.json")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    titles = [line for line in proc.stdout.splitlines() if line.startswith("TITLE")]
    assert len(titles) == 1 and "Diabetes regression" in titles[0] and titles[0].endswith("clean")
