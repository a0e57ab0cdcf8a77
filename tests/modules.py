"""Test-only modules: behave like a built-in, except for the failure or delay a test needs.

They live in a registry of the tests' own (the `test_modules` fixture), never in the product's.
"""

from __future__ import annotations

import time
from typing import Any

from designer.core.node import RunContext
from pydantic import Field

from nodes.data import SampleDataset, SampleParams
from nodes.evaluate import EvaluateModel
from nodes.split import SplitData


class ExplodingSplit(SplitData):
    """Split Data that fails (not the user's fault) when its seed is 7."""

    type_id = "test.exploding_split"
    title = "Exploding Split"

    def run(self, params: Any, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        if params.seed == 7:
            raise ValueError("split exploded on purpose")
        return super().run(params, inputs, ctx)


class SlowSample(SampleDataset):
    """Sample Dataset that takes up to 5 s, reporting progress (so a Stop cancels it)."""

    type_id = "test.slow_sample"
    title = "Slow Sample"

    def run(self, params: Any, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        for i in range(100):
            time.sleep(0.05)
            ctx.progress(i / 100, "warming up")  # raises Cancelled once Stop is pressed
        return super().run(params, inputs, ctx)


class StubbornParams(SampleParams):
    seconds: float = Field(0.0, ge=0, description="How long to work without looking at the cancel flag")


class StubbornSample(SampleDataset):
    """Sample Dataset that works for `seconds` without ever looking at the cancel flag (like one long
    C-level fit)."""

    type_id = "test.stubborn_sample"
    title = "Stubborn Sample"
    Params = StubbornParams

    def run(self, params: Any, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        time.sleep(params.seconds)
        return super().run(params, inputs, ctx)


class BrokenEvaluate(EvaluateModel):
    """Evaluate Model whose library breaks."""

    type_id = "test.broken_evaluate"
    title = "Broken Evaluate"

    def run(self, params: Any, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        raise RuntimeError("the evaluation library broke")


TEST_MODULES = (ExplodingSplit, SlowSample, StubbornSample, BrokenEvaluate)
