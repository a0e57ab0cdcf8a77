"""Learners (untrained algorithms with hyperparameters) and the Train modules that fit them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from designer.core.errors import BadInput
from designer.core.model import TrainedModel, feature_matrix
from designer.core.recipe import DropStep
from designer.core.schema import ColumnName, Columns, TableSchema
from designer.core.values import Learner, PortType, Table
from designer.core.node import LearnerSpec, ModelSpec, NodeType, Params, Port, RunContext, SchemaContext, table_input

LEARNER_OUT = (Port("learner", PortType.LEARNER, "Untrained algorithm with its hyperparameters"),)
MODEL_OUT = (Port("model", PortType.MODEL, "Trained model with its cleaning recipe"),)


class LearnerNode(NodeType):
    """Shared plumbing: a learner module only builds an unfitted scikit-learn estimator."""

    category = "Machine learning"
    outputs = LEARNER_OUT
    task = "regression"

    def estimator(self, params: Any) -> Any:
        raise NotImplementedError

    def schema(self, params: Any, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        return {"learner": LearnerSpec(self.type_id, self.task)}

    def run(self, params: Any, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"learner": Learner(self.type_id, self.title, self.task, self.estimator(params),
                                   params.model_dump(mode="json"))}


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
    seed: int = Field(42, ge=0, description="Random seed")


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
    min_samples_leaf: int = Field(20, ge=1, description="Minimum rows per leaf")
    learning_rate: float = Field(0.1, gt=0, le=1, description="Shrinkage applied to each tree")
    n_trees: int = Field(100, ge=1, le=10000, description="Number of boosting iterations (trees)")
    seed: int = Field(42, ge=0, description="Random seed")


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

    def estimator(self, params: BoostedParams) -> Any:
        return _boosted("HistGradientBoostingRegressor", params)


class BoostedClassificationLearner(LearnerNode):
    """Boosted decision trees for classification (scikit-learn's HistGradientBoostingClassifier)."""

    type_id = "learn.boosted_classification"
    title = "Boosted Trees Classification"
    Params = BoostedParams
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
                     columns=tuple(schema.columns))


def fit(estimator: Any, X: Any, y: Any, ctx: RunContext) -> Any:
    from sklearn.base import clone

    est = clone(estimator)
    ctx.progress(0.05, f"fitting {type(est).__name__} on {len(X):,} rows")
    X = feature_matrix(X)
    est.fit(X, y) if y is not None else est.fit(X)
    return est


def trained_model(ctx: RunContext, learner: Learner, table: Table, estimator: Any, features: list[str],
                  label: str | None) -> TrainedModel:
    """The fitted estimator with the training table's recipe, input schema, provenance and reference profile."""
    inputs = required_inputs(table, features, label)
    model = TrainedModel(node_id=ctx.node_id, task=learner.task, estimator=estimator, features=features,
                         recipe=table.recipe, input_schema=inputs, label=label,
                         learner={"type": learner.type_id, "title": learner.title, "params": learner.params},
                         sources=table.sources, train_rows=len(table.frame), train_index=table.frame.index)
    model.reference = training_reference(ctx, model, table)
    return model


def training_reference(ctx: RunContext, model: TrainedModel, table: Table) -> dict[str, Any] | None:
    """The drift reference: the raw input values of the training rows, and the predictions on them (replaced
    by the predictions on held-out rows when the run scores some: designer.core.runner.write_bundles)."""
    from designer.core.drift import reference_profile
    from designer.core.model import predict_outputs

    raw = table.raw_rows()
    if raw is None:
        return None
    ctx.progress(0.9, "profiling the training rows (reference for drift)")
    outputs = predict_outputs(model.estimator, model.task, feature_matrix(table.frame[model.features]))
    predictions = outputs.get("prediction", outputs.get("cluster"))
    return reference_profile(raw, model.input_schema.columns, predictions, model.task, rows="training")


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
        est = fit(learner.estimator, frame[features], y.to_numpy(), ctx)
        return {"model": trained_model(ctx, learner, table, est, features, params.label)}


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
        est = fit(learner.estimator, X, None, ctx)
        return {"model": trained_model(ctx, learner, table, est, features, None)}

