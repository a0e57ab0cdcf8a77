"""Data modules: Load CSV, Load Parquet, Load Data Set, Load from Database, Sample Dataset, Enter Data Manually,
Save CSV, Load Model."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Literal, Sequence, Union

from pydantic import Field, field_validator

from designer.core.csv_read import DEFAULT_MISSING, read_csv_frame, sniff_csv, sniff_csv_file
from designer.core.digest import BackgroundDigest, frame_sha256
from designer.core.errors import BadInput
from designer.core.files import regular_file
from designer.core.export import ExportContext, ExportFragment, TableRef, helper_source, literal
from designer.core.schema import ColumnName, Kind, TableSchema
from designer.core.values import DataSource, PortType, Table
from designer.core.node import NodeType, Params, Port, RunContext, SchemaContext, table_input

RESOURCES = Path(__file__).resolve().parent.parent / "resources" / "data"

TABLE_OUT = (Port("data", PortType.TABLE, "The loaded table"),)


def existing_file(path: str, base: Path) -> Path:
    """The data file a `path` parameter names (relative to the pipeline's folder), which must exist."""
    p = Path(path).expanduser()
    return regular_file(p if p.is_absolute() else base / p, "file", param="path")


class _MetaParams(Params):
    meta_columns: list[ColumnName] = Field(default_factory=list, description=(
        "Id, name or free-text columns: they flow through every module untouched, are never features, and "
        "come back in scored tables"))


def loaded(frame: Any, source: DataSource, params: Any) -> dict[str, Table]:
    """The output of a loader: the table with its meta columns set aside."""
    table = Table.from_source(frame, source)
    meta = list(getattr(params, "meta_columns", []))
    missing = [c for c in meta if c not in frame.columns]
    if missing:
        raise BadInput(f"unknown column '{missing[0]}'; the data has {', '.join(map(str, frame.columns))}",
                       param="meta_columns", column=missing[0])
    return {"data": table.with_roles(meta=meta) if meta else table}


def exported(ctx: ExportContext, code: list[str], imports: set[str],
             helpers: Sequence[str] = ()) -> ExportFragment:
    """The fragment of a loader: `code` assigns the output variable; the table's columns come from the schema."""
    spec = ctx.output_specs.get("data")
    columns = tuple(spec.names) if spec is not None else ()
    meta = tuple(spec.meta_names) if spec is not None else ()
    return ExportFragment(code=code, imports={"import pandas as pd", *imports}, helpers=list(helpers),
                          outputs={"data": TableRef(ctx.var("data"), (), columns, meta, columns)})


def read_csv_code(source: str, params: Any, encoding: str) -> str:
    """The pandas.read_csv call the designer makes (designer.core.csv_read.read_csv_frame)."""
    return (f"pd.read_csv({source}, sep={params.delimiter!r}, encoding={encoding!r}, "
            f"header={0 if params.header else None}, na_values={literal(list(params.missing_values))}, "
            "keep_default_na=False)")


def csv_export(ctx: ExportContext, params: Any, source: str, encoding: str, imports: set[str]) -> ExportFragment:
    var = ctx.var("data")
    code = [f"{var} = {read_csv_code(source, params, encoding)}"]
    if not params.header:
        code.append(f"{var}.columns = [f\"column_{{i + 1}}\" for i in range({var}.shape[1])]")
    return exported(ctx, code, imports)


def with_meta(schema: TableSchema, params: Any) -> dict[str, TableSchema]:
    """The schema-time output of a loader: its meta columns set aside."""
    return {"data": schema.with_meta(list(getattr(params, "meta_columns", [])), param="meta_columns")}


CHUNK_ROWS_HELP = ("Read the file in chunks of this many rows and pass them on chunk by chunk, so a file larger "
                   "than memory works (0: read the whole file). Rows in chunks flow only into Select Columns, Edit "
                   "Metadata, Score Model, Save CSV and Partition and Sample")


def streamed(schema: dict[str, TableSchema], params: Any, node: str) -> dict[str, TableSchema]:
    """A loader's schema-time output, marked as read in chunks when `chunk_rows` is set."""
    if not getattr(params, "chunk_rows", 0):
        return schema
    return {"data": schema["data"].model_copy(update={"streamed": node})}


def chunk_table(frame: Any, source: DataSource, schema: TableSchema, params: Any) -> Table:
    """One chunk of a streamed loader: index = the rows' positions in the file, meta columns set aside."""
    table = Table(frame=frame, source_schema=schema, sources=(source,))
    meta = list(getattr(params, "meta_columns", []))
    return table.with_roles(meta=meta) if meta else table


class _CsvParams(_MetaParams):
    delimiter: str = Field(",", min_length=1, max_length=1, description="Field separator, one character")
    encoding: str = Field("utf-8", description="Text encoding of the file")
    header: bool = Field(True, description="The first line holds the column names")
    missing_values: list[str] = Field(default_factory=lambda: list(DEFAULT_MISSING),
                                      description="Cell texts read as missing values")

    @field_validator("delimiter", mode="before")
    @classmethod
    def _escapes(cls, v: Any) -> Any:
        return {"\\t": "\t", "tab": "\t"}.get(v, v) if isinstance(v, str) else v


class LoadCsvParams(_CsvParams):
    path: str = Field(..., min_length=1, description="CSV file, relative to the pipeline file",
                      json_schema_extra={"x-file": "open", "x-filter": "CSV files (*.csv *.tsv *.txt)"})
    chunk_rows: int = Field(0, ge=0, description=CHUNK_ROWS_HELP)


class LoadCsv(NodeType):
    """Load a table from a CSV file.

    Column types are inferred; cells matching a missing-value marker become missing. The file's full
    content hash, row and column counts are recorded with every trained model.
    """

    type_id = "data.csv"
    title = "Load CSV"
    category = "Data"
    outputs = TABLE_OUT
    Params = LoadCsvParams
    reads_files = ("path",)

    def _path(self, params: LoadCsvParams, base: Path) -> Path:
        return existing_file(params.path, base)

    def schema(self, params: LoadCsvParams, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        path = self._path(params, ctx.base_dir)
        return streamed(with_meta(sniff_csv_file(path, params.delimiter, params.encoding, params.header,
                                                 params.missing_values, {"param": "path"}), params), params,
                        ctx.node_id)

    def run(self, params: LoadCsvParams, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        path = self._path(params, ctx.base_dir)
        if params.chunk_rows:
            return {"data": self._stream(params, path, ctx)}
        ctx.progress(0.0, f"reading {path.name}")
        digest = BackgroundDigest(path)
        frame = read_csv_frame(str(path), params.delimiter, params.encoding, params.header,
                               params.missing_values, {"param": "path", "file": str(path)})
        source = DataSource(name=path.name, path=str(path), sha256=digest.result(), rows=len(frame),
                            columns=frame.shape[1])
        return loaded(frame, source, params)

    def export(self, params: LoadCsvParams, ctx: ExportContext) -> ExportFragment:
        return csv_export(ctx, params, ctx.path_code(params.path), params.encoding, set())

    def _stream(self, params: LoadCsvParams, path: Path, ctx: RunContext) -> Any:
        from designer.core.digest import file_sha256_lines
        from designer.core.stream import TableStream, csv_stream_types, read_csv_chunks

        where = {"param": "path", "file": str(path)}
        schema = sniff_csv_file(path, params.delimiter, params.encoding, params.header, params.missing_values, where)
        ctx.progress(0.0, f"hashing {path.name}")
        sha256, lines = file_sha256_lines(path)  # one streaming pass: the run store's full-content hash
        rows = max(0, lines - params.header)
        source = DataSource(name=path.name, path=str(path), sha256=sha256, rows=rows, columns=len(schema.columns))
        dtypes = csv_stream_types(str(path), params.delimiter, params.encoding, params.header, params.missing_values)

        def read() -> Any:
            for frame in read_csv_chunks(str(path), params.chunk_rows, dtypes, params.delimiter, params.encoding,
                                         params.header, params.missing_values, where):
                yield chunk_table(frame, source, schema, params)

        out = with_meta(schema, params)["data"].model_copy(update={"streamed": ctx.node_id})
        return TableStream(read, out, (source,), params.chunk_rows, rows=rows)


class LoadParquetParams(_MetaParams):
    path: str = Field(..., min_length=1, description="Parquet file, relative to the pipeline file",
                      json_schema_extra={"x-file": "open", "x-filter": "Parquet files (*.parquet *.pq)"})
    chunk_rows: int = Field(0, ge=0, description=CHUNK_ROWS_HELP)


class LoadParquet(NodeType):
    """Load a table from a Parquet file (types come from the file)."""

    type_id = "data.parquet"
    title = "Load Parquet"
    category = "Data"
    outputs = TABLE_OUT
    Params = LoadParquetParams
    reads_files = ("path",)

    def _path(self, params: LoadParquetParams, base: Path) -> Path:
        return existing_file(params.path, base)

    def schema(self, params: LoadParquetParams, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = self._path(params, ctx.base_dir)
        try:
            arrow = pq.read_schema(path)
        except (pa.ArrowInvalid, OSError) as e:
            raise BadInput(f"not a readable Parquet file: {e}", param="path", file=str(path)) from None

        def kind(t: Any) -> Kind:
            if pa.types.is_boolean(t):
                return "boolean"
            if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
                return "numeric"
            if pa.types.is_temporal(t):
                return "datetime"
            return "categorical"

        return streamed(with_meta(TableSchema(columns=tuple((f.name, kind(f.type)) for f in arrow)), params), params,
                        ctx.node_id)

    def run(self, params: LoadParquetParams, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        import pandas as pd
        import pyarrow as pa

        path = self._path(params, ctx.base_dir)
        if params.chunk_rows:
            return {"data": self._stream(params, path, ctx)}
        digest = BackgroundDigest(path)
        try:
            frame = pd.read_parquet(path)
        except (pa.ArrowInvalid, OSError) as e:
            raise BadInput(f"not a readable Parquet file: {e}", param="path", file=str(path)) from None
        if len(frame) == 0:
            raise BadInput("the file has no rows", param="path", file=str(path))
        source = DataSource(path.name, str(path), digest.result(), len(frame), frame.shape[1])
        return loaded(frame, source, params)

    def _stream(self, params: LoadParquetParams, path: Path, ctx: RunContext) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from designer.core.digest import file_sha256
        from designer.core.stream import TableStream

        try:
            meta = pq.ParquetFile(path).metadata
        except (pa.ArrowInvalid, OSError) as e:
            raise BadInput(f"not a readable Parquet file: {e}", param="path", file=str(path)) from None
        if meta.num_rows == 0:
            raise BadInput("the file has no rows", param="path", file=str(path))
        schema = self.schema(params, {}, SchemaContext(ctx.node_id, ctx.base_dir))["data"]
        source = DataSource(path.name, str(path), file_sha256(path), meta.num_rows, meta.num_columns)
        raw = schema.model_copy(update={"columns": schema.columns + schema.meta, "meta": (), "streamed": None})

        def read() -> Any:
            import pandas as pd

            offset = 0
            for batch in pq.ParquetFile(path).iter_batches(batch_size=params.chunk_rows):
                frame = batch.to_pandas()
                frame.index = pd.RangeIndex(offset, offset + len(frame))
                offset += len(frame)
                yield chunk_table(frame, source, raw, params)

        return TableStream(read, schema, (source,), params.chunk_rows, rows=meta.num_rows)

    def export(self, params: LoadParquetParams, ctx: ExportContext) -> ExportFragment:
        return exported(ctx, [f"{ctx.var('data')} = pd.read_parquet({ctx.path_code(params.path)})"], set())


# ------------------------------------------------------------------------------------ registered data sets
class LoadDatasetParams(_MetaParams):
    name: str = Field(..., min_length=1, description="A registered data set (`pipeline-designer data list`)",
                      json_schema_extra={"x-choices": "datasets"})
    version: Union[Literal["latest"], int] = Field(
        "latest", description='"latest", or a version number to pin (runs record the version they read)',
        json_schema_extra={"x-choices": "dataset_versions"})

    @field_validator("version")
    @classmethod
    def _positive(cls, v: Any) -> Any:
        if isinstance(v, int) and v < 1:
            raise ValueError("versions are numbered from 1")
        return v


class LoadDataset(NodeType):
    """Load a registered data set version (`pipeline-designer data register`) from the run store.

    A version is immutable: the rows are exactly those registered, so a run can always be reproduced. Runs
    record the data set's name and the version read (a "latest" is resolved and recorded, and `runs
    reproduce` reads that same version again).
    """

    type_id = "data.dataset"
    title = "Load Data Set"
    category = "Data"
    outputs = TABLE_OUT
    Params = LoadDatasetParams

    @staticmethod
    def record(params: LoadDatasetParams, base_dir: Path, store: Path | None) -> Any:
        from designer.core.datasets import dataset_store
        from designer.core.store import StoreError

        try:
            with dataset_store(base_dir, store) as s:
                return s.get_dataset(params.name, None if params.version == "latest" else int(params.version))
        except StoreError as e:
            raise BadInput(e.message, param="version" if "has no version" in e.message else "name") from None

    def freshness(self, params: LoadDatasetParams, ctx: SchemaContext) -> str:
        try:
            r = self.record(params, ctx.base_dir, ctx.store)
        except BadInput:
            return ""
        if r.storage != "reference":
            return f"{r.ref}:{r.sha256}"
        try:  # a reference is checked again at load: a changed file must not be answered from saved results
            st = Path(r.source).stat()
        except OSError:
            return f"{r.ref}:{r.sha256}:missing"
        return f"{r.ref}:{r.sha256}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"

    def schema(self, params: LoadDatasetParams, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        r = self.record(params, ctx.base_dir, ctx.store)
        return with_meta(TableSchema(columns=tuple((c["name"], c["kind"]) for c in r.schema)), params)

    def run(self, params: LoadDatasetParams, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        from designer.core.datasets import load_version, version_source

        r = self.record(params, ctx.base_dir, ctx.store)
        frame = load_version(r, ctx.progress)
        return loaded(frame, version_source(r), params)

    def export(self, params: LoadDatasetParams, ctx: ExportContext) -> ExportFragment:
        """The version's rows read with pandas from the CSV file (or the folder of CSV files) it was registered
        from, each file refused unless its bytes still have the SHA-256 recorded at registration.

        A reference is exactly that file, read as the designer reads it. A copy is read by the designer from
        its Parquet snapshot in the run store, which pandas can read only with pyarrow, which an exported
        script does not assume; its registered CSV source, verified by the hash the version records, holds the
        same bytes the snapshot was parsed from, and is parsed with the same options. A version with no CSV
        source (registered from Parquet, or a database result kept only as the snapshot) cannot be written
        honestly without pyarrow, and is refused. "latest" is pinned to the version the run read (or the
        latest one now, without a run): the script reads those rows even after newer versions appear."""
        from designer.core.datasets import CSV_SUFFIXES, read_options
        from designer.core.digest import file_sha256

        r = self.record(params.model_copy(update={"version": self._version_read(params, ctx)}), ctx.base_dir, None)
        source = Path(r.source)
        listing = r.options.get("files")
        files = [(source / name, sha) for name, sha in listing] if listing else [(source, r.sha256)]
        if not all(f.suffix.lower() in CSV_SUFFIXES for f, _ in files):
            how = "a Parquet snapshot in the run store" if r.storage == "copy" else "a Parquet file"
            raise BadInput(f"export cannot read data set {r.ref} ({r.source}): it is kept as {how}, which "
                           "pandas reads only with pyarrow, and an exported script needs only pandas, numpy and "
                           "scikit-learn; write it as CSV (`pipeline-designer data get NAME:VERSION -o FILE.csv`) "
                           "and load that file", param="name")
        for f, sha in files:
            if r.storage == "copy" and (not f.is_file() or file_sha256(f) != sha):
                raise BadInput(f"export reads data set {r.ref} from the CSV file it was registered from, and "
                               f"{f} is {'gone' if not f.is_file() else 'changed since'} (the snapshot in the "
                               "run store is Parquet, which an exported script cannot read without pyarrow)",
                               param="name", file=str(f))
        o = read_options(r.options)
        csv = _CsvParams(delimiter=o["delimiter"], encoding=o["encoding"], header=o["header"],
                         missing_values=o["missing"])
        var, ref = ctx.var("data"), repr(r.ref)
        if listing:
            read = read_csv_code(f"verified({ctx.path_code(str(source))} / name, sha256, {ref})", csv, o["encoding"])
            code = [f"{var} = pd.concat([", f"    {read}",
                    f"    for name, sha256 in {literal([list(x) for x in listing])}", "], ignore_index=True)"]
        else:
            verified = f"verified({ctx.path_code(str(source))}, {r.sha256!r}, {ref})"
            code = [f"{var} = {read_csv_code(verified, csv, o['encoding'])}"]
        if not o["header"]:
            code.append(f"{var}.columns = [f\"column_{{i + 1}}\" for i in range({var}.shape[1])]")
        what = "folder of CSV files" if listing else "CSV file"
        kept = (f"a reference to this {what}" if r.storage == "reference" else
                f"a copy registered from this {what}, read from it (the copy itself is Parquet)")
        code.insert(0, f"# data set {r.ref}, {kept}; refused unless its sha256 is the registered one")
        return exported(ctx, code, {"import hashlib"}, [VERIFIED_HELPER])

    @staticmethod
    def _version_read(params: LoadDatasetParams, ctx: ExportContext) -> int | str:
        """The version the run read, else the one the parameter names now."""
        table = (ctx.values or {}).get("data")
        for s in getattr(table, "sources", ()):
            if s.dataset == params.name and s.version is not None:
                return int(s.version)
        return params.version


VERIFIED_HELPER = '''\
def verified(path, sha256, version):
    """`path`, after checking that its bytes are those registered as data set `version` (their SHA-256)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != sha256:
        raise SystemExit(f"error: {path} has changed since it was registered as data set {version} (sha256 "
                         f"{sha256[:12]}... then, {digest.hexdigest()[:12]}... now); refusing to read other rows")
    return path
'''


# ------------------------------------------------------------------------------------ databases
class LoadDatabaseParams(_MetaParams):
    connection: str = Field(..., min_length=1, description=(
        "env:VARIABLE (a variable holding the database URL), a named connection (`pipeline-designer connections "
        "add`), or a URL without a password, e.g. sqlite:///shop.db (relative to the pipeline file)"))
    query: str = Field("", description="SQL query to read (leave empty to read a whole table)",
                       json_schema_extra={"x-multiline": True})
    table: str = Field("", description="A table to read whole, NAME or SCHEMA.NAME (instead of a query)")
    max_rows: int = Field(10_000_000, ge=1, description="Refuse results with more rows than this")
    register_as: str = Field("", description=(
        "Also freeze each result as the next version of this data set (a new version only when the rows "
        "changed); runs record the version, and reproducing a run reads that version, not the database"))

    @field_validator("connection")
    @classmethod
    def _no_password(cls, v: str) -> str:
        from designer.core.database_source import check_connection

        return check_connection(v)

    @field_validator("register_as")
    @classmethod
    def _dataset_name(cls, v: str) -> str:
        from designer.core.store import MODEL_NAME

        if v and not MODEL_NAME.fullmatch(v):
            raise ValueError("a data set name uses letters, digits, '_', '.' and '-'")
        return v


class LoadDatabase(NodeType):
    """Load the result of a SQL query, or a whole table, from a database (through SQLAlchemy).

    SQLite works out of the box; PostgreSQL and others need the optional extra `db`
    (pip install 'pipeline-designer[db]'). Passwords never sit in the pipeline file: name an environment
    variable or a connection kept in your user config. The columns are known before a run (the database is
    asked for the result's columns without reading rows). A database changes under you: every run reads
    again, and "register as" freezes what was read as a data set version, so the run can be reproduced.
    """

    type_id = "data.database"
    title = "Load from Database"
    category = "Data"
    outputs = TABLE_OUT
    Params = LoadDatabaseParams

    @staticmethod
    def _sql(params: LoadDatabaseParams, base_dir: Path) -> tuple[str, str, str]:
        from designer.core.database_source import resolve_url, select_sql

        url = resolve_url(params.connection, base_dir)
        return (url, *select_sql(params.query, params.table, url))

    def freshness(self, params: LoadDatabaseParams, ctx: SchemaContext) -> str:
        import secrets

        return secrets.token_hex(8)  # a live source: never reuse an earlier read

    def schema(self, params: LoadDatabaseParams, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        from designer.core.database_source import query_columns

        url, sql, param = self._sql(params, ctx.base_dir)
        return with_meta(TableSchema(columns=tuple(query_columns(url, sql, param))), params)

    def run(self, params: LoadDatabaseParams, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        from designer.core.database_source import read_query
        from designer.core.digest import frame_sha256

        url, sql, param = self._sql(params, ctx.base_dir)
        ctx.progress(0.0, "querying the database")
        frame = read_query(url, sql, param, max_rows=params.max_rows, progress=ctx.progress,
                           cancelled=lambda: ctx.cancelled)
        what = params.table or "query"
        if params.register_as:
            from designer.core.datasets import dataset_store, register_frame, version_source

            ctx.progress(0.9, f"freezing the result as a version of {params.register_as}")
            with dataset_store(ctx.base_dir, ctx.store) as store:
                record = register_frame(store, frame, params.register_as, sha256=frame_sha256(frame),
                                        source=f"{'table ' + params.table if params.table else 'query ' + sql}",
                                        options={"connection": params.connection, param: params.table or sql})
            ctx.progress(1.0, f"{'froze the result as' if record.new else 'the result equals'} data set {record.ref}")
            return loaded(frame, version_source(record), params)
        source = DataSource(f"database {what}", None, frame_sha256(frame), len(frame), frame.shape[1])
        return loaded(frame, source, params)

    def export_refusal(self, params: LoadDatabaseParams, base_dir: Path) -> str | None:
        """Why the export cannot be written, known before a run: a database other than SQLite."""
        from designer.core.database_source import connection_url

        try:
            url = connection_url(params.connection)
        except BadInput:
            return None  # an unset variable or unknown connection: the run says so
        if url.startswith("sqlite"):
            return None
        kind = url.split(":", 1)[0].split("+", 1)[0]
        return (f"export writes only SQLite reads (Python's sqlite3); this connection is a {kind} database, whose "
                "driver an exported script (pandas, numpy and scikit-learn) does not have")

    def export(self, params: LoadDatabaseParams, ctx: ExportContext) -> ExportFragment:
        """SQLite only: the same SQL on the same file with Python's sqlite3 and `pandas.read_sql_query`, opened
        read-only. An env:VARIABLE connection is read from that variable when the script runs (the URL is not
        written into the script); a URL or a named connection is written as the file it names. Other databases
        need a driver an exported script does not assume: refused."""
        from designer.core.database_source import connection_url, resolve_url, select_sql, sqlite_file

        why = self.export_refusal(params, ctx.base_dir)
        if why:
            raise BadInput(why, param="connection")
        path = sqlite_file(connection_url(params.connection), ctx.base_dir)
        if path is None:
            raise BadInput("export reads SQLite files only (sqlite:///PATH); this URL names no file",
                           param="connection")
        sql, _ = select_sql(params.query, params.table, resolve_url(params.connection, ctx.base_dir))
        connection = params.connection.strip()
        if connection.startswith("env:"):
            where = f"sqlite_file(os.environ.get({connection[4:]!r}, ''), {ctx.path_code(str(ctx.base_dir))})"
            imports, helpers = {"import os", "import re"}, [SQLITE_HELPER, *helper_source(sqlite_file)]
            said = f"the SQLite file the URL in ${connection[4:]} names"
        else:
            where, imports, helpers = ctx.path_code(str(path)), set(), [SQLITE_HELPER]
            said = "the SQLite file" + (f" of the connection '{connection}'" if "://" not in connection else "")
        code = [f"# {said}, read-only" + (f" (the designer also keeps each result as a version of data set "
                                          f"{params.register_as})" if params.register_as else ""),
                f"{ctx.var('data')} = read_sqlite({where}, {sql!r}, max_rows={params.max_rows})"]
        return exported(ctx, code, {"import contextlib", "import sqlite3", *imports}, helpers)


SQLITE_HELPER = '''\
def read_sqlite(path, sql, max_rows):
    """The rows of `sql` from the SQLite file `path`, opened read-only, as the designer reads them (decimals as
    floats; refused with no rows or more than `max_rows`)."""
    if path is None:
        raise SystemExit("error: the database URL names no SQLite file (sqlite:///PATH)")
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as connection:
        frame = pd.read_sql_query(sql, connection, coerce_float=True)
    if len(frame) == 0 or len(frame) > max_rows:
        raise SystemExit(f"error: the query returned {len(frame):,} rows from {path} (1 to {max_rows:,} allowed)")
    return frame
'''


# ------------------------------------------------------------------------------------ sample datasets
def labelled(frame: Any, target: str, names: list[str] | None = None) -> Any:
    """A scikit-learn data set's frame with its target column named, class codes replaced by names."""
    import numpy as np

    frame = frame.rename(columns={"target": target})
    if names is not None:
        frame[target] = np.asarray(names, dtype=object)[frame[target].to_numpy()]
        frame[target] = frame[target].astype(object)
    return frame


def _sk(loader: str, target: str, names: list[str] | None = None) -> Any:
    def load() -> Any:
        import sklearn.datasets as ds

        return labelled(getattr(ds, loader)(as_frame=True).frame, target, names)
    load.args = (loader, target, names)  # type: ignore[attr-defined]
    return load


def _messy() -> Any:
    return read_csv_frame(str(RESOURCES / "messy_housing.csv"), ",", "utf-8", True, DEFAULT_MISSING,
                          {"param": "dataset"})


SAMPLES: dict[str, tuple[str, Any]] = {
    "diabetes": ("Diabetes (regression, 442 rows): disease progression after one year",
                 _sk("load_diabetes", "progression")),
    "iris": ("Iris (3 classes, 150 rows)", _sk("load_iris", "species", ["setosa", "versicolor", "virginica"])),
    "wine": ("Wine (3 cultivars, 178 rows)", _sk("load_wine", "cultivar", ["class_0", "class_1", "class_2"])),
    "breast_cancer": ("Breast cancer Wisconsin (binary, 569 rows)",
                      _sk("load_breast_cancer", "diagnosis", ["malignant", "benign"])),
    "messy_housing": ("Messy housing prices (regression, 600 rows, missing values, text categories)", _messy),
}

_NUM: Kind = "numeric"
_CAT: Kind = "categorical"
SAMPLE_SCHEMAS: dict[str, list[tuple[str, Kind]]] = {
    "diabetes": [(c, _NUM) for c in ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6",
                                     "progression"]],
    "iris": [(c, _NUM) for c in ["sepal length (cm)", "sepal width (cm)", "petal length (cm)",
                                 "petal width (cm)"]] + [("species", _CAT)],
    "wine": [(c, _NUM) for c in [
        "alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols", "flavanoids",
        "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
        "od280/od315_of_diluted_wines", "proline"]] + [("cultivar", _CAT)],
    "breast_cancer": [(c, _NUM) for c in [
        f"{p}{f}" for p in ("mean ", "radius error|", "worst ") for f in (
            "radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
            "concave points", "symmetry", "fractal dimension")]] + [("diagnosis", _CAT)],
    "messy_housing": [("area_m2", _NUM), ("rooms", _NUM), ("age_years", _NUM), ("distance_km", _NUM),
                      ("city", _CAT), ("condition", _CAT), ("garden", _CAT),
                      ("price_k", _NUM)],
}
# scikit-learn names the breast-cancer error columns "radius error", "texture error", ...
SAMPLE_SCHEMAS["breast_cancer"] = [
    ((c.split("|")[1] + " error") if "|" in c else c, k) for c, k in SAMPLE_SCHEMAS["breast_cancer"]]


class SampleParams(Params):
    dataset: Literal["diabetes", "iris", "wine", "breast_cancer", "messy_housing"] = Field(
        "diabetes", description="Which bundled data set")


class SampleDataset(NodeType):
    """A bundled sample data set: scikit-learn's diabetes, iris, wine and breast cancer, and a messy
    housing-price CSV with missing values and text categories for practising cleaning."""

    type_id = "data.sample"
    title = "Sample Dataset"
    category = "Data"
    outputs = TABLE_OUT
    Params = SampleParams

    def schema(self, params: SampleParams, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        return {"data": TableSchema(columns=tuple(SAMPLE_SCHEMAS[params.dataset]))}

    def run(self, params: SampleParams, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = SAMPLES[params.dataset][1]()
        source = DataSource(params.dataset, None, frame_sha256(frame), len(frame), frame.shape[1])
        return loaded(frame, source, params)

    def export(self, params: SampleParams, ctx: ExportContext) -> ExportFragment:
        """The same scikit-learn loader (or the bundled CSV file)."""
        load = SAMPLES[params.dataset][1]
        if load is _messy:
            csv = LoadCsvParams(path=str(RESOURCES / "messy_housing.csv"))
            return csv_export(ctx, csv, ctx.path_code(csv.path), "utf-8", set())
        loader, target, names = load.args
        code = [f"{ctx.var('data')} = labelled({loader}(as_frame=True).frame, {target!r}, {literal(names)})"]
        return exported(ctx, code, {f"from sklearn.datasets import {loader}"}, helper_source(labelled))


class ManualParams(_CsvParams):
    text: str = Field("x,y\n1,2\n3,4\n", description="The table as CSV text, first line the header",
                      json_schema_extra={"x-multiline": True})


class EnterData(NodeType):
    """Type a small table by hand as CSV text (first line the column names)."""

    type_id = "data.manual"
    title = "Enter Data Manually"
    category = "Data"
    outputs = TABLE_OUT
    Params = ManualParams

    def schema(self, params: ManualParams, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        return with_meta(sniff_csv(io.StringIO(params.text), params.delimiter, params.header,
                                   params.missing_values, {"param": "text"}), params)

    def run(self, params: ManualParams, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        from designer.core.digest import bytes_sha256

        frame = read_csv_frame(io.StringIO(params.text), params.delimiter, "utf-8", params.header,
                               params.missing_values, {"param": "text"})
        source = DataSource("manual", None, bytes_sha256(params.text.encode()), len(frame), frame.shape[1])
        return loaded(frame, source, params)

    def export(self, params: ManualParams, ctx: ExportContext) -> ExportFragment:
        return csv_export(ctx, params, f"io.StringIO({params.text!r})", "utf-8", {"import io"})


class SaveCsvParams(Params):
    path: str = Field(..., min_length=1, description="Where to write, relative to the pipeline file",
                      json_schema_extra={"x-file": "save", "x-filter": "CSV files (*.csv)"})
    delimiter: str = Field(",", min_length=1, max_length=1, description="Field separator")


class SaveCsv(NodeType):
    """Write a table to a CSV file (atomically: a temporary file, then a rename)."""

    type_id = "data.save_csv"
    title = "Save CSV"
    category = "Data"
    inputs = (Port("data", PortType.TABLE, "Table to write"),)
    Params = SaveCsvParams
    writes_files = ("path",)
    streams = True

    def schema(self, params: SaveCsvParams, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        table_input(inputs)
        return {}

    def run(self, params: SaveCsvParams, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        from designer.core.batch import ScoredWriter
        from designer.core.stream import TableStream, pull

        table: Table = inputs["data"]
        with ScoredWriter(ctx.resolve_path(params.path), "csv", delimiter=params.delimiter) as out:
            for chunk in (pull(table, ctx, "saving") if isinstance(table, TableStream) else [table]):
                out.write(chunk.view)
        return {}

    def export(self, params: SaveCsvParams, ctx: ExportContext) -> ExportFragment:
        table = ctx.table()
        if table.steps:
            raise BadInput("export cannot yet write a cleaned table to a file; save the raw or scored rows",
                           port="data")
        shown = table.var if table.scored is not None else f"{table.var}[{literal([*table.meta, *table.columns])}]"
        return ExportFragment(code=[f"{shown}.to_csv({ctx.path_code(params.path)}, index=False, "
                                    f"sep={params.delimiter!r})"])


# ------------------------------------------------------------------------------------ trained models
class LoadModelParams(Params):
    model: str = Field(..., min_length=1, description=(
        "A trained bundle (.bundle.zip, relative to the pipeline file), or a registered model NAME[:VERSION] "
        "of the run store (the latest version without :VERSION)"),
        json_schema_extra={"x-file": "open", "x-filter": "Trained bundles (*.bundle.zip)"})


class LoadModel(NodeType):
    """A trained model from a bundle written by a run, or from the model registry (NAME or NAME:VERSION).

    The bundle is verified as `pipeline-designer score` verifies it (every member's hash, only the app's
    trusted types). Connect it to Score Model to score new rows with exactly the cleaning the training rows
    went through; with a Load module reading in chunks, a whole scoring pipeline runs in bounded memory.
    """

    type_id = "data.model"
    title = "Load Model"
    category = "Data"
    outputs = (Port("model", PortType.MODEL, "The trained model"),)
    Params = LoadModelParams
    reads_files = ("model",)

    def _bundle(self, params: LoadModelParams, base: Path, store: Path | None) -> Path:
        from designer.core.store import StoreError, open_found, parse_model_ref

        p = Path(params.model).expanduser()
        p = p if p.is_absolute() else base / p
        if p.is_file() or params.model.endswith(".zip") or "/" in params.model:
            return regular_file(p, "bundle", param="model")
        try:
            parse_model_ref(params.model)
            with open_found(str(store) if store else None, start=base, write=False) as found:
                return found.model_bundle(params.model).bundle
        except StoreError as e:
            raise BadInput(f"'{params.model}' is neither a bundle file nor a registered model ({e.message})",
                           param="model") from None

    def freshness(self, params: LoadModelParams, ctx: SchemaContext) -> str:
        """The bundle a registered NAME (latest version) resolves to: a new version is a new bundle."""
        try:
            return str(self._bundle(params, ctx.base_dir, ctx.store))
        except BadInput:
            return ""

    def schema(self, params: LoadModelParams, inputs: dict[str, Any], ctx: SchemaContext) -> dict[str, Any]:
        import json

        from designer.core.bundle import read_manifest
        from designer.core.node import ModelSpec

        manifest, members = read_manifest(self._bundle(params, ctx.base_dir, ctx.store))
        info = json.loads(members["schema.json"])
        columns = TableSchema.from_json(info["input_schema"]).columns
        steps = tuple(dict.fromkeys(s.get("node") for s in manifest.get("recipe", []) if s.get("node")))
        return {"model": ModelSpec(node=info["node"], task=info["task"], label=info.get("label"),
                                   features=tuple(info["features"]), steps=steps, columns=columns)}

    def run(self, params: LoadModelParams, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        from designer.core.bundle import load_bundle

        ctx.progress(0.1, "loading and verifying the bundle")
        model, _, warnings = load_bundle(self._bundle(params, ctx.base_dir, ctx.store))
        for warning in warnings:
            ctx.warn(warning)
        return {"model": model}
