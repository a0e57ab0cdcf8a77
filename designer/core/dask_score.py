"""Scoring on Dask, the optional distributed engine (`score --engine dask`; the `dask` extra).

Dask reads the input in partitions (`dask.dataframe.read_csv`/`read_parquet`, any path fsspec understands) with
explicit types and `meta` from the model's input schema, and each partition is scored by
`designer.core.batch.score_frame`, the function every other way of scoring uses. Workers load the bundle by
its path through the verified loader (`load_bundle`: hashes and trusted types checked; cached per worker
process), never from a pickle of the model. Scored partitions come back to this process in input order and
are written by the same `ScoredWriter` as the chunked path, so the output is identical.

Schedulers: `threads` (default), `synchronous`, `local` (a LocalCluster on 127.0.0.1 without dashboard,
shut down on Ctrl-C) or `tcp://HOST:PORT` (a running cluster whose workers must have the same pandas,
scikit-learn, numpy and skops versions). Dask is imported only here, only when asked for.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from designer.core.errors import BadInput

if TYPE_CHECKING:
    import pandas as pd

    from designer.core.model import TrainedModel
    from designer.core.schema import TableSchema

VERSIONED = ("pandas", "scikit-learn", "numpy", "skops")
LOCAL_SCHEDULERS = ("threads", "synchronous", "local")
SAMPLE_ROWS = 1000


@dataclass(frozen=True)
class DaskOptions:
    scheduler: str = "threads"
    chunk_rows: int | None = None
    """Rows per partition, roughly (CSV: turned into a block size in bytes); None: Dask's default."""
    with_features: bool = False
    workers: int = 2
    """Workers of a `local` cluster (one thread each)."""


def import_dask() -> Any:
    """dask.dataframe, with Dask's own string conversion off (pandas types stay exactly as pandas reads them)."""
    try:
        import dask
        import dask.dataframe as dd
    except ImportError:
        raise BadInput("--engine dask needs Dask: pip install 'pipeline-designer[dask]'") from None
    dask.config.set({"dataframe.convert-string": False})
    return dd


# ------------------------------------------------------------------------------------------ on the workers
_MODELS: dict[tuple[str, int, int], "TrainedModel"] = {}


def _key(bundle: str) -> tuple[str, int, int]:
    st = os.stat(bundle)
    return bundle, st.st_size, st.st_mtime_ns


def worker_model(bundle: str) -> "TrainedModel":
    """The bundle's model, loaded once per process through the verified loader (keyed by path, size and mtime)."""
    from designer.core.bundle import load_bundle

    key = _key(bundle)
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = load_bundle(bundle)[0]
    return _MODELS[key]


def score_partition(part: "pd.DataFrame", bundle: str, with_features: bool, meta: "pd.DataFrame") -> "pd.DataFrame":
    """One partition scored by the shared function; an empty partition gives `meta` (predicting on no rows
    would fail). The index is the partition's own (from 0): the client adds each partition's offset."""
    from threadpoolctl import threadpool_limits

    from designer.core.batch import conform, score_frame

    if len(part) == 0:
        return meta.copy()
    model = worker_model(bundle)
    with threadpool_limits(1, user_api="openmp"):  # partitions are the parallelism
        return score_frame(model, conform(part, model.input_schema), with_features)


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in VERSIONED:
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out


# ------------------------------------------------------------------------------------------ in this process
def _is_parquet(path: str) -> bool:
    """Parquet: a folder, or a file or pattern named *.parquet / *.pq; anything else is read as CSV."""
    if os.path.isdir(path) or path.endswith("/"):
        return True
    return path.rsplit("/", 1)[-1].lower().endswith((".parquet", ".pq"))


def _first_file(path: str) -> Any:
    """An fsspec file of `path`, or of the first file a pattern matches."""
    import fsspec

    files = fsspec.open_files(path, "rb")
    if not files:
        raise BadInput("no such data file", file=path)
    return files[0]


def _header(path: str) -> list[str]:
    import csv
    import io

    with _first_file(path) as f:
        first = f.readline()
    try:
        return next(csv.reader(io.StringIO(first.decode("utf-8-sig"))))
    except (UnicodeDecodeError, StopIteration):
        raise BadInput("not a CSV file with a header line", file=path) from None


