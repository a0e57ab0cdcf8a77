"""Moving runs from one run store to another: the desktop app's runs of a pipeline not saved yet, recorded in
the user's own store, go next to the file the pipeline is first saved as.

A run moves with every row that refers to it (every table with a foreign key to `runs`, found in the schema,
so tables added by later migrations move too) and with its kept outputs (`<store folder>/runs/<run id>/`,
file paths in its rows rewritten). It is copied into the target in one transaction, deleted from the source
only after that committed, and its files there removed last; any failure before the delete leaves the source
as it was (and removes what was copied), and a failed delete takes the copy back out of the target.

Runs stay in the source (listed in `MovedRuns.kept` with the reason) when a model was registered from them
(the registry's versions and bundle copies belong to the store they were registered in and are never moved),
or when they are still running. A run keeps its id unless the target already has it (ids are per store);
`MovedRuns.ids` maps every moved run's old id to its id in the target. When both name one store (e.g.
$PIPELINE_DESIGNER_STORE chooses it), the runs stay and only take the new pipeline file and name. The saved
results (`<store folder>/results/`) are shared by node fingerprint, not kept per run, and do not move.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, NoReturn

from designer.core.store.errors import StoreError
from designer.core.store.location import store_file
from designer.core.store.records import RUNNING, new_run_id, parse_iso
from designer.core.store.runs import RunStore

RUNS_DIR = "runs"  # same as designer.core.store_record.RUNS_DIR (not imported: it pulls in the engine)
REGISTRY = "models"  # the model registry's table: its rows keep their runs where they are


@dataclass
class MovedRuns:
    """What `move_runs` did."""

    target: Path
    ids: dict[str, str] = field(default_factory=dict)
    """Old run id -> its id in the target store, for every run moved."""
    kept: dict[str, str] = field(default_factory=dict)
    """Run id -> why it stays in the source store."""


def move_runs(source: str | os.PathLike[str], target: str | os.PathLike[str], run_ids: Iterable[str], *,
              pipeline_path: str | os.PathLike[str] | None = None, pipeline_name: str | None = None,
              timeout: float | None = None) -> MovedRuns:
    """Move runs (by id) from the store `source` to the store `target` (created when missing), setting their
    pipeline file and name when given. StoreError when either store cannot be used; then nothing moved."""
    wanted = list(dict.fromkeys(run_ids))
    changes: dict[str, Any] = {}
    if pipeline_path is not None:
        changes["pipeline_path"] = str(Path(pipeline_path).resolve())
    if pipeline_name is not None:
        changes["pipeline_name"] = pipeline_name
    moved = MovedRuns(store_file(target).resolve())
    with RunStore.open(source, create=False, timeout=timeout) as src:
        if wanted and "parent_run" in _columns(src, "runs"):  # tuning runs take their candidates along
            marks = ", ".join("?" * len(wanted))
            wanted += [r[0] for r in src._read(f"SELECT id FROM runs WHERE parent_run IN ({marks})", wanted)
                       if r[0] not in wanted]
        same = moved.target == src.path  # one store for both (e.g. $PIPELINE_DESIGNER_STORE)
        runs = _movable(src, wanted, moved, same) if wanted else {}
        if not runs:
            return moved
        if same:
            return _relabel(src, runs, changes, moved)
        with RunStore.open(moved.target, timeout=timeout) as dst:
            return _move(src, dst, runs, changes, moved)


def _movable(src: RunStore, wanted: list[str], moved: MovedRuns, same: bool) -> dict[str, dict[str, Any]]:
    """The rows of the runs that can move ({id: {column: value}}); the others go to `moved.kept`. Within one
    store (`same`) every run there can take the new pipeline file and name."""
    src._reap_quietly()  # a run whose process is gone is interrupted, not running
    columns = _columns(src, "runs")
    found: dict[str, dict[str, Any]] = {}
    for run_id in wanted:
        rows = src._read(f"SELECT {', '.join(columns)} FROM runs WHERE id = ?", (run_id,))
        if not rows:
            moved.kept[run_id] = "it is no longer in the run store"
            continue
        row = dict(zip(columns, rows[0]))
        models = [] if same else src._read(
            f"SELECT name, version FROM {REGISTRY} WHERE run_id = ? ORDER BY name, version", (run_id,))
        if models:
            refs = ", ".join(f"{name}:{version}" for name, version in models)
            moved.kept[run_id] = f"model {refs} was registered from it (registered models stay in their store)"
        elif row["status"] == RUNNING and not same:
            moved.kept[run_id] = "it is still running"
        else:
            found[run_id] = row
    return found


def _relabel(store: RunStore, runs: dict[str, dict[str, Any]], changes: dict[str, Any],
             moved: MovedRuns) -> MovedRuns:
    """Source and target are the same store: the runs stay, with the new pipeline file and name."""
    if changes:
        with store._write() as conn:
            for run_id in runs:
                conn.execute(f"UPDATE runs SET {', '.join(f'{c} = ?' for c in changes)} WHERE id = ?",
                             (*changes.values(), run_id))
    moved.ids = {run_id: run_id for run_id in runs}
    return moved


def _move(src: RunStore, dst: RunStore, runs: dict[str, dict[str, Any]], changes: dict[str, Any],
          moved: MovedRuns) -> MovedRuns:
    children = [(t, c) for t, c in _children(src) if t != REGISTRY]
    ids = _new_ids(dst, runs)
    folders = {old: (src.folder / RUNS_DIR / old, dst.folder / RUNS_DIR / new) for old, new in ids.items()}
    copied: list[Path] = []
    try:
        for old_dir, new_dir in folders.values():  # files first: rows never point at files not there yet
            if old_dir.is_dir():
                shutil.copytree(old_dir, new_dir)
                copied.append(new_dir)
        with dst._write() as conn:
            for old, row in runs.items():
                moves = folders[old]
                row = {**row, **changes, "id": ids[old], "out_dir": _moved_path(row["out_dir"], *moves),
                       "reproduces": ids.get(row["reproduces"], row["reproduces"])}
                if row.get("parent_run"):  # a tuning candidate follows its tuning run
                    row["parent_run"] = ids.get(row["parent_run"], row["parent_run"])
                _insert(conn, "runs", [row])
                for table, column in children:
                    cols = _columns(src, table)
                    rows = [{**dict(zip(cols, r)), column: ids[old]} for r in src._read(
                        f"SELECT {', '.join(cols)} FROM {table} WHERE {column} = ? ORDER BY rowid", (old,))]
                    _insert(conn, table, [{k: _moved_path(v, *moves) for k, v in r.items()} for r in rows])
    except (OSError, StoreError) as e:
        _remove(copied)
        detail = e if isinstance(e, StoreError) else StoreError(f"cannot copy the runs' files ({e.strerror or e})",
                                                                file=str(dst.folder / RUNS_DIR))
        raise detail from None
    try:
        with src._write() as conn:
            for old in runs:
                for table, column in children:
                    conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (old,))
                conn.execute("DELETE FROM runs WHERE id = ?", (old,))
    except StoreError as e:
        _take_back(dst, children, list(ids.values()), copied, e)
    _remove([old_dir for old_dir, _ in folders.values()])
    moved.ids = ids
    return moved


def _take_back(dst: RunStore, children: list[tuple[str, str]], new_ids: list[str], copied: list[Path],
               error: StoreError) -> NoReturn:
    """The source could not let go of the runs: remove their copies from the target, then raise."""
    try:
        with dst._write() as conn:
            for new in new_ids:
                for table, column in children:
                    conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (new,))
                conn.execute("DELETE FROM runs WHERE id = ?", (new,))
    except StoreError as undo:
        raise StoreError(f"the runs were copied to {dst.path} but could not be removed from the store they came "
                         f"from ({error}), nor taken back out of the copy ({undo.message}); they are now in both",
                         file=str(dst.path)) from None
    _remove(copied)
    raise StoreError(f"the runs stay where they were: {error.message}", file=error.location.file) from None


def _new_ids(dst: RunStore, runs: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Each run's id in the target: its own when free there, else a new one of its start time (same order)."""
    taken = {r[0] for r in dst._read(f"SELECT id FROM runs WHERE id IN ({', '.join('?' * len(runs))})", runs)}
    ids: dict[str, str] = {}
    for old, row in runs.items():
        new = old
        started = parse_iso(row["started_at"])
        while new in taken or new in ids.values() or (dst.folder / RUNS_DIR / new).exists():
            new = new_run_id(int(started.timestamp() * 1000) if started else None)
            taken |= {r[0] for r in dst._read("SELECT id FROM runs WHERE id = ?", (new,))}
        ids[old] = new
    return ids


