"""The fitted recipe step of Log Transform: what a trained bundle carries and replays when scoring.

`@bundle_type` declares the class to the app's trust list; a bundle that holds it loads only when the
user enabled this plugin (`pipeline-designer plugins enable log_transform`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from designer.core.errors import BadInput
from designer.core.recipe import Step
from designer.core.trust import bundle_type

if TYPE_CHECKING:
    import pandas as pd

BASES = ("e", "2", "10")


def log_values(values: np.ndarray, offset: float, base: str) -> np.ndarray:
    """log(values + offset) in `base`. Base e with offset 1 is `np.log1p`, exact near 0; else np.log,
    np.log2 or np.log10 of the shifted values. Missing values stay missing."""
    if base == "e":
        return np.log1p(values) if offset == 1.0 else np.log(values + offset)
    shifted = values + offset
    return np.log2(shifted) if base == "2" else np.log10(shifted)


def _numbers(frame: "pd.DataFrame", col: str) -> np.ndarray:
    return frame[col].astype(np.float64).to_numpy()


@bundle_type
class LogStep(Step):
    """Replace numeric columns by the log of (value + offset)."""

    kind = "log"

    def __init__(self, offset: float, base: str, minimum: list[float | None], **kw: Any) -> None:
        super().__init__(**kw)
        self.offset = float(offset)
        self.base = str(base)
        self.minimum = list(minimum)  # per column: min(value + offset) on the fitted rows (None: no values)

    @classmethod
    def fit(cls, frame: "pd.DataFrame", *, offset: float, base: str, **kw: Any) -> "LogStep":
        """Learn, per column, the smallest shifted value of the rows that flow in (it must be above 0)."""
        minimum: list[float | None] = []
        for col in kw["columns"]:
            shifted = _numbers(frame, col) + offset
            minimum.append(float(np.nanmin(shifted)) if np.isfinite(shifted).any() else None)
        return cls(offset, base, minimum, **kw)

    def _apply(self, frame: "pd.DataFrame") -> "pd.DataFrame":
        out = frame.copy(deep=False)
        for col in self.columns:
            values = _numbers(frame, col)
            self._check_domain(col, values)
            out[col] = log_values(values, self.offset, self.base)
        return out

    def _check_domain(self, col: str, values: np.ndarray) -> None:
        """The log of (value + offset) exists only above 0: name the first value that is not, and the fix."""
        bad = values + self.offset <= 0  # False for missing values
        if bad.any():
            row = int(bad.nonzero()[0][0])
            value, floor = float(values[row]), 0.0 - self.offset  # 0.0 - 0.0 prints as 0, not -0
            raise BadInput(
                f"value {value:g} at row {row + 1} is not above -offset ({floor:g}), so its log is "
                f"undefined; raise the parameter 'offset' of '{self.title}' above {0.0 - value:g}, or clip the "
                f"column first with Clip Values (clean.clip, mode bounds, lower above {floor:g})",
                node=self.node_id, column=col)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "method": f"log base {self.base} of (value + {self.offset:g})",
                "learned": {"minimum after offset": dict(zip(self.columns, self.minimum))}}
