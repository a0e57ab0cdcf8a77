"""The user's own settings, kept outside any repository: which plugins may be trusted in bundles, and named
database connections (their URLs, passwords included, never sit in pipeline files).

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


CONNECTION_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"


def connections() -> dict[str, str]:
    """Named database connections: {name: SQLAlchemy URL}."""
    conns = load_config().get("connections") or {}
    if not isinstance(conns, dict):
        return {}
    return {k: v["url"] if isinstance(v, dict) else v for k, v in conns.items()
            if isinstance(k, str) and isinstance(v.get("url") if isinstance(v, dict) else v, str)}


def set_connection(name: str, url: str | None) -> Path:
    """Save (or with None forget) a named connection; the file is made readable by its owner only."""
    import re

    from designer.core.errors import BadInput

    if not re.fullmatch(CONNECTION_NAME, name or ""):
        raise BadInput(f"'{name}' is not a valid connection name (letters, digits, '_', '.', '-')")
    data = load_config()
    found = data.get("connections")
    conns: dict[str, Any] = found if isinstance(found, dict) else {}
    if url is None:
        if name not in conns:
            raise BadInput(f"no connection '{name}' (connections: {', '.join(sorted(conns)) or 'none'})")
        conns.pop(name)
    else:
        if "://" not in url:
            raise BadInput(f"'{redact_url(url)}' is not a database URL (like postgresql+psycopg://user@host/db or "
                           "sqlite:///file.db)")
        conns[name] = {"url": url}
    data["connections"] = conns
    path = save_config(data)
    os.chmod(path, 0o600)
    return path


def redact_url(url: str) -> str:
    """The URL with its password replaced by ***."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.hostname or ""
        netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "(unreadable URL)"
