"""Model selection: Cross Validate Model and Tune Model Hyperparameters.

Both take an untrained learner and a table, as in Azure's designer. The table may be raw, or the output of
the cleaning chain: then its recipe (every fitted column step since the data source) is refitted inside each
fold on the fold's training rows only, so no statistic of a test fold (a median, a category, a scale)
leaks into training, which normalizing before cross-validation would do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from designer.core.errors import BadInput
from designer.core.model import PREDICTION
from designer.core.node import LearnerSpec, NodeType, Params, Port, ReportSpec, RunContext, SchemaContext, table_input
from designer.core.schema import ColumnName, TableSchema
from designer.core.values import Learner, PortType, Report, Table

CATEGORY = "Machine learning"
FOLD = "fold"


class CrossValidateParams(Params):
    label: ColumnName = Field(..., min_length=1, description="The column to predict")
    folds: int = Field(5, ge=2, le=100, description="Number of folds (stratified by the label for "
                                                    "classification)")
    shuffle: bool = Field(True, description="Shuffle rows before making the folds")
    seed: int = Field(42, ge=0, description="Random seed for the shuffle")
    group: ColumnName = Field("", description="Optional group column: rows of one group (a patient, a "
                                              "customer) stay in the same fold (empty: none)")


def check_learner_and_label(inputs: dict[str, Any], label: str) -> tuple[TableSchema, str]:
    """The input schema and the learner's task, refusing clustering learners and unknown labels."""
    schema = table_input(inputs)
    learner = inputs.get("learner")
    task = learner.task if isinstance(learner, LearnerSpec) else "regression"
    if task == "clustering":
        raise BadInput("cross-validation needs a regression or classification learner", port="learner")
    if schema.exact and schema.kind(label) is None:
        raise BadInput(f"unknown label column '{label}'; the input has {', '.join(schema.names)}",
                       param="label", column=label)
    return schema, task


def groups_of(table: Table, rows: Any, group: str) -> np.ndarray | None:
    """The group column's values for `rows` (a working or a meta column), or None."""
    if not group:
        return None
    if group in rows.columns:
        values = rows[group]
    elif table.meta is not None and group in table.meta.columns:
        values = table.meta.loc[rows.index, group]
    else:
        raise BadInput(f"unknown group column '{group}'", param="group", column=group)
    if values.isna().any():
        raise BadInput("the group column has missing values", param="group", column=group)
    return values.to_numpy()


def fold_metrics(task: str, label: str, frame: Any, classes: list[Any]) -> dict[str, float]:
    from nodes.evaluate import evaluate_frame

    return evaluate_frame(frame, task, label, classes, None)["metrics"]


class CrossValidateModel(NodeType):
    """Estimate how well a learner generalises: k-fold cross-validation with the whole cleaning refitted
    inside each fold.

    Connect the learner and the table to learn from: raw rows, or the output of your cleaning chain (Clean
    Missing Data, Normalize, Encode …). Each step of that chain is refitted on every fold's training rows
    alone and replayed on its test rows, so the estimate is free of leaks. Classification folds keep the
    label's class proportions; a group column keeps each group in one fold.

    Outputs every row as given with its fold and out-of-fold prediction (connect it to Evaluate Model like
    a scored table), and a report with each fold's metrics, their mean ± standard deviation and the
    evaluation plots of all out-of-fold predictions.
    """

    type_id = "evaluate.cross_validate"
    title = "Cross Validate Model"
    category = "Score and evaluate"
    inputs = (Port("learner", PortType.LEARNER, "Untrained learner"),
              Port("data", PortType.TABLE, "Rows to learn from: raw, or after the cleaning to refit per fold"))
    outputs = (Port("scored", PortType.TABLE, "Every row with its fold and out-of-fold prediction"),
               Port("report", PortType.REPORT, "Per-fold metrics, mean ± std and plots"))
    Params = CrossValidateParams

    def schema(self, params: CrossValidateParams, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        schema, task = check_learner_and_label(inputs, params.label)
        if params.group and schema.exact and schema.kind(params.group) is None \
                and params.group not in schema.meta_names:
            raise BadInput(f"unknown group column '{params.group}'", param="group", column=params.group)
        base = schema if not schema.steps else TableSchema(exact=False, meta=schema.meta)
        out = base.model_copy(update={"steps": (), "stats_steps": ()}).add([(FOLD, "numeric"),
                                                                           (PREDICTION, "unknown")])
        out = out.model_copy(update={"exact": out.exact and task != "classification",
                                     "scored": {"task": task, "label": params.label, "model": ctx.node_id}})
        return {"scored": out, "report": ReportSpec((task,))}

    def run(self, params: CrossValidateParams, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        from designer.core.crossval import cross_validate, fold_splitter, out_of_fold

        learner: Learner = inputs["learner"]
        table: Table = inputs["data"]
        if learner.task == "clustering":
            raise BadInput("cross-validation needs a regression or classification learner", port="learner")
        rows = table.rows_before_recipe
        groups = groups_of(table, rows, params.group)
        splitter = fold_splitter(learner.task, params.folds, params.seed, params.shuffle, groups is not None)
        results = []
        for r in cross_validate(learner, table, params.label, splitter, groups,
                                on_fold=lambda i, n: ctx.progress(i / n, f"fold {i + 1} of {n}")):
            results.append(r)
        ctx.progress(0.95, "evaluating")
        oof = out_of_fold(results, len(rows), learner.task)
        return cv_outputs(ctx.node_id, table, rows, oof, results, params.label, learner.task)


def cv_outputs(node: str, table: Table, rows: Any, oof: Any, results: list[Any], label: str,
               task: str) -> dict[str, Any]:
    """The scored-like table (rows as given + fold + predictions) and the report of a cross-validation."""
    from nodes.evaluate import evaluate_frame

    frame = rows.copy(deep=False)
    fold_col = FOLD
    while fold_col in frame.columns:
        fold_col = f"_{fold_col}"
    frame[fold_col] = oof[FOLD].to_numpy()
    for c in oof.columns[1:]:
        frame[c] = oof[c].to_numpy()
    classes = sorted({c for r in results for c in r.classes}, key=lambda c: (str(type(c)), c))
    scored = {"task": task, "label": label, "model": node, "features": [], "classes": classes}
    out = Table(frame=frame, source_schema=table.source_schema, sources=table.sources, scored=scored,
                meta=table.meta)
    per_fold = []
    for r in results:
        part = frame.iloc[r.test]
        per_fold.append({"fold": r.fold + 1, "rows": len(r.test), "metrics": fold_metrics(task, label, part, classes)})
    names = list(per_fold[0]["metrics"]) if per_fold else []
    names = [m for m in names if all(m in f["metrics"] for f in per_fold)]
    mean = {m: float(np.mean([f["metrics"][m] for f in per_fold])) for m in names}
    std = {m: float(np.std([f["metrics"][m] for f in per_fold])) for m in names}
    pooled = evaluate_frame(frame, task, label, classes, None)
    entry = {"port": "scored", "task": task, "model": node, "label": label, "rows": len(frame),
             "metrics": mean, "std": std, "folds": per_fold, "pooled": pooled["metrics"], "plots": pooled["plots"]}
    return {"scored": out, "report": Report([entry])}
