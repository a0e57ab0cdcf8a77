"""Clean and transform modules. Column steps are fitted here and join the table's recipe; row steps
(remove duplicates, remove rows with missing values) only change which rows flow on."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from designer.core.errors import BadInput
from designer.core.export import ExportContext, ExportFragment, NeedsRun, literal
from designer.core.recipe import (ClipStep, DropStep, EditStep, EncodeStep, SelectStep, Step, TransformerStep,
                                   as_categories, located_values, percentile_bounds, sklearn_input)
from designer.core.schema import ColumnName, Columns, Kind, TableSchema
from designer.core.values import PortType, Table
from designer.core.node import NodeType, Params, Port, PortSpec, RunContext, SchemaContext, table_input

IN = (Port("data", PortType.TABLE, "Input table"),)
OUT = (Port("data", PortType.TABLE, "Cleaned table"),)


def _columns_field(default_mode: Literal["all", "numeric", "categorical", "names"], description: str) -> Any:
    return Field(default_factory=lambda: Columns(mode=default_mode), description=description)


class ColumnStepNode(NodeType):
    """Shared plumbing of column-step modules: resolve the selection, fit, and extend the recipe."""

    category = "Clean and transform"
    inputs = IN
    outputs = OUT
    numeric_only = False

    def selected(self, params: Any, schema: TableSchema, node: str) -> list[str]:
        cols = params.columns.resolve(schema, node=node)
        if self.numeric_only:
            for c in cols:
                if schema.kind(c) not in ("numeric", "unknown", None):
                    raise BadInput(f"'{self.title}' needs numeric columns, but '{c}' is {schema.kind(c)}",
                                   param="columns", column=c)
        return cols

    def out_schema(self, params: Any, schema: TableSchema, cols: list[str]) -> TableSchema:
        return schema

    def schema(self, params: Any, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        meta, features = roles(params)
        schema = table_input(inputs).with_meta(meta, node=ctx.node_id).without_meta(features, node=ctx.node_id)
        cols = self.selected(params, schema, ctx.node_id)
        return {"data": self.out_schema(params, schema, cols).after_step(ctx.node_id, self.fits_statistics)}

    def fit(self, params: Any, frame: Any, cols: list[str], ctx: RunContext) -> Step:
        raise NotImplementedError

    def transforms(self, params: Any, inputs: dict[str, PortSpec]) -> list[str]:
        """The columns whose values a step fitted on row statistics changes (unless the label is allowed)."""
        if not self.fits_statistics or getattr(params, "allow_label", False):
            return []
        meta, features = roles(params)
        try:
            return self.selected(params, table_input(inputs).with_meta(meta).without_meta(features), "")
        except BadInput:
            return []  # reported by `schema`

    def step_args(self, frame: Any, cols: list[str], ctx: RunContext) -> dict[str, Any]:
        from designer.core.schema import kind_of_dtype

        return {"node_id": ctx.node_id, "step_id": ctx.step_id, "title": self.title, "columns": cols,
                "kinds": {c: kind_of_dtype(frame[c].dtype) for c in cols},
                "fits_statistics": self.fits_statistics}

    def run(self, params: Any, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        from designer.core.stream import TableStream

        if isinstance(inputs["data"], TableStream):  # rows in chunks (only steps that learn nothing take them)
            quiet = RunContext(ctx.node_id, ctx.base_dir, ctx.fingerprint)
            return {"data": inputs["data"].map(ctx.node_id, lambda t: self.run(params, {"data": t}, quiet)["data"])}
        meta, features = roles(params)
        table: Table = inputs["data"].with_roles(meta, features)
        cols = self.selected(params, table.schema, ctx.node_id)
        with located_values(table.frame, cols, ctx.node_id, f"'{self.title}'"):
            step = self.fit(params, table.frame, cols, ctx)
        ctx.progress(0.6, "applying")
        return {"data": table.with_step(step, step.transform(table.frame))}


def export_columns(node: ColumnStepNode, params: Any, ctx: ExportContext) -> list[str] | None:
    """The columns a column step applies to: those it fitted in the run, else the selection resolved on the
    input schema. None when the run fitted no step (nothing selected)."""
    if ctx.values is not None:
        step = ctx.fitted_step()
        return None if step is None else list(step.columns)
    meta, features = roles(params)
    schema = table_input(ctx.input_specs).with_meta(meta).without_meta(features)
    ratios = getattr(params, "min_missing_ratio", 0.0) > 0 or getattr(params, "max_missing_ratio", 1.0) < 1
    if not schema.exact or ratios:
        raise NeedsRun("the selected columns are known only after a run", node=ctx.node_id, param="columns")
    return node.selected(params, schema, ctx.node_id)


def export_step(node: ColumnStepNode, params: Any, ctx: ExportContext, transformer: Any,
                remainder: str = "passthrough", helpers: list[str] | None = None) -> ExportFragment:
    """The fragment of a column step: `transformer` on the step's columns, with the `helpers` it needs (no
    columns: the table flows on, its roles changed)."""
    cols = export_columns(node, params, ctx)
    meta, features = roles(params)
    if not cols:
        return ctx.roles_step(meta, features)
    frag = ctx.column_step(transformer, cols, meta, features, remainder)
    frag.helpers += helpers or []
    return frag


def roles(params: Any) -> tuple[list[str], list[str]]:
    """Columns a module's parameters move into the meta columns, and meta columns they make features again."""
    return list(getattr(params, "meta", [])), list(getattr(params, "features", []))


