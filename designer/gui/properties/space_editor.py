"""The search-space editor of Tune Model Hyperparameters: one row per tunable parameter of the connected
learner, within that parameter's own bounds and choices, written as the `space` parameter
({name: SearchRange as JSON}).

A checked row is in `space`; an unchecked one is not. An empty `space` means the learner's default space
(designer.core.tuning.default_space), which the rows then show in italics, half-checked. Entries the learner
does not have are listed in red with a remove button: the editor never drops a value by itself.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractSpinBox, QBoxLayout, QCheckBox, QGridLayout, QHBoxLayout, QLabel, QLineEdit,
                               QSizePolicy, QSpinBox, QToolButton, QWidget)
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from designer.core.tuning import SearchRange, _kind, default_space, tunable
from designer.gui.properties.editors import DECIMALS, ParamEditor, float_spin, guard_wheel, humanise, int_spin

LearnerParams = Callable[[str], "type[BaseModel] | None"]
"""The Params model of the learner connected to an input port of the node (None: nothing connected)."""

NO_LEARNER = "connect a learner to choose what to tune"
EMPTY = "empty: the default space below is searched"
RED = "color: #dc2626;"
CHOICES_PER_LINE = 3


def entry_of(rng: SearchRange, kind: str) -> dict[str, Any]:
    """A SearchRange as the JSON the editor writes: choices, or a range (ints as ints for int parameters)."""
    if rng.values:
        return {"values": list(rng.values)}
    low, high = rng.range
    if kind == "int":
        return {"low": int(low), "high": int(high), "log": rng.log, "steps": rng.steps}
    return {"low": float(low), "high": float(high), "log": rng.log, "steps": rng.steps}


def describe(entry: Any) -> str:
    """One entry in words: '8 – 124, log', 'values 0, 1', or its JSON."""
    if isinstance(entry, dict) and entry.get("values"):
        return "values " + ", ".join(_number(v) for v in entry["values"])
    if isinstance(entry, dict) and "low" in entry and "high" in entry:
        return f"{_number(entry['low'])} – {_number(entry['high'])}" + (", log" if entry.get("log") else "")
    return json.dumps(entry, ensure_ascii=False, default=str)


def _number(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _italic(widget: QWidget, on: bool) -> None:
    font = widget.font()
    if font.italic() != on:
        font.setItalic(on)
        widget.setFont(font)


class _Row:
    """One tunable parameter in the grid: a 'tune' check box, then a range (low, high, log, grid steps) or a
    list of numbers for numbers, check boxes for choices."""

    def __init__(self, editor: "SpaceEditor", name: str, field: FieldInfo, default: dict[str, Any],
                 grid: QGridLayout, r: int) -> None:
        self.editor, self.name, self.default = editor, name, default
        self.kind, self.choices = _kind(field)
        tip = field.description or ""
        self.check = QCheckBox(humanise(name))
        self.check.setObjectName(f"tune_{name}")
        self.check.setToolTip(f"Search '{name}'" + (f": {tip}" if tip else ""))
        self.check.clicked.connect(self._tune_clicked)
        grid.addWidget(self.check, r, 0)
        self.controls: list[QWidget] = []
        if self.kind in ("int", "float"):
            make = int_spin if self.kind == "int" else float_spin
            self.low, self.high = make(field), make(field)
            for spin, which in ((self.low, "low"), (self.high, "high")):
                spin.setObjectName(f"{which}_{name}")
                spin.setToolTip(f"{'Lowest' if which == 'low' else 'Highest'} value searched" +
                                (f" ({tip})" if tip else ""))
                spin.setButtonSymbols(QAbstractSpinBox.NoButtons)  # room for the digits; arrow keys step
                spin.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
                spin.setMinimumWidth(52)
                spin.valueChanged.connect(lambda _v, w=which: self._range_edited(w))
            self.log = QCheckBox()
            self.log.setObjectName(f"log_{name}")
            self.log.setToolTip("Search on a log scale (as many candidates between 1 and 10 as between 10 and 100)")
            self.log.toggled.connect(lambda _on: self._range_edited("log"))
            self.steps = guard_wheel(QSpinBox())
            self.steps.setObjectName(f"steps_{name}")
            self.steps.setRange(2, 100)
            self.steps.setButtonSymbols(QAbstractSpinBox.NoButtons)
            self.steps.setFixedWidth(36)
            self.steps.setKeyboardTracking(False)
            self.steps.setToolTip("Grid points of the range (grid search)")
            self.steps.valueChanged.connect(lambda _v: self._range_edited("steps"))
            self.values = QLineEdit()
            self.values.setObjectName(f"values_{name}")
            self.values.setToolTip("The values searched, comma-separated")
            self.values.editingFinished.connect(self._values_edited)
            self.to_range = QToolButton()
            self.to_range.setText("range")
            self.to_range.setToolTip("Search a range between the lowest and the highest of these values instead")
            self.to_range.clicked.connect(self._to_range)
            grid.addWidget(self.low, r, 1)
            grid.addWidget(self.high, r, 2)
            grid.addWidget(self.log, r, 3, Qt.AlignCenter)
            grid.addWidget(self.steps, r, 4)
            grid.addWidget(self.values, r, 1, 1, 3)
            grid.addWidget(self.to_range, r, 4)
            self.controls = [self.low, self.high, self.log, self.steps, self.values, self.to_range]
        else:  # the choices on lines of their own below the name, so long ones never widen the panel
            box = QWidget()
            lay = QGridLayout(box)
            lay.setContentsMargins(22, 0, 0, 0)
            lay.setHorizontalSpacing(10)
            lay.setVerticalSpacing(2)
            self.boxes: list[QCheckBox] = []
            for i, choice in enumerate(self.choices):
                cb = QCheckBox(str(choice))
                cb.setObjectName(f"value_{name}_{i}")
                cb.setToolTip(f"Try {name} = {choice!r}")
                cb.toggled.connect(lambda on, b=cb: self._choices_edited(b))
                lay.addWidget(cb, i // CHOICES_PER_LINE, i % CHOICES_PER_LINE)
                self.boxes.append(cb)
            lay.setColumnStretch(CHOICES_PER_LINE, 1)
            grid.addWidget(box, r + 1, 0, 1, 5)
            self.controls = list(self.boxes)
        self.grid_rows = 2 if self.kind in ("choice", "bool") else 1
        """Grid rows the parameter takes."""
        for w in self.controls:
            if tip and not w.toolTip():
                w.setToolTip(tip)

    # ------------------------------------------------------------------------------------ showing
    def show(self, entry: dict[str, Any] | None, implicit: bool) -> None:
        """Show the stored entry (None: not searched; then the default range, ready to be checked)."""
        shown = entry if entry is not None else self.default
        widgets = [self.check, *self.controls]
        for w in widgets:
            w.blockSignals(True)
        self.check.setCheckState(Qt.PartiallyChecked if implicit else Qt.Checked if entry is not None
                                 else Qt.Unchecked)
        if self.kind in ("int", "float"):
            self._show_number(shown)
        else:
            chosen = shown.get("values") or []
            for choice, cb in zip(self.choices, self.boxes):
                cb.setChecked(any(choice == v and type(choice) is type(v) for v in chosen))
        for w in widgets:
            w.blockSignals(False)
            _italic(w, implicit)
        for w in self.controls:
            w.setEnabled(entry is not None)

    def _show_number(self, shown: dict[str, Any]) -> None:
        listed = bool(shown.get("values"))
        for w in (self.low, self.high, self.log, self.steps):
            w.setVisible(not listed)
        self.values.setVisible(listed)
        self.to_range.setVisible(listed)
        if listed:
            text = ", ".join(_number(v) for v in shown["values"])
            if self.values.text() != text:
                self.values.setText(text)
            self.values.setStyleSheet("")
            return
        default = self.default
        for spin, key in ((self.low, "low"), (self.high, "high")):
            value = shown.get(key, default.get(key))
            try:
                spin.setValue(int(value) if self.kind == "int" else float(value))  # type: ignore[arg-type]
            except (TypeError, ValueError, OverflowError):
                pass
        self.log.setChecked(bool(shown.get("log", False)))
        try:
            self.steps.setValue(int(shown.get("steps", 4)))
        except (TypeError, ValueError, OverflowError):
            pass

    # ------------------------------------------------------------------------------------ editing
    def _number_value(self, spin: Any) -> int | float:
        return int(spin.value()) if self.kind == "int" else round(float(spin.value()), DECIMALS)

    def _tune_clicked(self, on: bool) -> None:
        self.editor.edit(self.name, dict(self.default) if on else None)

    def _range_edited(self, which: str) -> None:
        low, high = self._number_value(self.low), self._number_value(self.high)
        if which == "low" and low > high:  # the other end follows, so the range stays a range
            high = low
        elif which == "high" and high < low:
            low = high
        entry = {"low": low, "high": high, "log": self.log.isChecked(), "steps": self.steps.value()}
        self.editor.edit(self.name, entry, merge=f"space.{self.name}.{which}" if which != "log" else False)

    def _parse_values(self) -> list[int | float] | None:
        out: list[int | float] = []
        for part in self.values.text().split(","):
            try:
                number = float(part.strip())
            except ValueError:
                return None
            if self.kind == "int":
                if not number.is_integer():
                    return None
                out.append(int(number))
            else:
                out.append(number)
        return out or None

    def _values_edited(self) -> None:
        values = self._parse_values()
        if values is None:
            self.values.setStyleSheet("QLineEdit { border: 1px solid #dc2626; }")
            return
        self.values.setStyleSheet("")
        self.editor.edit(self.name, {"values": values})

    def _to_range(self) -> None:
        values = self._parse_values() or self.default.get("values") or [0]
        low, high = min(values), max(values)
        self.editor.edit(self.name, {"low": low, "high": high, "log": low > 0, "steps": max(2, min(len(values), 100))})

    def _choices_edited(self, box: QCheckBox) -> None:
        chosen = [c for c, cb in zip(self.choices, self.boxes) if cb.isChecked()]
        if not chosen:  # a search needs at least one value: keep this one
            box.blockSignals(True)
            box.setChecked(True)
            box.blockSignals(False)
            return
        self.editor.edit(self.name, {"values": chosen})


class SpaceEditor(ParamEditor):
    """`space` of a tuning node: a grid of the connected learner's tunable parameters. `learner(port)` gives
    that learner's Params model; it is asked again whenever the panel shows a value (after each edit, link
    change and validation), and the grid is rebuilt only when the learner's model changes."""

    wide = True

    def __init__(self, port: str, learner: LearnerParams) -> None:
        super().__init__()
        self._layout.setDirection(QBoxLayout.TopToBottom)
        self._layout.setSpacing(4)
        self.port, self._learner = port, learner
        self.model: type[BaseModel] | None = None
        self._value: dict[str, Any] = {}
        self._built = False
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        self.note = QLabel()
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        # two lines whatever it says (the empty space's note wraps at the panel's width): the rows stay put
        self.note.setMinimumHeight(2 * self.note.fontMetrics().lineSpacing())
        self.start = QToolButton()
        self.start.setText("Edit it")
        self.start.setToolTip("Copy the default space into this one, to narrow or widen it")
        self.start.clicked.connect(self._start_from_default)
        head.addWidget(self.note, 1)
        head.addWidget(self.start, 0, Qt.AlignTop)
        self._layout.addLayout(head)
        self.table = QWidget()
        self.grid = QGridLayout(self.table)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(4)
        self.grid.setVerticalSpacing(3)
        self._layout.addWidget(self.table)
        self.problems = QWidget()
        self.problem_rows = QGridLayout(self.problems)
        self.problem_rows.setContentsMargins(0, 0, 0, 0)
        self.problem_rows.setVerticalSpacing(2)
        self._layout.addWidget(self.problems)
        self._problem_keys: list[tuple[str, str]] | None = None
        self.kept = QLabel()
        self.kept.setObjectName("muted")
        self.kept.setWordWrap(True)
        self._layout.addWidget(self.kept)
        self.rows: dict[str, _Row] = {}

    # ------------------------------------------------------------------------------------ value
    def set_value(self, value: Any) -> None:
        self._value = dict(value) if isinstance(value, dict) else {}
        self.refresh()

    def value(self) -> dict[str, Any]:
        return dict(self._value)

    def refresh(self) -> None:
        """Ask which learner is connected; rebuild the grid if it changed, then show the value."""
        model = self._learner(self.port)
        if model is not self.model or not self._built:
            self.model, self._built = model, True
            self._build()
        self._sync()

    def edit(self, name: str, entry: dict[str, Any] | None, merge: bool | str = False) -> None:
        """Put one parameter's entry in the space (None: take it out) and emit the new space."""
        new = dict(self._value)
        if entry is None:
            new.pop(name, None)
        else:
            new[name] = entry
        if new == self._value:
            return
        self._value = new
        self.merge_steps = merge
        self._sync()
        self._emit(new)

    def _start_from_default(self) -> None:
        if self.rows and not self._value:
            self._value = {name: dict(row.default) for name, row in self.rows.items()}
            self.merge_steps = False
            self._sync()
            self._emit(dict(self._value))

    # ------------------------------------------------------------------------------------ building
    def _build(self) -> None:
        while self.grid.count():
            w = self.grid.takeAt(0).widget()
            if w is not None:
                w.setParent(None)
                w.deleteLater()
        self.rows = {}
        if self.model is None:
            return
        fields = tunable(self.model)
        defaults = default_space(self.model)
        for c, (text, tip) in enumerate((("tune", "Check the parameters to search"), ("low", "Lowest value"),
                                         ("high", "Highest value"), ("log", "Log scale"),
                                         ("grid", "Grid points (grid search)"))):
            head = QLabel(text)
            head.setObjectName("fieldHelp")
            head.setToolTip(tip)
            self.grid.addWidget(head, 0, c, Qt.AlignCenter if c == 3 else Qt.AlignLeft)
        r = 1
        for name, field in fields.items():
            default = entry_of(defaults[name], _kind(field)[0])
            row = self.rows[name] = _Row(self, name, field, default, self.grid, r)
            r += row.grid_rows
        self.grid.setColumnStretch(1, 1)
        self.grid.setColumnStretch(2, 1)

    def _sync(self) -> None:
        value = self._value
        if self.model is None:
            self.note.setText(NO_LEARNER)
            self.start.hide()
            self.table.hide()
            self._show_problems([])
            kept = "; ".join(f"{name}: {describe(entry)}" for name, entry in value.items())
            self.kept.setText(f"Kept as is: {kept}" if kept else "")
            self.kept.setVisible(bool(kept))
            return
        self.kept.hide()
        implicit = not value
        for name, row in self.rows.items():
            entry = value.get(name)
            row.show(entry if isinstance(entry, dict) else None, implicit)
        if not self.rows:
            self.note.setText("this learner has no parameters to tune")
        elif implicit:
            self.note.setText(EMPTY)
        else:
            searched = sum(1 for name in self.rows if isinstance(value.get(name), dict))
            self.note.setText(f"{searched} of {len(self.rows)} parameters searched" +
                              ("; the others keep the learner's values" if searched < len(self.rows) else ""))
        keep = self.start.sizePolicy()
        keep.setRetainSizeWhenHidden(bool(self.rows))  # the rows stay put when the button goes
        self.start.setSizePolicy(keep)
        self.start.setVisible(implicit and bool(self.rows))
        self.table.setVisible(bool(self.rows))
        problems = [(name, f"{name} ({describe(entry)}): " + ("not a parameter of this learner"
                                                              if name not in self.rows else "not a search range"))
                    for name, entry in value.items() if name not in self.rows or not isinstance(entry, dict)]
        self._show_problems(problems)

    def _show_problems(self, problems: list[tuple[str, str]]) -> None:
        """Entries the learner does not have (or cannot read), in red, each with a remove button."""
        if problems == self._problem_keys:
            return
        self._problem_keys = problems
        while self.problem_rows.count():
            w = self.problem_rows.takeAt(0).widget()
            if w is not None:
                w.setParent(None)
                w.deleteLater()
        for r, (name, text) in enumerate(problems):
            label = QLabel(text)
            label.setObjectName(f"unknown_{name}")
            label.setStyleSheet(RED)
            label.setWordWrap(True)
            remove = QToolButton()
            remove.setText("✕")
            remove.setObjectName(f"remove_{name}")
            remove.setToolTip(f"Remove '{name}' from the search space")
            remove.clicked.connect(lambda _c=False, n=name: self.edit(n, None))
            self.problem_rows.addWidget(label, r, 0)
            self.problem_rows.addWidget(remove, r, 1, Qt.AlignTop)
        self.problem_rows.setColumnStretch(0, 1)
        self.problems.setVisible(bool(problems))