def _sample(path: str, parquet: bool, schema: "TableSchema", dtypes: dict[str, str]) -> "pd.DataFrame":
    """The first rows, read here with the same types (to build `meta` with the real scoring function)."""
    import fsspec
    import pandas as pd

    from designer.core.batch import conform
    from designer.core.csv_read import DEFAULT_MISSING

    if parquet:
        import pyarrow.parquet as pq

        fs, root = fsspec.core.url_to_fs(path)
        found = fs.find(root) if fs.isdir(root) else fs.glob(root) if glob.has_magic(root) else [root]
        files = sorted(f for f in found if not Path(f).name.startswith(("_", ".")))
        for file in files:
            with fs.open(file, "rb") as f:
                pf = pq.ParquetFile(f)
                if pf.metadata.num_rows:
                    return conform(next(pf.iter_batches(batch_size=SAMPLE_ROWS)).to_pandas(), schema)
        raise BadInput("the data has no rows", file=path)
    with _first_file(path) as f:
        frame = pd.read_csv(f, nrows=SAMPLE_ROWS, dtype=dtypes, na_values=DEFAULT_MISSING, keep_default_na=False,
                            encoding="utf-8-sig")
    if len(frame) == 0:
        raise BadInput("the file has a header but no rows", file=path)
    return conform(frame, schema)


def read_partitions(dd: Any, path: str, schema: "TableSchema", chunk_rows: int | None) -> tuple[Any, "pd.DataFrame"]:
    """(the dask DataFrame of the raw rows, a sample of its first rows read locally)."""
    from designer.core.batch import TEXT
    from designer.core.csv_read import DEFAULT_MISSING

    if _is_parquet(path):
        sample = _sample(path, True, schema, {})
        return dd.read_parquet(path, index=False), sample
    names = _header(path)
    numeric = {n for n, k in schema.columns if k == "numeric"}
    dtypes = {n: ("float64" if n in numeric else TEXT) for n in names}
    sample = _sample(path, False, schema, dtypes)
    blocksize: Any = "default"
    if chunk_rows:
        row_bytes = max(1, len(sample.to_csv(index=False, header=False).encode()) // max(1, len(sample)))
        blocksize = max(chunk_rows * row_bytes, 1 << 12)
    ddf = dd.read_csv(path, dtype=dtypes, na_values=DEFAULT_MISSING, keep_default_na=False, encoding="utf-8-sig",
                      blocksize=blocksize)
    return ddf, sample


class _Cluster:
    """Runs a list of delayed tasks on the chosen scheduler and yields their results in order, at most
    `window` at a time in memory."""

    def __init__(self, scheduler: str, workers: int) -> None:
        self.scheduler = scheduler
        self.client: Any = None
        self.cluster: Any = None
        if scheduler in ("threads", "synchronous"):
            self.window = 1 if scheduler == "synchronous" else 2 * (os.cpu_count() or 2)
            return
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise BadInput("--scheduler local or tcp:// needs Dask's distributed: "
                           "pip install 'pipeline-designer[dask]'") from None
        if scheduler == "local":
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, host="127.0.0.1",
                                        dashboard_address=None, processes=True, silence_logs=40)
            self.client = Client(self.cluster)
        elif scheduler.startswith("tcp://"):
            try:
                self.client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as e:
                raise BadInput(f"cannot reach the Dask scheduler {scheduler}: {e}") from None
            self._check_versions()
        else:
            raise BadInput(f"unknown scheduler '{scheduler}': use threads, synchronous, local or tcp://HOST:PORT",
                           param="scheduler")
        workers = len(self.client.scheduler_info().get("workers", {})) or 1
        self.window = 2 * workers

    def _check_versions(self) -> None:
        """Refuse workers whose libraries differ from this process's: their predictions could differ."""
        here = library_versions()
        for worker, theirs in sorted(self.client.run(library_versions).items()):
            diff = [f"{k} {theirs.get(k)} (here {v})" for k, v in here.items() if theirs.get(k) != v]
            if diff:
                self.close()
                raise BadInput(f"Dask worker {worker} has other library versions: {', '.join(diff)}; install the "
                               "same versions on every worker", param="scheduler")

    def results(self, tasks: list[Any]) -> Iterator[Any]:
        import dask

        for start in range(0, len(tasks), self.window):
            batch = tasks[start:start + self.window]
            if self.client is not None:
                futures = self.client.compute(batch)
                for future in futures:
                    yield future.result()
                del futures
            else:
                yield from dask.compute(*batch, scheduler=self.scheduler)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None


