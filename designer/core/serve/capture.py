"""Captured traffic: what a model received and answered, as Parquet in hourly partitions under the run store.

    <store folder>/captures/<model name>/<version>/date=YYYY-MM-DD/hour=HH/part-<time>-<pid>-<n>.parquet

One row per input row: `request_id`, `row` (1-based within its request), `time` (UTC), `latency_ms`,
`status` (the HTTP status; 200 for a scored row), `error` (what was wrong, for rejected rows), `raw` (the
row as sent, JSON, for rejected rows), `input:<column>` (the raw input values as received) and the
prediction columns. A request that could not be read at all is one row with `row` 0.

`CaptureWriter` is fed by request threads without blocking them (a bounded queue; a full queue drops and
counts), and a writer thread writes each batch atomically (temporary file, then rename). A failed write is
counted and warned about once; it never fails a request.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

if TYPE_CHECKING:
    import pyarrow as pa

    from designer.core.serve.contract import Problem
    from designer.core.serve.payload import Rows

CAPTURES_DIR = "captures"
INPUT_PREFIX = "input:"
META_COLUMNS = ("request_id", "row", "time", "latency_ms", "status", "error", "raw")
RAW_LIMIT = 4096
"""Bytes of an unreadable body kept in `raw`."""


def capture_folder(store_folder: str | os.PathLike[str], name: str, version: str) -> Path:
    return Path(store_folder) / CAPTURES_DIR / name / str(version)


def output_columns(model: Any) -> dict[str, str]:
    """The prediction columns a model answers with, and their kind: number, text or integer."""
    if model.task == "clustering":
        return {"cluster": "integer", "distance": "number"}
    est = model.estimator
    out = {"prediction": "number" if model.task == "regression" else "text"}
    if model.task == "classification" and hasattr(est, "predict_proba"):
        out.update({f"probability_{c}": "number" for c in getattr(est, "classes_", [])})
    return out


def arrow_schema(inputs: list[tuple[str, str]], outputs: dict[str, str]) -> "pa.Schema":
    import pyarrow as pa

    kind_type = {"numeric": pa.float64(), "boolean": pa.bool_(), "number": pa.float64(), "integer": pa.int64()}
    fields = [pa.field("request_id", pa.string()), pa.field("row", pa.int32()),
              pa.field("time", pa.timestamp("us", tz="UTC")), pa.field("latency_ms", pa.float64()),
              pa.field("status", pa.int16()), pa.field("error", pa.string()), pa.field("raw", pa.string())]
    fields += [pa.field(f"{INPUT_PREFIX}{name}", kind_type.get(kind, pa.string())) for name, kind in inputs]
    fields += [pa.field(name, kind_type.get(kind, pa.string())) for name, kind in outputs.items()]
    return pa.schema(fields)


@dataclass
class _Request:
    request_id: str
    received: float
    latency_ms: float
    status: int
    rows: "Rows | None"
    typed: dict[str, list[Any]] | None
    outputs: dict[str, Any] | None
    problems: list["Problem"]
    body: bytes


class CaptureWriter:
    """Writes captured rows of one model version; `put_request` never blocks, `close` writes what is left."""

    def __init__(self, folder: Path, inputs: list[tuple[str, str]], outputs: dict[str, str], *,
                 max_bytes: int | None = None, flush_rows: int = 5000, flush_seconds: float = 1.0,
                 queue_size: int = 20000, warn: Callable[[str], None] | None = None) -> None:
        self.folder = Path(folder)
        self.inputs = inputs
        self.outputs = outputs
        self.schema = arrow_schema(inputs, outputs)
        self.max_bytes = max_bytes
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.warn = warn or (lambda message: None)
        self.written = 0
        self.dropped = 0
        self.failed = 0
        self._warned: set[str] = set()
        self._seq = 0
        self._bytes = folder_bytes(self.folder)
        self._closed = False
        self._lock = threading.Lock()
        self._queue: queue.Queue[_Request | None] = queue.Queue(queue_size)
        self._thread = threading.Thread(target=self._run, name="capture-writer", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------------------------------ feeding
    def put_request(self, *, request_id: str, received: float, latency_ms: float, status: int,
                    rows: "Rows | None", typed: dict[str, list[Any]] | None, outputs: dict[str, Any] | None,
                    problems: list["Problem"], body: bytes) -> None:
        """Queue one request's rows (from a request thread; never blocks, never raises)."""
        item = _Request(request_id, received, latency_ms, status, rows, typed, outputs, problems, body)
        with self._lock:  # never behind the end marker of `close`
            try:
                if self._closed:
                    raise queue.Full
                self._queue.put_nowait(item)
            except queue.Full:
                self.dropped += rows.count if rows is not None else 1
                self._warn_once("full", "capture: rows are dropped: the writer cannot keep up, or it was closed")

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.warn(message)

    # ------------------------------------------------------------------------------------------ writing
    def _run(self) -> None:
        pending: dict[tuple[str, str], dict[str, list[Any]]] = {}
        count = 0
        last = time.monotonic()
        while True:
            try:
                item = self._queue.get(timeout=max(0.01, self.flush_seconds - (time.monotonic() - last)))
            except queue.Empty:
                item = ...  # type: ignore[assignment]
            if item is None:
                self._flush(pending)
                return
            if item is not ...:
                try:
                    count += self._add(pending, item)
                except Exception as e:  # noqa: BLE001  (a row we cannot turn into columns: count, go on)
                    self.failed += item.rows.count if item.rows is not None else 1
                    self._warn_once("convert", f"capture: a request could not be recorded ({e})")
            if count >= self.flush_rows or (count and time.monotonic() - last >= self.flush_seconds):
                self._flush(pending)
                pending, count, last = {}, 0, time.monotonic()
            elif not count:
                last = time.monotonic()

    def _add(self, pending: dict[tuple[str, str], dict[str, list[Any]]], r: _Request) -> int:
        stamp = datetime.fromtimestamp(r.received, timezone.utc)
        key = (stamp.strftime("%Y-%m-%d"), stamp.strftime("%H"))
        cols = pending.setdefault(key, {f.name: [] for f in self.schema})
        micros = int(r.received * 1_000_000)
        n = r.rows.count if r.rows is not None else 0
        if n == 0:
            text = r.body[:RAW_LIMIT].decode("utf-8", "replace") if r.body else None
            row = {"request_id": r.request_id, "row": 0, "time": micros, "latency_ms": r.latency_ms,
                   "status": r.status, "error": "; ".join(str(p) for p in r.problems) or None, "raw": text}
            for name in cols:
                cols[name].append(row.get(name))
            return 1
        assert r.rows is not None
        cols["request_id"].extend([r.request_id] * n)
        cols["row"].extend(range(1, n + 1))
        cols["time"].extend([micros] * n)
        cols["latency_ms"].extend([r.latency_ms] * n)
        cols["status"].extend([r.status] * n)
        if r.status == 200 and r.typed is not None and r.outputs is not None:
            cols["error"].extend([None] * n)
            cols["raw"].extend([None] * n)
            for name, kind in self.inputs:
                values = r.typed[name]
                cols[f"{INPUT_PREFIX}{name}"].extend(
                    [None if v != v else v for v in values] if kind == "numeric" else values)
            for name, kind in self.outputs.items():
                predicted = r.outputs.get(name)
                listed: list[Any] = predicted.tolist() if predicted is not None else [None] * n
                cols[name].extend([None if v is None else str(v) for v in listed] if kind == "text" else listed)
            return n
        whole = "; ".join(str(p) for p in r.problems if p.row is None)
        by_row: dict[int, list[str]] = {}
        for p in r.problems:
            if p.row is not None:
                by_row.setdefault(p.row, []).append(str(p))
        for i in range(n):
            cols["error"].append("; ".join(([whole] if whole else []) + by_row.get(i + 1, [])) or
                                 "rejected with the rest of its request")
            cols["raw"].append(_json_text(r.rows.row_as_sent(i)))
        for name, kind in self.inputs:
            sent = r.rows.columns.get(name)
            cols[f"{INPUT_PREFIX}{name}"].extend(_as_kind(sent[i], kind) if sent is not None else None
                                                 for i in range(n))
        for name in self.outputs:
            cols[name].extend([None] * n)
        return n

    def _flush(self, pending: dict[tuple[str, str], dict[str, list[Any]]]) -> None:
        import pyarrow as pa

        for (day, hour), cols in pending.items():
            n = len(cols["row"])
            if not n:
                continue
            try:
                table = pa.Table.from_pydict(cols, schema=self.schema)
                if self._write(table, day, hour):
                    self.written += n
            except Exception as e:  # noqa: BLE001  (disk full, permissions, a value of the wrong type)
                self.failed += n
                self._warn_once("write", f"capture: writing to {self.folder} failed ({e}); scoring goes on")

    def _write(self, table: "pa.Table", day: str, hour: str) -> bool:
        """Write one part file atomically; False when the size limit keeps it out (counted as dropped)."""
        import pyarrow.parquet as pq

        if self.max_bytes is not None and self._bytes >= self.max_bytes:
            self.dropped += table.num_rows
            self._warn_once("limit", f"capture: {self.folder} reached its size limit "
                                     f"({self.max_bytes / 1e6:g} MB, --capture-max-mb); rows are no longer kept")
            return False
        part = self.folder / f"date={day}" / f"hour={hour}"
        part.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        name = f"part-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{os.getpid()}-{self._seq:06d}.parquet"
        tmp = part / f".{name}.tmp"
        try:
            pq.write_table(table, tmp, compression="zstd")
            os.replace(tmp, part / name)
        finally:
            tmp.unlink(missing_ok=True)
        self._bytes += (part / name).stat().st_size
        return True

    def write_table(self, table: "pa.Table", received: float) -> None:
        """Write a whole table now (`score --capture`), in the partition of `received`."""
        stamp = datetime.fromtimestamp(received, timezone.utc)
        try:
            if self._write(table.cast(self.schema), stamp.strftime("%Y-%m-%d"), stamp.strftime("%H")):
                self.written += table.num_rows
        except Exception as e:  # noqa: BLE001
            self.failed += table.num_rows
            self._warn_once("write", f"capture: writing to {self.folder} failed ({e})")

    def close(self, timeout: float = 60.0) -> None:
        """Write everything queued, then stop the writer thread."""
        with self._lock:
            self._closed = True
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def counts(self) -> dict[str, int]:
        return {"written": self.written, "dropped": self.dropped, "failed": self.failed,
                "queued": self._queue.qsize()}


