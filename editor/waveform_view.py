"""The waveform: min/max envelope, beat grid, bar numbers, sections, phrase boundaries, playhead.

Zoom and scroll on the time axis only (mouse wheel / drag); a click seeks. Phrase boundaries
are draggable lines that snap to the nearest downbeat when released; the view only reports the
move (``boundary_moved``) and the main window turns it into an undoable re-segmentation.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont

from editor.style import BACKGROUND, section_color

ENVELOPE_BUCKET = 256
"""Samples per min/max bucket of the drawn envelope (pyqtgraph peak-downsamples further)."""

MIN_LABEL_SPACING_PX = 28
_SECTION_FONT = QFont()
_SECTION_FONT.setBold(True)
_SECTION_FONT.setPointSize(9)


def envelope(
    samples: np.ndarray, sr: int, bucket: int = ENVELOPE_BUCKET
) -> tuple[np.ndarray, np.ndarray]:
    """x (seconds) and y of a zig-zag min/max envelope of the mono mix: a filled-looking wave."""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    n = len(mono) // bucket
    if n == 0:
        return np.zeros(0), np.zeros(0)
    blocks = mono[: n * bucket].reshape(n, bucket)
    hi, lo = blocks.max(axis=1), blocks.min(axis=1)
    peak = float(max(np.abs(hi).max(), np.abs(lo).max(), 1e-9))
    x = (np.arange(n) + 0.5) * bucket / sr
    return np.repeat(x, 2), np.stack([hi, lo], axis=1).ravel() / peak


class WaveformView(pg.PlotWidget):
    """The song's waveform with its musical grid; emits seek and boundary-move requests."""

    seek_requested = Signal(float)
    boundary_moved = Signal(int, float)  # boundary index (phrase that starts there), new time_s

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background=BACKGROUND)
        self.setMinimumHeight(120)
        self.hideAxis("left")
        self.setMenuEnabled(False)
        self.hideButtons()
        vb = self.getViewBox()
        vb.setMouseEnabled(x=True, y=False)
        vb.setYRange(-1.15, 1.3, padding=0)
        self.getAxis("bottom").setLabel("time", units="s")
        self._duration_s = 0.0
        self._downbeats_s = np.zeros(0)
        self._bar_labels: list[pg.TextItem] = []
        self._section_items: list[pg.GraphicsObject] = []
        self._boundary_lines: list[pg.InfiniteLine] = []
        self._wave = pg.PlotDataItem(pen=pg.mkPen("#7fb2e5", width=1))
        self._wave.setDownsampling(auto=True, method="peak")
        self._wave.setClipToView(True)
        self._beats = pg.PlotDataItem(
            pen=pg.mkPen(QColor(255, 255, 255, 40), width=1), connect="pairs"
        )
        self._downbeats = pg.PlotDataItem(
            pen=pg.mkPen(QColor(255, 255, 255, 110), width=1.5), connect="pairs"
        )
        for item in (self._beats, self._downbeats, self._wave):
            self.addItem(item)
        self._selection = pg.LinearRegionItem(
            movable=False, brush=QColor(255, 255, 255, 28), pen=pg.mkPen(None)
        )
        self._selection.setZValue(-5)
        self._selection.hide()
        self.addItem(self._selection)
        self._playhead = pg.InfiniteLine(0.0, pen=pg.mkPen("#ff5050", width=2))
        self._playhead.setZValue(50)
        self.addItem(self._playhead)
        self.scene().sigMouseClicked.connect(self._on_click)
        vb.sigXRangeChanged.connect(lambda *_: self._update_bar_labels())

    # -- content --------------------------------------------------------------------------
    def set_audio(self, samples: np.ndarray, sr: int) -> None:
        """Draw the waveform at once (before any analysis) and show the whole song."""
        x, y = envelope(samples, sr)
        self._wave.setData(x, y)
        self._duration_s = len(samples) / float(sr)
        vb = self.getViewBox()
        vb.setLimits(xMin=0.0, xMax=self._duration_s, minXRange=0.5)
        vb.setXRange(0.0, self._duration_s, padding=0)
        self.set_grid(np.zeros(0), np.zeros(0, dtype=np.int64), [])
        self.set_phrase_starts([])

    def set_grid(self, beats_s: np.ndarray, downbeats: np.ndarray, sections: list) -> None:
        """Beat lines, stronger downbeat lines with bar numbers, and coloured section bands."""
        beats_s = np.asarray(beats_s, dtype=float)
        self._beats.setData(np.repeat(beats_s, 2), np.tile([-1.0, 1.0], beats_s.size))
        self._downbeats_s = (
            beats_s[np.asarray(downbeats, dtype=np.int64)] if beats_s.size else np.zeros(0)
        )
        self._downbeats.setData(
            np.repeat(self._downbeats_s, 2), np.tile([-1.1, 1.1], self._downbeats_s.size)
        )
        for item in self._bar_labels + self._section_items:
            self.removeItem(item)
        self._bar_labels = []
        for bar, t in enumerate(self._downbeats_s, start=1):
            label = pg.TextItem(str(bar), color=(220, 220, 220), anchor=(0, 0))
            label.setPos(float(t), 1.3)
            self.addItem(label)
            self._bar_labels.append(label)
        self._section_items = []
        for section in sections:
            color = section_color(section.label)
            region = pg.LinearRegionItem(
                (section.start_s, section.end_s), movable=False, brush=color, pen=pg.mkPen(None)
            )
            region.setZValue(-10)
            label_color = QColor(color)
            label_color.setAlpha(255)
            text = pg.TextItem(
                f" {section.label} ",
                color="#f0f0f0",
                anchor=(0, 0),
                fill=pg.mkBrush(label_color.darker(130)),
            )
            text.setFont(_SECTION_FONT)
            text.setZValue(45)
            text.setPos(section.start_s, 1.08)
            self.addItem(region)
            self.addItem(text)
            self._section_items += [region, text]
        self._update_bar_labels()

    def set_phrase_starts(self, starts_s: list[float]) -> None:
        """Draggable boundary lines at the start of every phrase but the first."""
        for line in self._boundary_lines:
            self.removeItem(line)
        self._boundary_lines = []
        for index, t in enumerate(starts_s):
            if index == 0:
                continue
            line = pg.InfiniteLine(
                float(t),
                movable=True,
                pen=pg.mkPen("#ffd23f", width=2),
                hoverPen=pg.mkPen("#ffffff", width=3),
            )
            line.setZValue(40)
            line.setToolTip("phrase boundary: drag to move (snaps to downbeats)")
            line.sigPositionChangeFinished.connect(lambda ln, i=index: self._on_drag_end(i, ln))
            self.addItem(line)
            self._boundary_lines.append(line)

    def set_selection(self, span_s: tuple[float, float] | None) -> None:
        if span_s is None:
            self._selection.hide()
        else:
            self._selection.setRegion(span_s)
            self._selection.show()

    def set_playhead(self, position_s: float) -> None:
        self._playhead.setValue(position_s)

    def ensure_visible(self, position_s: float) -> None:
        """Scroll (keeping the zoom) so that ``position_s`` is in view, as a DAW follows play."""
        lo, hi = self.getViewBox().viewRange()[0]
        if not lo <= position_s <= hi:
            width = hi - lo
            self.getViewBox().setXRange(
                position_s - 0.1 * width, position_s + 0.9 * width, padding=0
            )

    def snap_to_downbeat(self, time_s: float) -> float:
        """The downbeat time nearest ``time_s`` (the time itself when there is no grid)."""
        if self._downbeats_s.size == 0:
            return time_s
        return float(self._downbeats_s[int(np.argmin(np.abs(self._downbeats_s - time_s)))])

    def boundary_lines(self) -> list[pg.InfiniteLine]:
        return list(self._boundary_lines)

    # -- events ---------------------------------------------------------------------------
    def _on_drag_end(self, index: int, line: pg.InfiniteLine) -> None:
        snapped = self.snap_to_downbeat(float(line.value()))
        line.setValue(snapped)
        self.boundary_moved.emit(index, snapped)

    def _on_click(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or event.isAccepted():
            return
        vb = self.getViewBox()
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        x = float(vb.mapSceneToView(event.scenePos()).x())
        self.seek_requested.emit(min(max(x, 0.0), self._duration_s))

    def _update_bar_labels(self) -> None:
        """Show every n-th bar number so labels never overlap at the current zoom."""
        if not self._bar_labels:
            return
        lo, hi = self.getViewBox().viewRange()[0]
        width_px = max(self.getViewBox().width(), 1.0)
        bar_s = float(np.median(np.diff(self._downbeats_s))) if self._downbeats_s.size > 1 else 2.0
        px_per_bar = bar_s / max(hi - lo, 1e-9) * width_px
        step = 1
        while step * px_per_bar < MIN_LABEL_SPACING_PX:
            step *= 2
        for i, label in enumerate(self._bar_labels):
            label.setVisible(i % step == 0)
