"""Runs of a document not saved yet: recorded in the user's own run store, and moved next to the file when the
document is first saved (`designer.core.store.move`), so the Runs dock of the saved pipeline lists them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from designer.core import document as d
from designer.core.lifecycle import RunSession
from designer.core.store import StoreError, store_for_pipeline
from designer.core.store.move import move_runs

if TYPE_CHECKING:
    from designer.gui.main_window import MainWindow


def _runs(n: int, verb: str = "") -> str:
    """'2 earlier runs', with a verb in the present: '1 earlier run stays', '2 earlier runs stay'."""
    return f"{n} earlier run{'s' * (n != 1)}" + (f" {verb}{'s' * (n == 1)}" if verb else "")


class UnsavedRuns:
    """The runs this window recorded for its document while it had no file (only this window's: other windows'
    runs in the same store stay theirs), moved next to the file once it has one."""

    def __init__(self, window: "MainWindow") -> None:
        self.w = window
        self.pending: dict[Path, list[str]] = {}
        """Run store -> ids of this document's runs recorded there, oldest first (kept after a failed move)."""
        self.moved: dict[str, str] = {}
        """Old run id -> id next to the file, of the last move."""
        self._problem = False  # the Runs dock shows why runs could not move
        self._document = 0  # counts the documents shown: a run of an earlier one is not this one's
        self._run_document = 0
        window.doc.subscribe(self._on_doc_change)
        window.runner.running_changed.connect(self._on_running)
        window.runner.recorded.connect(self._on_recorded)

    def _on_doc_change(self, change: d.Change) -> None:
        if change.kind == d.RESET:
            self._document += 1
            self.pending.clear()

    def _on_running(self, running: bool) -> None:
        if running:
            self._run_document = self._document

    def _on_recorded(self, session: RunSession) -> None:
        if (session.pipeline_path is not None or not session.run_id or session.store is None
                or self._run_document != self._document):
            return
        self.pending.setdefault(session.store, []).append(session.run_id)
        if self.w.doc.path is not None:  # saved while it ran: it follows the others at once
            note, ok = self.move_to(self.w.doc.path)
            if ok:
                session.run_id = self.moved.get(session.run_id, session.run_id)
                session.pipeline_path, session.store = self.w.doc.path, store_for_pipeline(self.w.doc.path)
            else:
                session.warnings.append(note)
            self.w.runs.note_recorded(session)

    def saved(self, path: Path) -> None:
        """The document was saved as `path`: its earlier runs move next to it; the status bar says so."""
        note, ok = self.move_to(path)
        if note:
            self.w.show_status(f"Saved {path} · {note}", 8000 if ok else 0)

    def move_to(self, path: Path) -> tuple[str, bool]:
        """Move the pending runs into the store of `path` and refresh the Runs dock: (a note for people, whether
        it worked). A failure keeps them where they are (and pending, for the next save)."""
        self.moved = {}
        if not self.pending:
            return "", True
        target = store_for_pipeline(path)
        kept: dict[str, str] = {}
        problems: list[str] = []
        same = False
        for source, ids in list(self.pending.items()):
            try:
                result = move_runs(source, target, ids, pipeline_path=path, pipeline_name=self.w.doc.pipeline.name)
            except StoreError as e:
                problems.append(f"{_runs(len(ids), 'stay')} in your own run store ({source}): {e}")
                continue
            del self.pending[source]
            self.moved.update(result.ids)
            kept.update(result.kept)
            same = same or result.target == Path(source).resolve()
        n = len(self.moved)
        notes = [f"{_runs(n, 'now belong')} to the file" if same else f"{_runs(n)} moved next to the file"] if n else []
        notes += [f"run {run_id} stays in your own run store: {why}" for run_id, why in kept.items()]
        if problems or self._problem:
            self.w.runs.note_problem("; ".join(problems))
        self._problem = bool(problems)
        self.w.runs.refresh()
        return " · ".join(notes + problems), not problems
