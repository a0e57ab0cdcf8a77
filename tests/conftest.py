"""Shared fixtures: paths to the repository's sample pipelines and bundled data."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

import pytest

from designer.core.registry import NodeRegistry, set_default_registry

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
    """Runs made by tests are recorded in a temporary store of their own (with its saved results), never beside
    the repository's pipelines, so no test reuses another's results."""
    monkeypatch.setenv("PIPELINE_DESIGNER_STORE", str(tmp_path_factory.mktemp("run-store")))


@pytest.fixture(autouse=True)
def _user_config(tmp_path_factory, monkeypatch):
    """The user's own settings (enabled plugins) live in a temporary file of each test's own, never in the real
    home, so a plugin one test enables is not enabled in the next."""
    monkeypatch.setenv("PIPELINE_DESIGNER_CONFIG", str(tmp_path_factory.mktemp("config") / "config.json"))


@pytest.fixture(autouse=True)
def _user_state(tmp_path_factory, monkeypatch):
    """Running endpoints register in a temporary state folder, never in the real home."""
    monkeypatch.setenv("PIPELINE_DESIGNER_STATE", str(tmp_path_factory.getbasetemp() / "state"))


@pytest.fixture
def test_modules() -> Iterator[NodeRegistry]:
    """The process's registry for one test: the built-ins plus the test-only modules of tests/modules.py."""
    from tests.modules import TEST_MODULES

    registry = NodeRegistry.from_entry_points(plugins=False)
    for cls in TEST_MODULES:
        registry.add(cls, package="tests")
    set_default_registry(registry)
    yield registry
    set_default_registry(None)


def sample_with_types(name: str, folder: Path, **types: str) -> Path:
    """A copy of a sample pipeline in `folder` with some nodes' module types replaced (node id=type id)."""
    data = json.loads((SAMPLES / f"{name}.pipeline.json").read_text())
    for node in data["nodes"]:
        node["type"] = types.get(node["id"], node["type"])
    path = folder / f"{name}.pipeline.json"
    path.write_text(json.dumps(data, indent=2))
    return path
