"""Log Transform: exact values, schema, located errors, scoring replay, bundles and the conformance suite."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pytest

from designer.conformance import parametrize_with_checks, plugin_registry, round_trip_steps
from designer.core.bundle import load_bundle, write_bundle
from designer.core.config import set_plugin_enabled
from designer.core.digest import frame_sha256
from designer.core.errors import BadInput
from designer.core.node import RunContext, SchemaContext
from designer.core.registry import NodeRegistry, set_default_registry
from designer.core.schema import TableSchema
from designer.core.values import DataSource, Table
from pd_log_transform.manifest import MANIFEST
from pd_log_transform.nodes import LogTransform
from pd_log_transform.step import LogStep

HERE = Path(__file__).resolve().parent.parent
PLUGIN, PACKAGE, VERSION = "log_transform", "pipeline-designer-log-transform", "0.1.0"


def make_registry() -> NodeRegistry:
    """The built-in modules plus this plugin, as if it were installed (whether or not it is)."""
    return plugin_registry(MANIFEST, plugin=PLUGIN, package=PACKAGE, version=VERSION)


@pytest.fixture
def registry() -> Iterator[NodeRegistry]:
    """The process's registry for one test."""
    reg = make_registry()
    set_default_registry(reg)
    yield reg
    set_default_registry(None)


def table(frame: pd.DataFrame) -> Table:
    return Table.from_source(frame, DataSource("t", None, frame_sha256(frame), len(frame), frame.shape[1]))


def run(frame: pd.DataFrame, params: dict[str, Any] | None = None, node: str = "log") -> Table:
    parsed = LogTransform.Params.model_validate(params or {})
    return LogTransform().run(parsed, {"data": table(frame)}, RunContext(node, Path("."), fingerprint="f" * 64))["data"]


def schema(columns: list[tuple[str, str]], params: dict[str, Any] | None = None) -> TableSchema:
    parsed = LogTransform.Params.model_validate(params or {})
    out = LogTransform().schema(parsed, {"data": TableSchema(columns=tuple(columns))}, SchemaContext("log", Path(".")))
    return out["data"]


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"area": [0.0, 1e-12, 3.5, np.nan, 250.0], "rooms": [1, 2, 3, 4, 5],
                         "city": ["a", "b", "a", "c", "b"], "price": [10.0, 20.0, 30.0, 40.0, 50.0]})


# ------------------------------------------------------------------------------------------------ values
def test_base_e_offset_1_is_log1p_bit_for_bit(frame):
    out = run(frame).frame
    for col in ("area", "rooms", "price"):
        np.testing.assert_array_equal(out[col].to_numpy(), np.log1p(frame[col].to_numpy(dtype=np.float64)))
    assert out["city"].tolist() == frame["city"].tolist()  # not selected: untouched
    assert np.isnan(out.loc[3, "area"])  # missing stays missing


@pytest.mark.parametrize("base, offset, fn", [("2", 1.0, lambda x, o: np.log2(x + o)),
                                               ("10", 1.0, lambda x, o: np.log10(x + o)),
                                               ("e", 2.5, lambda x, o: np.log(x + o)),
                                               ("10", 0.5, lambda x, o: np.log10(x + o))])
def test_other_bases_and_offsets_are_numpy_bit_for_bit(frame, base, offset, fn):
    out = run(frame, {"columns": ["area"], "base": base, "offset": offset}).frame
    np.testing.assert_array_equal(out["area"].to_numpy(), fn(frame["area"].to_numpy(), offset))
    assert out["rooms"].tolist() == frame["rooms"].tolist()


def test_the_fitted_step_joins_the_recipe_and_replays_on_new_rows(frame):
    out = run(frame, {"columns": ["area", "price"], "offset": 2.0})
    step = out.recipe[-1]
    assert isinstance(step, LogStep) and step.node_id == "log" and step.columns == ["area", "price"]
    assert step.minimum == [2.0, 12.0] and not step.fits_statistics
    assert step.describe()["learned"] == {"minimum after offset": {"area": 2.0, "price": 12.0}}
    new = pd.DataFrame({"area": [7.0], "rooms": [9], "city": ["z"], "price": [1.0]})
    np.testing.assert_array_equal(step.transform(new)["area"].to_numpy(), np.log(np.array([9.0])))


# ------------------------------------------------------------------------------------------------ schema
def test_schema_predicts_the_columns_run_produces(frame):
    predicted = schema(list(TableSchema.of_frame(frame).columns))
    produced = run(frame)
    assert predicted.columns == TableSchema.of_frame(produced.frame).columns
    assert predicted.steps == ("log",) and predicted.stats_steps == ()


