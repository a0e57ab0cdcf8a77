"""Self-contained HTML reports: a data set's profile, and a run folder's evaluation and profiles.

Plots are embedded as base64 PNG, styles are inline: the file has no external references and opens offline.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from designer.core.errors import BadInput
from designer.core.stream import TableStream

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1f2937;
background:#f8fafc;font-size:14px}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:2px solid #e2e8f0;
padding-bottom:4px}h3{font-size:16px;margin:20px 0 6px}
.muted{color:#64748b}.note{background:#fef3c7;border-left:4px solid #d97706;padding:6px 10px;margin:8px 0}
table{border-collapse:collapse;background:white;margin:8px 0;font-size:13px}
th,td{border:1px solid #e2e8f0;padding:4px 8px;text-align:right;white-space:nowrap}
th{background:#f1f5f9}td.text,th.text{text-align:left}
.scroll{overflow-x:auto}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:12px}
figure{margin:0;background:white;border:1px solid #e2e8f0;border-radius:6px;padding:6px}
figure img{width:100%;height:auto}figcaption{font-size:12px;color:#64748b;text-align:center}
"""

PLOT_DPI = 90


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def png_data_uri(fig: "Figure", dpi: float = PLOT_DPI) -> str:
    from designer.core.plots import figure_bytes

    return "data:image/png;base64," + base64.b64encode(figure_bytes(fig, "png", dpi)).decode("ascii")


def figure_html(fig: "Figure", caption: str) -> str:
    return (f'<figure><img alt="{esc(caption)}" src="{png_data_uri(fig)}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def table_html(headers: list[str], rows: list[list[Any]], text_columns: int = 1) -> str:
    """A plain table; the first `text_columns` columns are left-aligned."""
    def cells(values: list[Any], tag: str) -> str:
        return "".join(f'<{tag}{" class=text" if i < text_columns else ""}>{esc(v)}</{tag}>'
                       for i, v in enumerate(values))

    body = "".join(f"<tr>{cells(r, 'td')}</tr>" for r in rows)
    return f'<div class="scroll"><table><tr>{cells(headers, "th")}</tr>{body}</table></div>'


def page(title: str, body: str) -> str:
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f"<style>{CSS}</style></head><body><main><h1>{esc(title)}</h1>"
            f'<p class="muted">Pipeline Designer report, {stamp}</p>{body}</main></body></html>\n')


# ------------------------------------------------------------------------------------------ profiles
def profile_section(frame: "pd.DataFrame", heading: str, note: str = "") -> str:
    """A data set's size, a statistics table with one row per column, and one plot per column."""
    from designer.core.plots import column_figure
    from designer.core.profile import STAT_NAMES, format_stat, profile_frame

    profiles = profile_frame(frame)
    cells = frame.shape[0] * frame.shape[1]
    missing = sum(p.missing for p in profiles)
    share = f" ({missing / cells:.1%})" if cells else ""
    rows = [[p.name, p.kind, *(format_stat(p.stat(a)) for a, _ in STAT_NAMES)] for p in profiles]
    plots = "".join(figure_html(column_figure(p, 4.6, 2.8), p.name) for p in profiles)
    return (f"<h3>{esc(heading)}</h3>" + (f"<p class=\"note\">{esc(note)}</p>" if note else "")
            + f"<p>{frame.shape[0]:,} rows × {frame.shape[1]:,} columns, {missing:,} missing cells{share}</p>"
            + table_html(["Column", "Kind", *(label for _, label in STAT_NAMES)], rows, 2)
            + f'<div class="grid">{plots}</div>')


def profile_report(frame: "pd.DataFrame", name: str) -> str:
    """The HTML page of `pipeline-designer profile DATA`."""
    return page(f"Profile of {name}", profile_section(frame, name))


