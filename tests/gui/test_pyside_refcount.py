"""DESIGN §9: PySide6 6.12.0 on CPython 3.11 corrupts None's refcount on void Qt calls and aborts after a few
thousand. ~20,000 such calls must not crash; they run in a subprocess so a crash fails this test, not pytest."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.conftest import ROOT

SCRIPT = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication, QGraphicsRectItem, QGraphicsScene, QLabel

    app = QApplication([])
    scene = QGraphicsScene()
    item = QGraphicsRectItem(0, 0, 10, 10)
    scene.addItem(item)
    label = QLabel()
    for i in range(10_000):
        label.setToolTip(f"tip {i % 7}")   # void call
        item.setPos(QPointF(i % 13, i % 17))  # void call
    print("survived", sys.getrefcount(None) > 0)
""")


def test_twenty_thousand_void_qt_calls_do_not_crash():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    assert "survived True" in proc.stdout
