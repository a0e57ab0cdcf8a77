"""Reading tables from databases through SQLAlchemy (the optional extra `db`: SQLite is built in, PostgreSQL
needs psycopg, which the extra brings too).

Passwords never sit in pipeline files: a connection is `env:VARIABLE` (an environment variable holding the
URL), the name of a connection kept in the user's config (`pipeline-designer connections add`), or a URL
without a password (a relative SQLite path is relative to the pipeline's folder; SQLite files are opened
read-only). Every database problem becomes a `BadInput` carrying the database's own message, never the
password.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from designer.core.errors import BadInput, Cancelled
from designer.core.schema import Kind

if TYPE_CHECKING:
    import pandas as pd

    from designer.core.store import DatasetRecord, RunStore

EXTRA = "pip install 'pipeline-designer[db]'"
SNIFF_ROWS = 100
"""SQLite reports no column types for a query: its kinds come from this many rows."""
CHUNK_ROWS = 50_000
SCHEMA_TTL = 30.0
CONNECT_TIMEOUT = 10

# PostgreSQL type OIDs (pg_type) -> kinds; anything else is read as text.
_PG_KINDS: dict[int, Kind] = {16: "boolean", 20: "numeric", 21: "numeric", 23: "numeric", 26: "numeric",
                              700: "numeric", 701: "numeric", 790: "numeric", 1700: "numeric",
                              1082: "datetime", 1114: "datetime", 1184: "datetime"}


def sqlalchemy() -> Any:
    """The sqlalchemy module, or a BadInput saying which extra to install."""
    try:
        import sqlalchemy as sa
    except ImportError:
        raise BadInput(f"reading from a database needs SQLAlchemy, which is not installed: {EXTRA}",
                       param="connection") from None
    return sa


# ---------------------------------------------------------------------------------------------- connections


def password_in(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        return bool(urlsplit(url).password)
    except ValueError:
        return False


def check_connection(value: str) -> str:
    """A pipeline's connection parameter: refused when it holds a password."""
    if "://" in value and password_in(value):
        raise ValueError("a password must not sit in a pipeline file: put the URL in an environment variable and "
                         "write env:VARIABLE, or save it with `pipeline-designer connections add NAME URL` and "
                         "write NAME")
    return value


def resolve_url(connection: str, base_dir: Path) -> str:
    """The SQLAlchemy URL a connection parameter names (a SQLite file opened read-only)."""
    url = connection_url(connection)
    path = sqlite_file(url, base_dir)
    if path is not None:
        if not path.is_file():
            raise BadInput("no such SQLite database file", param="connection", file=str(path))
        driver = re.match(r"sqlite(\+\w+)?:", url)
        url = f"sqlite{(driver.group(1) if driver else None) or ''}:///file:{path}?mode=ro&uri=true"
    return url


def connection_url(connection: str) -> str:
    """The URL a connection parameter names, as written (env:VARIABLE's value, a named connection's URL, or
    the parameter itself)."""
    from designer.core.config import config_path, connections

    connection = connection.strip()
    if connection.startswith("env:"):
        var = connection[4:]
        url = os.environ.get(var, "")
        if not url:
            raise BadInput(f"the environment variable {var} (named by '{connection}') is not set", param="connection")
    elif "://" in connection:
        url = check_connection(connection)
    else:
        named = connections()
        if connection not in named:
            raise BadInput(f"no connection named '{connection}' in {config_path()} (named: "
                           f"{', '.join(sorted(named)) or 'none'}); add it with `pipeline-designer connections add "
                           f"{connection} URL`, or write env:VARIABLE", param="connection")
        url = named[connection]
    return url


def sqlite_file(url: str, base_dir: Path) -> Path | None:
    """The database file a SQLite URL names (sqlite:///PATH, a relative PATH being relative to the pipeline's
    folder `base_dir`); None for any other URL, and for SQLite URLs that name no plain file (sqlite://,
    :memory:, file: URIs). An exported script copies this function to find the file of an env:VARIABLE URL."""
    m = re.match(r"sqlite(\+\w+)?:///(.*)$", url)
    if not m or not m.group(2) or m.group(2).startswith(("file:", ":memory:")):
        return None
    path = Path(m.group(2).split("?")[0]).expanduser()
    return path if path.is_absolute() else base_dir / path


