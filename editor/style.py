"""Colours shared by the editor's views: one per section label and one per dance style."""

from __future__ import annotations

import hashlib

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BACKGROUND = "#1e2126"

STYLE_COLORS = {
    "urban": "#e07a5f",
    "jazz": "#f2cc8f",
    "hip-hop": "#81b29a",
    "hiphop": "#81b29a",
    "popping": "#9b8de0",
    "k-pop": "#f28fb8",
    "kpop": "#f28fb8",
    "locking": "#5fb4e0",
    "breaking": "#e0c35f",
    "acgn": "#7fe0d0",
}

_PALETTE = ["#3d5a80", "#6d597a", "#355070", "#52796f", "#7f5539", "#5e548e", "#2a6f97", "#7d4e57"]


def _stable_index(text: str, n: int) -> int:
    return int(hashlib.md5(text.encode("utf-8")).hexdigest()[:8], 16) % n


def section_color(label: str, alpha: int = 70) -> QColor:
    """A translucent colour for a section label; repeated sections (same label) share it."""
    base = label.rstrip("0123456789'’ ").lower() or label
    color = QColor(_PALETTE[_stable_index(base, len(_PALETTE))])
    color.setAlpha(alpha)
    return color


def style_color(style: str) -> QColor:
    """The colour of a dance style on the timeline and in the library browser."""
    key = style.lower()
    if key in STYLE_COLORS:
        return QColor(STYLE_COLORS[key])
    return QColor(_PALETTE[_stable_index(key, len(_PALETTE))]).lighter(150)


def apply_dark_theme(app: QApplication) -> None:
    """Fusion style with a dark palette, so panels match the plots (a studio-tool look)."""
    app.setStyle("Fusion")
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#2b2f36",
        QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#23262b",
        QPalette.ColorRole.AlternateBase: "#2b2f36",
        QPalette.ColorRole.ToolTipBase: "#3a3f47",
        QPalette.ColorRole.ToolTipText: "#f0f0f0",
        QPalette.ColorRole.Text: "#e6e6e6",
        QPalette.ColorRole.Button: "#353a42",
        QPalette.ColorRole.ButtonText: "#e6e6e6",
        QPalette.ColorRole.BrightText: "#ff5050",
        QPalette.ColorRole.Highlight: "#3d6fa8",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: "#8a8f98",
    }
    for role, color in roles.items():
        palette.setColor(role, QColor(color))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6f747c"))
    app.setPalette(palette)
