"""`pipeline-designer`: the headless runner and the desktop app's launcher.

Exit status: 0 success, 1 failed run, 2 bad input. Heavy libraries are imported only by the commands
that need them, so `--help` is instant.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator, NoReturn, Sequence

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _err(message: str) -> None:
    print(f"pipeline-designer: error: {message}", file=sys.stderr)


def _warn(message: str) -> None:
    print(f"pipeline-designer: warning: {message}", file=sys.stderr)


@contextlib.contextmanager
def ctrl_c_cancels(token: Any) -> Iterator[None]:
    """While inside: the first Ctrl-C cancels the run (the running node stops within a second, files stay
    whole), a second one ends the process at once."""

    def on_sigint(*_: Any) -> None:
        if token():
            print("\npipeline-designer: stopped at once", file=sys.stderr, flush=True)
            os._exit(130)
        token.cancel()
        print("\npipeline-designer: stopping… (Ctrl-C again to quit at once)", file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Progress:
    """Progress lines on a terminal (stderr); silent when stderr is not a terminal."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.done = total, enabled, 0
        self.start: dict[str, float] = {}

    def __call__(self, event: Any) -> None:
        if not self.enabled or event.kind == "queued":
            return
        if event.kind == "started":
            self.start[event.node] = time.perf_counter()
            self._line(f"{event.node} …")
        elif event.kind == "progress":
            pct = f"{event.progress * 100:3.0f}%" if event.progress is not None else ""
            self._line(f"{event.node} {pct} {event.message}")
        else:
            self.done += 1
            took = f" {event.seconds:.2f}s" if event.seconds is not None else ""
            extra = f": {event.message}" if event.message else ""
            self._line(f"{event.node} {event.kind}{took}{extra}", end="\n")

    def _line(self, text: str, end: str = "") -> None:
        sys.stderr.write(f"\r\033[K[{self.done}/{self.total}] {text}{end}")
        sys.stderr.flush()


def _load(path: str) -> Any:
    from designer.core.pipeline import load_pipeline

    return load_pipeline(path)


def _print_issues(issues: list[Any]) -> None:
    for issue in issues:
        print(f"  {issue}", file=sys.stderr)


