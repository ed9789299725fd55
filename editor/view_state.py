"""What the editor puts back on reopen: the window and its docks, and each song's view.

The window's geometry and dock layout go to the user's QSettings when the window closes and
come back when the next window opens. A song's view (the visible time range and the selected
phrases) is kept per song in QSettings and saved inside a project's settings, so reopening a
song or a project shows the part the user was working on.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow

GEOMETRY_KEY = "window/geometry"
DOCKS_KEY = "window/docks"
DOCKS_VERSION = 1
"""Bump when the docks change so an old layout is not applied to new docks."""


def save_window(window: QMainWindow, settings: QSettings) -> None:
    """Remember the window's size, place and dock layout."""
    settings.setValue(GEOMETRY_KEY, window.saveGeometry())
    settings.setValue(DOCKS_KEY, window.saveState(DOCKS_VERSION))


def restore_window(window: QMainWindow, settings: QSettings) -> bool:
    """Put back what :func:`save_window` remembered; False when there was nothing usable."""
    geometry, docks = settings.value(GEOMETRY_KEY), settings.value(DOCKS_KEY)
    restored = isinstance(geometry, QByteArray) and window.restoreGeometry(geometry)
    if isinstance(docks, QByteArray):
        restored = window.restoreState(docks, DOCKS_VERSION) and restored
    return bool(restored)


@dataclass(frozen=True)
class ViewState:
    """The visible time range and the selected phrases of one song."""

    x_range: tuple[float, float]
    selected: int
    selection: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"x_range": list(self.x_range), "selected": self.selected,
                "selection": list(self.selection)}

    @classmethod
    def from_dict(cls, value: Any) -> ViewState | None:
        """The view in ``value`` (a project's or the settings' JSON); None when unusable."""
        try:
            lo, hi = (float(x) for x in value["x_range"])
            selected = int(value["selected"])
            selection = tuple(int(i) for i in value.get("selection") or ())
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
            return None
        return cls((lo, hi), selected, selection)

    def to_text(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_text(cls, text: Any) -> ViewState | None:
        """The view stored by :meth:`to_text` (None for a missing or damaged entry)."""
        try:
            return cls.from_dict(json.loads(str(text)))
        except ValueError:
            return None


def capture(window: Any) -> ViewState:
    """The open song's view in ``window`` (a MainWindow)."""
    lo, hi = window.waveform.getViewBox().viewRange()[0]
    doc = window.doc
    return ViewState((float(lo), float(hi)), doc.selected, tuple(doc.selection))


def apply(window: Any, state: ViewState) -> None:
    """Show ``state`` in ``window``: the range clamped to the song, phrases that exist."""
    doc = window.doc
    duration = max(window.transport.duration_s, 1e-3)
    lo = min(max(state.x_range[0], 0.0), duration)
    hi = min(max(state.x_range[1], lo + 0.5), duration)
    if hi > lo:
        window.waveform.getViewBox().setXRange(lo, hi, padding=0)
    if 0 <= state.selected < len(doc.phrases):
        doc.set_selection(state.selected, state.selection)
