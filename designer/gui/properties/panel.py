"""The property panel: the selected node's title, run state, problems, generated parameter form and help.

With nothing selected it edits the pipeline's name and description.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QLineEdit, QScrollArea, QVBoxLayout, QWidget
from pydantic import BaseModel

from designer.core import document as d
from designer.core.node import LearnerSpec
from designer.core.registry import default_registry
from designer.core.states import NodeState
from designer.core.schema import TableSchema
from designer.core.validate import Validation
from designer.core.values import PortType
from designer.gui.canvas.node_item import RunState
from designer.gui.editor import Editor
from designer.gui.properties.editors import BlurTextEdit, ColumnList, ParamEditor, humanise, make_editor
from designer.gui.runner import RunController
from designer.gui.theme import RUN_STATES, category_colour


def upstream_columns(doc: d.Document, v: Validation, node_id: str) -> ColumnList | None:
    """The columns of the tables flowing into a node (from schema propagation), or None if unknown."""
    columns: ColumnList = []
    known = False
    for link in doc.pipeline.links_into(node_id):
        schema = v.schemas.get((link.source_node, link.source_port))
        if isinstance(schema, TableSchema):
            known = True
            columns.extend(c for c in schema.columns if c not in columns)
    return columns if known else None


def learner_params(doc: d.Document, node_id: str, port: str) -> type[BaseModel] | None:
    """The Params model of the learner linked into `port` of a node: the upstream module's own, or, when that
    module passes a learner on (another tuning node), the one its validated output names."""
    registry = default_registry()
    for link in doc.pipeline.links_into(node_id):
        if link.target_port != port or not doc.has_node(link.source_node):
            continue
        cls = registry.get(doc.node(link.source_node).type)
        if cls is None:
            return None
        if not any(p.type == PortType.LEARNER for p in cls.inputs):
            return cls.Params
        v = doc.last_validation
        spec = v.schemas.get((link.source_node, link.source_port)) if v is not None else None
        inner = registry.get(spec.type) if isinstance(spec, LearnerSpec) and spec.type else None
        return inner.Params if inner is not None else None
    return None


def _label(text: str = "", name: str = "", wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    if name:
        label.setObjectName(name)
    return label


class PropertyPanel(QScrollArea):
    """Shows one node (or the pipeline) and sends every edit through the Editor as an undo command."""

    def __init__(self, editor: Editor, runner: RunController) -> None:
        super().__init__()
        self.editor, self.doc, self.runner = editor, editor.doc, runner
        self.node_id: str | None = None
        self.editors: dict[str, ParamEditor] = {}
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.NoFrame)
        self.setMinimumWidth(300)
        self.doc.subscribe(self._on_change)
        runner.state_changed.connect(self._on_run_state)
        self.show_node(None)

    # ------------------------------------------------------------------------------------ building
    def show_node(self, node_id: str | None) -> None:
        if node_id is not None and not self.doc.has_node(node_id):
            node_id = None
        self.node_id = node_id
        self.editors = {}
        body = QWidget()
        body.setObjectName("panelBody")
        self.box = QVBoxLayout(body)
        self.box.setContentsMargins(12, 10, 12, 12)
        self.box.setSpacing(8)
        if node_id is None:
            self._build_pipeline()
        else:
            self._build_node(node_id)
        self.box.addStretch(1)
        self.setWidget(body)
        self.refresh_validation()

    def _build_pipeline(self) -> None:
        p = self.doc.pipeline
        self.box.addWidget(_label("Pipeline", "panelTitle"))
        form = QFormLayout()
        self.name_edit = QLineEdit(p.name)
        self.name_edit.editingFinished.connect(lambda: self.editor.set_meta(name=self.name_edit.text().strip()
                                                                             or "Untitled"))
        self.description_edit = BlurTextEdit()
        self.description_edit.setPlainText(p.description)
        self.description_edit.setFixedHeight(90)
        self.description_edit.committed.connect(
            lambda: self.editor.set_meta(description=self.description_edit.toPlainText()))
        form.addRow("Name", self.name_edit)
        form.addRow("Description", self.description_edit)
        self.box.addLayout(form)
        self.summary = _label(self._summary_text(), "muted")
        self.box.addWidget(self.summary)
        self.issues = _label("", "issues")
        self.box.addWidget(self.issues)
        self.box.addWidget(_label(
            "Select a node to edit its parameters.\n\nDrag modules from the palette (or press Tab on the "
            "canvas), then drag from an output port (right) to an input port (left) to connect them. "
            "Drop a link on empty canvas to add a module that accepts it.", "hint"))

    def _summary_text(self) -> str:
        p = self.doc.pipeline
        where = str(self.doc.path) if self.doc.path else "not saved yet"
        return f"{len(p.nodes)} node{'s' * (len(p.nodes) != 1)} · {len(p.links)} link{'s' * (len(p.links) != 1)}" \
               f"\n{where}"

    def _build_node(self, node_id: str) -> None:
        node = self.doc.node(node_id)
        cls = default_registry().get(node.type)
        header = QFrame()
        header.setObjectName("nodeHeader")
        colour = category_colour(cls.category).name() if cls else "#64748b"
        header.setStyleSheet(f"#nodeHeader {{ border-left: 4px solid {colour}; }}")
        hl = QVBoxLayout(header)
        hl.setContentsMargins(10, 4, 4, 4)
        hl.setSpacing(2)
        hl.addWidget(_label(cls.title if cls else f"Unknown module '{node.type}'", "panelTitle"))
        hl.addWidget(_label(f"{cls.category if cls else 'Unknown'} · {node.type}<br>id <b>{node_id}</b>", "muted"))
        self.box.addWidget(header)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignLeft)
        self.title_edit = QLineEdit(node.title)
        self.title_edit.setPlaceholderText(cls.title if cls else "")
        self.title_edit.editingFinished.connect(
            lambda: self.editor.set_title(node_id, self.title_edit.text().strip()))
        form.addRow("Title", self.title_edit)
        self.box.addLayout(form)
        # messages (run state, problems, outputs) go below the fields, so showing one never moves a field
        self.run_box = _label("", "runBox")
        self.issues = _label("", "issues")
        if cls is not None and cls.Params.model_fields:
            self.box.addWidget(_label("Parameters", "section"))
            params = QFormLayout()
            params.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
            params.setVerticalSpacing(6)
            for name, field in cls.Params.model_fields.items():
                editor = make_editor(field, self._base_dir, lambda: dict(self.doc.node(node_id).params),
                                     lambda port: learner_params(self.doc, node_id, port))
                editor.setObjectName(f"param_{name}")
                editor.changed.connect(lambda value, n=name, e=editor: self._param_edited(n, value, e.merge_steps))
                label = QLabel(humanise(name) + ("" if not field.is_required() else " *"))
                tip = field.description or ""
                label.setToolTip(tip)
                editor.setToolTip(tip)
                cell = QWidget()
                cl = QVBoxLayout(cell)
                cl.setContentsMargins(0, 0, 0, 0)
                cl.setSpacing(1)
                cl.addWidget(editor)
                if tip and not editor.wide:  # a wide editor explains itself; its label keeps the tooltip
                    cl.addWidget(_label(tip, "fieldHelp"))
                if editor.wide:
                    params.addRow(label)
                    params.addRow(cell)
                else:
                    params.addRow(label, cell)
                self.editors[name] = editor
            self.box.addLayout(params)
            self._show_values()
        self.box.addWidget(self.run_box)
        self.box.addWidget(self.issues)
        self.outputs = _label("", "outputs")
        self.box.addWidget(self.outputs)
        if cls is not None:
            self.box.addWidget(_label("About this module", "section"))
            self.box.addWidget(_label(unwrap(cls.help()), "help"))
        self._show_run_state()

    def _base_dir(self) -> Path | None:
        return self.doc.path.parent if self.doc.path else None

    # ------------------------------------------------------------------------------------ values
    def _show_values(self) -> None:
        if self.node_id is None:
            return
        node = self.doc.node(self.node_id)
        cls = default_registry().get(node.type)
        if cls is None:
            return
        for name, editor in self.editors.items():
            field = cls.Params.model_fields[name]
            if name in node.params:
                value = node.params[name]
            elif field.default_factory is not None:
                value = field.default_factory()  # type: ignore[call-arg]
            else:
                value = "" if field.is_required() else field.default
            if hasattr(value, "model_dump"):
                value = value.model_dump()
            editor.set_value(value)

    def _param_edited(self, name: str, value: Any, merge: bool) -> None:
        if self.node_id is not None:
            self.editor.set_param(self.node_id, name, value, merge)

    def refresh_validation(self, v: Validation | None = None) -> None:
        """Problems and column lists from a validation (default: the newest one computed so far)."""
        v = v or self.doc.last_validation
        if v is None:
            self.issues.hide()
            return
        if self.node_id is None:
            issues = [i for i in v.issues if not i.location.node]
        else:
            issues = v.node_issues(self.node_id)
            columns = upstream_columns(self.doc, v, self.node_id)
            for editor in self.editors.values():
                editor.set_columns(columns)
            self._show_values()
        lines = []
        for i in issues:
            where = f"<b>{i.location.param or i.location.port}</b>: " if (i.location.param or i.location.port) \
                else ""
            mark = "✕" if i.severity == "error" else "⚠"
            lines.append(f"{mark} {where}{_esc(i.message)}")
        self.issues.setText("<br>".join(lines))
        self.issues.setProperty("level", "error" if any(i.severity == "error" for i in issues) else "warning")
        self.issues.style().unpolish(self.issues)
        self.issues.style().polish(self.issues)
        self.issues.setVisible(bool(lines))

    # ------------------------------------------------------------------------------------ run state
    def _on_run_state(self, node_id: str, state: RunState | None) -> None:
        if node_id == self.node_id:
            self._show_run_state()

    def _show_run_state(self) -> None:
        if self.node_id is None or not hasattr(self, "run_box"):
            return
        st = self.runner.states.get(self.node_id)
        if st is None:
            self.run_box.hide()
            self.outputs.hide()
            return
        colour, symbol, label = RUN_STATES[st.state]
        if st.state == NodeState.FAILED:
            text = f"<b>{symbol} Failed</b><br>{_esc(st.message)}"
        elif st.state == NodeState.RUNNING:
            text = f"<b>Running</b> {int((st.progress or 0) * 100)} %" + (f" — {_esc(st.message)}" if st.message
                                                                         else "")
        elif st.state == NodeState.DONE and st.seconds is not None:
            text = f"<b>{symbol} Finished</b> in {st.seconds:.2f} s"
        elif st.state == NodeState.CACHED:
            text = f"<b>{symbol} Reused</b> the output of an earlier run (nothing it depends on changed)"
        else:
            text = f"<b>{symbol} {label}</b>" + (f" — {_esc(st.message)}" if st.message else "")
        self.run_box.setText(text)
        self.run_box.setStyleSheet(f"#runBox {{ border-left: 4px solid {colour}; }}")
        self.run_box.show()
        self._show_outputs(st)

    def _show_outputs(self, st: RunState) -> None:
        if not st.state.has_output or self.node_id is None:
            self.outputs.hide()
            return
        parts = []
        for port, value in self.runner.outputs(self.node_id).items():
            metrics = getattr(value, "metrics", None)
            if isinstance(metrics, dict) and metrics:
                rows = "".join(f"<tr><td>{_esc(k.replace('_', ' '))}</td><td align='right'>&nbsp;&nbsp;"
                               f"{v:.4g}</td></tr>" if isinstance(v, float) else
                               f"<tr><td>{_esc(k)}</td><td align='right'>{_esc(str(v))}</td></tr>"
                               for k, v in metrics.items())
                parts.append(f"<b>{port}</b><table>{rows}</table>")
            else:
                parts.append(f"<b>{port}</b>: {_esc(describe_value(value))}")
        self.outputs.setText("<br>".join(parts))
        self.outputs.setVisible(bool(parts))

    # ------------------------------------------------------------------------------------ document
    def _on_change(self, c: d.Change) -> None:
        if self.node_id is None and c.kind != d.RESET and hasattr(self, "summary"):
            self.summary.setText(self._summary_text())  # counts and file stay current
        if c.kind == d.RESET:
            self.show_node(None)
        elif c.kind == d.NODE_REMOVED and c.node == self.node_id:
            self.show_node(None)
        elif c.kind == d.NODE_CHANGED and c.node == self.node_id:
            node = self.doc.node(c.node)
            if self.title_edit.text() != node.title:
                self.title_edit.setText(node.title)
            self._show_values()
        elif c.kind in (d.LINK_ADDED, d.LINK_REMOVED) and c.link is not None and c.link.target_node == self.node_id:
            self._show_values()  # an editor may depend on what is connected (a search space on the learner)
        elif c.kind == d.META_CHANGED and self.node_id is None:
            if self.name_edit.text() != self.doc.pipeline.name:
                self.name_edit.setText(self.doc.pipeline.name)
            if self.description_edit.toPlainText() != self.doc.pipeline.description:
                self.description_edit.setPlainText(self.doc.pipeline.description)


def describe_value(value: Any) -> str:
    """A one-line summary of an output value (no computation: sizes and metrics the run produced)."""
    frame = getattr(value, "frame", None)
    if frame is not None:
        return f"table, {len(frame):,} rows × {frame.shape[1]} columns"
    metrics = getattr(value, "metrics", None)
    if isinstance(metrics, dict):
        return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items()) \
            or "report"
    if hasattr(value, "estimator") and hasattr(value, "task"):
        label = getattr(value, "label", None)
        return f"{getattr(value, 'title', '') or type(value.estimator).__name__} ({value.task})" + \
            (f", predicts '{label}'" if label else "")
    return type(value).__name__


def unwrap(text: str) -> str:
    """Docstring text with the line breaks inside paragraphs removed (the label wraps itself)."""
    return "\n\n".join(" ".join(p.split()) for p in text.split("\n\n"))


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>")
