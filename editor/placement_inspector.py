"""Placement inspector: the selected phrase's full description (the placed dance's whole name,
style, energy, counts, tags, fit, where it is, lock state) above its blend length, mirror and
mirror-on-repeat.

Each change is reported as ``changed(field, value)``; the main window turns it into an
undoable edit. Setting the widgets from the document never emits (signals are blocked).
"""

from __future__ import annotations

from choreo_studio.core.choreography.placements import Placement
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QLabel, QWidget


class PhraseAbout(QLabel):
    """The selected phrase's description in full (the timeline block's tooltip, always shown;
    it stays readable while the locked placement's controls are greyed out)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def show_phrase(self, description: str) -> None:
        """Show ``description`` (rich text; "" clears it), touching nothing when unchanged."""
        if description != self.text():
            self.setText(description)


class PlacementInspector(QWidget):
    """Edits the fields of one placement that are not the dance itself."""

    changed = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.blend = QDoubleSpinBox()
        self.blend.setRange(0.0, 2.0)
        self.blend.setSingleStep(0.05)
        self.blend.setDecimals(2)
        self.blend.setSuffix(" s")
        self.blend.setToolTip("crossfade from the previous phrase into this one")
        self.blend.setKeyboardTracking(False)
        self.mirror = QCheckBox("mirror")
        self.mirror.setToolTip("play the dance mirrored left/right")
        self.mirror_repeat = QCheckBox("mirror on repeat")
        self.mirror_repeat.setToolTip("mirror every other repeat when the phrase is longer")
        self.blend.valueChanged.connect(lambda v: self.changed.emit("blend_s", float(v)))
        self.mirror.toggled.connect(lambda on: self.changed.emit("mirror", bool(on)))
        self.mirror_repeat.toggled.connect(
            lambda on: self.changed.emit("mirror_on_repeat", bool(on))
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("blend"))
        layout.addWidget(self.blend)
        layout.addWidget(self.mirror)
        layout.addWidget(self.mirror_repeat)
        layout.addStretch(1)
        self.setEnabled(False)
        self._shown: tuple | None = None

    def show_placement(self, placement: Placement | None) -> None:
        """Show ``placement`` (None: nothing selected) without emitting ``changed``; widgets
        already showing the right values are not touched (a swap repaints nothing here)."""
        shown = None if placement is None else (
            placement.blend_s, placement.mirror, placement.mirror_on_repeat, placement.locked)
        if shown == self._shown:
            return
        self._shown = shown
        widgets = (self.blend, self.mirror, self.mirror_repeat)
        for widget in widgets:
            widget.blockSignals(True)
        if placement is not None:
            self.blend.setValue(placement.blend_s)
            self.mirror.setChecked(placement.mirror)
            self.mirror_repeat.setChecked(placement.mirror_on_repeat)
        for widget in widgets:
            widget.blockSignals(False)
        self.setEnabled(placement is not None and not placement.locked)
