"""Where a run store lives.

- `run`: `--store PATH`, else `$PIPELINE_DESIGNER_STORE`, else `.pipeline-designer/runs.sqlite` beside
  the pipeline file.
- `runs` / `models` / `score NAME`: `--store PATH`, else `$PIPELINE_DESIGNER_STORE`, else the
  `.pipeline-designer/` folder of the current folder or its nearest parent that has one.

PATH may name the store folder (`runs.sqlite` inside) or the SQLite file itself (`*.sqlite`, `*.db`).
Registered model bundles are copied to `<store folder>/models/<NAME>/<VERSION>/`; data set snapshots are
Parquet files in `<store folder>/datasets/objects/`, named by their content.
"""

from __future__ import annotations

import os
from pathlib import Path

from designer.core.store.errors import StoreError

STORE_DIR = ".pipeline-designer"
STORE_FILE = "runs.sqlite"
MODELS_DIR = "models"
DATASETS_DIR = "datasets"
ENV_STORE = "PIPELINE_DESIGNER_STORE"
ENV_TIMEOUT = "PIPELINE_DESIGNER_STORE_TIMEOUT"
DEFAULT_TIMEOUT = 10.0


SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")


def store_file(path: str | os.PathLike[str]) -> Path:
    """`--store PATH` / `$PIPELINE_DESIGNER_STORE`: a folder (holding runs.sqlite) or the SQLite file itself.

    A name ending in .sqlite, .sqlite3 or .db always names the file, even where a folder has that name (the
    store then refuses it), so a `runs.sqlite` folder never silently gets a store of its own inside.
    """
    p = Path(path).expanduser()
    if p.suffix.lower() in SQLITE_SUFFIXES or (p.exists() and not p.is_dir()):
        return p
    return p / STORE_FILE


def store_for_pipeline(pipeline_path: str | os.PathLike[str], option: str | None = None) -> Path:
    """Where `run` records: the option, else the environment, else `.pipeline-designer/` beside the pipeline."""
    if option:
        return store_file(option)
    env = os.environ.get(ENV_STORE)
    if env:
        return store_file(env)
    return Path(pipeline_path).resolve().parent / STORE_DIR / STORE_FILE


def user_store() -> Path:
    """The store of pipelines not saved yet (the desktop app): `$PIPELINE_DESIGNER_STORE`, else the user's own
    `$XDG_DATA_HOME/pipeline-designer/runs.sqlite` (~/.local/share/...)."""
    env = os.environ.get(ENV_STORE)
    if env:
        return store_file(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "pipeline-designer" / STORE_FILE


def find_store(option: str | None = None, start: str | os.PathLike[str] | None = None) -> Path:
    """The store the `runs`/`models` commands use; StoreError when there is none."""
    chosen = option or os.environ.get(ENV_STORE)
    if chosen:
        path = store_file(chosen)
        if not path.is_file():
            how = "--store" if option else f"${ENV_STORE}"
            raise StoreError(f"no run store at {path} (named by {how})", file=str(path))
        return path
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / STORE_DIR
        if candidate.is_dir():
            if (candidate / STORE_FILE).is_dir():
                raise StoreError("is a folder, not a run store file", file=str(candidate / STORE_FILE))
            if not (candidate / STORE_FILE).is_file():
                raise StoreError(f"{candidate} holds no {STORE_FILE}: no run has been recorded there yet")
            return candidate / STORE_FILE
    raise StoreError(f"no run store: neither {here} nor any parent folder has a {STORE_DIR} folder. "
                     f"Run a pipeline first (it records beside the pipeline file), or pass --store PATH "
                     f"or set {ENV_STORE}.")


def timeout_from_env(default: float = DEFAULT_TIMEOUT) -> float:
    try:
        return max(0.0, float(os.environ.get(ENV_TIMEOUT, default)))
    except ValueError:
        return default
