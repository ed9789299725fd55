"""The transport: play / pause / seek / loop / play range / speed / audition / metronome over an
audio output.

One span wraps playback: an audition's or a phrase's loop when set, else the play range
(in/out marks, I / O), as Blender's preview range does. A Qt timer polls the output's
playhead ~60 times a second and emits ``position_changed`` so
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
        self._range_s: tuple[float, float] | None = None
        self._stretched: dict[float, np.ndarray] = {}
        self._metronome = False
        self._beats: tuple[np.ndarray, np.ndarray] | None = None
        self._last_position = 0.0

    # -- set-up ---------------------------------------------------------------------------
    def set_audio(self, samples: np.ndarray, sr: int) -> None:
        """Load a song's samples (the original, for playback); the playhead returns to 0."""
        self.stop()
        if self._output is not None:
            self._output.close()
        self._output = open_output(samples, sr, want_sound=self._want_sound)
        self._output.metronome = self._metronome
        self._stretched = {}
        self._range_s = None
        self._apply_loop()
        self._last_position = 0.0
        self.position_changed.emit(0.0)

    def replace_samples(self, samples: np.ndarray, sr: int) -> None:
        """The same song's samples, decoded late (a cached open played silence until then):
        the playhead, play range, loop, metronome and playing state stay; the speed stays
        without sound, and with sound falls back to 1× until the song is stretched again."""
        at, playing, speed, span = self.position_s(), self.playing, self.speed, self._range_s
        self.set_audio(samples, sr)
        self._range_s = span
        self._apply_loop()
        if self._beats is not None:
            self.set_beats(*self._beats)
        if not self.needs_stretch(speed):
            self.set_speed(speed)
        self.seek(at)
        if playing:
            self.play()

    def set_beats(self, beats_s: np.ndarray, downbeats: np.ndarray) -> None:
        """Beat grid the metronome clicks on."""
        self._beats = (beats_s, downbeats)
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

    @property
    def play_range_s(self) -> tuple[float, float] | None:
        """The [in, out) span playback wraps in when no loop is set (None: the whole song)."""
        return self._range_s

    def set_play_range(self, span_s: tuple[float, float] | None) -> None:
        """Set the play range (clamped to the song; an empty span clears it)."""
        if span_s is not None:
            lo, hi = max(0.0, span_s[0]), min(span_s[1], self.duration_s)
            span_s = (lo, hi) if hi > lo else None
        self._range_s = span_s
        self._apply_loop()

    def mark_in(self, time_s: float) -> None:
        """I: the play range starts at ``time_s`` (its out stays when after it, else the end)."""
        out = self._range_s[1] if self._range_s and self._range_s[1] > time_s else self.duration_s
        self.set_play_range((time_s, out))

    def mark_out(self, time_s: float) -> None:
        """O: the play range ends at ``time_s`` (its in stays when before it, else the start)."""
        start = self._range_s[0] if self._range_s and self._range_s[0] < time_s else 0.0
        self.set_play_range((start, time_s))

    def wrap_span_s(self) -> tuple[float, float] | None:
        """The span playback wraps in now: the loop, else the play range."""
        return self._loop_s or self._range_s

    def _apply_loop(self) -> None:
        if self._output is None:
            return
        sr, span = self._output.sr, self.wrap_span_s()
        self._output.cursor.loop = None if span is None else (int(span[0] * sr), int(span[1] * sr))

    # -- speed ----------------------------------------------------------------------------
    @property
    def speed(self) -> float:
        return 1.0 if self._output is None else self._output.speed

    def needs_stretch(self, speed: float) -> bool:
        """Whether playing at ``speed`` first needs the song stretched (sound, not yet done)."""
        return self.has_sound and speed != 1.0 and speed not in self._stretched

    def samples(self) -> tuple[np.ndarray, int] | None:
        """The playing song's samples and rate (for stretching), None with no song."""
        return None if self._output is None else (self._output.samples, self._output.sr)

    def set_speed(self, speed: float, stretched: np.ndarray | None = None) -> None:
        """Play at ``speed`` (0.5–1×) from now on, keeping the playhead; ``stretched`` is the
        song at that speed (kept for the next switch), needed once where there is sound."""
        if self._output is None:
            return
        if stretched is not None:
            self._stretched[speed] = stretched
        self._output.set_speed(speed, self._stretched.get(speed) if self.has_sound else None)

    # -- actions --------------------------------------------------------------------------
    def play(self) -> None:
        if self._output is None or self._output.playing:
            return
        cursor = self._output.cursor
        if cursor.finished or cursor.frame >= cursor.n_frames:
            cursor.seek(cursor.loop[0] if cursor.loop else 0)
        outside = cursor.loop and not cursor.loop[0] <= cursor.frame < cursor.loop[1]
        if outside and cursor.stop_at is None:
            cursor.seek(cursor.loop[0])  # playing a loop or range starts inside it
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
