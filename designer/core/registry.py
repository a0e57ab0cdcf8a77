"""Look up node types by id; importing `nodes` registers the whole module library."""

from __future__ import annotations

from typing import Any

from designer.core.errors import BadInput


def node_types() -> dict[str, Any]:
    import nodes  # noqa: F401  (registers)
    from nodes.base import REGISTRY

    return REGISTRY


def node_type(type_id: str, node: str | None = None) -> Any:
    types = node_types()
    if type_id not in types:
        raise BadInput(f"unknown module type '{type_id}'", node=node)
    return types[type_id]


def catalogue() -> list[dict[str, Any]]:
    """Every node type with its ports and parameters (defaults, bounds, choices, descriptions)."""
    out = []
    for type_id, cls in sorted(node_types().items(), key=lambda kv: (kv[1].category, kv[0])):
        schema = cls.Params.model_json_schema()
        out.append({
            "type": type_id, "title": cls.title, "category": cls.category, "help": cls.help(),
            "inputs": [{"name": p.name, "type": p.type.value, "optional": p.optional} for p in cls.inputs],
            "outputs": [{"name": p.name, "type": p.type.value} for p in cls.outputs],
            "params": schema.get("properties", {}), "definitions": schema.get("$defs", {}),
        })
    return out
