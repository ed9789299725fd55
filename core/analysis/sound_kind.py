"""Is it music? The cues that keep speech and noise out while every piece of music gets a grid.

A weak pulse alone does not make a sound unusable: rubato orchestral pieces and free-time pads
have one too, and get their best grid with a low confidence. What speech and noise lack is
steady pitch: music holds notes (its melody stays within half a semitone over a tenth of a
second), speech glides from syllable to syllable, and noise has no pitch but a flat spectrum.
"""

from __future__ import annotations

import numpy as np
from choreo_studio.core.audio.spectral import Spectra

HOLD_S = 0.1  # a note holds its pitch at least this long ...
HOLD_SEMITONES = 0.5  # ... within this much
MIN_STEADINESS = 0.32  # share of voiced frames holding: speech 0.1-0.19, music 0.52-0.9
MAX_FLATNESS = 0.1  # spectral flatness of sounding frames: music 0.001-0.03, noise 0.2-0.6
_BLOCK_FRAMES = 4096  # frames of the log-mel turned into power at a time


def is_music_like(spectra: Spectra, f0_hz: np.ndarray, voiced: np.ndarray, fps: float) -> bool:
    """Whether the sound holds pitched notes (``f0_hz``/``voiced`` at ``fps``) and is not
    noise: the test the analysis applies before refusing a sound with a weak pulse."""
    return (pitch_steadiness(f0_hz, voiced, fps) >= MIN_STEADINESS
            and spectral_flatness(spectra) <= MAX_FLATNESS)


def pitch_steadiness(f0_hz: np.ndarray, voiced: np.ndarray, fps: float) -> float:
    """Share of voiced frames whose pitch is within ``HOLD_SEMITONES`` ``HOLD_S`` later."""
    lag = max(int(round(HOLD_S * fps)), 1)
    if f0_hz.size <= lag:
        return 0.0
    semitones = 12.0 * np.log2(np.maximum(f0_hz.astype(np.float64), 1.0))
    both = voiced[lag:] & voiced[:-lag]
    if not both.any():
        return 0.0
    held = np.abs(semitones[lag:] - semitones[:-lag]) < HOLD_SEMITONES
    return float(np.mean(held[both]))


def spectral_flatness(spectra: Spectra) -> float:
    """Median Wiener entropy (geometric over arithmetic mean power) of the log-mel frames that
    sound (``activations.sounding_frames``): near 0 for tones and voices, towards 1 for white
    noise."""
    from choreo_studio.core.analysis.activations import frame_level_db, sounding_frames

    logmel = spectra.logmel_db
    if logmel.shape[1] == 0:
        return 1.0
    flatness = np.empty(logmel.shape[1])
    for a in range(0, logmel.shape[1], _BLOCK_FRAMES):  # an hour's float64 power is 160 MB
        block = logmel[:, a : a + _BLOCK_FRAMES].astype(np.float64)
        power = 10.0 ** (block / 10.0) + 1e-10
        flatness[a : a + block.shape[1]] = (np.exp(np.mean(block, axis=0) * np.log(10) / 10)
                                            / np.mean(power, axis=0))
    sounding = sounding_frames(frame_level_db(logmel), spectra.fps)
    return float(np.median(flatness[sounding]))
