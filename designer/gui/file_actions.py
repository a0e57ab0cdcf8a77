"""File actions of a main window: new, open, save, save as, recent files, autosave (the logic; the window
keeps the dialogs, so tests can answer them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer

from designer.core.errors import BadInput
from designer.core.pipeline import SUFFIX, Pipeline, load_pipeline, save_pipeline
from designer.core.registry import default_registry

if TYPE_CHECKING:
    from designer.gui.main_window import MainWindow

MAX_RECENT = 8


class FileActions:
    """Opens and saves the window's document. Calls between its public actions go through the window, whose
    methods tests and dialogs may replace."""

    def __init__(self, window: "MainWindow") -> None:
        self.w = window

    def confirm_discard(self) -> bool:
        """True when it is fine to drop the current document (saved, or the user said so)."""
        if self.w.stack.isClean():
            return True
        answer = self.w.ask_save_changes()
        if answer == "save":
            return self.w.save()
        return answer == "discard"

    def new_document(self) -> None:
        if not self.w.confirm_discard():
            return
        self.w.set_document(Pipeline(), None)

    def set_document(self, pipeline: Pipeline, path: Path | None, clean: bool = True) -> None:
        """Show another pipeline (from a file or a recovery copy); the undo history starts afresh."""
        self.w.runner.forget()
        self.w.doc.reset(pipeline, path)
        self.w.stack.clear()
        if not clean:
            self.w.stack.resetClean()
        self.w.autosaver.clear()
        self.w._update_title()
        self.restore_view(pipeline.layout.view)
        self.w.runner.restore(self.w.doc.snapshot(), self.w.doc.base_dir, path)

    def restore_view(self, view: dict[str, Any]) -> None:
        zoom, centre = view.get("zoom"), view.get("center")
        if isinstance(zoom, (int, float)) and isinstance(centre, list) and len(centre) == 2:
            self.w.view.set_zoom(float(zoom))
            self.w.view.centerOn(float(centre[0]), float(centre[1]))
        else:
            QTimer.singleShot(0, self.w.view.fit)
            self.w.view.fit()

    def open_dialog(self) -> None:
        if not self.w.confirm_discard():
            return
        path = self.w.ask_open_path()
        if path:
            self.w.open_file(path, confirm=False)

    def open_file(self, path: str | Path, confirm: bool = True) -> bool:
        """Open a pipeline file; a broken file shows the error and changes nothing."""
        if confirm and not self.w.confirm_discard():
            return False
        try:
            pipeline = load_pipeline(path)
        except BadInput as e:
            self.w.show_error("Cannot open pipeline", str(e))
            return False
        self.w.set_document(pipeline, Path(path))
        self.add_recent(Path(path))
        self.w.show_status(f"Opened {path}")
        return True

    def save(self) -> bool:
        if self.w.doc.path is None:
            return self.w.save_as()
        if not self._write(self.w.doc.path):
            return False
        self.w.unsaved_runs.saved(self.w.doc.path)  # runs that could not move at the first save try again
        return True

    def save_as(self) -> bool:
        chosen = self.w.ask_save_path()
        if not chosen:
            return False
        path = Path(chosen)
        if not path.name.endswith(SUFFIX):
            path = path.with_name(path.name.removesuffix(".json") + SUFFIX)
        path = path.resolve()
        if path.parent != self.w.doc.base_dir:
            self.w.editor.rebase_files(path.parent)
        if not self._write(path):
            return False
        self.w.doc.set_path(path)
        self.w.unsaved_runs.saved(path)  # the runs made before the first save move next to the file
        return True

    def _write(self, path: Path) -> bool:
        snapshot = self.w.doc.snapshot()
        centre = self.w.view.centre_scene_pos()
        snapshot.layout.view = {"zoom": round(self.w.view.zoom, 3), "center": [round(centre.x()), round(centre.y())]}
        snapshot.requires = default_registry().requirements((n.type for n in snapshot.nodes), snapshot.requires)
        try:
            save_pipeline(snapshot, path)
        except OSError as e:
            self.w.show_error("Cannot save pipeline", f"{path}: {e.strerror or e}")
            return False
        self.w.stack.setClean()
        self.w.autosaver.clear()
        self.add_recent(path)
        self.w.show_status(f"Saved {path}")
        return True

    def autosave(self) -> None:
        """Every 30 s: keep a recovery copy while there are unsaved changes."""
        if self.w.stack.isClean():
            self.w.autosaver.clear()
        else:
            try:
                self.w.autosaver.save(self.w.doc.snapshot(), self.w.doc.path)
            except OSError as e:
                self.w.show_status(f"Autosave failed: {e}")

    def recent_files(self) -> list[str]:
        value = self.w.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def add_recent(self, path: Path) -> None:
        files = [str(path)] + [f for f in self.recent_files() if f != str(path)]
        self.w.settings.setValue("recent", files[:MAX_RECENT])

    def fill_recent(self) -> None:
        self.w.recent_menu.clear()
        files = self.recent_files()
        for f in files:
            self.w.recent_menu.addAction(Path(f).name.removesuffix(SUFFIX), lambda f=f: self.w.open_file(f)) \
                .setToolTip(f)
        if not files:
            self.w.recent_menu.addAction("(none)").setEnabled(False)
