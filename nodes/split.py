"""Split Data: a row step that sends a fraction of the rows to `train` and the rest to `test`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from designer.core.errors import BadInput
from designer.core.export import ExportContext, ExportFragment, helper_source, literal
from designer.core.schema import ColumnName
from designer.core.values import PortType, Table
from designer.core.node import MAX_SEED, NodeType, Params, Port, RunContext, SchemaContext, table_input


class SplitParams(Params):
    fraction: float = Field(0.7, gt=0, lt=1, description="Fraction of rows in the first output (train)")
    shuffle: bool = Field(True, description="Shuffle rows before splitting")
    seed: int = Field(42, ge=0, le=MAX_SEED, description="Random seed for the shuffle")
    stratify: ColumnName = Field("", description="Keep this column's class proportions in both outputs "
                                                 "(empty: no stratification)")


class SplitData(NodeType):
    """Split rows into a training and a test table (scikit-learn's train_test_split).

    Rows keep the recipe they arrived with: cleaning fitted before the split is shared by both outputs,
    cleaning fitted after it on the training rows is replayed on the test rows when scoring.
    """

    type_id = "split.rows"
    title = "Split Data"
    category = "Split"
    inputs = (Port("data", PortType.TABLE, "Rows to split"),)
    outputs = (Port("train", PortType.TABLE, "First fraction of the rows"),
               Port("test", PortType.TABLE, "The remaining rows"))
    Params = SplitParams

    def schema(self, params: SplitParams, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        schema = table_input(inputs)
        if params.stratify:
            if schema.exact and schema.kind(params.stratify) is None:
                raise BadInput(f"unknown column '{params.stratify}'; the input has {', '.join(schema.names)}",
                               param="stratify", column=params.stratify)
            if not params.shuffle:
                raise BadInput("stratified splitting needs shuffle on", param="shuffle")
        for node in schema.stats_steps:
            ctx.warn(f"'{node}' learns statistics from all rows before this split, so the test rows leak into "
                     "the cleaning; move it after the split to fit it on the training rows only")
        return {"train": schema, "test": schema}

    def run(self, params: SplitParams, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        from sklearn.model_selection import train_test_split

        table: Table = inputs["data"]
        frame = table.frame
        if len(frame) < 2:
            raise BadInput(f"cannot split {len(frame)} row(s)", port="data")
        strat = frame[params.stratify] if params.stratify else None
        if strat is not None and strat.isna().any():
            raise BadInput("the stratify column has missing values", param="stratify", column=params.stratify)
        try:
            train, test = train_test_split(frame, train_size=params.fraction, shuffle=params.shuffle,
                                           random_state=params.seed if params.shuffle else None, stratify=strat)
        except ValueError as e:
            raise BadInput(str(e), param="stratify" if strat is not None else "fraction") from None
        return {"train": table.with_frame(train), "test": table.with_frame(test)}

    def export(self, params: SplitParams, ctx: ExportContext) -> ExportFragment:
        """The same train_test_split call."""
        table = ctx.table()
        train, test = ctx.var("train"), ctx.var("test")
        strat = f"{table.var}[{params.stratify!r}]" if params.stratify else "None"
        seed = params.seed if params.shuffle else None
        frag = ctx.row_step([f"{train}, {test} = train_test_split({table.var}, train_size={literal(params.fraction)}, "
                             f"shuffle={params.shuffle}, random_state={seed}, stratify={strat})"],
                            {"train": train, "test": test})
        frag.imports.add("from sklearn.model_selection import train_test_split")
        return frag

# ------------------------------------------------------------------------------------ partition and sample
class SampleParams(Params):
    mode: Literal["fraction", "rows"] = Field("fraction", description="Keep a fraction of the rows, or a number "
                                                                       "of rows")
    fraction: float = Field(0.1, gt=0, le=1, description="Fraction of the rows to keep (mode fraction)")
    rows: int = Field(10_000, ge=1, description="Number of rows to keep (mode rows; all rows when there are fewer)")
    stratify: ColumnName = Field("", description="Keep this column's class proportions (empty: a plain random "
                                                 "sample)")
    seed: int = Field(42, ge=0, le=MAX_SEED, description="Random seed")


class PartitionSample(NodeType):
    """Keep a random sample of the rows: a fraction or a number of rows, plain random or stratified by a
    column (each class keeps its share), with a seed (Azure's Partition and Sample).

    Takes rows read in chunks (a Load module with chunk_rows) and keeps only the sample in memory, so a
    model can be trained on a sample of a file larger than memory. The sample is the same whatever the
    chunk size: every row gets a random key from the seed in file order, and the rows with the smallest
    keys are kept (a fraction: the keys below it; stratified: the smallest keys of each class, reading the
    rows twice when they come in chunks). The rows keep their order and their row numbers.
    """

    type_id = "split.sample"
    title = "Partition and Sample"
    category = "Split"
    inputs = (Port("data", PortType.TABLE, "Rows to sample"),)
    outputs = (Port("data", PortType.TABLE, "The sample"),)
    Params = SampleParams
    streams = True

    def schema(self, params: SampleParams, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        schema = table_input(inputs)
        if params.stratify and schema.exact and schema.kind(params.stratify) is None:
            raise BadInput(f"unknown column '{params.stratify}'; the input has {', '.join(schema.names)}",
                           param="stratify", column=params.stratify)
        return {"data": schema.model_copy(update={"streamed": None})}

    def run(self, params: SampleParams, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        from designer.core.sampling import sample_stream, sample_table
        from designer.core.stream import TableStream

        data = inputs["data"]
        if isinstance(data, TableStream):
            return {"data": sample_stream(data, params, ctx)}
        ctx.progress(0.1, f"sampling {len(data.frame):,} rows")
        return {"data": sample_table(data, params)}

    def export(self, params: SampleParams, ctx: ExportContext) -> ExportFragment:
        """The designer's own `sampled_rows` (copied into the script) on the table's rows."""
        from designer.core.sampling import quotas, sampled_rows

        table, out = ctx.table(), ctx.var("data")
        frag = ctx.row_step([f"{out} = sampled_rows({table.var}, mode={params.mode!r}, "
                             f"fraction={literal(params.fraction)}, rows={params.rows}, "
                             f"stratify={params.stratify!r}, seed={params.seed})"], {"data": out})
        frag.imports.add("import numpy as np")
        frag.helpers += helper_source(quotas, sampled_rows)
        return frag
