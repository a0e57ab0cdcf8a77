"""Versioned data sets: register a file, folder or query result as NAME:VERSION, load a version back exactly,
compare two versions, export one.

A copy is a Parquet snapshot in the run store, named by a key derived from the content digest and the
reading options, so the same content is written once however often (and under whatever names) it is
registered. A reference keeps only the path, the reading options and the SHA-256: every load reads the
file again and refuses it when its bytes changed. Records live in the store (`designer.core.store.datasets`).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import secrets
import threading
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from designer.core.csv_read import DEFAULT_MISSING, read_csv_frame
from designer.core.digest import BackgroundDigest, file_sha256
from designer.core.errors import BadInput
from designer.core.store import (COPY, REFERENCE, DatasetRecord, RunStore, StoreError, check_dataset_name,
                                 object_name)

if TYPE_CHECKING:
    import pandas as pd

    from designer.core.pipeline import Pipeline
    from designer.core.values import DataSource

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
PROFILE_ROWS = 20_000
"""Profiles of larger tables are computed on this many rows, evenly spaced (each column profile says how many
rows it saw); row counts are always exact."""
Progress = Callable[[float, str], None]


def _no_progress(fraction: float, message: str = "") -> None:
    pass


# ---------------------------------------------------------------------------------------------- reading sources


def csv_options(delimiter: str = ",", encoding: str = "utf-8", header: bool = True,
                missing: list[str] | None = None) -> dict[str, Any]:
    """How a CSV source is read (the Load CSV defaults unless given)."""
    return {"delimiter": delimiter, "encoding": encoding, "header": header,
            "missing": list(DEFAULT_MISSING if missing is None else missing)}


def _read_file(path: Path, options: dict[str, Any]) -> "pd.DataFrame":
    """One CSV (as Load CSV reads it) or Parquet file."""
    where: dict[str, Any] = {"file": str(path)}
    if path.suffix.lower() in PARQUET_SUFFIXES:
        import pandas as pd
        import pyarrow as pa

        try:
            frame = pd.read_parquet(path)
        except (pa.ArrowInvalid, OSError) as e:
            raise BadInput(f"not a readable Parquet file: {e}", **where) from None
        if len(frame) == 0:
            raise BadInput("the file has no rows", **where)
        return frame
    o = read_options(options)
    return read_csv_frame(str(path), o["delimiter"], o["encoding"], o["header"], o["missing"], where)


def read_options(options: dict[str, Any]) -> dict[str, Any]:
    """How a version's CSV files are read: its recorded options over the Load CSV defaults."""
    keys = ("delimiter", "encoding", "header", "missing")
    return {**csv_options(), **{k: v for k, v in options.items() if k in keys}}


def _folder_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not any(
        part.startswith(".") for part in p.relative_to(folder).parts)
        and p.suffix.lower() in CSV_SUFFIXES + PARQUET_SUFFIXES)
    if not files:
        raise BadInput("the folder holds no CSV or Parquet file", file=str(folder))
    kinds = {p.suffix.lower() in PARQUET_SUFFIXES for p in files}
    if len(kinds) > 1:
        raise BadInput("the folder mixes CSV and Parquet files; register one kind", file=str(folder))
    return files


def read_source(path: str | os.PathLike[str], options: dict[str, Any] | None = None,
                progress: Progress = _no_progress) -> tuple["pd.DataFrame", str, dict[str, Any]]:
    """(rows, content digest, options to record) of a CSV/Parquet file or of a folder of them (rows
    concatenated in file-name order; every file must have the same columns).

    A file's digest is the SHA-256 of its bytes (the hash Load CSV records, so runs from the file and from
    the data set agree); a folder's is the SHA-256 of its files' names and hashes.
    """
    import pandas as pd

    p = Path(path).expanduser().resolve()
    options = dict(options or {})
    if p.is_file():
        progress(0.0, f"reading {p.name}")
        digest = BackgroundDigest(p)  # hashed while it is parsed
        frame = _read_file(p, options)
        return frame, digest.result(), options
    if not p.is_dir():
        raise BadInput("no such file or folder", file=str(p))
    files = _folder_files(p)
    frames: list[Any] = []
    listing: list[Any] = []
    for i, f in enumerate(files):
        progress(i / len(files), f"reading {f.name}")
        digest = BackgroundDigest(f)
        frame = _read_file(f, options)
        if frames and list(frame.columns) != list(frames[0].columns):
            raise BadInput(f"its columns ({', '.join(map(str, frame.columns))}) differ from those of "
                           f"{files[0].name} ({', '.join(map(str, frames[0].columns))})", file=str(f))
        frames.append(frame)
        listing.append([f.relative_to(p).as_posix(), digest.result()])
    options["files"] = listing
    text = "".join(f"{name}\t{sha}\n" for name, sha in listing)
    return pd.concat(frames, ignore_index=True), hashlib.sha256(text.encode()).hexdigest(), options


