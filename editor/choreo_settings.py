"""The Choreography panel: the decoder's weights (fit ↔ flow, recency, reuse cost, fit floor).

A view only: it shows the engine's :class:`DecodeOptions` and emits ``changed(name, value)``
for one weight the user set (named as in ``core.project.session.DECODE_SETTINGS``); the edit
handlers turn that into one undoable re-solve.
"""

from __future__ import annotations

from choreo_studio.core.retrieval.decoding import DecodeOptions
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QWidget,
)

WEIGHT_STEPS = 100
"""The transition-weight slider runs from 0 (fit the music only) to 1 (flow weighs as much)
in hundredths."""


class ChoreoSettingsPanel(QWidget):
    """Sliders and spin boxes for the weights the solver places dances under."""

    changed = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.weight = QSlider(Qt.Orientation.Horizontal)
        self.weight.setRange(0, WEIGHT_STEPS)
        self.weight.setPageStep(5)
        self.weight.setToolTip("how much smooth connections between dances count against "
                               "how well each dance fits its music")
        self.weight_label = QLabel("")
        self.weight_label.setMinimumWidth(32)
        self.recency = QSpinBox()
        self.recency.setRange(0, 32)
        self.recency.setSuffix(" phrases")
        self.recency.setSpecialValueText("off")
        self.recency.setKeyboardTracking(False)
        self.recency.setToolTip("a dance does not come back within this many phrases unless "
                                "the music repeats (0: off)")
        self.reuse = _number(0.0, 10.0, 0.25, "each further use of the same dance costs this "
                             "much (log-probability units; 0: off)")
        self.floor = _number(0.0, 0.95, 0.05, "a dance fitting the music below this share of "
                             "the phrase's best fit is placed only if nothing else is left "
                             "(0: off)")

        slider_row = QHBoxLayout()
        slider_row.addWidget(QLabel("Fit the music"))
        slider_row.addWidget(self.weight, 1)
        slider_row.addWidget(QLabel("Flow between dances"))
        slider_row.addWidget(self.weight_label)
        form = QFormLayout(self)
        form.addRow("Fit ↔ flow", slider_row)
        form.addRow("Phrases before a dance may return", self.recency)
        form.addRow("Cost of reusing a dance", self.reuse)
        form.addRow("Fit floor (share of the best fit)", self.floor)

        self.weight.valueChanged.connect(self._weight_moved)
        self.weight.sliderReleased.connect(self._weight_released)
        self.recency.valueChanged.connect(lambda v: self.changed.emit("recency_window", int(v)))
        self.reuse.valueChanged.connect(lambda v: self.changed.emit("reuse_penalty", float(v)))
        self.floor.valueChanged.connect(lambda v: self.changed.emit("fit_floor", float(v)))

    @property
    def transition_weight(self) -> float:
        """The weight the slider stands at."""
        return self.weight.value() / WEIGHT_STEPS

    def show_options(self, options: DecodeOptions) -> None:
        """Show ``options``' weights without emitting ``changed``."""
        widgets = (self.weight, self.recency, self.reuse, self.floor)
        for widget in widgets:
            widget.blockSignals(True)
        self.weight.setValue(round(options.transition_weight * WEIGHT_STEPS))
        self.recency.setValue(options.recency_window)
        self.reuse.setValue(options.reuse_penalty)
        self.floor.setValue(options.fit_floor)
        for widget in widgets:
            widget.blockSignals(False)
        self.weight_label.setText(f"{options.transition_weight:.2f}")

    def _weight_moved(self, step: int) -> None:
        """Follow the slider in the label; set the weight unless it is being dragged."""
        self.weight_label.setText(f"{step / WEIGHT_STEPS:.2f}")
        if not self.weight.isSliderDown():
            self.changed.emit("transition_weight", step / WEIGHT_STEPS)

    def _weight_released(self) -> None:
        """A drag ended: set the weight where it was let go."""
        self.changed.emit("transition_weight", self.transition_weight)


def _number(lo: float, hi: float, step: float, tip: str) -> QDoubleSpinBox:
    """A spin box for one weight that reports only finished edits, not each keystroke."""
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setSingleStep(step)
    box.setDecimals(2)
    box.setKeyboardTracking(False)
    box.setToolTip(tip)
    return box
