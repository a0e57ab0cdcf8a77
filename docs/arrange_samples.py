"""Re-arrange every sample pipeline with the designer's own Arrange (Ctrl+L) and save it (offscreen).

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/arrange_samples.py

Only the "positions" line of the layout section changes: node sizes come from the canvas (titles decide widths), links are routed
around nodes, and tests/gui/test_geometry.py checks that no link crosses a node in any sample.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PIPELINE_DESIGNER_RECOVERY_DIR", tempfile.mkdtemp(prefix="pd-arrange-"))


def main() -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from designer.gui.app import application
    from designer.gui.main_window import MainWindow

    application()
    for path in sorted((ROOT / "sample_pipelines").glob("*.pipeline.json")):
        window = MainWindow(QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.IniFormat))
        window.resize(1500, 900)
        window.show()
        QApplication.processEvents()
        window.open_file(path, confirm=False)
        window.arrange()
        positions = {n.id: [round(v) for v in window.doc.position(n.id)] for n in window.doc.pipeline.nodes}
        line = '"positions": {' + ", ".join(f'"{k}": [{x}, {y}]' for k, (x, y) in positions.items()) + "}"
        text, count = re.subn(r'"positions": \{[^}]*\}', lambda _: line, path.read_text(), count=1)
        assert count == 1, path
        path.write_text(text)
        window.stack.setClean()
        print(f"arranged {path.name}")
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
