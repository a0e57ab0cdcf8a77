"""Learners (untrained algorithms with hyperparameters) and the Train modules that fit them."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from designer.core.background import BELOW_RUN, Background
from designer.core.errors import BadInput
from designer.core.export import ExportContext, ExportFragment, LearnerRef, NeedsRun, estimator_code, train_code
from designer.core.model import TrainedModel, feature_matrix
from designer.core.recipe import DropStep, located_values
from designer.core.schema import ColumnName, Columns, TableSchema
from designer.core.values import Learner, PortType, Table
from designer.core.node import (MAX_COUNT, MAX_SEED, LearnerSpec, ModelSpec, NodeType, Params, Port, RunContext,
                                SchemaContext, table_input)

LEARNER_OUT = (Port("learner", PortType.LEARNER, "Untrained algorithm with its hyperparameters"),)
MODEL_OUT = (Port("model", PortType.MODEL, "Trained model with its cleaning recipe"),)


class LearnerNode(NodeType):
    """Shared plumbing: a learner module only builds an unfitted scikit-learn estimator."""

    category = "Machine learning"
    outputs = LEARNER_OUT
    task = "regression"
    iterations_param: str | None = None
    """The parameter counting boosting iterations, if any: successive halving fits fewer in early rounds."""

    def estimator(self, params: Any) -> Any:
        raise NotImplementedError

    def schema(self, params: Any, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        return {"learner": LearnerSpec(self.type_id, self.task)}

    def run(self, params: Any, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"learner": Learner(self.type_id, self.title, self.task, self.estimator(params),
                                   params.model_dump(mode="json"))}

    def export(self, params: Any, ctx: ExportContext) -> ExportFragment:
        """The same unfitted estimator, every parameter spelled out."""
        code, imports = estimator_code(self.estimator(params))
        return ExportFragment(outputs={"learner": LearnerRef(code, self.task, frozenset(imports))})


class LinearParams(Params):
    l2: float = Field(0.0, ge=0, description="L2 regularisation weight (0: ordinary least squares, "
                                             ">0: ridge regression)")
    fit_intercept: bool = Field(True, description="Learn an intercept")


class LinearRegressionLearner(LearnerNode):
    """Linear regression: ordinary least squares, or ridge regression with an L2 weight."""

    type_id = "learn.linear_regression"
    title = "Linear Regression"
    Params = LinearParams

    def estimator(self, params: LinearParams) -> Any:
        from sklearn.linear_model import LinearRegression, Ridge

        if params.l2 > 0:
            return Ridge(alpha=params.l2, fit_intercept=params.fit_intercept)
        return LinearRegression(fit_intercept=params.fit_intercept)


class LogisticParams(Params):
    C: float = Field(1.0, gt=0, description="Inverse regularisation strength (smaller: stronger)")
    fit_intercept: bool = Field(True, description="Learn an intercept")
    class_weight: Literal["none", "balanced"] = Field("none", description="Weight classes by inverse frequency")
    max_iter: int = Field(1000, ge=1, le=100000, description="Maximum solver iterations")


class LogisticRegressionLearner(LearnerNode):
    """Logistic regression classifier (two or more classes), L2-regularised."""

    type_id = "learn.logistic_regression"
    title = "Logistic Regression"
    Params = LogisticParams
    task = "classification"

    def estimator(self, params: LogisticParams) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=params.C, fit_intercept=params.fit_intercept, max_iter=params.max_iter,
                                  class_weight=None if params.class_weight == "none" else "balanced")


class KMeansParams(Params):
    k: int = Field(3, ge=2, le=1000, description="Number of clusters")
    init: Literal["k-means++", "random"] = Field("k-means++", description="How to place the first centroids")
    n_init: int = Field(10, ge=1, le=100, description="Runs with different centroid seeds; the best is kept")
    max_iter: int = Field(300, ge=1, le=10000, description="Maximum iterations per run")
    seed: int = Field(42, ge=0, le=MAX_SEED, description="Random seed")


class KMeansLearner(LearnerNode):
    """K-means clustering (scikit-learn's KMeans). Train it with Train Clustering Model."""

    type_id = "learn.kmeans"
    title = "K-Means Clustering"
    Params = KMeansParams
    task = "clustering"

    def estimator(self, params: KMeansParams) -> Any:
        from sklearn.cluster import KMeans

        return KMeans(n_clusters=params.k, init=params.init, n_init=params.n_init, max_iter=params.max_iter,
                      random_state=params.seed)


class BoostedParams(Params):
    max_leaves: int = Field(31, ge=2, le=4096, description="Maximum leaves per tree")
    min_samples_leaf: int = Field(20, ge=1, le=MAX_COUNT, description="Minimum rows per leaf")
    learning_rate: float = Field(0.1, gt=0, le=1, description="Shrinkage applied to each tree")
    n_trees: int = Field(100, ge=1, le=10000, description="Number of boosting iterations (trees)")
    seed: int = Field(42, ge=0, le=MAX_SEED, description="Random seed")


def _boosted(cls_name: str, params: BoostedParams) -> Any:
    import sklearn.ensemble as ens

    return getattr(ens, cls_name)(max_leaf_nodes=params.max_leaves, min_samples_leaf=params.min_samples_leaf,
                                  learning_rate=params.learning_rate, max_iter=params.n_trees,
                                  early_stopping=False, random_state=params.seed)


class BoostedRegressionLearner(LearnerNode):
    """Boosted decision trees for regression (scikit-learn's HistGradientBoostingRegressor)."""

    type_id = "learn.boosted_regression"
    title = "Boosted Trees Regression"
    Params = BoostedParams
    iterations_param = "n_trees"

    def estimator(self, params: BoostedParams) -> Any:
        return _boosted("HistGradientBoostingRegressor", params)


class BoostedClassificationLearner(LearnerNode):
    """Boosted decision trees for classification (scikit-learn's HistGradientBoostingClassifier)."""

    type_id = "learn.boosted_classification"
    title = "Boosted Trees Classification"
    Params = BoostedParams
    iterations_param = "n_trees"
    task = "classification"

    def estimator(self, params: BoostedParams) -> Any:
        return _boosted("HistGradientBoostingClassifier", params)


# ------------------------------------------------------------------------------------------ training
def required_inputs(table: Table, features: list[str], label: str | None) -> TableSchema:
    """The raw columns that scoring needs: those any recipe step or the estimator reads (not the label)."""
    source = table.source_schema or table.schema
    used: set[str] = set(features)
    for step in table.recipe:
        if not isinstance(step, DropStep):
            used.update(step.columns)
    return source.select([c for c in source.names if c in used and c != label])


def check_features(frame: Any, features: list[str], node: str) -> None:
    from designer.core.schema import kind_of_dtype

    if not features:
        raise BadInput("there are no feature columns to learn from", port="data")
    for c in features:
        kind = kind_of_dtype(frame[c].dtype)
        if kind not in ("numeric", "boolean"):
            raise BadInput(f"feature '{c}' is {kind}; encode it (Encode Categorical) or leave it out "
                           "(Select Columns) before training", port="data", column=c)


def model_spec(schema: TableSchema, task: str, label: str | None, features: list[str], node: str) -> ModelSpec:
    return ModelSpec(node=node, task=task, label=label, features=tuple(features), steps=tuple(schema.steps),
                     columns=tuple(schema.columns), stats_steps=tuple(schema.stats_steps))


def fit(estimator: Any, frame: Any, features: list[str], label: str | None, ctx: RunContext,
        warm_key: str | None = None) -> Any:
    """A fitted clone of `estimator` on `frame`'s features (and label); a missing or infinite value the
    estimator cannot take is named by column and row, with the module that fixes it. Boosted trees whose data,
    label and other hyperparameters match a model an earlier run saved (`warm_key`, see `warm_key_of`) start
    from it: fewer trees are cut from it, more are grown on it; both equal a fit from scratch bit for bit
    (tests/nodes/test_chunked_fit.py)."""
    from sklearn.base import clone

    est = clone(estimator)
    ctx.progress(0.05, f"fitting {type(est).__name__} on {len(frame):,} rows")
    X = feature_matrix(frame[features])
    y = frame[label].to_numpy() if label is not None else None
    with located_values(frame, features, None, type(est).__name__, label=label):
        return _fit(est, estimator, X, y, ctx, warm_key)


def _fit(est: Any, estimator: Any, X: Any, y: Any, ctx: RunContext, warm_key: str | None) -> Any:
    grows = _grows_in_chunks(est)
    if grows and warm_key and ctx.warm is not None:
        start = _warm_start(est.max_iter, warm_key, ctx)
        if start is not None and start.n_iter_ == est.max_iter:
            ctx.progress(0.95, f"the first {est.max_iter} trees of a model fitted earlier")
            ctx.warm.offer(warm_key, est.max_iter)
            return start
        if start is not None:
            ctx.progress(0.1, f"continuing from {start.n_iter_} trees fitted earlier")
            est = start.set_params(max_iter=estimator.max_iter)
    if ctx.chunked and grows:
        est = fit_in_chunks(est, X, y, ctx)
    elif getattr(est, "n_iter_", None) is not None:  # continued from an earlier model
        est.set_params(warm_start=True, max_iter=estimator.max_iter)
        est.fit(X, y)
        est.set_params(warm_start=False)
    else:
        est.fit(X, y) if y is not None else est.fit(X)
    if grows and warm_key and ctx.warm is not None:
        ctx.warm.offer(warm_key, est.n_iter_)
    return est


def warm_key_of(learner: Learner, ctx: RunContext, label: str | None) -> str | None:
    """What must match for an earlier boosted-trees model to be continued or cut: the training rows, the label,
    the learner's type and every hyperparameter except the number of trees."""
    import hashlib
    import json

    data = ctx.input_fingerprints.get("data")
    if data is None or "n_trees" not in learner.params:
        return None
    params = {k: v for k, v in learner.params.items() if k != "n_trees"}
    blob = json.dumps({"data": data, "type": learner.type_id, "params": params, "label": label}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _warm_start(want: int, key: str, ctx: RunContext) -> Any:
    """A copy of the nearest saved model: the smallest one with at least `want` trees (cut down to `want`), else
    the largest one with fewer; None when there is none."""
    import copy

    candidates = ctx.warm.candidates(key)
    bigger = sorted(n for n in candidates if n >= want)
    smaller = sorted((n for n in candidates if n < want), reverse=True)
    for n in [*bigger[:1], *smaller[:1]]:
        model = ctx.warm.load(candidates[n])
        est = getattr(model, "estimator", None)
        if est is None or getattr(est, "n_iter_", None) != n:
            continue
        est = copy.deepcopy(est)
        return truncate_trees(est, want) if n > want else est
    return None


def truncate_trees(est: Any, n: int) -> Any:
    """Boosted trees cut to their first `n` iterations: what a fit of `n` trees gives (early stopping off)."""
    est._predictors = est._predictors[:n]
    for name in ("train_score_", "validation_score_"):
        scores = getattr(est, name, None)
        if scores is not None and len(scores):
            setattr(est, name, scores[: n + 1])
    est.set_params(max_iter=n)
    return est


CHUNK_SECONDS = 0.4
"""Target length of one chunk of a chunked fit: the longest a stopped fit keeps working in the background."""


def _grows_in_chunks(est: Any) -> bool:
    """Boosted trees without early stopping: warm-started growth in chunks equals one fit bit for bit
    (tests/nodes/test_chunked_fit.py proves it on every boosted sample and on random data)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    return (isinstance(est, (HistGradientBoostingClassifier, HistGradientBoostingRegressor))
            and est.early_stopping is False and not est.warm_start)


def fit_in_chunks(est: Any, X: Any, y: Any, ctx: RunContext, first: int = 2, chunk: int | None = None) -> Any:
    """Grow boosted trees a few at a time (warm start), checking the cancel flag and reporting progress
    between chunks; `chunk` fixes the chunk size (tests), else it adapts to about CHUNK_SECONDS."""
    import time

    total = est.max_iter
    done = getattr(est, "n_iter_", 0)  # a model continued from an earlier run already has some trees
    step = min(first, total - done) if chunk is None else chunk
    est.set_params(warm_start=True)
    try:
        while done < total:
            ctx.check_cancelled()
            target = min(total, done + step)
            start = time.perf_counter()
            est.set_params(max_iter=target)
            est.fit(X, y)
            per_tree = (time.perf_counter() - start) / max(1, target - done)
            done = target
            ctx.progress(0.05 + 0.95 * done / total, f"{done} of {total} trees")
            if chunk is None:
                step = max(1, int(CHUNK_SECONDS / max(per_tree, 1e-6)))
    finally:
        est.set_params(warm_start=False, max_iter=total)
    return est


def trained_model(ctx: RunContext, learner: Learner, table: Table, estimator: Any, features: list[str],
                  label: str | None, columns: Background) -> TrainedModel:
    """The fitted estimator with the training table's recipe, input schema and provenance and reference profile
    (`columns`: `profile_training_rows`, started before the fit)."""
    from designer.core.model import input_sample

    inputs = required_inputs(table, features, label)
    model = TrainedModel(node_id=ctx.node_id, task=learner.task, estimator=estimator, features=features,
                         recipe=table.recipe, input_schema=inputs, label=label,
                         learner={"type": learner.type_id, "title": learner.title, "params": learner.params,
                                  **({"tuned": learner.tuned} if learner.tuned else {})},
                         sources=table.sources, train_rows=len(table.frame), train_index=table.frame.index,
                         sample=input_sample(table, [c for c in (table.source_schema or table.schema).names
                                                     if c != label]))
    model.reference = training_reference(ctx, model, table, columns)
    return model


def profile_training_rows(table: Table, features: list[str], label: str | None) -> Background:
    """The drift reference's profile of the raw input columns of the training rows (None when those rows are
    not known), computed in a background thread below the fit's priority while the model fits."""
    from designer.core.drift import reference_profile

    kinds = required_inputs(table, features, label).columns

    def work() -> dict[str, Any] | None:
        found = table.raw_source()  # a column at a time: no copy of the rows while the fit needs the memory
        return None if found is None else reference_profile(found[0], kinds, positions=found[1])

    return Background(work, nice=BELOW_RUN, name="drift-reference")


REFERENCE_PREDICTION_ROWS = 50_000
"""Most training rows whose predictions a drift reference profiles (a seeded sample of bigger tables)."""


def training_reference(ctx: RunContext, model: TrainedModel, table: Table,
                       columns: Background) -> dict[str, Any] | None:
    """The drift reference: the raw input values of the training rows (`columns`), and the predictions on
    them (on a seeded sample of REFERENCE_PREDICTION_ROWS of a bigger table; replaced by the predictions on
    held-out rows when the run scores some: designer.core.runner.write_bundles)."""
    from designer.core.drift import prediction_profile
    from designer.core.model import predict_outputs

    ctx.progress(0.9, "profiling the training rows (reference for drift)")
    reference = columns.result()
    if reference is None:
        return None
    frame = table.frame
    if len(frame) > REFERENCE_PREDICTION_ROWS:
        rows = np.sort(np.random.default_rng(0).choice(len(frame), REFERENCE_PREDICTION_ROWS, replace=False))
        frame = frame.iloc[rows]
    outputs = predict_outputs(model.estimator, model.task, feature_matrix(frame[model.features]))
    predictions = outputs.get("prediction", outputs.get("cluster"))
    return {**reference, "predictions": prediction_profile(predictions, model.task, "training")}


class TrainParams(Params):
    label: ColumnName = Field(..., min_length=1, description="The column to predict")


class TrainModel(NodeType):
    """Fit a regression or classification learner to a table: every column except the label is a
    feature. The trained model keeps the table's cleaning recipe, so scoring replays it exactly."""

    type_id = "learn.train"
    title = "Train Model"
    category = "Machine learning"
    inputs = (Port("learner", PortType.LEARNER, "Untrained learner"),
              Port("data", PortType.TABLE, "Training rows"))
    outputs = MODEL_OUT
    Params = TrainParams

    def schema(self, params: TrainParams, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        schema = table_input(inputs)
        learner = inputs.get("learner")
        task = learner.task if isinstance(learner, LearnerSpec) else "regression"
        if task == "clustering":
            raise BadInput("a clustering learner is trained with Train Clustering Model", port="learner")
        kind = schema.kind(params.label)
        if schema.exact and kind is None:
            raise BadInput(f"unknown label column '{params.label}'; the input has {', '.join(schema.names)}",
                           param="label", column=params.label)
        if task == "regression" and kind not in ("numeric", "unknown", None):
            raise BadInput(f"regression needs a numeric label, but '{params.label}' is {kind}", param="label",
                           column=params.label)
        features = [c for c in schema.names if c != params.label]
        return {"model": model_spec(schema, task, params.label, features, ctx.node_id)}

    def run(self, params: TrainParams, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        learner: Learner = inputs["learner"]
        table: Table = inputs["data"]
        frame = table.frame
        if params.label not in frame.columns:
            raise BadInput(f"unknown label column '{params.label}'", param="label", column=params.label)
        y = frame[params.label]
        if y.isna().any():
            raise BadInput(f"the label has {int(y.isna().sum())} missing values; remove those rows first "
                           "(Clean Missing Data, mode remove_row)", param="label", column=params.label)
        features = [c for c in frame.columns if c != params.label]
        check_features(frame, features, ctx.node_id)
        if learner.task == "classification" and y.nunique() < 2:
            raise BadInput("the label has a single class; a classifier needs at least two", param="label")
        columns = profile_training_rows(table, features, params.label)
        est = fit(learner.estimator, frame, features, params.label, ctx, warm_key_of(learner, ctx, params.label))
        return {"model": trained_model(ctx, learner, table, est, features, params.label, columns)}

    def export(self, params: TrainParams, ctx: ExportContext) -> ExportFragment:
        return train_code(ctx, _learner_ref(ctx), ctx.table(), None, params.label)


class TrainClusteringParams(Params):
    columns: Columns = Field(default_factory=lambda: Columns(mode="numeric"),
                             description="Columns to cluster on")


class TrainClusteringModel(NodeType):
    """Fit a clustering learner (K-Means) on the chosen numeric columns."""

    type_id = "learn.train_clustering"
    title = "Train Clustering Model"
    category = "Machine learning"
    inputs = (Port("learner", PortType.LEARNER, "Untrained clustering learner"),
              Port("data", PortType.TABLE, "Rows to cluster"))
    outputs = MODEL_OUT
    Params = TrainClusteringParams

    def schema(self, params: TrainClusteringParams, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        schema = table_input(inputs)
        learner = inputs.get("learner")
        if isinstance(learner, LearnerSpec) and learner.task != "clustering":
            raise BadInput("this learner is not a clustering learner; use Train Model", port="learner")
        cols = params.columns.resolve(schema, node=ctx.node_id)
        for c in cols:
            if schema.kind(c) not in ("numeric", "boolean", "unknown", None):
                raise BadInput(f"column '{c}' is {schema.kind(c)}; clustering needs numbers", param="columns",
                               column=c)
        return {"model": model_spec(schema, "clustering", None, cols, ctx.node_id)}

    def run(self, params: TrainClusteringParams, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        learner: Learner = inputs["learner"]
        table: Table = inputs["data"]
        features = params.columns.resolve(table.schema, node=ctx.node_id)
        check_features(table.frame, features, ctx.node_id)
        X = table.frame[features]
        if X.isna().any().any():
            col = X.columns[X.isna().any()][0]
            raise BadInput("has missing values; clean them before clustering", column=col, port="data")
        if len(X) < learner.estimator.n_clusters:
            raise BadInput(f"{len(X)} rows cannot form {learner.estimator.n_clusters} clusters", port="data")
        columns = profile_training_rows(table, features, None)
        est = fit(learner.estimator, table.frame, features, None, ctx)
        return {"model": trained_model(ctx, learner, table, est, features, None, columns)}

    def export(self, params: TrainClusteringParams, ctx: ExportContext) -> ExportFragment:
        model = (ctx.values or {}).get("model")
        schema = ctx.input_specs.get("data")
        if model is not None:
            features = list(model.features)
        elif isinstance(schema, TableSchema) and schema.exact:
            features = params.columns.resolve(schema, node=ctx.node_id)
        else:
            raise NeedsRun("the columns to cluster on are known only after a run", node=ctx.node_id)
        return train_code(ctx, _learner_ref(ctx), ctx.table(), features, None)


def _learner_ref(ctx: ExportContext) -> LearnerRef:
    learner = ctx.inputs.get("learner")
    if not isinstance(learner, LearnerRef):
        raise BadInput("the learner input is not a learner the script knows", port="learner")
    return learner

