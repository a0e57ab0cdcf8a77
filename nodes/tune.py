"""Model selection: Cross Validate Model and Tune Model Hyperparameters.

Both take an untrained learner and a table, as in Azure's designer. The table may be raw, or the output of
the cleaning chain: then its recipe (every fitted column step since the data source) is refitted inside each
fold on the fold's training rows only, so no statistic of a test fold (a median, a category, a scale)
leaks into training, which normalizing before cross-validation would do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from designer.core.errors import BadInput
from designer.core.export import (ExportContext, ExportFragment, LearnerRef, NeedsRun, TableRef, estimator_code,
                                  helper_source, literal, pipeline_code)
from designer.core.model import PREDICTION
from designer.core.node import LearnerSpec, NodeType, Params, Port, ReportSpec, RunContext, SchemaContext, table_input
from designer.core.schema import ColumnName, TableSchema
from designer.core.tuning import SearchRange
from designer.core.values import SOURCE_ROW, Learner, PortType, Report, Table
from nodes.evaluate import evaluate_frame, evaluation_helpers

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

    def export(self, params: CrossValidateParams, ctx: ExportContext) -> ExportFragment:
        """The same folds in plain scikit-learn: the splitter `fold_splitter` makes; in each fold a clone of
        the Pipeline Train Model's export builds (the table's column steps, the feature matrix, the learner)
        fitted on the training rows predicts the test rows; the report with Evaluate's metric functions."""
        from designer.core.crossval import fold_classes, fold_splitter, out_of_fold

        learner = ctx.inputs.get("learner")
        if not isinstance(learner, LearnerRef):
            raise BadInput("the learner input is not a learner the script knows", port="learner")
        if learner.task == "clustering":
            raise BadInput("cross-validation needs a regression or classification learner", port="learner")
        table = ctx.table()
        splitter = fold_splitter(learner.task, params.folds, params.seed, params.shuffle, bool(params.group))
        per_fold = export_fold_features(ctx, params, splitter)
        model, scored, report, classes = (ctx.var(p) for p in ("model", "scored", "report", "classes"))
        frag = pipeline_code(model, learner, table, per_fold[0], params.label, ctx.node_id)
        splitter_code, imports = estimator_code(splitter)
        shown = [*table.meta, *table.raw, FOLD, PREDICTION]
        source_row = SOURCE_ROW
        while source_row in shown:
            source_row = f"_{source_row}"
        args = [model, table.var, repr(params.label), splitter_code,
                f"{table.var}[{params.group!r}].to_numpy()" if params.group else "None", repr(learner.task),
                repr(ctx.node_id), literal(list(table.raw))]
        if table.meta:
            args.append(f"meta={literal(list(table.meta))}")
        if any(f != per_fold[0] for f in per_fold):  # a category none of a fold's training rows has
            args.append(f"fold_features={literal(per_fold)}")
        if source_row != SOURCE_ROW:
            args.append(f"source_row={source_row!r}")
        classified = learner.task == "classification"
        frag.code.append(f"{scored}, {report}, {classes if classified else '_'} = cross_validated({', '.join(args)})")
        frag.imports |= imports | {"import pandas as pd", "from sklearn.base import clone",
                                   "from types import SimpleNamespace"}
        frag.helpers += [*evaluation_helpers(), f"FOLD = {FOLD!r}\n",
                         *helper_source(fold_classes, out_of_fold, cv_frame, cv_report_entry), CV_HELPER]
        info = {"task": learner.task, "label": params.label, "model": model, "features": "None",
                "classes": classes if classified else "None"}
        frag.outputs = {"scored": TableRef(scored, (), tuple(table.raw), tuple(table.meta), tuple(table.raw), info)}
        frag.evaluations = [report]
        return frag


