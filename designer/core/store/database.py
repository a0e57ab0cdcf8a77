"""The SQLite file under the run store: schema and migrations, connection, transactions, error messages.

WAL journal + busy timeout so concurrent runs are all recorded; the schema is versioned with
`PRAGMA user_version` and migrated forward on open; every SQLite problem surfaces as `StoreError`
(a `BadInput`, CLI exit 2) with a message that says what to do.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Self

from designer.core.store.errors import ReadOnlyStore, StoreError
from designer.core.store.location import ENV_TIMEOUT, STORE_DIR, store_file, timeout_from_env

SCHEMA_VERSION = 5
APPLICATION_ID = 0x50445253
"""SQLite's application id of a run store ("PDRS"); stores made before it was set have 0 and a 'runs' table."""

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

_V3 = """
ALTER TABLE runs ADD COLUMN git_dirty INTEGER;
"""

# Versioned data sets (`pipeline-designer data ...`): one row per NAME:VERSION, its snapshot an object in
# <store>/datasets/objects/ (or a reference to a file, verified at every load); runs record which version
# they read beside the content hash.
_V_DATASETS = """
CREATE TABLE datasets (
    name          TEXT NOT NULL,
    version       INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    storage       TEXT NOT NULL,
    object        TEXT,
    object_sha256 TEXT,
    source        TEXT NOT NULL,
    options       TEXT NOT NULL DEFAULT '{}',
    schema        TEXT NOT NULL DEFAULT '[]',
    profile       TEXT NOT NULL DEFAULT '[]',
    n_rows        INTEGER NOT NULL,
    n_columns     INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    created_by    TEXT,
    description   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (name, version)
);
CREATE INDEX datasets_by_sha ON datasets (sha256);
ALTER TABLE run_inputs ADD COLUMN dataset TEXT;
ALTER TABLE run_inputs ADD COLUMN dataset_version INTEGER;
CREATE INDEX run_inputs_by_dataset ON run_inputs (dataset, dataset_version);
"""

# Tuning: a tuning run's candidates are child runs of it.
_V_PARENT_RUN = """
ALTER TABLE runs ADD COLUMN parent_run TEXT;
CREATE INDEX runs_by_parent ON runs (parent_run);
"""

# MIGRATIONS[n] takes a store from version n to n + 1 (v0 = an empty file). Append, never edit.
MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V_DATASETS, _V_PARENT_RUN)
assert len(MIGRATIONS) == SCHEMA_VERSION


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


# ---------------------------------------------------------------------------------------------- the connection


class Database:
    """An open store file: one connection shared by threads (under a lock), short write transactions."""

    def __init__(self, path: Path, conn: sqlite3.Connection, timeout: float) -> None:
        self.path = path
        self.folder = path.parent
        self.timeout = timeout
        self._conn = conn
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ opening, errors, transactions

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, create: bool = True, timeout: float | None = None,
             write: bool = True) -> Self:
        """Open (creating and migrating as needed) the store at `path` (a folder or the SQLite file).

        `write=False` (the commands that only read) falls back to reading a store this process may not
        write (a read-only file or folder) instead of refusing it.
        """
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
        elif not p.is_file():
            raise StoreError("is not a regular file (a device, pipe or socket), not a run store file", file=str(p))
        try:
            conn = sqlite3.connect(str(p), timeout=timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as e:
            raise _translate(e, p, timeout) from None
        store = cls(p, conn, timeout)
        try:
            with store._errors():
                conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
                store._check_ours()  # before anything changes the file: another program's stays as it was
                mode = _switch_to_wal(conn, timeout)
                if str(mode).lower() != "wal":
                    raise StoreError(f"could not switch the run store to WAL mode (it stays '{mode}'); is another "
                                     "program holding it open?", file=str(p))
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
                store._migrate()
        except ReadOnlyStore:
            conn.close()
            if write:
                raise
            return cls._open_read_only(p, timeout)
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def _open_read_only(cls, p: Path, timeout: float) -> Self:
        """The store opened for reading only (`mode=ro`; `immutable` when SQLite cannot even create the WAL
        index beside a read-only file: then nobody can be writing it through this folder either)."""
        conn = None
        try:
            for query in ("mode=ro", "mode=ro&immutable=1"):
                conn = sqlite3.connect(f"{p.as_uri()}?{query}", uri=True, timeout=timeout, isolation_level=None,
                                       check_same_thread=False)
                try:
                    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                    break
                except sqlite3.OperationalError:
                    conn.close()
                    if query != "mode=ro":
                        raise
            assert conn is not None
            store = cls(p, conn, timeout)
            with store._errors():
                store._check_ours()
                version = store.schema_version
        except sqlite3.Error as e:
            raise _translate(e, p, timeout) from None
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        if version != SCHEMA_VERSION:
            conn.close()
            raise StoreError(f"this run store has schema version {version}, and this program ({SCHEMA_VERSION}) "
                             "cannot read it without writing to it, which this store does not allow", file=str(p))
        store.read_only = True
        return store

    read_only = False
    """True when opened for reading only (a store this process may not write)."""

    def _check_ours(self) -> None:
        """Refuse a SQLite file of another program (its application id, or tables of its own) before anything
        changes it: no journal-mode switch, no migration."""
        app_id, version, names = self._conn.execute(  # one statement: one consistent snapshot
            "SELECT (SELECT application_id FROM pragma_application_id), (SELECT user_version FROM pragma_user_version),"
            " (SELECT json_group_array(name) FROM sqlite_master WHERE type = 'table')").fetchone()
        app_id, version, tables = int(app_id), int(version), set(json.loads(names))
        if app_id not in (0, APPLICATION_ID) or (tables and (version == 0 or "runs" not in tables)):
            raise StoreError("this SQLite file is not a Pipeline Designer run store (it already holds "
                             f"{'another application id' if app_id not in (0, APPLICATION_ID) else 'other tables'}); "
                             "choose another --store", file=str(self.path))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
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
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")  # a new store says whose it is
            while version < SCHEMA_VERSION:
                for statement in _statements(MIGRATIONS[version]):
                    conn.execute(statement)
                version += 1
                conn.execute(f"PRAGMA user_version = {version}")



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
        return ReadOnlyStore(f"the run store cannot be opened for writing ({text})", file=str(path))
    return StoreError(f"run store error: {text}", file=str(path))
