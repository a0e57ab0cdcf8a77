"""Tables read in chunks: what a Load module with `chunk_rows` sends along its links (DESIGN §6).

A `TableStream` holds no rows: it knows how to read its source chunk by chunk (each chunk a `Table` whose
index is its rows' positions in the source), and the per-chunk work of the modules it went through. Only
modules that work row by row take one (`NodeType.streams`: Select Columns, Edit Metadata, Score Model,
Save CSV, and Partition and Sample, which turns it into an ordinary table); validation refuses a stream
anywhere else. A sink (Save, Partition and Sample) pulls the chunks through, so a whole scoring pipeline
runs in the memory of a few chunks however large the file is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Iterator

from designer.core.errors import BadInput

if TYPE_CHECKING:
    import pandas as pd

    from designer.core.node import RunContext
    from designer.core.schema import TableSchema
    from designer.core.values import DataSource, Table


@dataclass(frozen=True, eq=False)
class TableStream:
    """The rows of a source, read again (and run through `steps`) each time `chunks()` is iterated."""

    read: Callable[[], Iterator["Table"]]
    """A fresh iterator over the source's raw chunks."""
    schema: "TableSchema"
    sources: tuple["DataSource", ...]
    chunk_rows: int
    steps: tuple[tuple[str, Callable[["Table"], "Table"]], ...] = ()
    """(node id, per-chunk function) of every module the rows go through after the source."""
    rows: int | None = None
    """Rows of the source, when known."""

    def chunks(self) -> Iterator["Table"]:
        for chunk in self.read():
            for node, step in self.steps:
                chunk = _located(node, step, chunk)
            yield chunk

    def map(self, node: str, step: Callable[["Table"], "Table"]) -> "TableStream":
        """This stream with one more per-chunk step (of module `node`)."""
        return replace(self, steps=self.steps + ((node, step),))

    @property
    def scored(self) -> Any:
        return None

    def head(self) -> "Table":
        """The first chunk (what a viewer shows of a stream)."""
        return next(self.chunks())


def _located(node: str, step: Callable[["Table"], "Table"], chunk: "Table") -> "Table":
    try:
        return step(chunk)
    except BadInput as e:
        if e.location.node is None:
            raise BadInput(e.message, replace(e.location, node=node)) from None
        raise


def pull(stream: TableStream, ctx: "RunContext", what: str) -> Iterator["Table"]:
    """The stream's chunks with progress (`what`: "saving", "sampling", ...) and cancellation between chunks."""
    done = 0
    for chunk in stream.chunks():
        done += len(chunk.frame)
        share = done / stream.rows if stream.rows else 0.0
        ctx.progress(min(share, 0.99), f"{what} {done:,} rows")
        yield chunk


def concat_tables(tables: list["Table"], empty: "Table") -> "Table":
    """One table of the rows of `tables` (chunks of the same stream), or `empty` when there are none."""
    import pandas as pd

    if not tables:
        return empty
    frame = pd.concat([t.frame for t in tables])
    meta = None if tables[0].meta is None else pd.concat([t.meta for t in tables])
    return replace(tables[0], frame=frame, meta=meta)


def csv_stream_types(path: str, delimiter: str, encoding: str, header: bool, missing: list[str],
                     sniff_rows: int = 1000) -> dict[Any, str]:
    """Types for reading a CSV in chunks: float64 for a column whose first rows hold numbers (and nothing
    else), text for every other column, including columns with no value in the first rows (a type guessed
    from missing values would fail on the first real value further down)."""
    import pandas as pd

    from designer.core.batch import TEXT
    from designer.core.csv_read import csv_encoding

    head = pd.read_csv(path, sep=delimiter, encoding=csv_encoding(encoding), header=0 if header else None,
                       na_values=missing, keep_default_na=False, nrows=sniff_rows)
    return {c: ("float64" if head[c].dtype.kind in "iuf" and head[c].notna().any() else TEXT)
            for c in head.columns}


def read_csv_chunks(path: str, chunk_rows: int, dtypes: dict[Any, str], delimiter: str, encoding: str,
                    header: bool, missing: list[str], where: dict[str, Any]) -> Iterator["pd.DataFrame"]:
    """A CSV file in chunks with fixed types, index = row positions in the file; located errors."""
    import pandas as pd

    from designer.core.csv_read import _decode_error, csv_encoding

    try:
        reader = pd.read_csv(path, sep=delimiter, encoding=csv_encoding(encoding), header=0 if header else None,
                             dtype=dtypes, na_values=missing, keep_default_na=False, chunksize=chunk_rows)
        with reader:
            for chunk in reader:
                if not header:
                    chunk.columns = [f"column_{i + 1}" for i in range(chunk.shape[1])]
                yield chunk
    except UnicodeDecodeError as e:
        raise _decode_error(e, encoding, where) from None
    except pd.errors.ParserError as e:
        raise BadInput(f"not readable as CSV: {str(e).strip()}", **where) from None
    except ValueError as e:
        raise BadInput(f"a value does not fit the column's type, read from the first rows ({e}); read the "
                       "whole file instead (chunk_rows 0)", **where) from None