META_FIELD: Any = Field(default_factory=list, description="Columns to set aside as meta columns (ids, names, text): "
                                                      "they flow on untouched and are never features")


class FittedParams(Params):
    """Parameters of a column step that learns statistics from the rows."""

    allow_label: bool = Field(False, description="Let the selection include the label of a Train Model "
                                                 "downstream (rarely wanted: metrics and predictions are then "
                                                 "in transformed units)")


# ---------------------------------------------------------------------------------------- select
class SelectParams(Params):
    columns: Columns = _columns_field("all", "Columns to keep")
    meta: list[ColumnName] = META_FIELD


class SelectColumns(ColumnStepNode):
    """Keep only the chosen columns: by name, by type (all numeric, all categorical), or all columns
    except some. Scoring keeps the same columns. Meta columns always flow on; 'meta' sets columns aside as
    meta columns first (ids, names, free text: never features, given back in scored tables)."""

    type_id = "clean.select"
    title = "Select Columns"
    Params = SelectParams
    streams = True

    def out_schema(self, params: SelectParams, schema: TableSchema, cols: list[str]) -> TableSchema:
        return schema.select(cols)

    def fit(self, params: SelectParams, frame: Any, cols: list[str], ctx: RunContext) -> Step:
        if not cols:
            raise BadInput("the selection keeps no columns", param="columns")
        return SelectStep(**self.step_args(frame, cols, ctx))

    def export(self, params: SelectParams, ctx: ExportContext) -> ExportFragment:
        """A ColumnTransformer that passes on exactly these columns and drops the rest."""
        return export_step(self, params, ctx, ('"passthrough"', set()), remainder="drop")


# ---------------------------------------------------------------------------------------- missing
class MissingParams(FittedParams):
    columns: Columns = _columns_field("all", "Columns to clean")
    mode: Literal["mean", "median", "most_frequent", "constant", "remove_row", "remove_column"] = Field(
        "median", description="Replace with the mean, median, most frequent value or a constant; or "
                              "remove the rows or the columns with missing values")
    constant: float | str = Field(0.0, description="Replacement value for mode 'constant'")
    indicator: bool = Field(False, description="Add a 0/1 '<column>_missing' column for each cleaned column "
                                               "that had missing values")
    min_missing_ratio: float = Field(0.0, ge=0, le=1, description="Clean only columns with at least this "
                                                                   "fraction missing")
    max_missing_ratio: float = Field(1.0, ge=0, le=1, description="Clean only columns with at most this "
                                                                   "fraction missing")

    @model_validator(mode="after")
    def _ratios(self) -> "MissingParams":
        if self.min_missing_ratio > self.max_missing_ratio:
            raise ValueError("min_missing_ratio must not exceed max_missing_ratio")
        return self


