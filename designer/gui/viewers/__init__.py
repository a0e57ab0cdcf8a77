"""Output viewers: tables, column profiles, trained models and evaluation reports.

Each viewer is a plain QWidget built from a core value and updated with `refresh(value)`, independent of the
editor, so the editor can show it in a dock or a tab. Names are imported lazily (matplotlib is heavy).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_MODULES = {"TableViewer": "table_viewer", "ProfileViewer": "profile_viewer", "ModelViewer": "model_viewer",
            "EvaluationViewer": "evaluation_viewer", "FigureView": "figure_canvas"}

__all__ = sorted(_MODULES)


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(import_module(f"{__name__}.{_MODULES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
