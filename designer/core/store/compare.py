"""What differs between two runs: pipeline, parameters, metrics, input data and libraries."""

from __future__ import annotations

from typing import Any

from designer.core.store.records import RunRecord, data_key, flat_params, same_value


def _data_changes(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[dict[str, Any]]:
    da = {data_key(s): s for s in a}
    db = {data_key(s): s for s in b}
    out = []
    for key in list(da) + [k for k in db if k not in da]:
        x, y = da.get(key), db.get(key)
        change = "removed" if y is None else "added" if x is None else (
            "same" if x["sha256"] == y["sha256"] else "changed")
        out.append({"data": key, "name": (x or y or {}).get("name"), "change": change,
                    "a": x and {k: x.get(k) for k in ("sha256", "rows", "columns", "version")},
                    "b": y and {k: y.get(k) for k in ("sha256", "rows", "columns", "version")}})
    return out


def compare_runs(a: RunRecord, b: RunRecord) -> dict[str, Any]:
    """What differs between two runs: pipeline, parameters, metrics, input data, libraries."""
    params = []
    overridden = {o.partition("=")[0] for o in [*a.overrides, *b.overrides]}
    added = sorted(set(b.params) - set(a.params))
    removed = sorted(set(a.params) - set(b.params))
    for node in sorted(set(a.params) & set(b.params)):
        fa, fb = flat_params(a.params[node]), flat_params(b.params[node])
        for key in sorted(set(fa) | set(fb)):
            va, vb = fa.get(key), fb.get(key)
            if not same_value(va, vb):
                params.append({"node": node, "param": key, "a": va, "b": vb, "set": f"{node}.{key}" in overridden})
    types_a = {n: d.get("type") for n, d in a.nodes.items()}
    types_b = {n: d.get("type") for n, d in b.nodes.items()}
    for node in sorted(set(types_a) & set(types_b)):
        if types_a[node] != types_b[node]:
            params.append({"node": node, "param": "(type)", "a": types_a[node], "b": types_b[node]})
    ma, mb = a.flat_metrics, b.flat_metrics
    metrics = []
    for key in list(ma) + [k for k in mb if k not in ma]:
        va, vb = ma.get(key), mb.get(key)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (va, vb))
        delta = vb - va if numbers and va is not None and vb is not None else None
        metrics.append({"metric": key, "a": va, "b": vb, "delta": delta, "same": same_value(va, vb)})
    data = _data_changes(a.inputs, b.inputs)
    libs = [{"library": k, "a": a.libraries.get(k), "b": b.libraries.get(k)}
            for k in sorted(set(a.libraries) | set(b.libraries)) if a.libraries.get(k) != b.libraries.get(k)]
    return {
        "a": a.id, "b": b.id,
        "pipeline": {"a": a.pipeline_name, "b": b.pipeline_name, "same_text": a.pipeline_hash == b.pipeline_hash},
        "overrides": {"a": list(a.overrides), "b": list(b.overrides)},
        "params": params, "nodes_added": added, "nodes_removed": removed,
        "metrics": metrics, "metrics_identical": all(m["same"] for m in metrics),
        "data": data, "data_changed": any(d["change"] != "same" for d in data),
        "libraries": libs,
    }