def _children(store: RunStore) -> list[tuple[str, str]]:
    """(table, column) of every column that refers to a run (a foreign key to `runs`)."""
    return [(t, c) for t, c in store._read(
        "SELECT m.name, f.\"from\" FROM sqlite_master m, pragma_foreign_key_list(m.name) f "
        "WHERE m.type = 'table' AND f.\"table\" = 'runs' ORDER BY m.name")]


def _columns(store: RunStore, table: str) -> list[str]:
    """A table's columns, without an INTEGER PRIMARY KEY (a rowid the target assigns afresh)."""
    info = store._read("SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid", (table,))
    keys = [name for name, _, pk in info if pk]
    rowid = keys[0] if len(keys) == 1 and any(n == keys[0] and t.upper() == "INTEGER" for n, t, _ in info) else None
    return [name for name, _, _ in info if name != rowid]


def _insert(conn: Any, table: str, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        conn.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                     tuple(row.values()))


def _moved_path(value: Any, old_dir: Path, new_dir: Path) -> Any:
    """A path inside the run's folder in the source store, as the same file in the target's; others as they are."""
    if isinstance(value, str) and (value == str(old_dir) or value.startswith(str(old_dir) + os.sep)):
        return str(new_dir) + value[len(str(old_dir)):]
    return value


def _remove(folders: list[Path]) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


__all__ = ["MovedRuns", "move_runs", "RUNS_DIR"]
