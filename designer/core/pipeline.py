"""The pipeline file format (`NAME.pipeline.json`): pydantic models, load with located errors, atomic save.

Parameters are JSON literals; positions and view state live in a separate `layout` section so that a
parameter change is a one-line diff. Data paths are stored relative to the file.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator, model_validator

from designer.core.errors import BadInput, CannotWrite

FORMAT = "pipeline-designer"
VERSION = 2
SUFFIX = ".pipeline.json"
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

JSONValue = Any


class Node(BaseModel):
    """One module instance: a stable id, its type id, a title and JSON-literal parameters."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Stable node id: letters, digits, '_' and '-'")
    type: str = Field(description="Module type id, e.g. 'clean.missing'")
    title: str = ""
    params: dict[str, JSONValue] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id_ok(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(f"node id '{v}' must start with a letter or '_' and use only letters, digits, '_', '-'")
        return v


class Link(BaseModel):
    """A link from an output port to an input port, written as "node.port" strings."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: str = Field(alias="from", description="'node.port' of an output")
    target: str = Field(alias="to", description="'node.port' of an input")

    @field_validator("source", "target")
    @classmethod
    def _endpoint_ok(cls, v: str) -> str:
        if v.count(".") != 1 or not all(v.split(".")):
            raise ValueError(f"'{v}' must be written 'node.port'")
        return v

    @property
    def source_node(self) -> str:
        return self.source.split(".")[0]

    @property
    def source_port(self) -> str:
        return self.source.split(".")[1]

    @property
    def target_node(self) -> str:
        return self.target.split(".")[0]

    @property
    def target_port(self) -> str:
        return self.target.split(".")[1]

    @classmethod
    def make(cls, source_node: str, source_port: str, target_node: str, target_port: str) -> "Link":
        return cls.model_validate({"from": f"{source_node}.{source_port}", "to": f"{target_node}.{target_port}"})


class Note(BaseModel):
    """A text note on the canvas."""

    model_config = ConfigDict(extra="forbid")
    text: str
    x: float = 0.0
    y: float = 0.0
    width: float = 200.0


class Layout(BaseModel):
    """Where things are drawn; nothing here changes what a run computes."""

    model_config = ConfigDict(extra="forbid")

    positions: dict[str, tuple[float, float]] = Field(default_factory=dict)
    notes: list[Note] = Field(default_factory=list)
    view: dict[str, JSONValue] = Field(default_factory=dict)


class Pipeline(BaseModel):
    """A whole pipeline file."""

    model_config = ConfigDict(extra="forbid")

    format: str = FORMAT
    version: StrictInt = VERSION
    name: str = "Untitled"
    description: str = ""
    nodes: list[Node] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    requires: dict[str, str] = Field(default_factory=dict, description=(
        "Plugin packages this pipeline's modules come from, by type-id namespace (written only when used)"))
    layout: Layout = Field(default_factory=Layout)

    @model_validator(mode="after")
    def _unique_ids(self) -> "Pipeline":
        seen: set[str] = set()
        for i, node in enumerate(self.nodes):
            if node.id in seen:
                raise ValueError(f"nodes[{i}]: node id '{node.id}' is used twice")
            seen.add(node.id)
        return self

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def has_node(self, node_id: str) -> bool:
        return any(n.id == node_id for n in self.nodes)

    def links_into(self, node_id: str) -> list[Link]:
        return [l for l in self.links if l.target_node == node_id]

    def to_json_text(self) -> str:
        data = self.model_dump(mode="json", by_alias=True)
        if not data["requires"]:
            del data["requires"]  # files without plugins stay as they were
        return dump_json(data) + "\n"


def dump_json(data: Any) -> str:
    """Pretty JSON where short lists of scalars stay on one line (positions, column lists)."""
    text = json.dumps(data, indent=2, ensure_ascii=False)

    def _flatten(match: re.Match[str]) -> str:
        inner = [p.strip() for p in match.group(1).split(",")]
        one = "[" + ", ".join(inner) + "]"
        return one if len(one) <= 100 else match.group(0)

    return re.sub(r"\[\s*((?:[^\[\]{}\s][^\[\]{}]*?))\s*\]", _flatten, text)


# ---------------------------------------------------------------------------------------------- migration
def _migrate_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 (pre-release) kept positions inside nodes and links as four fields; version 2 separates them."""
    positions: dict[str, Any] = {}
    nodes = []
    for n in data.get("nodes", []):
        n = dict(n)
        if "position" in n:
            positions[str(n.get("id"))] = n.pop("position")
        if "parameters" in n:
            n["params"] = n.pop("parameters")
        nodes.append(n)
    links = []
    for l in data.get("links", []):
        if isinstance(l, dict) and "from_node" in l:
            l = {"from": f"{l['from_node']}.{l['from_port']}", "to": f"{l['to_node']}.{l['to_port']}"}
        links.append(l)
    layout = dict(data.get("layout") or {})
    layout.setdefault("positions", {}).update(positions)
    return {**data, "version": 2, "nodes": nodes, "links": links, "layout": layout}


MIGRATIONS = {1: _migrate_v1}


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring an older file's data up to the current version, one step at a time."""
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):  # JSON's true is not a number
        raise BadInput(f"'version' must be a whole number, got {json.dumps(version)[:40]}")
    if version > VERSION:
        raise BadInput(f"file format version {version} is newer than this program understands ({VERSION})")
    while version < VERSION:
        if version not in MIGRATIONS:
            raise BadInput(f"file format version {version} is not supported (oldest is {min(MIGRATIONS)})")
        data = MIGRATIONS[version](data)
        version = data["version"]
    return data


