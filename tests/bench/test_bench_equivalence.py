"""The benchmark compares like with like: its pipeline and its hand-written script give the same metrics."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.conftest import ROOT

BENCH = ROOT / "bench"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_pipeline", BENCH / "bench_pipeline.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_pipeline", module)
    spec.loader.exec_module(module)
    return module


def test_committed_pipeline_file_is_the_one_the_benchmark_builds(bench):
    text = (BENCH / "bench.pipeline.json").read_text(encoding="utf-8")
    assert text == bench.build_pipeline().to_json_text()


def test_designer_and_hand_written_give_equal_metrics(bench, tmp_path):
    from threadpoolctl import threadpool_limits

    data = bench.make_data.write_csv(2000, tmp_path / "bench.csv")
    with threadpool_limits(1):  # tiny data: OpenMP threads only add waiting on a shared machine
        designer = bench.run_designer(data)
        hand = bench.run_handwritten(data)
    for name in bench.METRICS:
        assert designer[name] == pytest.approx(hand[name], rel=1e-9, abs=1e-12), name
    assert bench.same_metrics(designer, hand)
    assert 0.5 < designer["r2"] < 1.0  # the target is learnable: a real model, not a degenerate one
