"""Power STFT, mel filterbank and dB scale in numpy: librosa's numbers without importing librosa.

``import librosa`` on first use costs seconds (librosa.core pulls scipy.signal and scipy.stats),
most of what a cold `choreo analyze` waited for. These follow librosa's formulas (``stft`` with a
periodic Hann window, centred zero-padded frames; ``filters.mel`` with Slaney's mel scale and
area norm; ``power_to_db``) and are tested against it.
"""

from __future__ import annotations

import numpy as np

_BLOCK_FRAMES = 512
"""Frames transformed at once (bounds the float64 temporaries to ~10 MB on a 60-minute song)."""


def hann_window(n_fft: int) -> np.ndarray:
    """Periodic Hann window of ``n_fft`` points (float64), as scipy's ``get_window('hann')``."""
    fac = np.linspace(-np.pi, np.pi, n_fft + 1)[:-1]
    return 0.5 + 0.5 * np.cos(fac)


def stft_power(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """|STFT|² float32 [1 + n_fft/2, frames] of mono ``y``: frame ``k`` is centred on sample
    ``k·hop`` (the signal zero-padded by n_fft/2 at both ends), periodic Hann window."""
    window = hann_window(n_fft)
    padded = np.pad(np.asarray(y, dtype=np.float32), n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    power = np.empty((1 + n_fft // 2, frames.shape[0]), dtype=np.float32)
    for start in range(0, frames.shape[0], _BLOCK_FRAMES):
        block = frames[start : start + _BLOCK_FRAMES]
        spectrum = np.fft.rfft(block * window, axis=-1).astype(np.complex64)
        power[:, start : start + block.shape[0]] = (spectrum.real**2 + spectrum.imag**2).T
    return power


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / (200.0 / 3)
    log_step = np.log(6.4) / 27.0
    above = hz >= 1000.0
    return np.where(above, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / log_step, mel)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_hz_to_mel`."""
    hz = (200.0 / 3) * mel
    log_step = np.log(6.4) / 27.0
    return np.where(mel >= 15.0, 1000.0 * np.exp(log_step * (mel - 15.0)), hz)


def mel_filterbank(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """float32 [n_mels, 1 + n_fft/2] triangular mel filters from 0 Hz to sr/2, each scaled to
    unit area (Slaney), as ``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)``."""
    fft_hz = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2.0), n_mels + 2))
    spacing = np.diff(mel_hz)
    ramps = np.subtract.outer(mel_hz, fft_hz)
    weights = np.zeros((n_mels, fft_hz.size), dtype=np.float32)
    for i in range(n_mels):
        rising = -ramps[i] / spacing[i]
        falling = ramps[i + 2] / spacing[i + 1]
        weights[i] = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (mel_hz[2 : n_mels + 2] - mel_hz[:n_mels]))[:, None]
    return weights


def power_to_db(power: np.ndarray, ref: float, top_db: float = 80.0) -> np.ndarray:
    """10·log10(power / ref), floored at 1e-10 and at ``top_db`` below the peak."""
    amin = 1e-10
    db = 10.0 * np.log10(np.maximum(amin, power))
    db -= 10.0 * np.log10(np.maximum(amin, np.abs(ref)))
    return np.maximum(db, db.max() - top_db)
