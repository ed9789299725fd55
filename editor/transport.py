"""The transport: play / pause / seek / loop / audition / metronome over an audio output.

A Qt timer polls the output's playhead ~60 times a second and emits ``position_changed`` so
the waveform, timeline and skeleton follow it; playback itself runs in the audio callback.
"""

from __future__ import annotations

import numpy as np
from choreo_studio.editor.audio_player import OutputBase, open_output
from PySide6.QtCore import QObject, QTimer, Signal

POLL_MS = 16


class Transport(QObject):
    """Plays the loaded song; works the same with a sound device or the silent clock."""

    position_changed = Signal(float)
    playing_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, *, want_sound: bool = True) -> None:
        super().__init__(parent)
        self._want_sound = want_sound
        self._output: OutputBase | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._loop_s: tuple[float, float] | None = None
        self._metronome = False
        self._last_position = 0.0

    # -- set-up ---------------------------------------------------------------------------
    def set_audio(self, samples: np.ndarray, sr: int) -> None:
        """Load a song's samples (the original, for playback); the playhead returns to 0."""
        self.stop()
        if self._output is not None:
            self._output.close()
        self._output = open_output(samples, sr, want_sound=self._want_sound)
        self._output.metronome = self._metronome
        self._apply_loop()
        self._last_position = 0.0
        self.position_changed.emit(0.0)

    def set_beats(self, beats_s: np.ndarray, downbeats: np.ndarray) -> None:
        """Beat grid the metronome clicks on."""
        if self._output is not None:
            self._output.set_beats(beats_s, downbeats)

    @property
    def has_sound(self) -> bool:
        return bool(self._output is not None and self._output.has_sound)

    @property
    def description(self) -> str:
        if self._output is None:
            return "no song"
        return self._output.description

    @property
    def duration_s(self) -> float:
        if self._output is None:
            return 0.0
        return self._output.cursor.n_frames / self._output.sr

    # -- state ----------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return bool(self._output is not None and self._output.playing)

    def position_s(self) -> float:
        if self._output is None:
            return 0.0
        return self._output.position_frames() / self._output.sr

    @property
    def metronome(self) -> bool:
        return self._metronome

    def set_metronome(self, on: bool) -> None:
        self._metronome = bool(on)
        if self._output is not None:
            self._output.metronome = self._metronome

    @property
    def loop_s(self) -> tuple[float, float] | None:
        return self._loop_s

    def set_loop(self, loop_s: tuple[float, float] | None) -> None:
        """Loop the given [start, end) seconds, or stop looping with None."""
        self._loop_s = loop_s
        self._apply_loop()

    def _apply_loop(self) -> None:
        if self._output is None:
            return
        sr = self._output.sr
        self._output.cursor.loop = (
            None if self._loop_s is None else (int(self._loop_s[0] * sr), int(self._loop_s[1] * sr))
        )

    # -- actions --------------------------------------------------------------------------
    def play(self) -> None:
        if self._output is None or self._output.playing:
            return
        cursor = self._output.cursor
        if cursor.finished or cursor.frame >= cursor.n_frames:
            cursor.seek(cursor.loop[0] if cursor.loop else 0)
        self._output.start()
        self._timer.start()
        self.playing_changed.emit(True)

    def pause(self) -> None:
        if self._output is None or not self._output.playing:
            return
        self._output.stop()
        self._timer.stop()
        self._output.cursor.stop_at = None
        self.playing_changed.emit(False)
        self._poll()

    stop = pause

    def toggle(self) -> None:
        """Space bar: play if paused, pause if playing."""
        if self.playing:
            self.pause()
        else:
            self.play()

    def seek(self, position_s: float) -> None:
        if self._output is None:
            return
        self._output.cursor.seek(int(position_s * self._output.sr))
        self._poll()

    def audition(self, start_s: float, end_s: float) -> None:
        """Play [start_s, end_s) once, then stop (hearing one phrase with its preview)."""
        if self._output is None:
            return
        self.pause()
        cursor = self._output.cursor
        cursor.seek(int(start_s * self._output.sr))
        cursor.stop_at = int(end_s * self._output.sr)
        self.play()

    def close(self) -> None:
        self.pause()
        if self._output is not None:
            self._output.close()
            self._output = None

    def _poll(self) -> None:
        if self._output is None:
            return
        pos = self.position_s()
        if pos != self._last_position:
            self._last_position = pos
            self.position_changed.emit(pos)
        if not self._output.playing and self._timer.isActive():
            self._timer.stop()
            self._output.cursor.stop_at = None
            self.playing_changed.emit(False)
