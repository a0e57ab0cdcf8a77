"""Validation and schema propagation without running (DESIGN §4).

`validate` reports every problem at once, each naming its node and port, parameter or column.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
from pydantic import ValidationError

from designer.core.errors import BadInput, Issue, Location
from designer.core.pipeline import Link, Pipeline
from designer.core.node import ModelSpec, SchemaContext
from designer.core.registry import NodeRegistry, default_registry


@dataclass
class Validation:
    """The outcome of `validate`: issues, the graph, parsed parameters and propagated port schemas."""

    issues: list[Issue]
    graph: nx.MultiDiGraph
    params: dict[str, Any] = field(default_factory=dict)
    schemas: dict[tuple[str, str], Any] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    """Nodes whose module is not installed (or failed to load), with the reason: only their branch is blocked."""
    inbound: dict[str, list[Link]] = field(default_factory=dict)
    """The links into each node, indexed once (`Pipeline.links_into` scans every link: quadratic over a graph)."""

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def runnable(self) -> bool:
        """True when the only errors are modules that are not available (their branches cannot run)."""
        return all(i.location.node in self.unavailable for i in self.errors)

    def node_issues(self, node_id: str) -> list[Issue]:
        return [i for i in self.issues if i.location.node == node_id]


class InvalidPipeline(BadInput):
    """A pipeline that cannot run; `issues` holds every problem found."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        errors = [i for i in issues if i.severity == "error"]
        if len(errors) == 1:  # one problem: one line, located like any other BadInput
            super().__init__(errors[0].message, errors[0].location)
            return
        text = "\n".join(f"  {i}" for i in errors)
        super().__init__(f"the pipeline has {len(errors)} problems:\n{text}")


def _err(issues: list[Issue], message: str, **where: Any) -> None:
    issues.append(Issue("error", message, Location(**where)))


def param_errors(node_id: str, cls: Any, raw: dict[str, Any]) -> tuple[Any, list[Issue]]:
    """Parse a node's parameters; one issue per wrong parameter."""
    try:
        return cls.Params.model_validate(raw), []
    except ValidationError as e:
        issues = []
        for err in e.errors():
            loc = [str(p) for p in err["loc"]]
            name = loc[0] if loc else None
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                known = ", ".join(cls.Params.model_fields) or "none"
                msg = f"unknown parameter (this module's parameters: {known})"
            elif err["type"] == "missing":
                msg = "required parameter is missing"
            elif isinstance(err.get("input"), (str, int, float, bool)) or err.get("input", ...) is None:
                got = json.dumps(err["input"], ensure_ascii=False)  # say which value was refused, less passwords
                got = re.sub(r"(://[^:/@\s]*):[^@\s]*@", r"\1:***@", got)
                msg = f"{msg} (got {got if len(got) <= 60 else got[:57] + '…'})"
            sub = ".".join(loc[1:])
            issues.append(Issue("error", f"{sub + ': ' if sub else ''}{msg}", Location(node=node_id, param=name)))
        return None, issues


def check_link(pipeline: Pipeline, link: Link, registry: NodeRegistry | None = None,
               existing: list[Link] | None = None) -> str | None:
    """Why `link` is illegal in `pipeline` (given its other links), or None if it is fine."""
    others = [l for l in (existing if existing is not None else pipeline.links) if l is not link]
    reason = _port_problem(link, {n.id: n for n in pipeline.nodes}, registry or default_registry(),
                           {l.target for l in others})
    if reason is not None:
        return reason
    g = nx.DiGraph()
    g.add_edges_from((l.source_node, l.target_node) for l in others)
    if g.has_node(link.target_node) and g.has_node(link.source_node) and nx.has_path(g, link.target_node,
                                                                                     link.source_node):
        return f"link {link.source} → {link.target} would close a cycle"
    return None


def _port_problem(link: Link, by_id: dict[str, Any], types: NodeRegistry, taken: set[str]) -> str | None:
    """Everything wrong with a link except cycles: missing nodes or ports, types, a taken input."""
    for end, node_id in (("from", link.source_node), ("to", link.target_node)):
        if node_id not in by_id:
            return f"link {link.source} → {link.target}: '{end}' names no node '{node_id}'"
    src_cls = types.get(by_id[link.source_node].type)
    dst_cls = types.get(by_id[link.target_node].type)
    if src_cls is None or dst_cls is None:
        return None  # reported as an unknown type
    out = src_cls.output(link.source_port)
    if out is None:
        names = ", ".join(p.name for p in src_cls.outputs) or "none"
        return f"'{link.source_node}' has no output port '{link.source_port}' (outputs: {names})"
    inp = dst_cls.input(link.target_port)
    if inp is None:
        names = ", ".join(p.name for p in dst_cls.inputs) or "none"
        return f"'{link.target_node}' has no input port '{link.target_port}' (inputs: {names})"
    if out.type != inp.type:
        return (f"cannot connect {out.type.value} output '{link.source}' to {inp.type.value} input "
                f"'{link.target}'")
    if link.target in taken:
        return f"input '{link.target}' already has a link; an input takes one link"
    if link.source_node == link.target_node:
        return f"link {link.source} → {link.target} connects a node to itself"
    return None