class CleanMissing(ColumnStepNode):
    """Replace or remove missing values.

    Replacement values are learned from the rows that flow in and replayed unchanged when scoring. Only
    selected columns whose fraction of missing values lies between the min and max ratio are cleaned.
    'remove_row' is a row step: it is not replayed when scoring.
    """

    def transforms(self, params: Any, inputs: dict[str, PortSpec]) -> list[str]:
        return [] if params.mode in ("remove_row", "remove_column") else super().transforms(params, inputs)

    type_id = "clean.missing"
    title = "Clean Missing Data"
    Params = MissingParams
    fits_statistics = True

    def selected(self, params: MissingParams, schema: TableSchema, node: str) -> list[str]:
        cols = params.columns.resolve(schema, node=node)
        if params.mode in ("mean", "median"):
            for c in cols:
                if schema.kind(c) not in ("numeric", "unknown", None):
                    raise BadInput(f"mode '{params.mode}' needs numeric columns, but '{c}' is {schema.kind(c)}; "
                                   "use most_frequent or constant for it, or leave it out of the selection",
                                   param="columns", column=c)
        if params.mode == "constant" and isinstance(params.constant, str):
            for c in cols:
                if schema.kind(c) == "numeric":
                    raise BadInput(f"text constant {params.constant!r} cannot fill numeric column '{c}'",
                                   param="constant", column=c)
        return cols

    def schema(self, params: MissingParams, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        schema = table_input(inputs)
        self.selected(params, schema, ctx.node_id)  # names an unknown or wrongly typed column
        if params.mode == "remove_row":
            return {"data": schema}
        if params.mode == "remove_column":
            return {"data": schema.model_copy(update={"exact": False}).after_step(ctx.node_id, True)}
        if params.indicator:  # which columns get indicators depends on the data
            schema = schema.model_copy(update={"exact": False})
        return {"data": schema.after_step(ctx.node_id, True)}

    def _in_range(self, params: MissingParams, frame: Any, cols: list[str]) -> list[str]:
        if not len(frame):
            return []
        ratios = frame[cols].isna().mean()
        return [c for c in cols if params.min_missing_ratio <= ratios[c] <= params.max_missing_ratio]

    def run(self, params: MissingParams, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        table: Table = inputs["data"]
        frame = table.frame
        cols = self._in_range(params, frame, self.selected(params, table.schema, ctx.node_id))
        if params.mode == "remove_row":
            kept = frame.dropna(subset=cols) if cols else frame
            if len(kept) == 0:
                raise BadInput("every row has a missing value in the selected columns; nothing is left",
                               param="mode")
            return {"data": table.with_frame(kept)}
        if params.mode == "remove_column":
            drop = [c for c in cols if frame[c].isna().any()]
            step = DropStep(cols, **self.step_args(frame, drop, ctx))
            return {"data": table.with_step(step, step.transform(frame))}
        return super().run(params, inputs, ctx) if cols else {"data": table}

    def fit(self, params: MissingParams, frame: Any, cols: list[str], ctx: RunContext) -> Step:
        cols = self._in_range(params, frame, cols)
        if params.mode != "constant":
            for c in cols:
                if frame[c].isna().all():
                    raise BadInput(f"has no values at all, so there is no {params.mode} to fill it with; "
                                   "remove it (mode remove_column) or use a constant", column=c)
        imputer = self.imputer(params)
        ctx.progress(0.1, "learning replacement values")
        fit_imputer(imputer, sklearn_input(frame[cols]))
        return TransformerStep(imputer, **self.step_args(frame, cols, ctx))

    @staticmethod
    def imputer(params: MissingParams) -> Any:
        """The unfitted SimpleImputer of modes mean, median, most_frequent and constant."""
        from sklearn.impute import SimpleImputer

        fill = params.constant if params.mode == "constant" else None
        return SimpleImputer(strategy=params.mode, fill_value=fill, add_indicator=params.indicator,
                             keep_empty_features=True)

    def export(self, params: MissingParams, ctx: ExportContext) -> ExportFragment:
        """A SimpleImputer step; remove_row as pandas' dropna; remove_column as a dropping step."""
        if params.mode == "remove_row":
            table = ctx.table()
            schema = table_input(ctx.input_specs)
            cols = self.selected(params, schema, ctx.node_id)
            out = ctx.var("data")
            code = [f"{out} = {table.var}"]
            if cols:
                code = [f"{out}_columns = [c for c in {literal(cols)} if {params.min_missing_ratio!r} <= "
                        f"{table.var}[c].isna().mean() <= {params.max_missing_ratio!r}]",
                        f"{out} = {table.var}.dropna(subset={out}_columns)"]
            return ctx.row_step(code, {"data": out})
        if params.mode == "remove_column":
            return export_step(self, params, ctx, ('"drop"', set()))
        if params.indicator:
            raise BadInput("export cannot yet write missing-value indicator columns", param="indicator")
        return export_step(self, params, ctx, self.imputer(params))


def fit_imputer(imputer: Any, data: Any) -> Any:
    """`imputer.fit(data)`. A median of float columns without indicator columns is computed column by column
    (np.nanmedian: the same middle value, or the same mean of the two middle values, as SimpleImputer's
    masked-array median, several times faster), and the imputer is fitted on one row of those medians: every
    fitted attribute is what fitting on `data` gives. Anything else (or values sklearn refuses, such as
    infinities) goes to SimpleImputer itself."""
    import pandas as pd

    fast = (imputer.strategy == "median" and not imputer.add_indicator and len(data) > 1
            and isinstance(data, pd.DataFrame) and all(t == np.float64 for t in data.dtypes))
    if not fast:
        return imputer.fit(data)
    values = data.to_numpy(copy=False)
    if np.isinf(values).any() or np.isnan(values).all(axis=0).any():
        return imputer.fit(data)
    medians = np.array([np.nanmedian(data[c].to_numpy()) for c in data.columns])
    return imputer.fit(pd.DataFrame([medians], columns=data.columns))


# ---------------------------------------------------------------------------------------- normalize
SCALERS = {"zscore": "StandardScaler", "minmax": "MinMaxScaler", "robust": "RobustScaler",
           "maxabs": "MaxAbsScaler"}


class NormalizeParams(FittedParams):
    columns: Columns = _columns_field("numeric", "Numeric columns to rescale")
    method: Literal["zscore", "minmax", "robust", "maxabs"] = Field(
        "zscore", description="z-score (mean 0, sd 1), min-max to [0, 1], robust (median, IQR), or max-abs")


class Normalize(ColumnStepNode):
    """Rescale numeric columns with statistics learned from the rows that flow in (scikit-learn's
    StandardScaler, MinMaxScaler, RobustScaler or MaxAbsScaler). Leave the label out of the selection."""

    type_id = "clean.normalize"
    title = "Normalize Data"
    Params = NormalizeParams
    fits_statistics = True
    numeric_only = True

    def fit(self, params: NormalizeParams, frame: Any, cols: list[str], ctx: RunContext) -> Step:
        scaler = self.scaler(params)
        scaler.fit(frame[cols])
        return TransformerStep(scaler, **self.step_args(frame, cols, ctx))

    @staticmethod
    def scaler(params: NormalizeParams) -> Any:
        import sklearn.preprocessing as pre

        return getattr(pre, SCALERS[params.method])()

    def export(self, params: NormalizeParams, ctx: ExportContext) -> ExportFragment:
        return export_step(self, params, ctx, self.scaler(params))


# ---------------------------------------------------------------------------------------- encode
class EncodeParams(FittedParams):
    columns: Columns = _columns_field("categorical", "Categorical columns to encode")
    method: Literal["onehot", "ordinal"] = Field(
        "onehot", description="One 0/1 column per category, or one integer code per category")
    unseen: Literal["error", "ignore"] = Field(
        "error", description="A category not seen in training: stop with an error naming it, or encode it "
                             "as all zeros (one-hot) / -1 (ordinal)")


class EncodeCategorical(ColumnStepNode):
    """Turn text categories into numbers (scikit-learn's OneHotEncoder or OrdinalEncoder). Categories
    are learned from the rows that flow in; what happens to an unseen category is explicit."""

    type_id = "clean.encode"
    title = "Encode Categorical"
    Params = EncodeParams
    fits_statistics = True

    def out_schema(self, params: EncodeParams, schema: TableSchema, cols: list[str]) -> TableSchema:
        if params.method == "ordinal":
            return schema.replace({c: "numeric" for c in cols})
        return schema.model_copy(update={"exact": False}).without(cols)

    def fit(self, params: EncodeParams, frame: Any, cols: list[str], ctx: RunContext) -> Step:
        enc = self.encoder(params)
        enc.fit(as_categories(frame[cols]))
        return EncodeStep(enc, params.unseen, **self.step_args(frame, cols, ctx))

    @staticmethod
    def encoder(params: EncodeParams) -> Any:
        from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

        if params.method == "onehot":
            return OneHotEncoder(sparse_output=False, dtype=np.float64,
                                 handle_unknown="error" if params.unseen == "error" else "ignore")
        return OrdinalEncoder(dtype=np.float64, handle_unknown="error" if params.unseen == "error"
                              else "use_encoded_value", unknown_value=None if params.unseen == "error" else -1)

    def export(self, params: EncodeParams, ctx: ExportContext) -> ExportFragment:
        return export_step(self, params, ctx, self.encoder(params))


# ---------------------------------------------------------------------------------------- duplicates
class DuplicatesParams(Params):
    columns: Columns = _columns_field("all", "Rows are duplicates when these columns are equal")
    keep: Literal["first", "last"] = Field("first", description="Which of the duplicate rows to keep")


class RemoveDuplicates(NodeType):
    """Drop rows that repeat an earlier (or later) row in the chosen columns. A row step: not replayed
    when scoring."""

    type_id = "clean.duplicates"
    title = "Remove Duplicates"
    category = "Clean and transform"
    inputs = IN
    outputs = OUT
    Params = DuplicatesParams

    def schema(self, params: DuplicatesParams, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        schema = table_input(inputs)
        params.columns.resolve(schema, node=ctx.node_id)
        return {"data": schema}

    def run(self, params: DuplicatesParams, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        table: Table = inputs["data"]
        cols = params.columns.resolve(table.schema, node=ctx.node_id)
        return {"data": table.with_frame(table.frame.drop_duplicates(subset=cols, keep=params.keep))}

    def export(self, params: DuplicatesParams, ctx: ExportContext) -> ExportFragment:
        table = ctx.table()
        cols = params.columns.resolve(table_input(ctx.input_specs), node=ctx.node_id)
        out = ctx.var("data")
        return ctx.row_step([f"{out} = {table.var}.drop_duplicates(subset={literal(cols)}, keep={params.keep!r})"],
                            {"data": out})


# ---------------------------------------------------------------------------------------- clip
class ClipParams(FittedParams):
    columns: Columns = _columns_field("numeric", "Numeric columns to clip")
    mode: Literal["percentiles", "bounds"] = Field(
        "percentiles", description="Clip at percentiles learned from the data, or at fixed bounds")
    lower_percentile: float = Field(1.0, ge=0, le=100, description="Lower percentile (mode percentiles)")
    upper_percentile: float = Field(99.0, ge=0, le=100, description="Upper percentile (mode percentiles)")
    lower: float | None = Field(None, description="Lower bound (mode bounds); empty for none")
    upper: float | None = Field(None, description="Upper bound (mode bounds); empty for none")

    @model_validator(mode="after")
    def _order(self) -> "ClipParams":
        if self.lower_percentile > self.upper_percentile:
            raise ValueError("lower_percentile must not exceed upper_percentile")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError("lower must not exceed upper")
        return self


class ClipValues(ColumnStepNode):
    """Limit outliers: clip numeric columns at percentiles learned from the rows that flow in, or at
    fixed bounds."""

    type_id = "clean.clip"
    title = "Clip Values"
    Params = ClipParams
    fits_statistics = True
    numeric_only = True

    def fit(self, params: ClipParams, frame: Any, cols: list[str], ctx: RunContext) -> Step:
        if params.mode == "bounds":
            lower = [params.lower] * len(cols)
            upper = [params.upper] * len(cols)
        else:
            lower, upper = percentile_bounds(frame[cols], params.lower_percentile, params.upper_percentile)
            pct = (params.lower_percentile, params.upper_percentile)
            return ClipStep(lower, upper, pct, **self.step_args(frame, cols, ctx))
        return ClipStep(lower, upper, **self.step_args(frame, cols, ctx))

    def export(self, params: ClipParams, ctx: ExportContext) -> ExportFragment:
        """A ClipColumns step (defined in the script): the same fixed bounds, or the same percentiles learned
        from the rows the script fits it on."""
        from designer.core.export_steps import clip_code

        if params.mode == "bounds":
            code, imports, helpers = clip_code(params.lower, params.upper, None)
        else:
            code, imports, helpers = clip_code(None, None, (params.lower_percentile, params.upper_percentile))
        return export_step(self, params, ctx, (code, imports), helpers=helpers)


# ---------------------------------------------------------------------------------------- metadata
class EditParams(Params):
    cast: dict[str, Kind] = Field(default_factory=dict, description="Column → new type (numeric, "
                                                                    "categorical, boolean, datetime)")
    rename: dict[str, str] = Field(default_factory=dict, description="Column → new name")
    meta: list[ColumnName] = META_FIELD
    features: list[ColumnName] = Field(default_factory=list, description="Meta columns to make features again")


class EditMetadata(ColumnStepNode):
    """Change column types (for example numbers stored as text, or codes that are categories), rename
    columns, and set column roles: 'meta' sets ids, names and free text aside (they flow on untouched and
    are never features), 'features' brings meta columns back. Types and names are replayed when scoring."""

    type_id = "clean.edit"
    title = "Edit Metadata"
    Params = EditParams
    streams = True

    def selected(self, params: EditParams, schema: TableSchema, node: str) -> list[str]:
        for param, names in (("cast", params.cast), ("rename", params.rename)):
            for c in names:
                if schema.exact and schema.kind(c) is None:
                    raise BadInput(f"unknown column '{c}'; the input has {', '.join(schema.names)}",
                                   param=param, column=c)
        new_names = [params.rename.get(c, c) for c in schema.names]
        dup = {n for n in new_names if new_names.count(n) > 1}
        if dup:
            raise BadInput(f"renaming would give two columns named '{sorted(dup)[0]}'", param="rename")
        return list(dict.fromkeys([*params.cast, *params.rename]))

    def out_schema(self, params: EditParams, schema: TableSchema, cols: list[str]) -> TableSchema:
        schema = schema.replace(dict(params.cast))
        return schema.with_columns((params.rename.get(c, c), k) for c, k in schema.columns)

    def fit(self, params: EditParams, frame: Any, cols: list[str], ctx: RunContext) -> Step:
        return EditStep(dict(params.cast), dict(params.rename), **self.step_args(frame, cols, ctx))

    def export(self, params: EditParams, ctx: ExportContext) -> ExportFragment:
        """A FunctionTransformer of `edit_columns` (defined in the script) on the cast and renamed columns."""
        from designer.core.export_steps import edit_code

        code, imports, helpers = edit_code(params.cast, params.rename)
        return export_step(self, params, ctx, (code, imports), helpers=helpers)
