"""A lean run's outputs: Parquet scored tables, small report data with exact metrics, outputs written while
the run goes on giving the same files as written at the end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from designer.core.pipeline import load_pipeline
from designer.core.values import Table
from tests.conftest import SAMPLES

MESSY = SAMPLES / "messy_housing_boosted_trees.pipeline.json"


def test_regression_plot_data_is_a_sample_but_metrics_and_residuals_use_every_row():
    from sklearn.metrics import mean_absolute_error, r2_score

    from nodes.evaluate import PLOT_POINTS, evaluate_table

    rng = np.random.default_rng(1)
    y = rng.normal(size=12_000)
    frame = pd.DataFrame({"y": y, "prediction": y + rng.normal(scale=0.2, size=y.size)})
    entry = evaluate_table(Table(frame=frame, scored={"task": "regression", "label": "y", "model": "m"}), "scored")
    plots = entry["plots"]
    assert len(plots["actual"]) == len(plots["predicted"]) == PLOT_POINTS and plots["points_of"] == 12_000
    assert sum(plots["residuals"]["counts"]) == 12_000
    assert entry["metrics"]["mae"] == mean_absolute_error(frame["y"], frame["prediction"])
    assert entry["metrics"]["r2"] == r2_score(frame["y"], frame["prediction"])
    first = set(zip(plots["actual"], plots["predicted"]))
    assert first <= set(zip(frame["y"], frame["prediction"]))  # real points, a fixed sample
    again = evaluate_table(Table(frame=frame, scored={"task": "regression", "label": "y", "model": "m"}), "scored")
    assert again["plots"] == plots


def test_curves_are_thinned_keeping_their_ends():
    from designer.core.metrics import thin_curve

    xs = np.linspace(0, 1, 20_001)
    curve = thin_curve({"class": "a", "fpr": xs.tolist(), "tpr": np.sqrt(xs).tolist()}, ("fpr", "tpr"), cap=100)
    assert len(curve["fpr"]) == len(curve["tpr"]) == 100 and curve["fpr"][0] == 0 and curve["fpr"][-1] == 1
    assert np.all(np.diff(curve["fpr"]) > 0) and curve["class"] == "a"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """The messy sample through `run` (outputs written while it runs), and its outputs written again at the
    end only, by a writer that saw no events."""
    from designer.cli import main
    from designer.core.lifecycle import RunSession, run_pipeline
    from designer.core.runner import OutputWriter

    root = tmp_path_factory.mktemp("lean")
    assert main(["run", str(MESSY), "--out", str(root / "run"), "--store", str(root / "store")]) == 0
    assert main(["run", str(MESSY), "--out", str(root / "csv"), "--store", str(root / "store"),
                 "--scored-format", "csv"]) == 0
    session = RunSession(load_pipeline(MESSY), MESSY.parent)
    run_pipeline(session, observers=[])
    OutputWriter(root / "end").finish(session)  # no begin, no events: everything written at the end
    return {"run": root / "run", "csv": root / "csv", "end": root / "end"}


def test_outputs_written_during_the_run_equal_those_written_at_the_end(runs):
    assert (runs["run"] / "score.scored.parquet").read_bytes() == (runs["end"] / "score.scored.parquet").read_bytes()
    from designer.core.bundle import load_bundle

    early, late = load_bundle(runs["run"] / "train.bundle.zip")[0], load_bundle(runs["end"] / "train.bundle.zip")[0]
    assert early.describe() == late.describe()  # the skops payload made in the background holds the same model
    rows = pd.read_parquet(runs["run"] / "score.scored.parquet").iloc[:, 1:8]
    pd.testing.assert_frame_equal(early.score(Table(frame=rows)).frame, late.score(Table(frame=rows)).frame,
                                  check_exact=True)


def test_scored_tables_as_csv_on_request_and_the_report_reads_both(runs, tmp_path):
    from designer.cli import main

    parquet = pd.read_parquet(runs["run"] / "score.scored.parquet")
    csv = pd.read_csv(runs["csv"] / "score.scored.csv")
    assert not (runs["csv"] / "score.scored.parquet").exists()
    pd.testing.assert_frame_equal(csv, parquet, check_dtype=False)
    report = json.loads((runs["csv"] / "report.json").read_text())
    assert [s["file"] for s in report["scored"]] == ["score.scored.csv"]
    for name in ("run", "csv"):
        assert main(["report", str(runs[name]), "-o", str(tmp_path / f"{name}.html")]) == 0
        assert "Scored tables" in (tmp_path / f"{name}.html").read_text()


def test_a_loaded_model_is_not_written_again_as_a_bundle(runs, tmp_path):
    from designer.cli import main

    rows = tmp_path / "rows.csv"
    pd.read_parquet(runs["run"] / "score.scored.parquet").iloc[:, 1:8].to_csv(rows, index=False)
    p = {"format": "pipeline-designer", "version": 2, "name": "score only", "nodes": [
        {"id": "load", "type": "data.csv", "params": {"path": str(rows)}},
        {"id": "model", "type": "data.model", "params": {"model": str(runs["run"] / "train.bundle.zip")}},
        {"id": "score", "type": "score.model"}],
        "links": [{"from": "load.data", "to": "score.data"}, {"from": "model.model", "to": "score.model"}]}
    (tmp_path / "p.pipeline.json").write_text(json.dumps(p))
    assert main(["run", str(tmp_path / "p.pipeline.json"), "--out", str(tmp_path / "out")]) == 0
    assert sorted(f.name for f in (tmp_path / "out").iterdir()) == ["metrics.json", "report.json",
                                                                    "score.scored.parquet"]
