"""Editor benchmark: launch to interactive, open-song to first choreography, swap latency.

Run: ``python benchmarks/bench_editor.py [--song EXTRA_SONG] [--library LIB] [--no-demo]``
(offscreen Qt; ``--no-demo`` times only the given songs).

* launch → interactive: a fresh process imports the editor, shows the main window and runs
  the event loop; measured from the process start until the loop has painted the window.
* open → first choreography: the demo song (80 s) and a 4-minute demo song, cold (no analysis
  cached: ``--cold-runs`` times, the song's analysis dropped from the cache before each) and
  cached, plus any ``--song``; ends when the choreography is on screen. Each cold open is
  compared with ``choreo analyze --no-cache`` on the same song run right after it (a fresh
  process, its decode included) and with that plus one more decode of the song. The library
  and model are loaded once before (their first load, which builds the demo library in a
  fresh cache, is printed). The longest GUI stall in the seconds after the cached open (its
  first render, the background decode for playback) is printed too.
* swap: one suggestion swapped in with every panel refreshed (timeline, suggestions reranked,
  library usage, status bar) and the changed widgets repainted; a full-window repaint is
  timed as a reference. The motion re-render runs in a worker afterwards and is timed
  separately. Also the suggestion refresh alone, an audition click, and playback (playhead,
  timeline and skeleton following at the transport's poll rate).
* structure edits: split at the middle of the longest phrase and merge it back, from the
  gesture to the undo step on screen (local re-cut: only the touched phrases re-solved).

Figures are printed, never asserted; a summary per song ends the output. Targets:
interactive ≤ 2 s, swap p95 ≤ 50 ms, GUI stall during a re-render ≤ 50 ms (the longest gap
of a 10 ms timer), cold open ≤ 1.2× ``choreo analyze`` + decode.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FOUR_MINUTES = (
    ("intro", 8),
    ("verse", 16),
    ("chorus", 16),
    ("verse", 16),
    ("chorus", 16),
    ("bridge", 16),
    ("chorus", 16),
    ("outro", 16),
)

LAUNCH_SCRIPT = """
import os, sys, time
sys.path.insert(0, {root!r})
from PySide6.QtCore import QTimer
from choreo_studio.editor.app import make_app
from choreo_studio.editor.main_window import MainWindow
app = make_app()
w = MainWindow(want_sound=False)
w.show()
def ready():
    w.repaint()
    print("INTERACTIVE", flush=True)
    app.quit()
QTimer.singleShot(0, ready)
app.exec()
"""


def launch_to_interactive(runs: int = 3) -> list[float]:
    """Seconds from process start to a painted, event-processing main window."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH_SCRIPT.format(root=str(ROOT))],
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for line in proc.stdout:
            if line.startswith("INTERACTIVE"):
                times.append(time.perf_counter() - t0)
                break
        proc.wait()
    return times


def _wait(app, predicate, timeout_s: float = 600.0) -> None:
    end = time.perf_counter() + timeout_s
    while not predicate():
        if time.perf_counter() > end:
            raise TimeoutError("benchmark step timed out")
        app.processEvents()
        time.sleep(0.001)


class StallMonitor:
    """Longest gap between two ticks of a 10 ms timer on the GUI thread (what a user feels)."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.worst = 0.0
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self._last)
        self._last = now

    def __enter__(self) -> StallMonitor:
        self._last = time.perf_counter()
        self._timer.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._timer.stop()


def open_song(app, window, path: str) -> tuple[float, float, float]:
    """Seconds from the open request to the choreography on screen (a full repaint forced at
    the end), the longest GUI stall meanwhile (the event loop's own work and paints; the
    forced repaint, which the editor never does, is outside it), and that repaint's seconds."""
    with StallMonitor() as monitor:
        t0 = time.perf_counter()
        window.files.open_path(path, ask_to_save=False)
        _wait(app, lambda: window.doc.ready and not window.jobs.running("open"))
        app.processEvents()
    t1 = time.perf_counter()
    window.repaint()
    elapsed = time.perf_counter() - t0
    if window._last_error:
        raise RuntimeError(window._last_error)
    return elapsed, monitor.worst, time.perf_counter() - t1


def forget_analysis(path: str) -> None:
    """Drop the song's analysis from the user cache, so the next open of it is cold."""
    from choreo_studio.core.audio.load import file_content_hash
    from choreo_studio.core.phrases.feature_cache import FeatureCache

    shutil.rmtree(FeatureCache(file_content_hash(path)).folder, ignore_errors=True)


def cold_opens(app, window, path: str, runs: int) -> list[dict[str, float]]:
    """Per run: a cold open (seconds, longest stall), then ``choreo analyze`` and one decode of
    the same song once the editor is idle again (the same conditions for the ratio)."""
    results = []
    for _ in range(runs):
        forget_analysis(path)
        cold, stall, _repaint = open_song(app, window, path)
        _wait(app, lambda: not window.jobs.busy)
        analyze_s = analyze_command(path)
        results.append({"cold": cold, "stall": stall, "analyze": analyze_s,
                        "decode": decode_seconds(path)})
    return results


