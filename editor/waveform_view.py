"""The waveform: min/max envelope, beat grid, bar ruler, sections, phrase boundaries, playhead.

The beat grid thins with the zoom (beat lines only while beats are ≥ 6 px apart, then bars,
then every 2nd, 4th … bar); the ruler numbers bars (and beats, zoomed in far enough) and the
time axis reads m:ss. A loop region (an audition or Ctrl+L) is drawn over the waveform.
Zoom and scroll on the time axis only (mouse wheel, middle-button drag); a click seeks, and a
left-button drag on the waveform or its time ruler marks the play range (snapped to beats,
Shift held: free), as a DAW's ruler drag sets its time selection; a right click asks for the
waveform's menu there (split, in/out, downbeat). Phrase boundaries
are draggable lines that snap to the nearest downbeat when released; the view only reports the
move (``boundary_moved``) and the main window turns it into an undoable re-segmentation.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from choreo_studio.editor.style import BACKGROUND, section_color
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter

BASE_BUCKET = 64
"""Samples per min/max bucket at the finest level of the envelope pyramid."""

POINTS_PER_PIXEL = 1
MIN_LABEL_SPACING_PX = 28
MIN_LINE_SPACING_PX = 6
"""Grid lines closer than this on screen are thinned (beats → bars → every 2nd bar …)."""
BEAT_LABEL_SPACING_PX = 40
"""Beats this far apart get ``bar.beat`` numbers on the ruler."""


BAR_ALPHA = (40, 110)
"""Bar lines' opacity: the first when they are 6 px apart, rising to the second at 30 px."""


def bar_line_alpha(spacing_px: float) -> int:
    """How opaque bar lines ``spacing_px`` apart are drawn (dense ones fainter)."""
    lo, hi = BAR_ALPHA
    share = min(max((spacing_px - MIN_LINE_SPACING_PX) / (30.0 - MIN_LINE_SPACING_PX), 0.0), 1.0)
    return int(round(lo + share * (hi - lo)))


