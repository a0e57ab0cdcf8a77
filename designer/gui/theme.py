"""Colours, fonts, icons and the light/dark application palette."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from designer.core.states import NodeState

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
ICONS = RESOURCES / "icons"

PORT_COLOURS = {
    "Table": "#3b82f6",
    "Learner": "#a855f7",
    "Model": "#f59e0b",
    "Report": "#10b981",
}

CATEGORY_COLOURS = {
    "Data": "#0284c7",
    "Clean and transform": "#4f46e5",
    "Split": "#0d9488",
    "Machine learning": "#ea580c",
    "Score and evaluate": "#16a34a",
}

# run state → (colour, symbol, label)
RUN_STATES = {
    NodeState.QUEUED: ("#94a3b8", "…", "Queued"),
    NodeState.RUNNING: ("#2563eb", "", "Running"),
    NodeState.DONE: ("#16a34a", "✓", "Finished"),
    NodeState.CACHED: ("#0891b2", "↺", "Reused"),
    NodeState.FAILED: ("#dc2626", "✕", "Failed"),
    NodeState.SKIPPED: ("#a8a29e", "–", "Skipped"),
    NodeState.STALE: ("#d97706", "•", "Out of date"),
}


@dataclass(frozen=True)
class Theme:
    """The canvas colours of one look."""

    dark: bool
    canvas: str
    grid: str
    node_body: str
    node_border: str
    node_text: str
    node_subtext: str
    selection: str
    link_default: str
    note_fill: str
    note_text: str
    error: str = "#dc2626"
    warning: str = "#d97706"

    def c(self, name: str) -> QColor:
        return QColor(getattr(self, name))


LIGHT = Theme(dark=False, canvas="#eef2f7", grid="#cfd8e3", node_body="#ffffff", node_border="#c3ccd8",
              node_text="#0f172a", node_subtext="#64748b", selection="#f59e0b", link_default="#64748b",
              note_fill="#fff7c2", note_text="#3f3a1a")
DARK = Theme(dark=True, canvas="#161b22", grid="#2a323d", node_body="#222a35", node_border="#3a4556",
             node_text="#e6edf3", node_subtext="#9aa7b7", selection="#fbbf24", link_default="#8b98a9",
             note_fill="#3d3721", note_text="#f4ecc2")

_current: list[Theme] = [LIGHT]


def theme() -> Theme:
    return _current[0]


def port_colour(port_type: str) -> QColor:
    return QColor(PORT_COLOURS.get(port_type, "#64748b"))


def category_colour(category: str) -> QColor:
    return QColor(CATEGORY_COLOURS.get(category, "#475569"))


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return bool(hints and hints.colorScheme() == Qt.ColorScheme.Dark)


def _palette(dark: bool) -> QPalette:
    pal = QPalette()
    if dark:
        roles = {
            QPalette.Window: "#1c2128", QPalette.WindowText: "#e6edf3", QPalette.Base: "#161b22",
            QPalette.AlternateBase: "#1f2630", QPalette.Text: "#e6edf3", QPalette.Button: "#262d37",
            QPalette.ButtonText: "#e6edf3", QPalette.ToolTipBase: "#2d333b", QPalette.ToolTipText: "#e6edf3",
            QPalette.Highlight: "#2f6fd6", QPalette.HighlightedText: "#ffffff", QPalette.PlaceholderText: "#7d8896",
            QPalette.Mid: "#3a4350", QPalette.Dark: "#11151a", QPalette.Light: "#3a4350", QPalette.Link: "#6ea8fe",
        }
    else:
        roles = {
            QPalette.Window: "#f6f8fa", QPalette.WindowText: "#1f2328", QPalette.Base: "#ffffff",
            QPalette.AlternateBase: "#f3f5f8", QPalette.Text: "#1f2328", QPalette.Button: "#f3f5f8",
            QPalette.ButtonText: "#1f2328", QPalette.ToolTipBase: "#ffffff", QPalette.ToolTipText: "#1f2328",
            QPalette.Highlight: "#2f6fd6", QPalette.HighlightedText: "#ffffff", QPalette.PlaceholderText: "#8c959f",
            QPalette.Mid: "#c9d1d9", QPalette.Dark: "#8c959f", QPalette.Light: "#ffffff", QPalette.Link: "#0969da",
        }
    for role, colour in roles.items():
        pal.setColor(role, QColor(colour))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        pal.setColor(QPalette.Disabled, role, QColor("#6e7781" if dark else "#a0a8b1"))
    return pal


def apply_theme(app: QApplication, mode: str = "system") -> Theme:
    """Set the Fusion style, a light or dark palette, the stylesheet and the canvas colours."""
    dark = system_is_dark() if mode == "system" else mode == "dark"
    app.setStyle("Fusion")
    app.setPalette(_palette(dark))
    font = QFont(app.font())
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    app.setFont(font)
    qss = RESOURCES / "style.qss"
    text = qss.read_text(encoding="utf-8") if qss.is_file() else ""
    accent = "#2f6fd6"
    app.setStyleSheet(text.replace("@border", "#3a4350" if dark else "#d0d7de")
                      .replace("@muted", "#9aa7b7" if dark else "#57606a")
                      .replace("@panel", "#1f2630" if dark else "#eef1f5")
                      .replace("@accent", accent))
    _current[0] = DARK if dark else LIGHT
    icon.cache_clear()
    ui_font.cache_clear()
    return _current[0]


@lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
    """An icon from resources/icons/NAME.svg drawn in the palette's text colour (so it suits dark too)."""
    path = ICONS / f"{name}.svg"
    if not path.is_file():
        return QIcon()
    colour = "#d0d7de" if theme().dark else "#3b4450"
    svg = path.read_text(encoding="utf-8").replace("currentColor", colour)
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    result = QIcon()
    for size in (16, 24, 32, 48):
        pm = QPixmap(QSize(size, size))
        pm.fill(Qt.transparent)
        painter = QPainter(pm)
        renderer.render(painter)
        painter.end()
        result.addPixmap(pm)
    return result


@lru_cache(maxsize=None)
def ui_font(point_delta: float = 0.0, bold: bool = False) -> QFont:
    """The application font, resized (shared: copy it before changing it)."""
    font = QFont(QApplication.font())
    font.setPointSizeF(max(6.0, font.pointSizeF() + point_delta))
    font.setBold(bold)
    return font
