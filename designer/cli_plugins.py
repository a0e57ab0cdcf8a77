"""`pipeline-designer plugins list|enable|disable`: installed module plugins and which are trusted in bundles."""

from __future__ import annotations

import argparse
import json
from typing import Any

EXIT_OK = 0


def _registry() -> Any:
    from designer.core.registry import default_registry

    return default_registry()


def cmd_plugins_list(args: argparse.Namespace) -> int:
    from designer.core.config import config_path, enabled_plugins

    plugins = sorted(_registry().plugins.values(), key=lambda p: p.name)
    for p in plugins:  # import each plugin's modules, so a broken one shows its error
        if p.error is None:
            _registry().load_plugin(p.name)
    enabled = enabled_plugins()
    if args.json:
        print(json.dumps([{**p.to_json(), "enabled": p.name in enabled} for p in plugins], indent=2))
        return EXIT_OK
    if not plugins:
        print("no plugins installed (a plugin is a package with a 'pipeline_designer.modules' entry point)")
        return EXIT_OK
    for p in plugins:
        state = "BROKEN" if p.error else ("enabled for bundles" if p.name in enabled else "not enabled for bundles")
        print(f"{p.name:<20} {p.package} {p.version}  [{state}]")
        if p.modules:
            print(f"    modules: {', '.join(p.modules)}")
        if p.error:
            print(f"    error: {p.error}")
    print(f"(enabled plugins are kept in {config_path()})")
    return EXIT_OK


def _set(args: argparse.Namespace, enabled: bool) -> int:
    from designer.core.config import set_plugin_enabled
    from designer.core.errors import BadInput

    plugins = _registry().plugins
    if enabled and args.name not in plugins:
        known = ", ".join(sorted(plugins)) or "none"
        raise BadInput(f"no installed plugin '{args.name}' (installed: {known})")
    if enabled and plugins[args.name].error:
        raise BadInput(f"plugin '{args.name}' is broken: {plugins[args.name].error}")
    path = set_plugin_enabled(args.name, enabled)
    verb = "enabled" if enabled else "disabled"
    print(f"plugin '{args.name}' {verb}: bundles holding its fitted steps or models "
          f"{'now load' if enabled else 'are refused'} (saved in {path})")
    return EXIT_OK


def cmd_plugins_enable(args: argparse.Namespace) -> int:
    return _set(args, True)


def cmd_plugins_disable(args: argparse.Namespace) -> int:
    return _set(args, False)


def add_plugin_commands(sub: Any) -> None:
    """Register `plugins` on the main parser's subparsers."""
    p = sub.add_parser("plugins", help="module plugins: list them, enable or disable them for bundles",
                       description="Plugins add modules through the 'pipeline_designer.modules' entry point. "
                                   "Their modules are usable once installed; a trained bundle that holds a "
                                   "plugin's fitted step or model loads only after `plugins enable NAME`.")
    psub = p.add_subparsers(dest="plugins_command", metavar="COMMAND", required=True)
    q = psub.add_parser("list", help="installed plugins, their modules, errors and whether they are enabled")
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.set_defaults(func=cmd_plugins_list)
    q = psub.add_parser("enable", help="trust a plugin's types in bundles (kept in your user config)")
    q.add_argument("name", help="the plugin's name, as `plugins list` shows it")
    q.set_defaults(func=cmd_plugins_enable)
    q = psub.add_parser("disable", help="stop trusting a plugin's types in bundles")
    q.add_argument("name", help="the plugin's name")
    q.set_defaults(func=cmd_plugins_disable)
