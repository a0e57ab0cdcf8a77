"""Conformance checks for modules, built-in or plugin, in the manner of scikit-learn's `parametrize_with_checks`.

Every module must keep the contract of `designer.core.node`; these checks prove it on small sample data:

- `check_manifest_entry`: the manifest's type id, title and category are the class's; ports and Params are
  well formed (Params refuse unknown keys).
- `check_help_text`: the class has a docstring (the help text) and every parameter a description.
- `check_params_round_trip`: default parameters survive a pipeline file (dump, parse, validate) unchanged.
- `check_schema_predicts_run`: what `schema` predicts (columns, kinds, fitted steps, model and learner
  specs) is what `run` produces.
- `check_fitted_steps_survive_a_bundle`: every recipe step the module fits is allowed into a bundle by the
  app's trust rules (`@bundle_type`) and gives bit-identical output after a skops save and load.
- `check_property_form`: the generated property panel has an editor of its own for every parameter.

Use them from a test file (pytest needed)::

    from designer.conformance import Feed, parametrize_with_checks, plugin_registry
    from my_plugin.manifest import MANIFEST

    REGISTRY = plugin_registry(MANIFEST, plugin="my_plugin", package="my-plugin")

    @parametrize_with_checks(REGISTRY, type_ids=["mine.thing"], feeds={"mine.thing": Feed(params={"label": "y"})})
    def test_conformance(module, check):
        check(module)

Each module is fed default inputs by port type (Table: `sample_frame()`, a mix of numeric and categorical
columns with a few missing values and a numeric label `y`; Learner: a linear regression; Model: a linear
regression trained on z-scored numeric columns). A `Feed` names other samples or required parameters.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

from designer.core.errors import BadInput
from designer.core.node import LearnerSpec, ModelSpec, NodeType, ReportSpec, RunContext, SchemaContext
from designer.core.registry import NodeRegistry
from designer.core.schema import TableSchema, kind_of_dtype
from designer.core.values import PortType

if TYPE_CHECKING:
    import pandas as pd

NODE = "node"
"""The id the module under test runs as; steps it fits carry this node id."""
FINGERPRINT = "c0ffee" * 11


# ------------------------------------------------------------------------------------------ sample data
def sample_frame() -> "pd.DataFrame":
    """24 rows: positive floats with a missing value, small integers, a text category with a missing value,
    and a numeric label `y` without missing values."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    n = 24
    x1 = rng.uniform(1.0, 100.0, n).round(2)
    x1[3] = np.nan
    city = np.array(["north", "south", "east"], dtype=object)[np.arange(n) % 3]
    city[5] = None
    x2 = rng.integers(0, 10, n)
    y = (0.5 * np.nan_to_num(x1, nan=50.0) + 3.0 * x2 + rng.normal(0.0, 1.0, n)).round(3)
    return pd.DataFrame({"x1": x1, "x2": x2, "city": city, "y": y})


SAMPLE_FILES = {"sample.csv": "csv", "sample.parquet": "parquet", "sample.sqlite": "sqlite (table 'sample')"}
"""Files of `sample_frame()` in the folder each check runs in (for modules that read files)."""
SAMPLE_STORE = ".pipeline-designer/runs.sqlite"
"""The run store of a check whose Feed asks for one: sample.csv registered there as data set 'sample'."""
SAMPLE_BUNDLE = "sample.bundle.zip"
"""The bundle of a check whose Feed asks for one: the "model" sample (linear regression of y)."""


@dataclass(frozen=True)
class Feed:
    """How to feed one module: parameters it needs, and which sample goes into which input port.

    Samples: "table" (sample_frame), "numeric" (its numeric columns, no missing values), "learner" (linear
    regression), "clustering_learner" (k-means, k=2), "model" (linear regression trained on z-scored
    "numeric" with label y), "scored" ("numeric" scored by "model"). Input ports not named get the default
    sample of their type; optional ports get nothing unless named.
    """

    params: Mapping[str, Any] = field(default_factory=dict)
    inputs: Mapping[str, str] = field(default_factory=dict)
    store: bool = False
    """Give the module a run store (SAMPLE_STORE) holding sample.csv as data set 'sample'."""
    bundle: bool = False
    """Give the module SAMPLE_BUNDLE: the "model" sample as a trained bundle."""


DEFAULT_SAMPLE = {PortType.TABLE: "table", PortType.LEARNER: "learner", PortType.MODEL: "model"}


