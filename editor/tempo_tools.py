"""Tempo tools: tap tempo (a dialog and the maths behind it).

Setting the first downbeat and the meter are menu actions on the main window; all three end in
a re-analysis of the beat grid by ``core`` and a re-segmentation (one undoable edit).
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

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


class TapTempo(QDialog):
    """Tap the button (or any key) on the beat; OK applies the tempo."""

    def __init__(self, current_bpm: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Tap tempo")
        self._taps: list[float] = []
        self.label = QLabel("Tap on every beat (button or any key).")
        self.tap_button = QPushButton("Tap")
        self.tap_button.setMinimumHeight(60)
        self.tap_button.clicked.connect(self.tap)
        self.spin = QDoubleSpinBox()
        self.spin.setRange(30.0, 300.0)
        self.spin.setDecimals(2)
        self.spin.setSuffix(" BPM")
        self.spin.setValue(current_bpm)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.label, self.tap_button, self.spin, buttons):
            layout.addWidget(widget)

    @property
    def bpm(self) -> float:
        return float(self.spin.value())

    def tap(self, at_s: float | None = None) -> None:
        self._taps.append(time.perf_counter() if at_s is None else at_s)
        bpm = bpm_from_taps(self._taps)
        if bpm is not None and 30.0 <= bpm <= 300.0:
            self.spin.setValue(bpm)
            self.label.setText(f"{len(self._taps)} taps: {bpm:.1f} BPM")

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.key() in (0x01000004, 0x01000005, 0x01000000):  # Return, Enter, Escape
            super().keyPressEvent(event)
        else:
            self.tap()