def _redact(text: str, url: str) -> str:
    from urllib.parse import unquote, urlsplit

    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        text = text.replace(password, "***").replace(unquote(password), "***")
    return re.sub(r"(://[^:/@\s]*):[^@\s]*@", r"\1:***@", text)


def _database_message(e: BaseException, url: str) -> str:
    """The database's own words for a failure, without the password or SQLAlchemy's links."""
    orig = getattr(e, "orig", None) or e
    text = str(orig).strip() or type(orig).__name__
    text = re.sub(r"\s*\(Background on this error at: [^)]*\)", "", text)
    text = re.sub(r"\n\[SQL: .*", "", text, flags=re.S)
    return _redact(" ".join(text.split()), url)


class _Connection:
    """One short-lived connection (no pool), with failures turned into located BadInput."""

    def __init__(self, url: str, param: str) -> None:
        sa = sqlalchemy()
        self.url, self.param = url, param
        args = {"timeout": CONNECT_TIMEOUT} if url.startswith("sqlite") else (
            {"connect_timeout": CONNECT_TIMEOUT} if url.startswith("postgres") else {})
        try:
            self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args=args)
        except Exception as e:  # noqa: BLE001  (a malformed URL, an unknown or missing driver)
            hint = f"; {EXTRA}" if isinstance(e, ImportError) or "psycopg" in str(e) else ""
            raise BadInput(f"cannot use this database URL: {_database_message(e, url)}{hint}",
                           param="connection") from None

    def __enter__(self) -> Any:
        try:
            self.conn = self.engine.connect()
            if self.url.startswith("postgres"):  # reading only: the server refuses any write
                self.conn = self.conn.execution_options(postgresql_readonly=True)
        except Exception as e:  # noqa: BLE001
            raise BadInput(f"cannot connect to the database: {_database_message(e, self.url)}",
                           param="connection") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.close()
        self.engine.dispose()

    def execute(self, sql: str) -> Any:
        sa = sqlalchemy()
        try:
            return self.conn.execute(sa.text(sql))
        except Exception as e:  # noqa: BLE001
            raise BadInput(f"the database refused the {self.param}: {_database_message(e, self.url)}",
                           param=self.param) from None

    def fail(self, e: BaseException) -> BadInput:
        return BadInput(f"the database failed while reading: {_database_message(e, self.url)}", param=self.param)


# ---------------------------------------------------------------------------------------------- queries


def select_sql(query: str, table: str, url: str) -> tuple[str, str]:
    """(SQL, the parameter it came from) for a query or a whole table."""
    if bool(query.strip()) == bool(table.strip()):
        raise BadInput("give either a query or a table", param="query")
    if table.strip():
        sa = sqlalchemy()
        parts = table.strip().split(".")
        if len(parts) > 2 or not all(parts):
            raise BadInput(f"'{table}' is not a table name (NAME or SCHEMA.NAME)", param="table")
        dialect = sa.create_engine(url.split("?")[0] if url.startswith("sqlite") else url,
                                   poolclass=sa.pool.NullPool).dialect
        quote = dialect.identifier_preparer.quote
        return f"SELECT * FROM {'.'.join(quote(p) for p in parts)}", "table"
    return query.strip().rstrip(";").strip(), "query"


_schema_cache: dict[tuple[str, str], tuple[float, list[tuple[str, Kind]]]] = {}


