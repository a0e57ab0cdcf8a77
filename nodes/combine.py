"""Combining tables: Join Data and Add Rows.

Both build a new table from raw tables, before any cleaning: their output is a new source (an empty
recipe, rows numbered from 0), so a model trained on it expects the combined table as its input, and the
bundle's input schema lists the combined columns. To score new data, combine it the same way first.
Inputs that already went through fitted cleaning are refused (that cleaning could not be replayed).

Columns that may be missing after combining keep their kind, except true/false columns, which become
categorical (true, false or missing): the output's kinds never depend on which rows happen to match.

Exported scripts copy `joined_rows` and `new_source`, the functions the modules compute with, and append
rows with the same `pd.concat`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from designer.core.errors import BadInput
from designer.core.export import ExportContext, ExportFragment, NeedsRun, TableRef, helper_source, literal
from designer.core.node import NodeType, Params, Port, RunContext, SchemaContext
from designer.core.schema import Kind, TableSchema
from designer.core.values import PortType, Table

if TYPE_CHECKING:
    import pandas as pd

Column = tuple[str, Kind, bool]  # name, kind, is a meta column


def _raw_input(inputs: dict[str, Any], port: str) -> TableSchema:
    """The schema arriving at `port`, refused when it went through fitted cleaning or scoring."""
    schema = inputs.get(port)
    if not isinstance(schema, TableSchema):
        return TableSchema(exact=False)
    if schema.steps:
        raise BadInput(f"this table went through fitted cleaning ({', '.join(schema.steps)}); combine tables "
                       "straight from their sources and clean afterwards, so a trained model can replay that "
                       "cleaning on new data", port=port)
    if schema.scored:
        raise BadInput("this is a scored table; combine tables before training and scoring", port=port)
    return schema


def _check_raw(table: Table, port: str) -> None:
    """The run-time twin of `_raw_input`."""
    if table.scored is not None:
        raise BadInput("this is a scored table; combine tables before training and scoring", port=port)
    _raw_input({port: TableSchema(steps=tuple(table.step_ids))}, port)


def _columns(schema: TableSchema) -> list[Column]:
    return [(n, k, True) for n, k in schema.meta] + [(n, k, False) for n, k in schema.columns]


def _schema(columns: list[Column], exact: bool) -> TableSchema:
    return TableSchema(columns=tuple((n, k) for n, k, m in columns if not m),
                       meta=tuple((n, k) for n, k, m in columns if m), exact=exact)  # type: ignore[arg-type]


def _nullable(columns: list[Column]) -> list[Column]:
    """Columns that may get missing cells: true/false becomes categorical."""
    return [(n, "categorical" if k == "boolean" else k, m) for n, k, m in columns]


def _frame(table: Table) -> Any:
    """Meta columns and the rest, side by side."""
    return table.view


def new_source(frame: "pd.DataFrame", columns: list[str], booleans: list[str]) -> "pd.DataFrame":
    """A combined table as a new source: rows numbered from 0, `columns` in this order, and true/false columns
    not among `booleans` (those that may get missing cells) as object columns of true, false or missing, so
    that their kind never depends on which rows happened to match. Exported scripts copy this function."""
    import pandas as pd

    frame = frame.reset_index(drop=True)[columns]
    for name in columns:
        if name not in booleans and pd.api.types.is_bool_dtype(frame[name].dtype):
            frame[name] = frame[name].astype(object)
    return frame


def _new_source_args(columns: list[Column]) -> tuple[list[str], list[str]]:
    """`new_source`'s columns and booleans for planned output columns."""
    return [n for n, _, _ in columns], [n for n, k, _ in columns if k == "boolean"]


def _combined(frame: Any, columns: list[Column], *tables: Table) -> Table:
    """The new source table: rows numbered from 0, the kinds schema() promised, meta columns set aside,
    sources of both inputs."""
    frame = new_source(frame, *_new_source_args(columns))
    sources = tuple(dict.fromkeys(s for t in tables for s in t.sources))
    table = Table(frame=frame, source_schema=TableSchema.of_frame(frame), sources=sources)
    return table.with_roles(meta=[n for n, _, m in columns if m])


