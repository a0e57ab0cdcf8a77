"""Run history, data versions, lineage and a model registry in one embedded SQLite file.

Qt-free and standard-library only (the desktop app and the CLI both use it). Where the store lives:

- `run`: `--store PATH`, else `$PIPELINE_DESIGNER_STORE`, else `.pipeline-designer/runs.sqlite` beside
  the pipeline file.
- `runs` / `models` / `score NAME`: `--store PATH`, else `$PIPELINE_DESIGNER_STORE`, else the
  `.pipeline-designer/` folder of the current folder or its nearest parent that has one.

PATH may name the store folder (`runs.sqlite` inside) or the SQLite file itself (`*.sqlite`, `*.db`).
Registered model bundles are copied to `<store folder>/models/<NAME>/<VERSION>/`.

Safety: WAL journal + busy timeout so concurrent runs are all recorded; a run is inserted as
"running" (with pid, a process start token and the host) before it executes and updated afterwards,
so a killed process leaves a row that the next `begin_run`/`list_runs` marks "interrupted"; the schema
is versioned with `PRAGMA user_version` and migrated forward on open; every SQLite problem surfaces as
`StoreError` (a `BadInput`, CLI exit 2) with a message that says what to do.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from designer.core.digest import file_sha256
from designer.core.errors import BadInput

STORE_DIR = ".pipeline-designer"
STORE_FILE = "runs.sqlite"
MODELS_DIR = "models"
ENV_STORE = "PIPELINE_DESIGNER_STORE"
ENV_TIMEOUT = "PIPELINE_DESIGNER_STORE_TIMEOUT"
DEFAULT_TIMEOUT = 10.0
SCHEMA_VERSION = 2
BUNDLE_SUFFIX = ".bundle.zip"  # same as designer.core.bundle.SUFFIX (not imported: it pulls in numpy)

RUNNING, SUCCEEDED, FAILED, CANCELLED, INTERRUPTED = "running", "succeeded", "failed", "cancelled", "interrupted"
STATUSES = (RUNNING, SUCCEEDED, FAILED, CANCELLED, INTERRUPTED)

MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_B32 = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case: sorts like the numbers it encodes


class StoreError(BadInput):
    """The run store cannot be used: missing, corrupt, locked, too new, or an unknown run/model."""


# ---------------------------------------------------------------------------------------------- locations


def store_file(path: str | os.PathLike[str]) -> Path:
    """`--store PATH` / `$PIPELINE_DESIGNER_STORE`: a folder (holding runs.sqlite) or the SQLite file itself."""
    p = Path(path).expanduser()
    if p.is_dir():
        return p / STORE_FILE
    if p.is_file() or p.suffix.lower() in (".sqlite", ".sqlite3", ".db"):
        return p
    return p / STORE_FILE


def store_for_pipeline(pipeline_path: str | os.PathLike[str], option: str | None = None) -> Path:
    """Where `run` records: the option, else the environment, else `.pipeline-designer/` beside the pipeline."""
    if option:
        return store_file(option)
    env = os.environ.get(ENV_STORE)
    if env:
        return store_file(env)
    return Path(pipeline_path).resolve().parent / STORE_DIR / STORE_FILE


def find_store(option: str | None = None, start: str | os.PathLike[str] | None = None) -> Path:
    """The store the `runs`/`models` commands use; StoreError when there is none."""
    chosen = option or os.environ.get(ENV_STORE)
    if chosen:
        path = store_file(chosen)
        if not path.is_file():
            how = "--store" if option else f"${ENV_STORE}"
            raise StoreError(f"no run store at {path} (named by {how})", file=str(path))
        return path
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / STORE_DIR
        if candidate.is_dir():
            if not (candidate / STORE_FILE).is_file():
                raise StoreError(f"{candidate} holds no {STORE_FILE}: no run has been recorded there yet")
            return candidate / STORE_FILE
    raise StoreError(f"no run store: neither {here} nor any parent folder has a {STORE_DIR} folder. "
                     f"Run a pipeline first (it records beside the pipeline file), or pass --store PATH "
                     f"or set {ENV_STORE}.")


def timeout_from_env(default: float = DEFAULT_TIMEOUT) -> float:
    try:
        return max(0.0, float(os.environ.get(ENV_TIMEOUT, default)))
    except ValueError:
        return default


# ---------------------------------------------------------------------------------------------- helpers


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


def git_commit_of(folder: str | os.PathLike[str]) -> str | None:
    """HEAD of the git repository holding `folder`; None when it is not in one (or git is missing)."""
    try:
        r = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True,
                           timeout=5, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    out = r.stdout.strip()
    return out if r.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", out) else None


def _proc_stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/PID/stat (state, ppid, ...); None where there is no /proc."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return data.rsplit(")", 1)[-1].split()


def process_token(pid: int) -> str | None:
    """The process start time (clock ticks since boot) where the OS exposes it: tells a reused pid apart."""
    fields = _proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def _windows_alive(pid: int) -> bool:
    import ctypes

    kernel = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        ok = kernel.GetExitCodeProcess(handle, ctypes.byref(code))
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    finally:
        kernel.CloseHandle(handle)


def pid_alive(pid: int | None, token: str | None = None) -> bool:
    """Is the process that started a run still there? (Zombies and reused pids count as gone.)"""
    if not pid or pid <= 0:
        return False
    if os.name == "nt":
        return _windows_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    except OSError:
        return False
    fields = _proc_stat(pid)
    if fields is None:
        return True
    if fields[0] in ("Z", "X", "x"):
        return False
    return not (token and len(fields) > 19 and fields[19] != token)


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
    return json.dumps(value, default=_plain)


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
    return source.get("path") or source.get("name") or "?"


def artifact_record(path: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None,
                    kind: str | None = None, node: str | None = None) -> dict[str, Any]:
    """Path, kind (bundle, scored, metrics, report, file), node and SHA-256 of a file a run wrote."""
    p = Path(path).resolve()
    name = p.name
    if kind is None:
        if name.endswith(BUNDLE_SUFFIX):
            kind, node = "bundle", node or name[: -len(BUNDLE_SUFFIX)]
        elif out_dir is not None and p.parent == Path(out_dir).resolve() and name.endswith(".csv"):
            kind, node = "scored", node or name.split(".", 1)[0]
        elif name in ("metrics.json", "report.json"):
            kind = name.removesuffix(".json")
        else:
            kind = "file"
    return {"path": str(p), "kind": kind, "node": node, "sha256": file_sha256(p), "bytes": p.stat().st_size}


# ---------------------------------------------------------------------------------------------- schema

_V1 = """
CREATE TABLE runs (
    id            TEXT PRIMARY KEY,
    pipeline_name TEXT NOT NULL,
    pipeline_hash TEXT NOT NULL,
    pipeline_text TEXT NOT NULL,
    pipeline_path TEXT,
    base_dir      TEXT NOT NULL,
    status        TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    ended_at      TEXT,
    pid           INTEGER,
    pid_token     TEXT,
    host          TEXT,
    git_commit    TEXT,
    overrides     TEXT NOT NULL DEFAULT '[]',
    upto          TEXT,
    out_dir       TEXT,
    params        TEXT NOT NULL DEFAULT '{}',
    metrics       TEXT NOT NULL DEFAULT '{}',
    libraries     TEXT NOT NULL DEFAULT '{}',
    nodes         TEXT NOT NULL DEFAULT '{}',
    errors        TEXT NOT NULL DEFAULT '{}',
    warnings      TEXT NOT NULL DEFAULT '{}',
    message       TEXT
);
CREATE INDEX runs_by_pipeline ON runs (pipeline_name, id);
CREATE INDEX runs_by_status ON runs (status);
CREATE TABLE run_inputs (
    run_id    TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name      TEXT NOT NULL,
    path      TEXT,
    sha256    TEXT NOT NULL,
    n_rows    INTEGER,
    n_columns INTEGER
);
CREATE INDEX run_inputs_by_run ON run_inputs (run_id);
CREATE INDEX run_inputs_by_sha ON run_inputs (sha256);
CREATE TABLE run_artifacts (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    path   TEXT NOT NULL,
    kind   TEXT NOT NULL,
    node   TEXT,
    sha256 TEXT NOT NULL,
    bytes  INTEGER NOT NULL
);
CREATE INDEX run_artifacts_by_run ON run_artifacts (run_id);
"""

_V2 = """
ALTER TABLE runs ADD COLUMN reproduces TEXT;
CREATE TABLE models (
    name          TEXT NOT NULL,
    version       INTEGER NOT NULL,
    run_id        TEXT NOT NULL REFERENCES runs (id),
    node          TEXT NOT NULL,
    bundle        TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE INDEX models_by_run ON models (run_id);
"""

# MIGRATIONS[n] takes a store from version n to n + 1 (v0 = an empty file). Append, never edit.
MIGRATIONS: tuple[str, ...] = (_V1, _V2)
assert len(MIGRATIONS) == SCHEMA_VERSION


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


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
            text = f"{value:.4g}" if isinstance(value, float) else str(value)
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


def parse_model_ref(ref: str) -> tuple[str, int | None]:
    """"NAME" or "NAME:VERSION" (VERSION a number or "latest")."""
    name, sep, version = ref.partition(":")
    if not MODEL_NAME.fullmatch(name):
        raise StoreError(f"'{ref}' is not a model name (letters, digits, '_', '.', '-'; optionally :VERSION)")
    if not sep or version in ("", "latest"):
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise StoreError(f"'{ref}': the version after ':' must be a number from 1 (or 'latest')")
    return name, int(version)


def read_bundle_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A bundle's manifest.json, read without loading the model (lineage only; scoring verifies everything)."""
    try:
        with zipfile.ZipFile(path) as z:
            manifest = json.loads(z.read("manifest.json"))
    except FileNotFoundError:
        raise StoreError("the bundle file is missing", file=str(path)) from None
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise StoreError(f"not a readable bundle ({e})", file=str(path)) from None
    if not isinstance(manifest, dict):
        raise StoreError("not a Pipeline Designer bundle", file=str(path))
    return manifest


# ---------------------------------------------------------------------------------------------- the store

_RUN_COLUMNS = ("id", "pipeline_name", "pipeline_hash", "pipeline_text", "pipeline_path", "base_dir", "status",
                "started_at", "ended_at", "pid", "pid_token", "host", "git_commit", "overrides", "upto", "out_dir",
                "params", "metrics", "libraries", "nodes", "errors", "warnings", "message", "reproduces")
_JSON_COLUMNS = {"overrides": [], "params": {}, "metrics": {}, "libraries": {}, "nodes": {}, "errors": {},
                 "warnings": {}}


class RunStore:
    """The run store of one folder. Open with `RunStore.open(path)`; thread-safe; close when done."""

    def __init__(self, path: Path, conn: sqlite3.Connection, timeout: float) -> None:
        self.path = path
        self.folder = path.parent
        self.timeout = timeout
        self._conn = conn
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ opening, errors, transactions

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, create: bool = True, timeout: float | None = None) -> "RunStore":
        """Open (creating and migrating as needed) the store at `path` (a folder or the SQLite file)."""
        p = store_file(path).resolve()
        timeout = timeout_from_env() if timeout is None else timeout
        if not p.exists():
            if not create:
                raise StoreError("no run store here", file=str(p))
            try:
                new_folder = not p.parent.exists()
                p.parent.mkdir(parents=True, exist_ok=True)
                if new_folder and p.parent.name == STORE_DIR:
                    (p.parent / ".gitignore").write_text("# Pipeline Designer run store: not for version control\n*\n")
            except OSError as e:
                raise StoreError(f"cannot create the run store folder ({e.strerror or e})", file=str(p)) from None
        elif p.is_dir():
            raise StoreError("is a folder, not a run store file", file=str(p))
        try:
            conn = sqlite3.connect(str(p), timeout=timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as e:
            raise _translate(e, p, timeout) from None
        store = cls(p, conn, timeout)
        try:
            with store._errors():
                conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
                mode = _switch_to_wal(conn, timeout)
                if str(mode).lower() != "wal":
                    raise StoreError(f"could not switch the run store to WAL mode (it stays '{mode}'); is another "
                                     "program holding it open?", file=str(p))
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
                store._migrate()
        except BaseException:
            conn.close()
            raise
        return store

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "RunStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as e:
            raise _translate(e, self.path, self.timeout) from None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction (BEGIN IMMEDIATE: waits up to the busy timeout for other writers)."""
        with self._lock, self._errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                try:
                    self._conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                raise
            self._conn.execute("COMMIT")

    def _read(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock, self._errors():
            return self._conn.execute(sql, tuple(args)).fetchall()

    @property
    def schema_version(self) -> int:
        return int(self._read("PRAGMA user_version")[0][0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise StoreError(f"this run store has schema version {version}, newer than this program understands "
                             f"({SCHEMA_VERSION}); upgrade Pipeline Designer or use another --store",
                             file=str(self.path))
        if version == SCHEMA_VERSION:
            return
        with self._write() as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])  # another process may have won
            if version == 0:
                tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
                if tables:
                    raise StoreError("this SQLite file is not a Pipeline Designer run store (it already holds "
                                     "other tables); choose another --store", file=str(self.path))
            while version < SCHEMA_VERSION:
                for statement in _statements(MIGRATIONS[version]):
                    conn.execute(statement)
                version += 1
                conn.execute(f"PRAGMA user_version = {version}")

    # ------------------------------------------------------------------ runs

    def begin_run(self, *, pipeline_name: str, pipeline_text: str, base_dir: str | os.PathLike[str],
                  pipeline_path: str | os.PathLike[str] | None = None, overrides: Iterable[str] = (),
                  upto: str | None = None, out_dir: str | os.PathLike[str] | None = None,
                  reproduces: str | None = None, git_commit: str | None | bool = True) -> str:
        """Insert a "running" row for this process before the run executes; returns the new run id.

        `git_commit=True` looks the commit up from the pipeline's folder; pass a string or None to set it.
        """
        import hashlib

        self.mark_interrupted()
        base = Path(base_dir).resolve()
        if git_commit is True:
            git_commit = git_commit_of(Path(pipeline_path).resolve().parent if pipeline_path else base)
        pid = os.getpid()
        row = {
            "pipeline_name": pipeline_name, "pipeline_text": pipeline_text,
            "pipeline_hash": hashlib.sha256(pipeline_text.encode()).hexdigest(),
            "pipeline_path": str(Path(pipeline_path).resolve()) if pipeline_path else None, "base_dir": str(base),
            "status": RUNNING, "started_at": now_iso(), "pid": pid, "pid_token": process_token(pid),
            "host": socket.gethostname(), "git_commit": git_commit or None, "overrides": _dumps(list(overrides)),
            "upto": upto, "out_dir": str(Path(out_dir).resolve()) if out_dir else None, "reproduces": reproduces,
        }
        for _ in range(20):
            run_id = new_run_id()
            with self._write() as conn:
                cur = conn.execute(f"INSERT OR IGNORE INTO runs (id, {', '.join(row)}) VALUES (?{', ?' * len(row)})",
                                   (run_id, *row.values()))
            if cur.rowcount == 1:
                return run_id
            # the same id drawn in the same millisecond by another process: draw again
        raise StoreError("could not allocate a run id", file=str(self.path))

    def finish_run(self, run_id: str, *, status: str, params: dict[str, Any] | None = None,
                   metrics: dict[str, Any] | None = None, inputs: Iterable[dict[str, Any]] = (),
                   artifacts: Iterable[dict[str, Any]] = (), libraries: dict[str, str] | None = None,
                   nodes: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                   warnings: dict[str, list[str]] | None = None, message: str | None = None) -> None:
        """Store the outcome of a run begun with `begin_run`.

        `inputs`: dicts with name, path, sha256, rows, columns (DataSource.to_json()); `artifacts`: dicts from
        `artifact_record()`.
        """
        if status not in STATUSES or status == RUNNING:
            raise ValueError(f"not a final run status: {status!r}")
        seen: set[tuple[Any, ...]] = set()
        input_rows = []
        for s in inputs:
            key = (s.get("name"), s.get("path"), s.get("sha256"))
            if key not in seen:
                seen.add(key)
                input_rows.append((run_id, s.get("name") or "?", s.get("path"), s.get("sha256") or "",
                                   s.get("rows"), s.get("columns")))
        artifact_rows = [(run_id, a["path"], a["kind"], a.get("node"), a["sha256"], a["bytes"]) for a in artifacts]
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET status = ?, ended_at = ?, params = ?, metrics = ?, libraries = ?, nodes = ?, "
                "errors = ?, warnings = ?, message = ? WHERE id = ?",
                (status, now_iso(), _dumps(params or {}), _dumps(metrics or {}), _dumps(libraries or {}),
                 _dumps(nodes or {}), _dumps(errors or {}), _dumps(warnings or {}), message, run_id))
            if cur.rowcount != 1:
                raise StoreError(f"no run '{run_id}' to finish", file=str(self.path))
            conn.execute("DELETE FROM run_inputs WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM run_artifacts WHERE run_id = ?", (run_id,))
            conn.executemany("INSERT INTO run_inputs VALUES (?, ?, ?, ?, ?, ?)", input_rows)
            conn.executemany("INSERT INTO run_artifacts VALUES (?, ?, ?, ?, ?, ?)", artifact_rows)

    def _dead_runs(self) -> list[tuple[str, int | None, str | None]]:
        host = socket.gethostname()
        rows = self._read("SELECT id, pid, pid_token, host FROM runs WHERE status = ?", (RUNNING,))
        return [(rid, pid, h) for rid, pid, token, h in rows if h == host and not pid_alive(pid, token)]

    def mark_interrupted(self) -> list[str]:
        """Mark "running" rows of this host whose process is gone as "interrupted"; returns their ids.

        Runs of other hosts are left alone: their processes cannot be checked from here.
        """
        dead = self._dead_runs()
        if dead:
            with self._write() as conn:
                for rid, pid, host in dead:
                    conn.execute("UPDATE runs SET status = ?, message = ? WHERE id = ? AND status = ?",
                                 (INTERRUPTED, f"process {pid} on {host} ended before the run finished "
                                               "(killed or crashed)", rid, RUNNING))
        return [d[0] for d in dead]

    def _reap_quietly(self) -> None:
        """Reading commands mark dead runs when they can; a read-only or busy store still lists."""
        try:
            self.mark_interrupted()
        except StoreError:
            pass

    def _record(self, row: tuple[Any, ...]) -> RunRecord:
        values = dict(zip(_RUN_COLUMNS, row))
        for col, empty in _JSON_COLUMNS.items():
            values[col] = _loads(values[col], empty)
        rec = RunRecord(**values)
        if rec.status == RUNNING and rec.host == socket.gethostname() and not pid_alive(rec.pid, rec.pid_token):
            rec.status = INTERRUPTED  # not marked yet (read-only or busy store): show the truth anyway
        return rec

    def list_runs(self, pipeline_name: str | None = None, limit: int | None = None) -> list[RunRecord]:
        """Runs, newest first (without pipeline text, inputs and artifacts; `get_run` has them)."""
        self._reap_quietly()
        columns = ", ".join("'' AS pipeline_text" if c == "pipeline_text" else c for c in _RUN_COLUMNS)
        sql = f"SELECT {columns} FROM runs"
        args: list[Any] = []
        if pipeline_name is not None:
            sql += " WHERE pipeline_name = ?"
            args.append(pipeline_name)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        return [self._record(r) for r in self._read(sql, args)]

    def resolve_run(self, ref: str) -> str:
        """A full run id from an id, a unique prefix of one, "latest" or "latest~N"."""
        ref = ref.strip().lower()
        m = re.fullmatch(r"(?:latest|last)(?:~(\d+))?", ref)
        if m:
            rows = self._read("SELECT id FROM runs ORDER BY id DESC LIMIT 1 OFFSET ?", (int(m.group(1) or 0),))
            if not rows:
                raise StoreError(f"no run '{ref}': the store holds fewer runs", file=str(self.path))
            return rows[0][0]
        if not re.fullmatch(r"[0-9a-z]{1,32}", ref):
            raise StoreError(f"'{ref}' is not a run id", file=str(self.path))
        rows = self._read("SELECT id FROM runs WHERE id >= ? AND id < ? ORDER BY id", (ref, ref + "~"))
        if not rows:
            raise StoreError(f"no run '{ref}' (see `pipeline-designer runs list`)", file=str(self.path))
        exact = [r[0] for r in rows if r[0] == ref]
        if exact:
            return exact[0]
        if len(rows) > 1:
            raise StoreError(f"run id '{ref}' is ambiguous: {', '.join(r[0] for r in rows[:5])}"
                             f"{' …' if len(rows) > 5 else ''}", file=str(self.path))
        return rows[0][0]

    def get_run(self, ref: str) -> RunRecord:
        """One run with its inputs and artifacts (`ref`: id, unique prefix, "latest" or "latest~N")."""
        self._reap_quietly()
        run_id = self.resolve_run(ref)
        rec = self._record(self._read(f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs WHERE id = ?", (run_id,))[0])
        rec.inputs = [{"name": n, "path": p, "sha256": s, "rows": r, "columns": c} for n, p, s, r, c in self._read(
            "SELECT name, path, sha256, n_rows, n_columns FROM run_inputs WHERE run_id = ? ORDER BY rowid",
            (run_id,))]
        rec.artifacts = [{"path": p, "kind": k, "node": n, "sha256": s, "bytes": b} for p, k, n, s, b in self._read(
            "SELECT path, kind, node, sha256, bytes FROM run_artifacts WHERE run_id = ? ORDER BY rowid", (run_id,))]
        return rec

    def compare(self, a: str, b: str) -> dict[str, Any]:
        """Parameter, metric, data and library differences between two runs (see `compare_runs`)."""
        return compare_runs(self.get_run(a), self.get_run(b))

    # ------------------------------------------------------------------ models

    def register_model(self, run_ref: str, node: str, name: str) -> ModelRecord:
        """Copy the bundle that `node` of a run wrote into the store as the next version of `name`.

        The bundle must still be byte-identical to what the run wrote (its SHA-256 is checked against the
        run's artifact record), so a later run that overwrote it cannot be registered by mistake.
        """
        if not MODEL_NAME.fullmatch(name or ""):
            raise StoreError(f"'{name}' is not a valid model name: use letters, digits, '_', '.' and '-' "
                             "(up to 64, starting with a letter or digit)")
        run = self.get_run(run_ref)
        bundles = run.bundles()
        if node not in bundles:
            have = ", ".join(sorted(bundles)) or "none"
            raise StoreError(f"run {run.id} wrote no trained bundle for node '{node}' (bundles of that run: {have})",
                             node=node)
        artifact = bundles[node]
        src = Path(artifact["path"])
        if not src.is_file():
            raise StoreError(f"the bundle run {run.id} wrote is gone (deleted or moved); re-run the pipeline and "
                             "register that run", file=str(src))
        if file_sha256(src) != artifact["sha256"]:
            raise StoreError(f"the bundle has changed since run {run.id} wrote it (overwritten by a later run into "
                             "the same folder?); register the run that wrote it last, or re-run", file=str(src))
        for m in self.list_models(name):  # registering the same bundle again is a no-op
            if m.run_id == run.id and m.node == node and m.sha256 == artifact["sha256"] and m.bundle.is_file():
                m.new = False
                return m
        models = self.folder / MODELS_DIR
        models.mkdir(parents=True, exist_ok=True)
        staging = models / f".staging-{secrets.token_hex(6)}{BUNDLE_SUFFIX}"
        dest: Path | None = None
        committed = False
        try:
            shutil.copyfile(src, staging)
            if file_sha256(staging) != artifact["sha256"]:
                raise StoreError("the bundle changed while it was being copied; try again", file=str(src))
            with self._write() as conn:
                version = int(conn.execute("SELECT coalesce(max(version), 0) FROM models WHERE name = ?",
                                           (name,)).fetchone()[0]) + 1
                rel = Path(MODELS_DIR) / name / str(version) / src.name
                dest = self.folder / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging, dest)
                registered = now_iso()
                conn.execute("INSERT INTO models VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (name, version, run.id, node, rel.as_posix(), artifact["sha256"], registered))
            committed = True
        except OSError as e:
            raise StoreError(f"cannot copy the bundle into the store ({e.strerror or e})", file=str(src)) from None
        finally:
            staging.unlink(missing_ok=True)
            if not committed and dest is not None:
                dest.unlink(missing_ok=True)
        return ModelRecord(name, version, run.id, node, dest, artifact["sha256"], registered)

    def _model(self, row: tuple[Any, ...]) -> ModelRecord:
        name, version, run_id, node, bundle, sha, registered = row
        return ModelRecord(name, int(version), run_id, node, self.folder / bundle, sha, registered)

    def list_models(self, name: str | None = None) -> list[ModelRecord]:
        sql = "SELECT name, version, run_id, node, bundle, sha256, registered_at FROM models"
        args: tuple[Any, ...] = ()
        if name is not None:
            sql += " WHERE name = ?"
            args = (name,)
        return [self._model(r) for r in self._read(sql + " ORDER BY name, version", args)]

    def get_model(self, ref: str, version: int | None = None) -> ModelRecord:
        """`ref` "NAME" (latest version), "NAME:VERSION" or "NAME:latest"; `version` overrides."""
        name, v = parse_model_ref(ref)
        version = version if version is not None else v
        versions = self.list_models(name)
        if not versions:
            names = sorted({m.name for m in self.list_models()})
            raise StoreError(f"no registered model '{name}' (registered: {', '.join(names) or 'none'})",
                             file=str(self.path))
        if version is None:
            return versions[-1]
        for m in versions:
            if m.version == version:
                return m
        raise StoreError(f"model '{name}' has no version {version} (versions: "
                         f"{', '.join(str(m.version) for m in versions)})", file=str(self.path))

    def model_bundle(self, ref: str) -> ModelRecord:
        """A registered model whose bundle copy is present and unchanged since registration."""
        m = self.get_model(ref)
        if not m.bundle.is_file():
            raise StoreError(f"the bundle of model {m.ref} is missing from the store", file=str(m.bundle))
        if file_sha256(m.bundle) != m.sha256:
            raise StoreError(f"the bundle of model {m.ref} was changed after it was registered; refusing to use it",
                             file=str(m.bundle))
        return m

    def lineage(self, name: str, version: int | None = None) -> dict[str, Any]:
        """model -> run -> pipeline -> data hashes -> parameters -> metrics, for one registered version."""
        m = self.model_bundle(name if version is None else f"{parse_model_ref(name)[0]}:{version}")
        manifest = read_bundle_manifest(m.bundle)
        run = self.get_run(m.run_id)
        return {
            "model": {**m.to_json(), "task": manifest.get("task"), "label": manifest.get("label"),
                      "train_rows": manifest.get("train_rows"), "learner": manifest.get("learner"),
                      "created": manifest.get("created")},
            "run": {"id": run.id, "status": run.status, "started_at": run.started_at, "ended_at": run.ended_at,
                    "seconds": run.seconds, "host": run.host, "git_commit": run.git_commit,
                    "overrides": run.overrides, "reproduces": run.reproduces},
            "pipeline": {"name": run.pipeline_name, "sha256": run.pipeline_hash, "path": run.pipeline_path,
                         "base_dir": run.base_dir, "node": m.node},
            "data": manifest.get("data") or [],
            "run_data": run.inputs,
            "params": manifest.get("params") or {},
            "metrics": manifest.get("metrics") or {},
            "libraries": manifest.get("libraries") or run.libraries,
        }


def _switch_to_wal(conn: sqlite3.Connection, timeout: float) -> str:
    """Ask for WAL mode, retrying while another process creating the same store holds its lock.

    SQLite does not call the busy handler for a journal-mode change, so a second process opening a
    brand-new store at the same moment gets the old mode back (or "database is locked") at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError:
            if time.monotonic() >= deadline:
                raise
            mode = ""
        if mode.lower() == "wal" or time.monotonic() >= deadline:
            return mode
        time.sleep(0.05)


def _translate(e: sqlite3.Error, path: Path, timeout: float) -> StoreError:
    text = str(e)
    low = text.lower()
    if "locked" in low or "busy" in low:
        return StoreError(f"the run store is locked by another process (waited {timeout:g} s); try again, or "
                          f"raise ${ENV_TIMEOUT}", file=str(path))
    if isinstance(e, sqlite3.DatabaseError) and ("not a database" in low or "malformed" in low
                                                 or "corrupt" in low or "disk i/o" in low):
        return StoreError(f"the run store is corrupt or not a SQLite database ({text}); move it aside to start a "
                          "new one", file=str(path))
    if "unable to open" in low or "readonly" in low or "read-only" in low:
        return StoreError(f"the run store cannot be opened for writing ({text})", file=str(path))
    return StoreError(f"run store error: {text}", file=str(path))


# ---------------------------------------------------------------------------------------------- comparison


def _data_changes(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[dict[str, Any]]:
    da = {data_key(s): s for s in a}
    db = {data_key(s): s for s in b}
    out = []
    for key in list(da) + [k for k in db if k not in da]:
        x, y = da.get(key), db.get(key)
        change = "removed" if y is None else "added" if x is None else (
            "same" if x["sha256"] == y["sha256"] else "changed")
        out.append({"data": key, "name": (x or y or {}).get("name"), "change": change,
                    "a": x and {k: x.get(k) for k in ("sha256", "rows", "columns")},
                    "b": y and {k: y.get(k) for k in ("sha256", "rows", "columns")}})
    return out


def compare_runs(a: RunRecord, b: RunRecord) -> dict[str, Any]:
    """What differs between two runs: pipeline, parameters, metrics, input data, libraries."""
    params = []
    added = sorted(set(b.params) - set(a.params))
    removed = sorted(set(a.params) - set(b.params))
    for node in sorted(set(a.params) & set(b.params)):
        fa, fb = flat_params(a.params[node]), flat_params(b.params[node])
        for key in sorted(set(fa) | set(fb)):
            va, vb = fa.get(key), fb.get(key)
            if not same_value(va, vb):
                params.append({"node": node, "param": key, "a": va, "b": vb})
    types_a = {n: d.get("type") for n, d in a.nodes.items()}
    types_b = {n: d.get("type") for n, d in b.nodes.items()}
    for node in sorted(set(types_a) & set(types_b)):
        if types_a[node] != types_b[node]:
            params.append({"node": node, "param": "(type)", "a": types_a[node], "b": types_b[node]})
    ma, mb = a.flat_metrics, b.flat_metrics
    metrics = []
    for key in list(ma) + [k for k in mb if k not in ma]:
        va, vb = ma.get(key), mb.get(key)
        delta = vb - va if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (va, vb)) else None
        metrics.append({"metric": key, "a": va, "b": vb, "delta": delta, "same": same_value(va, vb)})
    data = _data_changes(a.inputs, b.inputs)
    libs = [{"library": k, "a": a.libraries.get(k), "b": b.libraries.get(k)}
            for k in sorted(set(a.libraries) | set(b.libraries)) if a.libraries.get(k) != b.libraries.get(k)]
    return {
        "a": a.id, "b": b.id,
        "pipeline": {"a": a.pipeline_name, "b": b.pipeline_name, "same_text": a.pipeline_hash == b.pipeline_hash},
        "params": params, "nodes_added": added, "nodes_removed": removed,
        "metrics": metrics, "metrics_identical": all(m["same"] for m in metrics),
        "data": data, "data_changed": any(d["change"] != "same" for d in data),
        "libraries": libs,
    }


def open_for_pipeline(pipeline_path: str | os.PathLike[str], option: str | None = None,
                      timeout: float | None = None) -> RunStore:
    """The store a run of this pipeline records into (created when missing)."""
    return RunStore.open(store_for_pipeline(pipeline_path, option), timeout=timeout)


def open_found(option: str | None = None, start: str | os.PathLike[str] | None = None,
               timeout: float | None = None) -> RunStore:
    """The store of the `runs`/`models` commands (must exist)."""
    return RunStore.open(find_store(option, start), create=False, timeout=timeout)


__all__ = ["RunStore", "RunRecord", "ModelRecord", "StoreError", "compare_runs", "find_store", "store_for_pipeline",
           "store_file", "open_for_pipeline", "open_found", "artifact_record", "flat_metrics", "flat_params",
           "new_run_id", "pid_alive", "git_commit_of", "parse_model_ref", "read_bundle_manifest", "STATUSES",
           "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "INTERRUPTED", "SCHEMA_VERSION", "MIGRATIONS"]
