"""The user's own settings, kept outside any repository: which plugins may be trusted in bundles.

`$PIPELINE_DESIGNER_CONFIG` names the file; else `$XDG_CONFIG_HOME/pipeline-designer/config.json`, else
`~/.config/pipeline-designer/config.json`. A missing or unreadable file means "no settings".
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ENV_CONFIG = "PIPELINE_DESIGNER_CONFIG"
MAX_BYTES = 1 << 20


def config_path() -> Path:
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pipeline-designer" / "config.json"


def load_config() -> dict[str, Any]:
    path = config_path()
    try:
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_config(data: dict[str, Any]) -> Path:
    from designer.core.pipeline import atomic_write_text

    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path


def enabled_plugins() -> set[str]:
    """Plugins the user enabled (`pipeline-designer plugins enable NAME`): their types load from bundles."""
    names = (load_config().get("plugins") or {}).get("enabled") or []
    return {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()


def set_plugin_enabled(name: str, enabled: bool) -> Path:
    data = load_config()
    plugins = data.setdefault("plugins", {}) if isinstance(data.get("plugins"), dict) else data.setdefault(
        "plugins", {})
    names = set(enabled_plugins())
    names = names | {name} if enabled else names - {name}
    plugins["enabled"] = sorted(names)
    return save_config(data)
