"""File → Export → Python script and the model viewer's "Copy as Python"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from designer.gui.viewers.model_viewer import ModelViewer


def _run(w, qtbot) -> None:
    w.run()
    qtbot.waitUntil(lambda: not w.runner.running, timeout=120_000)


def test_export_menu_asks_for_a_run_first_then_writes_a_script_that_checks(diabetes, qtbot, tmp_path: Path) -> None:
    w = diabetes
    menu_texts = [a.text() for a in w.menuBar().actions()[0].menu().actions()]
    assert "&Export" in menu_texts
    assert w.export_python(str(tmp_path / "x.py")) is None and not (tmp_path / "x.py").exists()
    _run(w, qtbot)
    path = w.export_python(str(tmp_path / "train.py"))
    assert path is not None
    done = subprocess.run([sys.executable, path, "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "identical to the designer's results" in done.stdout


def test_copy_as_python_puts_the_models_pipeline_on_the_clipboard(diabetes, qtbot) -> None:
    w = diabetes
    _run(w, qtbot)
    model = w.runner.outputs("train")["model"]
    viewer = ModelViewer(model)
    qtbot.addWidget(viewer)
    viewer.copy_python.click()
    text = QApplication.clipboard().text()
    assert "model = Pipeline([" in text and "StandardScaler(" in text and "LinearRegression(" in text
    compile(text, "<clipboard>", "exec")


def test_copy_as_python_button_copies_a_script_that_predicts_like_the_model(diabetes, qtbot) -> None:
    """A real click on the viewer's button; the copied Pipeline, fitted on the same training rows, scores the
    test rows as the designer did."""
    import numpy as np
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    w = diabetes
    _run(w, qtbot)
    model = w.runner.outputs("train")["model"]
    viewer = ModelViewer(model)
    qtbot.addWidget(viewer)
    viewer.show()
    qtbot.waitExposed(viewer)
    QApplication.clipboard().setText("")
    assert viewer.copy_python.isVisible() and viewer.copy_python.text() == "Copy as Python"
    QTest.mouseClick(viewer.copy_python, Qt.LeftButton)
    text = QApplication.clipboard().text()
    namespace: dict = {}
    exec(compile(text, "<clipboard>", "exec"), namespace)  # noqa: S102  (the app's own generated code)
    train = w.runner.outputs("split")["train"].frame
    test = w.runner.outputs("split")["test"].frame
    pipeline = namespace["model"].fit(train[namespace["INPUTS"]], train["progression"])
    scored = w.runner.outputs("score")["scored"].frame
    assert np.allclose(pipeline.predict(test[namespace["INPUTS"]]), scored["prediction"].to_numpy())
