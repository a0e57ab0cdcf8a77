"""One editor widget per parameter, chosen from the pydantic field: type, bounds and json_schema_extra hints."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Callable, TypeVar

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (QBoxLayout, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QHBoxLayout, QLabel,
                               QLineEdit, QListWidget, QListWidgetItem, QPlainTextEdit, QSpinBox, QToolButton,
                               QVBoxLayout, QWidget)
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from designer.core.forms import choices_of, editor_kind
from designer.core.schema import Columns, TableSchema

ColumnList = list[tuple[str, str]]  # (name, kind) of the upstream table, in order
INT_MAX = 2_147_483_647
MISSING = object()


def humanise(name: str) -> str:
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


class _WheelGuard(QObject):
    """Stops a wheel turn from changing a field that merely lies under the pointer; the event goes on to the
    property panel, which scrolls. A field takes wheel steps once it has focus (clicked or tabbed into)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            event.ignore()  # not accepted: Qt offers it to the parents (the panel's scroll area)
            return True
        return False


W = TypeVar("W", bound=QWidget)


def guard_wheel(widget: W) -> W:
    """Spin boxes and combo boxes in the panel: no focus and no value change from a passing wheel turn."""
    widget.setFocusPolicy(Qt.StrongFocus)
    widget.installEventFilter(_WheelGuard(widget))
    return widget


class ParamEditor(QWidget):
    """Base: `changed` carries the new JSON value; `set_value` shows a value without emitting."""

    changed = Signal(object)
    merge_steps: bool | str = False
    """True for editors whose repeated changes (spin box steps) should undo as one step; a text: changes
    with the same text undo as one step (one control of an editor made of several)."""
    wide = False
    """True for editors that take the panel's whole width (their label goes above them)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def set_columns(self, columns: ColumnList | None) -> None:
        """The upstream table's columns (None when not known yet); only column editors use them."""

    def _emit(self, value: Any) -> None:
        self.changed.emit(value)


class BoolEditor(ParamEditor):
    def __init__(self) -> None:
        super().__init__()
        self.box = QCheckBox()
        self._layout.addWidget(self.box)
        self._layout.addStretch()
        self.box.toggled.connect(self._emit)

    def set_value(self, value: Any) -> None:
        self.box.blockSignals(True)
        self.box.setChecked(bool(value))
        self.box.blockSignals(False)


class ChoiceEditor(ParamEditor):
    """A Literal: a combo box of the allowed values."""

    def __init__(self, choices: tuple[Any, ...]) -> None:
        super().__init__()
        self.combo = guard_wheel(QComboBox())
        for choice in choices:
            self.combo.addItem(humanise(str(choice)) if isinstance(choice, str) else str(choice), choice)
        self._layout.addWidget(self.combo, 1)
        self.combo.activated.connect(lambda i: self._emit(self.combo.itemData(i)))

    def set_value(self, value: Any) -> None:
        i = self.combo.findData(value)
        self.combo.blockSignals(True)
        if i < 0:  # a value the model refuses: show it so the issue below makes sense
            self.combo.addItem(f"{value} (invalid)", value)
            i = self.combo.count() - 1
        self.combo.setCurrentIndex(i)
        self.combo.blockSignals(False)


class OfferedEditor(ParamEditor):
    """Free text with suggestions from a choices provider (designer.core.choices), asked each time the list
    opens: data set names, a data set's versions. Whole numbers are stored as numbers."""

    def __init__(self, offer: Callable[[], list[Any]]) -> None:
        super().__init__()
        self._offer = offer
        self.combo = guard_wheel(_OfferCombo(self._fill))
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.NoInsert)
        self._layout.addWidget(self.combo, 1)
        self.combo.activated.connect(lambda i: self._commit())
        self.combo.lineEdit().editingFinished.connect(self._commit)
        self._value: Any = None

    def _fill(self) -> None:
        text = self.combo.currentText()
        self.combo.blockSignals(True)
        self.combo.clear()
        for choice in self._offer():
            self.combo.addItem(str(choice), choice)
        self.combo.setEditText(text)
        self.combo.blockSignals(False)

    def choices(self) -> list[str]:
        self._fill()
        return [self.combo.itemText(i) for i in range(self.combo.count())]

    def _commit(self) -> None:
        text = self.combo.currentText().strip()
        value: Any = int(text) if text.isdigit() else text
        if value != self._value:
            self._value = value
            self._emit(value)

    def set_value(self, value: Any) -> None:
        self._value = value
        self.combo.blockSignals(True)
        self.combo.setEditText("" if value is None else str(value))
        self.combo.blockSignals(False)