def export_fold_features(ctx: ExportContext, params: CrossValidateParams, splitter: Any) -> list[list[str]]:
    """Each fold's feature columns in the designer's order: the run's table refitted fold by fold when export
    ran the pipeline, else every column of an exactly known input but the label (the same in every fold)."""
    from designer.core.crossval import fold_features

    table = (ctx.input_values or {}).get("data")
    if isinstance(table, Table):
        groups = groups_of(table, table.rows_before_recipe, params.group)
        return fold_features(table, params.label, splitter, groups)
    spec = ctx.input_specs.get("data")
    if isinstance(spec, TableSchema) and spec.exact:
        return [[c for c in spec.names if c != params.label]] * params.folds
    raise NeedsRun("the feature columns of each fold are known only after a run", node=ctx.node_id)


CV_HELPER = '''\
def cross_validated(model, data, label, splitter, groups, task, node, raw, meta=(), fold_features=None,
                    source_row="source_row"):
    """Cross Validate Model: the rows before cleaning (the `raw` columns of `data`) split by `splitter`; in each
    fold a clone of `model` (the cleaning steps, the feature matrix, the learner) is fitted on the training rows
    and predicts the test rows. Returns the rows as given (the source row number and the meta columns first)
    with their fold and out-of-fold predictions, the report entry and the classes."""
    rows, inputs = data[raw], [c for c in raw if c != label]
    y = rows[label]
    folds = []
    for i, (train, test) in enumerate(splitter.split(rows, y.to_numpy(), groups)):
        fitted = clone(model)
        if fold_features is not None:
            fitted.set_params(features__kw_args={"columns": fold_features[i]})
        fitted.fit(rows[inputs].iloc[train], y.iloc[train])
        X, est = fitted[:-1].transform(rows[inputs].iloc[test]), fitted[-1]
        proba = est.predict_proba(X) if task == "classification" and hasattr(est, "predict_proba") else None
        classes = [c.item() if isinstance(c, np.generic) else c for c in getattr(est, "classes_", [])]
        folds.append(SimpleNamespace(fold=i, test=test, prediction=est.predict(X), proba=proba, classes=classes))
    classes = fold_classes(folds)
    frame = cv_frame(rows, out_of_fold(folds, len(rows), task))
    entry = cv_report_entry(frame, [f.test for f in folds], label, task, classes, node)
    view = pd.concat([data[list(meta)], frame], axis=1) if meta else frame.copy()
    view.insert(0, source_row, view.index + 1)
    return view, entry, classes
'''


def cv_outputs(node: str, table: Table, rows: Any, oof: Any, results: list[Any], label: str,
               task: str) -> dict[str, Any]:
    """The scored-like table (rows as given + fold + predictions) and the report of a cross-validation."""
    from designer.core.crossval import fold_classes

    frame = cv_frame(rows, oof)
    classes = fold_classes(results)
    scored = {"task": task, "label": label, "model": node, "features": [], "classes": classes}
    out = Table(frame=frame, source_schema=table.source_schema, sources=table.sources, scored=scored,
                meta=table.meta)
    entry = cv_report_entry(frame, [r.test for r in results], label, task, classes, node)
    return {"scored": out, "report": Report([entry])}


def cv_frame(rows: Any, oof: Any) -> Any:
    """The rows as given, then each row's fold (in `_fold` when the rows have a `fold` column) and its
    out-of-fold prediction columns (also copied into exported scripts)."""
    frame = rows.copy(deep=False)
    fold_col = FOLD
    while fold_col in frame.columns:
        fold_col = f"_{fold_col}"
    frame[fold_col] = oof[FOLD].to_numpy()
    for c in oof.columns[1:]:
        frame[c] = oof[c].to_numpy()
    return frame


def cv_report_entry(frame: Any, tests: list[np.ndarray], label: str, task: str, classes: list[Any],
                    model: str) -> dict[str, Any]:
    """The report of a cross-validation: each fold's metrics on its test rows (`tests`: their positions in
    `frame`), their mean and standard deviation, and the metrics and plots of all out-of-fold predictions
    (also copied into exported scripts)."""
    per_fold = [{"fold": i + 1, "rows": len(test),
                 "metrics": evaluate_frame(frame.iloc[test], task, label, classes, None)["metrics"]}
                for i, test in enumerate(tests)]
    names = list(per_fold[0]["metrics"]) if per_fold else []
    names = [m for m in names if all(m in f["metrics"] for f in per_fold)]
    mean = {m: float(np.mean([f["metrics"][m] for f in per_fold])) for m in names}
    std = {m: float(np.std([f["metrics"][m] for f in per_fold])) for m in names}
    pooled = evaluate_frame(frame, task, label, classes, None)
    return {"port": "scored", "task": task, "model": model, "label": label, "rows": len(frame),
            "metrics": mean, "std": std, "folds": per_fold, "pooled": pooled["metrics"], "plots": pooled["plots"]}