# ---------------------------------------------------------------------------------------------- load/save
def _line_of(text: str, needle: str) -> int | None:
    idx = text.find(needle)
    return text.count("\n", 0, idx) + 1 if idx >= 0 else None


def _locate(text: str, data: Any, loc: tuple[Any, ...]) -> tuple[str | None, int | None]:
    """The node id and the file line an error location points at, as best as can be found."""
    node_id, line = None, None
    if len(loc) >= 2 and loc[0] in ("nodes", "links") and isinstance(loc[1], int):
        try:
            entry = data[loc[0]][loc[1]]
        except (KeyError, IndexError, TypeError):
            entry = None
        if isinstance(entry, dict):
            if loc[0] == "nodes" and isinstance(entry.get("id"), str):
                node_id = entry["id"]
                line = _line_of(text, f'"id": "{node_id}"') or _line_of(text, f'"{node_id}"')
                if len(loc) >= 4 and loc[2] == "params":
                    start = text.find(f'"id": "{node_id}"')
                    sub = text.find(f'"{loc[3]}"', max(start, 0))
                    if sub >= 0:
                        line = text.count("\n", 0, sub) + 1
            elif loc[0] == "links":
                first = next(iter(entry.values()), None)
                if isinstance(first, str):
                    line = _line_of(text, f'"{first}"')
    elif loc:
        line = _line_of(text, f'"{loc[0]}"')
    return node_id, line


MAX_DEPTH = 64
"""How deeply a pipeline file may nest objects and lists (real files: under 10)."""
MAX_DIGITS = 4300
"""Python's own limit on the digits of an integer it reads."""


def _depth_line(text: str, limit: int) -> int | None:
    """The line where `text` first nests objects or lists deeper than `limit` (outside strings)."""
    depth, in_string, escaped, line = 0, False, False, 1
    for ch in text:
        if ch == "\n":
            line += 1
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return line
        elif ch in "]}":
            depth -= 1
    return None


