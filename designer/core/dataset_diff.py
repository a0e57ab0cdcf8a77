"""What changed between two data set versions: schema, row counts and each column's distribution.

Distributions are compared with the drift statistics (designer.core.drift), exactly as `pipeline-designer drift`
compares new data with a model's training data: the first version's rows become a reference profile and every
column of the second version is tested against it (same tests, same verdict rule, same thresholds). Numbers
(and dates, as seconds) are numbers; everything else is categories. Versions of the same content (equal SHA-256)
are recognised without reading any data. Versions over MAX_ROWS rows are compared on MAX_ROWS evenly spaced rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from designer.core.drift import DEFAULT_THRESHOLDS, PSEUDO_ROWS, Thresholds
from designer.core.store import DatasetRecord

if TYPE_CHECKING:
    import pandas as pd

MAX_ROWS = PSEUDO_ROWS
"""Rows of a version compared at most: as many as the drift reference's ECDF holds (more changes no test)."""
QUARTILES = (250, 500, 750)
"""Indexes of the quartiles among a drift profile's 1,001 quantiles."""
Progress = Callable[[float, str], None]


def _no_progress(fraction: float, message: str = "") -> None:
    pass


def _kind(schema: dict[str, str]) -> str:
    """The drift kind of a column: numbers (dates too) or categories."""
    return "numeric" if schema["kind"] in ("numeric", "datetime") else "categorical"


def _comparable(series: "pd.Series") -> "pd.Series":
    """Dates as seconds since 1970 (what the number statistics compare); other columns as they are."""
    import pandas as pd

    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return (series - pd.Timestamp(0)).dt.total_seconds()
    return series


def _rows(record: DatasetRecord, names: list[str], max_rows: int, progress: Progress) -> "pd.DataFrame":
    """The columns `names` of a version (read once), over `max_rows` rows of `max_rows` evenly spaced rows."""
    import numpy as np
    import pandas as pd

    from designer.core.datasets import load_version

    frame = load_version(record, progress)
    if len(frame) > max_rows:
        frame = frame.iloc[np.linspace(0, len(frame) - 1, max_rows).round().astype(np.int64)]
    return pd.DataFrame({n: _comparable(frame[n]) for n in names})


def _schema_changes(sa: dict[str, dict[str, str]], sb: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    schema = [{"column": n, "change": "removed", "a": sa[n]} for n in sa if n not in sb]
    schema += [{"column": n, "change": "added", "b": sb[n]} for n in sb if n not in sa]
    for n in sa:
        if n in sb and (sa[n]["kind"], sa[n].get("dtype")) != (sb[n]["kind"], sb[n].get("dtype")):
            schema.append({"column": n, "change": "type", "a": sa[n], "b": sb[n]})
    return schema


def diff_versions(a: DatasetRecord, b: DatasetRecord, thresholds: Thresholds = DEFAULT_THRESHOLDS,
                  max_rows: int = MAX_ROWS, progress: Progress = _no_progress) -> dict[str, Any]:
    """Schema changes, row counts and, per column of both versions (in `a`'s order), the drift of `b` from `a`:
    verdict, effect (and its name), Bonferroni-adjusted p, every drift measure, and a readable summary."""
    from designer.core.drift import compare, reference_profile
    from designer.core.drift_report import columns_of_frame

    sa = {c["name"]: c for c in a.schema}
    sb = {c["name"]: c for c in b.schema}
    common = [n for n in sa if n in sb]
    out: dict[str, Any] = {
        "a": a.ref, "b": b.ref, "same_content": a.sha256 == b.sha256, "rows": [a.rows, b.rows],
        "columns": [a.columns, b.columns], "schema": _schema_changes(sa, sb),
        "column_order_changed": common != [n for n in sb if n in sa], "thresholds": thresholds.to_json(),
        "compared_rows": [0, 0], "sampled": False, "verdict": "same content", "distributions": [],
        "changed_columns": []}
    if out["same_content"] or not common:
        if not common and not out["same_content"]:
            out["verdict"] = "no common columns"
        return out
    kinds = {n: _kind(sa[n]) for n in common}
    progress(0.0, f"reading {a.ref}")
    frame_a = _rows(a, common, max_rows, lambda f, m: progress(0.45 * f, m))
    progress(0.45, f"reading {b.ref}")
    frame_b = _rows(b, common, max_rows, lambda f, m: progress(0.45 + 0.45 * f, m))
    progress(0.9, "comparing the distributions")
    reference = reference_profile(frame_a, kinds.items())
    seen = reference_profile(frame_b, kinds.items())["columns"]  # b's own statistics, for the summaries
    report = compare(reference, columns_of_frame(frame_b, kinds), None, thresholds)
    out.update(compared_rows=[len(frame_a), len(frame_b)], sampled=len(frame_a) < a.rows or len(frame_b) < b.rows,
               verdict=report["verdict"], changed_columns=report["drifted_columns"])
    out["distributions"] = [
        {"column": n, **report["columns"][n],
         "summary": change_summary(reference["columns"][n], seen[n], report["columns"][n], sa[n]["kind"])}
        for n in common]
    progress(1.0, "")
    return out


# ---------------------------------------------------------------------------------------------- text


def _num(value: float | None, kind: str = "numeric") -> str:
    if value is None:
        return "-"
    if kind == "datetime":
        import pandas as pd

        return str(pd.Timestamp(value, unit="s").round("s")).removesuffix(" 00:00:00")
    return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:.3g}"