# ------------------------------------------------------------------------------------------------ tune
SMALL_FIT_ROWS = 5000
HIGHER_IS_BETTER = {"r2": True, "rmse": False, "mae": False, "accuracy": True, "f1": True, "precision": True,
                    "recall": True, "roc_auc": True}


class TuneParams(Params):
    label: ColumnName = Field(..., min_length=1, description="The column to predict")
    space: dict[str, SearchRange] = Field(default_factory=dict, description=(
        "Learner parameter → where to search it: {\"values\": [...]} or {\"low\": a, \"high\": b, \"log\": true}. "
        "Empty: every tunable parameter from a quarter to four times its default"),
        json_schema_extra={"x-space": "learner"})
    search: Literal["random", "grid", "halving", "optuna"] = Field(
        "random", description="Random search, a full grid, successive halving (many candidates on few rows, "
                              "the best on more) or Optuna's TPE (needs the 'tune' extra)")
    candidates: int = Field(20, ge=1, le=10000, description="Most candidates to score")
    minutes: float = Field(0.0, ge=0, le=10080, description="Stop starting new candidates after this many "
                                                             "minutes (0: no time limit)")
    metric: Literal["auto", "r2", "rmse", "mae", "accuracy", "f1", "precision", "recall", "roc_auc"] = Field(
        "auto", description="What ranks the candidates (auto: r2 for regression, accuracy for classification)")
    folds: int = Field(3, ge=2, le=20, description="Inner cross-validation folds (without a validation table)")
    seed: int = Field(42, ge=0, description="Random seed for folds, sampling and subsamples")
    factor: int = Field(3, ge=2, le=10, description="Successive halving: keep 1/factor of the candidates per "
                                                    "round, give them factor times the rows (and trees)")
    min_rows: int = Field(0, ge=0, description="Successive halving: rows in the first round (0: 100 per fold; "
                                               "never fewer than 2 × folds × classes, nor 50)")
    halve_iterations: bool = Field(True, description=(
        "Successive halving of boosted trees: rounds before the last also fit fewer trees (1/factor of them in "
        "the round before the last, 1/factor of that in the one before, at least 5); much faster. Off: every "
        "round fits all the trees"))
    cache: bool = Field(True, description="Reuse candidates already scored on the same data, recipe and "
                                          "settings (kept beside the run store)")


@dataclass
class Prepared:
    """The folds of one row subset, cleaned once (the recipe does not depend on the candidate)."""

    folds: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    classes: list[Any]


def prepare_folds(table: Table, label: str, task: str, folds: int, seed: int, rows: int | None,
                  validation: Table | None) -> Prepared:
    """Feature matrices of each inner fold (recipe refitted on the fold's training rows), or of the training
    table against the validation table; on a seeded subsample of `rows` rows when given."""
    from designer.core.crossval import fold_splitter, refit_recipe, split_folds
    from designer.core.model import feature_matrix
    from designer.core.recipe import apply_steps, pending_steps

    data = table.rows_before_recipe
    y_all = data[label]
    if y_all.isna().any():
        raise BadInput(f"the label has {int(y_all.isna().sum())} missing values; remove those rows first",
                       param="label", column=label)
    if rows is not None and rows < len(data):
        from sklearn.utils import resample

        strat = y_all if task == "classification" else None
        data = resample(data, n_samples=rows, replace=False, random_state=seed, stratify=strat)
    meta = [] if table.meta is None else list(table.meta.columns)
    out = []
    if validation is not None:
        steps, clean = refit_recipe(table.recipe, data, label)
        features = [c for c in clean.columns if c != label and c not in meta]
        pending = pending_steps(validation.step_ids, tuple(steps) if rows is not None else table.recipe)
        test = apply_steps(validation.frame if rows is None else validation.rows_before_recipe,
                           pending if rows is None else steps, [label])
        out.append((feature_matrix(clean[features]), clean[label].to_numpy(),
                    feature_matrix(test[features]), test[label].to_numpy()))
    else:
        splitter = fold_splitter(task, folds, seed)
        for train, test in split_folds(splitter, data, data[label].to_numpy(), None, param="folds"):
            steps, clean = refit_recipe(table.recipe, data.iloc[train], label)
            features = [c for c in clean.columns if c != label and c not in meta]
            clean_test = apply_steps(data.iloc[test], steps, [label])
            out.append((feature_matrix(clean[features]), clean[label].to_numpy(),
                        feature_matrix(clean_test[features]), clean_test[label].to_numpy()))
    classes = sorted(y_all.unique().tolist(), key=lambda c: (str(type(c)), c)) if task == "classification" else []
    return Prepared(out, classes)


