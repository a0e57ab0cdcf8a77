"""The run store: run history in one embedded SQLite file (`RunStore`), and opening the store of a pipeline.

A run is inserted as "running" (with pid, a process start token and the host) before it executes and
updated afterwards, so a killed process leaves a row that the next `begin_run`/`list_runs` marks
"interrupted". Registered models come from `ModelRegistry`, the file itself from `Database`.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import Any, Iterable

from designer.core.store.compare import compare_runs
from designer.core.store.datasets import DatasetRegistry
from designer.core.store.errors import StoreError
from designer.core.store.location import find_store, store_for_pipeline
from designer.core.store.models import ModelRegistry
from designer.core.store.process import git_commit_of, git_dirty, pid_alive, process_token
from designer.core.store.records import (INTERRUPTED, RUNNING, STATUSES, RunRecord, _dumps, _loads, new_run_id,
                                         now_iso)

_RUN_COLUMNS = ("id", "pipeline_name", "pipeline_hash", "pipeline_text", "pipeline_path", "base_dir", "status",
                "started_at", "ended_at", "pid", "pid_token", "host", "git_commit", "overrides", "upto", "out_dir",
                "params", "metrics", "libraries", "nodes", "errors", "warnings", "message", "reproduces", "git_dirty",
                "parent_run")
_JSON_COLUMNS: dict[str, Any] = {"overrides": [], "params": {}, "metrics": {}, "libraries": {}, "nodes": {},
                                 "errors": {}, "warnings": {}}


class RunStore(ModelRegistry, DatasetRegistry):
    """The run store of one folder. Open with `RunStore.open(path)`; thread-safe; close when done."""

    def begin_run(self, *, pipeline_name: str, pipeline_text: str, base_dir: str | os.PathLike[str],
                  pipeline_path: str | os.PathLike[str] | None = None, overrides: Iterable[str] = (),
                  upto: str | None = None, out_dir: str | os.PathLike[str] | None = None,
                  reproduces: str | None = None, git_commit: str | None | bool = True) -> str:
        """Insert a "running" row for this process before the run executes; returns the new run id.

        `git_commit=True` looks the commit (and whether files have changed since) up from the pipeline's
        folder; pass a string or None to set it.
        """
        import hashlib

        self.mark_interrupted()
        base = Path(base_dir).resolve()
        dirty = None
        if git_commit is True:
            folder = Path(pipeline_path).resolve().parent if pipeline_path else base
            git_commit = git_commit_of(folder)
            dirty = git_dirty(folder) if git_commit else None
        pid = os.getpid()
        row = {
            "pipeline_name": pipeline_name, "pipeline_text": pipeline_text,
            "pipeline_hash": hashlib.sha256(pipeline_text.encode()).hexdigest(),
            "pipeline_path": str(Path(pipeline_path).resolve()) if pipeline_path else None, "base_dir": str(base),
            "status": RUNNING, "started_at": now_iso(), "pid": pid, "pid_token": process_token(pid),
            "host": socket.gethostname(), "git_commit": git_commit or None, "overrides": _dumps(list(overrides)),
            "upto": upto, "out_dir": str(Path(out_dir).resolve()) if out_dir else None, "reproduces": reproduces,
            "git_dirty": None if dirty is None else int(dirty),
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

        `inputs`: dicts with name, path, sha256, rows, columns and, for a registered data set, dataset and
        version (DataSource.to_json()); `artifacts`: dicts from
        `artifact_record()`.
        """
        if status not in STATUSES or status == RUNNING:
            raise ValueError(f"not a final run status: {status!r}")
        seen: set[tuple[Any, ...]] = set()
        input_rows = []
        for s in inputs:
            key = (s.get("name"), s.get("path"), s.get("sha256"), s.get("dataset"), s.get("version"))
            if key not in seen:
                seen.add(key)
                input_rows.append((run_id, s.get("name") or "?", s.get("path"), s.get("sha256") or "",
                                   s.get("rows"), s.get("columns"), s.get("dataset"), s.get("version")))
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
            conn.executemany("INSERT INTO run_inputs (run_id, name, path, sha256, n_rows, n_columns, dataset, "
                             "dataset_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", input_rows)
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
        values["git_dirty"] = None if values["git_dirty"] is None else bool(values["git_dirty"])
        rec = RunRecord(**values)
        if rec.status == RUNNING and rec.host == socket.gethostname() and not pid_alive(rec.pid, rec.pid_token):
            rec.status = INTERRUPTED  # not marked yet (read-only or busy store): show the truth anyway
        return rec

    def list_runs(self, pipeline_name: str | None = None, limit: int | None = None,
                  parent: str | None = None) -> list[RunRecord]:
        """Runs, newest first (without pipeline text, inputs and artifacts; `get_run` has them): top-level runs,
        or the child runs (tuning candidates) of run `parent`."""
        self._reap_quietly()
        columns = ", ".join("'' AS pipeline_text" if c == "pipeline_text" else c for c in _RUN_COLUMNS)
        sql = f"SELECT {columns} FROM runs WHERE " + ("parent_run = ?" if parent else "parent_run IS NULL")
        args: list[Any] = [parent] if parent else []
        if pipeline_name is not None:
            sql += " AND pipeline_name = ?"
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
            rows = self._read("SELECT id FROM runs WHERE parent_run IS NULL ORDER BY id DESC LIMIT 1 OFFSET ?",
                              (int(m.group(1) or 0),))
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
        rec.inputs = [{"name": n, "path": p, "sha256": s, "rows": r, "columns": c,
                       **({"dataset": d, "version": v} if d is not None else {})}
                      for n, p, s, r, c, d, v in self._read(
                          "SELECT name, path, sha256, n_rows, n_columns, dataset, dataset_version FROM run_inputs "
                          "WHERE run_id = ? ORDER BY rowid", (run_id,))]
        rec.artifacts = [{"path": p, "kind": k, "node": n, "sha256": s, "bytes": b} for p, k, n, s, b in self._read(
            "SELECT path, kind, node, sha256, bytes FROM run_artifacts WHERE run_id = ? ORDER BY rowid", (run_id,))]
        return rec

    def record_children(self, parent: str, children: Iterable[dict[str, Any]]) -> list[str]:
        """Child runs of `parent` (one per tuning candidate: `params`, `metrics`, `status`), so `runs compare`
        works on candidates; returns their ids, in order."""
        row = self._read("SELECT pipeline_name, pipeline_hash, pipeline_path, base_dir, started_at, pid, host, "
                         "git_commit FROM runs WHERE id = ?", (parent,))
        if not row:
            raise StoreError(f"no run '{parent}'", file=str(self.path))
        name, sha, path, base, started, pid, host, commit = row[0]
        ids = []
        for child in children:
            for _ in range(20):
                run_id = new_run_id()
                with self._write() as conn:
                    cur = conn.execute(
                        "INSERT OR IGNORE INTO runs (id, pipeline_name, pipeline_text, pipeline_hash, pipeline_path, "
                        "base_dir, status, started_at, ended_at, pid, host, git_commit, params, metrics, message, "
                        "parent_run) VALUES (?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (run_id, name, sha, path, base, str(child.get("status", "succeeded")), started, now_iso(),
                         pid, host, commit, _dumps(child.get("params", {})), _dumps(child.get("metrics", {})),
                         child.get("message"), parent))
                if cur.rowcount == 1:
                    ids.append(run_id)
                    break
        return ids

    def compare(self, a: str, b: str) -> dict[str, Any]:
        """Parameter, metric, data and library differences between two runs (see `compare_runs`)."""
        return compare_runs(self.get_run(a), self.get_run(b))


def open_for_pipeline(pipeline_path: str | os.PathLike[str], option: str | None = None,
                      timeout: float | None = None) -> RunStore:
    """The store a run of this pipeline records into (created when missing)."""
    return RunStore.open(store_for_pipeline(pipeline_path, option), timeout=timeout)


def open_found(option: str | None = None, start: str | os.PathLike[str] | None = None,
               timeout: float | None = None, write: bool = True) -> RunStore:
    """The store of the `runs`/`models` commands (must exist); `write=False` reads a read-only store."""
    return RunStore.open(find_store(option, start), create=False, timeout=timeout, write=write)
