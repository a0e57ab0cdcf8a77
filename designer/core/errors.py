"""Error types that name what is wrong and where.

`BadInput` (CLI exit 2) covers wrong pipeline files, parameters, columns and data; `RunFailed` (exit 1)
a run that started but could not finish.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Location:
    """Where a problem is: any of node, port, parameter, column, file and line."""

    node: str | None = None
    port: str | None = None
    param: str | None = None
    column: str | None = None
    file: str | None = None
    line: int | None = None

    def describe(self) -> str:
        parts = []
        if self.file:
            parts.append(f"{self.file}" + (f", line {self.line}" if self.line else ""))
        elif self.line:
            parts.append(f"line {self.line}")
        if self.node:
            parts.append(f"node '{self.node}'")
        if self.port:
            parts.append(f"port '{self.port}'")
        if self.param:
            parts.append(f"parameter '{self.param}'")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)


class DesignerError(Exception):
    """Base class: a message plus an optional location."""

    def __init__(self, message: str, location: Location | None = None, **where: object) -> None:
        self.message = message
        self.location = location or Location(**where)  # type: ignore[arg-type]
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = self.location.describe()
        return f"{where}: {self.message}" if where else self.message


class BadInput(DesignerError):
    """The user's input is wrong: pipeline file, parameter, column, data file or bundle."""


class CannotWrite(BadInput, OSError):
    """A file the user asked for cannot be written (a folder in its place, no permission, a full disk). Also an
    OSError, so code that handles a failed write keeps working; the path is its location."""

    def __init__(self, error: OSError | str, path: object) -> None:
        reason = error if isinstance(error, str) else (error.strerror or str(error))
        super().__init__(f"cannot write: {reason}" if not isinstance(error, str) else error, file=str(path))
        if isinstance(error, OSError):
            self.errno, self.strerror = error.errno, error.strerror


class RunFailed(DesignerError):
    """A run started but a node failed."""


class Cancelled(Exception):
    """A run was cancelled by the user."""


@dataclass(frozen=True)
class Issue:
    """One validation finding."""

    severity: str  # "error" | "warning"
    message: str
    location: Location = field(default_factory=Location)

    def __str__(self) -> str:
        where = self.location.describe()
        return f"{self.severity}: {where}: {self.message}" if where else f"{self.severity}: {self.message}"

    def to_json(self) -> dict[str, object]:
        loc = {k: v for k, v in self.location.__dict__.items() if v is not None}
        return {"severity": self.severity, "message": self.message, **loc}