def score_candidate(estimator: Any, prepared: Prepared, task: str, metric: str) -> list[float]:
    """The metric on each fold (scored with the designer's own metric functions)."""
    from contextlib import nullcontext

    from sklearn.base import clone

    from nodes.evaluate import classification_metrics, regression_metrics

    # small subsets (halving's early rounds) fit and predict faster on one thread than paying for thread
    # start-up and barriers at every boosting iteration and every tree; results do not depend on the threads
    small = max(len(f[0]) for f in prepared.folds) < SMALL_FIT_ROWS
    scores = []
    with one_thread() if small else nullcontext():
        for X_tr, y_tr, X_te, y_te in prepared.folds:
            est = clone(estimator).fit(X_tr, y_tr)
            pred = est.predict(X_te)
            if task == "regression":
                values = regression_metrics(y_te.astype(float), pred.astype(float))
            else:
                classes = [c.item() if isinstance(c, np.generic) else c for c in est.classes_]
                proba = est.predict_proba(X_te) if hasattr(est, "predict_proba") and len(classes) == len(
                    prepared.classes) else None
                values = classification_metrics(y_te, pred, proba, classes)[0]
            if metric not in values:
                raise BadInput(f"metric '{metric}' cannot be computed on a fold (a class is missing from it); "
                               "choose another metric or fewer folds", param="metric")
            scores.append(float(values[metric]))
    return scores


_THREADPOOLS: list[Any] = []


def one_thread() -> Any:
    """A context limiting the native thread pools (OpenMP, BLAS) to one thread; the pools are looked up
    once per process (a look-up scans every loaded library, a noticeable cost per small fit)."""
    from threadpoolctl import ThreadpoolController

    if not _THREADPOOLS:
        _THREADPOOLS.append(ThreadpoolController())
    return _THREADPOOLS[0].limit(limits=1)


