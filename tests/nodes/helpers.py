"""Run one node type directly on in-memory tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from designer.core.digest import frame_sha256
from designer.core.registry import node_type
from designer.core.values import DataSource, Table
from designer.core.node import RunContext, SchemaContext


def table(frame: pd.DataFrame) -> Table:
    return Table.from_source(frame, DataSource("t", None, frame_sha256(frame), len(frame), frame.shape[1]))


def run_node(type_id: str, params: dict[str, Any] | None = None, base: Path | None = None,
             node_id: str = "n", **inputs: Any) -> dict[str, Any]:
    cls = node_type(type_id)
    parsed = cls.Params.model_validate(params or {})
    ctx = RunContext(node_id, base or Path("."), fingerprint="f" * 64)
    return cls().run(parsed, inputs, ctx)


def node_schema(type_id: str, params: dict[str, Any] | None = None, base: Path | None = None,
                **inputs: Any) -> tuple[dict[str, Any], list[str]]:
    cls = node_type(type_id)
    ctx = SchemaContext("n", base or Path("."), [])
    return cls().schema(cls.Params.model_validate(params or {}), inputs, ctx), ctx.warnings