class _OfferCombo(QComboBox):
    def __init__(self, before_popup: Callable[[], None]) -> None:
        super().__init__()
        self._before_popup = before_popup

    def showPopup(self) -> None:
        self._before_popup()
        super().showPopup()


def bounds(field: FieldInfo) -> tuple[float | None, float | None, bool, bool]:
    """(low, high, low_exclusive, high_exclusive) from the field's ge/gt/le/lt constraints."""
    lo = hi = None
    lo_open = hi_open = False
    for m in field.metadata:
        if getattr(m, "ge", None) is not None:
            lo = m.ge
        if getattr(m, "gt", None) is not None:
            lo, lo_open = m.gt, True
        if getattr(m, "le", None) is not None:
            hi = m.le
        if getattr(m, "lt", None) is not None:
            hi, hi_open = m.lt, True
    return lo, hi, lo_open, hi_open


def int_spin(field: FieldInfo) -> QSpinBox:
    """A spin box for an int field, within its bounds; it reports a value once typing is done."""
    lo, hi, lo_open, hi_open = bounds(field)
    spin = guard_wheel(QSpinBox())
    # a spin box holds 32-bit ints: bounds beyond them (a seed may go up to 2**32 - 1) are clamped
    spin.setRange(max(int(lo) + lo_open, -INT_MAX) if lo is not None else -INT_MAX,
                  min(int(hi) - hi_open, INT_MAX) if hi is not None else INT_MAX)
    spin.setKeyboardTracking(False)
    spin.setAccelerated(True)
    return spin


class IntEditor(ParamEditor):
    merge_steps = True
    def __init__(self, field: FieldInfo) -> None:
        super().__init__()
        self.spin = int_spin(field)
        self._layout.addWidget(self.spin, 1)
        self.spin.valueChanged.connect(self._emit)

    def set_value(self, value: Any) -> None:
        self.spin.blockSignals(True)
        try:
            self.spin.setValue(int(value))
        except (TypeError, ValueError, OverflowError):
            pass
        self.spin.blockSignals(False)


class _FloatSpin(QDoubleSpinBox):
    def textFromValue(self, value: float) -> str:
        text = f"{value:.{self.decimals()}f}".rstrip("0").rstrip(".")
        return text if text not in ("", "-0") else "0"


DECIMALS = 6
"""Decimals a float spin box keeps (values are rounded to them)."""


def float_spin(field: FieldInfo) -> QDoubleSpinBox:
    """A spin box for a float field, within its bounds (an open bound excluded); it reports a value once
    typing is done."""
    lo, hi, lo_open, hi_open = bounds(field)
    eps = 10.0 ** -DECIMALS
    spin = guard_wheel(_FloatSpin())
    spin.setDecimals(DECIMALS)
    low = (lo + eps if lo_open else lo) if lo is not None else -1e12
    high = (hi - eps if hi_open else hi) if hi is not None else 1e12
    spin.setRange(low, high)
    span = (hi - lo) if lo is not None and hi is not None else math.inf
    spin.setSingleStep(0.05 if span <= 1 else 0.5 if span <= 10 else 1.0 if span <= 1000 else 0.1)
    spin.setKeyboardTracking(False)
    return spin


class FloatEditor(ParamEditor):
    merge_steps = True

    def __init__(self, field: FieldInfo) -> None:
        super().__init__()
        self.spin = float_spin(field)
        self._layout.addWidget(self.spin, 1)
        self.spin.valueChanged.connect(lambda v: self._emit(round(v, DECIMALS)))

    def set_value(self, value: Any) -> None:
        self.spin.blockSignals(True)
        try:
            self.spin.setValue(float(value))
        except (TypeError, ValueError):
            pass
        self.spin.blockSignals(False)


