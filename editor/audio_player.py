"""Audio output for the editor: sounddevice playback, or a silent clock when no device exists.

Both back-ends share :class:`PlaybackCursor`, which owns the playhead in sample frames, the loop
range and the audition stop point, so the editor behaves the same with or without sound.
Slowed playback (0.5–1×) moves the cursor ``speed`` song frames per output frame; the sound
comes from the song stretched once to that speed with its pitch kept (core.audio.stretch).
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections import deque
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
    seeks: int = 0
    """How many times the playhead was moved by hand (the output drops what it heard before)."""

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
            self.seeks += 1


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
        self.speed = 1.0
        self._carry = 0.0

    def set_speed(self, speed: float, stretched: np.ndarray | None = None) -> None:
        """Play at ``speed`` (1 = normal); ``stretched`` is the song at that speed (sound)."""
        self.speed = float(speed)
        self._carry = 0.0

    def song_frames(self, out_frames: int) -> int:
        """Song frames that ``out_frames`` of output cover at the current speed (the fraction
        left over is carried to the next call, so the playhead never drifts)."""
        exact = out_frames * self.speed + self._carry
        whole = int(exact)
        self._carry = exact - whole
        return whole

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
            self.cursor.take(self.song_frames(int(round((now - self._last) * self.sr))))
            self._last = now
            if self.cursor.finished:
                self.playing = False
        return self.cursor.frame


OUTPUT_LATENCY_S = 0.4
"""The output buffer asked of PortAudio. Through PulseAudio (ALSA's ``default`` on most
desktops) every block also passes the sound server's main thread, which is not real-time: on a
loaded machine (load 5-14 on 2 cores) our callback went unasked for 90-560 ms at a time, its
thread asleep while the server's main thread sat runnable without a CPU the whole stall (where
the kernel groups each session's processes, the server's nice level does not count against
other sessions); past the buffer the stream's queue ran dry, and ALSA's PulseAudio plugin then
rebuilt the stream (heard gaps of 37-850 ms). The buffer is the margin against that wait: at
0.2 s, 6 of 12 runs of ``benchmarks/bench_audio.py`` dropped out; at 0.4 s (in short blocks,
:data:`OUTPUT_BLOCK_S`) none of 5 at load 8-14 (and with the child at normal priority, in a
session of its own, none of 3). It costs response, not sync: the first frame is heard
~0.46 s after its callback, so playing starts that long after the key, and the playhead is
what is heard (each callback notes when its first frame reaches the DAC, PortAudio's
``outputBufferDacTime``, and the playhead is that frame advanced by the stream time since; the
stream's reported latency when no time is known)."""
OUTPUT_BLOCK_S = 0.023
"""The callback's block, about 23 ms (a power of two of frames: 512 at 22.05 kHz, 1024 at
44.1/48 kHz, PipeWire's default quantum), and the device's period where the host allows it.
PortAudio's ALSA back-end cuts the buffer into 4 periods by default (116 ms each at 0.4 s), and
through PulseAudio the queue is refilled a period at a time: with short periods (46 ms there, two
blocks: the plugin's choice) the lowest the buffer fell rose from 402 to 424 ms, the server's
own share of the latency fell from 116 to 46 ms, and the heard latency stayed ~0.46 s."""
HEARD_BLOCKS = 64
"""Latest blocks searched for the one being heard: ~1.5 s of blocks, a buffer's worth (~20
blocks queued after the one heard) three times over, for a device that grants more than asked."""


def block_frames(sr: int) -> int:
    """The callback's block length at ``sr``: the power of two nearest OUTPUT_BLOCK_S."""
    return 1 << max(int(round(np.log2(OUTPUT_BLOCK_S * sr))), 6)


def ask_short_periods(sd_module: object, sr: int, latency_s: float) -> int:
    """Ask PortAudio's ALSA back-end for a buffer of ``latency_s`` in periods of one block (it
    has no stream setting for it, only a library-wide count of periods, set before a stream
    opens); return the count asked, 0 where the library has no ALSA back-end (Windows, macOS:
    their host APIs size their own periods)."""
    name = getattr(sd_module, "_libname", None)
    if not name:
        return 0
    try:
        set_periods = ctypes.CDLL(name).PaAlsa_SetNumPeriods
    except (OSError, AttributeError):
        return 0
    periods = max(2, round(latency_s * sr / block_frames(sr)))
    set_periods(ctypes.c_int(periods))
    return periods


SEAMLESS_FRAMES = 2
"""A slowed block that starts within this many frames of where the last one ended continues
it exactly (the cursor's whole song frames and the stretched song's frames round apart)."""


class SoundDeviceOutput(OutputBase):
    """Playback through PortAudio (sounddevice), mixing metronome clicks into the song."""

    has_sound = True

    def __init__(self, samples: np.ndarray, sr: int, sd_module: object) -> None:
        super().__init__(samples, sr)
        self._sd = sd_module
        self._stream = None
        self._clicks = (click_sound(self.sr, 1000.0), click_sound(self.sr, 1600.0))
        self._latency_frames = 0
        self._stretched: tuple[float, np.ndarray] | None = None
        self._next_read = -1 - SEAMLESS_FRAMES
        """Where in the stretched song the last block ended (continued when the cursor is
        there to within rounding)."""
        self._heard: deque[tuple[int, float, int, float]] = deque(maxlen=HEARD_BLOCKS)
        """(first song frame, its DAC time, cursor.seeks, speed) of the latest callbacks."""
        self.underruns = 0
        """Callbacks PortAudio reported an output underflow for (audible drop-outs)."""
        self.description = "audio: " + str(sd_module.query_devices(kind="output")["name"])

    def start(self) -> None:
        if self._stream is None:
            ask_short_periods(self._sd, self.sr, OUTPUT_LATENCY_S)
            self._stream = self._sd.OutputStream(
                samplerate=self.sr,
                channels=self.samples.shape[1],
                dtype="float32",
                callback=self._callback,
                latency=OUTPUT_LATENCY_S,
                blocksize=block_frames(self.sr),
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

    def set_speed(self, speed: float, stretched: np.ndarray | None = None) -> None:
        """Play at ``speed``; below 1 the sound is ``stretched`` (required: no pitch drop)."""
        if speed != 1.0 and stretched is None:
            raise ValueError("slowed sound needs the song stretched to that speed")
        buffer = None if stretched is None else (
            stretched if stretched.ndim == 2 else stretched[:, None])
        self._stretched = None if speed == 1.0 else (float(speed), buffer)  # one assignment:
        super().set_speed(speed)  # the callback sees the old or the new pair, never a mix

    def position_frames(self) -> int:
        """The frame the listener hears now (see :data:`OUTPUT_LATENCY_S`)."""
        if self.playing and self.cursor.finished:
            self.stop()
        if not self.playing:
            return self.cursor.frame
        heard = self._heard_now()
        if heard is not None:
            return heard
        return max(self.cursor.frame - int(self._latency_frames * self.speed), 0)

    def _heard_now(self) -> int | None:
        """From the last callback whose first frame has reached the DAC (since the last seek):
        that frame plus the stream time since, at the playing speed; None when unknown."""
        if self._stream is None:
            return None
        blocks = [b for b in list(self._heard) if b[2] == self.cursor.seeks]
        if not blocks:
            return None
        now = float(self._stream.time)
        for first, dac, _seeks, speed in reversed(blocks):
            if dac <= now:
                return min(first + round((now - dac) * self.sr * speed), self.cursor.frame)
        return blocks[0][0]  # the first block after a seek is not heard yet: stay at it

    def _callback(self, out: np.ndarray, frames: int, time_info: object, status: object) -> None:
        if getattr(status, "output_underflow", False):
            self.underruns += 1
        dac = float(getattr(time_info, "outputBufferDacTime", 0.0) or 0.0)
        if dac > 0.0:  # 0: the host API does not know (the reported latency is used then)
            self._heard.append((self.cursor.frame, dac, self.cursor.seeks, self.speed))
        out.fill(0.0)
        stretched = self._stretched
        if stretched is None:
            pos = 0
            for start, n in self.cursor.take(frames):
                out[pos : pos + n] = self.samples[start : start + n]
                if self.metronome:
                    self._mix_clicks(out, pos, start, n, 1.0)
                pos += n
            return
        speed, buffer = stretched
        pos = 0
        spans = self.cursor.take(self.song_frames(frames))
        for i, (start, n) in enumerate(spans):
            a = int(round(start / speed))
            if abs(a - self._next_read) <= SEAMLESS_FRAMES:
                a = self._next_read  # the same stream: no sample skipped or repeated
            # the last span fills the block, so rounding never leaves a silent sample
            want = frames - pos if i == len(spans) - 1 else int(round((start + n) / speed)) - a
            m = max(0, min(want, frames - pos, len(buffer) - a))
            out[pos : pos + m] = buffer[a : a + m]
            if self.metronome:
                self._mix_clicks(out, pos, start, n, speed)
            pos += m
            self._next_read = a + m

    def _mix_clicks(self, out: np.ndarray, pos: int, start: int, n: int, speed: float) -> None:
        lo, hi = np.searchsorted(self.beat_frames, [start, start + n])
        for b in range(lo, hi):
            click = self._clicks[1 if self.downbeat_mask[b] else 0]
            at = pos + int((self.beat_frames[b] - start) / speed)
            m = max(0, min(len(click), len(out) - at))
            out[at : at + m] += click[:m, None]


def open_output(samples: np.ndarray, sr: int, *, want_sound: bool = True) -> OutputBase:
    """Sound through the default device where PortAudio and a device exist, played by a child
    process (:mod:`.audio_process`: no editor thread can starve it), else a silent clock."""
    if want_sound:
        try:
            import sounddevice as sd

            name = str(sd.query_devices(kind="output")["name"])
        except Exception:  # noqa: BLE001 - no PortAudio, no device, or a broken driver
            return SilentClock(samples, sr)
        from choreo_studio.editor.audio_process import ProcessOutput  # builds on this module

        try:
            return ProcessOutput(samples, sr, sd, device_name=name)
        except OSError:  # no shared memory here: the callback in this process, as before
            return SoundDeviceOutput(samples, sr, sd)
    return SilentClock(samples, sr)
