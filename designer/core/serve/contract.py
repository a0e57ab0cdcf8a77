"""What one raw input row must look like for a trained model, and checking rows against it.

The contract is read from the model itself: the raw input columns and their kinds (`input_schema`), the
categories a fitted encoder accepts (when unseen categories are an error), and which columns may be null:
only where the recipe fills missing values before anything that would refuse them, or the estimator takes
missing values (boosted trees do, linear models do not). Every problem of a request is reported at once,
located by row and column, before anything reaches scikit-learn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from designer.core.model import TrainedModel

MAX_LISTED = 100
"""Problems listed in one answer (the total is always given)."""
ENUM_SHOWN = 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: `row` is 1-based (None: the whole column or request)."""

    message: str
    column: str | None = None
    row: int | None = None
    expected: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message}
        if self.row is not None:
            out["row"] = self.row
        if self.column is not None:
            out["column"] = self.column
        if self.expected is not None:
            out["expected"] = self.expected
        return out

    def __str__(self) -> str:
        where = ", ".join(p for p in (f"row {self.row}" if self.row is not None else "",
                                      f"column '{self.column}'" if self.column is not None else "") if p)
        return f"{where}: {self.message}" if where else self.message


@dataclass(frozen=True)
class ColumnRule:
    """One raw input column: its kind, whether it may be null, and the categories it accepts (None: any)."""

    name: str
    kind: str
    nullable: bool
    categories: tuple[Any, ...] | None = None
    known: tuple[Any, ...] = ()
    """Categories the model learned for this column (shown as examples even when unseen ones are allowed)."""

    @property
    def expected(self) -> str:
        base = {"numeric": "a number", "categorical": "text", "boolean": "true or false",
                "datetime": "a date/time as text"}.get(self.kind, "a value")
        if self.categories is not None:
            base = "a known category"
        return base + (" or null" if self.nullable else "")

    def json_schema(self, redact: bool = False) -> dict[str, Any]:
        types = {"numeric": ["number"], "categorical": ["string"], "boolean": ["boolean"],
                 "datetime": ["string"]}.get(self.kind)
        out: dict[str, Any] = {}
        if types:
            out["type"] = types + (["null"] if self.nullable else [])
        if self.categories is not None and not redact:
            out["enum"] = list(self.categories) + ([None] if self.nullable else [])
        elif self.known and not redact:
            out["examples"] = list(self.known[:ENUM_SHOWN])
        if self.kind == "datetime":
            out["format"] = "date-time"
        out["description"] = f"{self.kind}; {'may be null' if self.nullable else 'required, never null'}"
        return out


@dataclass
class Checked:
    """Rows after checking: typed columns (numbers as float with NaN for missing, text or None) and problems."""

    columns: dict[str, list[Any]]
    rows: int
    problems: list[Problem] = field(default_factory=list)
    bad_rows: set[int] = field(default_factory=set)
    """0-based rows with a problem of their own (for capture: rejected rows)."""


@dataclass(frozen=True)
class Contract:
    """The input contract of a model: one rule per raw input column, in the model's column order."""

    rules: tuple[ColumnRule, ...]
    label: str | None = None
    redact: bool = False

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.rules]

    def rule(self, name: str) -> ColumnRule | None:
        return next((r for r in self.rules if r.name == name), None)

    def json_schema(self, title: str = "One raw input row") -> dict[str, Any]:
        """JSON Schema (2020-12) of one raw input row."""
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title, "type": "object",
                "properties": {r.name: r.json_schema(self.redact) for r in self.rules},
                "required": self.names, "additionalProperties": True,
                "description": "Columns the model does not use (and the label, if sent) are ignored."}

    def check(self, columns: dict[str, list[Any]], rows: int, text_cells: bool = False) -> Checked:
        """Check and type every cell. `text_cells`: cells came from CSV text (a number may arrive as text)."""
        out = Checked({}, rows)
        for rule in self.rules:
            values = columns.get(rule.name)
            if values is None:
                out.problems.append(Problem("missing: every request must have this column", rule.name,
                                            expected=rule.expected))
                continue
            out.columns[rule.name] = _typed(rule, values, out, text_cells, self.redact)
        return out


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, bool) else ("true" if value else "false")
    return text if len(text) <= 60 else text[:57] + "…"


