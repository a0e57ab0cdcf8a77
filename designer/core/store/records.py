"""What the store holds: run and model records, run statuses, and the JSON, time and id helpers they use."""

from __future__ import annotations

import json
import math
import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from designer.core.states import RunStatus
from designer.core.digest import file_sha256

BUNDLE_SUFFIX = ".bundle.zip"  # same as designer.core.bundle.SUFFIX (not imported: it pulls in numpy)

RUNNING, SUCCEEDED, FAILED, CANCELLED, INTERRUPTED = (RunStatus.RUNNING, RunStatus.SUCCEEDED, RunStatus.FAILED,
                                                      RunStatus.CANCELLED, RunStatus.INTERRUPTED)
STATUSES = tuple(RunStatus)

_B32 = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case: sorts like the numbers it encodes


# ---------------------------------------------------------------------------------------------- time and ids


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def local_time(iso: str | None, missing: str = "") -> str:
    """A stored UTC time as local "YYYY-MM-DD HH:MM:SS" (for people)."""
    if not iso:
        return missing
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def new_run_id(ms: int | None = None) -> str:
    """12 characters: 9 of milliseconds since 1970 (sortable until the year 3084) and 3 random ones."""
    ms = int(time.time() * 1000) if ms is None else ms
    stamp = "".join(_B32[(ms >> (5 * i)) & 31] for i in reversed(range(9)))
    return stamp + "".join(secrets.choice(_B32) for _ in range(3))


# ---------------------------------------------------------------------------------------------- values


def _plain(value: Any) -> Any:
    """json.dumps fallback: numpy scalars and arrays become Python numbers and lists."""
    for attr in ("item", "tolist"):
        if hasattr(value, attr):
            try:
                return getattr(value, attr)()
            except (TypeError, ValueError):
                pass
    return str(value)


def _dumps(value: Any) -> str:
    """JSON for the store's text columns: valid JSON (a NaN metric is stored as null)."""
    from designer.core import jsontext

    return jsontext.dumps(value, default=_plain)


def _loads(text: str | None, empty: Any) -> Any:
    if not text:
        return empty
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return empty


def same_value(a: Any, b: Any) -> bool:
    """Exact equality, with NaN equal to NaN and booleans never equal to numbers."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return bool(a == b)


def flat_metrics(metrics: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """{evaluate node: [entries]} -> {"node.port.metric": value}."""
    out: dict[str, Any] = {}
    for node, entries in (metrics or {}).items():
        for e in entries:
            for name, value in (e.get("metrics") or {}).items():
                out[f"{node}.{e.get('port', '')}.{name}"] = value
    return out


def flat_params(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested parameter dicts -> {"a.b": value} (lists stay values)."""
    out: dict[str, Any] = {}
    for k, v in params.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flat_params(v, key + "."))
        else:
            out[key] = v
    return out


def data_key(source: dict[str, Any]) -> str:
    """What identifies an input across runs: a data set's name, else the file's path, else the source's name."""
    return source.get("dataset") or source.get("path") or source.get("name") or "?"


def data_label(source: dict[str, Any]) -> str:
    """An input as people read it: "NAME:VERSION" for a registered data set, else its path or name."""
    if source.get("dataset"):
        return f"{source['dataset']}:{source.get('version')}"
    return source.get("path") or source.get("name") or "?"


def artifact_record(path: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None,
                    kind: str | None = None, node: str | None = None) -> dict[str, Any]:
    """Path, kind (bundle, scored, metrics, report, file), node and SHA-256 of a file a run wrote."""
    p = Path(path).resolve()
    name = p.name
    if kind is None:
        if name.endswith(BUNDLE_SUFFIX):
            kind, node = "bundle", node or name[: -len(BUNDLE_SUFFIX)]
        elif out_dir is not None and p.parent == Path(out_dir).resolve() and name.endswith((".csv", ".parquet")):
            kind, node = "scored", node or name.split(".", 1)[0]
        elif name in ("metrics.json", "report.json"):
            kind = name.removesuffix(".json")
        else:
            kind = "file"
    return {"path": str(p), "kind": kind, "node": node, "sha256": file_sha256(p), "bytes": p.stat().st_size}


# ---------------------------------------------------------------------------------------------- records


@dataclass
class RunRecord:
    """One run as stored."""

    id: str
    pipeline_name: str
    pipeline_hash: str = ""
    pipeline_text: str = ""
    pipeline_path: str | None = None
    base_dir: str = ""
    status: str = RUNNING
    started_at: str = ""
    ended_at: str | None = None
    pid: int | None = None
    pid_token: str | None = None
    host: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    """The pipeline folder's repository had uncommitted changes when the run started."""
    overrides: list[str] = field(default_factory=list)
    upto: str | None = None
    out_dir: str | None = None
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    libraries: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, list[str]] = field(default_factory=dict)
    message: str | None = None
    reproduces: str | None = None
    inputs: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    parent_run: str | None = None
    """Set on a child run: one candidate of a tuning run (the parent)."""

    @property
    def seconds(self) -> float | None:
        a, b = parse_iso(self.started_at), parse_iso(self.ended_at)
        return (b - a).total_seconds() if a and b else None

    @property
    def flat_metrics(self) -> dict[str, Any]:
        return flat_metrics(self.metrics)

    def headline(self) -> str:
        """The first metric of the first evaluation, e.g. "r2=0.4526"."""
        for key, value in self.flat_metrics.items():
            text = f"{value:.4g}" if isinstance(value, float) else "-" if value is None else str(value)
            return f"{key.rsplit('.', 1)[-1]}={text}"
        return ""

    def bundles(self) -> dict[str, dict[str, Any]]:
        return {a["node"]: a for a in self.artifacts if a["kind"] == "bundle" and a.get("node")}

    def to_json(self, text: bool = True) -> dict[str, Any]:
        d = dict(self.__dict__)
        if not text:
            d.pop("pipeline_text")
        d["seconds"] = self.seconds
        return d


@dataclass
class ModelRecord:
    """One registered model version."""

    name: str
    version: int
    run_id: str
    node: str
    bundle: Path
    sha256: str
    registered_at: str
    new: bool = True
    """False when `register_model` found this bundle already registered under the name."""

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "ref": self.ref, "run": self.run_id, "node": self.node,
                "bundle": str(self.bundle), "sha256": self.sha256, "registered_at": self.registered_at,
                "new": self.new}
