"""`pipeline-designer data ...` (versioned data sets) and `pipeline-designer connections ...` (named database
connections in the user's config). Heavy imports happen inside the commands."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

EXIT_OK = 0


def _dump(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _open(args: argparse.Namespace, create: bool = False) -> Any:
    """`--store`, else $PIPELINE_DESIGNER_STORE, else the nearest `.pipeline-designer`; `create` makes one in
    the current folder (or at the path named) when there is none."""
    from designer.core.store import ENV_STORE, STORE_DIR, RunStore, StoreError, find_store, store_file

    try:
        return RunStore.open(find_store(args.store), create=False)
    except StoreError:
        if not create:
            raise
    return RunStore.open(store_file(args.store or os.environ.get(ENV_STORE) or Path.cwd() / STORE_DIR))


def _progress(enabled: bool) -> Any:
    def show(fraction: float, message: str = "") -> None:
        if enabled:
            sys.stderr.write(f"\r\033[K{fraction * 100:3.0f}% {message}")
            sys.stderr.flush()
    return show


def _when(iso: str | None) -> str:
    from designer.core.store import local_time

    return local_time(iso, "-")


def _describe(d: Any) -> str:
    how = "reference to" if d.storage == "reference" else "copy of"
    return f"{d.ref}  {d.rows:,} rows x {d.columns} columns  ({how} {d.source})"


# ---------------------------------------------------------------------------------------------- data


def cmd_register(args: argparse.Namespace) -> int:
    from designer.core import datasets as ds

    if bool(args.source) == bool(args.query or args.table):
        from designer.core.errors import BadInput

        raise BadInput("give either a FILE|FOLDER to register, or --query/--table with --connection")
    show = _progress(sys.stderr.isatty() and not args.json)
    with _open(args, create=True) as store:
        if args.source:
            options = ds.csv_options(args.delimiter, args.encoding)
            record = ds.register_path(store, args.source, args.name, description=args.description or "",
                                      reference=args.reference, options=options, progress=show)
        else:
            from designer.core.database_source import register_query

            record = register_query(store, args.name, connection=args.connection, query=args.query,
                                    table=args.table, description=args.description or "", base_dir=Path.cwd())
    if sys.stderr.isatty() and not args.json:
        sys.stderr.write("\r\033[K")
    if args.json:
        _dump({**record.to_json(profile=False), "new": record.new})
    else:
        print(f"{'registered' if record.new else 'already registered as'} {_describe(record)}")
        print(f"  sha256 {record.sha256}  in {store.path}")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    with _open(args) as store:
        records = store.list_datasets(args.name)
    if args.json:
        _dump([d.to_json(profile=False) for d in records])
        return EXIT_OK
    if not records:
        print(f"no data sets registered in {store.path}")
        return EXIT_OK
    print(f"{'DATA SET':<28}  {'ROWS':>10}  {'COLS':>4}  {'STORED':<9}  {'REGISTERED':<19}  DESCRIPTION")
    for d in records:
        print(f"{d.ref:<28}  {d.rows:>10,}  {d.columns:>4}  {d.storage:<9}  {_when(d.created_at):<19}  "
              f"{d.description[:40]}")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from designer.core.profile import format_stat

    with _open(args) as store:
        d = store.get_dataset(args.dataset)
        usage = store.dataset_usage(d.name, d.version)
    if args.json:
        _dump({**d.to_json(), "usage": usage})
        return EXIT_OK
    print(f"data set   {_describe(d)}")
    print(f"sha256     {d.sha256}")
    if d.object:
        print(f"snapshot   {d.object}")
    print(f"registered {_when(d.created_at)}{' by ' + d.created_by if d.created_by else ''}")
    if d.description:
        print(f"about      {d.description}")
    seen = d.profile[0].get("rows", d.rows) if d.profile else d.rows
    print("columns" + (f" (profile of {seen:,} evenly spaced rows)" if seen < d.rows else ""))
    for c, p in zip(d.schema, d.profile):
        if c["kind"] == "numeric":
            summary = (f"mean {format_stat(p.get('mean'))}  sd {format_stat(p.get('std'))}  "
                       f"min {format_stat(p.get('min'))}  median {format_stat(p.get('q50'))}  "
                       f"max {format_stat(p.get('max'))}")
        else:
            tops = ", ".join(f"{k} {n / p['count']:.0%}" for k, n in (p.get("top_values") or [])[:4]) if p.get(
                "count") else ""
            summary = f"{p.get('unique')} distinct{': ' + tops if tops else ''}"
        missing = f"{p['missing'] / p['rows']:.1%} missing" if p.get("rows") else ""
        print(f"  {c['name']:<24} {c['kind']:<11} {missing:<14} {summary}")
    print("used by")
    if not usage["runs"]:
        print("  - (no recorded run has read this version)")
    for r in usage["runs"]:
        print(f"  run {r['id']}  {r['status']:<10} {_when(r['started_at'])}  {r['pipeline']}")
    for m in usage["models"]:
        print(f"  model {m['ref']}  (run {m['run']}, node {m['node']})")
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from designer.cli_monitor import thresholds_of
    from designer.core.dataset_diff import diff_text, diff_versions

    thresholds = thresholds_of(args)
    with _open(args) as store:
        a, b = store.get_dataset(args.a), store.get_dataset(args.b)
    show = sys.stderr.isatty() and not args.json
    c = diff_versions(a, b, thresholds, progress=_progress(show))
    if show:
        sys.stderr.write("\r\033[K")
    if args.json:
        _dump(c)
    else:
        print(diff_text(c))
    return EXIT_OK


def cmd_get(args: argparse.Namespace) -> int:
    from designer.core.datasets import export_version

    with _open(args) as store:
        d = store.get_dataset(args.dataset)
    out = export_version(d, args.output)
    print(f"wrote {d.ref} ({d.rows:,} rows x {d.columns} columns) to {out}")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------- connections


def cmd_connections_list(args: argparse.Namespace) -> int:
    from designer.core.config import connections, redact_url

    conns = {name: redact_url(url) for name, url in connections().items()}
    if args.json:
        _dump(conns)
        return EXIT_OK
    if not conns:
        print("no named connections (add one with `pipeline-designer connections add NAME URL`)")
    for name, url in conns.items():
        print(f"{name:<20} {url}")
    return EXIT_OK


def cmd_connections_add(args: argparse.Namespace) -> int:
    from designer.core.config import redact_url, set_connection

    url = args.url if args.url != "-" else sys.stdin.readline().strip()
    path = set_connection(args.name, url)
    print(f"saved connection '{args.name}' ({redact_url(url)}) in {path}")
    return EXIT_OK


def cmd_connections_remove(args: argparse.Namespace) -> int:
    from designer.core.config import set_connection

    path = set_connection(args.name, None)
    print(f"removed connection '{args.name}' from {path}")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------- parsers


def add_data_commands(sub: Any) -> None:
    """Register `data` and `connections` on the main parser's subparsers."""
    from designer.cli_monitor import add_threshold_options

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", metavar="PATH",
                        help="run store folder or .sqlite file (default: $PIPELINE_DESIGNER_STORE, else the "
                             ".pipeline-designer folder of this folder or its nearest parent)")
    common.add_argument("--json", action="store_true", help="machine-readable output")
    data = sub.add_parser("data", help="versioned data sets: register, list, show, diff, get",
                          description="Data sets are named, numbered, immutable versions of tables kept in the run "
                                      "store (NAME:1, NAME:2, ...). Load them in a pipeline with Load Data Set.",
                          epilog="Exit status: 0 success, 2 bad input or unusable store.")
    dsub = data.add_subparsers(dest="data_command", metavar="COMMAND", required=True)
    p = dsub.add_parser("register", parents=[common], help="register a file, folder or query result as NAME:N",
                        description="Snapshot a CSV/Parquet file, a folder of them (rows concatenated in file-name "
                                    "order) or a database query result as the next version of NAME. The same "
                                    "content is stored once; registering the latest content again is a no-op.")
    p.add_argument("source", nargs="?", metavar="FILE|FOLDER", help="CSV or Parquet file, or a folder of them")
    p.add_argument("--name", required=True, help="data set name (letters, digits, '_', '.', '-')")
    p.add_argument("--description", help="free text kept with the version")
    p.add_argument("--reference", action="store_true",
                   help="keep only the file's path and SHA-256 (no copy); every load checks the file is unchanged")
    p.add_argument("--delimiter", default=",", help="CSV field separator (default ',')")
    p.add_argument("--encoding", default="utf-8", help="CSV text encoding (default utf-8)")
    p.add_argument("--query", help="register the result of this SQL query (with --connection)")
    p.add_argument("--table", help="register a whole database table (with --connection)")
    p.add_argument("--connection", help="env:VARIABLE holding a database URL, a named connection "
                                        "(`pipeline-designer connections`), or a URL without a password")
    p.set_defaults(func=cmd_register)
    p = dsub.add_parser("list", parents=[common], help="registered data sets and their versions")
    p.add_argument("name", nargs="?", help="only this data set's versions")
    p.set_defaults(func=cmd_list)
    p = dsub.add_parser("show", parents=[common],
                        help="schema, profile summary and every run and model that used NAME[:VERSION]")
    p.add_argument("dataset", metavar="NAME[:VERSION]", help="latest version when VERSION is omitted")
    p.set_defaults(func=cmd_show)
    p = dsub.add_parser("diff", parents=[common], help="schema, row count and distribution changes between versions",
                        description="Schema changes and row counts from the records; per column, the second "
                                    "version's rows against the first's with the drift statistics of `drift`: "
                                    "drift = effect >= --effect AND Bonferroni-adjusted p < --p, with at least "
                                    "--min-rows rows. Large versions are compared on evenly spaced rows (as many as "
                                    "a drift reference holds); the same content is recognised without reading data.")
    p.add_argument("a", metavar="NAME:VERSION")
    p.add_argument("b", metavar="NAME:VERSION")
    add_threshold_options(p)
    p.set_defaults(func=cmd_diff)
    p = dsub.add_parser("get", parents=[common], help="write a version to a CSV or Parquet file")
    p.add_argument("dataset", metavar="NAME[:VERSION]")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="a .csv or .parquet file")
    p.set_defaults(func=cmd_get)

    conn = sub.add_parser("connections", help="named database connections kept in your user config (not in pipelines)",
                          description="A pipeline's Load from Database names a connection; the URL (with its "
                                      "password) stays in your config file, outside any repository.")
    csub = conn.add_subparsers(dest="connections_command", metavar="COMMAND", required=True)
    p = csub.add_parser("list", help="named connections (passwords hidden)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_connections_list)
    p = csub.add_parser("add", help="save (or replace) a named connection")
    p.add_argument("name", help="connection name")
    p.add_argument("url", help="SQLAlchemy URL, e.g. postgresql+psycopg://user:pw@host/db ('-' reads it from stdin)")
    p.set_defaults(func=cmd_connections_add)
    p = csub.add_parser("remove", help="forget a named connection")
    p.add_argument("name")
    p.set_defaults(func=cmd_connections_remove)
