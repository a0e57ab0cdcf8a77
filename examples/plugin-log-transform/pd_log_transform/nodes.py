"""The Log Transform module. Like every module it imports only the app's contract (`designer.core`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from designer.core.errors import BadInput
from designer.core.node import NodeType, Params, Port, RunContext, SchemaContext, table_input
from designer.core.schema import Columns, TableSchema, kind_of_dtype
from designer.core.values import PortType, Table
from pd_log_transform.step import LogStep


class LogParams(Params):
    columns: Columns = Field(default_factory=lambda: Columns(mode="numeric"),
                             description="Numeric columns to transform (leave the label out unless you mean to "
                                         "predict its log)")
    offset: float = Field(1.0, ge=0, allow_inf_nan=False,
                          description="Added to every value before the log (1: log(1 + x), which keeps 0 at 0)")
    base: Literal["e", "2", "10"] = Field("e", description="Natural log, log base 2 or log base 10")


class LogTransform(NodeType):
    """Take the log of skewed numeric columns: each value becomes log(value + offset).

    Useful for prices, areas, distances and counts whose large values dominate. Base e with offset 1 is
    log1p (exact near 0). Every value must be above -offset: a value that is not stops the run, naming the
    column and row (raise the offset, or clip the column first with Clip Values). A fitted column step:
    Score Model and trained bundles replay it on new rows. Missing values stay missing.
    """

    type_id = "logt.log_transform"
    title = "Log Transform"
    category = "Clean and transform"
    inputs = (Port("data", PortType.TABLE, "Input table"),)
    outputs = (Port("data", PortType.TABLE, "Table with the chosen columns log-transformed"),)
    Params = LogParams
    fits_statistics = False  # nothing learned from the rows changes how a row is transformed

    def selected(self, params: LogParams, schema: TableSchema, node: str) -> list[str]:
        cols = params.columns.resolve(schema, node=node)
        for c in cols:
            if schema.kind(c) not in ("numeric", "unknown", None):
                raise BadInput(f"'{self.title}' needs numeric columns, but '{c}' is {schema.kind(c)}; leave it "
                               "out of the selection", param="columns", column=c)
        if not cols and schema.exact:
            raise BadInput("the selection holds no columns to transform", param="columns")
        return cols

    def schema(self, params: LogParams, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        schema = table_input(inputs)
        cols = self.selected(params, schema, ctx.node_id)
        out = schema.replace({c: "numeric" for c in cols})
        return {"data": out.after_step(ctx.node_id, self.fits_statistics)}

    def run(self, params: LogParams, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        table: Table = inputs["data"]
        frame = table.frame
        cols = self.selected(params, table.schema, ctx.node_id)
        step = LogStep.fit(frame, offset=params.offset, base=params.base, node_id=ctx.node_id,
                           step_id=ctx.step_id, title=self.title, columns=cols,
                           kinds={c: kind_of_dtype(frame[c].dtype) for c in cols},
                           fits_statistics=self.fits_statistics)
        ctx.progress(0.5, "applying")
        return {"data": table.with_step(step, step.transform(frame))}
