"""The node contract (DESIGN §2): ports, parameters, schema-time specs, the two contexts and the base class.

A module (built-in in `nodes/` or a plugin) imports only this file and the value types it names. It
declares its ports and a pydantic parameter model, says how its output schemas follow from its input
schemas (`schema`, without data) and computes its outputs (`run`).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Union

from pydantic import BaseModel, ConfigDict

from designer.core.errors import BadInput, Cancelled
from designer.core.schema import TableSchema
from designer.core.values import PortType

__all__ = ["Port", "Params", "NoParams", "LearnerSpec", "ModelSpec", "ReportSpec", "PortSpec", "SchemaContext",
           "RunContext", "NodeType", "table_input", "require"]


@dataclass(frozen=True)
class Port:
    name: str
    type: PortType
    description: str = ""
    optional: bool = False


class Params(BaseModel):
    """Base for parameter models: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


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


@dataclass(frozen=True)
class ReportSpec:
    """What a Report port carries before a run: the tasks of the scored inputs it evaluates."""

    tasks: tuple[str, ...] = ()


PortSpec = Union[TableSchema, LearnerSpec, ModelSpec, ReportSpec]
"""The schema-time value of any port."""


# ------------------------------------------------------------------------------------ contexts
@dataclass
class SchemaContext:
    """What `NodeType.schema` may use: the node id and the pipeline file's folder."""

    node_id: str
    base_dir: Path
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


class RunContext:
    """What `NodeType.run` may use: ids, folders, progress reporting and the cancel flag."""

    def __init__(self, node_id: str, base_dir: Path, fingerprint: str = "",
                 progress: Callable[[float, str], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> None:
        self.node_id = node_id
        self.base_dir = base_dir
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
