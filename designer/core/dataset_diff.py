"""What changed between two data set versions: schema, row counts and each column's distribution.

Computed from the stored schemas and profiles alone (no data is read), with simple, robust statistics:
missing rate, mean / standard deviation / quartiles of numbers (shifts measured in the first version's
standard deviations), and the shares of the most frequent categories.
"""

from __future__ import annotations

import math
from typing import Any

from designer.core.store import DatasetRecord

MISSING_RATE_CHANGE = 0.01
"""A change of the missing rate by more than this (absolute) is flagged."""
SHIFT_IN_STD = 0.1
"""A mean or quartile moving by more than this many standard deviations is flagged."""
SHARE_CHANGE = 0.05
"""A category's share of the non-missing values changing by more than this (absolute) is flagged."""

_NUMBERS = ("mean", "std", "min", "q25", "q50", "q75", "max")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _shares(p: dict[str, Any]) -> dict[str, float]:
    count = p.get("count") or 0
    if not count:
        return {}
    shares = {str(k): n / count for k, n in p.get("top_values") or []}
    if p.get("other_count"):
        shares["(other)"] = p["other_count"] / count
    return shares


def column_change(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The distribution change of one column present in both versions (profiles as stored)."""
    rate_a = a["missing"] / a["rows"] if a.get("rows") else 0.0
    rate_b = b["missing"] / b["rows"] if b.get("rows") else 0.0
    out: dict[str, Any] = {"column": a["name"], "missing_rate": [rate_a, rate_b], "flags": []}
    if abs(rate_b - rate_a) > MISSING_RATE_CHANGE:
        out["flags"].append(f"missing rate {rate_a:.1%} -> {rate_b:.1%}")
    if a.get("kind") == "numeric" and b.get("kind") == "numeric":
        stats = {k: [_number(a.get(k)), _number(b.get(k))] for k in _NUMBERS}
        out["numbers"] = stats
        std = stats["std"][0]
        scale = std if std else None
        shifts = {}
        for k in ("mean", "q25", "q50", "q75"):
            x, y = stats[k]
            if x is not None and y is not None and scale:
                shifts[k] = (y - x) / scale
        out["shift_in_std"] = shifts
        moved = [k for k, s in shifts.items() if abs(s) > SHIFT_IN_STD]
        if moved:
            out["flags"].append("moved: " + ", ".join(f"{k} {shifts[k]:+.2f} sd" for k in moved))
        sd_a, sd_b = stats["std"]
        if sd_a and sd_b is not None and abs(sd_b / sd_a - 1) > SHIFT_IN_STD * 2:
            out["flags"].append(f"spread x{sd_b / sd_a:.2f}")
    elif a.get("kind") != "numeric" and b.get("kind") != "numeric":
        sa, sb = _shares(a), _shares(b)
        cats = list(dict.fromkeys([*sa, *sb]))
        out["shares"] = {c: [sa.get(c, 0.0), sb.get(c, 0.0)] for c in cats}
        changed = {c: v for c, v in out["shares"].items() if abs(v[1] - v[0]) > SHARE_CHANGE}
        if changed:
            out["flags"].append("shares: " + ", ".join(f"{c} {v[0]:.1%} -> {v[1]:.1%}" for c, v in changed.items()))
        new = [c for c in sb if c not in sa and c != "(other)"]
        if new and a.get("other_count", 0) == 0:
            out["flags"].append(f"new categories: {', '.join(new)}")
    out["changed"] = bool(out["flags"])
    return out


def diff_versions(a: DatasetRecord, b: DatasetRecord) -> dict[str, Any]:
    """Schema changes, row counts and per-column distribution changes from version `a` to `b`."""
    sa = {c["name"]: c for c in a.schema}
    sb = {c["name"]: c for c in b.schema}
    pa = {p["name"]: p for p in a.profile}
    pb = {p["name"]: p for p in b.profile}
    schema = [{"column": n, "change": "removed", "a": sa[n]} for n in sa if n not in sb]
    schema += [{"column": n, "change": "added", "b": sb[n]} for n in sb if n not in sa]
    for n in sa:
        if n in sb and (sa[n]["kind"], sa[n].get("dtype")) != (sb[n]["kind"], sb[n].get("dtype")):
            schema.append({"column": n, "change": "type", "a": sa[n], "b": sb[n]})
    order_changed = [n for n in sa if n in sb] != [n for n in sb if n in sa]
    columns = [column_change(pa[n], pb[n]) for n in sa if n in sb and n in pa and n in pb]
    return {"a": a.ref, "b": b.ref, "same_content": a.sha256 == b.sha256,
            "rows": [a.rows, b.rows], "columns": [a.columns, b.columns],
            "schema": schema, "column_order_changed": order_changed, "distributions": columns,
            "changed_columns": [c["column"] for c in columns if c["changed"]]}
