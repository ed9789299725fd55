"""What the editor puts back on reopen: the window and its docks, and each song's view.

The window's geometry and dock layout go to the user's QSettings when the window closes and
come back when the next window opens. A song's view (the visible time range, the selected
phrases, the play range and the playback speed) is kept per song in QSettings and saved inside
a project's settings, so reopening a song or a project shows (and plays) the part the user was
working on; a view saved before the range and speed existed opens at 1× with no range.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from choreo_studio.editor.preview_handlers import SPEEDS
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
    """The visible time range, the selected phrases, the play range and the playback speed of
    one song."""

    x_range: tuple[float, float]
    selected: int
    selection: tuple[int, ...] = ()
    play_range: tuple[float, float] | None = None
    speed: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"x_range": list(self.x_range), "selected": self.selected,
                "selection": list(self.selection),
                "play_range": None if self.play_range is None else list(self.play_range),
                "speed": self.speed}

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
        return cls((lo, hi), selected, selection, _span(value.get("play_range")),
                   _speed(value.get("speed")))

    def to_text(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_text(cls, text: Any) -> ViewState | None:
        """The view stored by :meth:`to_text` (None for a missing or damaged entry)."""
        try:
            return cls.from_dict(json.loads(str(text)))
        except ValueError:
            return None


def _span(value: Any) -> tuple[float, float] | None:
    """A stored play range as (in, out) seconds; None when absent or unusable."""
    try:
        lo, hi = (float(x) for x in value)
    except (TypeError, ValueError):
        return None
    ok = math.isfinite(lo) and math.isfinite(hi) and 0.0 <= lo < hi
    return (lo, hi) if ok else None


def _speed(value: Any) -> float:
    """A stored playback speed, 1.0 when absent or not one the editor offers."""
    try:
        speed = float(value)
    except (TypeError, ValueError):
        return 1.0
    return speed if speed in SPEEDS else 1.0


def capture(window: Any) -> ViewState:
    """The open song's view in ``window`` (a MainWindow)."""
    lo, hi = window.waveform.getViewBox().viewRange()[0]
    doc, transport = window.doc, window.transport
    span = transport.play_range_s
    return ViewState((float(lo), float(hi)), doc.selected, tuple(doc.selection),
                     None if span is None else (float(span[0]), float(span[1])),
                     float(transport.speed))


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
    window.transport.set_play_range(state.play_range)
    window.waveform.set_play_range(window.transport.play_range_s)
    if state.speed != window.transport.speed:
        window.preview.set_speed(state.speed)