class TextEditor(ParamEditor):
    """A line of text; `parse` turns the text into the stored value (None: refuse it)."""

    def __init__(self, parse: Callable[[str], Any] = lambda s: s, show: Callable[[Any], str] = str,
                 placeholder: str = "") -> None:
        super().__init__()
        self.parse, self.show = parse, show
        self.line = QLineEdit()
        self.line.setPlaceholderText(placeholder)
        self._layout.addWidget(self.line, 1)
        self.line.editingFinished.connect(self._commit)

    def _commit(self) -> None:
        value = self.parse(self.line.text())
        if value is MISSING:
            self.line.setStyleSheet("QLineEdit { border: 1px solid #dc2626; }")
            return
        self.line.setStyleSheet("")
        self._emit(value)

    def set_value(self, value: Any) -> None:
        text = self.show(value)
        if self.line.text() != text:
            self.line.setText(text)
        self.line.setStyleSheet("")


class MultilineEditor(ParamEditor):
    """Multi-line text (x-multiline), committed when focus leaves."""

    def __init__(self) -> None:
        super().__init__()
        self.text = BlurTextEdit()
        self.text.setTabChangesFocus(True)
        self.text.setFixedHeight(110)
        font = self.text.font()
        font.setFamily("monospace")
        self.text.setFont(font)
        self._layout.addWidget(self.text, 1)
        self.text.committed.connect(lambda: self._emit(self.text.toPlainText()))

    def set_value(self, value: Any) -> None:
        if self.text.toPlainText() != str(value):
            self.text.setPlainText(str(value))


class BlurTextEdit(QPlainTextEdit):
    """Plain text that reports `committed` when focus leaves it."""

    committed = Signal()

    def focusOutEvent(self, event: Any) -> None:
        super().focusOutEvent(event)
        self.committed.emit()


class FileEditor(ParamEditor):
    """A file path (x-file): text plus a Browse button; stored relative to the pipeline file."""

    def __init__(self, mode: str, file_filter: str, base_dir: Callable[[], Path | None]) -> None:
        super().__init__()
        self.mode, self.filter, self.base_dir = mode, file_filter, base_dir
        self.line = QLineEdit()
        self.line.setPlaceholderText("path relative to the pipeline file")
        self.button = QToolButton()
        self.button.setText("Browse…")
        self._layout.addWidget(self.line, 1)
        self._layout.addWidget(self.button)
        self.line.editingFinished.connect(lambda: self._emit(self.line.text().strip()))
        self.button.clicked.connect(self.browse)

    def browse(self) -> None:
        base = self.base_dir()
        start = str(base) if base else os.getcwd()
        current = self.line.text().strip()
        if current:
            start = str((base / current) if base and not Path(current).is_absolute() else Path(current))
        pick = QFileDialog.getSaveFileName if self.mode == "save" else QFileDialog.getOpenFileName
        path, _ = pick(self, "Choose a file", start, self.filter or "All files (*)")
        if path:
            self.set_value(self.relative(path))
            self._emit(self.line.text())

    def relative(self, path: str) -> str:
        base = self.base_dir()
        if base is None:
            return Path(path).as_posix()
        try:
            return Path(os.path.relpath(path, base)).as_posix()
        except ValueError:
            return Path(path).as_posix()

    def set_value(self, value: Any) -> None:
        if self.line.text() != str(value or ""):
            self.line.setText(str(value or ""))


class ColumnEditor(ParamEditor):
    """One column name (x-column): a combo of upstream columns that also accepts typed names."""

    def __init__(self, optional: bool) -> None:
        super().__init__()
        self.optional = optional
        self.combo = guard_wheel(QComboBox())
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.NoInsert)
        self.combo.lineEdit().setPlaceholderText("(none)" if optional else "choose a column")
        self._layout.addWidget(self.combo, 1)
        self._value = ""
        self._columns: Any = MISSING
        self.combo.activated.connect(lambda i: self._commit())
        self.combo.lineEdit().editingFinished.connect(self._commit)

    def _commit(self) -> None:
        text = self.combo.currentText().strip()
        if text != self._value:
            self._value = text
            self._emit(text)

    def set_columns(self, columns: ColumnList | None) -> None:
        if columns == self._columns:
            return
        self._columns = columns
        self.combo.blockSignals(True)
        self.combo.clear()
        if self.optional:
            self.combo.addItem("")
        for name, kind in columns or []:
            self.combo.addItem(name)
            self.combo.setItemData(self.combo.count() - 1, kind, Qt.ToolTipRole)
        self.combo.setEditText(self._value)
        self.combo.blockSignals(False)

    def set_value(self, value: Any) -> None:
        self._value = str(value or "")
        self.combo.blockSignals(True)
        self.combo.setEditText(self._value)
        self.combo.blockSignals(False)


