"""Colours shared by the editor's views: one per section label and one per dance style."""

from __future__ import annotations

import hashlib

from PySide6.QtGui import QColor

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
