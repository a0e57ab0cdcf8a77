"""The node contract (DESIGN §2): ports, parameters, schema-time specs, the two contexts and the base class.

A module (built-in in `nodes/` or a plugin) imports only this file and the value types it names. It
declares its ports and a pydantic parameter model, says how its output schemas follow from its input
schemas (`schema`, without data) and computes its outputs (`run`).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any, Callable, ClassVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from designer.core.errors import BadInput, Cancelled
from designer.core.schema import TableSchema
from designer.core.values import PortType

__all__ = ["MAX_SEED", "MAX_COUNT", "Port", "Params", "NoParams", "LearnerSpec", "ModelSpec", "ReportSpec", "PortSpec",
           "SchemaContext", "RunContext", "NodeType", "table_input", "require"]


@dataclass(frozen=True)
class Port:
    name: str
    type: PortType
    description: str = ""
    optional: bool = False


MAX_SEED = 2 ** 32 - 1
"""The largest random seed numpy and scikit-learn take (bound seeds with it, so validation names the parameter)."""
MAX_COUNT = 2 ** 31 - 1
"""The largest count scikit-learn's compiled code takes (bound row and leaf counts with it)."""


class Params(BaseModel):
    """Base for parameter models: unknown keys are refused; so are NaN and infinity for numbers, and true or
    false where a number belongs (JSON's booleans are not numbers)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name is not None:
            annotation = cls.model_fields[info.field_name].annotation
            if annotation in (int, float) or (get_origin(annotation) in (Union, UnionType)
                                              and bool not in get_args(annotation)
                                              and {int, float} & set(get_args(annotation))):
                raise ValueError("expected a number, not true or false")
        return value


class NoParams(Params):
    pass


# ------------------------------------------------------------------------------------ schema-time values
@dataclass(frozen=True)
class LearnerSpec:
    """What a Learner port carries before a run: the module that builds it and its task."""

    type: str
    task: str  # "regression" | "classification" | "clustering"


@dataclass(frozen=True)
class ModelSpec:
    """What a Model port carries before a run: task, label, features and the training table's schema."""

    node: str
    task: str
    label: str | None
    features: tuple[str, ...]
    steps: tuple[str, ...] = ()
    columns: tuple[tuple[str, str], ...] = ()
    stats_steps: tuple[str, ...] = ()
    """The subset of `steps` that learned statistics from rows (see TableSchema.stats_steps)."""


@dataclass(frozen=True)
class ReportSpec:
    """What a Report port carries before a run: the tasks of the scored inputs it evaluates."""

    tasks: tuple[str, ...] = ()


PortSpec = Union[TableSchema, LearnerSpec, ModelSpec, ReportSpec]
"""The schema-time value of any port."""


# ------------------------------------------------------------------------------------ contexts
@dataclass
class SchemaContext:
    """What `NodeType.schema` may use: the node id, the pipeline file's folder and the run store (if known)."""

    node_id: str
    base_dir: Path
    warnings: list[str] = field(default_factory=list)
    store: Path | None = None
    """The run store the run records into (registered data sets live there); None: not known yet."""

    def warn(self, message: str) -> None:
        self.warnings.append(message)