# ---------------------------------------------------------------------------------------------- facts of a table


def schema_of(frame: "pd.DataFrame") -> list[dict[str, str]]:
    """Column names, kinds and pandas dtypes, in order."""
    from designer.core.kinds import kind_of_dtype

    return [{"name": str(c), "kind": kind_of_dtype(t), "dtype": str(t)} for c, t in frame.dtypes.items()]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if hasattr(value, "item"):
        try:
            return value.item()
        except (TypeError, ValueError):
            pass
    return str(value)


def profile_of(frame: "pd.DataFrame", max_rows: int = PROFILE_ROWS) -> list[dict[str, Any]]:
    """Every column's profile (designer.core.profile) as JSON; over `max_rows` rows, of `max_rows` rows evenly
    spaced through the table (a profile's "rows" says how many it saw)."""
    import numpy as np

    from designer.core.profile import profile_frame

    if len(frame) > max_rows:
        frame = frame.iloc[np.linspace(0, len(frame) - 1, max_rows).round().astype(np.int64)]
    return [_plain(asdict(p)) for p in profile_frame(frame)]


# ---------------------------------------------------------------------------------------------- registering


def _arrow(frame: "pd.DataFrame") -> Any:
    """The frame as an Arrow table that reads back as the same frame. Floating-point columns keep NaN as a
    value rather than a null: the same frame back, and faster to write and to read."""
    import pyarrow as pa

    schema = pa.Schema.from_pandas(frame, preserve_index=False)  # with pandas' metadata: dtypes round-trip
    arrays = []
    for i in range(frame.shape[1]):
        col, kind = frame.iloc[:, i], schema.field(i).type
        if col.dtype.kind == "f":
            arrays.append(pa.array(col.to_numpy(), type=kind, from_pandas=False))
        else:
            arrays.append(pa.array(col, type=kind, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def write_snapshot(store: RunStore, frame: "pd.DataFrame", key: str) -> tuple[str, str]:
    """Write `frame` as the Parquet object `key` unless the store already has it; (relative path, SHA-256).

    Text columns are dictionary-encoded; numbers are stored plain and uncompressed (compressing measured
    numbers gains little and costs more than reading the CSV did).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    rel = object_name(key)
    dest = store.folder / rel
    if dest.is_file():
        return rel, file_sha256(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.with_name(f".{dest.name}.{secrets.token_hex(6)}.tmp")
    try:
        table = _arrow(frame)
        text = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
                or pa.types.is_dictionary(f.type)]
        pq.write_table(table, staging, compression="none", use_dictionary=text, write_statistics=False)
        sha = file_sha256(staging)
        os.replace(staging, dest)  # a concurrent writer of the same key wrote the same rows
    except OSError as e:
        raise StoreError(f"cannot write the data set snapshot into the store ({e.strerror or e})",
                         file=str(dest)) from None
    except pa.ArrowException as e:  # a column mixing numbers and text, say
        raise BadInput(f"this table cannot be stored as Parquet: {e}") from None
    finally:
        staging.unlink(missing_ok=True)
    return rel, sha


def _who() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def register_frame(store: RunStore, frame: "pd.DataFrame", name: str, *, sha256: str, source: str,
                   options: dict[str, Any] | None = None, description: str = "", reference: bool = False,
                   progress: Progress = _no_progress) -> DatasetRecord:
    """Record `frame` (read from `source`, whose content digest is `sha256`) as the next version of `name`."""
    check_dataset_name(name)
    options = options or {}
    if len(frame) == 0:
        raise BadInput("there are no rows to register", file=source if not source.startswith("query") else None)
    written: dict[str, Any] = {}
    writer = None
    if not reference:  # the snapshot is written (Arrow, without the GIL) while the columns are profiled
        key = hashlib.sha256(f"{sha256}\n{json.dumps(options, sort_keys=True)}".encode()).hexdigest()

        def write() -> None:
            try:
                written["object"] = write_snapshot(store, frame, key)
            except BaseException as e:  # noqa: BLE001  (re-raised below, in the caller's thread)
                written["error"] = e

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
    progress(0.5, "writing the snapshot and profiling" if writer else "profiling")
    try:
        profile = profile_of(frame)
    finally:
        if writer is not None:
            writer.join()
    if "error" in written:
        raise written["error"]
    obj, obj_sha = written.get("object", (None, None))
    return store.add_dataset(name, sha256=sha256, storage=REFERENCE if reference else COPY, object=obj,
                             object_sha256=obj_sha, source=source, options=options, schema=schema_of(frame),
                             profile=profile, rows=len(frame), columns=frame.shape[1], description=description,
                             created_by=_who())


def register_path(store: RunStore, path: str | os.PathLike[str], name: str, *, description: str = "",
                  reference: bool = False, options: dict[str, Any] | None = None,
                  progress: Progress = _no_progress) -> DatasetRecord:
    """Register a CSV/Parquet file or a folder of them as the next version of `name`."""
    check_dataset_name(name)
    p = Path(path).expanduser().resolve()
    if reference and p.is_dir():
        raise BadInput("--reference keeps the path of one file; register a folder as a copy", file=str(p))
    same = _unchanged_latest(store, name, p, options or {}, reference)
    if same is not None:
        return same
    frame, digest, options = read_source(p, options, progress)
    return register_frame(store, frame, name, sha256=digest, source=str(p), options=options,
                          description=description, reference=reference, progress=progress)


def _unchanged_latest(store: RunStore, name: str, path: Path, options: dict[str, Any],
                      reference: bool) -> DatasetRecord | None:
    """The latest version of `name` when `path` (a file) still holds exactly its content: registering it
    again is then a no-op that needs no parsing."""
    versions = store.list_datasets(name) if path.is_file() else []
    if not versions:
        return None
    latest = versions[-1]
    if latest.storage != (REFERENCE if reference else COPY) or latest.options != json.loads(json.dumps(options)):
        return None
    if latest.storage == COPY and not (latest.object and latest.object.is_file()):
        return None  # registering again writes the missing snapshot back
    if file_sha256(path) != latest.sha256:
        return None
    latest.new = False
    return latest


# ---------------------------------------------------------------------------------------------- loading


def load_version(record: DatasetRecord, progress: Progress = _no_progress) -> "pd.DataFrame":
    """The rows of a version, exactly as registered. A changed snapshot or referenced file is refused."""
    if record.storage == COPY:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if record.object is None or not record.object.is_file():
            raise BadInput(f"the snapshot of data set {record.ref} is missing from the store",
                           file=str(record.object) if record.object else None)
        progress(0.0, f"reading {record.ref}")
        digest = BackgroundDigest(record.object)
        try:
            # memory-mapped (no read buffer to fill first) and column by column (no consolidation copy): the
            # same frame as pandas.read_parquet, in a fraction of the time
            frame = pq.read_table(record.object, memory_map=True).to_pandas(split_blocks=True, self_destruct=True)
        except (pa.ArrowInvalid, OSError) as e:
            raise BadInput(f"the snapshot of data set {record.ref} is damaged ({e})", file=str(record.object)) from None
        if digest.result() != record.object_sha256:
            raise BadInput(f"the snapshot of data set {record.ref} was changed after it was registered; refusing "
                           "to use it", file=str(record.object))
        return frame
    path = Path(record.source)
    if not path.is_file():
        raise BadInput(f"data set {record.ref} refers to a file that is gone", file=str(path))
    progress(0.0, f"reading {path.name} ({record.ref})")
    digest = BackgroundDigest(path)
    frame = _read_file(path, record.options)
    now = digest.result()
    if now != record.sha256:
        raise BadInput(f"data set {record.ref} refers to this file, which has changed since it was registered "
                       f"(sha256 {record.sha256[:12]}… then, {now[:12]}… now); register it again as a new "
                       "version, or restore the file", file=str(path))
    return frame


def version_source(record: DatasetRecord) -> "DataSource":
    """What a run records about the version it read."""
    from designer.core.values import DataSource

    return DataSource(name=record.ref, path=record.source if record.storage == REFERENCE else None,
                      sha256=record.sha256, rows=record.rows, columns=record.columns, dataset=record.name,
                      version=record.version)


def export_version(record: DatasetRecord, output: str | os.PathLike[str]) -> Path:
    """Write a version to a CSV or Parquet file (by extension), atomically."""
    from designer.core.pipeline import atomic_write_bytes

    out = Path(output)
    suffix = out.suffix.lower()
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        raise BadInput("the output must end in .csv or .parquet", file=str(out))
    frame = load_version(record)
    if suffix in PARQUET_SUFFIXES:
        import io

        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        atomic_write_bytes(out, buf.getvalue())
    else:
        sep = record.options.get("delimiter", ",") if suffix != ".tsv" else "\t"
        atomic_write_bytes(out, frame.to_csv(index=False, sep=sep).encode("utf-8"))
    return out


# ---------------------------------------------------------------------------------------------- runs and data sets

DATASET_MODULE = "data.dataset"
DATABASE_MODULE = "data.database"


def pin_versions(pipeline: "Pipeline", inputs: list[dict[str, Any]]) -> list[str]:
    """`NODE.version=N` overrides that make each Load Data Set reading "latest" read the version a run read
    (from the run's recorded inputs), so reproducing it reads the same rows after newer versions appeared."""
    read: dict[str, set[int]] = {}
    for s in inputs:
        if s.get("dataset") and s.get("version") is not None:
            read.setdefault(s["dataset"], set()).add(int(s["version"]))
    loaders = [n for n in pipeline.nodes if n.type == DATASET_MODULE]
    pinned: dict[str, set[int]] = {}
    for n in loaders:
        if n.params.get("version", "latest") != "latest":
            pinned.setdefault(str(n.params.get("name")), set()).add(int(n.params["version"]))
    pins = []
    for n in loaders:
        if n.params.get("version", "latest") == "latest":
            name = str(n.params.get("name"))
            versions = read.get(name, set()) - pinned.get(name, set())
            if len(versions) == 1:
                pins.append(f"{n.id}.version={versions.pop()}")
    return pins


def freeze_database_reads(pipeline: "Pipeline", inputs: list[dict[str, Any]]) -> tuple["Pipeline", dict[str, str]]:
    """A copy of the pipeline in which each Load from Database that froze its result as a data set version
    (`register_as`) reads that version instead of the live database; and {node id: "NAME:VERSION"}."""
    read = {s["dataset"]: s["version"] for s in inputs if s.get("dataset") and s.get("version") is not None}
    out = pipeline.model_copy(deep=True)
    frozen = {}
    for node in out.nodes:
        name = node.params.get("register_as") if node.type == DATABASE_MODULE else None
        if name and name in read:
            node.type = DATASET_MODULE
            node.params = {"name": name, "version": read[name], "meta_columns": node.params.get("meta_columns", [])}
            frozen[node.id] = f"{name}:{read[name]}"
    return out, frozen


# ---------------------------------------------------------------------------------------------- where data sets live


def dataset_store(base_dir: str | os.PathLike[str], store: str | os.PathLike[str] | None = None) -> RunStore:
    """The store a pipeline's Load Data Set reads: the run's store when known, else $PIPELINE_DESIGNER_STORE,
    else the `.pipeline-designer` folder of the pipeline's folder or its nearest parent."""
    from designer.core.store import find_store

    try:
        path = Path(store) if store else find_store(None, base_dir)
        return RunStore.open(path, create=False)
    except StoreError as e:
        raise BadInput(f"no data sets can be read: {e.message}", file=e.location.file) from None
