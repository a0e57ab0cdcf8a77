"""The plugin importable (installed, or from this folder), and the user's settings in a temporary file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

try:
    import pd_log_transform  # noqa: F401  (installed: `pip install -e examples/plugin-log-transform`)
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@pytest.fixture(autouse=True)
def user_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Which plugins the user enabled lives in a temporary file of each test's own, never in the real home."""
    path = tmp_path_factory.mktemp("config") / "config.json"
    monkeypatch.setenv("PIPELINE_DESIGNER_CONFIG", str(path))
    monkeypatch.setenv("PIPELINE_DESIGNER_STORE", str(path.parent / "run-store"))
    return path
