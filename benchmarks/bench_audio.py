"""Audio output benchmark: drop-outs, start stalls and playhead latency over a long playback
under load.

Run: ``python benchmarks/bench_audio.py [--seconds 60] [--busy 1] [--busy-threads 1]
[--restarts 3] [--mode both] [--latency 0.2] [--speed 1.0] [--song SONG] [--monitor SOURCE]
[--no-priority]`` (needs a sound output device; on a headless machine a PulseAudio null sink
gives one: ``pulseaudio --start --exit-idle-time=-1; pactl load-module module-null-sink``, and
its monitor is ``null.monitor``; on a shared machine, start it with ``PULSE_RUNTIME_PATH`` set
to a folder of your own and run the bench with the same, so that no other session's program
plays to it or finds a sound device it did not have).

Plays a song (the demo song, or ``--song``; looped) with the metronome on for ``--seconds``,
through the editor's output (``process``: :class:`editor.audio_process.ProcessOutput`, the
callback in a child process) and/or the previous in-process one (``inprocess``:
:class:`editor.audio_player.SoundDeviceOutput`, the callback in this process), one after the
other in the same run. Meanwhile ``--busy`` subprocesses burn a core each, ``--busy-threads``
threads of this process sort a 50,000-float Python list over and over (each sort holds the
interpreter lock for ~10–50 ms, as a worker's long pure-Python or C step does), and the main thread
polls the playhead at the transport's rate doing a little numpy work per poll, as the GUI
thread does. Playback is paused and resumed ``--restarts`` times. Reports per output:

* ``underflow_flags``: played blocks PortAudio flagged ``output_underflow``;
* ``late_blocks``: blocks whose callback ran after their first frame's DAC time (the buffer had
  run dry), and the smallest headroom seen;
* ``gaps`` / ``gap_lost_ms``: jumps over 5 ms in the DAC times of consecutive blocks (silence
  inserted between them), outside the first blocks after a stream start; PortAudio's DAC times
  are an estimate that also jitters by 5–10 ms either way with the buffer full, so a few such
  jumps are no drop-out: ``--monitor`` says what was heard;
* ``start_stall_ms`` (max and median over the starts): from play to the first played frame's
  DAC time, less the stream's reported latency (the wait beyond the buffer), and the jumps in
  the first blocks after each stream start (``startup_jump_ms``); the child keeps its stream
  running while paused, so it has no stream start after the first;
* with ``--monitor``: what the sink played, recorded from its monitor with ``parec`` while a
  steady tone plays (no restarts, so any silence inside it is a drop-out): ``heard_gaps``
  (silences over 1 ms), their total and the longest, in ms — the drop-outs as heard;
* playhead − heard: at every poll, the frame the editor draws (``position_frames``) minus the
  frame heard then according to the blocks' DAC times, median and 5–95 % in ms (against
  PortAudio's estimate: the monitor records the sink, not a loudspeaker).

Targets (issue 14): 0 underflows, 0 late blocks, 0 gaps heard over 60 s with a busy second
core. Through PulseAudio a late block or a heard gap with the child's callback thread asleep
is the sound server's main thread waiting for a CPU (it is not real-time, and where the kernel
groups each session's processes its nice level does not count against other sessions): the
editor's buffer (:data:`editor.audio_player.OUTPUT_LATENCY_S`) is the margin against that.
``--no-priority`` runs the child's threads at normal priority, as where the system refuses the
real-time priority it asks for.
With ``--speed`` below 1, the time the pitch-keeping stretch of the whole song took is printed
too. Figures are printed, never asserted; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POLL_S = 0.016
STARTUP_BLOCKS = 8
"""Jumps in the DAC times of the first blocks after a stream start are reported apart."""
GAP_MS = 5.0
SILENT = 1e-3
"""A recorded sample this close to 0 is silence (the tone is 0.2 in amplitude)."""
SILENCE_MS = 1.0
TONE_HZ = 440.0
BURN = "while True: pass"
SORTED_FLOATS = 50_000
READY_TIMEOUT_S = 20.0
SETTLE_S = 3.0
"""Wait after opening the process output: a suspended sink resumes in ~1.7 s (null sink)."""
PAUSE_S = 0.5
COLUMNS = ("first", "dac", "called", "frames", "speed", "played", "underflow", "run")
"""One row per block: first song frame, DAC time and callback time (perf_counter seconds),
output frames, speed, played (0/1), underflow flag, and the stream run (a stream start) it is in."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--busy", type=int, default=1, help="CPU-burning subprocesses")
    parser.add_argument("--busy-threads", type=int, default=1,
                        help="threads in this process holding the interpreter lock")
    parser.add_argument("--restarts", type=int, default=3, help="pauses and resumes per run")
    parser.add_argument("--mode", choices=("process", "inprocess", "both"), default="both")
    parser.add_argument("--latency", type=float, default=None,
                        help="output latency asked of PortAudio (default: the editor's)")
    parser.add_argument("--speed", type=float, default=1.0, help="playback speed (0.5–1)")
    parser.add_argument("--song", default="", help="a song file (default: the demo song)")
    parser.add_argument("--monitor", default="",
                        help="a PulseAudio monitor source (e.g. null.monitor) to record with "
                             "parec: plays a steady tone without restarts and counts the "
                             "silences heard in the recording")
    parser.add_argument("--no-priority", action="store_true",
                        help="the child's callback at normal priority (as where the system "
                             "refuses real-time)")
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


