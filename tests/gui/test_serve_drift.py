"""The Runs dock's "Serve locally…" (a real `pipeline-designer serve` child process: URL, state, requests,
p50/p99, last requests, stop) and the Drift tab (a registered model's captures against its profile)."""

from __future__ import annotations

import contextlib
import io

import pandas as pd
import pytest
from PySide6.QtWidgets import QApplication

from designer import cli
from designer.gui.runs.panel import RunsPanel
from tests.conftest import DATA, SAMPLES
from tests.serve_helpers import http_call

MESSY = SAMPLES / "messy_housing_boosted_trees.pipeline.json"


def call(argv: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert cli.main(argv) == 0, err.getvalue()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A run store with messy:1 registered and its 600 rows captured by `score --capture`."""
    root = tmp_path_factory.mktemp("gui-store")
    folder = root / "store"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIPELINE_DESIGNER_STORE", str(folder))
        call(["run", str(MESSY), "--out", str(root / "out")])
        call(["models", "register", "latest", "train", "--name", "messy"])
        rows = root / "rows.csv"
        pd.read_csv(DATA / "messy_housing.csv").drop(columns=["price_k"]).to_csv(rows, index=False)
        call(["score", "messy:1", str(rows), "-o", str(root / "s.csv"), "--capture"])
    return folder / "runs.sqlite"


@pytest.fixture
def panel(qtbot, store):
    p = RunsPanel()
    qtbot.addWidget(p)
    p.set_pipeline(store, "Messy housing prices")
    p.show()
    QApplication.processEvents()
    p.tabs.setCurrentWidget(p.models)
    yield p
    p.stop_serving()


def test_serve_locally_shows_url_state_and_requests(panel, qtbot):
    models = panel.models
    assert [m.ref for m in models.models] == ["messy:1"] and models.serve_button.isEnabled()
    models.serve_button.click()
    dialog = panel.serving["messy:1"]
    assert dialog.state in ("starting", "serving")
    qtbot.waitUntil(lambda: dialog.state in ("serving", "failed"), timeout=90_000)
    assert dialog.state == "serving", dialog.errors.toPlainText()
    assert dialog.url.startswith("http://127.0.0.1:") and "try-it" in dialog.url_label.text()
    port = int(dialog.url.rsplit(":", 1)[1])
    row = {"area_m2": 80.0, "rooms": 3, "age_years": 10, "distance_km": 2.5, "city": "Porto", "condition": "good",
           "garden": "no"}
    for _ in range(3):
        assert http_call(port, "POST", "/invocations", {"dataframe_records": [row]})[0] == 200
    assert http_call(port, "POST", "/invocations", {"dataframe_records": [{"city": "Nowhere"}]})[0] == 422
    assert http_call(port, "GET", "/")[0] == 200  # the try-it page the link opens
    qtbot.waitUntil(lambda: dialog.stats.get("requests", 0) >= 5, timeout=20_000)
    assert dialog.requests_label.text() == "5 requests, 3 rows scored, 1 refused"
    assert dialog.latency_label.text().startswith("p50 ")
    assert dialog.recent.rowCount() == 5 and dialog.recent.item(0, 2).text() == "200"
    from designer.core.serve.endpoints import list_endpoints

    assert [e["url"] for e in list_endpoints()] == [dialog.url]  # `endpoints list` sees it too
    dialog.stop_button.click()
    qtbot.waitUntil(lambda: dialog.state == "stopped", timeout=30_000)
    assert dialog.stopped and dialog.stopped["requests"] >= 5 and "after" in dialog.state_label.text()
    assert list_endpoints() == []


def test_drift_tab_checks_the_captured_traffic(panel, qtbot, tmp_path):
    panel.models.drift_button.click()
    assert panel.tabs.currentWidget() is panel.drift
    view = panel.drift
    qtbot.waitUntil(lambda: view.report is not None or bool(view.error), timeout=60_000)
    assert view.report is not None, view.error
    assert view.report["verdict"] == "no drift" and "Data: no drift" in view.summary.text()
    texts = view.texts()
    assert "area_m2" in texts and "(predictions)" in texts and "normalized Wasserstein" in texts
    assert view.trend.rowCount() == 1
    page = view.save_html(str(tmp_path / "drift.html"))
    assert page is not None and page.read_text().startswith("<!DOCTYPE html>")


def test_drift_tab_says_when_nothing_was_captured(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_DESIGNER_STORE", str(tmp_path / "s"))
    call(["run", str(SAMPLES / "diabetes_linear_regression.pipeline.json"), "--out", str(tmp_path / "o")])
    call(["models", "register", "latest", "train", "--name", "diabetes"])
    p = RunsPanel()
    qtbot.addWidget(p)
    p.set_pipeline(tmp_path / "s" / "runs.sqlite", "Diabetes regression")
    p.show()
    QApplication.processEvents()
    p.check_drift("diabetes:1")
    qtbot.waitUntil(lambda: bool(p.drift.error), timeout=60_000)
    assert "no captured rows" in p.drift.error and "--capture" in p.drift.summary.text()
    assert not p.drift.save_button.isEnabled()
