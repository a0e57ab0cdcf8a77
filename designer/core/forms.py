"""Which editor the property panel generates for each parameter: a Qt-free reading of the Params model.

The panel (`designer.gui.properties.editors.make_editor`) builds the widget named here, so what this says
is what the user gets; the conformance suite checks with it that every parameter of every module has an
editor of its own, not the raw-JSON fallback.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from designer.core.schema import Columns

EditorKind = Literal["bool", "choice", "int", "float", "columns", "column_list", "file", "column", "multiline", "text",
                     "optional_number", "number_or_text", "mapping", "text_list", "search_space", "json"]
FALLBACK: EditorKind = "json"
"""A field of a type the panel does not know: edited as raw JSON text."""


def editor_kind(field: FieldInfo) -> EditorKind:
    """The editor for one parameter, from its annotation and its json_schema_extra hints."""
    ann = field.annotation
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if ann is bool:
        return "bool"
    if extra.get("x-space"):
        return "search_space"  # a tuning search space over the connected learner's parameters
    if origin is Literal:
        return "choice"
    if ann is int:
        return "int"
    if ann is float:
        return "float"
    if isinstance(ann, type) and issubclass(ann, Columns):
        return "columns"
    if ann is str:
        if extra.get("x-file"):
            return "file"
        if extra.get("x-column"):
            return "column"
        if extra.get("x-multiline"):
            return "multiline"
        return "text"
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if type(None) in args and rest and all(a in (int, float) for a in rest):
            return "optional_number"
        if all(a in (int, float, str) or _is_text_literal(a) for a in rest):
            return "number_or_text"  # e.g. a data set version: 3 or "latest"
    if origin is dict and args and args[0] is str:
        if typing.get_origin(args[1]) is Literal or args[1] is str:
            return "mapping"
    if origin is list and args == (str,):
        return "text_list"
    if origin is list and len(args) == 1 and _is_column_name(args[0]):
        return "column_list"
    return FALLBACK


def _is_text_literal(ann: Any) -> bool:
    return typing.get_origin(ann) is Literal and all(isinstance(a, str) for a in typing.get_args(ann))


def _is_column_name(ann: Any) -> bool:
    """`ColumnName`: a str annotated as a column (the panel offers the upstream columns)."""
    if typing.get_origin(ann) is not typing.Annotated or typing.get_args(ann)[0] is not str:
        return False
    marks = [m.json_schema_extra for m in typing.get_args(ann)[1:] if isinstance(m, FieldInfo)]
    return any(isinstance(extra, dict) and extra.get("x-column") for extra in marks)


def form_of(params: type[BaseModel]) -> dict[str, EditorKind]:
    """{parameter: editor kind} of a Params model, in the order the panel shows them."""
    return {name: editor_kind(field) for name, field in params.model_fields.items()}


def choices_of(field: FieldInfo) -> tuple[Any, ...]:
    """The allowed values of a Literal field, or of the values of a dict[str, Literal[...]] field."""
    ann = field.annotation
    if typing.get_origin(ann) is dict:
        ann = typing.get_args(ann)[1]
    return typing.get_args(ann) if typing.get_origin(ann) is Literal else ()
