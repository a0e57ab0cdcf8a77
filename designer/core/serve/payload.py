"""Request bodies to columns: MLflow's scoring protocol (`dataframe_split`, `dataframe_records`, `instances`,
`inputs`, or `text/csv`) and the Open Inference Protocol V2 `infer` request.

A body that is not what the protocol says is a `PayloadError` with the HTTP status to answer (400 malformed,
413 too many rows, 415 wrong content type); cell values are checked later, all at once, by the contract.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any, Callable

MLFLOW_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")


class PayloadError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Rows:
    """Columns of raw cell values (JSON values, or CSV cells), the row count, and the rows as sent."""

    columns: dict[str, list[Any]]
    count: int
    row_as_sent: Callable[[int], dict[str, Any]]
    text_cells: bool = False
    request_id: str | None = None
    """An id the request carried itself (V2 `id`)."""


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError as e:
        raise PayloadError(400, f"the body is not UTF-8 text ({e.reason} at byte {e.start})") from None
    except RecursionError:
        raise PayloadError(400, "the JSON body is nested too deeply") from None
    except ValueError as e:  # json.JSONDecodeError is a ValueError
        raise PayloadError(400, f"the body is not valid JSON: {e}") from None


def media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    parts = [p.strip() for p in (content_type or "").split(";")]
    params = {}
    for p in parts[1:]:
        key, _, value = p.partition("=")
        if key:
            params[key.strip().lower()] = value.strip().strip('"').lower()
    return parts[0].lower(), params


def _check_rows(count: int, max_rows: int) -> None:
    if count > max_rows:
        raise PayloadError(413, f"too many rows: {count} (this endpoint takes at most {max_rows} per request; "
                                "see --max-rows)")
    if count == 0:
        raise PayloadError(400, "the request holds no rows")


def parse_invocation(body: bytes, content_type: str | None, max_rows: int) -> Rows:
    """An MLflow `/invocations` body (JSON or CSV) as columns."""
    mime, params = media_type(content_type)
    charset = params.get("charset", "utf-8")
    if charset not in ("utf-8", "utf8"):
        raise PayloadError(415, f"only UTF-8 bodies are taken (charset={charset})")
    if mime == "text/csv":
        return _csv_rows(body, max_rows)
    if mime != "application/json":
        raise PayloadError(415, f"content type '{mime or 'none'}' is not taken; send application/json "
                                "(dataframe_split, dataframe_records, instances or inputs) or text/csv")
    data = parse_json(body)
    if not isinstance(data, dict):
        raise PayloadError(400, f"the JSON body must be an object with exactly one of {', '.join(MLFLOW_FORMATS)}; "
                                f"got {type(data).__name__ if data is not None else 'null'}")
    keys = [k for k in data if k in MLFLOW_FORMATS]
    unknown = [k for k in data if k not in MLFLOW_FORMATS and k != "params"]
    if len(keys) != 1 or unknown:
        raise PayloadError(400, f"the JSON body must have exactly one of {', '.join(MLFLOW_FORMATS)} (and "
                                f"optionally params); got {', '.join(map(repr, data)) or 'no field'}")
    key = keys[0]
    value = data[key]
    if key == "dataframe_split":
        return _split_rows(value, max_rows)
    if isinstance(value, dict):
        return _columnar_rows(value, key, max_rows)
    return _record_rows(value, key, max_rows)


def _split_rows(value: Any, max_rows: int) -> Rows:
    if not isinstance(value, dict) or not isinstance(value.get("data"), list):
        raise PayloadError(400, "dataframe_split must be an object with 'columns' (names) and 'data' (rows)")
    columns, data = value.get("columns"), value["data"]
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise PayloadError(400, "dataframe_split.columns must be a list of column names")
    if len(set(columns)) != len(columns):
        dup = next(c for c in columns if columns.count(c) > 1)
        raise PayloadError(400, f"dataframe_split.columns names '{dup}' twice")
    _check_rows(len(data), max_rows)
    width = len(columns)
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != width:
            got = f"{len(row)} values" if isinstance(row, list) else type(row).__name__
            raise PayloadError(400, f"dataframe_split.data row {i + 1} must be a list of {width} values "
                                    f"(one per column); got {got}")
    cols = {c: [row[j] for row in data] for j, c in enumerate(columns)}
    return Rows(cols, len(data), lambda i: dict(zip(columns, data[i])))


def _record_rows(value: Any, key: str, max_rows: int) -> Rows:
    if not isinstance(value, list):
        raise PayloadError(400, f"{key} must be a list of rows (objects of column: value)")
    _check_rows(len(value), max_rows)
    names: dict[str, None] = {}
    for i, row in enumerate(value):
        if not isinstance(row, dict):
            hint = " (name the columns: use dataframe_split for lists of values)" if isinstance(row, list) else ""
            raise PayloadError(400, f"{key} row {i + 1} must be an object of column: value{hint}")
        names.update(dict.fromkeys(row))
    cols = {c: [row.get(c) for row in value] for c in names}
    return Rows(cols, len(value), lambda i: dict(value[i]))


def _columnar_rows(value: dict[str, Any], key: str, max_rows: int) -> Rows:
    lengths = {len(v) if isinstance(v, list) else -1 for v in value.values()}
    if -1 in lengths or len(lengths) != 1:
        raise PayloadError(400, f"{key} as an object must map every column to a list of values of the same length")
    count = lengths.pop()
    _check_rows(count, max_rows)
    return Rows(dict(value), count, lambda i: {c: v[i] for c, v in value.items()})


def _csv_rows(body: bytes, max_rows: int) -> Rows:
    """CSV text read exactly as `pipeline-designer score` reads a file (designer.core.csv_read)."""
    from designer.core.csv_read import DEFAULT_MISSING, read_csv_frame
    from designer.core.errors import BadInput

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PayloadError(400, f"the body is not UTF-8 text ({e.reason} at byte {e.start})") from None
    if text.count("\n") > max_rows + 2:  # cheap bound before pandas reads anything
        raise PayloadError(413, f"too many rows (this endpoint takes at most {max_rows} per request; see --max-rows)")
    try:
        frame = read_csv_frame(io.StringIO(text), ",", "utf-8", True, DEFAULT_MISSING, {"file": "request body"})
    except BadInput as e:
        raise PayloadError(400, e.message) from None
    _check_rows(len(frame), max_rows)
    cols = {str(c): [None if v != v else v for v in frame[c].tolist()] for c in frame.columns}
    return Rows(cols, len(frame), lambda i: {c: v[i] for c, v in cols.items()}, text_cells=True)


V2_TYPES = {"FP64", "FP32", "FP16", "INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16", "UINT8",
            "BOOL", "BYTES"}


def parse_v2_infer(body: bytes, content_type: str | None, max_rows: int) -> Rows:
    """An Open Inference Protocol V2 infer request: one input tensor per column, shape [rows] or [rows, 1]."""
    mime, _ = media_type(content_type)
    if mime not in ("application/json", ""):
        raise PayloadError(415, f"content type '{mime}' is not taken; send application/json")
    data = parse_json(body)
    if not isinstance(data, dict) or not isinstance(data.get("inputs"), list) or not data["inputs"]:
        raise PayloadError(400, "an infer request must be an object with a non-empty 'inputs' list of tensors")
    request_id = data.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise PayloadError(400, "'id' must be a string")
    cols: dict[str, list[Any]] = {}
    count = None
    for k, t in enumerate(data["inputs"]):
        if not isinstance(t, dict) or not isinstance(t.get("name"), str):
            raise PayloadError(400, f"inputs[{k}] must be an object with a 'name'")
        name, shape, dtype, values = t["name"], t.get("shape"), t.get("datatype"), t.get("data")
        if dtype not in V2_TYPES:
            raise PayloadError(400, f"inputs[{k}] ('{name}'): datatype must be one of {', '.join(sorted(V2_TYPES))}")
        if not isinstance(shape, list) or not shape or not all(isinstance(s, int) and s >= 0 for s in shape) \
                or len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            raise PayloadError(400, f"inputs[{k}] ('{name}'): shape must be [rows] or [rows, 1]")
        if not isinstance(values, list):
            raise PayloadError(400, f"inputs[{k}] ('{name}'): data must be a list")
        if values and all(isinstance(v, list) and len(v) == 1 for v in values):
            values = [v[0] for v in values]
        if len(values) != shape[0]:
            raise PayloadError(400, f"inputs[{k}] ('{name}'): shape says {shape[0]} rows but data holds {len(values)}")
        if count is not None and shape[0] != count:
            raise PayloadError(400, f"inputs[{k}] ('{name}') has {shape[0]} rows, the first input {count}")
        if name in cols:
            raise PayloadError(400, f"input '{name}' is given twice")
        count = shape[0]
        cols[name] = values
    assert count is not None
    _check_rows(count, max_rows)
    return Rows(cols, count, lambda i: {c: v[i] for c, v in cols.items()}, request_id=request_id)