def query_columns(url: str, sql: str, param: str) -> list[tuple[str, Kind]]:
    """The result's column names and kinds, asked of the database without reading the rows (PostgreSQL and
    others report types; SQLite does not, so its kinds come from the first SNIFF_ROWS rows)."""
    cached = _schema_cache.get((url, sql))
    if cached and time.monotonic() - cached[0] < SCHEMA_TTL:
        return cached[1]
    sqlite = url.startswith("sqlite")
    with _Connection(url, param) as c:
        result = c.execute(f"SELECT * FROM ({sql}) AS q LIMIT {SNIFF_ROWS if sqlite else 0}")
        description = result.cursor.description
        names = [str(d[0]) for d in description]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise BadInput(f"the result has two columns named '{dup}'; rename one (AS ...)", param=param, column=dup)
        if sqlite:
            frame = _frame(result.fetchall(), names, description, url)
            from designer.core.schema import kind_of_dtype

            columns = [(n, kind_of_dtype(frame[n].dtype)) for n in names]
        else:
            columns = [(n, _PG_KINDS.get(d[1], "categorical") if isinstance(d[1], int) else "categorical")
                       for n, d in zip(names, description)]
    _schema_cache[(url, sql)] = (time.monotonic(), columns)
    return columns


def _frame(rows: list[Any], names: list[str], description: Any, url: str) -> "pd.DataFrame":
    """Rows as a DataFrame with the kinds the schema promised: decimals as floats, dates as datetimes, true/
    false columns as pandas' nullable boolean (a missing cell keeps them boolean)."""
    import pandas as pd

    frame = pd.DataFrame.from_records(rows, columns=names, coerce_float=True)
    if not url.startswith("sqlite"):
        for (name, code) in ((n, d[1]) for n, d in zip(names, description)):
            kind = _PG_KINDS.get(code) if isinstance(code, int) else None
            if kind == "boolean":
                frame[name] = frame[name].astype("boolean")
            elif kind == "datetime" and not pd.api.types.is_datetime64_any_dtype(frame[name]):
                frame[name] = pd.to_datetime(frame[name])
            elif kind == "numeric" and frame[name].dtype == object:
                frame[name] = pd.to_numeric(frame[name])
    return frame


def read_query(url: str, sql: str, param: str, *, max_rows: int, progress: Callable[[float, str], None] | None = None,
               cancelled: Callable[[], bool] | None = None) -> "pd.DataFrame":
    """All rows of the result (in chunks, so a run can be cancelled and `max_rows` is enforced)."""
    with _Connection(url, param) as c:
        result = c.execute(sql)
        names = [str(d[0]) for d in result.cursor.description]
        description = result.cursor.description
        rows: list[Any] = []
        try:
            while chunk := result.fetchmany(CHUNK_ROWS):
                rows.extend(chunk)
                if len(rows) > max_rows:
                    raise BadInput(f"the result has more than {max_rows:,} rows (max_rows); narrow the query or "
                                   "raise max_rows", param="max_rows")
                if cancelled and cancelled():
                    raise Cancelled()
                if progress:
                    progress(min(0.9, len(rows) / max_rows), f"{len(rows):,} rows read")
        except (BadInput, Cancelled):
            raise
        except Exception as e:  # noqa: BLE001
            raise c.fail(e) from None
    if not rows:
        raise BadInput(f"the {param} returned no rows", param=param)
    return _frame(rows, names, description, url)


# ---------------------------------------------------------------------------------------------- freezing


def register_query(store: "RunStore", name: str, *, connection: str, query: str | None = None,
                   table: str | None = None, description: str = "", base_dir: Path,
                   max_rows: int = 50_000_000) -> "DatasetRecord":
    """Freeze a query's (or a table's) current result as the next version of data set `name`."""
    from designer.core.config import redact_url
    from designer.core.datasets import register_frame
    from designer.core.digest import frame_sha256

    if not connection:
        raise BadInput("--query and --table need --connection (env:VARIABLE, a named connection or a URL)")
    url = resolve_url(connection, base_dir)
    sql, param = select_sql(query or "", table or "", url)
    frame = read_query(url, sql, param, max_rows=max_rows)
    what = f"table {table}" if table else f"query {sql}"
    return register_frame(store, frame, name, sha256=frame_sha256(frame),
                          source=f"{what} ({redact_url(connection)})",
                          options={"connection": connection, param: table or sql}, description=description)