def build_graph(pipeline: Pipeline) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for i, n in enumerate(pipeline.nodes):
        g.add_node(n.id, index=i)
    for l in pipeline.links:
        if g.has_node(l.source_node) and g.has_node(l.target_node):
            g.add_edge(l.source_node, l.target_node, source_port=l.source_port, target_port=l.target_port)
    return g


def links_by_target(pipeline: Pipeline) -> dict[str, list[Link]]:
    """The links into each node, in file order, built in one pass."""
    index: dict[str, list[Link]] = {n.id: [] for n in pipeline.nodes}
    for link in pipeline.links:
        index.setdefault(link.target_node, []).append(link)
    return index


def find_cycles(g: nx.MultiDiGraph) -> list[list[str]]:
    """One cycle for each group of nodes that loop into each other (a strongly connected component of more
    than one node, or a node linked to itself), in linear time and deterministically: each cycle is a
    shortest one through the group's node that comes first in the file, starting there; cycles in file order.

    (Listing every simple cycle instead is exponential: 14 fully linked nodes never finish.)
    """
    from collections import deque

    simple = nx.DiGraph(g)
    index = {n: i for i, n in enumerate(sorted(simple.nodes, key=lambda n: g.nodes[n].get("index", 0)))}
    cycles = []
    for comp in nx.strongly_connected_components(simple):
        start = min(comp, key=index.__getitem__)
        if len(comp) == 1:
            if simple.has_edge(start, start):
                cycles.append([start])
            continue
        parent: dict[str, str] = {start: start}
        queue, end = deque([start]), None
        while queue and end is None:
            u = queue.popleft()
            for v in sorted(simple.successors(u), key=index.__getitem__):
                if v == start:
                    end = u
                    break
                if v in comp and v not in parent:
                    parent[v] = u
                    queue.append(v)
        assert end is not None  # every node of a strongly connected component leads back to `start`
        path = [end]
        while path[-1] != start:
            path.append(parent[path[-1]])
        cycles.append(path[::-1])
    return sorted(cycles, key=lambda c: index[c[0]])


def ordered(g: nx.MultiDiGraph) -> list[str]:
    """Topological order, ties broken by the nodes' order in the file (deterministic)."""
    return list(nx.lexicographical_topological_sort(g, key=lambda n: g.nodes[n].get("index", 0)))


def missing_module(pipeline: Pipeline, type_id: str, types: NodeRegistry) -> str:
    """What to say about a module type this installation cannot use, naming the package it needs."""
    problem = types.problem(type_id) or f"unknown module type '{type_id}'"
    if type_id in types:
        return problem
    package = pipeline.requires.get(type_id.split(".")[0])
    if package:
        return (f"module '{type_id}' is not installed: it comes from the plugin package '{package}' "
                f"(install it, e.g. `pip install {package}`); this branch cannot run until then")
    return f"{problem} (see `pipeline-designer nodes`; a plugin's module needs that plugin installed)"


def validate(pipeline: Pipeline, base_dir: str | Path = ".", registry: NodeRegistry | None = None,
             store: Path | None = None) -> Validation:
    """Check everything that can be checked without running, reporting every problem at once (`store`: the run
    store the run records into, where registered data sets are looked up)."""
    types = registry or default_registry()
    issues: list[Issue] = []
    params: dict[str, Any] = {}
    unavailable: dict[str, str] = {}
    g = build_graph(pipeline)

    for n in pipeline.nodes:
        cls = types.get(n.type)
        if cls is None:
            unavailable[n.id] = missing_module(pipeline, n.type, types)
            _err(issues, unavailable[n.id], node=n.id)
            continue
        parsed, errs = param_errors(n.id, cls, n.params)
        issues.extend(errs)
        if parsed is not None:
            params[n.id] = parsed

    by_id = {n.id: n for n in pipeline.nodes}
    taken: set[str] = set()
    for link in pipeline.links:  # cycles are reported once each, below
        reason = _port_problem(link, by_id, types, taken)
        if reason is not None:
            where = link.target_node if link.target_node in by_id else link.source_node
            port = link.target_port if link.target_node in by_id else link.source_port
            _err(issues, reason, node=where, port=port)
        else:
            taken.add(link.target)

    cycles = find_cycles(g)
    for cycle in cycles:
        _err(issues, f"cycle: {' → '.join(cycle + cycle[:1])}; a pipeline must not loop", node=cycle[0])

    _outside_writes(pipeline, types, params, Path(base_dir), issues)
    inbound = links_by_target(pipeline)
    for n in pipeline.nodes:
        cls = types.get(n.type)
        if cls is None:
            continue
        connected = {l.target_port for l in inbound[n.id]}
        for wanted in cls.inputs:
            if not wanted.optional and wanted.name not in connected:
                _err(issues, f"required {wanted.type.value} input is not connected", node=n.id, port=wanted.name)

    v = Validation(issues=issues, graph=g, params=params, unavailable=unavailable, inbound=inbound)
    if cycles:
        return v
    v.order = ordered(g)
    _propagate(pipeline, v, types, Path(base_dir), store)
    _check_labels(pipeline, v, types)
    return v


