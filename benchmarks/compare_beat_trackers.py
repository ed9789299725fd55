"""Compare beat trackers on signals with known beats: F-measure (mir_eval, ±70 ms) and tempo.

Trackers: librosa's dynamic-programming tracker (the floor), librosa's predominant local pulse
(PLP) peaks, Choreo Studio's own tracker, and madmom's DBN tracker when madmom is importable.
Signals: click and drum tracks at 90/120/128/174 BPM in 3/4 and 4/4, and demo songs in six
styles (synthesized here, so the ground truth is exact).

    python benchmarks/compare_beat_trackers.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from choreo_studio.core.audio.spectral import compute_spectra  # noqa: E402
from choreo_studio.resources.demo_song import DemoSongSpec, render_demo_song  # noqa: E402

from tests.audio_fixtures import SR, click_track, drum_track  # noqa: E402

DEMO_SPECS = [
    DemoSongSpec(),
    DemoSongSpec(tempo_bpm=90, style="hiphop", seed=1),
    DemoSongSpec(tempo_bpm=174, style="dnb", seed=2),
    DemoSongSpec(tempo_bpm=100, beats_per_bar=3, style="waltz", seed=3),
    DemoSongSpec(tempo_bpm=128, style="edm", seed=4),
    DemoSongSpec(tempo_bpm=140, style="rock", seed=5),
    DemoSongSpec(tempo_bpm=75, style="pop", seed=6),
    DemoSongSpec(tempo_bpm=160, beats_per_bar=3, style="rock", seed=7),
]


def signals() -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    """(group, name, mono samples at SR, true beat times)."""
    out = []
    for tempo in (90, 120, 128, 174):
        for meter in (3, 4):
            for group, maker in (("click", click_track), ("drum", drum_track)):
                y, beats, _ = maker(tempo, meter, n_bars=16)
                out.append((group, f"{group} {tempo} {meter}/4", y, beats))
    for spec in DEMO_SPECS:
        song = render_demo_song(spec)
        out.append(("demo", song.name, song.samples.mean(axis=1), song.beats_s))
    return out


def librosa_dp(y: np.ndarray) -> np.ndarray:
    import librosa

    return librosa.beat.beat_track(y=y, sr=SR, units="time")[1]


def librosa_plp(y: np.ndarray) -> np.ndarray:
    import librosa

    pulse = librosa.beat.plp(y=y, sr=SR)
    peaks = np.flatnonzero(librosa.util.localmax(pulse))
    return librosa.frames_to_time(peaks, sr=SR)


def choreo_dp(y: np.ndarray) -> np.ndarray:
    from choreo_studio.core.analysis import beat_tracking

    return beat_tracking.track(compute_spectra(y))[1]


def madmom_dbn(y: np.ndarray) -> np.ndarray:
    import soxr
    from madmom.features.beats import DBNBeatTrackingProcessor, RNNBeatProcessor

    y44 = soxr.resample(y, SR, 44100).astype(np.float32)  # its networks expect 44.1 kHz
    activation = RNNBeatProcessor()(y44, sample_rate=44100)
    return DBNBeatTrackingProcessor(fps=100)(activation)


def trackers() -> dict[str, object]:
    found = {"librosa-dp": librosa_dp, "librosa-plp": librosa_plp, "choreo-dp-1": choreo_dp}
    try:
        import madmom  # noqa: F401

        found["madmom-dbn"] = madmom_dbn
    except ImportError:
        print("madmom is not importable here: skipped")
    return found


def main() -> None:
    import argparse

    import mir_eval

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="tracker names to run (default: all)")
    only = parser.parse_args().only
    data = signals()
    results: dict[str, dict[str, list[float]]] = {}
    for name, track in trackers().items():
        if only and name not in only:
            continue
        start = time.perf_counter()
        for group, _, y, ref in data:
            est = np.asarray(track(y), dtype=np.float64)
            f = mir_eval.beat.f_measure(ref, est, f_measure_threshold=0.07) if est.size else 0.0
            tempo_ok = 0.0
            if est.size > 2:
                tempo_ok = float(abs(np.median(np.diff(est)) / np.median(np.diff(ref)) - 1) < 0.02)
            results.setdefault(name, {}).setdefault(group, []).append(f)
            results[name].setdefault(group + " tempo", []).append(tempo_ok)
        results[name]["seconds"] = [time.perf_counter() - start]
    groups = ("click", "drum", "demo")
    print(f"{'tracker':14s} " + " ".join(f"{'F ' + g:>8s}" for g in groups)
          + " " + " ".join(f"{'tempo ' + g:>11s}" for g in groups) + "   seconds")
    for name, res in results.items():
        fs = " ".join(f"{np.mean(res[g]):8.3f}" for g in groups)
        ts = " ".join(f"{np.mean(res[g + ' tempo']):11.2f}" for g in groups)
        print(f"{name:14s} {fs} {ts}   {res['seconds'][0]:7.2f}")


if __name__ == "__main__":
    main()
