"""The one run lifecycle (DESIGN §1): `pipeline-designer run`, `runs reproduce` and the desktop app all
call `run_pipeline`. Writing outputs, recording in the run store, terminal progress and the Qt bridge are
`RunObserver`s of it, called in the order given:

    session = RunSession(pipeline, base_dir, out_dir=out)
    run_pipeline(session, observers=[progress, OutputWriter(out), StoreRecorder(store, warn)])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from designer.core.engine import Engine, Event, RunResult
from designer.core.pipeline import Pipeline


@dataclass
class RunSession:
    """One run: what to run, where, and what its observers found out (outputs, record, warnings)."""

    pipeline: Pipeline
    base_dir: Path
    upto: str | None = None
    pipeline_text: str | None = None
    """The text to record; None records the pipeline as serialised."""
    pipeline_path: Path | None = None
    overrides: list[str] = field(default_factory=list)
    reproduces: str | None = None
    out_dir: Path | None = None
    result: RunResult | None = None
    metrics: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    artifacts: list[Path] = field(default_factory=list)
    run_id: str | None = None
    store: Path | None = None
    warnings: list[str] = field(default_factory=list)
    """Problems outside the run itself (an unusable run store), one line each."""

    @property
    def text(self) -> str:
        return self.pipeline_text if self.pipeline_text is not None else self.pipeline.to_json_text()


class RunObserver:
    """Hooks around a run; subclasses override what they need. Exceptions from hooks propagate."""

    def begin(self, session: RunSession) -> None:
        """Before the engine starts."""

    def event(self, session: RunSession, event: Event) -> None:
        """Every engine event, in the thread that runs the pipeline."""

    def finish(self, session: RunSession) -> None:
        """After the engine returned; `session.result` is set."""

    def fail(self, session: RunSession, error: BaseException) -> None:
        """The engine raised (an invalid pipeline, Ctrl-C, a bug), or an earlier observer's `finish` did (the
        outputs could not be written); the error is re-raised afterwards."""


class EventCallback(RunObserver):
    """An observer that hands every event to a plain function."""

    def __init__(self, callback: Callable[[Event], None]) -> None:
        self.callback = callback

    def event(self, session: RunSession, event: Event) -> None:
        self.callback(event)


def run_pipeline(session: RunSession, *, engine: Engine | None = None, observers: Sequence[RunObserver] = (),
                 cancel: Callable[[], bool] | None = None, reuse: bool = True,
                 keep_outputs: bool = True) -> RunSession:
    """Run `session.pipeline` through `engine`, telling every observer. Raises what the engine raises."""
    from designer.core.runner import metrics_of

    engine = engine or Engine()
    for o in observers:
        o.begin(session)

    def on_event(event: Event) -> None:
        for o in observers:
            o.event(session, event)

    try:
        session.result = engine.run(session.pipeline, session.base_dir, upto=session.upto, on_event=on_event,
                                    cancel=cancel, reuse=reuse, keep_outputs=keep_outputs, store=session.store)
    except BaseException as e:
        for o in observers:
            o.fail(session, e)
        raise
    session.metrics = metrics_of(session.result)
    for i, o in enumerate(observers):
        try:
            o.finish(session)
        except BaseException as e:  # outputs could not be written (a full disk): later observers hear of it
            for later in observers[i + 1:]:
                later.fail(session, e)
            raise
    return session
