"""Table schemas (ordered column names and kinds) and the shared column-selection parameter type.

Schemas are propagated through the graph without running anything, so validation can name an unknown
column before data moves (KNIME's configure step).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from designer.core.errors import BadInput
from designer.core.kinds import KINDS, Kind, kind_of_dtype  # noqa: F401  (re-exported: their home is kinds)


class TableSchema(BaseModel):
    """Ordered columns and their kinds. `exact=False` means more columns may exist than are listed."""

    model_config = ConfigDict(frozen=True)

    columns: tuple[tuple[str, Kind], ...] = ()
    exact: bool = True
    steps: tuple[str, ...] = ()
    """Ids of the nodes whose fitted column steps this table went through, in order."""
    stats_steps: tuple[str, ...] = ()
    """The subset of `steps` that learned statistics from rows (imputation, scaling, clipping, categories)."""
    scored: dict[str, str] | None = None
    """Set on a scored table: {"task": ..., "label": ..., "model": node id}."""
    meta: tuple[tuple[str, Kind], ...] = ()
    """Meta columns (ids, names, free text): they flow through every node untouched and are never features."""
    streamed: str | None = None
    """Set when the rows are read in chunks (a `TableStream`): the id of the Load node that streams them."""

    @property
    def names(self) -> list[str]:
        return [c for c, _ in self.columns]

    def kind(self, name: str) -> Kind | None:
        for c, k in self.columns:
            if c == name:
                return k
        return None

    def has(self, name: str) -> bool:
        return self.kind(name) is not None or not self.exact

    @property
    def meta_names(self) -> list[str]:
        return [c for c, _ in self.meta]

    def with_meta(self, names: list[str], param: str = "meta", node: str | None = None) -> "TableSchema":
        """Move `names` from the working columns into the meta columns (unknown names are refused)."""
        for name in names:
            if self.exact and self.kind(name) is None and name not in self.meta_names:
                raise BadInput(f"unknown column '{name}'; the input has {', '.join(self.names) or 'no columns'}",
                               node=node, param=param, column=name)
        moved = [(c, k) for c, k in self.columns if c in names]
        return self.model_copy(update={"columns": tuple(c for c in self.columns if c[0] not in names),
                                       "meta": self.meta + tuple(moved)})

    def without_meta(self, names: list[str], param: str = "features", node: str | None = None) -> "TableSchema":
        """Move meta columns back among the working columns (features)."""
        for name in names:
            if name not in self.meta_names and (self.exact or self.kind(name) is not None):
                raise BadInput(f"'{name}' is not a meta column (meta: {', '.join(self.meta_names) or 'none'})",
                               node=node, param=param, column=name)
        back = [(c, k) for c, k in self.meta if c in names]
        return self.model_copy(update={"columns": self.columns + tuple(back),
                                       "meta": tuple(c for c in self.meta if c[0] not in names)})

    def of_kind(self, *kinds: str) -> list[str]:
        return [c for c, k in self.columns if k in kinds]

    def with_columns(self, columns: Any) -> "TableSchema":
        return self.model_copy(update={"columns": tuple(columns)})

    def select(self, names: list[str]) -> "TableSchema":
        return self.with_columns((n, self.kind(n) or "unknown") for n in names)

    def without(self, names: list[str]) -> "TableSchema":
        drop = set(names)
        return self.with_columns(c for c in self.columns if c[0] not in drop)

    def replace(self, updates: dict[str, Kind]) -> "TableSchema":
        return self.with_columns((c, updates.get(c, k)) for c, k in self.columns)

    def add(self, extra: list[tuple[str, Kind]]) -> "TableSchema":
        return self.with_columns(self.columns + tuple(extra))

    def after_step(self, node_id: str, fits_statistics: bool) -> "TableSchema":
        """This schema marked as having gone through the fitted column step of `node_id`."""
        stats = self.stats_steps + ((node_id,) if fits_statistics else ())
        return self.model_copy(update={"steps": self.steps + (node_id,), "stats_steps": stats})

    def to_json(self) -> list[dict[str, str]]:
        return [{"name": c, "kind": k} for c, k in self.columns]

    @classmethod
    def from_json(cls, data: list[dict[str, str]]) -> "TableSchema":
        return cls(columns=tuple((d["name"], d["kind"]) for d in data))  # type: ignore[misc]

    @classmethod
    def of_frame(cls, frame: Any) -> "TableSchema":
        return cls(columns=tuple((str(c), kind_of_dtype(frame[c].dtype)) for c in frame.columns))


class Columns(BaseModel):
    """A column selection: all columns, all of some kinds, or named columns; minus an exclude list.

    In a pipeline file it may be written as a plain list of names, short for `{"names": [...]}`.
    """

    model_config = ConfigDict(extra="forbid")

    mode: Literal["all", "numeric", "categorical", "names"] = Field(
        "all", description="Which columns: all, all numeric, all categorical, or the named ones"
    )
    names: list[str] = Field(default_factory=list, description="Columns to include (mode 'names')")
    exclude: list[str] = Field(default_factory=list, description="Columns to leave out")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list):
            return {"mode": "names", "names": value}
        if isinstance(value, dict) and value.get("names") and "mode" not in value:
            return {**value, "mode": "names"}
        return value

    def resolve(self, schema: TableSchema, param: str = "columns", node: str | None = None) -> list[str]:
        """The selected column names, in table order (names mode: in the given order)."""
        for name in [*self.names, *self.exclude]:
            if name in schema.meta_names:
                raise BadInput(f"'{name}' is a meta column (ids, names, text): it flows through untouched and is "
                               "never transformed; make it a feature with Edit Metadata first",
                               node=node, param=param, column=name)
            if schema.exact and schema.kind(name) is None:
                raise BadInput(
                    f"unknown column '{name}'; the input has {', '.join(schema.names) or 'no columns'}",
                    node=node, param=param, column=name,
                )
        if self.mode == "names":
            chosen = list(dict.fromkeys(self.names))
        elif self.mode == "all":
            chosen = schema.names
        else:
            chosen = schema.of_kind(self.mode)
        drop = set(self.exclude)
        return [c for c in chosen if c not in drop]

    def describe(self) -> str:
        base = {"all": "all columns", "numeric": "all numeric columns", "categorical": "all categorical columns"}
        text = ", ".join(self.names) if self.mode == "names" else base[self.mode]
        return text + (f" except {', '.join(self.exclude)}" if self.exclude else "")


ColumnName = Annotated[str, Field(json_schema_extra={"x-column": True})]
"""A parameter holding one column name: the GUI offers a picker filled from the upstream schema."""
