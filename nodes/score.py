"""Score Model: replay the model's cleaning on rows that have not had it yet, then predict."""

from __future__ import annotations

from typing import Any

from designer.core.model import CLUSTER, DISTANCE, PREDICTION, TrainedModel
from designer.core.schema import TableSchema
from designer.core.values import PortType, Table
from nodes.base import NodeType, Port, RunContext, SchemaContext, register, table_input


def scored_schema(model: dict[str, Any], schema: TableSchema) -> TableSchema:
    """Columns after scoring: the model's training columns (label kept if the input has it) + predictions."""
    steps = tuple(model.get("steps", ()))
    if tuple(schema.steps) == steps:
        base = schema
    else:
        cols = [(c, k) for c, k in model.get("columns", ()) if c != model.get("label") or schema.kind(c)]
        base = schema.model_copy(update={"columns": tuple(cols), "steps": steps})
    task = model.get("task")
    extra = [(CLUSTER, "numeric"), (DISTANCE, "numeric")] if task == "clustering" else [(PREDICTION, "unknown")]
    out = base.add(extra)
    if task == "classification":
        out = out.model_copy(update={"exact": False})
    return out.model_copy(update={"scored": {"task": task or "", "label": model.get("label") or "",
                                             "model": model.get("node", "")}})


@register
class ScoreModel(NodeType):
    """Predict with a trained model.

    Rows get exactly the fitted cleaning steps of the model's recipe they have not been through yet:
    raw test rows from a split taken before cleaning get the cleaning fitted on the training rows; rows
    cleaned upstream are not cleaned twice. Adds 'prediction' (and 'probability_<class>' for classifiers)
    or 'cluster' and 'distance' for clustering models.
    """

    type_id = "score.model"
    title = "Score Model"
    category = "Score and evaluate"
    inputs = (Port("model", PortType.MODEL, "Trained model"), Port("data", PortType.TABLE, "Rows to score"))
    outputs = (Port("scored", PortType.TABLE, "Rows with predictions"),)

    def schema(self, params: Any, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        schema = table_input(inputs)
        model = inputs.get("model") or {}
        model_steps = list(model.get("steps", ()))
        foreign = [s for s in schema.steps if s not in model_steps]
        if foreign:
            ctx.warn(f"the scored rows went through fitted step '{foreign[0]}' that the model never saw; "
                     "the run will refuse them")
        return {"scored": scored_schema(model, schema)}

    def run(self, params: Any, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        model: TrainedModel = inputs["model"]
        table: Table = inputs["data"]
        ctx.progress(0.1, f"scoring {len(table.frame):,} rows")
        return {"scored": model.score(table, node=ctx.node_id)}