def _format_metrics(metrics: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for node, entries in metrics.items():
        for e in entries:
            lines.append(f"{node} ({e['task']}: {e.get('data') or 'model ' + e['model']}, {e['rows']} rows):")
            for k, v in e["metrics"].items():
                lines.append(f"  {k:<26} {v:.6g}")
    return "\n".join(lines)


def _engine(args: argparse.Namespace) -> Any:
    """The engine of `run`: saving and reusing node results beside the run store (unless --no-cache)."""
    from designer.core.engine import Engine
    from designer.core.result_cache import ResultCache, results_folder
    from designer.core.store import store_for_pipeline

    if args.no_cache:
        return Engine()
    try:
        return Engine(results=ResultCache(results_folder(store_for_pipeline(args.pipeline, args.store))))
    except OSError as e:
        _err(f"saved results: {e}; running without them")
        return Engine()


def cmd_run(args: argparse.Namespace) -> int:
    from designer.cli_store import store_recorder
    from designer.core.engine import CancelToken
    from designer.core.lifecycle import EventCallback, RunSession, run_pipeline
    from designer.core.runner import OutputWriter, apply_overrides

    pipeline = apply_overrides(_load(args.pipeline), args.set or [])
    base = Path(args.pipeline).resolve().parent
    out = Path(args.out) if args.out else Path("out") / Path(args.pipeline).name.removesuffix(".pipeline.json")
    run = RunSession(pipeline, base, upto=args.upto, pipeline_path=Path(args.pipeline), overrides=list(args.set or []),
                     out_dir=out)
    recorder = store_recorder(args, run)  # run store: a problem there is a warning, never a stop
    progress = Progress(len(pipeline.nodes), sys.stderr.isatty() and not args.json)
    token = CancelToken()
    with ctrl_c_cancels(token):
        writer = OutputWriter(out, also=(Path(args.report),) if args.report else (),
                              scored_format=args.scored_format)
        run_pipeline(run, engine=_engine(args), observers=[EventCallback(progress), writer, recorder],
                     cancel=token, reuse=not args.no_cache, keep_outputs=False)
    r = run.result
    assert r is not None
    if args.report:  # the run folder as one HTML page: evaluation plots and profiles
        run.artifacts.append(_write_run_report(out, args.report))
    if args.json:
        from designer.core import jsontext

        print(jsontext.dumps({"ok": r.ok, "cancelled": r.cancelled, "status": r.status, "errors": r.errors,
                              "warnings": r.warnings, "metrics": run.metrics, "run_id": run.run_id,
                              "artifacts": [str(a) for a in run.artifacts]}, indent=2))
    else:
        for node, warnings in r.warnings.items():
            for w in warnings:
                print(f"warning: node '{node}': {w}", file=sys.stderr)
        text = _format_metrics(run.metrics)
        if text:
            print(text)
        for a in run.artifacts:
            print(f"wrote {a}")
        if run.run_id:
            print(f"recorded run {run.run_id} in {recorder.where}")
    for node, msg in r.errors.items():
        _err(f"node '{node}' failed: {msg}")
    if r.cancelled:
        _err("run cancelled")
        return EXIT_FAILED
    if r.errors:
        return EXIT_BAD_INPUT if set(r.errors) <= r.bad_input else EXIT_FAILED
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from designer.core.validate import validate

    pipeline = _load(args.pipeline)
    v = validate(pipeline, Path(args.pipeline).resolve().parent)
    if args.json:
        print(json.dumps({"ok": v.ok, "issues": [i.to_json() for i in v.issues]}, indent=2))
    else:
        for issue in v.issues:  # diagnostics go to stderr, like every other command's
            print(issue, file=sys.stderr)
        if v.ok:
            print(f"ok: {len(pipeline.nodes)} nodes, {len(pipeline.links)} links, "
                  f"{len(v.warnings)} warning{'s' * (len(v.warnings) != 1)}")
    return EXIT_OK if v.ok else EXIT_BAD_INPUT


def read_table(path: str) -> Any:
    """A CSV or Parquet data file for scoring, with the Load CSV defaults and located errors."""
    from designer.core.csv_read import DEFAULT_MISSING, read_csv_frame
    from designer.core.files import regular_file

    p = regular_file(path, "data file")
    if p.suffix.lower() in (".parquet", ".pq"):
        import pandas as pd
        import pyarrow as pa

        from designer.core.errors import BadInput

        try:
            return pd.read_parquet(p)
        except (pa.ArrowInvalid, OSError) as e:
            raise BadInput(f"not a readable Parquet file: {e}", file=str(p)) from None
    return read_csv_frame(str(p), ",", "utf-8", True, DEFAULT_MISSING, {"file": str(p)})


def _with_defaults(cat: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fill in defaults made by a default factory (JSON Schema leaves them out) and mark required params."""
    from pydantic_core import to_jsonable_python

    from designer.core.registry import default_registry

    registry = default_registry()
    for entry in cat:
        fields = registry.require(entry["type"]).Params.model_fields
        for name, spec in entry["params"].items():
            f = fields.get(name)
            if f is None:
                continue
            if f.is_required():
                spec["required"] = True
            elif "default" not in spec:
                spec["default"] = to_jsonable_python(f.get_default(call_default_factory=True))
    return cat


def cmd_profile(args: argparse.Namespace) -> int:
    from designer.core.pipeline import atomic_write_text
    from designer.core.report_html import profile_report

    frame = read_table(args.data)
    atomic_write_text(args.output, profile_report(frame, Path(args.data).name))
    print(f"profiled {len(frame):,} rows x {frame.shape[1]:,} columns of {args.data}; wrote {args.output}")
    return EXIT_OK


def _write_run_report(run_dir: Path, output: str) -> Path:
    from designer.core.pipeline import atomic_write_text
    from designer.core.report_html import RunFolder, run_report

    atomic_write_text(output, run_report(RunFolder.load(run_dir)))
    return Path(output)


def cmd_report(args: argparse.Namespace) -> int:
    print(f"wrote {_write_run_report(Path(args.run_dir), args.output)}")
    return EXIT_OK


def cmd_nodes(args: argparse.Namespace) -> int:
    from designer.core.registry import default_registry

    cat = _with_defaults(default_registry().catalogue())
    if args.json:
        from designer.core import jsontext

        print(jsontext.dumps(cat, indent=2))
        return EXIT_OK
    for entry in cat:
        ins = ", ".join(f"{p['name']}:{p['type']}{'?' if p['optional'] else ''}" for p in entry["inputs"])
        outs = ", ".join(f"{p['name']}:{p['type']}" for p in entry["outputs"])
        print(f"{entry['type']:<30} {entry['title']}  [{entry['category']}]")
        print(f"    in: {ins or '-'}   out: {outs or '-'}")
        for name, spec in entry["params"].items():
            default = spec.get("default", "(required)")
            choices = f" one of {spec['enum']}" if "enum" in spec else ""
            print(f"    {name} = {json.dumps(default, default=str)}{choices}  {spec.get('description', '')}")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from designer.core.pipeline import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


X11_LIBRARIES = ("xcb-cursor", "xkbcommon-x11", "xcb-icccm", "xcb-keysyms")
"""Libraries Qt's X11 platform plugin needs beyond Qt itself (Debian: libxcb-cursor0, libxkbcommon-x11-0, ...)."""


def display_problem(env: dict[str, str] | None = None, find_library: Callable[[str], Any] | None = None) -> str | None:
    """Why the desktop app cannot open a window here (no display, or X11 libraries missing), or None."""
    import ctypes.util

    env = dict(os.environ) if env is None else env
    platform = env.get("QT_QPA_PLATFORM", "")
    if sys.platform != "linux" or platform.split(":")[0] in ("offscreen", "minimal", "vnc", "eglfs", "linuxfb"):
        return None
    wayland = bool(env.get("WAYLAND_DISPLAY")) and platform in ("", "wayland")
    if not env.get("DISPLAY") and not wayland:
        return ("no display to open a window on (neither DISPLAY nor WAYLAND_DISPLAY is set). Run the designer in "
                "a desktop session, or headless commands such as 'pipeline-designer run'; to render without a "
                "screen set QT_QPA_PLATFORM=offscreen.")
    if wayland:
        return None
    find = find_library or ctypes.util.find_library
    missing = [lib for lib in X11_LIBRARIES if not find(lib)]
    if missing:
        return (f"the X11 libraries Qt needs are missing: {', '.join('lib' + m for m in missing)} (on Debian/Ubuntu: "
                "apt-get install libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1; the README lists "
                "them all). Or set QT_QPA_PLATFORM=offscreen to render without a screen.")
    return None


def cmd_open(args: argparse.Namespace) -> int:
    problem = display_problem()
    if problem:
        _err(f"cannot open the desktop app: {problem}")
        return EXIT_FAILED
    try:
        from designer.gui.app import main as gui_main
    except ImportError as e:
        _err(f"the desktop app is not available: {e}")
        return EXIT_FAILED
    return gui_main(getattr(args, "pipeline", None))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipeline-designer",
        description="Design, run and score machine-learning pipelines. Without a command, opens the designer.",
        epilog="Exit status: 0 success, 1 failed run, 2 bad input.")
    parser.add_argument("--no-plugins", action="store_true",
                        help="start without any plugin module (also: PIPELINE_DESIGNER_NO_PLUGINS=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("open", help="open the desktop designer (optionally with a pipeline file)")
    p.add_argument("pipeline", nargs="?", help="a .pipeline.json file")
    p.set_defaults(func=cmd_open)

    p = sub.add_parser("run", help="run a pipeline headless and write outputs, metrics and bundles")
    p.add_argument("pipeline", help="a .pipeline.json file")
    p.add_argument("--set", action="append", metavar="NODE.PARAM=VALUE",
                   help="override a parameter (value parsed as JSON when it can be); repeatable")
    p.add_argument("--out", metavar="DIR", help="output folder (default: out/<pipeline name>)")
    p.add_argument("--upto", metavar="NODE", help="run only what NODE needs")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.add_argument("--store", metavar="PATH", help="record the run in this run store (folder or .sqlite file; "
                   "default: $PIPELINE_DESIGNER_STORE, else .pipeline-designer/ beside the pipeline)")
    p.add_argument("--report", metavar="FILE", help="also write an HTML report (evaluation plots, profiles)")
    p.add_argument("--no-cache", action="store_true",
                   help="run every node; by default a node whose module, parameters, upstream and input file "
                        "contents are unchanged reuses its saved result from an earlier run (kept beside the run "
                        "store, in results/)")
    p.add_argument("--scored-format", choices=("parquet", "csv"), default="parquet",
                   help="file format of the scored tables: <score node>.scored.parquet (default) or .csv")
    p.set_defaults(func=cmd_run, quick_exit=True)

    p = sub.add_parser("validate", help="check a pipeline without running it")
    p.add_argument("pipeline", help="a .pipeline.json file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_validate)

    from designer.cli_score import add_score_commands

    add_score_commands(sub)  # `score`: chunked, parallel or on Dask

    p = sub.add_parser("profile", help="profile a CSV or Parquet file as a self-contained HTML page")
    p.add_argument("data", help="CSV or Parquet file")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write the HTML report")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("report", help="write the HTML report of a run folder (evaluation plots, profiles)")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by `run --out`")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write the HTML report")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("nodes", help="list the module catalogue with parameters and defaults")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_nodes)

    p = sub.add_parser("schema", help="print the JSON Schema of pipeline files")
    p.set_defaults(func=cmd_schema)

    from designer.cli_store import add_store_commands

    add_store_commands(sub)  # `runs` and `models`
    from designer.cli_plugins import add_plugin_commands

    add_plugin_commands(sub)
    from designer.cli_data import add_data_commands

    add_data_commands(sub)  # `data` and `connections`
    __import__("designer.cli_export", fromlist=["x"]).add_export_commands(sub)  # `export`
    from designer.cli_serve import add_serve_commands

    add_serve_commands(sub)  # `serve` and `endpoints`
    from designer.cli_monitor import add_monitor_commands

    add_monitor_commands(sub)  # `drift` and `capture join`
    return parser


def entry() -> None:
    """The `pipeline-designer` command (and `python -m designer`): `main`, then the exit."""
    args = build_parser().parse_args()
    leave(dispatch(args), quickly=getattr(args, "quick_exit", False))


def leave(code: int, quickly: bool) -> NoReturn:
    """Exit with `code`. After `run` and `score`, whose outputs, bundles and run record are written and closed
    by then, the process ends without Python's teardown of every module and object (0.3-0.5 s after a run on a
    million rows): output streams are flushed and other threads finished first, as a normal exit would.
    Not after Dask was used (its clusters shut down in exit handlers), nor for any other command."""
    if not quickly or "dask" in sys.modules:
        sys.exit(code)
    import threading

    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed early (`| head`): nothing more to write
            pass
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command line (in this process: tests call it); the exit code."""
    return dispatch(build_parser().parse_args(argv))


def dispatch(args: argparse.Namespace) -> int:
    func: Callable[[argparse.Namespace], int] = getattr(args, "func", cmd_open)
    if args.no_plugins:
        from designer.core.registry import NodeRegistry, set_default_registry

        set_default_registry(NodeRegistry.from_entry_points(plugins=False))
    try:
        return func(args)
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_FAILED
    except BrokenPipeError:  # stdout was closed early (`pipeline-designer nodes | head`): leave quietly
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        except (OSError, ValueError):
            pass
        return EXIT_FAILED
    except Exception as e:  # sorted below: the user's input (2) or a failure (1); never a bare traceback
        from designer.core.errors import BadInput

        if isinstance(e, BadInput):
            _err(str(e))
            return EXIT_BAD_INPUT
        if os.environ.get("PIPELINE_DESIGNER_DEBUG"):
            raise
        _err(f"{type(e).__name__}: {e} (set PIPELINE_DESIGNER_DEBUG=1 for the traceback)")
        return EXIT_FAILED
    finally:
        if args.no_plugins:
            from designer.core.registry import set_default_registry

            set_default_registry(None)


if __name__ == "__main__":
    entry()