@dataclass(frozen=True)
class ModuleCase:
    """One module under test: its class, the registry it was found in, and how to feed it."""

    type_id: str
    cls: type[NodeType]
    registry: NodeRegistry = field(repr=False, compare=False)
    feed: Feed = field(default_factory=Feed)

    def __str__(self) -> str:
        return self.type_id

    def params(self) -> Any:
        return self.cls.Params.model_validate(dict(self.feed.params))


def _apply(cls: type[NodeType], params: Any, specs: dict[str, Any], values: dict[str, Any], base: Path,
           node_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    node = cls()
    store = base / SAMPLE_STORE if (base / SAMPLE_STORE).is_file() else None
    predicted = node.schema(params, specs, SchemaContext(node_id, base, store=store))
    produced = node.run(params, values, RunContext(node_id, base, fingerprint=FINGERPRINT, store=store))
    return predicted, produced


@lru_cache(maxsize=8)
def _samples(registry: NodeRegistry) -> dict[str, tuple[Any, Any]]:
    """name -> (schema-time spec, run-time value), built with the registry's built-in modules."""
    from designer.core.digest import frame_sha256
    from designer.core.values import DataSource, Table

    def source(frame: Any, name: str) -> Table:
        return Table.from_source(frame, DataSource(name, None, frame_sha256(frame), len(frame), frame.shape[1]))

    def step(type_id: str, params: dict[str, Any], port: str, node_id: str, **inputs: tuple[Any, Any]) -> Any:
        cls = registry.require(type_id)
        predicted, produced = _apply(cls, cls.Params.model_validate(params), {k: v[0] for k, v in inputs.items()},
                                     {k: v[1] for k, v in inputs.items()}, Path("."), node_id)
        return predicted[port], produced[port]

    frame = sample_frame()
    numeric_frame = frame[["x1", "x2", "y"]].fillna({"x1": 50.0})
    out: dict[str, tuple[Any, Any]] = {
        "table": (TableSchema.of_frame(frame), source(frame, "sample")),
        "numeric": (TableSchema.of_frame(numeric_frame), source(numeric_frame, "numeric")),
    }
    out["learner"] = step("learn.linear_regression", {}, "learner", "sample_learner")
    out["clustering_learner"] = step("learn.kmeans", {"k": 2}, "learner", "sample_kmeans")
    scaled = step("clean.normalize", {"columns": {"mode": "numeric", "exclude": ["y"]}}, "data", "sample_scale",
                  data=out["numeric"])
    out["model"] = step("learn.train", {"label": "y"}, "model", "sample_train", learner=out["learner"], data=scaled)
    out["scored"] = step("score.model", {}, "scored", "sample_score", model=out["model"], data=out["numeric"])
    return out


@contextmanager
def _workspace(case: ModuleCase | None = None) -> Iterator[Path]:
    """A temporary folder holding the sample files (the module's `base_dir`), and the run store its Feed asks for."""
    import sqlite3

    frame = sample_frame()
    with tempfile.TemporaryDirectory(prefix="pd-conformance-") as tmp:
        base = Path(tmp)
        frame.to_csv(base / "sample.csv", index=False)
        frame.to_parquet(base / "sample.parquet", index=False)
        with closing(sqlite3.connect(base / "sample.sqlite")) as db:
            frame.to_sql("sample", db, index=False)
        if case is not None and case.feed.store:
            from designer.core.datasets import register_path
            from designer.core.store import RunStore

            (base / SAMPLE_STORE).parent.mkdir()
            with RunStore.open(base / SAMPLE_STORE) as store:
                register_path(store, base / "sample.csv", "sample")
        if case is not None and case.feed.bundle:
            from designer.core.bundle import write_bundle

            model = _samples(case.registry)["model"][1]
            write_bundle(base / SAMPLE_BUNDLE, model, params={},
                         pipeline_json='{"format": "pipeline-designer", "version": 2, "name": "sample", "nodes": [], '
                                       '"links": []}')
        yield base


def _inputs(case: ModuleCase) -> tuple[dict[str, Any], dict[str, Any]]:
    samples = _samples(case.registry)
    specs, values = {}, {}
    unknown = set(case.feed.inputs) - {p.name for p in case.cls.inputs}
    assert not unknown, f"{case.type_id}: its Feed names input ports it does not have: {sorted(unknown)}"
    for port in case.cls.inputs:
        name = case.feed.inputs.get(port.name) or (None if port.optional else DEFAULT_SAMPLE.get(port.type))
        if name is None:
            continue
        assert name in samples, f"{case.type_id}: unknown sample '{name}' for port '{port.name}'"
        specs[port.name], values[port.name] = samples[name]
    return specs, values


def _run_case(case: ModuleCase, base: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(input values, predicted outputs, produced outputs) of the module on its feed."""
    specs, values = _inputs(case)
    try:
        predicted, produced = _apply(case.cls, case.params(), specs, values, base, NODE)
    except BadInput as e:
        raise AssertionError(f"{case.type_id}: refused its sample input ({e}); if the module needs other "
                             "input or parameters, give it a Feed") from e
    return values, predicted, produced


# ------------------------------------------------------------------------------------------ the checks
def check_manifest_entry(case: ModuleCase) -> None:
    """The manifest entry (what the palette lists without importing code) is the class's own."""
    from pydantic import BaseModel

    cls, info = case.cls, case.registry.info(case.type_id)
    assert issubclass(cls, NodeType), f"{case.type_id}: {cls!r} is not a designer.core.node.NodeType"
    assert info is not None, f"{case.type_id}: not in the registry"
    for attr, listed in (("type_id", info.type_id), ("title", info.title), ("category", info.category)):
        actual = getattr(cls, attr, None)
        assert listed == actual, f"{case.type_id}: the manifest says {attr} {listed!r}, the class {actual!r}"
    space, _, name = cls.type_id.partition(".")
    assert space and name, f"{case.type_id}: a type id is 'namespace.name'"
    for kind, ports in (("input", cls.inputs), ("output", cls.outputs)):
        names = [p.name for p in ports]
        assert len(set(names)) == len(names), f"{case.type_id}: {kind} port names repeat: {names}"
        for p in ports:
            assert isinstance(p.type, PortType), f"{case.type_id}: {kind} port '{p.name}' has no PortType"
    assert isinstance(cls.Params, type) and issubclass(cls.Params, BaseModel), \
        f"{case.type_id}: Params is not a pydantic model"
    assert cls.Params.model_config.get("extra") == "forbid", \
        f"{case.type_id}: Params must refuse unknown keys (derive it from designer.core.node.Params)"
    for attr in ("reads_files", "writes_files"):
        for name in getattr(cls, attr):
            assert name in cls.Params.model_fields, f"{case.type_id}: {attr} names '{name}', not a parameter"


def check_help_text(case: ModuleCase) -> None:
    """The class's own docstring is its help text; every parameter has a description (shown under it)."""
    doc = case.cls.__dict__.get("__doc__")
    assert doc and doc.strip(), f"{case.type_id}: {case.cls.__name__} has no docstring (its help text)"
    for name, f in case.cls.Params.model_fields.items():
        assert (f.description or "").strip(), f"{case.type_id}: parameter '{name}' has no description"


def check_params_round_trip(case: ModuleCase) -> None:
    """Parameters (defaults plus the feed's) written into a pipeline file and read back are the same."""
    from designer.core.pipeline import Node, Pipeline, parse_pipeline

    params = case.params()
    dumped = params.model_dump(mode="json")
    try:
        json.dumps(dumped, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise AssertionError(f"{case.type_id}: parameters are not JSON literals: {e}") from e
    text = Pipeline(nodes=[Node(id="n", type=case.type_id, params=dumped)]).to_json_text()
    again = parse_pipeline(text).nodes[0].params
    assert case.cls.Params.model_validate(again) == params, \
        f"{case.type_id}: parameters changed through the pipeline file: {dumped} -> {again}"
    case.cls.Params.model_json_schema()  # `pipeline-designer nodes` and the catalogue need it


def _kind_matches(predicted: str, actual: str) -> bool:
    return predicted == "unknown" or predicted == actual


def _compare_table(case: ModuleCase, port: str, schema: Any, table: Any) -> None:
    from designer.core.values import Table

    where = f"{case.type_id}: output '{port}'"
    assert isinstance(schema, TableSchema), f"{where}: schema gives {type(schema).__name__}, not a TableSchema"
    assert isinstance(table, Table), f"{where}: run gives {type(table).__name__}, not a Table"
    actual = [(str(c), kind_of_dtype(table.frame[c].dtype)) for c in table.frame.columns]
    names = [c for c, _ in actual]
    if schema.exact:
        assert schema.names == names, f"{where}: schema predicts columns {schema.names}, run gives {names}"
    else:
        missing = [c for c in schema.names if c not in names]
        assert not missing, f"{where}: schema predicts columns {missing} that run does not give ({names})"
    kinds = dict(actual)
    wrong = [(c, k, kinds[c]) for c, k in schema.columns if c in kinds and not _kind_matches(k, kinds[c])]
    assert not wrong, f"{where}: (column, predicted kind, actual kind) differ: {wrong}"
    fitted = tuple(s.node_id for s in table.recipe)
    assert tuple(schema.steps) == fitted, \
        f"{where}: schema says the table went through fitted steps of {schema.steps}, run's recipe has {fitted}"
    stats = tuple(s.node_id for s in table.recipe if s.fits_statistics)
    assert tuple(schema.stats_steps) == stats, \
        f"{where}: schema says steps {schema.stats_steps} learned statistics, run's recipe says {stats}"
    assert (schema.scored is None) == (table.scored is None), \
        f"{where}: schema and run disagree on whether the table is scored"


def check_schema_predicts_run(case: ModuleCase) -> None:
    """What `schema` predicts without data is what `run` produces on the sample data."""
    from designer.core.model import TrainedModel
    from designer.core.values import Learner, Report

    with _workspace(case) as base:
        _, predicted, produced = _run_case(case, base)
    declared = {p.name for p in case.cls.outputs}
    assert set(predicted) == declared, f"{case.type_id}: schema gives ports {sorted(predicted)}, not {sorted(declared)}"
    assert set(produced) == declared, f"{case.type_id}: run gives ports {sorted(produced)}, not {sorted(declared)}"
    for port in case.cls.outputs:
        spec, value = predicted[port.name], produced[port.name]
        where = f"{case.type_id}: output '{port.name}'"
        if port.type is PortType.TABLE:
            _compare_table(case, port.name, spec, value)
        elif port.type is PortType.LEARNER:
            assert isinstance(spec, LearnerSpec) and isinstance(value, Learner), f"{where}: not a learner"
            assert (spec.type, spec.task) == (value.type_id, value.task), \
                f"{where}: schema predicts {spec}, run gives a {value.task} learner of {value.type_id}"
        elif port.type is PortType.MODEL:
            assert isinstance(spec, ModelSpec) and isinstance(value, TrainedModel), f"{where}: not a model"
            got = (value.task, value.label, tuple(value.features), tuple(s.node_id for s in value.recipe))
            want = (spec.task, spec.label, tuple(spec.features), tuple(spec.steps))
            assert want == got, f"{where}: schema predicts (task, label, features, steps) {want}, run gives {got}"
        elif port.type is PortType.REPORT:
            assert isinstance(spec, ReportSpec) and isinstance(value, Report), f"{where}: not a report"
            tasks = tuple(e.get("task", "") for e in value.entries)
            assert tuple(spec.tasks) == tasks, f"{where}: schema predicts tasks {spec.tasks}, run gives {tasks}"


@contextmanager
def _trusting(registry: NodeRegistry) -> Iterator[None]:
    """The user's settings, for a moment: every plugin of `registry` enabled (trusted in bundles)."""
    from designer.core.config import ENV_CONFIG

    previous = os.environ.get(ENV_CONFIG)
    with tempfile.TemporaryDirectory(prefix="pd-conformance-config-") as tmp:
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps({"plugins": {"enabled": sorted(registry.plugins)}}), encoding="utf-8")
        os.environ[ENV_CONFIG] = str(path)
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop(ENV_CONFIG, None)
            else:
                os.environ[ENV_CONFIG] = previous


def round_trip_steps(steps: list[Any], registry: NodeRegistry, what: str = "<conformance>") -> list[Any]:
    """The steps saved with skops and loaded back under the same trust rules as `load_bundle` (the
    registry's plugins enabled). Raises BadInput when a bundle would refuse them."""
    from designer.core.bundle import trusted_types
    from designer.core.skops_io import skops_io

    sio = skops_io()

    payload = sio.dumps({"recipe": list(steps)})
    untrusted = set(sio.get_untrusted_types(data=payload))
    with _trusting(registry):
        trusted = trusted_types(untrusted, Path(what), {}, registry)
    return list(sio.loads(payload, trusted=sorted(trusted))["recipe"])


def check_fitted_steps_survive_a_bundle(case: ModuleCase) -> None:
    """Every recipe step the module fits loads from a bundle (declared with `@bundle_type`) and replays
    bit for bit."""
    import pandas as pd

    from designer.core.recipe import Step, apply_steps
    from designer.core.values import Table

    with _workspace(case) as base:
        values, _, produced = _run_case(case, base)
    source = values.get("data") if isinstance(values.get("data"), Table) else next(
        (v for v in values.values() if isinstance(v, Table)), None)
    for port, value in produced.items():
        if not isinstance(value, Table):
            continue
        steps = [s for s in value.recipe if s.node_id == NODE]
        if not steps:
            continue
        for s in steps:
            assert isinstance(s, Step), f"{case.type_id}: recipe holds {type(s).__name__}, not a recipe Step"
            s.describe()  # the model viewer and the bundle manifest show it
        try:
            loaded = round_trip_steps(steps, case.registry, f"<{case.type_id}>")
        except BadInput as e:
            raise AssertionError(f"{case.type_id}: a bundle would refuse its fitted steps ({e.message}); declare "
                                 "every step class with @designer.core.trust.bundle_type") from e
        assert source is not None, f"{case.type_id}: fits steps but has no input table to replay them on"
        expected = apply_steps(source.frame, steps)
        try:
            pd.testing.assert_frame_equal(apply_steps(source.frame, loaded), expected, check_exact=True)
        except AssertionError as e:
            raise AssertionError(f"{case.type_id}: output '{port}': its steps replay differently after a "
                                 f"bundle save and load:\n{e}") from e


def check_property_form(case: ModuleCase) -> None:
    """The generated property panel has an editor of its own for every parameter (never raw JSON), and,
    where Qt is available, the real editor widgets accept the parameter values."""
    from designer.core.forms import FALLBACK, form_of

    form = form_of(case.cls.Params)
    assert list(form) == list(case.cls.Params.model_fields), f"{case.type_id}: the form leaves parameters out"
    raw = [name for name, kind in form.items() if kind == FALLBACK]
    assert not raw, (f"{case.type_id}: parameters {raw} get only the raw-JSON editor; use a type the panel knows "
                     "(bool, int, float, str, Literal, Columns, ColumnName, optional numbers, list[str], "
                     "dict[str, str | Literal])")
    try:
        from PySide6.QtWidgets import QApplication  # noqa: F401
    except ImportError:  # a server without Qt: the Qt-free reading above is what the panel would build
        return
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from designer.gui.app import application
    from designer.gui.properties.editors import make_editor

    application()
    values = case.params().model_dump(mode="json")
    for name, f in case.cls.Params.model_fields.items():
        editor = make_editor(f, lambda: None)
        try:
            editor.set_value(values[name])
            editor.set_columns([(c, kind_of_dtype(t)) for c, t in sample_frame().dtypes.items()])
        finally:
            editor.deleteLater()


CHECKS: tuple[Callable[[ModuleCase], None], ...] = (
    check_manifest_entry, check_help_text, check_params_round_trip, check_schema_predicts_run,
    check_fitted_steps_survive_a_bundle, check_property_form)


# ------------------------------------------------------------------------------------------ selecting modules
def plugin_registry(manifest: Any, *, plugin: str, package: str, version: str = "") -> NodeRegistry:
    """The built-in modules plus one plugin's manifest, as if the plugin were installed (and nothing else)."""
    registry = NodeRegistry.from_entry_points(plugins=False)
    registry.add_manifest(manifest, package=package, version=version, plugin=plugin)
    info = registry.plugins.get(plugin)
    if info is not None and info.error:
        raise ValueError(info.error)
    return registry


def module_cases(registry: NodeRegistry, type_ids: Iterable[str] | None = None,
                 feeds: Mapping[str, Feed] | None = None) -> list[ModuleCase]:
    """One case per module (all of the registry's unless `type_ids` picks some). A module whose code fails to
    import raises here: a conformance suite must not skip it silently."""
    feeds = dict(feeds or {})
    ids = list(type_ids) if type_ids is not None else [i.type_id for i in registry.infos()]
    unknown = set(feeds) - set(ids)
    if unknown:
        raise ValueError(f"feeds for modules that are not tested: {sorted(unknown)}")
    cases = []
    for type_id in ids:
        problem = registry.problem(type_id)
        if problem:
            raise ValueError(problem)
        cases.append(ModuleCase(type_id, registry.require(type_id), registry, feeds.get(type_id, Feed())))
    return cases


def parametrize_with_checks(registry: NodeRegistry, type_ids: Iterable[str] | None = None,
                            feeds: Mapping[str, Feed] | None = None) -> Any:
    """A pytest decorator: the test runs once per (module, check), with ids 'type id-check name'."""
    import pytest

    cases = module_cases(registry, type_ids, feeds)
    params = [pytest.param(case, check, id=f"{case.type_id}-{check.__name__}") for case in cases for check in CHECKS]
    return pytest.mark.parametrize("module, check", params)
