"""Scoring checked rows: the compiled row path for small batches, `TrainedModel.score` otherwise, and the
start-up self-test that proves both give the same bits on sample rows before the endpoint opens."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from designer.core.errors import BadInput
from designer.core.serve.compiled import CompiledModel, NotCompiled, compile_model
from designer.core.serve.contract import Contract, build_contract

if TYPE_CHECKING:
    import pandas as pd

    from designer.core.model import TrainedModel

COMPILED_MAX_ROWS = 4096
"""Largest batch for the compiled row path (measured faster than the pandas path up to 8,000 rows of the
messy-housing sample; larger batches go through the vectorized pandas path)."""
SELF_TEST_ROWS = 12


def frame_of(contract: Contract, columns: dict[str, list[Any]], rows: int) -> "pd.DataFrame":
    """Checked columns as the DataFrame `score` would read from a file: numbers as float64 with NaN, text as
    objects with NaN for missing."""
    import pandas as pd

    data: dict[str, Any] = {}
    for rule in contract.rules:
        values = columns[rule.name]
        if rule.kind == "numeric":
            data[rule.name] = np.array(values, dtype=np.float64).reshape(rows)
        elif rule.kind == "boolean" and all(v is not None for v in values):
            data[rule.name] = np.array(values, dtype=bool).reshape(rows)
        else:
            out = np.empty(rows, dtype=object)
            out[:] = [np.nan if v is None else v for v in values]
            data[rule.name] = out
    return pd.DataFrame(data, index=pd.RangeIndex(rows))


def same_bits(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    """Identical output columns: same names, dtypes and bytes (objects compared as values)."""
    if list(a) != list(b):
        return False
    for name in a:
        x, y = np.asarray(a[name]), np.asarray(b[name])
        if x.shape != y.shape:
            return False
        if x.dtype.kind in "biuf" and y.dtype.kind in "biuf":
            if x.dtype != y.dtype or x.tobytes() != y.tobytes():
                return False
        elif x.tolist() != y.tolist():
            return False
    return True


@dataclass
class Scorer:
    """A loaded model ready to answer: its contract, and its compiled row path when it has one."""

    model: "TrainedModel"
    contract: Contract
    compiled: CompiledModel | None = None
    why_not_compiled: str | None = None
    compiled_max_rows: int = COMPILED_MAX_ROWS
    counts: dict[str, int] = field(default_factory=lambda: {"compiled": 0, "pandas": 0})

    @classmethod
    def of(cls, model: "TrainedModel", redact: bool = False, compiled: bool = True) -> "Scorer":
        contract = build_contract(model, redact)
        scorer = cls(model, contract)
        if compiled:
            try:
                scorer.compiled = compile_model(model)
            except NotCompiled as e:
                scorer.why_not_compiled = str(e)
        else:
            scorer.why_not_compiled = "turned off"
        return scorer

    @property
    def path(self) -> str:
        return "compiled row path" if self.compiled else f"pandas path ({self.why_not_compiled})"

    def score(self, columns: dict[str, list[Any]], rows: int) -> dict[str, np.ndarray]:
        """Prediction columns for checked rows (BadInput for what only the recipe can find)."""
        if self.compiled is not None and rows <= self.compiled_max_rows:
            self.counts["compiled"] += 1
            return self.compiled.predict(columns, rows)
        self.counts["pandas"] += 1
        return self.full(columns, rows)

    def full(self, columns: dict[str, list[Any]], rows: int) -> dict[str, np.ndarray]:
        """Through `TrainedModel.score`, exactly as `pipeline-designer score` does."""
        from designer.core.values import Table

        frame = frame_of(self.contract, columns, rows)
        scored = self.model.score(Table(frame=frame)).frame
        return {str(c): scored[c].to_numpy() for c in scored.columns[frame.shape[1]:]}

    # ------------------------------------------------------------------------------------------ self-test
    def self_test(self, reference: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Score sample rows through the full path (a model that cannot is refused: BadInput), then, when
        there is a compiled path, compare it on the batch and on every row alone; any difference turns the
        compiled path off. Returns the sample rows."""
        rows = sample_rows(self.model, self.contract, reference)
        columns = {r.name: [row[r.name] for row in rows] for r in self.contract.rules}
        checked = self.contract.check(columns, len(rows))
        if checked.problems:
            raise BadInput(f"self-test: the sample rows do not pass the input checks ({checked.problems[0]})")
        try:
            expected = self.full(checked.columns, len(rows))
        except BadInput as e:
            raise BadInput(f"self-test: the model cannot score sample rows: {e}") from None
        if self.compiled is None:
            return rows
        try:
            same = same_bits(self.compiled.predict(checked.columns, len(rows)), expected)
            for i in range(len(rows)):
                one = {c: [v[i]] for c, v in checked.columns.items()}
                same = same and same_bits(self.compiled.predict(one, 1), {k: v[i:i + 1] for k, v in expected.items()})
        except BadInput as e:
            same, detail = False, str(e)
        else:
            detail = "different predictions"
        if not same:
            self.compiled = None
            self.why_not_compiled = f"self-test: the compiled path gave {detail} on sample rows"
        return rows


def sample_rows(model: "TrainedModel", contract: Contract, reference: dict[str, Any] | None = None
                ) -> list[dict[str, Any]]:
    """Plausible raw rows: numbers from the reference profile (quantiles) or what the recipe learned (fill
    values, means), categories the encoders know, and a null where the column may be null."""
    learned = _learned_numbers(model)
    profiles = (reference or {}).get("columns", {}) if isinstance(reference, dict) else {}
    options: dict[str, list[Any]] = {}
    for rule in contract.rules:
        prof = profiles.get(rule.name) or {}
        values: list[Any]
        if rule.kind == "numeric":
            q = prof.get("quantiles") or []
            values = [float(q[i * (len(q) - 1) // 4]) for i in (1, 2, 3)] if len(q) >= 5 else []
            values = [v for v in values if math.isfinite(v)] or learned.get(rule.name, []) or [0.0, 1.0]
        elif rule.kind == "categorical":
            cats = rule.categories if rule.categories is not None else (
                rule.known or tuple(prof.get("categories", {})) or ("a",))
            values = [c for c in cats if isinstance(c, str)][:SELF_TEST_ROWS] or ["a"]
        elif rule.kind == "boolean":
            values = [False, True]
        else:
            values = ["2024-01-01T00:00:00"] if rule.kind == "datetime" else ["a"]
        options[rule.name] = values + ([None] if rule.nullable else [])
    count = min(SELF_TEST_ROWS, max([len(v) for v in options.values()] + [2]))
    return [{name: values[r % len(values)] for name, values in options.items()} for r in range(count)]


def _learned_numbers(model: "TrainedModel") -> dict[str, list[float]]:
    """Numbers a recipe learned per raw column (fill values, means, centres): plausible sample values."""
    out: dict[str, list[float]] = {}
    for step in model.recipe:
        t = getattr(step, "transformer", None)
        for attr in ("statistics_", "mean_", "center_", "data_min_", "data_max_"):
            values = getattr(t, attr, None) if t is not None else None
            if values is None:
                continue
            for c, v in zip(step.columns, np.asarray(values, dtype=object).tolist()):
                if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                    out.setdefault(c, []).append(float(v))
    return out