class InProcessRecorder:
    """The previous output (callback in this process), recording each block as a row."""

    def __init__(self, samples: np.ndarray, sr: int, latency_s: float) -> None:
        import sounddevice as sd
        from choreo_studio.editor import audio_player

        audio_player.OUTPUT_LATENCY_S = latency_s
        rows: list[tuple] = []
        self.rows = rows
        self.starts: list[float] = []

        class Recorded(audio_player.SoundDeviceOutput):
            def _callback(self, out, frames, time_info, status) -> None:
                called = time.perf_counter()
                first, speed = self.cursor.frame, self.speed
                super()._callback(out, frames, time_info, status)
                dac = called + float(time_info.outputBufferDacTime) - float(time_info.currentTime)
                rows.append((first, dac, called, frames, speed, 1.0,
                             float(bool(status.output_underflow)), float(len(recorder.starts))))

        recorder = self
        self.output = Recorded(samples, sr, sd)

    def start(self) -> None:
        self.starts.append(time.perf_counter())
        self.output.start()

    def new_rows(self) -> np.ndarray:
        return np.array(self.rows, dtype=np.float64).reshape(-1, len(COLUMNS))

    def latency_s(self) -> float:
        return float(self.output._stream.latency)  # noqa: SLF001 - the bench reads the stream

    def note(self) -> str:
        return "callback thread: this process's, normal priority"


class ProcessRecorder:
    """The editor's output (callback in a child process), reading its block ring as rows."""

    def __init__(self, samples: np.ndarray, sr: int, latency_s: float, prioritise: bool) -> None:
        import sounddevice as sd
        from choreo_studio.editor.audio_process import ProcessOutput
        from choreo_studio.editor.audio_shared import S_BLOCKS

        name = str(sd.query_devices(kind="output")["name"])
        self.output = ProcessOutput(samples, sr, sd, device_name=name, latency_s=latency_s,
                                    prioritise=prioritise)
        if not self.output.ready.wait(READY_TIMEOUT_S) or self.output.error:
            raise RuntimeError(f"the audio process did not start: {self.output.error}")
        time.sleep(SETTLE_S)
        self.starts: list[float] = []
        self._seen = int(self.output.blocks.read_state()[S_BLOCKS])
        self._rows: list[np.ndarray] = []

    def start(self) -> None:
        self.starts.append(time.perf_counter())
        self.output.start()

    def new_rows(self) -> np.ndarray:
        """All blocks since the output was opened and settled, as rows (polled often enough
        that the ring never laps: 512 blocks)."""
        from choreo_studio.editor import audio_shared as ap

        ring, self._seen = self.output.blocks.rows(self._seen)
        if len(ring):
            self._rows.append(np.stack([
                ring[:, ap.R_FIRST], ring[:, ap.R_DAC], ring[:, ap.R_CALLED],
                ring[:, ap.R_FRAMES], ring[:, ap.R_SPEED],
                (ring[:, ap.R_FLAGS].astype(int) & ap.PLAYED > 0).astype(float),
                (ring[:, ap.R_FLAGS].astype(int) & ap.UNDERFLOW > 0).astype(float),
                np.zeros(len(ring))], axis=1))
        return np.concatenate(self._rows) if self._rows else np.zeros((0, len(COLUMNS)))

    def latency_s(self) -> float:
        return self.output.latency_frames / self.output.sr

    def note(self) -> str:
        return f"callback thread: {self.output.priority}"


def heard_frame(rows: np.ndarray, now: float, sr: int) -> float | None:
    """The song frame heard at ``now``: the last played block whose first frame reached the
    DAC, advanced at its speed (the bench's own reading, without the editor's caps)."""
    played = rows[(rows[:, 5] > 0) & (rows[:, 1] <= now)]
    if not len(played):
        return None
    first, dac, speed = played[-1, 0], played[-1, 1], played[-1, 4]
    return first + (now - dac) * sr * speed


