"""`pipeline-designer score`: new raw rows of any size scored with a trained bundle or a registered model.

The file is read in chunks with the types of the model's input schema and every chunk is scored by
`TrainedModel.score`, so memory stays flat however large the file is; `--jobs N` scores N chunks at once,
`--engine dask` hands the chunks to Dask (threads, a local cluster or an existing one). Every way gives the
same rows, in input order, with `source_row` the row's number in the whole input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import deque
from typing import Any, Iterable, Iterator

EXIT_OK = 0


class ScoreProgress:
    """`scored 1,200,000 rows (45%)` on a terminal (stderr), at most a few times a second; silent otherwise."""

    def __init__(self, name: str, enabled: bool) -> None:
        self.name, self.enabled = name, enabled
        self.rows, self.fraction, self._shown = 0, 0.0, 0.0

    def read(self, done: int, total: int) -> None:
        self.fraction = done / total if total else 1.0

    def scored(self, rows: int) -> None:
        self.rows += rows
        now = time.monotonic()
        if self.enabled and now - self._shown > 0.25:
            self._shown = now
            sys.stderr.write(f"\r\033[Kscoring {self.name}: {self.rows:,} rows ({self.fraction:.0%})")
            sys.stderr.flush()

    def partition(self, rows: int, done: int, total: int) -> None:
        self.read(done, total)
        self.scored(rows)

    def done(self) -> None:
        if self.enabled and self._shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _warn(message: str) -> None:
    print(f"pipeline-designer: warning: {message}", file=sys.stderr)


def cmd_score(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from designer.cli_store import resolve_bundle
    from designer.core.bundle import load_bundle
    from designer.core.errors import BadInput

    received, started = time.time(), time.perf_counter()
    if args.chunk_rows < 0:
        raise BadInput(f"--chunk-rows must be 0 (the whole file at once) or more, not {args.chunk_rows}")
    if args.jobs < 1:
        raise BadInput(f"--jobs must be 1 or more, not {args.jobs}")
    if args.capture and args.engine == "dask":
        raise BadInput("--capture keeps the rows on this machine; it works with the pandas engine, not --engine dask")
    bundle, registered = resolve_bundle(args.bundle, args.store)  # a bundle path or NAME[:VERSION]
    model, manifest, warnings = load_bundle(bundle)
    for w in warnings:
        _warn(f"{bundle}: {w}")
    progress = ScoreProgress(args.data, sys.stderr.isatty() and not args.json)
    capture = ScoreCapture(args, model, received, started) if args.capture else None
    try:
        if args.engine == "dask":
            from designer.core.dask_score import DaskOptions, score_with_dask

            options = DaskOptions(scheduler=args.scheduler, chunk_rows=args.chunk_rows or None,
                                  with_features=args.with_features)
            rows = score_with_dask(bundle, model, args.data, args.output, options, progress=progress.partition)
        else:
            rows = score_file(model, args.data, args.output, chunk_rows=args.chunk_rows, jobs=args.jobs,
                              with_features=args.with_features, progress=progress, capture=capture)
    except BadInput as e:  # a column or value of the data file: name the file too
        raise BadInput(e.message, replace(e.location, file=e.location.file or args.data)) from None
    finally:
        progress.done()
        if capture is not None:
            capture.close()
    if args.json:
        print(json.dumps({"rows": rows, "output": args.output, "task": model.task, "model": registered}))
    else:
        print(f"scored {rows} rows with {registered + ': ' if registered else ''}"
              f"{manifest['pipeline']['name']} / {model.node_id} ({model.task}); wrote {args.output}")
    return EXIT_OK


class ScoreCapture:
    """`score --capture`: the file's rows and predictions as one capture request (one request id), written
    chunk by chunk as the chunks are scored, each row numbered in the whole file. A chunk the model refuses
    is captured with status 422 and the message (as `serve` captures a refused request). A chunk's latency is
    the time since the previous chunk was captured (the whole file's when it is read at once)."""

    def __init__(self, args: argparse.Namespace, model: Any, received: float, started: float) -> None:
        import uuid

        from designer.cli_serve import capture_writer, served_model

        _, name, version, store = served_model(args.bundle, args.store)
        self.writer = capture_writer(model, store, name, version, args.capture_max_mb)
        self.request_id = uuid.uuid4().hex
        self.received, self.last = received, started

    def chunk(self, frame: Any, outputs: Any, status: int = 200, error: str | None = None) -> None:
        from designer.core.serve.capture import frame_table

        now = time.perf_counter()
        first = int(frame.index[0]) + 1 if len(frame) else 1
        table = frame_table(self.writer, frame, outputs, request_id=self.request_id, received=self.received,
                            latency_ms=(now - self.last) * 1000.0, status=status, error=error, first_row=first)
        self.writer.write_table(table, self.received)
        self.last = now

    def close(self) -> None:
        self.writer.close()
        if self.writer.written:
            print(f"captured {self.writer.written} row{'s' * (self.writer.written != 1)} in {self.writer.folder}",
                  file=sys.stderr)


class _InFlight:
    """The raw chunks handed to scoring and not yet written, in input order (what `--capture` records)."""

    def __init__(self, chunks: Iterable[Any]) -> None:
        self.chunks, self.queue, self.read_failed = chunks, deque[Any](), False

    def __iter__(self) -> Iterator[Any]:
        from designer.core.errors import BadInput

        it = iter(self.chunks)
        while True:
            try:
                chunk = next(it)
            except StopIteration:
                return
            except BadInput:
                self.read_failed = True  # an unreadable file is not captured (nothing was scored)
                raise
            self.queue.append(chunk)
            yield chunk


def score_file(model: Any, data: str, output: str, *, chunk_rows: int, jobs: int = 1, with_features: bool = False,
               progress: ScoreProgress | None = None, capture: ScoreCapture | None = None) -> int:
    """Score `data` chunk by chunk into `output` (atomically); returns the number of rows."""
    from designer.core.batch import ScoredWriter, find_data, read_chunks, score_chunks
    from designer.core.errors import BadInput

    files = find_data(data)
    chunks: Iterable[Any] = read_chunks(files, model.input_schema, chunk_rows, progress.read if progress else None)
    flight = _InFlight(chunks) if capture is not None else None
    scored = score_chunks(model, flight if flight is not None else chunks, jobs, with_features)
    try:
        with ScoredWriter(output) as out:
            for frame in scored:
                out.write(frame)
                if capture is not None and flight is not None:
                    capture.chunk(flight.queue.popleft(), frame)
                if progress:
                    progress.scored(len(frame))
    except BadInput as e:
        if capture is not None and flight is not None and flight.queue and not flight.read_failed:
            capture.chunk(flight.queue.popleft(), None, 422, e.message)
        raise
    finally:
        scored.close()  # stops the threads at once on an error or Ctrl-C
    return out.rows


def add_score_commands(sub: Any) -> None:
    from designer.core.batch import DEFAULT_CHUNK_ROWS

    p = sub.add_parser("score", help="score new raw data (any size) with a trained bundle or a registered model",
                       description="Score new raw rows with exactly the cleaning the training rows went through. "
                                   "The data is read in chunks (types from the model's input schema), so files "
                                   "larger than memory work; the output keeps the input order.")
    p.add_argument("bundle", metavar="BUNDLE|NAME[:VERSION]",
                   help="a .bundle.zip written by `run`, or a registered model (latest version without :VERSION)")
    p.add_argument("data", help="CSV or Parquet file, or a folder or glob of Parquet files, with raw rows "
                   "(with --engine dask: any path fsspec understands)")
    p.add_argument("-o", "--output", required=True, help="where to write: .parquet for Parquet, else CSV; the rows "
                   "as given (every input column, and 'source_row', the row's number in the input) plus the "
                   "predictions")
    p.add_argument("--with-features", action="store_true",
                   help="also write the features as the model saw them, as 'feature:<name>' columns")
    p.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS, metavar="N",
                   help=f"rows read and scored at a time (default {DEFAULT_CHUNK_ROWS:,}; 0: the whole file at once)")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="score N chunks at once in threads, one OpenMP/BLAS thread each (default 1)")
    p.add_argument("--engine", choices=("pandas", "dask"), default="pandas",
                   help="pandas (default) or dask (needs the 'dask' extra: pip install 'pipeline-designer[dask]')")
    p.add_argument("--scheduler", default="threads", metavar="threads|synchronous|local|tcp://HOST:PORT",
                   help="with --engine dask: threads (default), synchronous, local (a cluster on this machine) or "
                        "the address of a running Dask scheduler")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--store", metavar="PATH", help="run store holding registered models (default: "
                   "$PIPELINE_DESIGNER_STORE, else .pipeline-designer/ of this folder or its nearest parent)")
    p.add_argument("--capture", action="store_true", help="also keep the rows and predictions as a capture "
                   "(Parquet under the run store's captures/, read by `drift` and `capture join`; written chunk "
                   "by chunk)")
    p.add_argument("--capture-max-mb", type=float, metavar="MB",
                   help="do not capture when the model version's captures reach this size")
    p.set_defaults(func=cmd_score, quick_exit=True)