def grid_lines(beats_s: np.ndarray, downbeats_s: np.ndarray, span_s: float, width_px: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """The beat and bar lines worth drawing when ``span_s`` seconds fill ``width_px``: beats
    only while ≥ 6 px apart, bars thinned to every 2^n-th so they stay ≥ 6 px apart."""
    px_per_s = max(width_px, 1.0) / max(span_s, 1e-9)
    beat_s = float(np.median(np.diff(beats_s))) if beats_s.size > 1 else 0.5
    beats = beats_s if beat_s * px_per_s >= MIN_LINE_SPACING_PX else np.zeros(0)
    bar_s = float(np.median(np.diff(downbeats_s))) if downbeats_s.size > 1 else 2.0
    step = 1
    while step * bar_s * px_per_s < MIN_LINE_SPACING_PX and step < downbeats_s.size:
        step *= 2
    return beats, downbeats_s[::step]


def _cached(item) -> None:
    """Keep ``item``'s picture in device pixels: a moving playhead then repaints its strip
    from the pictures instead of drawing every envelope and grid path again."""
    drawn = item.curve if isinstance(item, pg.PlotDataItem) else item  # the curve draws
    drawn.setCacheMode(drawn.CacheMode.DeviceCoordinateCache)


class ClockAxis(pg.AxisItem):
    """A time axis labelled m:ss (m:ss.s when zoomed in to under a second per tick)."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph API
        decimals = 1 if spacing * scale < 1.0 else 0
        out = []
        for v in values:
            minutes, secs = divmod(max(float(v) * scale, 0.0), 60.0)
            out.append(f"{int(minutes)}:{secs:0{3 + decimals if decimals else 2}.{decimals}f}")
        return out
_SECTION_FONT = QFont()
_SECTION_FONT.setBold(True)
_SECTION_FONT.setPointSize(9)
_BAR_FONT = QFont()
_BAR_FONT.setPointSize(8)


class WavePyramid:
    """Min/max envelopes of the mono mix at bucket sizes 64, 128, 256… samples (Qt-free).

    Built once per song (in a worker), from the samples or from the envelope core caches for
    a song it has analysed (then from 256-sample buckets, without decoding the song); the
    view draws only the level and the slice that fit the visible range, so a repaint costs a
    few thousand points whatever the song length.
    """

    def __init__(self, samples: np.ndarray, sr: int) -> None:
        data = samples if samples.ndim == 2 else samples[:, None]
        n = data.shape[0] // BASE_BUCKET
        self._build(np.zeros(0), np.zeros(0), sr, data.shape[0] / float(sr), BASE_BUCKET)
        if n:
            blocks = data[: n * BASE_BUCKET].reshape(n, BASE_BUCKET, data.shape[1])
            # max over samples and channels: a mono-ish peak
            self._build(blocks.max(axis=(1, 2)), blocks.min(axis=(1, 2)), sr,
                        self.duration_s, BASE_BUCKET)

    @classmethod
    def from_envelope(cls, envelope, duration_s: float) -> WavePyramid:
        """The pyramid of a cached :class:`core.audio.envelope.WaveEnvelope` (no samples)."""
        pyramid = cls.__new__(cls)
        pyramid._build(np.asarray(envelope.hi, dtype=np.float32),
                       np.asarray(envelope.lo, dtype=np.float32), envelope.sr, duration_s,
                       int(envelope.bucket))
        return pyramid

    def _build(self, hi: np.ndarray, lo: np.ndarray, sr: int, duration_s: float,
               bucket: int) -> None:
        """Levels from the finest min/max buckets ``hi`` / ``lo`` of ``bucket`` samples."""
        self.sr = int(sr)
        self.duration_s = duration_s
        self.base_bucket = bucket
        self.levels: list[tuple[np.ndarray, np.ndarray]] = []
        if hi.size == 0:
            return
        peak = float(max(np.abs(hi).max(), np.abs(lo).max(), 1e-9))
        hi, lo = hi / peak, lo / peak
        while True:
            self.levels.append((hi.astype(np.float32), lo.astype(np.float32)))
            if hi.size < 256:
                break
            m = hi.size // 2
            hi = np.maximum(hi[: 2 * m : 2], hi[1 : 2 * m : 2])
            lo = np.minimum(lo[: 2 * m : 2], lo[1 : 2 * m : 2])

    def for_range(self, lo_s: float, hi_s: float, width_px: float) -> tuple[np.ndarray, np.ndarray]:
        """x (s) and y of the zig-zag envelope covering [lo_s, hi_s], about one bucket per pixel."""
        if not self.levels:
            return np.zeros(0), np.zeros(0)
        want = max(width_px, 1.0) * POINTS_PER_PIXEL
        level = 0
        while level + 1 < len(self.levels):
            bucket_s = self.base_bucket * 2**level / self.sr
            if (hi_s - lo_s) / bucket_s <= want:
                break
            level += 1
        up, down = self.levels[level]
        bucket_s = self.base_bucket * 2**level / self.sr
        i0 = max(int(lo_s / bucket_s) - 1, 0)
        i1 = min(int(hi_s / bucket_s) + 2, up.size)
        x = (np.arange(i0, i1) + 0.5) * bucket_s
        return np.repeat(x, 2), np.stack([up[i0:i1], down[i0:i1]], axis=1).ravel()


class _GridLabels(pg.GraphicsObject):
    """Bar numbers and section badges, painted in device pixels in one pass.

    Only the labels in view are drawn, every n-th bar number so they never overlap.
    """

    def __init__(self) -> None:
        super().__init__()
        self.downbeats_s = np.zeros(0)
        self.beats_s = np.zeros(0)
        self.sections: list = []
        self.duration_s = 1.0
        self.setZValue(45)

    def set_content(self, downbeats_s: np.ndarray, sections: list, duration_s: float,
                    beats_s: np.ndarray | None = None) -> None:
        self.prepareGeometryChange()
        self.downbeats_s, self.sections = downbeats_s, list(sections)
        self.beats_s = np.zeros(0) if beats_s is None else beats_s
        self.duration_s = max(duration_s, 1e-3)
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return QRectF(0.0, -1.2, self.duration_s, 2.6)

    def _paint_beat_numbers(self, painter: QPainter, transform, lo: float, hi: float,
                            width_px: float, top: float) -> None:
        """``bar.beat`` under the bar numbers once beats are ≥ 40 px apart."""
        beats, db = self.beats_s, self.downbeats_s
        if beats.size < 2 or db.size == 0:
            return
        beat_s = float(np.median(np.diff(beats)))
        if beat_s / max(hi - lo, 1e-9) * max(width_px, 1.0) < BEAT_LABEL_SPACING_PX:
            return
        painter.setPen(QColor(170, 170, 170))
        first, last = np.searchsorted(beats, [lo, hi])
        for b in range(int(first), int(last)):
            bar = int(np.searchsorted(db, beats[b] + 1e-6, side="right"))
            if bar == 0 or abs(db[bar - 1] - beats[b]) < 1e-6:
                continue  # before the first bar, or the bar line itself (numbered above)
            beat_in_bar = int(np.count_nonzero((beats >= db[bar - 1] - 1e-6)
                                               & (beats <= beats[b] + 1e-6)))
            x = transform.map(QPointF(float(beats[b]), 0.0)).x()
            painter.drawText(QPointF(x + 2, top + 12), f"{bar}.{beat_in_bar}")
        painter.setPen(QColor(220, 220, 220))

    def paint(self, painter: QPainter, *_args) -> None:
        view = self.getViewBox()
        if view is None:
            return
        transform = painter.transform()
        painter.resetTransform()
        lo, hi = view.viewRange()[0]
        top = transform.map(QPointF(0.0, 1.3)).y()
        painter.setFont(_BAR_FONT)
        painter.setPen(QColor(220, 220, 220))
        db = self.downbeats_s
        if db.size:
            bar_s = float(np.median(np.diff(db))) if db.size > 1 else 2.0
            px_per_bar = bar_s / max(hi - lo, 1e-9) * max(view.width(), 1.0)
            step = 1
            while step * px_per_bar < MIN_LABEL_SPACING_PX:
                step *= 2
            first, last = np.searchsorted(db, [lo - bar_s, hi])
            right = -1e9
            metrics = painter.fontMetrics()
            for i in range(int(first) - int(first) % step, int(last), step):
                x = transform.map(QPointF(float(db[i]), 0.0)).x() if i >= 0 else -1e9
                if i < 0 or x + 3 < right:  # shorter bars than the median: no overlap
                    continue
                painter.drawText(QPointF(x + 3, top + 12), str(i + 1))
                right = x + 3 + metrics.horizontalAdvance(str(i + 1)) + 4
            self._paint_beat_numbers(painter, transform, lo, hi, view.width(), top)
        painter.setFont(_SECTION_FONT)
        metrics = painter.fontMetrics()
        right = -1e9
        for section in self.sections:
            if section.end_s < lo or section.start_s > hi:
                continue
            x = transform.map(QPointF(section.start_s, 0.0)).x()
            text = f" {section.label} "
            box = QRectF(x + 1, top + 16, metrics.horizontalAdvance(text) + 2, metrics.height() + 2)
            if box.left() < right:
                continue  # a short section's badge would cover the previous one's
            right = box.right() + 2
            color = QColor(section_color(section.label))
            color.setAlpha(255)
            painter.fillRect(box, color.darker(130))
            painter.setPen(QColor("#f0f0f0"))
            painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter), text)


class _RangeDragBox(pg.ViewBox):
    """A view box whose left-button drag reports a span instead of panning (the middle button
    and the wheel still pan and zoom); the time axis forwards its drags here too."""

    def __init__(self, on_drag) -> None:
        super().__init__()
        self._on_drag = on_drag

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 - pyqtgraph API
        if ev.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        start = float(self.mapSceneToView(ev.buttonDownScenePos()).x())
        end = float(self.mapSceneToView(ev.scenePos()).x())
        free = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        self._on_drag(start, end, ev.isStart(), ev.isFinish(), free)


class WaveformView(pg.PlotWidget):
    """The song's waveform with its musical grid; emits seek, boundary-move and play-range
    requests."""

    seek_requested = Signal(float)
    boundary_moved = Signal(int, float)  # boundary index (phrase that starts there), new time_s
    context_requested = Signal(float, QPoint)
    """A right click at a song time (seconds) and screen point: the waveform's menu."""
    range_dragged = Signal(float, float)
    """A play range marked by dragging: [in, out) seconds, snapped to beats unless Shift."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background=BACKGROUND, viewBox=_RangeDragBox(self._on_range_drag),
                         axisItems={"bottom": ClockAxis(orientation="bottom")})
        self._range_before: tuple[float, float] | None = None
        self.setMinimumHeight(120)
        self.hideAxis("left")
        self.setMenuEnabled(False)
        self.hideButtons()
        vb = self.getViewBox()
        vb.setMouseEnabled(x=True, y=False)
        vb.setYRange(-1.15, 1.3, padding=0)
        self._duration_s = 0.0
        self._downbeats_s = np.zeros(0)
        self._beats_s = np.zeros(0)
        self._pyramid: WavePyramid | None = None
        self._labels = _GridLabels()
        self._section_items: list[pg.GraphicsObject] = []
        self._section_key: list[tuple] | None = None
        self._boundary_lines: list[pg.InfiniteLine] = []  # a pool: the first shown
        self._n_boundaries = 0
        self._wave = pg.PlotCurveItem(pen=pg.mkPen("#7fb2e5", width=1))
        self._beats = pg.PlotDataItem(
            pen=pg.mkPen(QColor(255, 255, 255, 40), width=1), connect="pairs"
        )
        self._bar_alpha = BAR_ALPHA[1]
        self._downbeats = pg.PlotDataItem(
            pen=pg.mkPen(QColor(255, 255, 255, self._bar_alpha), width=1.5), connect="pairs"
        )
        for item in (self._beats, self._downbeats, self._wave):
            self.addItem(item)
            _cached(item)
        self._selection_items: list[pg.LinearRegionItem] = []
        self._loop = pg.LinearRegionItem(
            movable=False, brush=QColor(255, 210, 63, 40), pen=pg.mkPen("#ffd23f", width=1)
        )
        self._loop.setZValue(-4)
        self._loop.hide()
        self.addItem(self._loop)
        self._range = pg.LinearRegionItem(
            movable=False, brush=QColor(63, 208, 255, 22), pen=pg.mkPen(None)
        )
        self._range_bar = pg.LinearRegionItem(  # a bright strip along the bottom, above all
            movable=False, brush=QColor(63, 208, 255, 170), pen=pg.mkPen("#3fd0ff", width=2),
            span=(0.0, 0.05),
        )
        for item, z in ((self._range, -3), (self._range_bar, 45)):
            item.setZValue(z)
            item.hide()
            self.addItem(item)
        self._playhead = pg.InfiniteLine(0.0, pen=pg.mkPen("#ff5050", width=2))
        self._playhead.setZValue(50)
        self.addItem(self._playhead)
        self.scene().sigMouseClicked.connect(self._on_click)
        self.addItem(self._labels)
        _cached(self._labels)
        vb.sigXRangeChanged.connect(self._on_range_changed)

    # -- content --------------------------------------------------------------------------
    def set_audio(self, pyramid: WavePyramid) -> None:
        """Draw the waveform at once (before any analysis) and show the whole song."""
        self._pyramid = pyramid
        self._duration_s = pyramid.duration_s
        vb = self.getViewBox()
        vb.setLimits(xMin=0.0, xMax=self._duration_s, minXRange=0.5)
        vb.setXRange(0.0, self._duration_s, padding=0)
        self._redraw_wave()
        self.set_grid(np.zeros(0), np.zeros(0, dtype=np.int64), [])
        self.set_phrase_starts([])

    def set_grid(self, beats_s: np.ndarray, downbeats: np.ndarray, sections: list) -> None:
        """Beat lines, stronger downbeat lines with bar numbers, and coloured section bands."""
        beats_s = np.asarray(beats_s, dtype=float)
        self._beats_s = beats_s
        self._downbeats_s = (
            beats_s[np.asarray(downbeats, dtype=np.int64)] if beats_s.size else np.zeros(0)
        )
        self._redraw_grid()
        self._labels.set_content(self._downbeats_s, sections, self._duration_s, beats_s)
        key = [(section.label, section.start_s, section.end_s) for section in sections]
        if key == self._section_key:  # a split or merge: the song's sections stay as drawn
            return
        self._section_key = key
        while len(self._section_items) < len(sections):  # a pool, as the boundary lines
            region = pg.LinearRegionItem(movable=False, pen=pg.mkPen(None))
            region.setZValue(-10)
            self.addItem(region)
            _cached(region)
            self._section_items.append(region)
        for i, region in enumerate(self._section_items):
            if i < len(sections):
                region.setBrush(section_color(sections[i].label))
            _show_region(region, (sections[i].start_s, sections[i].end_s)
                         if i < len(sections) else None)

    def set_phrase_starts(self, starts_s: list[float]) -> None:
        """Draggable boundary lines at the start of every phrase but the first. The lines
        are kept in a pool: the ones there are moved, surplus ones hidden, new ones made only
        when a song has more boundaries than any before, so a split moves nothing but one
        line and a new song (another open) makes none."""
        wanted = [float(t) for t in starts_s[1:]]
        lines = self._boundary_lines
        while len(lines) < len(wanted):
            lines.append(self._new_boundary_line(len(lines) + 1, wanted[len(lines)]))
        for i, line in enumerate(lines):
            if i < len(wanted):
                if line.value() != wanted[i]:
                    line.setValue(wanted[i])
                if not line.isVisible():
                    line.show()
            elif line.isVisible():
                line.hide()
        self._n_boundaries = len(wanted)

    def _new_boundary_line(self, index: int, time_s: float) -> pg.InfiniteLine:
        """The line at the start of phrase ``index`` (its drag reports that index)."""
        line = pg.InfiniteLine(
            time_s,
            movable=True,
            pen=pg.mkPen("#ffd23f", width=2),
            hoverPen=pg.mkPen("#ffffff", width=3),
        )
        line.setZValue(40)
        line.setToolTip("phrase boundary: drag to move (snaps to downbeats)")
        line.sigPositionChangeFinished.connect(lambda ln, i=index: self._on_drag_end(i, ln))
        self.addItem(line)
        return line

    def set_selection(self, span_s: tuple[float, float] | None) -> None:
        """Shade one selected span (None: nothing selected)."""
        self.set_selection_spans([] if span_s is None else [span_s])

    def set_selection_spans(self, spans_s: list[tuple[float, float]]) -> None:
        """Shade every selected span (a multi-selection's runs of phrases); regions are
        reused, so a click that keeps their number only moves them."""
        while len(self._selection_items) < len(spans_s):
            item = pg.LinearRegionItem(movable=False, brush=QColor(255, 255, 255, 28),
                                       pen=pg.mkPen(None))
            item.setZValue(-5)
            self.addItem(item)
            self._selection_items.append(item)
        for i, item in enumerate(self._selection_items):
            _show_region(item, spans_s[i] if i < len(spans_s) else None)

    @property
    def selection_spans(self) -> list[tuple[float, float]]:
        """The shaded selected spans, in order."""
        return [tuple(item.getRegion()) for item in self._selection_items if item.isVisible()]

    def set_loop_region(self, span_s: tuple[float, float] | None) -> None:
        """Draw the looping span (None: no loop)."""
        _show_region(self._loop, span_s)

    @property
    def loop_region(self) -> tuple[float, float] | None:
        """The drawn loop span, None when none is drawn."""
        return tuple(self._loop.getRegion()) if self._loop.isVisible() else None

    def set_play_range(self, span_s: tuple[float, float] | None) -> None:
        """Draw the play range (in/out marks) in blue (None: no range)."""
        for item in (self._range, self._range_bar):
            _show_region(item, span_s)

    @property
    def play_range(self) -> tuple[float, float] | None:
        """The drawn play range, None when none is drawn."""
        return tuple(self._range.getRegion()) if self._range.isVisible() else None

    def drawn_grid(self) -> tuple[int, int]:
        """How many beat and bar lines the grid draws now."""
        counts = []
        for item in (self._beats, self._downbeats):
            x = item.getData()[0]
            counts.append(0 if x is None else len(x) // 2)
        return counts[0], counts[1]

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

    def snap_to_beat(self, time_s: float) -> float:
        """The beat time nearest ``time_s`` (clamped to the song; itself without a grid)."""
        time_s = min(max(time_s, 0.0), self._duration_s)
        if self._beats_s.size == 0:
            return time_s
        return float(self._beats_s[int(np.argmin(np.abs(self._beats_s - time_s)))])

    def boundary_lines(self) -> list[pg.InfiniteLine]:
        """The shown boundary lines, in order (line i starts phrase i + 1)."""
        return self._boundary_lines[: self._n_boundaries]

    # -- events ---------------------------------------------------------------------------
    def _on_drag_end(self, index: int, line: pg.InfiniteLine) -> None:
        snapped = self.snap_to_downbeat(float(line.value()))
        line.setValue(snapped)
        self.boundary_moved.emit(index, snapped)

    def _on_range_drag(self, start_s: float, end_s: float, first: bool, last: bool,
                       free: bool) -> None:
        """Draw the span being dragged; when released, report it (an empty one puts the
        range that was there back)."""
        if first:
            self._range_before = self.play_range
        snap = (lambda t: min(max(t, 0.0), self._duration_s)) if free else self.snap_to_beat
        lo, hi = sorted((snap(start_s), snap(end_s)))
        span = (lo, hi) if hi > lo else None
        self.set_play_range(span or self._range_before)
        if last and span is not None:
            self.range_dragged.emit(lo, hi)

    def _on_click(self, event) -> None:
        """Left click: seek there; right click: ask for the waveform's menu at that time."""
        button = event.button()
        if button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton) or (
                event.isAccepted()):
            return
        vb = self.getViewBox()
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        x = min(max(float(vb.mapSceneToView(event.scenePos()).x()), 0.0), self._duration_s)
        if button == Qt.MouseButton.LeftButton:
            self.seek_requested.emit(x)
        else:
            self.context_requested.emit(x, event.screenPos().toPoint())

    def _on_range_changed(self, *_args) -> None:
        self._redraw_wave()
        self._redraw_grid()
        self._labels.update()

    def _redraw_grid(self) -> None:
        """Beat and bar lines thinned for the visible span (see :func:`grid_lines`)."""
        lo, hi = self.getViewBox().viewRange()[0]
        width = max(self.getViewBox().width(), 1.0)
        beats, bars = grid_lines(self._beats_s, self._downbeats_s, hi - lo, width)
        self._beats.setData(np.repeat(beats, 2), np.tile([-1.0, 1.0], beats.size))
        self._downbeats.setData(np.repeat(bars, 2), np.tile([-1.1, 1.1], bars.size))
        spacing = width / max(hi - lo, 1e-9) * (float(np.median(np.diff(bars)))
                                                if bars.size > 1 else 1e9)
        alpha = bar_line_alpha(spacing)
        if alpha != self._bar_alpha:  # dense bar lines fade, so they never hatch the waveform
            self._bar_alpha = alpha
            self._downbeats.setPen(pg.mkPen(QColor(255, 255, 255, alpha), width=1.5))

    def _redraw_wave(self) -> None:
        """Give the curve only the envelope level and slice that the visible range needs."""
        if self._pyramid is None:
            return
        lo, hi = self.getViewBox().viewRange()[0]
        width = max(self.getViewBox().width(), float(self.width()), 200.0)
        x, y = self._pyramid.for_range(lo, hi, width)
        self._wave.setData(x, y)


def _show_region(item: pg.LinearRegionItem, span_s: tuple[float, float] | None) -> None:
    """Show ``item`` over ``span_s``, or hide it for None."""
    if span_s is None:
        item.hide()
    else:
        item.setRegion(span_s)
        item.show()
