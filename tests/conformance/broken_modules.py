"""Test-only modules, each breaking the node contract in one way, so the conformance checks can be seen to fail.

They register as a plugin named "broken" (namespace "broken") in a registry of the tests' own, never in the
product's.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from designer.core.node import NodeType, Params, Port, RunContext, SchemaContext, table_input
from designer.core.recipe import Step
from designer.core.values import PortType, Table

IN = (Port("data", PortType.TABLE, "Input table"),)
OUT = (Port("data", PortType.TABLE, "Output table"),)


class _PassThrough(NodeType):
    """Hands its input on unchanged."""

    category = "Clean and transform"
    inputs = IN
    outputs = OUT

    def schema(self, params: Any, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        return {"data": table_input(inputs)}

    def run(self, params: Any, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"data": inputs["data"]}


class LyingSchema(_PassThrough):
    """Adds a column at run time that its schema does not announce."""

    type_id = "broken.lying_schema"
    title = "Lying Schema"

    def run(self, params: Any, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        table: Table = inputs["data"]
        return {"data": table.with_frame(table.frame.assign(surprise=1.0))}


class UndeclaredStep(Step):  # no @bundle_type: a bundle must refuse it
    """Multiplies its columns by two."""

    kind = "undeclared"

    def _apply(self, frame: Any) -> Any:
        return frame.assign(**{c: frame[c] * 2.0 for c in self.columns})


class FitsUndeclaredStep(_PassThrough):
    """Fits a recipe step whose class was never declared to the trust list."""

    type_id = "broken.undeclared_step"
    title = "Fits Undeclared Step"

    def schema(self, params: Any, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        return {"data": table_input(inputs).after_step(ctx.node_id, False)}

    def run(self, params: Any, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        table: Table = inputs["data"]
        step = UndeclaredStep(node_id=ctx.node_id, step_id=ctx.step_id, title=self.title, columns=["x2"],
                              kinds={"x2": "numeric"}, fits_statistics=False)
        return {"data": table.with_step(step, step.transform(table.frame))}


class Mislabelled(_PassThrough):
    """Its manifest entry calls it something else."""

    type_id = "broken.mislabelled"
    title = "Mislabelled"


class Undocumented(_PassThrough):
    type_id = "broken.undocumented"
    title = "Undocumented"


class JsonOnlyParams(Params):
    weights: dict[str, float] = Field(default_factory=dict, description="Column -> weight")


class JsonOnlyForm(_PassThrough):
    """Has a parameter the property panel can only offer as raw JSON."""

    type_id = "broken.json_only_form"
    title = "JSON-only Form"
    Params = JsonOnlyParams


class NanParams(Params):
    threshold: float = Field(float("nan"), description="Not a number by default")


class NotJsonParams(_PassThrough):
    """Its default parameters cannot be written into a pipeline file."""

    type_id = "broken.not_json_params"
    title = "Not-JSON Params"
    Params = NanParams


BROKEN = {cls.type_id: cls for cls in (LyingSchema, FitsUndeclaredStep, Mislabelled, Undocumented, JsonOnlyForm,
                                       NotJsonParams)}
MANIFEST = {
    "name": "broken test modules",
    "namespaces": ["broken"],
    "modules": [{"type": t, "title": "Something Else" if cls is Mislabelled else cls.title,
                 "category": cls.category, "class": f"{__name__}:{cls.__name__}"} for t, cls in BROKEN.items()],
}