class TuneModelHyperparameters(NodeType):
    """Search a learner's hyperparameters and output the best learner.

    Connect the learner and the training table (raw, or after the cleaning chain: its recipe is refitted
    inside every inner fold, so no test-fold statistic leaks), and optionally a validation table (then each
    candidate is scored on it instead of by inner cross-validation). The search space comes from the
    learner's own parameters (their bounds and choices); edit it in 'space'. Searches: random, grid,
    successive halving and Optuna's TPE. The budget is a number of candidates and/or minutes.

    Successive halving scores every candidate cheaply, then the best 1/factor of them with factor times
    the resources, and so on until at most `factor` are left; the best of that last round wins. The
    resources are rows (the first round uses `min_rows`, growing factor-fold up to every row) and, for
    boosted trees, trees too (as in Hyperband): with k rounds, round i fits 1/factor^(k-1-i) of the
    candidate's trees (at least 5), so the last round fits them all. 24 candidates with factor 3 on 16,000
    rows: 24 candidates on 300 rows × 23 of 200 trees, the best 8 on 900 × 67, the best 3 on 2,700 × 200.
    The learner it outputs keeps the winner's own parameters.

    Outputs the best learner (Train Model and Score Model take it unchanged; the trained bundle records what
    it was tuned from), the sweep table (one row per scored candidate: its parameters, mean and standard
    deviation of the metric, fit time, halving round, rows and trees fitted) and a report with the metric
    against each parameter. Finished candidates are cached beside the run store: a crash loses at most the
    candidate being fitted, and a widened search fits only the new candidates. Stop ends the search after
    the current candidate.
    """

    type_id = "learn.tune"
    title = "Tune Model Hyperparameters"
    category = CATEGORY
    inputs = (Port("learner", PortType.LEARNER, "Untrained learner (its values are the starting point)"),
              Port("data", PortType.TABLE, "Training rows: raw, or after the cleaning to refit per fold"),
              Port("validation", PortType.TABLE, "Optional rows to score candidates on", optional=True))
    outputs = (Port("learner", PortType.LEARNER, "The best learner"),
               Port("sweep", PortType.TABLE, "One row per candidate"),
               Port("report", PortType.REPORT, "Best score and the metric against each parameter"))
    Params = TuneParams

    def schema(self, params: TuneParams, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        from designer.core.registry import default_registry
        from designer.core.tuning import check_space

        schema, task = check_learner_and_label(inputs, params.label)
        metric = resolve_metric(params.metric, task)
        learner = inputs.get("learner")
        if isinstance(learner, LearnerSpec):
            cls = default_registry().get(learner.type)
            if cls is not None and params.space:
                check_space(params.space, cls.Params, cls.title)
        if params.search == "optuna":
            import importlib.util

            if importlib.util.find_spec("optuna") is None:
                raise BadInput("Optuna is not installed; install the 'tune' extra (pip install optuna) or choose "
                               "another search", param="search")
        sweep = TableSchema(columns=(("candidate", "numeric"), ("round", "numeric"), ("rows", "numeric")),
                            exact=False)
        return {"learner": learner if isinstance(learner, LearnerSpec) else LearnerSpec("", task),
                "sweep": sweep.add([(f"mean_{metric}", "numeric"), (f"std_{metric}", "numeric")]),
                "report": ReportSpec(("tuning",))}

    def run(self, params: TuneParams, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        from designer.core.registry import default_registry
        from designer.core.tuning import check_space, default_space

        learner: Learner = inputs["learner"]
        table: Table = inputs["data"]
        validation: Table | None = inputs.get("validation")
        if learner.task == "clustering":
            raise BadInput("tuning needs a regression or classification learner", port="learner")
        cls = default_registry().require(learner.type_id)
        space = dict(params.space) or default_space(cls.Params)
        check_space(space, cls.Params, cls.title)
        search = Search(self, params, learner, cls, space, table, validation, ctx)
        return search.run()

    def export(self, params: TuneParams, ctx: ExportContext) -> ExportFragment:
        """The winner of the designer's search: its learner with every parameter spelled out, under a comment
        saying what was searched and how the winner scored. The script does not re-run the search, so the
        node's report is not checked; the sweep table is not written."""
        learner, report = (ctx.values or {}).get("learner"), (ctx.values or {}).get("report")
        if not isinstance(learner, Learner) or not isinstance(report, Report) or not learner.tuned:
            raise NeedsRun("the winner of the search is known only after a run", node=ctx.node_id)
        code, imports = estimator_code(learner.estimator)
        return ExportFragment(code=tune_comment(params, learner, report.entries[0], ctx),
                              outputs={"learner": LearnerRef(code, learner.task, frozenset(imports))},
                              unchecked="the search it reports on is not re-run by this script (what it searched "
                                        "and the winner's score are in the comment at that node)")


def tune_comment(params: TuneParams, learner: Learner, entry: dict[str, Any], ctx: ExportContext) -> list[str]:
    """The comment lines above a tuned learner: the run it came from, the search, the winner and its score."""
    import textwrap

    tuned = learner.tuned or {}
    metric, best, sweep = tuned["metric"], entry.get("best", {}), entry.get("candidates", [])
    validated = "validation" in ctx.input_specs
    kind = {"random": "random search", "grid": "grid search", "optuna": "Optuna TPE search"}.get(params.search)
    if kind is None:
        trees = ", fewer trees in early rounds" if any("iterations" in r for r in sweep) else ""
        first = min((r["rows"] for r in sweep if r.get("round") == 1), default=0)
        kind = f"successive halving (factor {params.factor}, first round on {first} rows{trees})"
    started = sum(1 for r in sweep if r.get("round") == 1)
    rounds = max((r.get("round", 1) for r in sweep), default=1)
    winner = [r for r in sweep if r.get(f"mean_{metric}") == tuned["score"]
              and all(r.get(k) == v for k, v in best.items())]
    rows = f" ({winner[-1]['rows']} rows)" if winner and "rows" in winner[-1] else ""
    scored_on = "the validation table" if validated else f"{params.folds}-fold inner cross-validation"
    text = [f"The learner below is the winner of the search this node made in designer run "
            f"{ctx.run_id or '(not recorded)'}. This script does not re-run the search: it trains the winner, "
            "every parameter spelled out, as Train Model did.",
            f"Searched: {kind} of {learner.title} (starting values {literal(tuned['from'])}), seed {params.seed}: "
            f"{started} candidates (at most {params.candidates}"
            f"{f', {params.minutes:g} minutes' if params.minutes else ''})"
            f"{f', {len(sweep)} scorings in {rounds} rounds' if rounds > 1 else ''}, each scored on {scored_on}, "
            f"ranked by {metric} ({'higher' if HIGHER_IS_BETTER[metric] else 'lower'} is better), over:"]
    wrap = textwrap.TextWrapper(width=110, initial_indent="# ", subsequent_indent="# ", break_on_hyphens=False).wrap
    lines = [line for t in text for line in wrap(t)]
    lines += [f"#     {name}: {literal(where)}" for name, where in tuned["space"].items()]
    lines += wrap(f"Winner: {', '.join(f'{k}={literal(v)}' for k, v in best.items())}; its mean {metric} on "
                  f"{scored_on}{rows}: {literal(tuned['score'])}.")
    return lines


def resolve_metric(metric: str, task: str) -> str:
    if metric == "auto":
        return "r2" if task == "regression" else "accuracy"
    regression = metric in ("r2", "rmse", "mae")
    if regression != (task == "regression"):
        raise BadInput(f"metric '{metric}' does not fit a {task} learner", param="metric")
    return metric


class Search:
    """One tuning run: candidates, their cached or fresh scores, progress and cancel between candidates."""

    def __init__(self, node: TuneModelHyperparameters, params: TuneParams, learner: Learner, cls: Any,
                 space: dict[str, Any], table: Table, validation: Table | None, ctx: RunContext) -> None:
        from designer.core.digest import frame_sha256
        from designer.core.tuning import CandidateCache, search_key

        self.params, self.learner, self.cls, self.space, self.ctx = params, learner, cls, space, ctx
        self.table, self.validation = table, validation
        self.metric = resolve_metric(params.metric, learner.task)
        self.better = HIGHER_IS_BETTER[self.metric]
        self.started = time.monotonic()
        self.rows: list[dict[str, Any]] = []
        self.reused = 0
        self._prepared: dict[int | None, Prepared] = {}
        # halving cuts a boosted learner's iterations in early rounds (their sweep rows show how many)
        self.iterations_param: str | None = getattr(cls, "iterations_param", None) \
            if params.search == "halving" and params.halve_iterations else None
        key = search_key(
            data=frame_sha256(table.rows_before_recipe), recipe=[s.describe() for s in table.recipe],
            validation=None if validation is None else frame_sha256(validation.frame), label=params.label,
            learner=learner.type_id, base=learner.params, folds=params.folds, seed=params.seed, metric=self.metric)
        self.cache = CandidateCache(cache_folder(ctx) if params.cache else None, key)

    # -- scoring ------------------------------------------------------------------------------------
    def prepared(self, rows: int | None) -> Prepared:
        if rows not in self._prepared:
            p = self.params
            self._prepared[rows] = prepare_folds(self.table, p.label, self.learner.task, p.folds, p.seed, rows,
                                                 self.validation)
        return self._prepared[rows]

    def learner_params(self, candidate: dict[str, Any]) -> Any:
        try:
            return self.cls.Params.model_validate({**self.learner.params, **candidate})
        except Exception as e:
            raise BadInput(f"candidate {candidate} is not valid for '{self.cls.title}': {e}", param="space") from None

    def evaluate(self, candidate: dict[str, Any], rows: int | None, round_: int, divisor: int = 1) -> dict[str, Any]:
        """Score one candidate (from the cache when it was scored before); checks Stop first. A halving
        round's `divisor` > 1 fits only that share of the learner's boosting iterations (its sweep row says
        how many under 'iterations')."""
        from designer.core.tuning import candidate_key, round_iterations

        self.ctx.check_cancelled()
        params = self.learner_params(candidate)
        iterations = None
        if self.iterations_param is not None:
            iterations = round_iterations(getattr(params, self.iterations_param), divisor)
            params = params.model_copy(update={self.iterations_param: iterations})
        key = candidate_key(candidate, rows, iterations if divisor > 1 else None)
        hit = self.cache.get(key)
        if hit is not None:
            self.reused += 1
            scores, seconds = hit["scores"], hit["fit_seconds"]
        else:
            est = self.cls().estimator(params)
            t = time.perf_counter()
            scores = score_candidate(est, self.prepared(rows), self.learner.task, self.metric)
            seconds = time.perf_counter() - t
            self.cache.put(key, {"params": candidate, "rows": rows, "scores": scores, "fit_seconds": seconds})
        n_rows = len(self.table.rows_before_recipe) if rows is None else rows
        row = {"candidate": len(self.rows) + 1, "round": round_, "rows": n_rows,
               **({} if iterations is None else {"iterations": iterations}), **candidate,
               f"mean_{self.metric}": float(np.mean(scores)), f"std_{self.metric}": float(np.std(scores)),
               "fit_seconds": float(seconds)}
        self.rows.append(row)
        return row

    def out_of_time(self) -> bool:
        return self.params.minutes > 0 and time.monotonic() - self.started > self.params.minutes * 60

    def progress(self, done: int, total: int) -> None:
        self.ctx.progress(done / max(total, 1), f"candidate {done + 1} of {total}")

    def rank_key(self, row: dict[str, Any]) -> float:
        score = row[f"mean_{self.metric}"]
        return -score if self.better else score

    # -- searches -----------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        p = self.params
        if p.search == "halving":
            best = self.halving()
        elif p.search == "optuna":
            best = self.optuna()
        else:
            from designer.core.tuning import grid, sample

            cands = grid(self.space, self.cls.Params) if p.search == "grid" else \
                sample(self.space, self.cls.Params, p.candidates, p.seed)
            if len(cands) > p.candidates:
                self.ctx.warn(f"the grid has {len(cands)} points; scoring the first {p.candidates} (raise "
                              "'candidates' to score them all)")
                cands = cands[:p.candidates]
            for i, cand in enumerate(cands):
                if self.out_of_time():
                    break
                self.progress(i, len(cands))
                self.evaluate(cand, None, 1)
            best = self.best_of(self.rows)
        return self.outputs(best)

    def best_of(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        if not rows:
            raise BadInput("no candidate was scored within the time limit", param="minutes")
        return min(rows, key=lambda r: (self.rank_key(r), r["candidate"]))

    def halving(self) -> dict[str, Any]:
        from designer.core.tuning import halving_schedule, min_halving_rows, sample

        p = self.params
        cands = sample(self.space, self.cls.Params, p.candidates, p.seed)
        classes = self.table.rows_before_recipe[p.label].nunique() if self.learner.task == "classification" else 1
        folds = 1 if self.validation is not None else p.folds
        # first rounds big enough that every fold holds each class twice over and trees can split
        floor = min_halving_rows(folds, classes)
        min_rows = max(p.min_rows, floor) if p.min_rows else max(floor, 100 * folds)
        n_rows = len(self.table.rows_before_recipe)
        schedule = halving_schedule(len(cands), n_rows, min_rows, p.factor, self.iterations_param is not None)
        total = sum(n for n, _, _ in schedule)
        done = 0
        alive = cands
        last: list[dict[str, Any]] = []
        for r, (n, rows, divisor) in enumerate(schedule, start=1):
            alive = alive[:n]
            last = []
            for cand in alive:
                if self.out_of_time():
                    break
                self.progress(done, total)
                last.append(self.evaluate(cand, None if rows >= n_rows else rows, r, divisor))
                done += 1
            if not last or self.out_of_time():
                break
            ranked = sorted(last, key=lambda row: (self.rank_key(row), row["candidate"]))
            alive = [{k: row[k] for k in self.space} for row in ranked]
        return self.best_of(last or self.rows)

    def optuna(self) -> dict[str, Any]:
        try:
            import optuna
        except ImportError:
            raise BadInput("Optuna is not installed; install the 'tune' extra (pip install optuna)",
                           param="search") from None
        from designer.core.tuning import suggest

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        p = self.params
        sampler = optuna.samplers.TPESampler(seed=p.seed)
        study = optuna.create_study(direction="maximize" if self.better else "minimize", sampler=sampler)

        def objective(trial: Any) -> float:
            self.progress(trial.number, p.candidates)
            return self.evaluate(suggest(trial, self.space, self.cls.Params), None, 1)[f"mean_{self.metric}"]

        def stop(study_: Any, trial: Any) -> None:
            if self.out_of_time():
                study_.stop()

        # n_jobs=1: Optuna ignores its seed when trials run in parallel
        study.optimize(objective, n_trials=p.candidates, n_jobs=1, callbacks=[stop], catch=())
        return self.best_of(self.rows)

    # -- outputs ------------------------------------------------------------------------------------
    def outputs(self, best: dict[str, Any]) -> dict[str, Any]:
        import pandas as pd

        ctx = self.ctx
        chosen = {k: best[k] for k in self.space}
        best_params = self.learner_params(chosen)
        tuned = {"from": self.learner.params, "search": self.params.search, "metric": self.metric,
                 "score": best[f"mean_{self.metric}"], "candidates": len(self.rows), "node": ctx.node_id,
                 "space": {k: v.model_dump(mode="json", exclude_defaults=True) for k, v in self.space.items()}}
        learner = Learner(self.learner.type_id, self.learner.title, self.learner.task,
                          self.cls().estimator(best_params), best_params.model_dump(mode="json"), tuned=tuned)
        sweep = pd.DataFrame(self.rows)
        order = sorted(range(len(self.rows)), key=lambda i: (self.rows[i]["round"] * -1, self.rank_key(self.rows[i]),
                                                              self.rows[i]["candidate"]))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(1, len(order) + 1)
        sweep["rank"] = rank
        from designer.core.values import DataSource

        source = DataSource(f"{ctx.node_id} sweep", None, "", len(sweep), sweep.shape[1])
        entry = {"port": "sweep", "task": "tuning", "model": ctx.node_id, "rows": len(sweep),
                 "metrics": {f"best_{self.metric}": best[f"mean_{self.metric}"], "candidates": float(len(sweep)),
                             "reused": float(self.reused)},
                 "best": chosen, "candidates": self.rows,
                 "plots": {"tuning": {"metric": self.metric, "higher_is_better": self.better,
                                      "params": {k: sweep[k].tolist() for k in self.space},
                                      "scores": sweep[f"mean_{self.metric}"].tolist(),
                                      "rounds": sweep["round"].tolist(), "best": chosen}}}
        if self.reused:
            ctx.warn(f"{self.reused} candidate(s) reused from the cache of earlier runs")
        return {"learner": learner, "sweep": Table.from_source(sweep, source), "report": Report([entry])}


def cache_folder(ctx: RunContext) -> Path | None:
    """Where finished candidates are kept: a folder beside the run store the run is recorded in."""
    try:
        from designer.core.store import store_for_pipeline

        return store_for_pipeline(ctx.base_dir / "pipeline.json").parent / "tune-cache"
    except Exception:  # noqa: BLE001  (no usable store location: no cache)
        return None