def _typed(rule: ColumnRule, values: list[Any], out: Checked, text_cells: bool, redact: bool) -> list[Any]:
    """The column's cells as the model takes them; a Problem for each cell that does not fit."""
    typed: list[Any] = []
    kind, allowed = rule.kind, (set(rule.categories) if rule.categories is not None else None)

    def bad(i: int, what: str) -> None:
        out.problems.append(Problem(what, rule.name, i + 1, rule.expected))
        out.bad_rows.add(i)

    for i, v in enumerate(values):
        t = type(v)
        if v is None or (t is float and v != v):
            if not rule.nullable:
                bad(i, "null, but the model cannot take a missing value here")
            typed.append(math.nan if kind == "numeric" else None)
        elif kind == "numeric":
            if t is float:
                number = v
            elif t is int:
                try:
                    number = float(v)
                except OverflowError:
                    bad(i, "number too large")
                    typed.append(math.nan)
                    continue
            elif t is str and text_cells:
                try:
                    number = float(v)
                except ValueError:
                    bad(i, "expected a number" + ("" if redact else f", got {_show(v)}"))
                    typed.append(math.nan)
                    continue
            else:
                bad(i, "expected a number" + ("" if redact else f", got {_show(v)}"))
                typed.append(math.nan)
                continue
            if not math.isfinite(number):
                bad(i, "expected a finite number" + ("" if redact else f", got {_show(v)}"))
                number = math.nan
            typed.append(number)
        elif kind == "categorical":
            if t is not str:
                bad(i, "expected text" + ("" if redact else f", got {_show(v)}"))
                typed.append(None)
            elif allowed is not None and v not in allowed:
                if redact:
                    bad(i, "unseen category")
                else:
                    shown = ", ".join(repr(c) for c in rule.categories[:ENUM_SHOWN])  # type: ignore[index]
                    more = " …" if len(rule.categories) > ENUM_SHOWN else ""  # type: ignore[arg-type]
                    bad(i, f"unseen category {_show(v)}; the model knows {shown}{more}")
                typed.append(None)
            else:
                typed.append(v)
        elif kind == "boolean":
            if t is not bool:
                bad(i, "expected true or false" + ("" if redact else f", got {_show(v)}"))
            typed.append(v if t is bool else None)
        elif t in (str, int, float, bool):
            typed.append(v)
        else:
            bad(i, "expected a single value" + ("" if redact else f", got {_show(v)}"))
            typed.append(None)
    return typed


def build_contract(model: "TrainedModel", redact: bool = False) -> Contract:
    """The contract of a trained model (see the module docstring for how nulls and categories are decided)."""
    nullable, categories, known = analyse_recipe(model)
    rules = tuple(ColumnRule(name, kind, nullable.get(name, True), categories.get(name), known.get(name, ()))
                  for name, kind in model.input_schema.columns)
    return Contract(rules, model.label, redact)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def analyse_recipe(model: "TrainedModel") -> tuple[dict[str, bool], dict[str, tuple[Any, ...]],
                                                    dict[str, tuple[Any, ...]]]:
    """Walk the recipe tracking each raw column (through renames): where a missing value is filled, where a
    step would refuse one, and the categories each encoder knows. Returns (nullable, accepted categories,
    known categories) by raw column name. After a step of a kind it does not know, every column may be
    null (the full scoring path then decides, with a located error)."""
    from sklearn.utils import get_tags

    from designer.core.recipe import ClipStep, DropStep, EditStep, EncodeStep, SelectStep, TransformerStep

    names = {c: c for c in model.input_schema.names}  # current name -> raw name
    may_be_nan = dict.fromkeys(names, True)
    refuses: set[str] = set()
    categories: dict[str, tuple[Any, ...]] = {}
    known: dict[str, tuple[Any, ...]] = {}
    for step in model.recipe:
        present = [c for c in step.columns if c in names]
        if isinstance(step, TransformerStep):
            if type(step.transformer).__name__ == "SimpleImputer":
                for c in present:
                    may_be_nan[names[c]] = False
        elif isinstance(step, EncodeStep):
            ordinal = type(step.encoder).__name__ == "OrdinalEncoder"
            for c, cats in zip(step.columns, step.encoder.categories_):
                if c not in names:
                    continue
                raw = names[c]
                values = [_plain(v) for v in cats.tolist()]
                has_nan = any(_is_nan(v) for v in values)
                plain = tuple(v for v in values if not _is_nan(v))
                known[raw] = plain
                if step.unseen == "error":
                    previous = categories.get(raw)
                    categories[raw] = plain if previous is None else tuple(v for v in previous if v in plain)
                    if may_be_nan[raw] and not has_nan:
                        refuses.add(raw)
                if ordinal:
                    may_be_nan[raw] = may_be_nan[raw] and has_nan
                else:
                    names.pop(c)
        elif isinstance(step, (SelectStep, DropStep)):
            keep = set(step.columns) if isinstance(step, SelectStep) else set(names) - set(step.columns)
            names = {c: raw for c, raw in names.items() if c in keep}
        elif isinstance(step, EditStep):
            for c, kind in step.casts.items():
                if c in names and kind == "boolean":
                    may_be_nan[names[c]] = False
            names = {step.renames.get(c, c): raw for c, raw in names.items()}
        elif not isinstance(step, ClipStep):  # a step kind this analysis does not know
            return {c: True for c in model.input_schema.names}, categories, known
    if not get_tags(model.estimator).input_tags.allow_nan:
        features = set(model.features)
        refuses.update(raw for c, raw in names.items() if c in features and may_be_nan[raw])
    nullable = {c: c not in refuses for c in model.input_schema.names}
    return nullable, categories, known
