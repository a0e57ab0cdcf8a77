"""Reading CSV files the same way everywhere: schema sniffing (validation) and pandas (runs, scoring).

Every failure becomes a located BadInput naming the file, line and byte that is wrong.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from designer.core.errors import BadInput
from designer.core.kinds import Kind

if TYPE_CHECKING:
    from designer.core.schema import TableSchema

DEFAULT_MISSING = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "?"]
SNIFF_ROWS = 1000


def _decode_error(e: UnicodeDecodeError, encoding: str, where: dict[str, Any]) -> BadInput:
    """A located BadInput for undecodable bytes, naming the file line and offset of the first bad byte.

    The offsets in `e` are relative to whatever chunk the reader was decoding, so the file is decoded
    again, incrementally, to find the real position.
    """
    import codecs

    where, detail = dict(where), e.reason
    path = where.get("file")
    if path:
        try:
            decoder = codecs.getincrementaldecoder(encoding)()
            offset, line = 0, 1
            with open(path, "rb") as f:
                while True:
                    chunk = f.read(1 << 20)
                    try:
                        decoder.decode(chunk, final=not chunk)
                    except UnicodeDecodeError as bad:
                        held = len(bad.object) - len(chunk)  # bytes the decoder kept from the last chunk
                        where["line"] = line + bad.object[held:max(held, bad.start)].count(b"\n")
                        detail = (f"{bad.reason}: byte 0x{bad.object[bad.start]:02x} at offset "
                                  f"{offset - held + bad.start}")
                        break
                    if not chunk:
                        break
                    offset += len(chunk)
                    line += chunk.count(b"\n")
        except (OSError, LookupError):
            pass
    hint = ("set the 'encoding' parameter (for example latin-1)" if where.get("param")
            else f"save the file as {encoding} text")
    return BadInput(f"not valid {encoding} text ({detail}); {hint}", **where)


# How pandas' C parser reads a cell (pandas 2 and 3): a number is ASCII digits with an optional sign, point
# and exponent, or inf/infinity in any case, with blanks around; nothing else (no '1_000', no '١', no 'NaN'
# unless it is a missing-value marker). Integers must fit int64, or uint64 when the column has no negative
# one; otherwise the column is text, unless it also holds a decimal number (then everything is float).
# true/false in any case make a boolean column, but only when no cell is missing.
_NUMBER = re.compile(r"[ \t]*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t]*"
                     r"|[ \t]*[+-]?(?:[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)[ \t]*")
_INTEGER = re.compile(r"[ \t]*[+-]?[0-9]+[ \t]*")
_BOOLEAN = {"true", "false"}
_INT64 = (-(1 << 63), (1 << 63) - 1)
_UINT64_MAX = (1 << 64) - 1
MAX_CELL_CHARS = 16 << 20
"""The longest cell (and MAX_LINE_CHARS the longest line) the schema sniffer reads: bounded memory on hostile
files, far above real data (the csv module's own default of 131,072 refused a 200 KB text cell)."""
MAX_LINE_CHARS = 64 << 20
csv.field_size_limit(MAX_CELL_CHARS)


class _Column:
    """What the sniffed cells of one column allow it to be, folded in one cell at a time."""

    __slots__ = ("numeric", "boolean", "missing", "present", "decimal", "negative", "low", "high")

    def __init__(self) -> None:
        self.numeric = self.boolean = True
        self.missing = self.present = self.decimal = self.negative = False
        self.low, self.high = 0, 0

    def add(self, value: str, missing: set[str]) -> None:
        if value in missing:
            self.missing = True
            return
        self.present = True
        if self.boolean and value.lower() not in _BOOLEAN:
            self.boolean = False
        if not self.numeric:
            return
        if not _NUMBER.fullmatch(value):
            self.numeric = False
        elif not _INTEGER.fullmatch(value):
            self.decimal = True
        else:
            text = value.strip(" \t")
            negative = text.startswith("-")
            digits = text.lstrip("+-").lstrip("0") or "0"
            n = int(digits) if len(digits) <= 20 else 1 << 80  # no int() of a 5,000-digit number
            n = -n if negative else n
            self.negative = self.negative or n < 0
            self.low, self.high = min(self.low, n), max(self.high, n)

    def kind(self) -> Kind:
        if not self.present:
            return "numeric"  # pandas reads an all-missing column as float
        if self.boolean:
            return "categorical" if self.missing else "boolean"
        if not self.numeric:
            return "categorical"
        if self.decimal or (self.low >= _INT64[0] and self.high <= _INT64[1]):
            return "numeric"
        return "numeric" if not self.negative and self.high <= _UINT64_MAX else "categorical"


def _guess_kind(values: list[str], missing: set[str]) -> Kind:
    """The kind pandas gives a column holding these cells (see `_Column`)."""
    column = _Column()
    for v in values:
        column.add(v, missing)
    return column.kind()


def csv_encoding(encoding: str) -> str:
    """The codec that reads a file in `encoding`: UTF-8 files may start with a byte-order mark (Excel's "CSV
    UTF-8"), which is not part of the first column's name. Schema sniffing and pandas both use this."""
    import codecs

    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return encoding  # reported by whoever opens the file
    return "utf-8-sig" if name == "utf-8" else encoding


def header_names(raw: list[str]) -> list[str]:
    """Column names as pandas gives them: an empty header cell is 'Unnamed: <position>'."""
    return [name if name != "" else f"Unnamed: {i}" for i, name in enumerate(raw)]


def _bounded_lines(text_lines: io.TextIOBase | list[str], where: dict[str, Any]) -> Iterator[str]:
    """The lines of a file, refusing one longer than MAX_LINE_CHARS instead of reading it all."""
    if isinstance(text_lines, list):
        yield from text_lines
        return
    number = 0
    while True:
        line = text_lines.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise BadInput(f"line {number} is longer than {MAX_LINE_CHARS >> 20} M characters",
                           **{**where, "line": number})
        yield line


def sniff_csv(text_lines: io.TextIOBase | list[str], delimiter: str, header: bool, missing: list[str],
              where: dict[str, Any], encoding: str | None = None) -> TableSchema:
    """Column names and kinds from the first rows, with the csv module (no pandas import), as pandas will read
    them. Holds one row at a time."""
    from designer.core.schema import TableSchema

    reader = csv.reader(_bounded_lines(text_lines, where), delimiter=delimiter)
    miss = set(missing)
    columns: list[_Column] = []
    rows = 0
    try:
        first = next(reader, None)
        if first is None:
            raise BadInput("the file is empty: no header and no rows", **where)
        names = header_names(first) if header else [f"column_{i + 1}" for i in range(len(first))]
        columns = [_Column() for _ in names]
        for row in itertools.chain(() if header else [first], itertools.islice(reader, SNIFF_ROWS)):
            rows += 1
            for i, column in enumerate(columns):
                column.add(row[i] if i < len(row) else "", miss)
    except UnicodeDecodeError as e:
        raise _decode_error(e, encoding or getattr(text_lines, "encoding", None) or "utf-8", where) from None
    except csv.Error as e:
        raise BadInput(f"not readable as CSV: {e}", **{**where, "line": reader.line_num or None}) from None
    if header and not rows:
        raise BadInput("the file has a header but no rows", **where)
    _check_unique(first if header else names, where)
    return TableSchema(columns=tuple(zip(names, (c.kind() for c in columns))))


def sniff_csv_file(path: str | Path, delimiter: str, encoding: str, header: bool, missing: list[str],
                   where: dict[str, Any]) -> TableSchema:
    """`sniff_csv` of a file, opened the way `read_csv_frame` reads it."""
    try:
        with open(path, newline="", encoding=csv_encoding(encoding)) as f:
            return sniff_csv(f, delimiter, header, missing, {**where, "file": str(path)}, encoding)
    except LookupError:
        raise BadInput(f"unknown encoding '{encoding}'", **{**where, "param": "encoding"}) from None


def _check_unique(raw: list[str], where: dict[str, Any]) -> None:
    seen: set[str] = set()
    for name in raw:
        if name in seen:
            raise BadInput(f"the header names column '{name}' twice", **{**where, "column": name})
        seen.add(name)


def read_csv_frame(source: str | io.StringIO, delimiter: str, encoding: str, header: bool, missing: list[str],
                   where: dict[str, Any]) -> Any:
    """pandas.read_csv with every failure turned into a located BadInput. A header naming a column twice is
    refused (pandas would silently rename the second 'a' to 'a.1')."""
    import pandas as pd

    codec = csv_encoding(encoding)
    try:
        if header:
            raw = pd.read_csv(source, sep=delimiter, encoding=codec, header=None, nrows=1, dtype=str,
                              keep_default_na=False, na_filter=False)
            if isinstance(source, io.StringIO):
                source.seek(0)
            _check_unique(["" if pd.isna(v) else str(v) for v in raw.iloc[0].tolist()] if len(raw) else [], where)
        frame = pd.read_csv(source, sep=delimiter, encoding=codec, header=0 if header else None,
                            na_values=missing, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise BadInput("the file is empty: no header and no rows", **where) from None
    except UnicodeDecodeError as e:
        raise _decode_error(e, encoding, where) from None
    except pd.errors.ParserError as e:
        raise BadInput(f"not readable as CSV: {str(e).strip()}", **where) from None
    except LookupError:
        raise BadInput(f"unknown encoding '{encoding}'", **{**where, "param": "encoding"}) from None
    if not header:
        frame.columns = [f"column_{i + 1}" for i in range(frame.shape[1])]
    if len(frame) == 0:
        raise BadInput("the file has a header but no rows", **where)
    return frame