class ColumnsEditor(ParamEditor):
    """A `Columns` selection: a mode, then the upstream columns to include (names) or to leave out."""

    MODES = (("all", "All columns"), ("numeric", "Numeric columns"), ("categorical", "Categorical columns"),
             ("names", "Chosen columns"))

    def __init__(self) -> None:
        super().__init__()
        self._layout.setDirection(QBoxLayout.TopToBottom)
        self.mode = guard_wheel(QComboBox())
        for key, label in self.MODES:
            self.mode.addItem(label, key)
        self.caption = QLabel()
        self.caption.setObjectName("muted")
        self.list = QListWidget()
        self.list.setObjectName("columnList")
        self.list.setMaximumHeight(150)
        self.list.setUniformItemSizes(True)
        self.other = QLineEdit()
        self.other.setPlaceholderText("add a column by name…")
        self.summary = QLabel()
        self.summary.setObjectName("muted")
        self.summary.setWordWrap(True)
        for w in (self.mode, self.caption, self.list, self.other, self.summary):
            self._layout.addWidget(w)
        self._value = Columns()
        self._columns: ColumnList | None = None
        self.mode.activated.connect(self._mode_changed)
        self.list.itemChanged.connect(lambda item: self._commit())
        self.list.itemPressed.connect(lambda item: setattr(self, "_pressed", (item, item.checkState())))
        self.list.itemClicked.connect(self._toggle)
        self.other.returnPressed.connect(self._add_other)
        self._pressed: tuple[QListWidgetItem, Qt.CheckState] | None = None

    def _toggle(self, item: QListWidgetItem) -> None:
        """A click on a column's name ticks or unticks it, like a click on its check box."""
        pressed, self._pressed = self._pressed, None
        if pressed is not None and pressed[0] is item and pressed[1] == item.checkState():
            item.setCheckState(Qt.Unchecked if item.checkState() == Qt.Checked else Qt.Checked)

    def _checked(self) -> list[str]:
        return [self.list.item(i).data(Qt.UserRole) for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.Checked]

    def _mode_changed(self) -> None:
        mode = self.mode.currentData()
        if mode == "names":
            self._value = Columns(mode="names", names=self._value.names or [], exclude=[])
        else:
            self._value = Columns(mode=mode, names=[], exclude=self._value.exclude)
        self._fill()
        self._emit(self.dump(self._value))

    def _commit(self) -> None:
        chosen = self._checked()
        if self._value.mode == "names":
            self._value = Columns(mode="names", names=chosen)
        else:
            self._value = Columns(mode=self._value.mode, exclude=chosen)
        self._update_summary()
        self._emit(self.dump(self._value))

    def _add_other(self) -> None:
        name = self.other.text().strip()
        self.other.clear()
        if not name:
            return
        v = self._value
        if v.mode == "names" and name not in v.names:
            self._value = Columns(mode="names", names=[*v.names, name])
        elif v.mode != "names" and name not in v.exclude:
            self._value = Columns(mode=v.mode, exclude=[*v.exclude, name])
        else:
            return
        self._fill()
        self._emit(self.dump(self._value))

    @staticmethod
    def dump(value: Columns) -> dict[str, Any]:
        data = value.model_dump()
        return {k: v for k, v in data.items() if k == "mode" or v}

    def _fill(self) -> None:
        v = self._value
        self.mode.setCurrentIndex(max(0, self.mode.findData(v.mode)))
        self.caption.setText("Include these columns:" if v.mode == "names" else "Except these columns:")
        chosen = v.names if v.mode == "names" else v.exclude
        known = [name for name, _ in self._columns or []]
        kinds = dict(self._columns or [])
        scrolled = self.list.verticalScrollBar().value()
        self.list.blockSignals(True)
        self.list.clear()
        for name in [*known, *[c for c in chosen if c not in known]]:
            missing = self._columns is not None and name not in kinds
            label = f"{name}   ({kinds[name]})" if name in kinds else f"{name}   (not in the input)" \
                if missing else name
            item = QListWidgetItem(label)
            item.setData(Qt.UserRole, name)
            item.setFlags(Qt.ItemIsUserCheckable | Qt.ItemIsEnabled)
            item.setCheckState(Qt.Checked if name in chosen else Qt.Unchecked)
            if missing:
                item.setForeground(Qt.red)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.list.verticalScrollBar().setValue(scrolled)
        self.list.setVisible(self.list.count() > 0)
        self.caption.setVisible(self.list.count() > 0)
        self._update_summary()

    def _update_summary(self) -> None:
        if self._columns is None:
            self.summary.setText(self._value.describe() + " (connect an input to list its columns)")
            return
        schema = TableSchema(columns=tuple(self._columns))  # type: ignore[arg-type]
        try:
            chosen = self._value.resolve(schema)
        except Exception as e:  # noqa: BLE001  (an unknown name: the issue list explains it)
            self.summary.setText(str(getattr(e, "message", e)))
            return
        preview = ", ".join(chosen[:6]) + (", …" if len(chosen) > 6 else "")
        self.summary.setText(f"{len(chosen)} of {len(schema.names)} columns" + (f": {preview}" if chosen else ""))

    def set_columns(self, columns: ColumnList | None) -> None:
        if columns != self._columns:
            self._columns = columns
            self._fill()

    def set_value(self, value: Any) -> None:
        try:
            parsed = Columns.model_validate(value)
        except Exception:  # noqa: BLE001  (an unreadable value keeps the default; validation reports it)
            parsed = Columns()
        if parsed != self._value or not self.list.count():
            self._value = parsed
            self._fill()


