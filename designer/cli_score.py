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
from typing import Any

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


def cmd_score(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from designer.cli_store import resolve_bundle
    from designer.core.bundle import load_bundle
    from designer.core.errors import BadInput

    if args.chunk_rows < 0:
        raise BadInput(f"--chunk-rows must be 0 (the whole file at once) or more, not {args.chunk_rows}")
    if args.jobs < 1:
        raise BadInput(f"--jobs must be 1 or more, not {args.jobs}")
    bundle, registered = resolve_bundle(args.bundle, args.store)  # a bundle path or NAME[:VERSION]
    model, manifest = load_bundle(bundle)
    progress = ScoreProgress(args.data, sys.stderr.isatty() and not args.json)
    try:
        if args.engine == "dask":
            from designer.core.dask_score import DaskOptions, score_with_dask

            options = DaskOptions(scheduler=args.scheduler, chunk_rows=args.chunk_rows or None,
                                  with_features=args.with_features)
            rows = score_with_dask(bundle, model, args.data, args.output, options, progress=progress.partition)
        else:
            rows = score_file(model, args.data, args.output, chunk_rows=args.chunk_rows, jobs=args.jobs,
                              with_features=args.with_features, progress=progress)
    except BadInput as e:  # a column or value of the data file: name the file too
        raise BadInput(e.message, replace(e.location, file=e.location.file or args.data)) from None
    finally:
        progress.done()
    if args.json:
        print(json.dumps({"rows": rows, "output": args.output, "task": model.task, "model": registered}))
    else:
        print(f"scored {rows} rows with {registered + ': ' if registered else ''}"
              f"{manifest['pipeline']['name']} / {model.node_id} ({model.task}); wrote {args.output}")
    return EXIT_OK


def score_file(model: Any, data: str, output: str, *, chunk_rows: int, jobs: int = 1, with_features: bool = False,
               progress: ScoreProgress | None = None) -> int:
    """Score `data` chunk by chunk into `output` (atomically); returns the number of rows."""
    from designer.core.batch import ScoredWriter, find_data, read_chunks, score_chunks

    files = find_data(data)
    chunks = read_chunks(files, model.input_schema, chunk_rows, progress.read if progress else None)
    scored = score_chunks(model, chunks, jobs, with_features)
    try:
        with ScoredWriter(output) as out:
            for frame in scored:
                out.write(frame)
                if progress:
                    progress.scored(len(frame))
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
    p.set_defaults(func=cmd_score)
