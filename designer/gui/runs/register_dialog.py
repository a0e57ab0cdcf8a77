"""Ask which trained model of a run to register, and under what name."""

from __future__ import annotations

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget

from designer.core.run_history import when
from designer.core.store import MODEL_NAME, RunRecord


class RegisterDialog(QDialog):
    """Run (fixed), training node (one of the run's saved models) and model name; `choice()` after accept."""

    def __init__(self, run: RunRecord, nodes: list[str], node: str | None, name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Register model")
        self.node = QComboBox()
        self.node.addItems(nodes)
        if node in nodes:
            self.node.setCurrentText(node)
        self.name = QLineEdit(name)
        self.name.setValidator(QRegularExpressionValidator(QRegularExpression(MODEL_NAME.pattern), self))
        self.name.setPlaceholderText("letters, digits, '_', '.', '-'")
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Register")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.name.textChanged.connect(
            lambda text: buttons.button(QDialogButtonBox.Ok).setEnabled(bool(MODEL_NAME.fullmatch(text))))
        form = QFormLayout(self)
        form.addRow("Run:", QLabel(f"{run.id} — {run.status}, {when(run.started_at)}"))
        form.addRow("Trained by node:", self.node)
        form.addRow("Model name:", self.name)
        form.addRow(QLabel("The model is copied into the run store as the next version of this name."))
        form.addRow(buttons)

    def choice(self) -> tuple[str, str]:
        return self.node.currentText(), self.name.text()
