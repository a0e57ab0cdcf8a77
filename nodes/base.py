"""The node-type contract: ports, a pydantic parameter model, schema propagation and run (DESIGN §2)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar

from pydantic import BaseModel, ConfigDict

from designer.core.errors import BadInput, Cancelled
from designer.core.schema import TableSchema
from designer.core.values import PortType


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


@dataclass
class SchemaContext:
    """What `NodeType.schema` may use: the node id and the pipeline file's folder."""

    node_id: str
    base_dir: Path
    warnings: list[str]

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

    def progress(self, fraction: float, message: str = "") -> None:
        self.check_cancelled()
        if self._progress:
            self._progress(max(0.0, min(1.0, fraction)), message)

    def check_cancelled(self) -> None:
        if self._cancelled and self._cancelled():
            raise Cancelled()

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def resolve_path(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)


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

    @classmethod
    def help(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or cls.title)

    @classmethod
    def input(cls, name: str) -> Port | None:
        return next((p for p in cls.inputs if p.name == name), None)

    @classmethod
    def output(cls, name: str) -> Port | None:
        return next((p for p in cls.outputs if p.name == name), None)

    def schema(self, params: Any, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        """Output schemas from input schemas and parameters, without touching data.

        Table ports carry a `TableSchema`; other ports a small dict (task, label, ...). Raise BadInput
        (naming the parameter or column) for problems the user must fix.
        """
        raise NotImplementedError

    def run(self, params: Any, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        raise NotImplementedError


REGISTRY: dict[str, type[NodeType]] = {}


def register(cls: type[NodeType]) -> type[NodeType]:
    """Class decorator: add a node type to the registry under its type id."""
    if cls.type_id in REGISTRY:
        raise ValueError(f"node type '{cls.type_id}' registered twice")
    REGISTRY[cls.type_id] = cls
    return cls


def table_input(inputs: dict[str, Any], name: str = "data") -> TableSchema:
    value = inputs.get(name)
    if not isinstance(value, TableSchema):
        return TableSchema(exact=False)
    return value


def require(condition: bool, message: str, **where: Any) -> None:
    if not condition:
        raise BadInput(message, **where)
