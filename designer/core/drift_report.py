"""`pipeline-designer drift`, the HTML page and the desktop Drift tab all build their report here: new data (the
captures of a model version, or a data file) against the bundle's reference profile (designer.core.drift),
overall and per time window (a daily trend per column by default).

Captures are read column by column with pyarrow (a million rows of twenty columns stay within a few hundred
MB); text columns are counted through their dictionary codes, never as Python strings.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from designer.core.drift import DEFAULT_THRESHOLDS, Column, Thresholds, compare, compare_column
from designer.core.errors import BadInput

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from designer.core.model import TrainedModel

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
TREND_KEYS = ("verdict", "effect", "p", "rows")


def parse_duration(text: str, what: str = "window") -> float:
    """'7d', '12h', '30m', '2w', '90s' in seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text or "")
    if not m or float(m.group(1)) <= 0:
        raise BadInput(f"--{what} '{text}' is not a duration like 7d, 12h, 30m or 2w", param=what)
    return float(m.group(1)) * UNITS[m.group(2)]


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """A duration back from now ('7d') or a date/time ('2024-06-01', '2024-06-01T12:00'), as UTC."""
    now = now or datetime.now(timezone.utc)
    if re.fullmatch(r"\s*\d+(?:\.\d+)?\s*[smhdw]\s*", text or ""):
        return now - timedelta(seconds=parse_duration(text, "since"))
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(f"--since '{text}' is neither a duration (7d) nor a date (2024-06-01)", param="since") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _kinds(reference: dict[str, Any]) -> dict[str, str]:
    return {name: prof.get("kind", "numeric") for name, prof in reference.get("columns", {}).items()}


# ---------------------------------------------------------------------------------------------- a data file


def columns_of_frame(frame: "pd.DataFrame", kinds: dict[str, str]) -> dict[str, Column]:
    return {name: Column.of_values(frame[name], kind) for name, kind in kinds.items() if name in frame.columns}


def predictions_of_frame(model: "TrainedModel", frame: "pd.DataFrame") -> tuple[Column | None, str | None]:
    """The model's predictions for a data file's rows (None and why, when the rows cannot be scored)."""
    from designer.core.values import Table

    try:
        scored = model.score(Table(frame=frame)).frame
    except BadInput as e:
        return None, f"the rows could not be scored ({e})"
    column = "cluster" if model.task == "clustering" else "prediction"
    kind = "numeric" if model.task == "regression" else "categorical"
    return Column.of_values(scored[column].to_numpy(), kind), None


# ---------------------------------------------------------------------------------------------- captures


class CaptureColumns:
    """A capture folder's part files as one dataset, read one column at a time (a million rows of twenty
    columns never sit in memory together)."""

    def __init__(self, files: list[Path]) -> None:
        import pyarrow.dataset as ds

        self.dataset = ds.dataset([str(f) for f in files], format="parquet")

    def take(self, name: str) -> "pa.ChunkedArray | None":
        if name not in self.dataset.schema.names:
            return None
        return self.dataset.to_table(columns=[name]).column(0)


def _numbers(array: "pa.ChunkedArray") -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    return np.asarray(pc.fill_null(pc.cast(array, pa.float64(), safe=False), float("nan")).to_numpy(),
                      dtype=np.float64)


def _codes(array: "pa.ChunkedArray") -> tuple[np.ndarray, list[str]]:
    """Dictionary codes (-1 for missing) and the categories of a text column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_string(array.type) and not pa.types.is_large_string(array.type):
        array = pc.cast(array, pa.string())
    encoded = pc.dictionary_encode(array).combine_chunks()
    codes = np.asarray(pc.fill_null(encoded.indices, -1).to_numpy(), dtype=np.int64)
    return codes, [str(v) for v in encoded.dictionary.to_pylist()]


def _split(columns: CaptureColumns, name: str, kind: str, keep: np.ndarray, wid: np.ndarray | None,
           windows: list[int]) -> tuple[Column, dict[int, Column]] | None:
    """A column's rows `keep` as one Column and one per window (numbers sorted here, once per part)."""
    array = columns.take(name)
    if array is None:
        return None
    if kind == "numeric":
        values = _numbers(array)[keep]
        del array
        if wid is None:
            values.sort()
            return Column(numbers=values, presorted=True), {}
        parts = {w: np.sort(values[wid == w]) for w in windows}
        del values
        # the sorted windows are sorted runs: timsort ("stable") merges them in a fraction of a full sort
        overall = np.sort(np.concatenate(list(parts.values())), kind="stable")
        return Column(numbers=overall, presorted=True), {w: Column(numbers=v, presorted=True) for w, v in parts.items()}
    codes, names = _codes(array)
    del array
    codes = codes[keep]

    def counted(part: np.ndarray) -> Column:
        counts = np.bincount(part[part >= 0], minlength=len(names))
        return Column(counts={names[i]: int(c) for i, c in enumerate(counts) if c}, missing=int((part < 0).sum()))

    return counted(codes), ({w: counted(codes[wid == w]) for w in windows} if wid is not None else {})