def _export_inputs(ctx: ExportContext, *ports: str) -> list[TableSchema]:
    """The schemas of the inputs at `ports` for export: those of the run's tables when export ran the pipeline
    (what `run` planned with), else those validation predicts, which must list every column."""
    values = ctx.input_values or {}
    if all(isinstance(values.get(p), Table) for p in ports):
        return [values[p].schema for p in ports]
    schemas = [_raw_input(ctx.input_specs, p) for p in ports]
    if not all(s.exact for s in schemas):
        raise NeedsRun("the combined columns are known only after a run", node=ctx.node_id)
    return schemas


def _export(ctx: ExportContext, code: list[str], columns: list[Column], imports: set[str]) -> ExportFragment:
    """The fragment of a combining module: `code` assigns its output variable, then `new_source` shapes it."""
    var = ctx.var("data")
    names, booleans = _new_source_args(columns)
    code = code + [f"{var} = new_source({var}, {literal(names)}, booleans={literal(booleans)})"]
    features = tuple(n for n, _, m in columns if not m)
    ref = TableRef(var, (), features, tuple(n for n, _, m in columns if m), features)
    return ExportFragment(code=code, imports=imports, helpers=helper_source(new_source), outputs={"data": ref})


def joined_rows(left: "pd.DataFrame", right: "pd.DataFrame", how: str, keys: list[str], right_keys: list[str],
                suffix: str) -> "pd.DataFrame":
    """The rows of Join Data: `right`'s key columns `right_keys` renamed to the left names `keys` (they appear
    once), its other columns whose names the left table has renamed with `suffix`. Rows with a missing key
    match nothing. Left rows keep their order, each followed by its matches (inner: only left rows that
    match; left and full: every left row); a full join then adds the right rows that matched nothing, those
    with a missing key last. Semi and anti joins keep the left rows (once each, left columns only) that have
    a match, or none. Exported scripts copy this function."""
    import pandas as pd

    rename = dict(zip(right_keys, keys))
    clash = {n: n + suffix for n in right.columns if n not in rename and n in left.columns}
    right = right.rename(columns={**rename, **clash})
    lmiss, rmiss = left[keys].isna().any(axis=1), right[keys].isna().any(axis=1)
    rvalid = right[~rmiss]
    if how in ("semi", "anti"):
        found = left[keys].merge(rvalid[keys].drop_duplicates(), how="left", on=keys,
                                 indicator=True)["_merge"].to_numpy() == "both"
        found &= ~lmiss.to_numpy()
        return left[found if how == "semi" else ~found]
    if how == "inner":
        return left[~lmiss].merge(rvalid, how="inner", on=keys, sort=False)
    joined = left.merge(rvalid, how="left", on=keys, sort=False)
    if how == "full":
        matched = rvalid[keys].merge(left[~lmiss][keys].drop_duplicates(), how="left", on=keys,
                                     indicator=True)["_merge"].to_numpy() == "both"
        rest = pd.concat([rvalid[~matched], right[rmiss]])
        joined = pd.concat([joined, rest], ignore_index=True) if len(rest) else joined
    return joined


# ------------------------------------------------------------------------------------ Join Data
class JoinParams(Params):
    how: Literal["inner", "left", "full", "semi", "anti"] = Field(
        "inner", description="inner: matching rows only; left: every left row; full: every row of both; "
                             "semi: left rows that have a match; anti: left rows that have none")
    keys: list[str] = Field(..., min_length=1, description="Key columns of the left table")
    right_keys: list[str] = Field(default_factory=list, description=(
        "Key columns of the right table, in the same order (empty: the same names as the left keys)"))
    suffix: str = Field("_right", min_length=1, description=(
        "Added to a right column's name when the left table has a column of that name"))


