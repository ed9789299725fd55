"""Audio output for the editor: sounddevice playback, or a silent clock when no device exists.

Both back-ends share :class:`PlaybackCursor`, which owns the playhead in sample frames, the loop
range and the audition stop point, so the editor behaves the same with or without sound.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

CLICK_S = 0.03
"""Length of one metronome click, in seconds."""


@dataclass
class PlaybackCursor:
    """The playhead in frames, advanced by the output; loops or stops at the configured points.

    ``loop`` is a [start, end) frame range played over and over; ``stop_at`` ends playback (an
    audition of one phrase). Guarded by a lock because the audio callback runs on its own thread.
    """

    n_frames: int
    frame: int = 0
    loop: tuple[int, int] | None = None
    stop_at: int | None = None
    finished: bool = False

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def take(self, count: int) -> list[tuple[int, int]]:
        """Advance by ``count`` frames; return the (start, length) source spans that were played."""
        spans: list[tuple[int, int]] = []
        with self._lock:
            while count > 0 and not self.finished:
                end = self.n_frames
                if self.loop is not None and self.loop[0] <= self.frame < self.loop[1]:
                    end = self.loop[1]
                if self.stop_at is not None and self.frame < self.stop_at:
                    end = min(end, self.stop_at)
                n = min(count, end - self.frame)
                if n > 0:
                    spans.append((self.frame, n))
                    self.frame += n
                    count -= n
                if self.frame >= end:
                    if self.loop is not None and end == self.loop[1] and end != self.stop_at:
                        self.frame = self.loop[0]
                    else:
                        self.finished = True
        return spans

    def seek(self, frame: int) -> None:
        """Move the playhead (clamped to the song) and clear the finished flag."""
        with self._lock:
            self.frame = int(min(max(frame, 0), self.n_frames))
            self.finished = self.frame >= self.n_frames


def click_sound(sr: int, freq_hz: float) -> np.ndarray:
    """A short decaying sine burst used as a metronome click (mono float32)."""
    t = np.arange(int(CLICK_S * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq_hz * t) * np.exp(-t / (CLICK_S / 5))).astype(np.float32)


class OutputBase:
    """What the transport needs from an output: start/stop, a cursor, and a metronome."""

    has_sound = False
    description = ""

    def __init__(self, samples: np.ndarray, sr: int) -> None:
        self.samples = samples if samples.ndim == 2 else samples[:, None]
        self.sr = int(sr)
        self.cursor = PlaybackCursor(len(self.samples))
        self.metronome = False
        self.beat_frames = np.zeros(0, dtype=np.int64)
        self.downbeat_mask = np.zeros(0, dtype=bool)
        self.playing = False

    def set_beats(self, beats_s: np.ndarray, downbeats: np.ndarray) -> None:
        """Beat times (seconds) and downbeat indices that the metronome clicks on."""
        self.beat_frames = np.round(np.asarray(beats_s) * self.sr).astype(np.int64)
        mask = np.zeros(len(self.beat_frames), dtype=bool)
        idx = np.asarray(downbeats, dtype=np.int64)
        mask[idx[(idx >= 0) & (idx < len(mask))]] = True
        self.downbeat_mask = mask

    def start(self) -> None:
        self.playing = True

    def stop(self) -> None:
        self.playing = False

    def position_frames(self) -> int:
        """Where the listener hears the song now, in frames."""
        return self.cursor.frame

    def close(self) -> None:
        self.stop()


class SilentClock(OutputBase):
    """A wall clock that moves the playhead as if the song were playing (no audio device)."""

    description = "no audio device: silent clock"

    def __init__(self, samples: np.ndarray, sr: int) -> None:
        super().__init__(samples, sr)
        self._last = 0.0

    def start(self) -> None:
        self._last = time.perf_counter()
        super().start()

    def position_frames(self) -> int:
        if self.playing:
            now = time.perf_counter()
            self.cursor.take(int(round((now - self._last) * self.sr)))
            self._last = now
            if self.cursor.finished:
                self.playing = False
        return self.cursor.frame


OUTPUT_LATENCY_S = 0.2
"""The output buffer asked of PortAudio: the default (~35 ms) dropped out 8 times in 16 s on a
busy machine, 0.2 s none; the playhead subtracts the stream's reported latency, so what is
drawn is what is heard."""


class SoundDeviceOutput(OutputBase):
    """Playback through PortAudio (sounddevice), mixing metronome clicks into the song."""

    has_sound = True

    def __init__(self, samples: np.ndarray, sr: int, sd_module: object) -> None:
        super().__init__(samples, sr)
        self._sd = sd_module
        self._stream = None
        self._clicks = (click_sound(self.sr, 1000.0), click_sound(self.sr, 1600.0))
        self._latency_frames = 0
        self.underruns = 0
        """Callbacks PortAudio reported an output underflow for (audible drop-outs)."""
        self.description = "audio: " + str(sd_module.query_devices(kind="output")["name"])

    def start(self) -> None:
        if self._stream is None:
            self._stream = self._sd.OutputStream(
                samplerate=self.sr,
                channels=self.samples.shape[1],
                dtype="float32",
                callback=self._callback,
                latency=OUTPUT_LATENCY_S,
            )
            self._latency_frames = int(float(self._stream.latency) * self.sr)
        self._stream.start()
        super().start()

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.stop()
        super().stop()

    def close(self) -> None:
        self.stop()
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def position_frames(self) -> int:
        if self.playing and self.cursor.finished:
            self.stop()
        return max(self.cursor.frame - (self._latency_frames if self.playing else 0), 0)

    def _callback(self, out: np.ndarray, frames: int, _time: object, status: object) -> None:
        if getattr(status, "output_underflow", False):
            self.underruns += 1
        out.fill(0.0)
        pos = 0
        for start, n in self.cursor.take(frames):
            out[pos : pos + n] = self.samples[start : start + n]
            if self.metronome:
                self._mix_clicks(out, pos, start, n)
            pos += n

    def _mix_clicks(self, out: np.ndarray, pos: int, start: int, n: int) -> None:
        lo, hi = np.searchsorted(self.beat_frames, [start, start + n])
        for b in range(lo, hi):
            click = self._clicks[1 if self.downbeat_mask[b] else 0]
            at = pos + int(self.beat_frames[b] - start)
            m = min(len(click), len(out) - at)
            out[at : at + m] += click[:m, None]


def open_output(samples: np.ndarray, sr: int, *, want_sound: bool = True) -> OutputBase:
    """Sound through the default device where PortAudio and a device exist, else a silent clock."""
    if want_sound:
        try:
            import sounddevice as sd

            sd.query_devices(kind="output")
            return SoundDeviceOutput(samples, sr, sd)
        except Exception:  # noqa: BLE001 - no PortAudio, no device, or a broken driver
            pass
    return SilentClock(samples, sr)
