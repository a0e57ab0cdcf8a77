"""Shared fixtures: paths to the repository's sample pipelines and bundled data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_pipelines"
DATA = ROOT / "resources" / "data"


@pytest.fixture
def samples() -> Path:
    return SAMPLES


def sample_paths() -> list[Path]:
    return sorted(SAMPLES.glob("*.pipeline.json"))