class JoinData(NodeType):
    """Join two tables on one or more key columns (inner, left, full, semi or anti join).

    Rows whose key has a missing value never match. Key columns appear once, under the left names; right
    columns whose names clash get the suffix. Left rows keep their order (full joins then add the right
    rows that matched nothing). Duplicate keys are reported with counts, since they repeat rows. Keys of
    different types (a number and a text) are refused, naming both columns.
    """

    type_id = "data.join"
    title = "Join Data"
    category = "Data"
    inputs = (Port("left", PortType.TABLE, "The left table"), Port("right", PortType.TABLE, "The right table"))
    outputs = (Port("data", PortType.TABLE, "The joined table (a new source: no cleaning yet)"),)
    Params = JoinParams

    @staticmethod
    def _keys(params: JoinParams) -> list[tuple[str, str]]:
        right = params.right_keys or params.keys
        if len(right) != len(params.keys):
            raise BadInput(f"{len(params.keys)} left key(s) but {len(right)} right key(s); give one right key per "
                           "left key", param="right_keys")
        return list(zip(params.keys, right))

    def _plan(self, params: JoinParams, left: TableSchema, right: TableSchema) -> list[Column]:
        """The output columns, checking keys and names."""
        pairs = self._keys(params)
        lcols, rcols = _columns(left), _columns(right)
        lkind = {n: k for n, k, _ in lcols}
        rkind = {n: k for n, k, _ in rcols}
        for side, keys, kinds, schema, param in (("left", [a for a, _ in pairs], lkind, left, "keys"),
                                                 ("right", [b for _, b in pairs], rkind, right, "right_keys")):
            for k in keys:
                if schema.exact and k not in kinds:
                    raise BadInput(f"unknown {side} key column '{k}'; the {side} table has "
                                   f"{', '.join(kinds) or 'no columns'}", param=param, column=k)
            if len(set(keys)) != len(keys):
                raise BadInput(f"a {side} key column is named twice", param=param)
        for a, b in pairs:
            ka, kb = lkind.get(a), rkind.get(b)
            if ka and kb and ka != kb and "unknown" not in (ka, kb):
                raise BadInput(f"key types differ: left '{a}' is {ka}, right '{b}' is {kb}; make them the same "
                               "type first (Edit Metadata)", param="right_keys", column=b)
        if params.how in ("semi", "anti"):
            return lcols
        right_keys = {b for _, b in pairs}
        taken = {n for n, _, _ in lcols}
        out = _nullable(lcols) if params.how == "full" else list(lcols)
        if params.how == "full":  # coalesced keys are never missing
            out = [(n, lkind[n], m) if n in dict(pairs) else (n, k, m) for n, k, m in out]
        extra = []
        left_names = set(taken)
        for n, k, m in rcols:
            if n in right_keys:
                continue
            name = n + params.suffix if n in left_names else n  # as `joined_rows` names it
            if name in taken:
                raise BadInput(f"right column '{n}' would be named '{name}', which the joined table already has "
                               "(from the left table, or another right column with the suffix); choose another "
                               "suffix", param="suffix", column=n)
            taken.add(name)
            extra.append((name, k, m))
        return out + (extra if params.how == "inner" else _nullable(extra))

    def schema(self, params: JoinParams, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        left, right = _raw_input(inputs, "left"), _raw_input(inputs, "right")
        return {"data": _schema(self._plan(params, left, right), left.exact and right.exact)}

    def run(self, params: JoinParams, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        import pandas as pd

        lt, rt = inputs["left"], inputs["right"]
        _check_raw(lt, "left")
        _check_raw(rt, "right")
        columns = self._plan(params, lt.schema, rt.schema)
        pairs = self._keys(params)
        keys = [a for a, _ in pairs]
        left, right = _frame(lt), _frame(rt)
        for a, b in pairs:  # the same kind may still be int and float, or two kinds of text
            if (pd.api.types.is_numeric_dtype(left[a]) != pd.api.types.is_numeric_dtype(right[b])
                    or pd.api.types.is_bool_dtype(left[a]) != pd.api.types.is_bool_dtype(right[b])):
                raise BadInput(f"key types differ: left '{a}' is {left[a].dtype}, right '{b}' is {right[b].dtype}",
                               param="right_keys", column=b)
        rkeys = [b for _, b in pairs]
        lmiss, rmiss = left[keys].isna().any(axis=1), right[rkeys].isna().any(axis=1)
        for side, frame, side_keys, miss in (("left", left, keys, lmiss), ("right", right, rkeys, rmiss)):
            if miss.any():
                ctx.warn(f"{int(miss.sum())} {side} row(s) have a missing key and match nothing")
            dup = frame[~miss].duplicated(side_keys, keep=False)
            if dup.any():
                n_keys = len(frame[~miss][dup].drop_duplicates(side_keys))
                ctx.warn(f"{side} table: {n_keys} key value(s) appear more than once ({int(dup.sum())} rows); "
                         + ("matching rows are repeated" if params.how not in ("semi", "anti") else
                            "each left row is kept once"))
        ctx.progress(0.3, "joining")
        joined = joined_rows(left, right, params.how, keys, rkeys, params.suffix)
        if len(joined) == 0:
            ctx.warn("no rows: no key matched")
        return {"data": _combined(joined, columns, lt, rt)}

    def export(self, params: JoinParams, ctx: ExportContext) -> ExportFragment:
        """The designer's own `joined_rows` and `new_source` (copied into the script) on the two tables."""
        columns = self._plan(params, *_export_inputs(ctx, "left", "right"))
        pairs = self._keys(params)
        code = [f"{ctx.var('data')} = joined_rows({ctx.table('left').var}, {ctx.table('right').var}, "
                f"how={params.how!r}, keys={literal([a for a, _ in pairs])}, "
                f"right_keys={literal([b for _, b in pairs])}, suffix={params.suffix!r})"]
        frag = _export(ctx, code, columns, set())
        frag.helpers[:0] = helper_source(joined_rows)
        return frag


# ------------------------------------------------------------------------------------ Add Rows
class AddRowsParams(Params):
    columns: Literal["same", "union"] = Field(
        "same", description="same: both tables must have the same columns; union: every column of either, "
                            "missing cells where a table lacks one")


class AddRows(NodeType):
    """Append the rows of the second table below those of the first.

    With "same", both tables need the same columns (in any order; the first table's order is kept); with
    "union", columns of either table are kept and cells a table lacks are missing. A column must have the
    same kind (and role: meta or not) in both tables.
    """

    type_id = "data.add_rows"
    title = "Add Rows"
    category = "Data"
    inputs = (Port("first", PortType.TABLE, "The first rows"), Port("second", PortType.TABLE, "Rows to append"))
    outputs = (Port("data", PortType.TABLE, "Both tables' rows (a new source: no cleaning yet)"),)
    Params = AddRowsParams

    def _plan(self, params: AddRowsParams, first: TableSchema, second: TableSchema) -> list[Column]:
        a, b = _columns(first), _columns(second)
        kinds_b = {n: (k, m) for n, k, m in b}
        names_a = {n for n, _, _ in a}
        for n, k, m in a:
            if n in kinds_b:
                kb, mb = kinds_b[n]
                if k != kb and "unknown" not in (k, kb):
                    raise BadInput(f"column '{n}' is {k} in the first table but {kb} in the second",
                                   port="second", column=n)
                if m != mb:
                    raise BadInput(f"column '{n}' is a meta column in only one of the tables; give it the same "
                                   "role in both (Edit Metadata)", port="second", column=n)
        only_a = [n for n, _, _ in a if n not in kinds_b]
        only_b = [n for n, _, _ in b if n not in names_a]
        if params.columns == "same":
            if (only_a or only_b) and first.exact and second.exact:
                what = [f"only the first has {', '.join(only_a)}"] if only_a else []
                what += [f"only the second has {', '.join(only_b)}"] if only_b else []
                raise BadInput(f"the tables' columns differ ({'; '.join(what)}); set columns to 'union' to keep "
                               "all of them", param="columns", column=(only_a or only_b)[0])
            return a
        partial = set(only_a) | set(only_b)
        return [(n, "categorical" if n in partial and k == "boolean" else k, m)
                for n, k, m in a + [c for c in b if c[0] in only_b]]

    def schema(self, params: AddRowsParams, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        first, second = _raw_input(inputs, "first"), _raw_input(inputs, "second")
        return {"data": _schema(self._plan(params, first, second), first.exact and second.exact)}

    def run(self, params: AddRowsParams, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        import pandas as pd

        ft, st = inputs["first"], inputs["second"]
        _check_raw(ft, "first")
        _check_raw(st, "second")
        columns = self._plan(params, ft.schema, st.schema)
        frame = pd.concat([_frame(ft), _frame(st)], ignore_index=True)
        return {"data": _combined(frame, columns, ft, st)}

    def export(self, params: AddRowsParams, ctx: ExportContext) -> ExportFragment:
        """The same `pd.concat`, then the designer's own `new_source` (copied into the script)."""
        columns = self._plan(params, *_export_inputs(ctx, "first", "second"))
        code = [f"{ctx.var('data')} = pd.concat([{ctx.table('first').var}, {ctx.table('second').var}], "
                "ignore_index=True)"]
        return _export(ctx, code, columns, {"import pandas as pd"})
