"""Qt-free helpers of the Runs dock: table cells of a run, the run that trained a node, a stored pipeline copy."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from designer.core.pipeline import Pipeline, parse_pipeline
from designer.core.store import RunRecord, RunStore, local_time

KEY_METRICS = 3


when = local_time


def took(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.2f} s"
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def key_metrics(run: RunRecord, limit: int = KEY_METRICS) -> str:
    """The first few metrics by their short names, e.g. "r2=0.4526  rmse=53.85"."""
    items = list(run.flat_metrics.items())
    text = "  ".join(f"{k.rsplit('.', 1)[-1]}={number(v)}" for k, v in items[:limit])
    return text + ("  …" if len(items) > limit else "")


def run_cells(run: RunRecord) -> list[str]:
    """Run, status, started, took, metrics."""
    return [run.id, run.status, when(run.started_at), took(run.seconds), key_metrics(run)]


def latest_run_with_bundle(store: RunStore, pipeline_name: str, node: str) -> RunRecord | None:
    """The newest run of the pipeline that saved a trained model for `node`."""
    for summary in store.list_runs(pipeline_name):
        run = store.get_run(summary.id)
        if node in run.bundles():
            return run
    return None


def default_model_name(pipeline_name: str, node: str) -> str:
    """A valid model name suggested from the pipeline's name ("Diabetes regression" -> "diabetes_regression")."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", pipeline_name.strip().lower()).strip("_.-")
    return (name or node or "model")[:64]


def pipeline_of_run(run: RunRecord) -> tuple[Pipeline, Path | None]:
    """The pipeline exactly as the run ran it, with the file it belongs to when that file still exists.

    Relative data paths are rewritten from the folder the run read its data from to where the copy resolves
    them: the file's folder (another one for a run made before the pipeline was first saved), or without the
    file the current folder (as an unsaved document does), so the copy still finds the run's data.
    """
    from designer.core.document import rebase_paths

    pipeline = parse_pipeline(run.pipeline_text, f"run {run.id}")
    path = Path(run.pipeline_path) if run.pipeline_path else None
    if path is None or not path.is_file():
        path = None
    base = path.parent if path is not None else Path.cwd()
    if base != Path(run.base_dir):
        for (node, param), value in rebase_paths(pipeline, Path(run.base_dir), base).items():
            pipeline.node(node).params[param] = value
    return pipeline, path
