"""The module registry: node types found through the entry-point group `pipeline_designer.modules`.

Each entry point names a light manifest (a dict: namespaces, and per module its type id, title, category
and "package.module:Class"), so listing modules imports no module code; a class is imported the first
time it is needed. The built-ins register through the project's own entry point (`nodes.manifest`).
A plugin that fails to load, or whose type ids clash with another package's, is listed with its error
and never breaks the app or the other modules. Tests build their own `NodeRegistry` and `add` classes.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from designer.core.errors import BadInput

if TYPE_CHECKING:
    from designer.core.node import NodeType

GROUP = "pipeline_designer.modules"
BUILTIN = "pipeline-designer"
ENV_NO_PLUGINS = "PIPELINE_DESIGNER_NO_PLUGINS"


@dataclass(frozen=True)
class ModuleInfo:
    """What the palette needs about a module, from its manifest."""

    type_id: str
    title: str
    category: str
    target: str  # "package.module:Class"
    package: str  # the distribution that ships it
    plugin: str | None = None  # the plugin's entry-point name; None for built-ins and test modules


@dataclass
class PluginInfo:
    """An installed plugin: where it comes from, its modules, and why it is unusable (if it is)."""

    name: str
    package: str
    version: str
    namespaces: tuple[str, ...] = ()
    modules: list[str] = field(default_factory=list)
    roots: set[str] = field(default_factory=set)  # top-level import packages of its code
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "package": self.package, "version": self.version,
                "namespaces": list(self.namespaces), "modules": self.modules, "error": self.error}


def _bad_manifest(what: str, why: str) -> ValueError:
    return ValueError(f"{what}: bad module manifest: {why}")


def parse_manifest(manifest: Any, what: str) -> tuple[list[str], list[tuple[str, str, str, str]]]:
    """(namespaces, [(type id, title, category, target)]) of a manifest, or ValueError naming what is wrong."""
    if not isinstance(manifest, Mapping):
        raise _bad_manifest(what, "expected a dict with 'namespaces' and 'modules'")
    spaces = manifest.get("namespaces") or []
    modules = manifest.get("modules")
    if not isinstance(spaces, list) or not all(isinstance(s, str) and s for s in spaces):
        raise _bad_manifest(what, "'namespaces' must be a list of names")
    if not isinstance(modules, list):
        raise _bad_manifest(what, "'modules' must be a list")
    out = []
    for i, m in enumerate(modules):
        keys = ("type", "title", "category", "class")
        if not isinstance(m, Mapping) or not all(isinstance(m.get(k), str) and m.get(k) for k in keys):
            raise _bad_manifest(what, f"modules[{i}] needs the texts {', '.join(keys)}")
        if ":" not in m["class"]:
            raise _bad_manifest(what, f"modules[{i}].class must look like 'package.module:Class'")
        out.append((m["type"], m["title"], m["category"], m["class"]))
    return list(spaces), out


class NodeRegistry:
    """Node types by type id; classes are imported on first use."""

    def __init__(self) -> None:
        self._info: dict[str, ModuleInfo] = {}
        self._classes: dict[str, type[NodeType]] = {}
        self._failed: dict[str, str] = {}
        self._spaces: dict[str, str] = {}  # namespace -> package that owns it
        self.plugins: dict[str, PluginInfo] = {}

    # -------------------------------------------------------------------------------------- filling
    def add(self, cls: type[NodeType], *, package: str = "local") -> type[NodeType]:
        """Register a class directly (tests, scripts). Usable as a decorator through functools.partial."""
        if cls.type_id in self._info:
            raise ValueError(f"module type '{cls.type_id}' registered twice "
                             f"({self._info[cls.type_id].package} and {package})")
        self._info[cls.type_id] = ModuleInfo(cls.type_id, cls.title, cls.category,
                                             f"{cls.__module__}:{cls.__qualname__}", package)
        self._classes[cls.type_id] = cls
        return cls

    def add_manifest(self, manifest: Any, *, package: str, version: str = "", plugin: str | None = None) -> None:
        """Add a manifest's modules. A plugin's is refused whole when it clashes; the reason is kept."""
        what = f"plugin '{plugin}' ({package})" if plugin else package
        info = PluginInfo(plugin, package, version) if plugin else None
        try:
            spaces, modules = parse_manifest(manifest, what)
            if plugin:
                self._check_plugin(spaces, modules, package)
        except ValueError as e:
            if info is None:
                raise
            info.error = str(e)
            self.plugins[info.name] = info
            return
        for space in spaces:
            self._spaces.setdefault(space, package)
        for type_id, title, category, target in modules:
            self._info[type_id] = ModuleInfo(type_id, title, category, target, package, plugin)
        if info is not None:
            info.namespaces, info.modules = tuple(spaces), [m[0] for m in modules]
            info.roots = {m[3].split(":")[0].split(".")[0] for m in modules}
            self.plugins[info.name] = info

    def _check_plugin(self, spaces: list[str], modules: list[tuple[str, str, str, str]], package: str) -> None:
        if not spaces:
            raise ValueError(f"{package}: a plugin must declare its 'namespaces' (type ids are 'namespace.name')")
        for space in spaces:
            owner = self._spaces.get(space)
            if owner is not None and owner != package:
                raise ValueError(f"namespace '{space}' of {package} is already used by {owner}; "
                                 f"{package} is not loaded")
        for type_id, *_ in modules:
            if type_id.split(".")[0] not in spaces or "." not in type_id:
                raise ValueError(f"{package}: module type '{type_id}' is outside its namespaces "
                                 f"({', '.join(spaces)})")
            if type_id in self._info:
                raise ValueError(f"module type '{type_id}' is defined by both {self._info[type_id].package} and "
                                 f"{package}; {package} is not loaded")

    @classmethod
    def from_entry_points(cls, plugins: bool | None = None) -> "NodeRegistry":
        """Built-ins, then (unless `plugins` is False or $PIPELINE_DESIGNER_NO_PLUGINS is set) every plugin."""
        from importlib.metadata import entry_points

        if plugins is None:
            plugins = not os.environ.get(ENV_NO_PLUGINS)
        reg = cls()
        found = sorted(entry_points(group=GROUP), key=lambda ep: (ep.dist is None or ep.dist.name != BUILTIN,
                                                                  ep.name))
        builtin_seen = False
        for ep in found:
            package = ep.dist.name if ep.dist is not None else "?"
            version = ep.dist.version if ep.dist is not None else ""
            if package == BUILTIN:
                builtin_seen = True
                reg.add_manifest(ep.load(), package=BUILTIN, version=version)
            elif plugins:
                try:
                    manifest = ep.load()
                except Exception as e:  # noqa: BLE001  (a broken plugin never breaks the app)
                    reg.plugins[ep.name] = PluginInfo(ep.name, package, version,
                                                      error=f"its manifest failed to load: {type(e).__name__}: {e}")
                    continue
                reg.add_manifest(manifest, package=package, version=version, plugin=ep.name)
        if not builtin_seen:
            raise RuntimeError(f"the built-in modules are not registered (no '{GROUP}' entry point of "
                               f"{BUILTIN}); install the project, e.g. `pip install -e .`")
        return reg

    # -------------------------------------------------------------------------------------- looking up
    def __contains__(self, type_id: object) -> bool:
        return type_id in self._info

    def info(self, type_id: str) -> ModuleInfo | None:
        return self._info.get(type_id)

    def infos(self) -> list[ModuleInfo]:
        return sorted(self._info.values(), key=lambda i: (i.category, i.type_id))

    def get(self, type_id: str) -> type[NodeType] | None:
        """The class of `type_id`, imported now if needed; None when unknown or when its code fails."""
        cls = self._classes.get(type_id)
        if cls is not None or type_id in self._failed:
            return cls
        info = self._info.get(type_id)
        if info is None:
            return None
        try:
            module, _, name = info.target.partition(":")
            obj: Any = importlib.import_module(module)
            for part in name.split("."):
                obj = getattr(obj, part)
            if getattr(obj, "type_id", None) != type_id:
                raise ValueError(f"{info.target} has type id '{getattr(obj, 'type_id', None)}', not '{type_id}'")
        except Exception as e:  # noqa: BLE001  (a broken plugin never breaks the app)
            self._failed[type_id] = f"{type(e).__name__}: {e}"
            if info.plugin and info.plugin in self.plugins and not self.plugins[info.plugin].error:
                self.plugins[info.plugin].error = f"module '{type_id}' failed to import: {self._failed[type_id]}"
            return None
        self._classes[type_id] = obj
        return obj

    def problem(self, type_id: str) -> str | None:
        """Why `type_id` cannot be used here, or None when it can."""
        info = self._info.get(type_id)
        if info is None:
            return f"unknown module type '{type_id}'"
        if self.get(type_id) is None:
            return f"module '{type_id}' from {info.package} failed to load: {self._failed.get(type_id)}"
        return None

    def require(self, type_id: str, node: str | None = None) -> type[NodeType]:
        cls = self.get(type_id)
        if cls is None:
            raise BadInput(self.problem(type_id) or f"unknown module type '{type_id}'", node=node)
        return cls

    def types(self) -> dict[str, type[NodeType]]:
        """Every loadable class (imports them all)."""
        out = {}
        for type_id in self._info:
            cls = self.get(type_id)
            if cls is not None:
                out[type_id] = cls
        return out

    def plugin_of(self, type_id: str) -> PluginInfo | None:
        info = self._info.get(type_id)
        return self.plugins.get(info.plugin) if info is not None and info.plugin else None

    def owner_of_class(self, qualified: str) -> PluginInfo | None:
        """The plugin whose code defines the class named `module.Class`, if any."""
        root = qualified.split(".")[0]
        return next((p for p in self.plugins.values() if root in p.roots), None)

    def load_plugin(self, name: str) -> None:
        """Import every module class of a plugin (so the types it declares for bundles are known)."""
        for type_id in self.plugins[name].modules:
            self.get(type_id)

    def namespace_owner(self, space: str) -> str | None:
        return self._spaces.get(space)

    def requirements(self, type_ids: Iterable[str], known: Mapping[str, str]) -> dict[str, str]:
        """{namespace: package} of the plugins these module types come from: for installed ones from their
        plugin, for missing ones as `known` (a pipeline file's `requires`) says, so saving loses nothing."""
        out = {}
        for type_id in type_ids:
            space = type_id.split(".")[0]
            plugin = self.plugin_of(type_id)
            if plugin is not None:
                out[space] = plugin.package
            elif type_id not in self._info and space in known:
                out[space] = known[space]
        return dict(sorted(out.items()))

    def catalogue(self) -> list[dict[str, Any]]:
        """Every usable node type with its ports and parameters (defaults, bounds, choices, descriptions)."""
        out = []
        for info in self.infos():
            cls = self.get(info.type_id)
            if cls is None:
                continue
            schema = cls.Params.model_json_schema()
            out.append({
                "type": info.type_id, "title": cls.title, "category": cls.category, "help": cls.help(),
                "package": info.package,
                "inputs": [{"name": p.name, "type": p.type.value, "optional": p.optional} for p in cls.inputs],
                "outputs": [{"name": p.name, "type": p.type.value} for p in cls.outputs],
                "params": schema.get("properties", {}), "definitions": schema.get("$defs", {}),
            })
        return out


_default: NodeRegistry | None = None


def default_registry() -> NodeRegistry:
    """The process's registry (built from entry points on first use)."""
    global _default
    if _default is None:
        _default = NodeRegistry.from_entry_points()
    return _default


def set_default_registry(registry: NodeRegistry | None) -> None:
    """Replace the process's registry (`--no-plugins`, tests); None rebuilds it on next use."""
    global _default
    _default = registry


def node_type(type_id: str, node: str | None = None) -> type[NodeType]:
    return default_registry().require(type_id, node)
