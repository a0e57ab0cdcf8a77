"""The conformance suite: every registered module (built-ins, installed plugins, and the example plugin even
when it is not installed) keeps the node contract. See designer/conformance.py for what each check proves."""

from __future__ import annotations

from designer.conformance import Feed, parametrize_with_checks
from designer.core.registry import NodeRegistry
from tests import example_plugin

REGISTRY = NodeRegistry.from_entry_points()
example_plugin.add_to(REGISTRY)

# How to feed the modules whose defaults do not fit the sample table (tables: "table" mixed with missing values,
# "numeric" numeric only; see designer.conformance.Feed). Every other module gets the defaults of its ports.
FEEDS = {
    "data.csv": Feed(params={"path": "sample.csv"}),
    "data.parquet": Feed(params={"path": "sample.parquet"}),
    "data.save_csv": Feed(params={"path": "saved.csv"}),
    "data.dataset": Feed(params={"name": "sample"}, store=True),
    "data.database": Feed(params={"connection": "sqlite:///sample.sqlite", "table": "sample"}),
    "data.model": Feed(params={"model": "sample.bundle.zip"}, bundle=True),
    "data.join": Feed(params={"keys": ["x2"], "how": "left"}),
    "clean.missing": Feed(params={"mode": "most_frequent", "indicator": True}),
    "clean.edit": Feed(params={"cast": {"x2": "categorical"}, "rename": {"x1": "area"}}),
    "learn.train": Feed(params={"label": "y"}, inputs={"data": "numeric"}),
    "learn.train_clustering": Feed(inputs={"learner": "clustering_learner", "data": "numeric"}),
    "score.model": Feed(inputs={"data": "numeric"}),
    "learn.tune": Feed(params={"label": "y", "candidates": 2, "folds": 2, "cache": False}, inputs={"data": "numeric"}),
    "evaluate.cross_validate": Feed(params={"label": "y", "folds": 3}, inputs={"data": "numeric"}),
    "evaluate.model": Feed(inputs={"scored": "scored", "scored2": "scored"}),
}


@parametrize_with_checks(REGISTRY, feeds=FEEDS)
def test_module_conformance(module, check):
    check(module)


def test_every_built_in_and_the_example_plugin_are_covered():
    ids = {info.type_id for info in REGISTRY.infos()}
    assert {"data.csv", "clean.missing", "learn.train", "score.model", "evaluate.model"} <= ids
    assert example_plugin.TYPE_ID in ids, "the example plugin should be importable from examples/"
