"""Compare main-melody extractors on demo songs with known lead notes (mir_eval.melody).

Scores ``core.analysis.melody`` (harmonic salience) and, when importable, the offline deep pitch
trackers whose weights ship in their wheels: swift-f0 (ONNX), torchcrepe (its package imports
torchaudio) and basic-pitch (run on its bundled ONNX model). Install candidates outside the
project (``pip install --target DIR``, then ``PYTHONPATH=DIR``). Prints per-song and mean raw
pitch / chroma accuracy, voicing recall / false alarm, overall accuracy and seconds per minute
of audio. The numbers behind the choice are in the ``choreo_studio.core.analysis.melody`` docstring.

    python benchmarks/compare_melody_extractors.py [salience swift crepe-tiny basic-pitch]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from choreo_studio.core.analysis import melody  # noqa: E402
from choreo_studio.core.audio.load import ANALYSIS_SR  # noqa: E402
from choreo_studio.core.audio.spectral import compute_spectra  # noqa: E402
from choreo_studio.resources.demo_song import DemoSongSpec, render_demo_song  # noqa: E402

SPECS = (
    DemoSongSpec(style="pop", seed=0),
    DemoSongSpec(style="edm", tempo_bpm=128, seed=1),
    DemoSongSpec(style="hiphop", tempo_bpm=90, seed=2),
    DemoSongSpec(style="rock", tempo_bpm=140, seed=3, energy=0.9),
    DemoSongSpec(style="waltz", beats_per_bar=3, tempo_bpm=150, seed=4),
)
FMIN_HZ, FMAX_HZ = 130.0, 1400.0
Track = tuple[np.ndarray, np.ndarray, np.ndarray]  # times_s, f0_hz, voiced


def _lead_16k(y: np.ndarray) -> np.ndarray:
    """16 kHz copy with a 180 Hz high-pass (drops kick and bass fundamentals)."""
    import soxr
    from scipy.signal import butter, sosfiltfilt

    y16 = soxr.resample(y, ANALYSIS_SR, 16000, quality="HQ")
    sos = butter(4, 180.0, btype="highpass", fs=16000, output="sos")
    return sosfiltfilt(sos, y16).astype(np.float32)


def salience(y: np.ndarray) -> Track:
    spectra = compute_spectra(y)
    f0, voiced = melody.extract_melody(spectra)
    return np.arange(f0.size) / spectra.fps, f0, voiced


def swift(y: np.ndarray) -> Track:
    from swift_f0 import SwiftF0

    result = SwiftF0(threads=2).detect(_lead_16k(y), 16000, fmin=FMIN_HZ, fmax=FMAX_HZ)
    return result.timestamps, result.pitch_hz, result.confidence >= 0.5


def crepe_tiny(y: np.ndarray) -> Track:
    import torch
    import torchcrepe
    from scipy.ndimage import median_filter

    hop = 320  # 20 ms at 16 kHz
    with torch.inference_mode():
        f0, periodicity = torchcrepe.predict(
            torch.from_numpy(_lead_16k(y))[None], 16000, hop, FMIN_HZ, FMAX_HZ, model="tiny",
            decoder=torchcrepe.decode.weighted_argmax, return_periodicity=True,
            batch_size=512, device="cpu",
        )
    f0 = median_filter(f0[0].numpy(), 3)
    voiced = median_filter(periodicity[0].numpy(), 3) >= 0.5
    return np.arange(f0.size) * hop / 16000, f0, voiced


def basic_pitch(y: np.ndarray) -> Track:
    """Basic Pitch's pitch contour: the strongest bin in the lead range per frame."""
    import soundfile as sf
    from basic_pitch import ICASSP_2022_MODEL_PATH, inference
    from basic_pitch.constants import (
        ANNOTATIONS_BASE_FREQUENCY,
        AUDIO_SAMPLE_RATE,
        CONTOURS_BINS_PER_SEMITONE,
        FFT_HOP,
    )

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "song.wav")
        sf.write(path, y, ANALYSIS_SR)
        contour = inference.run_inference(path, inference.Model(ICASSP_2022_MODEL_PATH))["contour"]
    bins = np.arange(contour.shape[1]) / (12 * CONTOURS_BINS_PER_SEMITONE)
    freqs = ANNOTATIONS_BASE_FREQUENCY * 2.0**bins
    band = (freqs >= FMIN_HZ) & (freqs <= FMAX_HZ)
    sub = contour[:, band]
    times = np.arange(sub.shape[0]) * FFT_HOP / AUDIO_SAMPLE_RATE
    return times, freqs[band][sub.argmax(axis=1)], sub.max(axis=1) >= 0.5


EXTRACTORS = {"salience": salience, "swift": swift, "crepe-tiny": crepe_tiny,
              "basic-pitch": basic_pitch}


def score(song, track: Track) -> dict[str, float]:
    """mir_eval melody scores against the song's lead notes on a 10 ms grid."""
    import mir_eval

    ref_t = np.arange(0.0, song.duration_s, 0.01)
    midi = song.lead_midi_at(ref_t)
    ref_f = np.where(midi > 0, 440.0 * 2.0 ** ((midi - 69) / 12), 0.0)
    times, f0, voiced = track
    est_f = np.where(voiced, f0, -np.abs(f0))  # negative: a pitch guess on an unvoiced frame
    s = mir_eval.melody.evaluate(ref_t, ref_f, np.asarray(times, float), est_f.astype(float))
    keys = {"RPA": "Raw Pitch Accuracy", "RCA": "Raw Chroma Accuracy", "VR": "Voicing Recall",
            "VFA": "Voicing False Alarm", "OA": "Overall Accuracy"}
    return {short: float(s[key]) for short, key in keys.items()}


def main() -> int:
    names = sys.argv[1:] or list(EXTRACTORS)
    songs = [render_demo_song(spec) for spec in SPECS]
    total_s = sum(song.duration_s for song in songs)
    for name in names:
        rows, seconds = [], 0.0
        try:
            for song in songs:
                y = song.audio().mono()
                start = time.perf_counter()
                track = EXTRACTORS[name](y)
                seconds += time.perf_counter() - start
                rows.append(score(song, track))
        except ImportError as exc:
            print(f"{name:12s} not installed ({exc})")
            continue
        mean = {k: np.mean([r[k] for r in rows]) for k in rows[0]}
        cells = "  ".join(f"{k} {v:.3f}" for k, v in mean.items())
        print(f"{name:12s} {cells}  s/min {seconds / total_s * 60:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
