"""Score Model: replay the model's cleaning on rows that have not had it yet, then predict."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from designer.core.errors import BadInput
from designer.core.export import ExportContext, ExportFragment, ModelRef, score_code
from designer.core.model import CLUSTER, DISTANCE, FEATURE_PREFIX, PREDICTION, TrainedModel
from designer.core.schema import Kind, TableSchema
from designer.core.values import PortType, Table
from designer.core.node import ModelSpec, NodeType, Params, Port, RunContext, SchemaContext, table_input


def scored_schema(model: ModelSpec | None, schema: TableSchema, with_features: bool = False) -> TableSchema:
    """Columns after scoring: the rows' columns as given (+ the features when asked) + the predictions."""
    spec = model or ModelSpec(node="", task="", label=None, features=())
    extra: list[tuple[str, Kind]] = [(f"{FEATURE_PREFIX}{f}", "numeric") for f in spec.features] if with_features \
        else []
    extra += [(CLUSTER, "numeric"), (DISTANCE, "numeric")] if spec.task == "clustering" else [(PREDICTION, "unknown")]
    steps = {"steps": spec.steps, "stats_steps": spec.stats_steps} if model else {}
    out = schema.model_copy(update=steps).add(extra)
    if spec.task == "classification":
        out = out.model_copy(update={"exact": False})
    return out.model_copy(update={"scored": {"task": spec.task, "label": spec.label or "", "model": spec.node}})


class ScoreParams(Params):
    with_features: bool = Field(False, description="Also output the features as the model saw them (after "
                                                   "the cleaning recipe), as 'feature:<name>' columns")


class ScoreModel(NodeType):
    """Predict with a trained model.

    Rows get exactly the fitted cleaning steps of the model's recipe they have not been through yet:
    raw test rows from a split taken before cleaning get the cleaning fitted on the training rows; rows
    cleaned upstream are not cleaned twice. The scored rows are the rows as given (meta and input columns,
    unchanged, and 'source_row', each row's number in its source file) plus 'prediction' (and
    'probability_<class>' for classifiers) or 'cluster' and 'distance' for clustering models. Turn on
    'with_features' to see the features as the model saw them too.
    """

    type_id = "score.model"
    title = "Score Model"
    category = "Score and evaluate"
    inputs = (Port("model", PortType.MODEL, "Trained model"), Port("data", PortType.TABLE, "Rows to score"))
    outputs = (Port("scored", PortType.TABLE, "Rows with predictions"),)
    Params = ScoreParams
    streams = True

    def schema(self, params: Any, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        schema = table_input(inputs)
        spec = inputs.get("model")
        model = spec if isinstance(spec, ModelSpec) else None
        foreign = [s for s in schema.steps if s not in (model.steps if model else ())]
        if foreign:
            ctx.warn(f"the scored rows went through fitted step '{foreign[0]}' that the model never saw; "
                     "the run will refuse them")
        return {"scored": scored_schema(model, schema, params.with_features)}

    def run(self, params: Any, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        from designer.core.stream import TableStream

        model: TrainedModel = inputs["model"]
        table: Table = inputs["data"]
        if isinstance(table, TableStream):  # rows in chunks: each scored when a later module pulls it
            return {"scored": table.map(ctx.node_id, lambda t: score_chunk(model, t, ctx.node_id, params))}
        ctx.progress(0.1, f"scoring {len(table.frame):,} rows")
        return {"scored": model.score(table, node=ctx.node_id, with_features=params.with_features)}

    def export(self, params: Any, ctx: ExportContext) -> ExportFragment:
        model = ctx.inputs.get("model")
        if not isinstance(model, ModelRef):
            raise BadInput("the model input is not a model the script knows", port="model")
        return score_code(ctx, model, ctx.table(), params.with_features)


def score_chunk(model: TrainedModel, table: Table, node: str, params: Any) -> Table:
    """One chunk of streamed rows, scored: raw rows get the model's input types first (as `score` does), so
    every chunk has the same column types whatever its values."""
    from dataclasses import replace

    from designer.core.batch import conform

    if not table.recipe:
        table = replace(table, frame=conform(table.frame.copy(deep=False), model.input_schema))
    return model.score(table, node=node, with_features=params.with_features)
