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


@pytest.fixture(autouse=True)
def _run_store(tmp_path_factory, monkeypatch):
    """Runs made by tests are recorded in a temporary store, never beside the repository's pipelines."""
    monkeypatch.setenv("PIPELINE_DESIGNER_STORE", str(tmp_path_factory.getbasetemp() / "run-store"))
