"""Scoring data of any size (DESIGN §6): read a file in chunks with the types of the model's input schema,
score every chunk with `TrainedModel.score` (the function the Score node uses), write the scored rows in
input order to Parquet or CSV (by the output's extension), atomically.

    files = find_data("new_rows.csv")                       # a CSV or Parquet file, a folder or glob of Parquet
    with ScoredWriter("scored.parquet") as out:
        for chunk in score_chunks(model, read_chunks(files, model.input_schema), jobs=2):
            out.write(chunk)

Types never come from a chunk: numeric input columns are float64, every other column (categorical ones and
columns the model does not know) is text, so chunk 7 cannot disagree with chunk 1, and a column whose first
100,000 values are missing reads as it should. Each chunk's index is its rows' positions in the file, so
`source_row` and every error message name the row in the whole file.
"""

from __future__ import annotations

import glob
import os
from collections import defaultdict, deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generator, Iterable, Iterator, Literal

from designer.core.errors import BadInput, CannotWrite
from designer.core.files import regular_file

if TYPE_CHECKING:
    from concurrent.futures import Future

    from designer.core.schema import TableSchema
    import pandas as pd
    import pyarrow as pa

    from designer.core.model import TrainedModel

DEFAULT_CHUNK_ROWS = 100_000
PARQUET_SUFFIXES = (".parquet", ".pq")
TEXT = "str"
"""The dtype of text columns: pandas' string dtype with NaN for missing (what read_csv infers for text)."""


@dataclass(frozen=True)
class DataFiles:
    """What to read: one CSV file, or Parquet files read one after the other as one table."""

    kind: Literal["csv", "parquet"]
    paths: tuple[str, ...]
    name: str

    @property
    def size(self) -> int:
        return sum(os.path.getsize(p) for p in self.paths)


def output_format(path: str) -> Literal["csv", "parquet"]:
    """Parquet for `.parquet`/`.pq`, CSV for `.csv` (and other names: CSV is what people open)."""
    return "parquet" if Path(path).suffix.lower() in PARQUET_SUFFIXES else "csv"


def find_data(spec: str) -> DataFiles:
    """A CSV or Parquet file, a folder of Parquet files or a glob of Parquet files (sorted by name)."""
    p = Path(spec).expanduser()
    if p.is_dir():
        files = sorted(str(f) for f in p.iterdir() if f.suffix.lower() in PARQUET_SUFFIXES and f.is_file())
        if not files:
            raise BadInput("is a folder holding no Parquet files (*.parquet); name a CSV or Parquet file, or a "
                           "folder of Parquet files", file=str(p))
        return DataFiles("parquet", tuple(files), spec)
    if p.exists():  # a FIFO or device is refused (named), never read
        p = regular_file(p, "data file")
        return DataFiles("parquet" if p.suffix.lower() in PARQUET_SUFFIXES else "csv", (str(p),), spec)
    if glob.has_magic(spec):
        files = sorted(f for f in glob.glob(os.path.expanduser(spec)) if os.path.isfile(f))
        if not files:
            raise BadInput("no file matches this pattern", file=spec)
        if not all(Path(f).suffix.lower() in PARQUET_SUFFIXES for f in files):
            raise BadInput("a pattern may match only Parquet files (*.parquet); give a CSV file by its name",
                           file=spec)
        return DataFiles("parquet", tuple(files), spec)
    raise BadInput("no such data file", file=spec)


# ------------------------------------------------------------------------------------------ reading
def csv_dtypes(schema: "TableSchema") -> defaultdict[str, str]:
    """read_csv dtypes from the input schema: numbers as float64, everything else (also columns the schema
    does not name) as text."""
    return defaultdict(lambda: TEXT, {name: "float64" for name, kind in schema.columns if kind == "numeric"})


def conform(frame: "pd.DataFrame", schema: "TableSchema") -> "pd.DataFrame":
    """Give the schema's columns their types: numeric columns float64 (text that is not a number is refused,
    naming the row in the file), boolean columns text read as True/False. Other columns stay as read."""
    import numpy as np
    import pandas as pd

    from designer.core.recipe import check_numeric

    for name, kind in schema.columns:
        if name not in frame.columns:
            continue  # named by the model's own check, with the columns it needs
        col = frame[name]
        if kind == "numeric" and col.dtype != np.float64:
            check_numeric(col, column=name)
            frame[name] = pd.to_numeric(col, errors="coerce").astype(np.float64)
        elif kind == "boolean" and col.dtype != bool:
            words = {"true": True, "false": False, "1": True, "0": False}
            frame[name] = col.map(lambda v: words.get(str(v).strip().lower(), v) if isinstance(v, str) else v,
                                  na_action="ignore").astype(object)
    return frame