# ---------------------------------------------------------------------------------------------- the report


def drift_report(reference: dict[str, Any] | None, *, model_name: str,
                 thresholds: Thresholds = DEFAULT_THRESHOLDS,
                 captures: Path | None = None, since: datetime | None = None, data: "pd.DataFrame | None" = None,
                 data_name: str | None = None, model: "TrainedModel | None" = None,
                 window: float | None = 86400.0) -> dict[str, Any]:
    """The drift report (a JSON-able dict): new data against the reference profile, and a trend per window.

    New data is either `data` (a file's rows; predictions made with `model`) or the `captures` folder of
    a model version (rows from `since` on). Raises BadInput when there is no reference profile or no data.
    """
    if not reference or not reference.get("columns"):
        raise BadInput(f"{model_name} has no reference profile: its bundle was written before Train Model stored "
                       "one (reference.json). Re-run its pipeline to write a bundle with a profile")
    kinds = _kinds(reference)
    head = {"model": model_name, "thresholds": thresholds.to_json(),
            "reference": {"rows": reference.get("rows"),
                          "predictions_on": (reference.get("predictions") or {}).get("rows")}}
    if data is not None:
        columns = columns_of_frame(data, kinds)
        predictions, why = predictions_of_frame(model, data) if model is not None else (None, "no model")
        report = compare(reference, columns, predictions, thresholds)
        if why and report["predictions"].get("verdict") == "absent":
            report["predictions"]["note"] = why
        return {**head, "source": {"kind": "file", "path": data_name, "rows": int(len(data))}, **report,
                "trend": None}
    if captures is None:
        raise BadInput("nothing to compare: pass --data FILE, or capture traffic first (serve --capture)")
    return _captures_report(reference, kinds, head, captures, since, thresholds, window)


def _captures_report(reference: dict[str, Any], kinds: dict[str, str], head: dict[str, Any], folder: Path,
                     since: datetime | None, thresholds: Thresholds, window: float | None) -> dict[str, Any]:
    from designer.core.serve.capture import INPUT_PREFIX, capture_files

    files = capture_files(folder, since)
    if not files:
        where = f" since {since.isoformat(timespec='seconds')}" if since else ""
        raise BadInput(f"no captured rows in {folder}{where}; serve with --capture (or score --capture) first")
    import pyarrow as pa

    pred_ref = reference.get("predictions")
    pred_name = "cluster" if (pred_ref or {}).get("task") == "clustering" else "prediction"
    columns = CaptureColumns(files)
    times = np.asarray(columns.take("time").cast(pa.int64()).to_numpy(), dtype=np.int64)  # type: ignore[union-attr]
    rows = np.asarray(columns.take("row").to_numpy(), dtype=np.int64)  # type: ignore[union-attr]
    status = np.asarray(columns.take("status").to_numpy(), dtype=np.int64)  # type: ignore[union-attr]
    in_range = times >= int(since.timestamp() * 1_000_000) if since is not None else np.ones(len(times), bool)
    input_keep = in_range & (rows >= 1)  # rows that were read (scored or rejected): what the model is sent
    scored_keep = in_range & (status == 200)  # rows with a prediction
    del rows, status
    if not input_keep.any():
        raise BadInput(f"no captured input rows in {folder}" + (f" since {since.isoformat()}" if since else ""))
    window_us = int(window * 1_000_000) if window else None
    in_wid = times[input_keep] // window_us if window_us else None
    sc_wid = times[scored_keep] // window_us if window_us else None
    in_windows = sorted(set(np.unique(in_wid).tolist())) if in_wid is not None else []
    sc_windows = sorted(set(np.unique(sc_wid).tolist())) if sc_wid is not None else []
    overall: dict[str, Column] = {}
    by_window: dict[int, dict[str, dict[str, Any]]] = {w: {} for w in in_windows}
    for name, kind in kinds.items():
        split = _split(columns, f"{INPUT_PREFIX}{name}", kind, input_keep, in_wid, in_windows)
        if split is None:
            continue
        overall[name], parts = split
        for w, part in parts.items():
            by_window[w][name] = _short(compare_column(reference["columns"][name], part, thresholds))
        del split, parts
    predictions = None
    pred_windows: dict[int, dict[str, Any]] = {}
    if pred_ref is not None and scored_keep.any():
        kind = pred_ref.get("profile", {}).get("kind", "numeric")
        split = _split(columns, pred_name, kind, scored_keep, sc_wid, sc_windows)
        if split is not None:
            predictions, parts = split
            pred_windows = {w: _short(compare_column(pred_ref["profile"], part, thresholds))
                            for w, part in parts.items()}
    report = compare(reference, overall, predictions, thresholds)
    in_times = times[input_keep]
    first = datetime.fromtimestamp(int(in_times.min()) / 1e6, timezone.utc)
    last = datetime.fromtimestamp(int(in_times.max()) / 1e6, timezone.utc)
    source = {"kind": "captures", "folder": str(folder), "since": since.isoformat() if since else None,
              "rows": int(input_keep.sum()), "scored": int(scored_keep.sum()),
              "rejected": int((input_keep & ~scored_keep).sum()),
              "first": first.isoformat(timespec="seconds"), "last": last.isoformat(timespec="seconds"),
              "files": len(files)}
    trend: dict[str, Any] | None = None
    if window_us:
        windows: list[dict[str, Any]] = []
        trend = {"window_seconds": window, "windows": windows}
        for w in sorted(set(in_windows) | set(pred_windows)):
            cols = by_window.get(w, {})
            windows.append({
                "start": datetime.fromtimestamp(w * window_us / 1e6, timezone.utc).isoformat(timespec="seconds"),
                "end": datetime.fromtimestamp((w + 1) * window_us / 1e6, timezone.utc).isoformat(timespec="seconds"),
                "rows": max((c.get("rows", 0) for c in cols.values()), default=0),
                "verdict": _dataset_verdict(cols), "columns": cols, "predictions": pred_windows.get(w)})
    return {**head, "source": source, **report, "trend": trend}


