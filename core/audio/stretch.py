"""Pitch-preserving time stretch (a phase vocoder in numpy) for slowed-down playback.

The editor plays a song at 0.5–1× speed for practice; the samples are stretched once, off
the GUI thread, with the classic phase vocoder (magnitudes interpolated between analysis
frames, phases advanced by each bin's measured frequency). It runs in chunks of output frames
with the phase and overlap-add carried across them, so memory stays bounded on a 4-minute song,
progress is reported, and the result equals one pass over the whole signal.
"""

from __future__ import annotations

import numpy as np
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.progress import ProgressFn, no_progress
from scipy import fft as sp_fft

N_FFT = 2048
HOP = N_FFT // 4
CHUNK_FRAMES = 512
MIN_SPEED, MAX_SPEED = 0.25, 4.0
_WINDOW = np.hanning(N_FFT + 1)[:-1].astype(np.float32)  # periodic Hann
_OLA_GAIN = float(np.sum(_WINDOW**2) / HOP)  # sum of squared windows at hop N/4 (= 1.5)


def time_stretch(
    samples: np.ndarray, speed: float, progress: ProgressFn = no_progress
) -> np.ndarray:
    """``samples`` ``[N]`` or ``[N, C]`` played at ``speed`` (0.5 = half as fast) with the pitch
    kept: ``round(N / speed)`` frames, float32, the same channels."""
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise ChoreoError(f"playback speed {speed:g}× is outside {MIN_SPEED:g}–{MAX_SPEED:g}×; "
                          "choose a speed in that range")
    x = np.asarray(samples, dtype=np.float32)
    mono = x.ndim == 1
    x = x[:, None] if mono else x
    if speed == 1.0:
        return (x[:, 0] if mono else x).copy()
    out = np.stack([_stretch_channel(x[:, c], speed, progress, c, x.shape[1])
                    for c in range(x.shape[1])], axis=1)
    return out[:, 0] if mono else out


def _stretch_channel(
    x: np.ndarray, speed: float, progress: ProgressFn, channel: int, n_channels: int
) -> np.ndarray:
    """One channel through the phase vocoder (see :func:`time_stretch`)."""
    n_out = int(round(len(x) / speed))
    n_steps = n_out // HOP + 2
    steps = np.arange(n_steps) * speed  # analysis position (in input frames) of each output frame
    last_frame = int(steps[-1]) + 2
    pad = N_FFT // 2
    padded = np.zeros(last_frame * HOP + N_FFT, dtype=np.float32)
    padded[pad:pad + len(x)] = x[: max(0, len(padded) - pad)]
    omega = 2 * np.pi * HOP * np.arange(N_FFT // 2 + 1) / N_FFT
    y = np.zeros(n_steps * HOP + N_FFT, dtype=np.float64)
    phase = None
    for k0 in range(0, n_steps, CHUNK_FRAMES):
        k = np.arange(k0, min(k0 + CHUNK_FRAMES, n_steps))
        t = np.floor(steps[k]).astype(np.int64)
        frac = (steps[k] - t)[:, None].astype(np.float32)
        first = int(t[0])
        spec = _frames_spectrum(padded, first, int(t[-1]) + 2)
        mags, angles = np.abs(spec), np.angle(spec)
        i, j = t - first, t + 1 - first
        mag = (1.0 - frac) * mags[i] + frac * mags[j]
        advance = angles[j].astype(np.float64) - angles[i] - omega  # float64: phases add up
        advance -= (2 * np.pi) * np.round(advance / (2 * np.pi))
        advance += omega
        start = angles[i[0]] if phase is None else phase
        phases = np.cumsum(advance, axis=0)
        phases -= advance
        phases += start
        phase = np.mod(phases[-1] + advance[-1], 2 * np.pi)  # small, so exact to carry
        spectrum = mag * np.cos(phases) + 1j * (mag * np.sin(phases))
        frames = sp_fft.irfft(spectrum, n=N_FFT, axis=1) * _WINDOW
        quarters = frames.reshape(len(k), N_FFT // HOP, HOP)
        for q in range(N_FFT // HOP):  # frame k's quarter q lands at (k + q) * HOP: one add
            y[(k0 + q) * HOP : (k0 + q + len(k)) * HOP] += quarters[:, q].reshape(-1)
        progress((channel + (k[-1] + 1) / n_steps) / n_channels, f"stretching to {speed:g}×")
    return (y[pad : pad + n_out] / _OLA_GAIN).astype(np.float32)


def _frames_spectrum(padded: np.ndarray, first: int, stop: int) -> np.ndarray:
    """Spectra ``[stop - first, bins]`` of the windowed analysis frames ``first .. stop-1``."""
    idx = (np.arange(first, stop) * HOP)[:, None] + np.arange(N_FFT)
    return sp_fft.rfft(padded[idx] * _WINDOW, axis=1)
