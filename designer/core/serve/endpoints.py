"""Running endpoints: each `serve` process registers itself in a small JSON file in the user's state folder
(`$PIPELINE_DESIGNER_STATE`, else `$XDG_STATE_HOME/pipeline-designer`, else `~/.local/state/pipeline-designer`),
one file per process, so registering needs no lock. Entries of processes that are gone are removed when read.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from designer.core.store.process import pid_alive, process_token

ENV_STATE = "PIPELINE_DESIGNER_STATE"
MAX_BYTES = 1 << 16


def state_folder() -> Path:
    if os.environ.get(ENV_STATE):
        return Path(os.environ[ENV_STATE]).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "pipeline-designer"


def endpoints_folder() -> Path:
    return state_folder() / "endpoints"


def register(info: dict[str, Any]) -> Path:
    """Record this process as a running endpoint (`info`: url, model, bundle, ...); returns the file."""
    from designer.core.pipeline import atomic_write_text

    pid = os.getpid()
    entry = {**info, "pid": pid, "token": process_token(pid), "started": info.get("started") or time.time()}
    folder = endpoints_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{pid}.json"
    atomic_write_text(path, json.dumps(entry, indent=2) + "\n")
    return path


def unregister(pid: int | None = None) -> None:
    (endpoints_folder() / f"{pid or os.getpid()}.json").unlink(missing_ok=True)


def list_endpoints() -> list[dict[str, Any]]:
    """The endpoints whose process is alive, oldest first; stale files are removed."""
    folder = endpoints_folder()
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            if path.stat().st_size > MAX_BYTES:
                continue
            entry = json.loads(path.read_text(encoding="utf-8"))
            pid = int(entry["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not pid_alive(pid, entry.get("token")):
            path.unlink(missing_ok=True)
            continue
        out.append(entry)
    return sorted(out, key=lambda e: e.get("started", 0))


def stop(entry: dict[str, Any], timeout: float = 15.0) -> bool:
    """Ask an endpoint to stop (SIGTERM: it finishes the requests it is answering) and wait until it is gone."""
    pid = int(entry["pid"])
    if not pid_alive(pid, entry.get("token")):
        unregister(pid)
        return True
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        unregister(pid)
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid, entry.get("token")):
            unregister(pid)
            return True
        time.sleep(0.05)
    return False