class ColumnListEditor(ColumnsEditor):
    """A plain list of column names (meta columns, for instance), ticked from the upstream columns."""

    def __init__(self) -> None:
        super().__init__()
        self.mode.hide()
        self._value = Columns(mode="names")

    def _update_summary(self) -> None:
        self.summary.setText(", ".join(self._value.names) or "none")

    @staticmethod
    def dump(value: Columns) -> list[str]:  # type: ignore[override]
        return list(value.names)

    def set_value(self, value: Any) -> None:
        names = [str(v) for v in value] if isinstance(value, list) else []
        if names != self._value.names or not self.list.count():
            self._value = Columns(mode="names", names=names)
            self._fill()


class MappingEditor(ParamEditor):
    """A dict of column → value (e.g. casts, renames): one row per entry, keys picked from upstream columns."""

    def __init__(self, choices: tuple[Any, ...] | None) -> None:
        super().__init__()
        self._layout.setDirection(QBoxLayout.TopToBottom)
        self.choices = choices
        self.rows = QVBoxLayout()
        self.rows.setSpacing(3)
        self._layout.addLayout(self.rows)
        add = QToolButton()
        add.setText("+ Add")
        add.clicked.connect(lambda: self._add_row("", ""))
        self._layout.addWidget(add, 0, Qt.AlignLeft)
        self._columns: ColumnList | None = None
        self._value: dict[str, Any] = {}

    def _add_row(self, key: str, value: Any) -> None:
        row = QWidget()
        lay = QHBoxLayout(row)
        lay.setContentsMargins(0, 0, 0, 0)
        key_box = guard_wheel(QComboBox())
        key_box.setEditable(True)
        key_box.addItems([name for name, _ in self._columns or []])
        key_box.setEditText(key)
        if self.choices:
            val_box: QWidget = guard_wheel(QComboBox())
            for c in self.choices:
                val_box.addItem(str(c), c)  # type: ignore[attr-defined]
            val_box.setCurrentIndex(max(0, val_box.findData(value)))  # type: ignore[attr-defined]
            val_box.activated.connect(lambda i: self._commit())  # type: ignore[attr-defined]
        else:
            val_box = QLineEdit(str(value))
            val_box.editingFinished.connect(self._commit)  # type: ignore[attr-defined]
        remove = QToolButton()
        remove.setText("✕")
        remove.setToolTip("Remove this entry")
        remove.clicked.connect(lambda: (row.setParent(None), row.deleteLater(), self._commit()))
        key_box.activated.connect(lambda i: self._commit())
        key_box.lineEdit().editingFinished.connect(self._commit)
        lay.addWidget(key_box, 1)
        lay.addWidget(QLabel("→"))
        lay.addWidget(val_box, 1)
        lay.addWidget(remove)
        self.rows.addWidget(row)

    def _read(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for i in range(self.rows.count()):
            row = self.rows.itemAt(i).widget()
            if row is None or row.parent() is None:
                continue
            widgets = [row.layout().itemAt(j).widget() for j in range(row.layout().count())]
            key = widgets[0].currentText().strip()
            val = widgets[2].currentData() if isinstance(widgets[2], QComboBox) else widgets[2].text()
            if key:
                out[key] = val
        return out

    def _commit(self) -> None:
        value = self._read()
        if value != self._value:
            self._value = value
            self._emit(value)

    def _rebuild(self) -> None:
        while self.rows.count():
            w = self.rows.takeAt(0).widget()
            if w is not None:
                w.setParent(None)
                w.deleteLater()
        for key, value in self._value.items():
            self._add_row(key, value)

    def set_columns(self, columns: ColumnList | None) -> None:
        if columns != self._columns:
            self._columns = columns
            self._rebuild()

    def set_value(self, value: Any) -> None:
        value = dict(value) if isinstance(value, dict) else {}
        if value != self._value or self.rows.count() != len(value):
            self._value = value
            self._rebuild()


# ---------------------------------------------------------------------------------------- parsing helpers
def _parse_list(text: str) -> list[str]:
    if not text.strip():
        return []
    return ["" if p.strip() == '""' else p.strip() for p in text.split(",")]


def _show_list(value: Any) -> str:
    if not isinstance(value, list):
        return str(value)
    return ", ".join('""' if v == "" else str(v) for v in value)


def _parse_optional_number(text: str) -> Any:
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return MISSING


def _parse_number_or_text(text: str) -> Any:
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return MISSING


def _show_optional(value: Any) -> str:
    return "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))


def make_editor(field: FieldInfo, base_dir: Callable[[], Path | None],
                params: Callable[[], dict[str, Any]] = dict,
                learner: Callable[[str], type[BaseModel] | None] = lambda port: None) -> ParamEditor:
    """The editor for one parameter: the kind `designer.core.forms.editor_kind` reads from the field, or the
    choices a provider offers (`x-choices`; `params`: the node's current parameters, for choices that depend
    on another one). `learner(port)`: the Params model of the learner connected to that input port, for a
    search space (`x-space` names the port)."""
    kind = editor_kind(field)
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if extra.get("x-choices"):
        from designer.core.choices import choices_for

        provider = str(extra["x-choices"])
        return OfferedEditor(lambda: choices_for(provider, params(), base_dir()))
    if kind == "bool":
        return BoolEditor()
    if kind == "choice":
        return ChoiceEditor(choices_of(field))
    if kind == "int":
        return IntEditor(field)
    if kind == "float":
        return FloatEditor(field)
    if kind == "columns":
        return ColumnsEditor()
    if kind == "column_list":
        return ColumnListEditor()
    if kind == "file":
        return FileEditor(str(extra["x-file"]), str(extra.get("x-filter", "")), base_dir)
    if kind == "column":
        return ColumnEditor(optional=not field.is_required())
    if kind == "multiline":
        return MultilineEditor()
    if kind == "text":
        return TextEditor()
    if kind == "optional_number":
        return TextEditor(_parse_optional_number, _show_optional, placeholder="empty: none")
    if kind == "number_or_text":
        return TextEditor(_parse_number_or_text, _show_optional)
    if kind == "mapping":
        return MappingEditor(choices_of(field) or None)
    if kind == "search_space":
        from designer.gui.properties.space_editor import SpaceEditor

        return SpaceEditor(str(extra["x-space"]), learner)
    if kind == "text_list":
        return TextEditor(_parse_list, _show_list, placeholder="comma-separated")
    return TextEditor(_parse_json, lambda v: json.dumps(v, ensure_ascii=False), placeholder="JSON")