def _short(result: dict[str, Any]) -> dict[str, Any]:
    return {k: result[k] for k in TREND_KEYS if k in result}


def _dataset_verdict(columns: dict[str, dict[str, Any]]) -> str:
    verdicts = [c.get("verdict") for c in columns.values()]
    if "drift" in verdicts:
        return "drift"
    return "no drift" if "no drift" in verdicts else "not enough rows"


def drifting(report: dict[str, Any]) -> bool:
    """Data or prediction drift found (what --fail-on-drift exits 3 for)."""
    return report.get("verdict") == "drift" or (report.get("predictions") or {}).get("verdict") == "drift"


# ---------------------------------------------------------------------------------------------- text and HTML


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if value != 0 and (abs(value) < 10 ** -digits or abs(value) >= 1e6):
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}f}"
    return str(value)


def column_rows(report: dict[str, Any]) -> list[list[Any]]:
    """One table row per column (and the predictions): what the text, HTML and desktop views all show."""
    out = []
    items = list(report["columns"].items()) + [("(predictions)", report.get("predictions") or {})]
    for name, r in items:
        rate = r.get("out_of_range_rate", r.get("unseen_rate"))
        out.append([name, r.get("kind", "-"), r.get("verdict", "-"), fmt(r.get("effect")), r.get("effect_name", "-"),
                    fmt(r.get("p")), fmt(r.get("missing_rate_change")), fmt(rate),
                    fmt(r.get("ks_d") if r.get("kind") == "numeric" else r.get("jensen_shannon")),
                    fmt(r.get("psi")), r.get("rows", "-")])
    return out


COLUMN_HEADERS = ["column", "kind", "verdict", "effect", "effect measure", "p (adjusted)", "missing-rate change",
                  "out of range / unseen", "KS D / Jensen-Shannon", "PSI", "rows"]


