"""The values that flow along links: Table, Learner, TrainedModel and Report (DESIGN §2)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, Any, Sequence

from designer.core.errors import BadInput
from designer.core.recipe import Recipe, Step
from designer.core.schema import TableSchema

if TYPE_CHECKING:
    import numpy as np
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
    dataset: str | None = None
    """The registered data set the rows were read from (`pipeline-designer data register`), if any."""
    version: int | None = None
    """Which version of `dataset` (resolved: never "latest")."""

    def to_json(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        if self.dataset is None:  # plain files keep the record they always had
            del d["dataset"], d["version"]
        return d


SOURCE_SAMPLE_ROWS = 200
"""How many first rows of a source a table keeps as `source_sample`."""

SOURCE_ROW = "source_row"
"""The column of a scored table that holds each row's number in its source (1 = the first data row)."""


@dataclass(frozen=True, eq=False)
class Table:
    """A DataFrame plus its recipe: the fitted column steps it went through since its source.

    The frame's index is each row's position in its source (0-based), kept through splits, samples and
    removed rows. Meta columns (ids, names, text) travel beside the frame in `meta`, index-aligned: no
    module sees them as columns to transform or learn from, and scored tables give them back.
    """

    frame: "pd.DataFrame"
    recipe: Recipe = ()
    source_schema: TableSchema | None = None
    sources: tuple[DataSource, ...] = ()
    scored: dict[str, Any] | None = None
    meta: "pd.DataFrame | None" = None
    features: "pd.DataFrame | None" = None
    """On a scored table: the features as the model saw them (after the recipe), for evaluation."""
    origin: tuple[str, str] | None = None
    """(node, output port) that last chose which rows flow (a source, a split, a sample); set by the engine."""
    raw: "pd.DataFrame | None" = None
    """The rows as they were before the first fitted column step of the recipe (index-aligned with `frame`,
    no meta columns): Cross Validate and Tune refit the recipe on each fold's rows of it."""
    source_sample: "pd.DataFrame | None" = None
    """The first rows of the source as loaded (index = source row position), kept for trained bundles:
    a few raw input rows that exported scoring scripts check their predictions on."""
    source_frame: "pd.DataFrame | None" = None
    """The frame as it left its source (every row and column, shared, not copied): Train Model profiles the
    raw input values of the rows it is fit on (the reference for drift)."""

    @classmethod
    def from_source(cls, frame: "pd.DataFrame", source: DataSource) -> "Table":
        import pandas as pd

        if not frame.index.equals(pd.RangeIndex(len(frame))):
            frame = frame.reset_index(drop=True)
        return cls(frame=frame, source_schema=TableSchema.of_frame(frame), sources=(source,),
                   source_sample=frame.head(SOURCE_SAMPLE_ROWS).copy(), source_frame=frame)

    def raw_rows(self) -> "pd.DataFrame | None":
        """This table's rows as they left the source (None when that is not known)."""
        found = self.raw_source()
        if found is None:
            return None
        frame, positions = found
        return frame if positions is None else frame.take(positions)

    def raw_source(self) -> "tuple[pd.DataFrame, np.ndarray | None] | None":
        """Where this table's rows as they left the source are, without copying them: a frame and the positions
        of the rows in it (None: all its rows, in order); None when that is not known."""
        source = self.source_frame
        if source is not None and source.index.is_unique:
            positions = source.index.get_indexer(self.frame.index)
            if (positions >= 0).all():
                return source, positions
        elif source is not None and self.frame.index.isin(source.index).all():
            return source.loc[self.frame.index], None
        if not self.recipe:
            return (self.frame if self.meta is None else self.view), None
        return None

    def with_frame(self, frame: "pd.DataFrame") -> "Table":
        """Same recipe, other rows (row steps: split, sample, drop duplicates)."""
        meta = None if self.meta is None else self.meta.loc[frame.index]
        raw = None if self.raw is None else self.raw.loc[frame.index]
        return replace(self, frame=frame, meta=meta, raw=raw)

    def with_step(self, step: Step, frame: "pd.DataFrame") -> "Table":
        """The result of a fitted column step."""
        return replace(self, frame=frame, recipe=self.recipe + (step,),
                       raw=self.frame if not self.recipe else self.raw)

    @property
    def rows_before_recipe(self) -> "pd.DataFrame":
        """The rows before any fitted column step (the frame itself when the recipe is empty)."""
        if not self.recipe:
            return self.frame
        if self.raw is None:
            raise BadInput("this table does not keep its rows from before cleaning, so its cleaning cannot "
                           "be refitted", port="data")
        return self.raw

    def with_roles(self, meta: Sequence[str] = (), features: Sequence[str] = ()) -> "Table":
        """Move columns into the meta columns, or meta columns back among the features."""
        import pandas as pd

        if not meta and not features:
            return self
        frame, extra = self.frame, self.meta
        unknown = [c for c in meta if c not in frame.columns] + [
            c for c in features if extra is None or c not in extra.columns]
        if unknown:
            as_meta = unknown[0] in meta
            raise BadInput(f"no column '{unknown[0]}' to {'set aside as meta' if as_meta else 'make a feature'}",
                           param="meta" if as_meta else "features", column=unknown[0])
        if meta:
            moved = frame[list(meta)]
            extra = moved if extra is None else pd.concat([extra, moved], axis=1)
            frame = frame.drop(columns=list(meta))
        if features and extra is not None:
            frame = pd.concat([frame, extra[list(features)]], axis=1)
            extra = extra.drop(columns=list(features))
        if extra is not None and extra.shape[1] == 0:
            extra = None
        return replace(self, frame=frame, meta=extra)

    @property
    def step_ids(self) -> list[str]:
        return [s.step_id for s in self.recipe]

    @property
    def schema(self) -> TableSchema:
        schema = TableSchema.of_frame(self.frame)
        if self.meta is not None:
            schema = schema.model_copy(update={"meta": TableSchema.of_frame(self.meta).columns})
        return schema

    @property
    def view(self) -> "pd.DataFrame":
        """The whole table as a person sees it: for a scored table the source row number first, then the
        meta columns, the columns as given and the predictions; else meta columns, then the rest."""
        import pandas as pd

        parts = [] if self.meta is None else [self.meta]
        frame = pd.concat([*parts, self.frame], axis=1) if parts else self.frame
        if self.scored is not None:
            name = SOURCE_ROW
            while name in frame.columns:
                name = f"_{name}"
            frame = frame.copy(deep=False)
            frame.insert(0, name, frame.index.to_numpy() + 1 if _plain_index(frame) else frame.index.to_numpy())
        return frame


def _plain_index(frame: "pd.DataFrame") -> bool:
    """A 0-based integer row position (the only kind of index tables get from their source)."""
    return frame.index.dtype.kind in "iu"


@dataclass(frozen=True)
class Learner:
    """An untrained algorithm with its hyperparameters."""

    type_id: str
    title: str
    task: str  # "regression" | "classification" | "clustering"
    estimator: Any  # an unfitted scikit-learn estimator
    params: dict[str, Any] = field(default_factory=dict)
    tuned: dict[str, Any] | None = None
    """Set by Tune Model Hyperparameters: what the parameters were tuned from (start values, search, metric,
    score, space); trained bundles record it in their manifest's `learner`."""


def evaluated_data(entry: dict[str, Any]) -> str:
    """What an Evaluate entry measured, by where its rows came from ("test rows of Split 80/20, scored by
    Train"); entries of older runs, without that, by the model node."""
    return entry.get("data") or f"scored by {entry.get('model', '?')}"


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