def test_schema_refuses_a_text_column_and_an_empty_selection():
    with pytest.raises(BadInput, match="needs numeric columns, but 'city' is categorical") as err:
        schema([("area", "numeric"), ("city", "categorical")], {"columns": ["area", "city"]})
    assert err.value.location.param == "columns" and err.value.location.column == "city"
    with pytest.raises(BadInput, match="no columns to transform"):
        schema([("city", "categorical")])
    with pytest.raises(BadInput, match="unknown column 'nope'"):
        schema([("area", "numeric")], {"columns": ["nope"]})


def test_params_have_bounds_and_choices():
    with pytest.raises(ValueError):
        LogTransform.Params.model_validate({"offset": -1})
    with pytest.raises(ValueError):
        LogTransform.Params.model_validate({"base": "3"})
    with pytest.raises(ValueError):
        LogTransform.Params.model_validate({"offset": float("inf")})


# ------------------------------------------------------------------------------------------------ errors
def test_a_value_at_or_below_minus_offset_is_a_located_error(frame):
    bad = frame.assign(price=[10.0, -1.0, 30.0, 40.0, 50.0])
    with pytest.raises(BadInput) as err:
        run(bad, {"columns": ["area", "price"]})
    e = err.value
    assert e.location.node == "log" and e.location.column == "price"
    assert "value -1 at row 2 is not above -offset (-1)" in e.message
    assert "raise the parameter 'offset'" in e.message and "Clip Values (clean.clip" in e.message


def test_scoring_names_the_column_too(frame):
    step = run(frame, {"columns": ["area"], "offset": 0.5}).recipe[-1]
    with pytest.raises(BadInput, match=r"value -0.5 at row 1 is not above -offset \(-0.5\)") as err:
        step.transform(frame.assign(area=[-0.5, 1.0, 2.0, 3.0, 4.0]))
    assert err.value.location.column == "area" and err.value.location.node == "log"


def test_offset_zero_refuses_zero(frame):
    with pytest.raises(BadInput, match=r"value 0 at row 1 is not above -offset \(0\)"):
        run(frame, {"columns": ["area"], "offset": 0})


# ------------------------------------------------------------------------------------------------ bundles
def test_the_step_survives_skops_under_the_apps_trust_rules(frame):
    steps = list(run(frame).recipe)
    loaded = round_trip_steps(steps, make_registry())
    pd.testing.assert_frame_equal(loaded[0].transform(frame), steps[0].transform(frame), check_exact=True)


def test_a_bundle_needs_the_plugin_enabled(registry, frame, tmp_path):
    from designer.core.model import TrainedModel
    from sklearn.linear_model import LinearRegression

    logged = run(frame.drop(columns=["city"]).fillna(1.0), {"columns": ["area"]})
    features = ["area", "rooms"]
    estimator = LinearRegression().fit(logged.frame[features].to_numpy(), logged.frame["price"].to_numpy())
    model = TrainedModel(node_id="train", task="regression", estimator=estimator, features=features,
                         recipe=logged.recipe, input_schema=TableSchema.of_frame(frame[features]), label="price")
    bundle = tmp_path / "m.bundle.zip"
    manifest = write_bundle(bundle, model, pipeline_json='{"name": "t"}', params={})
    assert manifest["plugins"] == {PLUGIN: {"package": "pipeline-designer-log-transform", "version": "0.1.0"}}
    with pytest.raises(BadInput, match=f"pipeline-designer plugins enable {PLUGIN}"):
        load_bundle(bundle)
    set_plugin_enabled(PLUGIN, True)
    loaded, _, _ = load_bundle(bundle)
    new = pd.DataFrame({"area": [5.0, 0.0], "rooms": [2, 3]})
    pd.testing.assert_frame_equal(loaded.score(Table(frame=new)).frame, model.score(Table(frame=new)).frame,
                                  check_exact=True)


# ------------------------------------------------------------------------------------------------ the contract
@parametrize_with_checks(make_registry(), type_ids=["logt.log_transform"])
def test_conformance(module, check):
    check(module)


def test_the_plugin_imports_only_the_apps_core_contract():
    allowed_roots = {"designer", "pd_log_transform", "numpy", "pandas", "pydantic", "__future__", "typing"}
    for path in sorted((HERE / "pd_log_transform").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert name.split(".")[0] in allowed_roots, f"{path.name} imports {name}"
                if name.startswith("designer"):
                    assert name.startswith("designer.core."), f"{path.name} imports {name}: plugins use designer.core"