def text_report(report: dict[str, Any]) -> str:
    src = report["source"]
    where = (f"{src['rows']:,} captured rows ({src.get('scored', 0):,} scored, {src.get('rejected', 0):,} rejected), "
             f"{src.get('first')} to {src.get('last')}" if src["kind"] == "captures" else
             f"{src['rows']:,} rows of {src['path']}")
    ref = report["reference"]
    lines = [f"drift of {report['model']}: {where}",
             f"reference: {ref['rows']:,} training rows; predictions on {ref.get('predictions_on') or '-'} rows",
             f"data: {report['verdict'].upper()}"
             + (f" in {', '.join(report['drifted_columns'])}" if report["drifted_columns"] else ""),
             f"predictions: {(report.get('predictions') or {}).get('verdict', '-').upper()}", ""]
    rows = column_rows(report)
    widths = [max(len(str(r[i])) for r in rows + [COLUMN_HEADERS]) for i in range(len(COLUMN_HEADERS))]
    for r in [COLUMN_HEADERS] + rows:
        lines.append("  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip())
    trend = report.get("trend")
    if trend and trend["windows"]:
        lines += ["", f"trend ({fmt_window(trend['window_seconds'])} windows):"]
        for w in trend["windows"]:
            drifted = [n for n, c in w["columns"].items() if c.get("verdict") == "drift"]
            pred = (w.get("predictions") or {}).get("verdict", "-")
            lines.append(f"  {w['start'][:16]}  {w['rows']:>8,} rows  data {w['verdict']:<15} predictions {pred:<15}"
                         + (f" drifted: {', '.join(drifted)}" if drifted else ""))
    t = report["thresholds"]
    lines += ["", f"drift = effect >= {t['effect']} and Bonferroni-adjusted p < {t['p']}, "
                  f"at least {t['min_rows']} rows"]
    return "\n".join(lines)


def fmt_window(seconds: float) -> str:
    for unit, size in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def html_report(report: dict[str, Any]) -> str:
    """A self-contained page: verdicts, the column table, and the trend of each column's effect."""
    from designer.core.report_html import esc, figure_html, page, table_html

    src = report["source"]
    body = [f"<p>{esc(text_report(report).splitlines()[0])}</p>",
            f"<p><b>Data:</b> {esc(report['verdict'])}"
            + (f" ({esc(', '.join(report['drifted_columns']))})" if report["drifted_columns"] else "")
            + f" &nbsp; <b>Predictions:</b> {esc((report.get('predictions') or {}).get('verdict', '-'))} "
              f"(reference predictions on {esc(report['reference'].get('predictions_on') or '-')} rows)</p>",
            "<h2>Columns</h2>", table_html(COLUMN_HEADERS, column_rows(report), text_columns=3)]
    trend = report.get("trend")
    if trend and trend["windows"]:
        names = list(report["columns"])
        headers = ["window", "rows", "data"] + names + ["predictions"]
        rows = []
        for w in trend["windows"]:
            cells = [f"{c['verdict'][0].upper()} {fmt(c.get('effect'), 2)}" if (c := w["columns"].get(n)) else "-"
                     for n in names]
            pred = w.get("predictions") or {}
            rows.append([w["start"][:16], w["rows"], w["verdict"]] + cells
                        + [f"{pred.get('verdict', '-')} {fmt(pred.get('effect'), 2)}"])
        body += [f"<h2>Trend ({esc(fmt_window(trend['window_seconds']))} windows)</h2>",
                 "<p class=muted>Each cell: verdict (D drift, N no drift, n not enough rows) and effect.</p>",
                 table_html(headers, rows, text_columns=3), figure_html(trend_figure(report), "Effect per window")]
    t = report["thresholds"]
    body.append(f"<p class=muted>Drift = effect &ge; {t['effect']} and Bonferroni-adjusted p &lt; {t['p']} with "
                f"at least {t['min_rows']} rows. Numbers: effect = Wasserstein distance / reference sd; tests KS, "
                "Mann-Whitney (location), Mood (scale), Fisher (missing rate). Categories (missing is a category): "
                f"effect = Cohen's w; test chi-square. Source: {esc(src.get('folder') or src.get('path'))}.</p>")
    return page(f"Drift of {report['model']}", "".join(body))


def trend_figure(report: dict[str, Any]) -> Any:
    from designer.core.plots import new_figure

    fig = new_figure(8.0, 3.6)
    ax = fig.add_subplot(111)
    windows = report["trend"]["windows"]
    x = list(range(len(windows)))
    for name in report["columns"]:
        ys = [(w["columns"].get(name) or {}).get("effect") for w in windows]
        ax.plot(x, [np.nan if y is None else y for y in ys], marker="o", label=name)
    ax.axhline(report["thresholds"]["effect"], color="#dc2626", linestyle="--", linewidth=1)
    ax.set_xticks(x, [w["start"][5:10] for w in windows], rotation=45, fontsize=7)
    ax.set_ylabel("effect")
    ax.legend(fontsize=7, ncol=3)
    return fig


def registered_drift(store_file: Path, ref: str, *, since: datetime | None = None, window: float | None = 86400.0,
                     thresholds: Thresholds = DEFAULT_THRESHOLDS) -> dict[str, Any]:
    """The drift report of a registered model NAME:VERSION over its captures (the desktop's Drift tab)."""
    from designer.core.bundle import read_reference
    from designer.core.serve.capture import capture_folder
    from designer.core.store import RunStore

    with RunStore.open(store_file, create=False) as store:
        model = store.model_bundle(ref)
        folder = capture_folder(store.folder, model.name, str(model.version))
    return drift_report(read_reference(model.bundle), model_name=model.ref, captures=folder, since=since,
                        window=window, thresholds=thresholds)
