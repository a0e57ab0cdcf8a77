"""`pipeline-designer serve` (a local scoring endpoint) and `pipeline-designer endpoints list|stop`.

`serve` keeps OpenMP and BLAS to one thread (set before numpy loads: with two, one-row latency has a tail
of seconds on a small machine), loads the bundle once through the verified loader, runs a self-test, and
answers until Ctrl-C or SIGTERM, then finishes the requests it is answering and writes what it captured.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
ENV_TOKEN = "PIPELINE_DESIGNER_TOKEN"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _say(text: str) -> None:
    print(text, flush=True)


def _warn(message: str) -> None:
    print(f"pipeline-designer: warning: {message}", file=sys.stderr, flush=True)


def served_model(ref: str, store_option: str | None) -> tuple[Path, str, str, Path | None]:
    """(bundle, name, version, store folder) of a registered model NAME[:VERSION] or a bundle file.

    A bundle file is named by its file name and `bundle-<first 12 hex of its SHA-256>`; its store folder is
    the run store in use (`--store`, the environment, the nearest `.pipeline-designer/`), else None."""
    from designer.cli_store import resolve_bundle
    from designer.core.digest import file_sha256
    from designer.core.store import StoreError, find_store

    bundle, registered = resolve_bundle(ref, store_option)
    try:
        store: Path | None = find_store(store_option).parent
    except StoreError:
        store = None
    if registered:
        name, _, version = registered.partition(":")
        return bundle, name, version, store
    if not Path(bundle).is_file():
        return bundle, "", "", store
    name = Path(bundle).name.removesuffix(".bundle.zip").removesuffix(".zip")
    return bundle, name, f"bundle-{file_sha256(bundle)[:12]}", store


def capture_writer(model: Any, store: Path | None, name: str, version: str, max_mb: float | None) -> Any:
    """The writer of `--capture`: Parquet partitions under the run store (`.pipeline-designer/` here when
    there is none yet)."""
    from designer.core.serve.capture import CaptureWriter, capture_folder, output_columns

    folder = capture_folder(store or Path(".pipeline-designer").resolve(), name, version)
    return CaptureWriter(folder, list(model.input_schema.columns), output_columns(model),
                         max_bytes=None if max_mb is None else int(max_mb * 1e6), warn=_warn)


def _example_curl(url: str, rows: list[dict[str, Any]], names: list[str], token: bool) -> str:
    body = json.dumps({"dataframe_split": {"columns": names, "data": [[rows[0][n] for n in names]]}})
    auth = f' -H "Authorization: Bearer ${ENV_TOKEN}"' if token else ""
    return f"curl -s {url}/invocations -H 'Content-Type: application/json'{auth} -d {shlex.quote(body)}"


def cmd_serve(args: argparse.Namespace) -> int:
    for var in THREAD_VARS:  # before numpy, scikit-learn and their thread pools load
        os.environ[var] = "1"
    from designer.core.errors import BadInput
    from designer.core.serve.server import is_loopback

    token = args.token or os.environ.get(ENV_TOKEN) or None
    if not is_loopback(args.host) and not token:
        raise BadInput(f"serving on {args.host} (not the loopback) needs a bearer token: pass --token or set "
                       f"{ENV_TOKEN}")
    if token is not None and len(token) < 16:
        raise BadInput("the token must be at least 16 characters long", param="token")
    if not 0 < args.capture_sample <= 1:
        raise BadInput("--capture-sample must be a rate in (0, 1]", param="capture-sample")
    if args.max_rows < 1 or args.max_body_mb <= 0:
        raise BadInput("--max-rows and --max-body-mb must be positive")
    started = time.time()
    from designer.core.bundle import load_bundle
    from designer.core.serve import endpoints
    from designer.core.serve.scorer import Scorer
    from designer.core.serve.server import Endpoint, Options, Server

    try:  # the port first: a busy one is reported before the model is loaded
        server = Server((args.host, args.port), None, args.max_connections)
    except OSError as e:
        raise BadInput(f"cannot listen on {args.host}:{args.port}: {e.strerror or e}", param="port") from None
    try:
        bundle, name, version, store = served_model(args.model, args.store)
        model, manifest, warnings = load_bundle(bundle)
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        scorer = Scorer.of(model, redact=args.redact_errors, compiled=not args.no_compiled)
        sample = scorer.self_test(model.reference)
    except BaseException:
        server.server_close()
        raise
    capture = capture_writer(model, store, name, version, args.capture_max_mb) if args.capture else None
    options = Options(name=name, version=version, token=token, max_body=int(args.max_body_mb * (1 << 20)),
                      max_rows=args.max_rows, capture=capture, capture_sample=args.capture_sample,
                      idle_timeout=args.idle_timeout, max_connections=args.max_connections, quiet=not args.log)
    endpoint = Endpoint(scorer, options, manifest)
    server.endpoint = endpoint
    url = server.url
    endpoints.register({"url": url, "model": f"{name}:{version}", "bundle": str(Path(bundle).resolve()),
                        "started": started, "token_required": bool(token),
                        "capture": str(capture.folder) if capture else None})
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="serve",
                              daemon=True)
    thread.start()
    ready = time.time() - started
    if args.json:
        _say(json.dumps({"event": "ready", "url": url, "model": f"{name}:{version}", "pid": os.getpid(),
                         "path": scorer.path, "seconds": round(ready, 3),
                         "capture": str(capture.folder) if capture else None}))
    else:
        _print_banner(url, name, version, scorer, sample, bool(token), capture, ready)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        thread.join(5)
        for s, handler in previous.items():
            signal.signal(s, handler)
        if capture is not None:
            capture.close()
        endpoints.unregister()
    stats = endpoint.stats.to_json()
    line = f"stopped: {stats['requests']} requests, {stats['rows']} rows scored"
    if capture is not None:
        c = capture.counts()
        line += f"; captured {c['written']} rows" + (f" ({c['dropped']} dropped, {c['failed']} failed)"
                                                      if c["dropped"] or c["failed"] else "")
    print(line if not args.json else json.dumps({"event": "stopped", **stats, "capture": capture.counts()
                                                 if capture else None}), flush=True)
    return EXIT_OK


def _print_banner(url: str, name: str, version: str, scorer: Any, sample: list[dict[str, Any]], token: bool,
                  capture: Any, seconds: float) -> None:
    c = scorer.contract
    _say(f"serving {name}:{version} at {url}  (ready in {seconds:.2f}s; {scorer.path})")
    _say(f"  POST {url}/invocations    MLflow scoring protocol (dataframe_split, dataframe_records, text/csv)")
    _say(f"  POST {url}/v2/models/{name}/versions/{version}/infer    Open Inference Protocol V2")
    _say(f"  GET  {url}/schema   GET {url}/   (try-it page)   GET {url}/stats")
    _say("input columns (one raw row; the label, if sent, is ignored):")
    for r in c.rules:
        extra = ""
        if r.categories is not None and not c.redact:
            shown = ", ".join(map(str, r.categories[:8])) + (" …" if len(r.categories) > 8 else "")
            extra = f"  one of: {shown}"
        _say(f"  {r.name:<24} {r.kind:<12} {'null allowed' if r.nullable else 'required':<13}{extra}")
    if token:
        _say(f"a bearer token is required (the curl line reads it from ${ENV_TOKEN})")
    if capture is not None:
        _say(f"capturing to {capture.folder}")
    _say("try:")
    _say("  " + _example_curl(url, sample, c.names, token))
    _say("Ctrl-C stops.")


# ---------------------------------------------------------------------------------------------- endpoints


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


def cmd_endpoints_list(args: argparse.Namespace) -> int:
    from designer.core.serve.endpoints import list_endpoints

    entries = list_endpoints()
    if args.json:
        print(json.dumps(entries, indent=2))
        return EXIT_OK
    if not entries:
        print("no endpoints running")
        return EXIT_OK
    print(f"{'PID':>7}  {'URL':<28}  {'MODEL':<32}  {'UP':>6}  CAPTURE")
    for e in entries:
        print(f"{e['pid']:>7}  {e.get('url', ''):<28}  {e.get('model', ''):<32}  "
              f"{_age(time.time() - e.get('started', time.time())):>6}  {e.get('capture') or '-'}")
    return EXIT_OK


def cmd_endpoints_stop(args: argparse.Namespace) -> int:
    from designer.core.errors import BadInput
    from designer.core.serve.endpoints import list_endpoints, stop

    entries = list_endpoints()
    if args.which == "all":
        chosen = entries
    else:
        chosen = [e for e in entries if args.which in (str(e["pid"]), e.get("url"), e.get("model"))]
        if not chosen:
            have = ", ".join(f"{e['pid']} ({e.get('url')})" for e in entries) or "none running"
            raise BadInput(f"no running endpoint '{args.which}' (endpoints: {have})")
    failed = 0
    for e in chosen:
        if stop(e, timeout=args.timeout):
            print(f"stopped {e['pid']} ({e.get('url')}, {e.get('model')})")
        else:
            failed += 1
            print(f"pipeline-designer: error: endpoint {e['pid']} did not stop within {args.timeout:g}s",
                  file=sys.stderr)
    if not chosen:
        print("no endpoints running")
    return EXIT_FAILED if failed else EXIT_OK


def add_serve_commands(sub: Any) -> None:
    """Register `serve` and `endpoints` on the main parser's subparsers."""
    p = sub.add_parser(
        "serve", help="serve a trained model as a local HTTP endpoint (MLflow /invocations, Open Inference V2)",
        description="Serve NAME[:VERSION] (a registered model) or a .bundle.zip on 127.0.0.1. Every answer equals "
                    "`pipeline-designer score` on the same rows, bit for bit. Binding another address needs a "
                    f"bearer token (--token or ${ENV_TOKEN}; prefer the variable: a flag shows in the process list).",
        epilog="Exit status: 0 stopped cleanly, 1 failed, 2 bad input (an unusable bundle, a busy port).")
    p.add_argument("model", metavar="NAME[:VERSION]|BUNDLE", help="registered model or bundle file")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=5000, help="port (default 5000; 0 picks a free one and prints it)")
    p.add_argument("--token", help=f"bearer token clients must send (also ${ENV_TOKEN}); required off loopback")
    p.add_argument("--max-body-mb", type=float, default=10.0, metavar="MB", help="largest request body (default 10)")
    p.add_argument("--max-rows", type=int, default=10_000, metavar="N", help="most rows per request (default 10000)")
    p.add_argument("--redact-errors", action="store_true",
                   help="leave received values and category lists out of error messages and /schema")
    p.add_argument("--capture", action="store_true",
                   help="keep what is received and answered as Parquet under the run store (captures/)")
    p.add_argument("--capture-sample", type=float, default=1.0, metavar="RATE",
                   help="capture this fraction of requests (default 1)")
    p.add_argument("--capture-max-mb", type=float, metavar="MB",
                   help="stop capturing when the model version's captures reach this size")
    p.add_argument("--store", metavar="PATH", help="run store holding registered models and captures (default: "
                   "$PIPELINE_DESIGNER_STORE, else .pipeline-designer/ of this folder or its nearest parent)")
    p.add_argument("--no-compiled", action="store_true",
                   help="always score through the full pandas path (the compiled row path takes up to 4,096 rows)")
    p.add_argument("--idle-timeout", type=float, default=30.0, metavar="S",
                   help="close a keep-alive connection idle this long (default 30)")
    p.add_argument("--max-connections", type=int, default=64, metavar="N",
                   help="open connections at most; more get 503 (default 64)")
    p.add_argument("--log", action="store_true", help="log every request on stderr")
    p.add_argument("--json", action="store_true", help="one JSON line when ready (url, pid) and one when stopped")
    p.set_defaults(func=cmd_serve)

    e = sub.add_parser("endpoints", help="running `serve` endpoints: list, stop",
                       epilog="Exit status: 0 success, 1 an endpoint did not stop, 2 bad input.")
    esub = e.add_subparsers(dest="endpoints_command", metavar="COMMAND", required=True)
    p = esub.add_parser("list", help="running endpoints (pid, url, model, uptime, capture folder)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_endpoints_list)
    p = esub.add_parser("stop", help="stop an endpoint (SIGTERM; it finishes the requests it is answering)")
    p.add_argument("which", metavar="PID|URL|MODEL|all", help="which endpoint(s)")
    p.add_argument("--timeout", type=float, default=15.0, metavar="S", help="how long to wait (default 15)")
    p.set_defaults(func=cmd_endpoints_stop)
