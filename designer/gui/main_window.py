"""The main window: canvas, module palette, property panel, menus, toolbar, status bar, files and runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence, QUndoStack
from PySide6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QLabel, QMainWindow, QMenu, QMessageBox,
                               QProgressBar, QToolButton, QWidget)

from designer.core import document as d
from designer.core.pipeline import SUFFIX, Pipeline
from designer.core.registry import default_registry
from designer.core.store import store_for_pipeline
from designer.core.validate import Validation
from designer.gui.add_actions import AddActions
from designer.gui.add_menu import AddMenu
from designer.gui.canvas.node_item import NodeItem, PortItem
from designer.gui.canvas.scene import PipelineScene
from designer.gui.canvas.view import PipelineView
from designer.gui.editor import Editor
from designer.gui.file_actions import FileActions
from designer.gui.outputs import OutputsPanel, add_open_actions, kinds_for, output_of
from designer.gui.palette import Palette
from designer.gui.properties.panel import PropertyPanel, unwrap
from designer.gui.recovery import Autosaver
from designer.gui.run_actions import RunActions
from designer.gui.runner import RunController
from designer.gui.runs.panel import RunsPanel
from designer.gui.theme import apply_theme, icon
from designer.gui.unsaved_runs import UnsavedRuns
from designer.gui.validation import BackgroundValidator

APP = "Pipeline Designer"
FILE_FILTER = f"Pipelines (*{SUFFIX});;JSON files (*.json);;All files (*)"
AUTOSAVE_MS = 30_000


class MainWindow(QMainWindow):
    """One pipeline document with its undo stack, scene, panels and one Engine (so runs reuse outputs)."""

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings()
        self.doc = d.Document()
        self.stack = QUndoStack(self)
        self.editor = Editor(self.doc, self.stack)
        self.runner = RunController(self)
        self.scene = PipelineScene(self.editor)
        self.view = PipelineView(self.scene)
        self.setCentralWidget(self.view)
        self.palette = Palette()
        self.panel = PropertyPanel(self.editor, self.runner)
        self.palette_dock = self._dock("Modules", self.palette, Qt.LeftDockWidgetArea)
        self.panel_dock = self._dock("Properties", self.panel, Qt.RightDockWidgetArea)
        self.outputs = OutputsPanel(lambda node, port: output_of(self.runner, self.doc.pipeline, node, port))
        self.outputs_dock = self._dock("Outputs", self.outputs, Qt.BottomDockWidgetArea)
        self.outputs_dock.hide()
        self.outputs_dock.visibilityChanged.connect(lambda visible: visible and self._refresh_outputs())
        self.runs = RunsPanel()
        self.runs_dock = self._dock("Runs", self.runs, Qt.BottomDockWidgetArea)
        self.tabifyDockWidget(self.outputs_dock, self.runs_dock)
        self.runs_dock.hide()
        self._menu: QMenu | None = None
        self.autosaver = Autosaver()
        self.adder = AddActions(self)
        self.windows: list[MainWindow] = []
        self.files = FileActions(self)
        self.run_actions = RunActions(self)
        self._icons: dict[QAction, str] = {}

        self.validator = BackgroundValidator(self.doc, parent=self)
        self.validator.validated.connect(self._apply_validation)
        self._autosave_timer = QTimer(self, interval=AUTOSAVE_MS)
        self._autosave_timer.timeout.connect(self.autosave)
        self._autosave_timer.start()

        self._make_actions()
        self._make_menus()
        self._make_toolbar()
        self._make_status_bar()

        self.doc.subscribe(self._on_doc_change)
        self.stack.cleanChanged.connect(self._update_title)
        self.editor.status.connect(self.show_status)
        self.scene.status_message.connect(self.show_status)
        self.scene.selectionChanged.connect(self._selection_changed)
        self.scene.link_dropped.connect(self.adder.quick_add)
        self.scene.node_activated.connect(self.show_outputs)
        self.scene.installEventFilter(self)  # right-click menus of ports and nodes
        self.view.add_menu_requested.connect(self.adder.tab_menu)
        self.view.module_dropped.connect(lambda type_id, pos: self.adder.add(type_id, pos))
        self.view.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        self.palette.add_requested.connect(lambda type_id: self.adder.add(
            type_id, self.view.centre_scene_pos(), from_selection=True, beside_selection=True))
        self.runner.state_changed.connect(self.run_actions.on_run_state)
        self.runner.running_changed.connect(self.run_actions.running_changed)
        self.runner.recorded.connect(self.runs.note_recorded)
        self.unsaved_runs = UnsavedRuns(self)  # after the Runs dock: it hears of a run after the dock does
        self.runner.finished.connect(self.run_actions.run_finished)
        self.runs.open_pipeline.connect(self.open_run_pipeline)
        self.runs.reproduce.connect(lambda p, path, run_id: self.open_run_pipeline(p, path, run_id, reproduce=True))
        self.runs.status.connect(self.show_status)
        self.runner.stopping.connect(self.run_actions.stopping)
        self.runner.restored.connect(self.run_actions.results_restored)
        self.runner.failed_to_start.connect(lambda msg: self.show_status(f"Cannot run: {msg.splitlines()[0]}"))

        self.resize(1440, 900)
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.run_actions.running_changed(False)
        self._update_title()
        self._update_runs_target()
        self.validate_now()

    # ------------------------------------------------------------------------------------ construction
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{title}Dock")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot: Callable[[], Any], shortcut: Any = None, icon_name: str = "",
                tip: str = "", canvas: bool = False, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
        if icon_name:
            action.setIcon(icon(icon_name))
            self._icons[action] = icon_name
        action.setCheckable(checkable)
        if tip or shortcut:
            first = action.shortcut().toString(QKeySequence.NativeText)
            action.setToolTip(f"{tip or text.replace('&', '').rstrip('…')}" + (f" ({first})" if first else ""))
        action.triggered.connect(lambda checked=False: slot())
        if canvas:  # single keys and editing keys only act while the canvas has focus
            action.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            self.view.addAction(action)
        else:
            self.addAction(action)
        return action

    def _make_actions(self) -> None:
        K = QKeySequence
        self.act_new = self._action("&New", self.new_document, K.New, "new", "New pipeline")
        self.act_open = self._action("&Open…", self.open_dialog, K.Open, "open", "Open a pipeline file")
        self.act_save = self._action("&Save", self.save, K.Save, "save", "Save the pipeline")
        self.act_save_as = self._action("Save &As…", self.save_as, K.SaveAs)
        self.act_quit = self._action("&Quit", self.close, K.Quit)
        self.act_export_python = self._action("&Python Script…", self.export_python,
                                              tip="Write the pipeline as a plain scikit-learn script")
        self.act_undo = self.stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcuts(K.Undo)
        self.act_undo.setIcon(icon("undo"))
        self._icons[self.act_undo] = "undo"
        self.act_redo = self.stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([K("Ctrl+Shift+Z"), K("Ctrl+Y")])
        self.act_redo.setIcon(icon("redo"))
        self._icons[self.act_redo] = "redo"
        self.addActions([self.act_undo, self.act_redo])
        self.act_cut = self._action("Cu&t", self.cut, K.Cut, canvas=True)
        self.act_copy = self._action("&Copy", self.copy, K.Copy, canvas=True)
        self.act_paste = self._action("&Paste", self.paste, K.Paste, canvas=True)
        self.act_duplicate = self._action("&Duplicate", self.duplicate, "Ctrl+D", canvas=True)
        self.act_delete = self._action("De&lete", self.delete_selection, [K(Qt.Key_Delete), K(Qt.Key_Backspace)],
                                       canvas=True)
        self.act_select_all = self._action("Select &All", self.select_all, K.SelectAll, canvas=True)
        self.act_add = self._action("Add &Module…", lambda: self.adder.tab_menu(*self.view.cursor_scene_pos()), "Tab",
                                    "add", "Add a module at the cursor")
        self.act_add.setShortcutContext(Qt.WidgetShortcut)  # Tab itself is handled by the view
        self.act_note = self._action("Add &Note", self.add_note, "N", "note", "Add a text note", canvas=True)
        self.act_arrange = self._action("&Arrange Left to Right", self.arrange, "Ctrl+L", "arrange",
                                        "Lay the pipeline out left to right")
        self.act_fit = self._action("&Fit View", self.view.fit, "F", "fit", "Show the whole pipeline", canvas=True)
        self.act_zoom_in = self._action("Zoom &In", lambda: self.view.set_zoom(self.view.zoom * 1.25), K.ZoomIn)
        self.act_zoom_out = self._action("Zoom &Out", lambda: self.view.set_zoom(self.view.zoom / 1.25), K.ZoomOut)
        self.act_zoom_reset = self._action("&Actual Size", lambda: self.view.set_zoom(1.0), "Ctrl+0")
        self.act_snap = self._action("&Snap to Grid", self._toggle_snap, "G", "grid", "Snap nodes to the grid",
                                     canvas=True, checkable=True)
        self.act_minimap = self._action("Show &Minimap", self._toggle_minimap, "M", canvas=True, checkable=True)
        self.act_minimap.setChecked(True)
        self.act_run = self._action("&Run", self.run, "F5", "run", "Run the pipeline")
        self.act_run_upto = self._action("Run &Up to Selected", self.run_to_selected, "F6", "run-upto",
                                         "Run only what the selected node needs")
        self.act_stop = self._action("S&top", self.runner.stop, "Shift+F5", "stop", "Stop the run")
        self.act_shortcuts = self._action("&Keyboard Shortcuts", self.show_shortcuts, "F1")
        self.act_about = self._action("&About", self.show_about)

    def _make_menus(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        m.addActions([self.act_new, self.act_open])
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self.files.fill_recent)
        m.addSeparator()
        m.addActions([self.act_save, self.act_save_as])
        m.addSeparator()
        m.addMenu("&Export").addAction(self.act_export_python)
        m.addSeparator()
        m.addAction(self.act_quit)
        m = bar.addMenu("&Edit")
        m.addActions([self.act_undo, self.act_redo])
        m.addSeparator()
        m.addActions([self.act_cut, self.act_copy, self.act_paste, self.act_duplicate, self.act_delete])
        m.addSeparator()
        m.addActions([self.act_select_all, self.act_add, self.act_note, self.act_arrange])
        m = bar.addMenu("&View")
        m.addActions([self.act_fit, self.act_zoom_in, self.act_zoom_out, self.act_zoom_reset])
        m.addSeparator()
        m.addActions([self.act_snap, self.act_minimap])
        m.addSeparator()
        m.addAction(self.palette_dock.toggleViewAction())
        m.addAction(self.panel_dock.toggleViewAction())
        outputs = self.outputs_dock.toggleViewAction()
        outputs.setShortcut(QKeySequence("Ctrl+Shift+O"))
        m.addAction(outputs)
        runs = self.runs_dock.toggleViewAction()
        runs.setText("&Runs and Models")
        runs.setShortcut(QKeySequence("Ctrl+Shift+R"))
        m.addAction(runs)
        theme_menu = m.addMenu("&Theme")
        for mode in ("system", "light", "dark"):
            theme_menu.addAction(mode.title(), lambda mode=mode: self.set_theme(mode))
        m = bar.addMenu("&Run")
        m.addActions([self.act_run, self.act_run_upto, self.act_stop])
        m = bar.addMenu("&Help")
        m.addActions([self.act_shortcuts, self.act_about])

    def _make_toolbar(self) -> None:
        tb = self.addToolBar("Main")
        tb.setObjectName("MainToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        for action in (self.act_new, self.act_open, self.act_save, None, self.act_undo, self.act_redo, None,
                       self.act_run, self.act_run_upto, self.act_stop, None, self.act_add, self.act_note,
                       self.act_arrange, self.act_fit, self.act_snap):
            if action is None:
                tb.addSeparator()
            else:
                tb.addAction(action)
        for action in (self.act_new, self.act_open, self.act_save, self.act_undo, self.act_redo, self.act_add,
                       self.act_note, self.act_arrange, self.act_fit, self.act_snap):
            button = tb.widgetForAction(action)
            if isinstance(button, QToolButton):
                button.setToolButtonStyle(Qt.ToolButtonIconOnly)

    def _make_status_bar(self) -> None:
        bar = self.statusBar()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(10)
        self.progress.hide()
        self.problems = QToolButton()
        self.problems.setAutoRaise(True)
        self.problems.setToolTip("Click to show the next node with a problem")
        self.problems.clicked.connect(self.next_problem)
        self.zoom_label = QLabel("100 %")
        self.zoom_label.setMinimumWidth(50)
        for w in (self.progress, self.problems, self.zoom_label):
            bar.addPermanentWidget(w)

    # ------------------------------------------------------------------------------------ status, title
    def show_status(self, text: str, ms: int = 8000) -> None:
        self.statusBar().showMessage(text, ms)

    def _update_title(self, *_: Any) -> None:
        self.setWindowTitle(f"{self.doc.name}[*] — {APP}")
        self.setWindowModified(not self.stack.isClean())
        self.setWindowFilePath(str(self.doc.path) if self.doc.path else "")

    def validate_now(self) -> Validation:
        """Validate in the GUI thread now (edits otherwise validate in the background, debounced)."""
        return self.validator.now()

    def _apply_validation(self, v: Validation) -> None:
        self._last_validation = v
        self.scene.apply_validation(v)
        self._show_port_schemas(v)
        self.panel.refresh_validation(v)
        errors, warnings = len(v.errors), len(v.warnings)
        if errors:
            self.problems.setText(f"✕ {errors} problem{'s' * (errors != 1)}")
            self.problems.setStyleSheet("color: #dc2626; font-weight: bold;")
        elif warnings:
            self.problems.setText(f"⚠ {warnings} warning{'s' * (warnings != 1)}")
            self.problems.setStyleSheet("color: #b45309;")
        elif self.runner.running:
            self.problems.setText("Running…")
            self.problems.setStyleSheet("color: #2563eb;")
        else:
            empty = not self.doc.pipeline.nodes
            self.problems.setText("Empty pipeline" if empty else "✓ Ready to run")
            self.problems.setStyleSheet("color: #8c959f;" if empty else "color: #16a34a;")

    def _show_port_schemas(self, v: Validation) -> None:
        """Port tooltips list the propagated columns: an output's own, an input's from the output feeding it."""
        for node_id, item in self.scene.nodes.items():
            schemas = {(True, port): v.schemas.get((node_id, port)) for port in item.outputs}
            for link in self.doc.pipeline.links_into(node_id):
                schemas[(False, link.target_port)] = v.schemas.get((link.source_node, link.source_port))
            item.set_port_schemas(schemas)

    def next_problem(self) -> None:
        """Select and show the next node that has an issue."""
        nodes = [i.location.node for i in self.doc.validation.issues if i.location.node in self.scene.nodes]
        if not nodes:
            return
        current = next(iter(self.scene.selected_node_ids()), None)
        order = list(dict.fromkeys(nodes))
        target = order[(order.index(current) + 1) % len(order)] if current in order else order[0]
        self.scene.select_only({target})
        self.view.centerOn(self.scene.nodes[target])

    # ------------------------------------------------------------------------------------ document changes
    def _on_doc_change(self, c: d.Change) -> None:
        self.validator.request()
        if c.kind == d.RESET:
            self.runner.forget()
            self.outputs.close_all()
            self._update_title()
            self._update_runs_target()
        elif c.kind == d.META_CHANGED:
            self._update_title()
            self._update_runs_target()
        elif c.kind == d.NODE_CHANGED and c.param is not None:
            self.runner.mark_stale(self.doc.descendants({c.node}))  # type: ignore[arg-type]
        elif c.kind in (d.LINK_ADDED, d.LINK_REMOVED) and self.doc.has_node(c.link.target_node):  # type: ignore
            self.runner.mark_stale(self.doc.descendants({c.link.target_node}))  # type: ignore[union-attr]
        elif c.kind == d.NODE_REMOVED:
            self.runner.forget({c.node})  # type: ignore[arg-type]
            self._refresh_outputs()

    def _selection_changed(self) -> None:
        if not shiboken6.isValid(self.scene) or not shiboken6.isValid(self.panel):
            return  # the scene is being torn down
        ids = self.scene.selected_node_ids()
        node_id = next(iter(ids)) if len(ids) == 1 else None
        if node_id != self.panel.node_id:
            self.panel.show_node(node_id)

    def show_outputs(self, node_id: str) -> None:
        """Double-click on a node: open a viewer tab for each of its outputs in the Outputs dock."""
        self.scene.select_only({node_id})
        item = self.scene.nodes.get(node_id)
        ports = [(p.name, kind) for p in (item.outputs.values() if item else ()) for kind in kinds_for(p.port_type)]
        if not ports:
            self.show_status(f"'{node_id}' has no outputs to look at")
            return
        first = None
        for port, kind in ports:
            page = self.outputs.open(node_id, port, kind, focus=False)
            first = first or page
        self.outputs.tabs.setCurrentWidget(first)
        self._raise_dock(self.outputs_dock)

    def _raise_dock(self, dock: QDockWidget) -> None:
        """Show a dock; the bottom docks open tall enough to use (the height the user gave them last time,
        else about 40 % of the window), never as a strip of two table rows."""
        dock.show()
        dock.raise_()
        if dock in (self.outputs_dock, self.runs_dock):
            want = int(self.settings.value("bottomDockHeight", 0) or 0) or int(self.height() * 0.42)
            want = max(160, min(want, int(self.height() * 0.7)))
            QApplication.processEvents()
            if dock.height() < min(want, self.height() * 0.3):
                self.resizeDocks([dock], [want], Qt.Vertical)

    def _refresh_outputs(self) -> None:
        if self.outputs_dock.isVisible():
            self.outputs.refresh()

    # ------------------------------------------------------------------------------------ context menus
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.scene and event.type() == QEvent.GraphicsSceneContextMenu:
            return self._canvas_menu(event.scenePos(), event.screenPos())  # type: ignore[attr-defined]
        return False

    def _canvas_menu(self, scene_pos: QPointF, screen_pos: QPoint) -> bool:
        """Right-click on a port or a node: what can be opened, run or registered there."""
        item = next((i for i in self.scene.items(scene_pos) if isinstance(i, (PortItem, NodeItem))), None)
        if item is None:
            return False
        menu = QMenu(self)
        if isinstance(item, PortItem):
            source = (item.node_id, item.name) if item.is_output else next(
                ((l.source_node, l.source_port) for l in self.doc.pipeline.links_into(item.node_id)
                 if l.target_port == item.name), None)
            if source is None:
                menu.addAction(f"'{item.name}' is not connected").setEnabled(False)
            else:
                add_open_actions(menu, self.outputs, *source, item.port_type,
                                 lambda: self._raise_dock(self.outputs_dock))
                if item.port_type == "Table":
                    action = menu.addAction("Register as &Data Set…", lambda: self.register_dataset(*source))
                    if self.runner.outputs(source[0]).get(source[1]) is None:
                        action.setEnabled(False)
                        action.setText("Register as Data Set… (run it first)")
        else:
            node_id = item.node_id
            self.scene.select_only({node_id})
            menu.addAction("Show &Outputs", lambda: self.show_outputs(node_id))
            menu.addAction("Run &Up to Here", lambda: self.run(upto=node_id))
            menu.addSeparator()
            menu.addAction("Re&name…", lambda: self.rename_node(node_id))
            menu.addAction("&Duplicate", self.duplicate)
            menu.addAction("De&lete", self.delete_selection)
            cls = default_registry().get(self.doc.node(node_id).type)
            if cls is not None and any(p.type.value == "Model" for p in cls.outputs):
                menu.addSeparator()
                menu.addAction("&Register Model…", lambda: self.register_model(node_id))
            if cls is not None:
                menu.addSeparator()
                menu.addAction("&Help", lambda: self.show_module_help(node_id))
        self._menu = menu  # keep it alive while it shows
        menu.popup(screen_pos)
        return True

    def rename_node(self, node_id: str) -> None:
        """Edit the node's title in the property panel (selected, ready to type over)."""
        self.scene.select_only({node_id})
        if self.panel.node_id != node_id:
            self.panel.show_node(node_id)
        self._raise_dock(self.panel_dock)
        self.panel.title_edit.setFocus()
        self.panel.title_edit.selectAll()

    def show_module_help(self, node_id: str) -> None:
        cls = default_registry().get(self.doc.node(node_id).type)
        if cls is not None:
            QMessageBox.information(self, cls.title, unwrap(cls.help()))

    def register_dataset(self, node_id: str, port: str) -> None:
        """Register the table output `node_id.port` of the last run as the next version of a data set."""
        table = self.runner.outputs(node_id).get(port)
        if table is None:
            return
        source = f"output {node_id}.{port} of '{self.doc.pipeline.name}'"
        if self.runs.register_dataset(table.view, source, node_id) is not None:
            self._raise_dock(self.runs_dock)

    def export_python(self, path: str | None = None) -> str | None:
        """File → Export → Python script: the last run's pipeline as a plain scikit-learn script (the run gives
        its numbers and columns). Returns the path written, or None."""
        from designer.core.errors import BadInput
        from designer.core.export import Expected, export_script
        from designer.core.states import NodeState
        from designer.core.runner import metrics_of

        result = self.runner.last_result
        pipeline = self.doc.snapshot()
        states = self.runner.states
        if result is None or self.runner.running or any(
                states.get(n.id) is None or states[n.id].state not in (NodeState.DONE, NodeState.CACHED)
                for n in pipeline.nodes):
            self.show_status("Run the whole pipeline first (F5): the script carries that run's numbers")
            return None
        if path is None:
            start = str(self.doc.base_dir / f"{self.doc.name.lower().replace(' ', '_')}.py")
            path = QFileDialog.getSaveFileName(self, "Export as Python script", start, "Python (*.py)")[0]
            if not path:
                return None
        from designer.core.digest import bytes_sha256
        from designer.core.pipeline import atomic_write_text

        recorded = self.runner.last_recorded
        expected = Expected(recorded.run_id if recorded else None, bytes_sha256(pipeline.to_json_text().encode()),
                            metrics_of(result))
        values = {n.id: self.runner.outputs(n.id) for n in pipeline.nodes}
        try:
            text = export_script(pipeline, self.doc.base_dir, Path(path), expected=expected, values=values)
        except BadInput as e:
            self.show_error("Cannot export", str(e))
            return None
        atomic_write_text(path, text)
        self.show_status(f"Exported {Path(path).name}: run it with `python {Path(path).name} --check`")
        return path

    def register_model(self, node_id: str) -> None:
        """Register the model `node_id` trained in the newest recorded run that trained it."""
        if self.runs.register_model(node=node_id) is not None:
            self._raise_dock(self.runs_dock)

    # ------------------------------------------------------------------------------------ editing
    @property
    def add_menu(self) -> AddMenu | None:
        return self.adder.menu

    def add_module(self, type_id: str, centre: QPointF, link_from: tuple[str, str] | None = None) -> str | None:
        """Add a module near `centre` in free space (see AddActions.add)."""
        return self.adder.add(type_id, centre, link_from)

    def arrange(self) -> None:
        self.editor.arrange(self.scene.node_sizes())
        self.scene.reroute_dirty()

    def delete_selection(self) -> None:
        self.editor.remove(self.scene.selected_node_ids(), self.scene.selected_links(), self.scene.selected_notes())

    def copy(self) -> bool:
        text = self.editor.copy_text(self.scene.selected_node_ids(), self.scene.selected_notes())
        if text:
            QGuiApplication.clipboard().setText(text)
        return bool(text)

    def cut(self) -> None:
        if self.copy():
            self.delete_selection()

    def paste(self) -> None:
        self._insert_text(QGuiApplication.clipboard().text(), "Paste")

    def duplicate(self) -> None:
        text = self.editor.copy_text(self.scene.selected_node_ids(), self.scene.selected_notes())
        if text:
            self._insert_text(text, "Duplicate")

    def _insert_text(self, text: str, what: str) -> None:
        fragment = self.editor.paste_text(text, (40.0, 40.0), what)
        if fragment is not None:
            self.scene.select_only({n.id for n in fragment.nodes}, fragment.notes)

    def select_all(self) -> None:
        for item in (*self.scene.nodes.values(), *self.scene.notes.values()):
            item.setSelected(True)

    def add_note(self) -> None:
        c = self.view.centre_scene_pos()
        note = self.editor.add_note("", (c.x() - 110, c.y() - 20))
        self.scene.select_only(set(), [note])

    def _toggle_snap(self) -> None:
        self.scene.snap_to_grid = self.act_snap.isChecked()

    def _toggle_minimap(self) -> None:
        self.view.minimap.set_wanted(self.act_minimap.isChecked())

    def set_theme(self, mode: str) -> None:
        apply_theme(QApplication.instance(), mode)  # type: ignore[arg-type]
        self.settings.setValue("theme", mode)
        for action, name in self._icons.items():
            action.setIcon(icon(name))
        self.view.minimap.refresh_colours()
        self.scene.update()
        self.panel.show_node(self.panel.node_id)

    # ------------------------------------------------------------------------------------ files
    def ask_save_changes(self) -> str:
        """'save', 'discard' or 'cancel' (a method so tests can answer it)."""
        box = QMessageBox(QMessageBox.Warning, APP, f"Save changes to “{self.doc.name}”?",
                          QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, self)
        box.setInformativeText("Your changes will be lost if you don't save them.")
        answer = box.exec()
        return {QMessageBox.Save: "save", QMessageBox.Discard: "discard"}.get(answer, "cancel")

    def show_error(self, title: str, text: str) -> None:
        QMessageBox.warning(self, title, text)

    def ask_open_path(self) -> str:
        start = str(self.doc.base_dir)
        return QFileDialog.getOpenFileName(self, "Open pipeline", start, FILE_FILTER)[0]

    def ask_save_path(self) -> str:
        start = str(self.doc.path or (self.doc.base_dir / f"{self.doc.name.lower().replace(' ', '_')}{SUFFIX}"))
        return QFileDialog.getSaveFileName(self, "Save pipeline as", start, FILE_FILTER)[0]

    # ------------------------------------------------------------------------------------ files (FileActions)
    def confirm_discard(self) -> bool:
        return self.files.confirm_discard()

    def new_document(self) -> None:
        self.files.new_document()

    def set_document(self, pipeline: Pipeline, path: Path | None, clean: bool = True) -> None:
        self.files.set_document(pipeline, path, clean)

    def open_dialog(self) -> None:
        self.files.open_dialog()

    def open_file(self, path: str | Path, confirm: bool = True) -> bool:
        return self.files.open_file(path, confirm)

    def save(self) -> bool:
        return self.files.save()

    def save_as(self) -> bool:
        return self.files.save_as()

    def autosave(self) -> None:
        self.files.autosave()

    def recent_files(self) -> list[str]:
        return self.files.recent_files()

    # ------------------------------------------------------------------------------------ running (RunActions)
    def run(self, upto: str | None = None) -> None:
        self.run_actions.run(upto)

    def run_to_selected(self) -> None:
        self.run_actions.run_to_selected()

    def _update_runs_target(self) -> None:
        self.runs.set_pipeline(store_for_pipeline(self.doc.path) if self.doc.path else None,
                               self.doc.pipeline.name)

    def open_run_pipeline(self, pipeline: Pipeline, path: Path | None, run_id: str,
                          reproduce: bool = False) -> "MainWindow":
        """Open the copy of the pipeline stored with a run in a new window (this one's work stays as it is); it
        belongs to the run's file when that still exists, and is not saved. `reproduce` also runs it."""
        other = self.new_window()
        other.set_document(pipeline, path, clean=False)
        other.show_status(f"Opened the pipeline as it was in run {run_id}"
                          + (f" (belongs to {path}; not saved)" if path else " (not saved)"))
        if reproduce:
            other.run()
            other.show_status(f"Reproducing run {run_id}…", 0)
        return other

    def new_window(self) -> "MainWindow":
        """Another main window, kept alive as long as this one."""
        other = MainWindow(self.settings)
        other.resize(self.size())
        other.show()
        self.windows.append(other)
        return other

    # ------------------------------------------------------------------------------------ help, close
    def show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard shortcuts", (
            "Tab — add a module at the cursor\nDrag output → input — connect (drop on empty canvas to add a module)\n"
            "Delete / Backspace — delete selection\nCtrl+C / Ctrl+X / Ctrl+V / Ctrl+D — copy, cut, paste, duplicate\n"
            "Ctrl+Z / Ctrl+Shift+Z — undo, redo\nF — fit view · wheel — zoom · middle-drag or Space-drag — pan\n"
            "G — snap to grid · M — minimap · N — add a note · Ctrl+L — arrange\n"
            "F5 — run · F6 — run up to selected · Shift+F5 — stop\n"
            "Right-click an output port — open it as a table, profile, model or evaluation\n"
            "Ctrl+Shift+O — Outputs · Ctrl+Shift+R — Runs and Models"))

    def show_about(self) -> None:
        QMessageBox.about(self, APP, f"<b>{APP}</b><br>Design, run and score machine-learning pipelines locally.")

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.confirm_discard():
            event.ignore()
            return
        self.runner.stop()
        self.runner.wait(1.0)  # a stopped node is abandoned within a second; never hold the window longer
        self.runs.stop_serving()  # endpoints started from the Models tab end with the app
        self.autosaver.clear()
        self._autosave_timer.stop()
        self.settings.setValue("geometry", self.saveGeometry())
        if self.outputs_dock.isVisible():
            self.settings.setValue("bottomDockHeight", self.outputs_dock.height())
        event.accept()