def _json_text(row: dict[str, Any]) -> str:
    try:
        return json.dumps(row, default=str, allow_nan=True)[:RAW_LIMIT]
    except (TypeError, ValueError):
        return str(row)[:RAW_LIMIT]


def _as_kind(value: Any, kind: str) -> Any:
    """A received value in its column's type when it has that type, else None (the `raw` column keeps it)."""
    if value is None:
        return None
    if kind == "numeric":
        return float(value) if type(value) in (int, float) and value == value and abs(value) < 1e308 else None
    if kind == "boolean":
        return value if type(value) is bool else None
    return value if isinstance(value, str) else None


def folder_bytes(folder: Path) -> int:
    total = 0
    if folder.is_dir():
        for p in folder.rglob("*.parquet"):
            try:
                total += p.stat().st_size
            except OSError:
                pass
    return total


# ---------------------------------------------------------------------------------------------- reading


def capture_files(folder: Path, since: datetime | None = None) -> list[Path]:
    """The finished part files of a capture folder, oldest partition first (temporary files skipped)."""
    if not folder.is_dir():
        return []
    files = []
    for p in sorted(folder.glob("date=*/hour=*/part-*.parquet")):
        if since is not None:
            try:
                hour = datetime.strptime(f"{p.parent.parent.name[5:]} {p.parent.name[5:]}", "%Y-%m-%d %H")
            except ValueError:
                continue
            if hour.replace(tzinfo=timezone.utc).timestamp() + 3600 <= since.timestamp():
                continue
        files.append(p)
    return files