def _inputs_of(pipeline: Pipeline, v: Validation, node_id: str) -> dict[str, Any]:
    return {l.target_port: v.schemas[(l.source_node, l.source_port)] for l in v.inbound[node_id]
            if (l.source_node, l.source_port) in v.schemas}


def _check_labels(pipeline: Pipeline, v: Validation, types: NodeRegistry) -> None:
    """Refuse a fitted column step upstream of a Train whose selection includes that Train's label."""
    position = {n: i for i, n in enumerate(v.order)}
    by_id = {n.id: n for n in pipeline.nodes}
    for (node_id, _), spec in list(v.schemas.items()):
        label = getattr(spec, "label", None)
        if not isinstance(spec, ModelSpec) or not label:
            continue
        train = by_id[node_id]
        for up in sorted(nx.ancestors(v.graph, node_id), key=position.__getitem__):
            cls = types.get(by_id[up].type)
            if cls is None or up not in v.params:
                continue
            if label in cls().transforms(v.params[up], _inputs_of(pipeline, v, up)):
                _err(v.issues, f"its selection includes '{label}', the label that '{train.title or node_id}' "
                               f"({node_id}) learns to predict: a transformed label silently changes metrics and "
                               "predictions. Leave it out (add it to 'exclude'), or set allow_label to true if "
                               "this is really wanted", node=up, param="columns", column=label)


def _outside_writes(pipeline: Pipeline, types: NodeRegistry, params: dict[str, Any], base_dir: Path,
                    issues: list[Issue]) -> None:
    """Warn where a module writes a file (its `writes_files` parameters) outside the pipeline's folder: running
    a pipeline someone sent you should not quietly write into your home folder or over system files."""
    base = base_dir.resolve()
    for n in pipeline.nodes:
        cls, parsed = types.get(n.type), params.get(n.id)
        for name in (getattr(cls, "writes_files", ()) if cls is not None and parsed is not None else ()):
            value = getattr(parsed, name, None)
            if not isinstance(value, str) or not value:
                continue
            target = Path(value).expanduser()
            target = (target if target.is_absolute() else base / target).resolve()
            if not target.is_relative_to(base):
                issues.append(Issue("warning", f"writes outside the pipeline's folder: {target}",
                                    Location(node=n.id, param=name)))


def _propagate(pipeline: Pipeline, v: Validation, types: NodeRegistry, base_dir: Path,
               store: Path | None = None) -> None:
    failed_nodes = {i.location.node for i in v.errors}
    by_id = {n.id: n for n in pipeline.nodes}
    for node_id in v.order:
        node = by_id[node_id]
        cls = types.get(node.type)
        if cls is None or node_id not in v.params or node_id in failed_nodes:
            continue
        inputs: dict[str, Any] = {}
        upstream_ok = True
        for l in v.inbound[node_id]:
            key = (l.source_node, l.source_port)
            if key in v.schemas:
                inputs[l.target_port] = v.schemas[key]
            else:
                upstream_ok = False
        if not upstream_ok:
            continue
        streamed = sorted({s.streamed for s in inputs.values() if getattr(s, "streamed", None)})
        if streamed and not cls.streams:
            _err(v.issues, f"'{cls.title}' needs all rows in memory, but '{streamed[0]}' reads its file in chunks "
                           "(chunk_rows); only Select Columns, Edit Metadata, Score Model, Save CSV and Partition "
                           "and Sample take rows in chunks. Sample the rows first (Partition and Sample), or read "
                           "the whole file (chunk_rows 0)", node=node_id)
            continue
        ctx = SchemaContext(node_id=node_id, base_dir=base_dir, warnings=[], store=store)
        try:
            outputs = cls().schema(v.params[node_id], inputs, ctx)
        except BadInput as e:
            loc = e.location
            v.issues.append(Issue("error", e.message, Location(node=node_id, port=loc.port, param=loc.param,
                                                              column=loc.column, file=loc.file, line=loc.line)))
            continue
        for w in ctx.warnings:
            v.issues.append(Issue("warning", w, Location(node=node_id)))
        for port, schema in outputs.items():
            v.schemas[(node_id, port)] = schema
