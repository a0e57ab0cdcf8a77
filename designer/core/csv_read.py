"""Reading CSV files the same way everywhere: schema sniffing (validation) and pandas (runs, scoring).

Every failure becomes a located BadInput naming the file, line and byte that is wrong.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from designer.core.errors import BadInput
from designer.core.schema import Kind, TableSchema

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


def _guess_kind(values: list[str], missing: set[str]) -> Kind:
    present = [v for v in values if v not in missing]
    if not present:
        return "numeric"  # pandas reads an all-missing column as float
    try:
        for v in present:
            float(v)
        return "numeric"
    except ValueError:
        pass
    if {v.lower() for v in present} <= {"true", "false"}:
        return "boolean"
    return "categorical"


def sniff_csv(text_lines: io.TextIOBase | list[str], delimiter: str, header: bool, missing: list[str],
              where: dict[str, Any]) -> TableSchema:
    """Column names and kinds from the first rows, with the csv module (no pandas import)."""
    reader = csv.reader(text_lines, delimiter=delimiter)
    try:
        first = next(reader, None)
        if first is None:
            raise BadInput("the file is empty: no header and no rows", **where)
        rows = [r for _, r in zip(range(SNIFF_ROWS), reader)]
    except UnicodeDecodeError as e:
        raise _decode_error(e, getattr(text_lines, "encoding", None) or "utf-8", where) from None
    except csv.Error as e:
        raise BadInput(f"not readable as CSV: {e}", **where) from None
    names = first if header else [f"column_{i + 1}" for i in range(len(first))]
    if not header:
        rows.insert(0, first)
    if header and not rows:
        raise BadInput("the file has a header but no rows", **where)
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise BadInput(f"the header names column '{name}' twice", column=name, **where)
        seen.add(name)
    miss = set(missing)
    kinds = [_guess_kind([r[i] if i < len(r) else "" for r in rows], miss) for i in range(len(names))]
    return TableSchema(columns=tuple(zip(names, kinds)))


def read_csv_frame(source: str | io.StringIO, delimiter: str, encoding: str, header: bool, missing: list[str],
                   where: dict[str, Any]) -> Any:
    """pandas.read_csv with every failure turned into a located BadInput."""
    import pandas as pd

    try:
        frame = pd.read_csv(source, sep=delimiter, encoding=encoding, header=0 if header else None,
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
