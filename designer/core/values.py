"""The values that flow along links: Table, Learner, TrainedModel and Report (DESIGN §2)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, Any

from designer.core.recipe import Recipe, Step
from designer.core.schema import TableSchema

if TYPE_CHECKING:
    import pandas as pd


class PortType(str, Enum):
    """What a port carries. A link is legal only between ports of the same type."""

    TABLE = "Table"
    LEARNER = "Learner"
    MODEL = "Model"
    REPORT = "Report"


@dataclass(frozen=True)
class DataSource:
    """Where a table's rows came from: enough to tell later whether the data changed."""

    name: str
    path: str | None
    sha256: str
    rows: int
    columns: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True, eq=False)
class Table:
    """A DataFrame plus its recipe: the fitted column steps it went through since its source."""

    frame: "pd.DataFrame"
    recipe: Recipe = ()
    source_schema: TableSchema | None = None
    sources: tuple[DataSource, ...] = ()
    scored: dict[str, Any] | None = None

    @classmethod
    def from_source(cls, frame: "pd.DataFrame", source: DataSource) -> "Table":
        return cls(frame=frame, source_schema=TableSchema.of_frame(frame), sources=(source,))

    def with_frame(self, frame: "pd.DataFrame") -> "Table":
        """Same recipe, other rows (row steps: split, sample, drop duplicates)."""
        return replace(self, frame=frame)

    def with_step(self, step: Step, frame: "pd.DataFrame") -> "Table":
        """The result of a fitted column step."""
        return replace(self, frame=frame, recipe=self.recipe + (step,))

    @property
    def step_ids(self) -> list[str]:
        return [s.step_id for s in self.recipe]

    @property
    def schema(self) -> TableSchema:
        return TableSchema.of_frame(self.frame)


@dataclass(frozen=True)
class Learner:
    """An untrained algorithm with its hyperparameters."""

    type_id: str
    title: str
    task: str  # "regression" | "classification" | "clustering"
    estimator: Any  # an unfitted scikit-learn estimator
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    """Evaluation results: one entry per scored input, each with metrics and the data behind its plots."""

    entries: list[dict[str, Any]]

    @property
    def metrics(self) -> dict[str, float]:
        """The first entry's metrics (the primary scored input)."""
        return dict(self.entries[0]["metrics"]) if self.entries else {}

    def to_json(self) -> dict[str, Any]:
        return {"entries": [{k: v for k, v in e.items() if k != "plots"} for e in self.entries]}
