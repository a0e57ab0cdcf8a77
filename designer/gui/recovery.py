"""Autosaved recovery copies of unsaved work, and finding them again after a crash."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QStandardPaths

from designer.core.pipeline import Pipeline, atomic_write_text

ENV_DIR = "PIPELINE_DESIGNER_RECOVERY_DIR"


def recovery_dir() -> Path:
    """$PIPELINE_DESIGNER_RECOVERY_DIR, else the app data folder, else ~/.cache/pipeline-designer."""
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR]) / "recovery"
    base = QStandardPaths.writableLocation(QStandardPaths.AppDataLocation)
    return Path(base or Path.home() / ".cache" / "pipeline-designer") / "recovery"


@dataclass(frozen=True)
class Recovered:
    """A recovery copy left behind: the pipeline text, the file it belonged to, and when it was written."""

    file: Path
    original: str | None
    name: str
    saved_at: float

    def discard(self) -> None:
        self.file.unlink(missing_ok=True)
        self.file.with_suffix(".meta").unlink(missing_ok=True)


class Autosaver:
    """One window's recovery file: `save` writes it atomically, `clear` removes it."""

    def __init__(self) -> None:
        self.file = recovery_dir() / f"{uuid.uuid4().hex}.pipeline.json"

    def save(self, pipeline: Pipeline, original: Path | None) -> None:
        atomic_write_text(self.file, pipeline.to_json_text())
        meta = {"original": str(original) if original else None, "name": pipeline.name,
                "saved_at": time.time(), "pid": os.getpid()}
        atomic_write_text(self.file.with_suffix(".meta"), json.dumps(meta))

    def clear(self) -> None:
        Recovered(self.file, None, "", 0.0).discard()


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def find_recovered() -> list[Recovered]:
    """Recovery copies whose program is no longer running, newest first."""
    folder = recovery_dir()
    found = []
    for meta_file in folder.glob("*.meta") if folder.is_dir() else []:
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        file = meta_file.with_suffix(".json")
        if not file.is_file() or _alive(int(meta.get("pid", 0) or 0)):
            continue
        found.append(Recovered(file, meta.get("original"), str(meta.get("name", "")),
                               float(meta.get("saved_at", 0.0))))
    return sorted(found, key=lambda r: r.saved_at, reverse=True)
