"""Downbeats and meter (3/4 or 4/4) from beat-synchronous accents and harmonic change.

Each beat gets four cues: onset strength (all bands and low bands — the kick), the change of
harmony (chroma) and of the bass spectrum across it. Bars start where these cues peak every
``m`` beats; the meter is the ``m`` whose best phase stands out most, with a slight preference
for 4/4, and the phase of that ``m`` gives the downbeats.
"""

from __future__ import annotations

import numpy as np
from choreo_studio.core.audio.spectral import Spectra

METERS = (4, 3)
FOUR_FOUR_BONUS = 0.15
BASS_MEL_BANDS = 16  # mel bands below ≈ 400 Hz: kick drum and bass notes
# onset, bass onset, chroma change, bass change, loudness
_CUE_WEIGHTS = np.array([0.8, 0.8, 1.0, 0.6, 0.6])
_MIN_CUE_RANGE = (1e-3, 0.5, 1e-3, 1e-3, 0.5)  # a cue that varies less than this is ignored


def beat_cues(spectra: Spectra, beats_s: np.ndarray) -> np.ndarray:
    """[beats, 5] cues: onset, bass onset, chroma change, bass change and loudness per beat."""
    fps = spectra.fps
    frames = np.clip(np.round(beats_s * fps).astype(np.int64), 0, spectra.n_frames - 1)
    onset = _peak_at(spectra.onset_env, frames)
    bass = spectra.logmel_db[:BASS_MEL_BANDS] + 80.0
    bass_flux = np.maximum(0.0, np.diff(bass, axis=1, prepend=bass[:, :1])).mean(axis=0)
    onset_low = _peak_at(bass_flux, frames)
    chroma = spectra.chroma
    power_db = 10.0 * np.log10(np.sum(10.0 ** (spectra.logmel_db / 10.0), axis=0) + 1e-10)
    loudness = _peak_at(power_db, frames)
    cues = [onset, onset_low, _change(chroma, frames), _change(bass, frames), loudness]
    return np.stack(cues, axis=1).astype(np.float64)


def meter_and_downbeats(
    cues: np.ndarray, beats_per_bar: int | None = None
) -> tuple[int, np.ndarray]:
    """(beats per bar, downbeat indices). ``beats_per_bar`` forces the meter (user correction)."""
    n = cues.shape[0]
    meters = (beats_per_bar,) if beats_per_bar else METERS
    if n == 0:
        return meters[0], np.zeros(0, dtype=np.int64)
    spread = cues.max(axis=0) - cues.min(axis=0)
    usable = spread >= np.asarray(_MIN_CUE_RANGE)
    z = np.where(usable, (cues - cues.mean(axis=0)) / (cues.std(axis=0) + 1e-9), 0.0)
    best = (-np.inf, meters[0], 0)
    for m in meters:
        for phase in range(m):
            on = np.zeros(n, dtype=bool)
            on[phase::m] = True
            if on.all() or not on.any():
                score = 0.0
            else:
                score = float(_CUE_WEIGHTS @ (z[on].mean(axis=0) - z[~on].mean(axis=0)))
            score += FOUR_FOUR_BONUS if m == 4 else 0.0
            if score > best[0]:
                best = (score, m, phase)
    _, m, phase = best
    return m, np.arange(phase, n, m, dtype=np.int64)


def downbeats_from(first_downbeat: int, beats_per_bar: int, n_beats: int) -> np.ndarray:
    """Downbeat indices every ``beats_per_bar`` beats through ``first_downbeat`` (both ways)."""
    phase = first_downbeat % beats_per_bar
    return np.arange(phase, n_beats, beats_per_bar, dtype=np.int64)


def _peak_at(env: np.ndarray, frames: np.ndarray) -> np.ndarray:
    return np.array([env[max(f - 1, 0) : f + 2].max() for f in frames])


def _change(features: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Cosine distance between the feature mean over the beat before and the beat after."""
    edges = np.concatenate([frames, [features.shape[1]]])
    means = np.stack(
        [features[:, a : max(b, a + 1)].mean(axis=1) for a, b in zip(edges[:-1], edges[1:],
                                                                      strict=True)],
        axis=1,
    )
    norm = means / (np.linalg.norm(means, axis=0, keepdims=True) + 1e-9)
    sim = np.sum(norm[:, 1:] * norm[:, :-1], axis=0)
    return np.concatenate([[0.0], 1.0 - sim])
