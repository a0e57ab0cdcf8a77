"""The example plugin (examples/plugin-log-transform) used like an installed plugin: a pipeline with its module
runs through the one run lifecycle and the CLI; its trained bundle loads only once the user enabled the plugin,
and then scores exactly like the Score node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pytest

from designer.cli import main
from designer.core.bundle import load_bundle
from designer.core.config import enabled_plugins, set_plugin_enabled
from designer.core.errors import BadInput
from designer.core.lifecycle import RunSession, run_pipeline
from designer.core.pipeline import load_pipeline
from designer.core.registry import NodeRegistry, set_default_registry
from designer.core.runner import OutputWriter
from designer.core.values import Table
from tests import example_plugin
from tests.conftest import SAMPLES

if example_plugin.manifest_module() is None:
    pytest.skip("the example plugin pd_log_transform is neither installed nor importable from "
                f"{example_plugin.FOLDER}", allow_module_level=True)

PLUGIN = example_plugin.PLUGIN
ENABLE = f"pipeline-designer plugins enable {PLUGIN}"


@pytest.fixture
def registry() -> Iterator[NodeRegistry]:
    """The built-ins plus the example plugin, as if installed (whether or not it is)."""
    reg = NodeRegistry.from_entry_points(plugins=False)
    assert example_plugin.add_to(reg) and PLUGIN in reg.plugins and not reg.plugins[PLUGIN].error
    set_default_registry(reg)
    yield reg
    set_default_registry(None)


def housing_with_log(folder: Path, **log_params: object) -> Path:
    """The messy-housing sample with a Log Transform of area and distance between imputation and encoding."""
    data = json.loads((SAMPLES / "messy_housing_boosted_trees.pipeline.json").read_text())
    data["name"] = "Messy housing, log-transformed"
    for node in data["nodes"]:
        if node["id"] == "data":
            node["params"]["path"] = str((SAMPLES / node["params"]["path"]).resolve())
    data["nodes"].insert(3, {"id": "log", "type": example_plugin.TYPE_ID, "title": "Log of area and distance",
                             "params": {"columns": ["area_m2", "distance_km"], **log_params}})
    data["links"] = [l for l in data["links"] if l != {"from": "fill_numbers.data", "to": "fill_text.data"}]
    data["links"] += [{"from": "fill_numbers.data", "to": "log.data"}, {"from": "log.data", "to": "fill_text.data"}]
    path = folder / "housing_log.pipeline.json"
    path.write_text(json.dumps(data, indent=2))
    return path


@pytest.fixture
def trained(registry, tmp_path):
    """The pipeline run once through the run lifecycle, outputs kept, files written to out/."""
    path = housing_with_log(tmp_path)
    out = tmp_path / "out"
    session = run_pipeline(RunSession(load_pipeline(path), path.parent, out_dir=out), observers=[OutputWriter(out)])
    assert session.result.ok, session.result.errors
    return path, session, out / "train.bundle.zip"


def test_the_module_runs_in_a_pipeline_and_its_step_joins_the_model(trained):
    _, session, bundle = trained
    outputs = session.result.outputs
    logged = outputs["log"]["data"]
    filled = outputs["fill_numbers"]["data"]
    for col in ("area_m2", "distance_km"):  # base e, offset 1: log1p, bit for bit
        np.testing.assert_array_equal(logged.frame[col].to_numpy(), np.log1p(filled.frame[col].to_numpy()))
    pd.testing.assert_series_equal(logged.frame["rooms"], filled.frame["rooms"])
    model = outputs["train"]["model"]
    assert [s.node_id for s in model.recipe] == ["fill_numbers", "log", "fill_text", "encode"]
    assert type(model.recipe[1]).__module__ == "pd_log_transform.step"
    assert bundle.is_file() and session.metrics["evaluate"][0]["metrics"]["r2"] > 0.5


def test_the_bundle_is_refused_until_the_plugin_is_enabled(trained):
    _, session, bundle = trained
    with pytest.raises(BadInput) as err:
        load_bundle(bundle)
    message = str(err.value)
    assert f"plugin '{PLUGIN}'" in message and ENABLE in message and str(bundle) in message
    assert PLUGIN not in enabled_plugins()

    set_plugin_enabled(PLUGIN, True)
    model, manifest, _ = load_bundle(bundle)
    assert manifest["plugins"] == {PLUGIN: {"package": example_plugin.PACKAGE, "version": example_plugin.VERSION}}
    scored = session.result.outputs["score"]["scored"].frame
    raw = session.result.outputs["data"]["data"].frame
    again = model.score(Table(frame=raw.loc[scored.index])).frame
    pd.testing.assert_frame_equal(again, scored, check_exact=True)


def test_the_cli_runs_it_and_scores_with_the_bundle_once_enabled(registry, tmp_path, capsys):
    path = housing_with_log(tmp_path)
    out = tmp_path / "cli-out"
    assert main(["validate", str(path)]) == 0
    assert main(["run", str(path), "--out", str(out)]) == 0
    bundle = out / "train.bundle.zip"
    raw = pd.read_csv(SAMPLES.parent / "resources" / "data" / "messy_housing.csv")
    new_rows = tmp_path / "new.csv"
    raw.head(50).to_csv(new_rows, index=False)
    capsys.readouterr()

    assert main(["score", str(bundle), str(new_rows), "-o", str(tmp_path / "scored.csv")]) == 2
    assert ENABLE in capsys.readouterr().err
    assert main(["plugins", "list", "--json"]) == 0
    listed = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert listed[PLUGIN]["modules"] == [example_plugin.TYPE_ID] and listed[PLUGIN]["enabled"] is False

    assert main(["plugins", "enable", PLUGIN]) == 0
    assert PLUGIN in enabled_plugins()
    assert main(["score", str(bundle), str(new_rows), "-o", str(tmp_path / "scored.csv")]) == 0
    scored = pd.read_csv(tmp_path / "scored.csv")
    model, _, _ = load_bundle(bundle)
    expected = model.score(Table(frame=pd.read_csv(new_rows))).frame
    assert scored["prediction"].tolist() == expected["prediction"].tolist()

    assert main(["plugins", "disable", PLUGIN]) == 0
    with pytest.raises(BadInput, match=ENABLE):
        load_bundle(bundle)


def test_a_value_the_log_cannot_take_stops_the_run_naming_column_and_fix(registry, tmp_path, capsys):
    path = housing_with_log(tmp_path, offset=0.0)
    data = json.loads(path.read_text())
    for node in data["nodes"]:
        if node["id"] == "log":
            node["params"]["columns"] = ["age_years"]  # some houses are brand new: age 0
    path.write_text(json.dumps(data))
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "node 'log'" in err and "column 'age_years'" in err and "is not above -offset (0)" in err
    assert "Clip Values" in err


def test_without_plugins_the_pipeline_is_refused_naming_the_module(registry, tmp_path, capsys):
    path = housing_with_log(tmp_path)
    try:
        assert main(["--no-plugins", "validate", str(path)]) == 2
    finally:
        set_default_registry(registry)
    assert f"unknown module type '{example_plugin.TYPE_ID}'" in capsys.readouterr().err
