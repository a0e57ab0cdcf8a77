"""Column kinds and how a pandas dtype maps to one (no pydantic: light enough for commands that only read data)."""

from __future__ import annotations

from typing import Any, Literal

Kind = Literal["numeric", "categorical", "boolean", "datetime", "unknown"]
KINDS: tuple[str, ...] = ("numeric", "categorical", "boolean", "datetime", "unknown")


def kind_of_dtype(dtype: Any) -> Kind:
    """Map a pandas/numpy dtype to a column kind."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "categorical"