def _too_deep(data: Any, limit: int) -> bool:
    """True when parsed JSON nests deeper than `limit` (checked without recursion)."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth >= limit:
                return True
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return False


class _NotJson(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _NotJson(name)


def parse_pipeline(text: str, file: str = "<pipeline>") -> Pipeline:
    """Parse and validate pipeline JSON text; errors name the file, line and field.

    Only JSON is accepted (no NaN or Infinity), nested at most MAX_DEPTH deep, with integers of at most
    MAX_DIGITS digits: each refused with the line where it happens, never a RecursionError or ValueError.
    """
    try:
        data = json.loads(text, parse_constant=_no_constant)
        deep = _too_deep(data, MAX_DEPTH)
    except json.JSONDecodeError as e:
        raise BadInput(f"not valid JSON: {e.msg} (column {e.colno})", file=file, line=e.lineno) from None
    except _NotJson as e:
        m = re.search(r'(?<![\w"])' + re.escape(str(e)) + r'(?![\w"])', text)
        raise BadInput(f"not valid JSON: {e} is not a JSON number (write null, or a number)", file=file,
                       line=text.count("\n", 0, m.start()) + 1 if m else None) from None
    except RecursionError:
        deep = True
    except ValueError:  # an integer beyond Python's digit limit
        m = re.search(r"\d{%d,}" % (MAX_DIGITS + 1), text)
        line = text.count("\n", 0, m.start()) + 1 if m else None
        digits = f"{len(m.group()):,} digits" if m else "too many digits"
        raise BadInput(f"a number with {digits}; at most {MAX_DIGITS:,} digits are read", file=file,
                       line=line) from None
    if deep:
        raise BadInput(f"nested more than {MAX_DEPTH} levels deep", file=file, line=_depth_line(text, MAX_DEPTH))
    if not isinstance(data, dict):
        raise BadInput("a pipeline file must hold a JSON object", file=file, line=1)
    if data.get("format", FORMAT) != FORMAT:
        raise BadInput(f"'format' must be '{FORMAT}', got {data.get('format')!r}", file=file,
                       line=_line_of(text, '"format"'))
    try:
        data = migrate({**data, "version": data.get("version", VERSION)})
    except BadInput as e:
        raise BadInput(e.message, file=file, line=_line_of(text, '"version"')) from None
    try:
        return Pipeline.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(err["loc"])
        node_id, line = _locate(text, data, loc)
        field = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
        more = f" (and {len(e.errors()) - 1} more problems)" if len(e.errors()) > 1 else ""
        msg = err["msg"].removeprefix("Value error, ")
        raise BadInput(f"{field}: {msg}{more}" if field else msg + more, file=file, line=line,
                       node=node_id) from None


def load_pipeline(path: str | os.PathLike[str]) -> Pipeline:
    """Read a pipeline file. Raises BadInput naming the file and line for every kind of wrong file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise BadInput("no such pipeline file", file=str(p)) from None
    except OSError as e:
        raise BadInput(f"cannot read: {e.strerror}", file=str(p)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise BadInput(f"not UTF-8 text (byte 0x{raw[e.start]:02x})", file=str(p), line=line) from None
    return parse_pipeline(text, file=str(p))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path`. Raises CannotWrite (a
    BadInput and an OSError) naming the path when it cannot be written (a folder there, no permission, a
    full disk); nothing is left behind."""
    p = Path(path)
    if p.is_dir():
        raise CannotWrite("is a folder; name a file to write", p)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    except OSError as e:
        raise CannotWrite(e, p) from None
    try:
        os.fchmod(fd, _file_mode(p))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise CannotWrite(e, p) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _file_mode(path: Path) -> int:
    """Keep an existing file's permissions; a new file gets the usual 0666 less the umask (mkstemp uses 0600)."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def save_pipeline(pipeline: Pipeline, path: str | os.PathLike[str]) -> None:
    """Save atomically."""
    atomic_write_text(path, pipeline.to_json_text())


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the pipeline file format."""
    schema = Pipeline.model_json_schema(by_alias=True)
    schema["title"] = "Pipeline Designer pipeline file"
    schema["$id"] = f"pipeline-designer/pipeline-v{VERSION}.json"
    return schema