def read_chunks(files: DataFiles, schema: "TableSchema", chunk_rows: int = DEFAULT_CHUNK_ROWS,
                progress: Callable[[int, int], None] | None = None) -> Iterator["pd.DataFrame"]:
    """The rows of `files` in chunks of at most `chunk_rows` (0: all at once), typed by `schema`, each
    indexed by its rows' positions in the whole input. `progress(bytes_read, bytes_total)` after each."""
    reader = _csv_chunks if files.kind == "csv" else _parquet_chunks
    rows = 0
    for chunk in reader(files, schema, chunk_rows, progress):
        rows += len(chunk)
        if len(chunk):
            yield conform(chunk, schema)
    if rows == 0:
        raise BadInput("the file has a header but no rows" if files.kind == "csv" else "the data has no rows",
                       file=files.name)


def _csv_chunks(files: DataFiles, schema: "TableSchema", chunk_rows: int,
                progress: Callable[[int, int], None] | None) -> Iterator["pd.DataFrame"]:
    import pandas as pd

    from designer.core.csv_read import DEFAULT_MISSING, _decode_error

    path = files.paths[0]
    where: dict[str, Any] = {"file": files.name}
    total = os.path.getsize(path)
    dtypes = csv_dtypes(schema)
    with open(path, "rb") as handle:
        try:
            _check_header(handle, where)
            reader = pd.read_csv(handle, dtype=dtypes, na_values=DEFAULT_MISSING, keep_default_na=False,
                                 encoding="utf-8-sig", chunksize=chunk_rows or None, iterator=True)
            with reader:
                while True:
                    try:
                        chunk = reader.get_chunk(chunk_rows or None)
                    except StopIteration:
                        return
                    if progress:
                        progress(min(handle.tell(), total), total)
                    yield chunk
        except pd.errors.EmptyDataError:
            raise BadInput("the file is empty: no header and no rows", **where) from None
        except UnicodeDecodeError as e:
            raise _decode_error(e, "utf-8", {"file": files.name}) from None
        except pd.errors.ParserError as e:
            raise BadInput(f"not readable as CSV: {str(e).strip()}", **where) from None
        except ValueError as e:  # a numeric column holds text: find it with the row in the whole file
            raise first_bad_number(path, schema, chunk_rows, where) or BadInput(str(e), **where) from None


def _check_header(handle: Any, where: dict[str, Any]) -> None:
    """Refuse a header naming a column twice (pandas would silently read the second 'a' as 'a.1')."""
    import pandas as pd

    from designer.core.csv_read import _check_unique

    raw = pd.read_csv(handle, header=None, nrows=1, dtype=str, keep_default_na=False, na_filter=False,
                      encoding="utf-8-sig")
    handle.seek(0)
    _check_unique(["" if pd.isna(v) else str(v) for v in raw.iloc[0].tolist()] if len(raw) else [], where)


def first_bad_number(path: str, schema: "TableSchema", chunk_rows: int, where: dict[str, Any]) -> BadInput | None:
    """Read the file again with every column as text and report the first value of a numeric column that is
    not a number (only after the fast, typed read failed)."""
    import pandas as pd

    from designer.core.csv_read import DEFAULT_MISSING
    from designer.core.recipe import check_numeric

    numeric = [n for n, k in schema.columns if k == "numeric"]
    reader = pd.read_csv(path, dtype=TEXT, na_values=DEFAULT_MISSING, keep_default_na=False, encoding="utf-8-sig",
                         chunksize=chunk_rows or DEFAULT_CHUNK_ROWS)
    with reader:
        for chunk in reader:
            for name in numeric:
                if name in chunk.columns:
                    try:
                        check_numeric(chunk[name], column=name)
                    except BadInput as e:
                        return BadInput(e.message, replace(e.location, **where))
    return None


def _parquet_chunks(files: DataFiles, schema: "TableSchema", chunk_rows: int,
                    progress: Callable[[int, int], None] | None) -> Iterator["pd.DataFrame"]:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    total, done, offset = files.size, 0, 0
    for path in files.paths:
        try:
            pf = pq.ParquetFile(path)
            batches = pf.iter_batches(batch_size=chunk_rows or max(pf.metadata.num_rows, 1))
            for batch in batches:
                frame = batch.to_pandas()
                frame.index = pd.RangeIndex(offset, offset + len(frame))
                offset += len(frame)
                yield frame
        except (pa.ArrowInvalid, OSError) as e:
            raise BadInput(f"not a readable Parquet file: {e}", file=path) from None
        done += os.path.getsize(path)
        if progress:
            progress(done, total)