class RunContext:
    """What `NodeType.run` may use: ids, folders, progress reporting and the cancel flag."""

    def __init__(self, node_id: str, base_dir: Path, fingerprint: str = "",
                 progress: Callable[[float, str], None] | None = None,
                 cancelled: Callable[[], bool] | None = None, chunked: bool = False,
                 titles: dict[str, str] | None = None, inputs: dict[str, str] | None = None,
                 warm: Any = None, store: Path | None = None) -> None:
        self.node_id = node_id
        self.input_fingerprints = inputs or {}
        """Per input port, a fingerprint of what flows in (its source node's fingerprint and port)."""
        self.warm = warm
        """A designer.core.result_cache.WarmStarts when earlier fitted models may be continued, else None."""
        self.titles = titles or {}
        """Every node's title by id, so outputs can name where their data came from."""
        self.chunked = chunked
        """Long fits should run in cancellable chunks (a long-lived app, where abandoned work would linger)."""
        self.base_dir = base_dir
        self.store = store
        """The run store the run records into (registered data sets live there); None: not known."""
        self.fingerprint = fingerprint
        self._progress = progress
        self._cancelled = cancelled
        self.warnings: list[str] = []

    @property
    def step_id(self) -> str:
        """The id of a step fitted by this node in this run."""
        return f"{self.node_id}@{self.fingerprint[:16]}"

    @property
    def cancelled(self) -> bool:
        return bool(self._cancelled and self._cancelled())

    def progress(self, fraction: float, message: str = "") -> None:
        self.check_cancelled()
        if self._progress:
            self._progress(max(0.0, min(1.0, fraction)), message)

    def check_cancelled(self) -> None:
        if self.cancelled:
            raise Cancelled()

    def title_of(self, node_id: str) -> str:
        return self.titles.get(node_id) or node_id

    def describe_rows(self, table: Any) -> str:
        """Where a table's rows come from, by node titles: "test rows of Split 80/20, scored by Train"."""
        parts = []
        origin = getattr(table, "origin", None)
        if origin is not None:
            node, port = origin
            parts.append(f"{'' if port == 'data' else port + ' '}rows of {self.title_of(node)}")
        scored = getattr(table, "scored", None)
        if scored and scored.get("model"):
            parts.append(f"scored by {self.title_of(scored['model'])}")
        return ", ".join(parts)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def resolve_path(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)


# ------------------------------------------------------------------------------------ the base class
class NodeType:
    """Base class of a module. Subclasses set the class attributes and implement `schema` and `run`.

    The class docstring is the module's help text.
    """

    type_id: ClassVar[str]
    title: ClassVar[str]
    category: ClassVar[str]
    inputs: ClassVar[tuple[Port, ...]] = ()
    outputs: ClassVar[tuple[Port, ...]] = ()
    Params: ClassVar[type[BaseModel]] = NoParams
    fits_statistics: ClassVar[bool] = False
    """True for column steps that learn statistics from rows (leakage check before a split)."""
    reads_files: ClassVar[tuple[str, ...]] = ()
    """Parameters that name input files (fingerprinted by content, stored relative to the pipeline)."""
    writes_files: ClassVar[tuple[str, ...]] = ()
    """Parameters that name files the module writes (recorded as run artifacts)."""
    streams: ClassVar[bool] = False
    """True for modules that take rows read in chunks (`designer.core.stream.TableStream`) on their table
    inputs and work chunk by chunk; validation refuses a stream into any other module."""

    @classmethod
    def help(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or cls.title)

    @classmethod
    def input(cls, name: str) -> Port | None:
        return next((p for p in cls.inputs if p.name == name), None)

    @classmethod
    def output(cls, name: str) -> Port | None:
        return next((p for p in cls.outputs if p.name == name), None)

    def schema(self, params: Any, inputs: dict[str, PortSpec], ctx: SchemaContext) -> dict[str, PortSpec]:
        """Output specs from input specs and parameters, without touching data.

        Table ports carry a `TableSchema`, the others a `LearnerSpec`, `ModelSpec` or `ReportSpec`. Raise
        BadInput (naming the parameter or column) for problems the user must fix.
        """
        raise NotImplementedError

    def run(self, params: Any, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        raise NotImplementedError

    def freshness(self, params: Any, ctx: SchemaContext) -> str:
        """A token that changes when the module's output would change although its parameters did not (the
        version "latest" resolves to, a live database): part of the node's fingerprint, so reuse is safe."""
        return ""

    def transforms(self, params: Any, inputs: dict[str, PortSpec]) -> list[str]:
        """Columns whose values a step fitted on the rows changes. Validation refuses a downstream Train's
        label among them (a transformed label silently changes metrics and predictions)."""
        return []


def table_input(inputs: dict[str, Any], name: str = "data") -> TableSchema:
    value = inputs.get(name)
    if not isinstance(value, TableSchema):
        return TableSchema(exact=False)
    return value


def require(condition: bool, message: str, **where: Any) -> None:
    if not condition:
        raise BadInput(message, **where)
