"""W1 compares like with like: its pipeline through `pipeline-designer run` and its hand-written script give
the same metrics (the cleaning fitted on the training rows in both)."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.conftest import ROOT

BENCH = ROOT / "bench"


@pytest.fixture(scope="module")
def w1():
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("bench_run_w1", BENCH / "bench_run_w1.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module


def test_committed_w1_file_is_the_one_the_benchmark_builds(w1):
    assert (BENCH / "w1.pipeline.json").read_text(encoding="utf-8") == w1.build_pipeline().to_json_text()


def test_w1_through_the_command_and_hand_written_give_equal_metrics(w1, tmp_path):
    from threadpoolctl import threadpool_limits

    data = w1.make_data.write_csv(3000, tmp_path / "w1.csv")
    with threadpool_limits(1):
        designer = w1.run_designer_inprocess(data, tmp_path)
        hand = w1.run_handwritten(data)
    for name in w1.base.METRICS:
        assert designer[name] == pytest.approx(hand[name], rel=1e-9, abs=1e-12), name
    assert 0.3 < designer["r2"] < 1.0
    assert {p.name for p in (tmp_path / "run").iterdir()} == {"score.scored.parquet", "train.bundle.zip",
                                                               "report.json", "metrics.json"}