def change_summary(a: dict[str, Any], b: dict[str, Any], result: dict[str, Any], kind: str = "numeric") -> str:
    """How a column moved, as people read it: a number column's mean (in the first version's standard
    deviations), quartiles and spread; a category column's three largest share changes ("(new)": unseen in the
    first version) and the share of new categories; the missing rate when it changed. `a`, `b`: the versions'
    drift profiles; `result`: the drift comparison of the column."""
    parts: list[str] = []
    if a.get("kind") == "numeric" and a.get("quantiles") and b.get("quantiles"):
        sd = a.get("std") or 0.0
        shift = f" ({(b['mean'] - a['mean']) / sd:+.2f} sd)" if sd else ""
        qa = "/".join(_num(a["quantiles"][i], kind) for i in QUARTILES)
        qb = "/".join(_num(b["quantiles"][i], kind) for i in QUARTILES)
        parts += [f"mean {_num(a['mean'], kind)} -> {_num(b['mean'], kind)}{shift}", f"quartiles {qa} -> {qb}"]
        if kind != "datetime":
            parts.append(f"sd {_num(a['std'])} -> {_num(b.get('std'))}")
    elif result.get("shares"):
        unseen = result.get("unseen") or {}
        moved = sorted(result["shares"].items(), key=lambda kv: -abs(kv[1][1] - kv[1][0]))
        parts += [f"{name}{' (new)' if name in unseen else ''} {x:.1%} -> {y:.1%}"
                  for name, (x, y) in moved[:3] if abs(y - x) >= 0.0005]
        if result.get("unseen_rate"):
            parts.append(f"new categories {result['unseen_rate']:.1%} of values")
    if result.get("missing_rate_change") and a.get("kind") == "numeric":  # categories: (missing) is a share
        parts.append(f"missing {result['reference_missing_rate']:.1%} -> {result['missing_rate']:.1%}")
    return "; ".join(parts) or result.get("note", "")


def diff_text(c: dict[str, Any]) -> str:
    """The diff as the CLI prints it (and the Data tab shows it)."""
    from designer.core.drift_report import fmt

    lines = [f"{c['a']} -> {c['b']}: " + ("same content" if c["same_content"] else "different content"),
             f"rows     {c['rows'][0]:,} -> {c['rows'][1]:,}  ({c['rows'][1] - c['rows'][0]:+,})"]
    if not c["schema"] and not c["column_order_changed"]:
        lines.append("schema   unchanged")
    for s in c["schema"]:
        if s["change"] == "type":
            lines.append(f"schema   {s['column']}: {s['a']['kind']} ({s['a']['dtype']}) -> {s['b']['kind']} "
                         f"({s['b']['dtype']})")
        else:
            info = s.get("a") or s.get("b")
            lines.append(f"schema   {s['column']}: {s['change']} ({info['kind']})")
    if c["column_order_changed"]:
        lines.append("schema   column order changed")
    if c["same_content"]:
        lines.append("columns  same content: no distribution changed (no data read)")
        return "\n".join(lines)
    dists = c["distributions"]
    lines.append(f"columns  {len(c['changed_columns'])} of {len(dists)} drift"
                 + (f": {', '.join(c['changed_columns'])}" if c["changed_columns"] else ""))
    if c["sampled"]:
        lines.append(f"         compared {c['compared_rows'][0]:,} and {c['compared_rows'][1]:,} evenly spaced rows")
    table = [["column", "verdict", "effect", "effect measure", "p (adjusted)", "change"]]
    table += [[d["column"], d.get("verdict", "-"), fmt(d.get("effect")), d.get("effect_name", "-"), fmt(d.get("p")),
               d["summary"]] for d in dists]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]) - 1)]
    for r in table:
        lines.append("  " + "  ".join(v.ljust(w) for v, w in zip(r, widths)) + "  " + r[-1])
    t = c["thresholds"]
    lines.append(f"drift = effect >= {t['effect']} and Bonferroni-adjusted p < {t['p']}, at least {t['min_rows']} "
                 f"rows (the second version's rows against the first's, as `drift` compares)")
    return "\n".join(lines)