# ----------------------------------------------------------------------------------------- run folder
@dataclass
class RunFolder:
    """A folder written by `pipeline-designer run --out DIR`: metrics.json, report.json and the scored tables
    (Parquet, or CSV with `run --scored-format csv` and from older versions)."""

    path: Path
    summary: dict[str, Any]
    report: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> "RunFolder":
        from designer.core.runner import REPORT_FILE

        p = Path(path)
        if not p.is_dir():
            raise BadInput("no such run folder", file=str(p))
        if not (p / "metrics.json").is_file():
            raise BadInput("not a run folder: it has no metrics.json (write one with "
                           "`pipeline-designer run PIPELINE --out DIR`)", file=str(p))
        summary = _read_json(p / "metrics.json")
        report = _read_json(p / REPORT_FILE) if (p / REPORT_FILE).exists() else {}
        return cls(p, summary, report)

    @property
    def name(self) -> str:
        return str(self.report.get("pipeline") or self.summary.get("pipeline") or self.path.name)

    def evaluations(self) -> list[dict[str, Any]]:
        """Evaluate nodes with their entries (with plot data when the run folder has report.json)."""
        if self.report:
            return list(self.report.get("evaluations", []))
        metrics = self.summary.get("metrics", {})
        return [{"node": n, "title": n, "entries": e, "files": {}} for n, e in metrics.items()]

    def scored_frame(self, file: str) -> "pd.DataFrame | None":
        import pandas as pd

        p = self.path / file
        if not p.is_file():
            return None
        import pyarrow as pa

        from designer.core.batch import read_scored

        try:
            return read_scored(p)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, pa.ArrowInvalid, OSError) as e:
            raise BadInput(f"not a readable scored table: {e}", file=str(p)) from None

    def scored_tables(self) -> list[tuple[dict[str, Any], "pd.DataFrame | None"]]:
        return [(s, self.scored_frame(s["file"])) for s in self.report.get("scored", [])]

    def input_tables(self) -> list[tuple[dict[str, Any], "pd.DataFrame | None", str]]:
        """Each input data set, reloaded by its own data node: (record, frame or None, note). The note says
        when the data no longer hashes as it did in the run (known for sources the scored tables came from)."""
        known: dict[str, set[str]] = {}
        for source in self.report.get("sources", []):
            known.setdefault(source["name"], set()).add(source["sha256"])
        out = []
        for record in self.report.get("inputs", []):
            try:
                table = reload_input(record, Path(self.report.get("base_dir", ".")))
            except (BadInput, OSError, ValueError) as e:
                out.append((record, None, f"not available: {e}"))
                continue
            changed = any(s.name in known and s.sha256 not in known[s.name] for s in table.sources)
            notes = ["the data changed since the run"] if changed else []
            if isinstance(table, TableStream):  # read in chunks: profile the first one
                table = table.head()
                notes.append(f"read in chunks: the profile shows the first {len(table.frame):,} rows")
            out.append((record, table.view, "; ".join(notes)))
        return out


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadInput(f"not readable JSON: {e}", file=str(path)) from None
    if not isinstance(data, dict):
        raise BadInput("not a run summary (expected a JSON object)", file=str(path))
    return data


def reload_input(record: dict[str, Any], base_dir: Path) -> Any:
    """Run a data node (no inputs) again with its recorded parameters: the input table of the run."""
    from pydantic import ValidationError

    from designer.core.node import RunContext
    from designer.core.registry import node_type

    cls = node_type(record["type"], node=record["node"])
    try:
        params = cls.Params.model_validate(record["params"])
    except ValidationError as e:
        raise BadInput(f"recorded parameters no longer valid: {e.errors()[0]['msg']}",
                       node=record["node"]) from None
    return cls().run(params, {}, RunContext(record["node"], base_dir))["data"]


def evaluation_section(run: RunFolder, evaluation: dict[str, Any]) -> str:
    from designer.core.plots import evaluation_figures
    from designer.core.profile import format_stat

    entries = evaluation.get("entries", [])
    from designer.core.values import evaluated_data

    heads = [f"{e.get('port')}: {evaluated_data(e)}" for e in entries]
    names = list(dict.fromkeys(k for e in entries for k in e.get("metrics", {})))
    rows = [[n, *(format_stat(e["metrics"].get(n)) for e in entries)] for n in names]
    rows.append(["rows", *(format_stat(e.get("rows")) for e in entries)])
    task = entries[0].get("task") if entries else ""
    out = [f"<h3>{esc(evaluation.get('title'))} <span class=muted>({esc(evaluation.get('node'))}, "
           f"{esc(task)})</span></h3>", table_html(["Metric", *heads], rows)]
    figures = []
    for e in entries:
        figures += [figure_html(fig, f"{name} — {e.get('port')}") for name, fig in evaluation_figures(e).items()]
    if figures:
        out.append(f'<div class="grid">{"".join(figures)}</div>')
    elif not run.report:
        out.append('<p class="note">This run folder has no report.json (written by newer versions of '
                   "`pipeline-designer run`), so only the metrics are shown.</p>")
    return "".join(out)


def run_report(run: RunFolder) -> str:
    """The HTML page of `pipeline-designer report RUN_DIR`."""
    s = run.summary
    status = "succeeded" if s.get("ok") else ("was cancelled" if s.get("cancelled") else "failed")
    parts = [f"<p>Run folder <code>{esc(run.path.resolve())}</code>: the run {status}.</p>"]
    for node, message in (s.get("errors") or {}).items():
        parts.append(f'<p class="note">Node {esc(node)} failed: {esc(message)}</p>')
    evaluations = run.evaluations()
    parts.append("<h2>Evaluation</h2>")
    parts += [evaluation_section(run, e) for e in evaluations] or ["<p class=muted>No Evaluate node ran.</p>"]
    scored = run.scored_tables()
    if scored:
        parts.append("<h2>Scored tables</h2>")
        for record, frame in scored:
            heading = f"{record['title']} ({record['file']})"
            parts.append(profile_section(frame, heading) if frame is not None
                         else f"<h3>{esc(heading)}</h3><p class=note>The file is missing.</p>")
    inputs = run.input_tables()
    if inputs:
        parts.append("<h2>Input data</h2>")
        for record, frame, note in inputs:
            heading = f"{record['title']} ({record['node']})"
            parts.append(profile_section(frame, heading, note) if frame is not None
                         else f"<h3>{esc(heading)}</h3><p class=note>{esc(note)}</p>")
    return page(f"Run report: {run.name}", "".join(parts))