def read_captures(folder: Path, columns: Iterable[str] | None = None, since: datetime | None = None) -> "pa.Table":
    """Captured rows as one Arrow table (only `columns`, when given; rows from `since` on)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    files = capture_files(folder, since)
    wanted = list(columns) if columns is not None else None
    tables = []
    for f in files:
        t = pq.read_table(f, columns=[c for c in wanted if c in pq.read_schema(f).names] if wanted else None)
        tables.append(t)
    if not tables:
        return pa.table({})
    table = pa.concat_tables(tables, promote_options="default")
    if since is not None and "time" in table.column_names:
        table = table.filter(pc.greater_equal(table["time"], pa.scalar(since, pa.timestamp("us", tz="UTC"))))
    return table


def capture_summary(folder: Path) -> dict[str, Any]:
    """Rows (scored and rejected), first and last time, files and bytes of a capture folder."""
    import pyarrow.compute as pc

    files = capture_files(folder)
    if not files:
        return {"folder": str(folder), "files": 0, "rows": 0}
    table = read_captures(folder, ["time", "status"])
    times = pc.min_max(table["time"])
    scored = int(pc.sum(pc.equal(table["status"], 200)).as_py() or 0)
    return {"folder": str(folder), "files": len(files), "bytes": sum(f.stat().st_size for f in files),
            "rows": table.num_rows, "scored": scored, "rejected": table.num_rows - scored,
            "first": times["min"].as_py().isoformat() if times["min"].is_valid else None,
            "last": times["max"].as_py().isoformat() if times["max"].is_valid else None}


def captured_versions(store_folder: Path, name: str) -> list[str]:
    root = Path(store_folder) / CAPTURES_DIR / name
    return sorted((p.name for p in root.iterdir() if p.is_dir()), key=lambda v: (not v.isdigit(), v.zfill(12))) \
        if root.is_dir() else []


def frame_table(writer: CaptureWriter, frame: Any, outputs: Any, *, request_id: str, received: float,
                latency_ms: float, status: int, error: str | None, first_row: int = 1) -> "pa.Table":
    """The capture rows of a scored file or of one chunk of it (`score --capture`): one per input row, `row` =
    its number in the file (the chunk's first row is `first_row`); `outputs` is the scored frame (None when
    the rows were refused)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    n = len(frame)
    micros = int(received * 1_000_000)
    cols: dict[str, Any] = {
        "request_id": pa.array([request_id] * n, pa.string()),
        "row": pa.array(np.arange(first_row, first_row + n, dtype=np.int32)),
        "time": pa.array(np.full(n, micros, dtype=np.int64)).cast(pa.timestamp("us", tz="UTC")),
        "latency_ms": pa.array(np.full(n, latency_ms)),
        "status": pa.array(np.full(n, status, dtype=np.int16)),
        "error": pa.array([error] * n, pa.string()),
        "raw": pa.nulls(n, pa.string()),
    }
    for name, kind in writer.inputs:
        series = frame[name] if name in frame.columns else pd.Series([None] * n, index=frame.index)
        if kind == "numeric":
            cols[f"{INPUT_PREFIX}{name}"] = pa.array(pd.to_numeric(series, errors="coerce").astype(np.float64),
                                                     from_pandas=True)
        elif kind == "boolean" and series.dtype == bool:
            cols[f"{INPUT_PREFIX}{name}"] = pa.array(series.to_numpy())
        else:
            cols[f"{INPUT_PREFIX}{name}"] = pa.array([None if v is None or v != v else str(v)
                                                      for v in series.astype(object).tolist()], pa.string())
    for name, kind in writer.outputs.items():
        if outputs is None or name not in outputs.columns:
            cols[name] = pa.nulls(n, writer.schema.field(name).type)
        elif kind == "text":
            cols[name] = pa.array([str(v) for v in outputs[name].tolist()], pa.string())
        else:
            cols[name] = pa.array(outputs[name].to_numpy(), from_pandas=True).cast(writer.schema.field(name).type)
    return pa.table(cols, schema=writer.schema)
