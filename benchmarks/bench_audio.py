"""Audio output benchmark: drop-outs and playhead latency over a long playback under load.

Run: ``python benchmarks/bench_audio.py [--seconds 60] [--busy 1] [--latency 0.2]
[--speed 1.0] [--song SONG]`` (needs a sound output device; on a headless machine a PulseAudio
null sink gives one: ``pulseaudio --start; pactl load-module module-null-sink``).

Plays a song (the demo song, or ``--song``) through the editor's own output
(:class:`editor.audio_player.SoundDeviceOutput`, the metronome on) for ``--seconds`` while
``--busy`` subprocesses burn a core each and the main thread polls the playhead at the
transport's rate doing a little numpy work per poll, as the GUI thread does. Reports:

* drop-outs, three ways: callbacks PortAudio flagged ``output_underflow``; blocks that came
  late (their first frame's DAC time already past when the callback ran: the buffer had run
  dry), with the smallest headroom seen; and jumps in the DAC times of consecutive blocks
  (silence inserted between them) with the time lost. Target 0 for all. Jumps within the
  first blocks are the stream starting and are reported apart (``startup_stall_ms``);
* with ``--speed`` below 1, the time the pitch-keeping stretch of the whole song took (the
  background job the editor runs once per speed), per minute of song;
* playhead − heard: at every poll, the frame the editor draws (``position_frames``) minus the
  frame heard then according to the callbacks' DAC times (``outputBufferDacTime``), median
  and 5–95 % in ms. The editor's playhead follows those DAC times (so this checks it does, to a
  block); the same figure for a playhead that only subtracts the stream's reported latency
  (the editor's previous compensation) shows what that one was off by. PortAudio's DAC times
  are themselves an estimate: nothing here records the sound (no acoustic loopback).

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POLL_S = 0.016
STARTUP_BLOCKS = 8
"""Jumps in the DAC times of the first blocks are the stream starting (reported apart)."""
BURN = "while True: pass"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--busy", type=int, default=1, help="CPU-burning subprocesses")
    parser.add_argument("--latency", type=float, default=None,
                        help="output latency asked of PortAudio (default: the editor's)")
    parser.add_argument("--speed", type=float, default=1.0, help="playback speed (0.5–1)")
    parser.add_argument("--song", default="", help="a song file (default: the demo song)")
    return parser.parse_args(argv)


def song_samples(path: str) -> tuple[np.ndarray, int]:
    """The song to play: a decoded file, or the generated demo song."""
    if path:
        from choreo_studio.core.audio.load import load_audio

        audio = load_audio(path)
        return np.asarray(audio.samples, dtype=np.float32), int(audio.sr)
    from choreo_studio.resources.demo_song import render_demo_song

    song = render_demo_song()
    return song.samples.astype(np.float32), int(song.sr)


def instrumented_output(samples: np.ndarray, sr: int, latency_s: float | None):
    """The editor's sound output, recording each callback's first frame and DAC time."""
    import sounddevice as sd
    from choreo_studio.editor import audio_player

    if latency_s is not None:
        audio_player.OUTPUT_LATENCY_S = latency_s

    class Recorded(audio_player.SoundDeviceOutput):
        def __init__(self, *args) -> None:
            super().__init__(*args)
            self.blocks: list[tuple[int, float, float, int]] = []  # frame, dac, now, n
            self.lock = threading.Lock()

        def _callback(self, out, frames, time_info, status) -> None:
            first = self.cursor.frame
            super()._callback(out, frames, time_info, status)
            with self.lock:
                self.blocks.append((first, float(time_info.outputBufferDacTime),
                                    float(time_info.currentTime), frames))

    return Recorded(samples, sr, sd)


def heard_frame(blocks: list[tuple[int, float, float, int]], now: float, speed: float,
                sr: int) -> float | None:
    """The song frame the listener hears at stream time ``now``: from the last block whose
    first sample has reached the DAC, advanced at the playing speed."""
    for first, dac, _now, _n in reversed(blocks):
        if dac <= now:
            return first + (now - dac) * sr * speed
    return None


def run(args: argparse.Namespace) -> dict[str, float]:
    samples, sr = song_samples(args.song)
    output = instrumented_output(samples, sr, args.latency)
    stretch_s = 0.0
    if args.speed != 1.0:
        from choreo_studio.core.audio.stretch import time_stretch

        t0 = time.perf_counter()
        stretched = time_stretch(samples, args.speed)
        stretch_s = time.perf_counter() - t0
        output.set_speed(args.speed, stretched)
    beats = np.arange(0.0, len(samples) / sr, 0.5)
    output.set_beats(beats, np.arange(0, beats.size, 4))
    output.metronome = True
    burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(args.busy)]
    diffs_ms: list[float] = []
    fixed_ms: list[float] = []
    try:
        output.start()
        stream = output._stream
        print(f"device: {output.description}; asked latency "
              f"{args.latency or 'editor default'}, reported {stream.latency * 1000:.0f} ms; "
              f"{args.busy} busy core(s); speed {args.speed:g}×", flush=True)
        end = time.perf_counter() + args.seconds
        scratch = np.random.default_rng(0).standard_normal(20_000)
        while time.perf_counter() < end and output.playing:
            time.sleep(POLL_S)
            drawn = output.position_frames()
            now = float(stream.time)
            with output.lock:
                heard = heard_frame(output.blocks[-64:], now, output.speed, sr)
            if heard is not None:
                diffs_ms.append((drawn - heard) / sr / output.speed * 1000.0)
                fixed = output.cursor.frame - output._latency_frames * output.speed
                fixed_ms.append((fixed - heard) / sr / output.speed * 1000.0)
            np.sort(scratch)  # the GUI thread's own work between polls
            if output.cursor.finished:
                output.cursor.seek(0)
    finally:
        output.close()
        for burner in burners:
            burner.kill()
            burner.wait()
    result = figures(output.blocks, sr, output.underruns, diffs_ms, fixed_ms)
    if stretch_s:
        result["stretch_s"] = stretch_s
        result["stretch_s_per_song_minute"] = stretch_s / (len(samples) / sr / 60.0)
    return result


def figures(blocks: list[tuple[int, float, float, int]], sr: int, underruns: int,
            diffs_ms: list[float], fixed_ms: list[float]) -> dict[str, float]:
    """The report's numbers from the recorded callbacks and the playhead samples."""
    b = np.array(blocks, dtype=np.float64).reshape(-1, 4)
    headroom_ms = (b[:, 1] - b[:, 2]) * 1000.0
    expected = b[:-1, 1] + b[:-1, 3] / sr
    jumps_ms = (b[1:, 1] - expected) * 1000.0
    early = np.arange(jumps_ms.size) < STARTUP_BLOCKS
    jumps = jumps_ms[(jumps_ms > 5.0) & ~early]

    def q(values: list[float]) -> list[float]:
        return list(np.percentile(values, [5, 50, 95])) if values else [float("nan")] * 3

    new_q, old_q = q(diffs_ms), q(fixed_ms)
    return {
        "played_s": float(b[:, 3].sum()) / sr,
        "callbacks": float(len(b)),
        "block_ms": float(np.median(b[:, 3])) / sr * 1000.0 if len(b) else 0.0,
        "underflow_flags": float(underruns),
        "late_blocks": float((headroom_ms[1:] < 0).sum()),
        "min_headroom_ms": float(headroom_ms[1:].min()) if len(b) > 1 else float("nan"),
        "startup_stall_ms": float(jumps_ms[early & (jumps_ms > 5.0)].sum()),
        "dac_jumps_over_5ms": float(jumps.size),
        "dac_jump_lost_ms": float(jumps.sum()),
        "playhead_minus_heard_ms_p5": new_q[0],
        "playhead_minus_heard_ms_median": new_q[1],
        "playhead_minus_heard_ms_p95": new_q[2],
        "fixed_latency_minus_heard_ms_median": old_q[1],
        "polls": float(len(diffs_ms)),
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        import sounddevice as sd

        sd.query_devices(kind="output")
    except Exception as exc:  # noqa: BLE001 - no PortAudio or no device: say so
        print(f"no sound output device ({exc}); start one (e.g. a PulseAudio null sink)")
        return
    t0 = time.perf_counter()
    figures = run(args)
    print(f"ran {time.perf_counter() - t0:.1f} s")
    for name, value in figures.items():
        print(f"  {name:32s} {value:10.1f}")
    print("  target: underruns = 0, playhead − heard ≈ 0 ms")


if __name__ == "__main__":
    main()
