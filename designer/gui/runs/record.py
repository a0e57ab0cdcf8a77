"""Recording a run started in the editor, exactly like a CLI run (Qt-free; called in the run's worker thread).

The editor keeps its own long-lived Engine (so unchanged nodes are reused); the run's facts come from the
RunResult through the same `RunRecorder` the CLI uses. GUI runs write no out/ folder, but every trained model
is saved as `<store folder>/runs/<run id>/<node>.bundle.zip` and recorded as an artifact, so it can be
registered like a model of a CLI run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from designer.core.engine import CancelToken, Engine, Event, RunResult
from designer.core.pipeline import Pipeline

RUNS_DIR = "runs"


@dataclass(frozen=True)
class RecordTarget:
    """Where a run of a saved pipeline is recorded: the store file and the pipeline file."""

    store: Path
    pipeline_path: Path


@dataclass
class Recorded:
    """What happened to the record of one run: its id (None when not recorded) and any store warnings."""

    store: Path | None = None
    run_id: str | None = None
    warnings: list[str] = field(default_factory=list)


def bundle_folder(store: Path, run_id: str) -> Path:
    """Where the trained models of a GUI run are kept: `<store folder>/runs/<run id>/`."""
    return store.parent / RUNS_DIR / run_id


def run_and_record(engine: Engine, pipeline: Pipeline, base_dir: Path, target: RecordTarget | None, *,
                   upto: str | None = None, on_event: Callable[[Event], None] | None = None,
                   cancel: CancelToken | None = None) -> tuple[RunResult, Recorded]:
    """Run with `engine` and record the run in `target`'s store; store trouble only adds warnings.

    Raises what `Engine.run` raises (an invalid pipeline), after recording the run as failed.
    """
    from designer.core.store_record import RunRecorder

    recorded = Recorded(store=target.store if target else None)
    if target is None:
        return engine.run(pipeline, base_dir, upto=upto, on_event=on_event, cancel=cancel), recorded
    recorder = RunRecorder(target.store, recorded.warnings.append)
    recorder.begin(pipeline, pipeline_text=pipeline.to_json_text(), base_dir=base_dir,
                   pipeline_path=target.pipeline_path, upto=upto)
    try:
        result = engine.run(pipeline, base_dir, upto=upto, on_event=on_event, cancel=cancel)
    except BaseException as e:
        recorder.fail(e)
        raise
    artifacts: list[Path] = []
    if recorder.run_id is not None:
        from designer.core.runner import write_bundles

        try:
            artifacts = write_bundles(pipeline, result, bundle_folder(target.store, recorder.run_id))
        except Exception as e:  # noqa: BLE001  (a full disk must not lose the run's record)
            recorded.warnings.append(f"the trained models of run {recorder.run_id} could not be saved: {e}")
    recorder.finish(pipeline, result, base_dir, artifacts)
    recorded.run_id = recorder.run_id
    return result, recorded
