"""Tempo tools: tap tempo (a dialog and the maths behind it) and the menu of other readings.

Setting the first downbeat and the meter are menu actions on the main window, and the analysis'
metrical alternatives (half / double tempo, another meter, shifted bar lines) are a menu with
their scores; all end in a re-analysis of the beat grid by ``core`` and a re-segmentation (one
undoable edit), asked first, and none runs when the value is unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from choreo_studio.core.analysis.music_analysis import MetricalAlternative, MusicAnalysis
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QLabel,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


def reading_text(reading: MetricalAlternative) -> str:
    """"half tempo — 64.0 BPM 4/4 (−3.2 per minute)": what a reading is and how it scores."""
    score = f"{reading.score:+.1f}".replace("-", "−")
    return f"{reading.kind} — {reading.tempo_bpm:.1f} BPM {reading.meter} ({score} per minute)"


def fill_readings_menu(menu: QMenu, analysis: MusicAnalysis | None,
                       take: Callable[[MetricalAlternative], None]) -> None:
    """Rebuild the Other readings menu: the chosen grid and its confidence (disabled), then
    every alternative, best first, which ``take`` applies when chosen (all of them: the
    readings a user reaches for are those the tracker scored low)."""
    menu.clear()
    if analysis is None:
        menu.addAction("no song is open").setEnabled(False)
        return
    chosen = menu.addAction(f"chosen: {analysis.tempo_bpm:.1f} BPM {analysis.meter} · beat "
                            f"confidence {100 * analysis.beat_confidence:.0f}%")
    chosen.setEnabled(False)
    menu.addSeparator()
    if not analysis.alternatives:
        menu.addAction("no other reading (force one with Tap tempo or Meter)").setEnabled(False)
    menu.setToolTipsVisible(True)
    for reading in analysis.alternatives:
        action = menu.addAction(reading_text(reading))
        action.setToolTip("score: how much worse the beat tracker finds this reading than the "
                          "chosen one, per minute of music (0 = as good)")
        action.triggered.connect(lambda _c=False, r=reading: take(r))

MAX_TAP_GAP_S = 2.0
"""A pause longer than this starts a new series of taps."""


def bpm_from_taps(taps_s: list[float]) -> float | None:
    """Tempo from tap times: the median interval of the last series (robust to one bad tap)."""
    series: list[float] = []
    for t in taps_s:
        if series and t - series[-1] > MAX_TAP_GAP_S:
            series = []
        series.append(t)
    if len(series) < 2:
        return None
    return 60.0 / float(np.median(np.diff(series[-16:])))


TAP_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_T)
"""Keys that tap (Enter accepts, Escape cancels; no button takes the focus, so Space never
presses OK)."""


class TapTempo(QDialog):
    """Tap Space or T (or the button) on the beat; Enter applies the tempo, Escape cancels."""

    def __init__(self, current_bpm: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Tap tempo")
        self._taps: list[float] = []
        self.current_bpm = float(current_bpm)
        self.label = QLabel(f"Tap Space or T on every beat · Enter applies · now "
                            f"{current_bpm:.1f} BPM")
        self.tap_button = QPushButton("Tap (Space / T)")
        self.tap_button.setMinimumHeight(60)
        self.tap_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tap_button.setAutoDefault(False)
        self.tap_button.clicked.connect(lambda: self.tap())
        self.spin = QDoubleSpinBox()
        self.spin.setRange(30.0, 300.0)
        self.spin.setDecimals(2)
        self.spin.setSuffix(" BPM")
        self.spin.setValue(current_bpm)
        self.spin.installEventFilter(self)
        self.spin.lineEdit().installEventFilter(self)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        for button in buttons.buttons():
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.label, self.tap_button, self.spin, buttons):
            layout.addWidget(widget)

    @property
    def bpm(self) -> float:
        return float(self.spin.value())

    def tap(self, at_s: float | None = None) -> None:
        """One tap now (or at ``at_s``); two or more in a series set the tempo."""
        self._taps.append(time.perf_counter() if at_s is None else at_s)
        bpm = bpm_from_taps(self._taps)
        if bpm is not None and 30.0 <= bpm <= 300.0:
            self.spin.setValue(bpm)
            self.label.setText(f"{len(self._taps)} taps: {bpm:.1f} BPM (was "
                               f"{self.current_bpm:.1f}) · Enter applies")
        else:
            n = len(self._taps)
            self.label.setText(f"{n} tap{'s' if n > 1 else ''} · keep tapping on the beat")

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        """Space / T typed into the tempo box tap instead (the box still takes digits)."""
        if event.type() == QEvent.Type.KeyPress and event.key() in TAP_KEYS:
            self.tap()
            return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.key() in TAP_KEYS:
            self.tap()
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.accept()
        else:
            super().keyPressEvent(event)
