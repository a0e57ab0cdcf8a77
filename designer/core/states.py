"""The states shared by the engine, the CLI, the run store and the desktop app.

String-valued enums, so they read and compare like the plain words stored in files and databases.
"""

from __future__ import annotations

from enum import Enum


class EventKind(str, Enum):
    """What an engine `Event` reports about one node."""

    QUEUED = "queued"
    STARTED = "started"
    PROGRESS = "progress"
    FINISHED = "finished"
    CACHED = "cached"
    FAILED = "failed"
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return self.value


class NodeState(str, Enum):
    """A node's outcome in a run (`RunResult.status`) and what the editor shows on it."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "finished"
    CACHED = "cached"
    FAILED = "failed"
    SKIPPED = "skipped"
    STALE = "stale"  # the editor only: changed since it last ran

    def __str__(self) -> str:
        return self.value

    @classmethod
    def after(cls, kind: EventKind) -> "NodeState":
        """The state a node is in once `kind` was reported for it."""
        return _STATE_AFTER[kind]

    @property
    def settled(self) -> bool:
        """The node ran, was reused, failed or was skipped (not queued, running or stale)."""
        return self in (NodeState.DONE, NodeState.CACHED, NodeState.FAILED, NodeState.SKIPPED)

    @property
    def has_output(self) -> bool:
        return self in (NodeState.DONE, NodeState.CACHED)


_STATE_AFTER = {EventKind.QUEUED: NodeState.QUEUED, EventKind.STARTED: NodeState.RUNNING,
                EventKind.PROGRESS: NodeState.RUNNING, EventKind.FINISHED: NodeState.DONE,
                EventKind.CACHED: NodeState.CACHED, EventKind.FAILED: NodeState.FAILED,
                EventKind.SKIPPED: NodeState.SKIPPED}


class RunStatus(str, Enum):
    """A whole run's status, as recorded in the run store."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    def __str__(self) -> str:
        return self.value