def score_with_dask(bundle: str | os.PathLike[str], model: "TrainedModel", data: str, output: str,
                    options: DaskOptions = DaskOptions(),
                    progress: Callable[[int, int, int], None] | None = None) -> int:
    """Score `data` on Dask into `output` (Parquet or CSV by suffix, written atomically in input order);
    returns the number of rows. `model` is the bundle's model, loaded here to check the data's first rows.
    `progress(rows, partitions done, partitions)` after each partition."""
    import dask

    from designer.core.batch import score_frame

    dd = import_dask()
    bundle = str(Path(bundle).resolve()) if "://" not in str(bundle) else str(bundle)
    try:
        ddf, sample = read_partitions(dd, data, model.input_schema, options.chunk_rows)
    except FileNotFoundError:
        raise BadInput("no such data file", file=data) from None
    meta = score_frame(model, sample, options.with_features).iloc[:0]  # the real function: real types
    if options.scheduler in ("threads", "synchronous") and os.path.isfile(bundle):
        _MODELS.clear()
        _MODELS[_key(bundle)] = model  # this process loaded and verified it already
    tasks = [dask.delayed(score_partition)(p, bundle, options.with_features, meta) for p in ddf.to_delayed()]
    cluster = _Cluster(options.scheduler, options.workers)
    try:
        return _write_in_order(cluster, tasks, ddf, model, output, options, progress, data)
    finally:
        cluster.close()


def _write_in_order(cluster: _Cluster, tasks: list[Any], ddf: Any, model: "TrainedModel", output: str,
                    options: DaskOptions, progress: Callable[[int, int, int], None] | None, data: str) -> int:
    from designer.core.batch import ScoredWriter

    offset = 0
    with _output(output) as local, ScoredWriter(local) as out:
        results = cluster.results(tasks)
        for k in range(len(tasks)):
            try:
                part = next(results)
            except Exception as e:
                _locate(e, ddf, k, offset, model, options, data)
                raise
            if len(part):
                name = part.columns[0]  # source_row (the partition's own row numbers, from 1)
                part[name] = part[name] + offset
                out.write(part)
                offset += len(part)
            if progress:
                progress(len(part), k + 1, len(tasks))
    return out.rows


def _locate(error: Exception, ddf: Any, k: int, offset: int, model: "TrainedModel", options: DaskOptions,
            data: str) -> None:
    """A partition from `k` on failed on a worker, which numbers rows from its partition's start: redo them
    here in order with the rows numbered in the whole input, so the error names the right row (raises it;
    returns if it cannot)."""
    from designer.core.batch import conform, first_bad_number, score_frame

    for j in range(k, ddf.npartitions):
        try:
            raw = ddf.partitions[j].compute(scheduler="synchronous")
        except ValueError:  # a numeric column holds text (read as float64): find it in a local CSV
            if not _is_parquet(data) and os.path.isfile(data):
                found = first_bad_number(data, model.input_schema, 0, {"file": data})
                if found is not None:
                    raise found from None
            return
        raw.index = raw.index + offset
        if len(raw):
            score_frame(model, conform(raw, model.input_schema), options.with_features)
        offset += len(raw)


class _output:
    """A local path to write to: `path` itself, or a temporary file uploaded to a remote fsspec path at the end."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._tmp: str | None = None

    def __enter__(self) -> str:
        import fsspec

        fs, _ = fsspec.core.url_to_fs(self.path)
        if getattr(fs, "protocol", None) in ("file", ("file", "local")) or "://" not in self.path:
            return self.path.removeprefix("file://")
        import tempfile

        self._tmp = tempfile.mkdtemp(prefix="pd-score-")
        return os.path.join(self._tmp, Path(self.path).name)

    def __exit__(self, kind: Any, *_: Any) -> None:
        if self._tmp is None:
            return
        import shutil

        import fsspec

        try:
            if kind is None:
                fs, remote = fsspec.core.url_to_fs(self.path)
                fs.put(os.path.join(self._tmp, Path(self.path).name), remote)
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)
