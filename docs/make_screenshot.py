"""Render docs/designer.png: a sample pipeline after a run, with a node selected (offscreen, QWidget.grab).

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_screenshot.py [SAMPLE] [--dark] [--outputs]
    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_screenshot.py --samples   # docs/sample-<name>.png each

--outputs also opens the Outputs dock on the selected node (docs/designer-outputs.png).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PIPELINE_DESIGNER_RECOVERY_DIR", tempfile.mkdtemp(prefix="pd-shot-"))


def main(argv: list[str]) -> int:
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QApplication

    from designer.gui.app import application
    from designer.gui.main_window import MainWindow
    from designer.gui.theme import apply_theme

    if "--samples" in argv:
        for path in sorted((ROOT / "sample_pipelines").glob("*.pipeline.json")):
            main([path.name.removesuffix(".pipeline.json"), f"--to=sample-{path.name.split('.')[0]}.png"])
        return 0
    dark = "--dark" in argv
    names = [a for a in argv if not a.startswith("--")]
    os.environ.setdefault("PIPELINE_DESIGNER_STORE", tempfile.mkdtemp(prefix="pd-shot-store-"))  # no saved results
    sample = ROOT / "sample_pipelines" / f"{names[0] if names else 'messy_housing_boosted_trees'}.pipeline.json"
    with_outputs = "--outputs" in argv
    out = ROOT / "docs" / ("designer" + ("-dark" if dark else "") + ("-outputs" if with_outputs else "") + ".png")
    named = [a for a in argv if a.startswith("--to=")]
    if named:
        out = ROOT / "docs" / named[0][5:]
    app = application()
    apply_theme(app, "dark" if dark else "light")
    window = MainWindow(QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.IniFormat))
    window.resize(1500, 1000 if with_outputs else 900)
    window.show()
    QApplication.processEvents()
    window.open_file(sample, confirm=False)
    window.validate_now()
    window.run()
    deadline = time.time() + 900  # a shared machine can be slow; a screenshot mid-run would mislead
    while window.runner.running and time.time() < deadline:
        QApplication.processEvents()
        time.sleep(0.02)
    QApplication.processEvents()
    last = window.doc.pipeline.nodes[-1].id
    window.scene.select_only({last})
    if with_outputs:
        window.show_outputs(last)  # opens the Outputs dock
        QApplication.processEvents()
        window.resizeDocks([window.outputs_dock], [380], Qt.Vertical)
        QApplication.processEvents()
    window.view.fit()
    QApplication.processEvents()
    window.grab().save(str(out))
    print(f"wrote {out}")
    window.stack.setClean()
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