def settle_stall(app, seconds: float = 3.0) -> float:
    """The longest GUI stall over the next ``seconds`` (what follows an open: the first
    render, the background decode for playback)."""
    with StallMonitor() as monitor:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.001)
    return monitor.worst


def swap_latency(app, window, n: int = 40) -> dict[str, list[float]]:
    """Per swap: the edit with all panels refreshed and repainted; then the re-render."""
    from choreo_studio.editor import render_process

    doc = window.doc
    swap, full, refresh, render, audition, stall = [], [], [], [], [], []
    for i in range(n):
        doc.select(i % len(doc.phrases))
        app.processEvents()
        if doc.choreography[doc.selected].locked:
            continue
        row = 1 + i % max(1, min(4, len(window.suggestions.rows) - 1))
        t0 = time.perf_counter()
        window.edits.swap_suggestion(row)
        app.processEvents()  # repaints what changed: timeline, suggestions, library, status
        swap.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        window.repaint()
        full.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        window._refresh_suggestions()
        refresh.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        window.audition_suggestion(0)
        audition.append(time.perf_counter() - t0)
        window.stop_audition(resume=False)
        window._render_timer.stop()
        render_process.recent_scenes.clear()  # a real render, not one recalled
        with StallMonitor() as monitor:
            t0 = time.perf_counter()
            before = window.last_metrics
            window._start_render()
            _wait(app, lambda b=before: window.last_metrics is not b and not window.jobs.busy)
            render.append(time.perf_counter() - t0)
        stall.append(monitor.worst)
    return {
        "swap, panels refreshed+painted": swap,
        "full-window repaint (ref.)": full,
        "suggestion refresh": refresh,
        "audition click (GUI)": audition,
        "re-render + metrics (worker)": render,
        "GUI stall during re-render": stall,
    }


def idle_stall(app, seconds: float = 3.0, runs: int = 3) -> list[float]:
    """The same monitor on an idle GUI (no job running): what the machine's load alone costs,
    the reference for the stall during a re-render."""
    worst = []
    for _ in range(runs):
        with StallMonitor() as monitor:
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                app.processEvents()
                time.sleep(0.001)
        worst.append(monitor.worst)
    return worst


def structure_edits(app, window, n: int = 4) -> dict[str, list[float]]:
    """Per local structure edit (split at the middle of the longest phrase, then merge it
    back): seconds from the gesture to the one undo step on screen."""
    doc = window.doc
    split, merge = [], []
    for _ in range(n):
        p = max(doc.phrases, key=lambda q: q.n_bars)
        if p.n_bars < 2:
            break
        window.transport.seek(p.start_s + 0.5 * p.duration_s)
        count = doc.undo_stack.count()
        t0 = time.perf_counter()
        window.action("split").trigger()
        _wait(app, lambda c=count: doc.undo_stack.count() > c and not window.jobs.busy)
        split.append(time.perf_counter() - t0)
        doc.select(p.index)
        t0 = time.perf_counter()
        window.action("merge").trigger()
        _wait(app, lambda c=count: doc.undo_stack.count() > c + 1 and not window.jobs.busy)
        merge.append(time.perf_counter() - t0)
    return {"split (local re-cut)": split, "merge (local re-cut)": merge}


def playback_follow(app, window, seconds: float = 3.0) -> str:
    """Playhead updates per second while playing (silent clock) and the GUI thread's load."""
    ticks: list[float] = []

    def on_tick(_position: float) -> None:
        ticks.append(time.perf_counter())

    window.transport.position_changed.connect(on_tick)
    busy = 0.0
    window.transport.seek(0.0)
    window.transport.play()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a = time.perf_counter()
        app.processEvents()
        busy += time.perf_counter() - a
        time.sleep(0.001)
    window.transport.pause()
    window.transport.position_changed.disconnect(on_tick)
    return f"{len(ticks) / seconds:.0f} updates/s, GUI thread busy {100 * busy / seconds:.0f}%"