def tone(n_frames: int, sr: int) -> np.ndarray:
    """A steady stereo sine: every silence in its recording is a drop-out."""
    wave = 0.2 * np.sin(2 * np.pi * TONE_HZ * np.arange(n_frames) / sr)
    return np.stack([wave, wave], axis=1).astype(np.float32)


def start_recording(source: str, sr: int, path: Path) -> subprocess.Popen:
    """parec recording the monitor ``source`` to ``path`` as raw float32 mono."""
    with open(path, "wb") as sink:
        return subprocess.Popen(["parec", "-d", source, "--raw", "--format=float32le",
                                 "--channels=1", f"--rate={sr}", "--latency-msec=200"],
                                stdout=sink)


def heard_silences(path: Path, sr: int) -> dict[str, float]:
    """Silences over SILENCE_MS between the recording's first and last sound, in ms."""
    x = np.abs(np.fromfile(path, dtype=np.float32))
    loud = np.flatnonzero(x > SILENT)
    if not len(loud):
        return {"heard_s": 0.0, "heard_gaps": float("nan"), "heard_gap_ms": float("nan"),
                "heard_longest_gap_ms": float("nan")}
    x = x[loud[0] : loud[-1] + 1]
    quiet = np.concatenate([[0], (x <= SILENT).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(quiet))
    runs_ms = (edges[1::2] - edges[0::2]) / sr * 1000.0
    runs_ms = runs_ms[runs_ms > SILENCE_MS]
    return {"heard_s": len(x) / sr, "heard_gaps": float(runs_ms.size),
            "heard_gap_ms": float(runs_ms.sum()),
            "heard_longest_gap_ms": float(runs_ms.max()) if runs_ms.size else 0.0}


def busy_thread(stop: threading.Event) -> None:
    """Hold this process's interpreter lock in long stretches, as a worker's Python step does."""
    data = list(np.random.default_rng(1).random(SORTED_FLOATS))
    while not stop.is_set():
        sorted(data)


def play(recorder, sr: int, seconds: float, restarts: int, speed: float) -> list[float]:
    """Play for ``seconds`` with ``restarts`` pauses, polling as the GUI does; the playhead −
    heard samples in ms (those within a block of a start or a seek left out)."""
    output = recorder.output
    diffs_ms: list[float] = []
    scratch = np.random.default_rng(0).standard_normal(20_000)
    segment = seconds / (restarts + 1)
    for _ in range(restarts + 1):
        recorder.start()
        end = time.perf_counter() + segment
        while time.perf_counter() < end:
            time.sleep(POLL_S)
            drawn = output.position_frames()
            now = time.perf_counter()
            rows = recorder.new_rows()
            recent = rows[rows[:, 2] >= recorder.starts[-1]]
            heard = heard_frame(recent, now, sr)
            if heard is not None:
                diffs_ms.append((drawn - heard) / sr / speed * 1000.0)
            np.sort(scratch)  # the GUI thread's own work between polls
        output.stop()
        time.sleep(PAUSE_S)
        recorder.new_rows()
    return diffs_ms


def figures(rows: np.ndarray, starts: list[float], latency_s: float, sr: int,
            diffs_ms: list[float]) -> dict[str, float]:
    """The report's numbers from the recorded blocks and the playhead samples."""
    headroom_ms = (rows[:, 1] - rows[:, 2]) * 1000.0
    played = rows[:, 5] > 0
    expected = rows[:-1, 1] + rows[:-1, 3] / sr
    jumps_ms = (rows[1:, 1] - expected) * 1000.0
    same_run = rows[1:, 7] == rows[:-1, 7]
    run_index = np.zeros(len(rows), dtype=np.int64)
    for i in range(1, len(rows)):
        run_index[i] = run_index[i - 1] + 1 if rows[i, 7] == rows[i - 1, 7] else 0
    early = run_index[1:] < STARTUP_BLOCKS
    audible = played[1:] | played[:-1]
    gaps = jumps_ms[same_run & ~early & audible & (jumps_ms > GAP_MS)]
    startup = jumps_ms[same_run & early & (jumps_ms > GAP_MS)]
    stalls = []
    for start in starts:
        after = rows[played & (rows[:, 2] >= start)]
        if len(after):
            stalls.append((after[0, 1] - start - latency_s) * 1000.0)
    q = list(np.percentile(diffs_ms, [5, 50, 95])) if diffs_ms else [float("nan")] * 3
    return {
        "played_s": float(rows[played, 3].sum()) / sr,
        "blocks": float(len(rows)),
        "block_ms": float(np.median(rows[:, 3])) / sr * 1000.0 if len(rows) else 0.0,
        "latency_ms": latency_s * 1000.0,
        "underflow_flags": float(rows[played, 6].sum()),
        "late_blocks": float((headroom_ms[played] < 0).sum()),
        "min_headroom_ms": float(headroom_ms[played].min()) if played.any() else float("nan"),
        "gaps": float(gaps.size),
        "gap_lost_ms": float(gaps.sum()),
        "starts": float(len(starts)),
        "start_stall_ms_max": float(max(stalls)) if stalls else float("nan"),
        "start_stall_ms_median": float(np.median(stalls)) if stalls else float("nan"),
        "startup_jump_ms": float(startup.sum()),
        "playhead_minus_heard_ms_p5": q[0],
        "playhead_minus_heard_ms_median": q[1],
        "playhead_minus_heard_ms_p95": q[2],
        "polls": float(len(diffs_ms)),
    }


def run(mode: str, args: argparse.Namespace, samples: np.ndarray, sr: int,
        stretched: np.ndarray | None) -> dict[str, float]:
    """One output's playback under the load; its figures."""
    from choreo_studio.editor.audio_player import OUTPUT_LATENCY_S

    latency = OUTPUT_LATENCY_S if args.latency is None else args.latency
    recorder = (ProcessRecorder(samples, sr, latency, not args.no_priority) if mode == "process"
                else InProcessRecorder(samples, sr, latency))
    output = recorder.output
    if stretched is not None:
        output.set_speed(args.speed, stretched)
    beats = np.arange(0.0, len(samples) / sr, 0.5)
    output.set_beats(beats, np.arange(0, beats.size, 4))
    output.metronome = not args.monitor  # a recorded tone alone: its silences are gaps
    output.cursor.loop = (0, len(samples))  # the song over and over, without a stop
    stop = threading.Event()
    threads = [threading.Thread(target=busy_thread, args=(stop,), daemon=True)
               for _ in range(args.busy_threads)]
    burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(args.busy)]
    for thread in threads:
        thread.start()
    with tempfile.TemporaryDirectory() as folder:
        recording = Path(folder) / "monitor.f32"
        parec = start_recording(args.monitor, sr, recording) if args.monitor else None
        try:
            diffs = play(recorder, sr, args.seconds, args.restarts, args.speed)
            rows = recorder.new_rows()
            latency_s = recorder.latency_s()
            print(f"{mode}: {recorder.note()}", flush=True)
        finally:
            stop.set()
            for burner in burners:
                burner.kill()
                burner.wait()
            output.close()
            if parec is not None:
                time.sleep(latency_s + PAUSE_S)  # the last blocks reach the sink
                parec.terminate()
                parec.wait()
        result = figures(rows, recorder.starts, latency_s, sr, diffs)
        if parec is not None:
            result |= heard_silences(recording, sr)
    return result


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        import sounddevice as sd

        device = sd.query_devices(kind="output")["name"]
    except Exception as exc:  # noqa: BLE001 - no PortAudio or no device: say so
        print(f"no sound output device ({exc}); start one (e.g. a PulseAudio null sink)")
        return
    samples, sr = song_samples(args.song)
    if args.monitor:
        samples, args.restarts = tone(len(samples), sr), 0
    stretched = None
    if args.speed != 1.0:
        from choreo_studio.core.audio.stretch import time_stretch

        t0 = time.perf_counter()
        stretched = time_stretch(samples, args.speed)
        took = time.perf_counter() - t0
        print(f"stretch to {args.speed:g}×: {took:.2f} s "
              f"({took / (len(samples) / sr / 60.0):.2f} s per song minute)")
    modes = ("process", "inprocess") if args.mode == "both" else (args.mode,)
    print(f"device: {device}; {args.seconds:g} s each, {args.busy} busy process(es), "
          f"{args.busy_threads} busy thread(s) in this process, {args.restarts} restart(s), "
          f"speed {args.speed:g}×", flush=True)
    results = {}
    for mode in modes:
        load = open("/proc/loadavg").read().split()[0] if Path("/proc/loadavg").exists() else "?"
        results[mode] = run(mode, args, samples, sr, stretched)
        results[mode]["load_1min_at_start"] = float(load) if load != "?" else float("nan")
    print(f"  {'':32s}" + "".join(f"{mode:>12s}" for mode in modes))
    for name in results[modes[0]]:
        print(f"  {name:32s}" + "".join(f"{results[m][name]:12.1f}" for m in modes))
    print("  target: underflow_flags = late_blocks = gaps = 0; start stall ≈ 0 ms;"
          " playhead − heard ≈ 0 ms")


if __name__ == "__main__":
    main()