# ------------------------------------------------------------------------------------------ scoring
def score_frame(model: "TrainedModel", frame: "pd.DataFrame", with_features: bool = False) -> "pd.DataFrame":
    """THE per-chunk function: the rows as given + `source_row` + predictions (`Table.view` of the scored table)."""
    from designer.core.values import Table

    return model.score(Table(frame=frame), with_features=with_features).view


def _one_thread() -> None:
    """Worker threads score with one OpenMP/BLAS thread each: the chunks are the parallelism."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def score_chunks(model: "TrainedModel", chunks: Iterable["pd.DataFrame"], jobs: int = 1,
                 with_features: bool = False) -> Generator["pd.DataFrame", None, None]:
    """Scored chunks in input order; `jobs` > 1 scores that many chunks at once in threads while the next
    ones are read (at most `jobs` + 1 chunks in memory)."""
    from concurrent.futures import ThreadPoolExecutor

    if jobs <= 1:
        for chunk in chunks:
            yield score_frame(model, chunk, with_features)
        return
    pool = ThreadPoolExecutor(jobs, thread_name_prefix="score", initializer=_one_thread)
    pending: "deque[Future[Any]]" = deque()
    try:
        for chunk in chunks:
            pending.append(pool.submit(score_frame, model, chunk, with_features))
            del chunk
            while len(pending) > jobs:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for f in pending:
            f.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


# ------------------------------------------------------------------------------------------ writing
class ScoredWriter:
    """Writes scored chunks, in order, into a temporary file beside `path` and renames it over `path` when
    the block ends without an error (an error or Ctrl-C leaves no file behind). Parquet or CSV by suffix."""

    def __init__(self, path: str | os.PathLike[str], fmt: Literal["csv", "parquet"] | None = None,
                 delimiter: str = ",") -> None:
        self.path = Path(path)
        self.format = fmt or output_format(str(path))
        self.delimiter = delimiter
        self.rows = 0
        self._header = False
        self._tmp: str | None = None
        self._file: Any = None
        self._parquet: Any = None
        self._schema: "pa.Schema | None" = None

    def __enter__(self) -> "ScoredWriter":
        import tempfile

        from designer.core.pipeline import _file_mode

        if self.path.is_dir():
            raise CannotWrite("is a folder; name a file to write", self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        except OSError as e:
            raise CannotWrite(e, self.path) from None
        os.fchmod(fd, _file_mode(self.path))
        self._file = os.fdopen(fd, "wb")
        return self

    def write(self, frame: "pd.DataFrame") -> None:
        try:
            if self.format == "csv":
                text = frame.to_csv(index=False, header=not self._header, sep=self.delimiter, lineterminator="\n")
                self._file.write(text.encode("utf-8"))
                self._header = True
            else:
                self._write_parquet(frame)
        except OSError as e:  # a full disk
            raise CannotWrite(e, self.path) from None
        self.rows += len(frame)

    def _write_parquet(self, frame: "pd.DataFrame") -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._schema is None:
            schema = pa.Schema.from_pandas(frame, preserve_index=False)
            for i, f in enumerate(schema):  # a column missing in every row of the first chunk: text
                if pa.types.is_null(f.type):
                    schema = schema.set(i, pa.field(f.name, pa.large_string()))
            self._schema = schema
            self._parquet = pq.ParquetWriter(self._file, schema)
        table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
        self._parquet.write_table(table)

    def __exit__(self, kind: Any, error: Any, tb: Any) -> None:
        assert self._tmp is not None
        try:
            if kind is None and self.format == "parquet" and self._parquet is None:
                raise BadInput("nothing to write: there are no rows", file=str(self.path))
            try:
                if self._parquet is not None:
                    self._parquet.close()
                self._file.flush()
                if kind is None:
                    os.fsync(self._file.fileno())
                self._file.close()
                if kind is None:
                    os.replace(self._tmp, self.path)
            except OSError as e:  # a full disk; after another error, that one is what counts
                if kind is None:
                    raise CannotWrite(e, self.path) from None
        finally:
            if not self._file.closed:
                try:
                    self._file.close()
                except OSError:
                    pass
            if os.path.exists(self._tmp):
                os.unlink(self._tmp)


def write_scored(frame: "pd.DataFrame", path: str | os.PathLike[str]) -> Path:
    """Write one scored table (Parquet or CSV by suffix), atomically."""
    with ScoredWriter(path) as out:
        out.write(frame)
    return out.path


def read_scored(path: str | os.PathLike[str]) -> "pd.DataFrame":
    """Read back a table `ScoredWriter` wrote."""
    import pandas as pd

    return pd.read_parquet(path) if output_format(str(path)) == "parquet" else pd.read_csv(path)