def analyze_command(path: str, runs: int = 1) -> float:
    """Seconds of ``choreo analyze --no-cache SONG`` as a whole command (a fresh process)."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-analyze-") as cache:
            env = dict(os.environ, CHOREO_CACHE_DIR=cache)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "choreo_studio", "analyze", "--no-cache",
                            str(path)], env=env, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def decode_seconds(path: str) -> float:
    """Seconds to decode the song once (in this process, imports done)."""
    from choreo_studio.core.audio.load import load_audio

    t0 = time.perf_counter()
    audio = load_audio(path)
    audio.samples.sum()  # a lazily decoded Audio decodes here
    return time.perf_counter() - t0


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else float("nan")


def _ms(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"median {1000 * statistics.median(values):7.1f} ms   p95 {1000 * p95:7.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--song", action="append", default=[], help="extra song to open")
    parser.add_argument("--library", default="", help="library folder (default: bundled demo)")
    parser.add_argument("--swaps", type=int, default=40)
    parser.add_argument("--cold-runs", type=int, default=3,
                        help="cold opens per song, each compared with `choreo analyze` run "
                             "right after it (default 3)")
    parser.add_argument("--no-demo", action="store_true",
                        help="only the --song files (skip launch timing and the demo songs)")
    parser.add_argument("--opens-only", action="store_true",
                        help="only the opens and the stall after the cached one (skip swaps, "
                             "structure edits and playback)")
    args = parser.parse_args()

    if not args.no_demo:
        launch = launch_to_interactive()
        print(
            f"launch → interactive: {', '.join(f'{t:.2f}' for t in launch)} s "
            f"(median {statistics.median(launch):.2f} s)"
        )

    from choreo_studio.editor.app import make_app
    from choreo_studio.editor.main_window import MainWindow
    from choreo_studio.editor.prompter import DISCARD, ScriptedPrompter
    from choreo_studio.resources.demo_song import DemoSongSpec, render_demo_song
    from PySide6.QtCore import QSettings

    tmp = Path(tempfile.mkdtemp(prefix="bench-editor-"))
    os.environ["CHOREO_CACHE_DIR"] = str(tmp / "cache")
    songs = {} if args.no_demo else {
        "demo song": render_demo_song().write_wav(tmp / "demo.wav"),
        "4-minute demo song": render_demo_song(
            DemoSongSpec(structure=FOUR_MINUTES, seed=7)
        ).write_wav(tmp / "four_minutes.wav"),
    }
    for extra in args.song:
        songs[Path(extra).name] = Path(extra)
    app = make_app()
    settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("library_path", args.library)
    window = MainWindow(
        settings,
        want_sound=False,
        autosave_dir=str(tmp / "autosave"),
        prompter=ScriptedPrompter(default=DISCARD),
    )
    window.resize(1400, 860)
    window.show()
    from choreo_studio.editor import session_ops

    t0 = time.perf_counter()  # the library and model, once per process (a fresh cache builds
    session_ops.load_engine(window.files.engine_spec())  # the demo library): not a song's cost
    print(f"library + model first load (imports, demo library build): "
          f"{time.perf_counter() - t0:.2f} s")
    for name, path in songs.items():
        colds = cold_opens(app, window, str(path), max(1, args.cold_runs))
        cached, cached_stall, repaint = open_song(app, window, str(path))
        after_cached = settle_stall(app)
        duration = window.doc.analysis.duration_s
        ratios = [r["cold"] / (r["analyze"] + r["decode"]) for r in colds]
        cold_text = ", ".join(f"{r['cold']:.2f}" for r in colds)
        stall_text = ", ".join(f"{1000 * r['stall']:.0f}" for r in colds)
        print(
            f"open → choreography, {name} ({duration:.0f} s, {len(window.doc.phrases)} "
            f"phrases, K={len(window.engine.library.phrases)}): cold "
            f"{cold_text} s, cached {cached:.2f} s; longest GUI stall {stall_text} ms "
            f"cold, {1000 * cached_stall:.0f} ms cached, {1000 * after_cached:.0f} ms in the "
            f"3 s after the cached open (then a forced full repaint: {1000 * repaint:.0f} ms)"
        )
        for r, ratio in zip(colds, ratios, strict=True):
            print(f"  cold open {r['cold']:.2f} s = {r['cold'] / r['analyze']:.2f}× `choreo "
                  f"analyze` ({r['analyze']:.2f} s) = {ratio:.2f}× analyze + decode "
                  f"({r['decode']:.2f} s)")
        print(f"  cold open ratio median {statistics.median(ratios):.2f}×, max "
              f"{max(ratios):.2f}× (target 1.2×); stall after a cached open "
              f"{1000 * max(cached_stall, after_cached):.0f} ms; load average "
              f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        if args.opens_only:
            continue
        swaps = swap_latency(app, window, args.swaps)
        swaps["GUI stall idle (reference)"] = idle_stall(app)
        for label, values in swaps.items():
            print(f"  {label:<28} {_ms(values)}   max {1000 * max(values or [0.0]):7.1f} ms")
        for label, values in structure_edits(app, window).items():
            print(f"  {label:<28} {_ms(values)}")
        print(f"  {'playback (playhead follow)':<28} {playback_follow(app, window)}")
        swap = swaps["swap, panels refreshed+painted"]
        stalls = swaps["GUI stall during re-render"]
        print(f"  summary: swap median {1000 * statistics.median(swap):.1f} ms, p95 "
              f"{1000 * _p95(swap):.1f} ms (target 50); GUI max stall during re-render "
              f"{1000 * max(stalls):.0f} ms (target 50; idle GUI under the same load "
              f"{1000 * max(swaps['GUI stall idle (reference)']):.0f} ms); "
              f"open → first choreography cold {statistics.median(ratios):.2f}× analyze + "
              f"decode (median of {len(ratios)}, max {max(ratios):.2f}×; target 1.2×); stall "
              f"after a cached open {1000 * max(cached_stall, after_cached):.0f} ms")
    print(f"scorer: {window.engine.scorer_name}; machine: {os.cpu_count()} cores (shared)")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
