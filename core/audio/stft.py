"""Power STFT, mel and chroma filterbanks and dB scale in numpy: librosa's numbers without librosa.

``import librosa`` on first use costs seconds (librosa.core pulls scipy.signal and scipy.stats),
most of what a cold `choreo analyze` waited for. These follow librosa's formulas (``stft`` with a
periodic Hann window, centred zero-padded frames; ``filters.mel`` with Slaney's mel scale and
area norm; ``power_to_db``; ``filters.chroma`` and ``chroma_stft`` at A440) and are tested
against it.
"""

from __future__ import annotations

import numpy as np

_BLOCK_FRAMES = 512
"""Frames transformed at once (bounds the float64 temporaries to ~10 MB on a 60-minute song);
each block zero-pads only its own span, so no padded copy of the whole signal is made."""


def hann_window(n_fft: int) -> np.ndarray:
    """Periodic Hann window of ``n_fft`` points (float64), as scipy's ``get_window('hann')``."""
    fac = np.linspace(-np.pi, np.pi, n_fft + 1)[:-1]
    return 0.5 + 0.5 * np.cos(fac)


def stft_power(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """|STFT|² float32 [1 + n_fft/2, frames] of mono ``y``: frame ``k`` is centred on sample
    ``k·hop`` (the signal zero-padded by n_fft/2 at both ends), periodic Hann window."""
    window = hann_window(n_fft)
    y = np.asarray(y, dtype=np.float32)
    half, n_frames = n_fft // 2, 1 + y.size // hop
    power = np.empty((1 + n_fft // 2, n_frames), dtype=np.float32)
    for start in range(0, n_frames, _BLOCK_FRAMES):
        stop = min(start + _BLOCK_FRAMES, n_frames)
        lo, hi = start * hop - half, (stop - 1) * hop - half + n_fft  # samples the block spans
        span = np.pad(y[max(lo, 0) : min(hi, y.size)], (max(-lo, 0), max(hi - y.size, 0)))
        block = np.lib.stride_tricks.sliding_window_view(span, n_fft)[::hop]
        spectrum = np.fft.rfft(block * window, axis=-1).astype(np.complex64)
        power[:, start:stop] = (spectrum.real**2 + spectrum.imag**2).T
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


def chroma_filterbank(sr: int, n_fft: int, n_chroma: int = 12) -> np.ndarray:
    """float32 [n_chroma, 1 + n_fft/2] pitch-class filters (A440, first row C; Gaussian bumps,
    weighted towards the octaves around C5), as ``librosa.filters.chroma(tuning=0)``."""
    hz = np.linspace(0, sr, n_fft, endpoint=False)[1:]
    bins = n_chroma * np.log2(hz / (440.0 / 16))
    bins = np.concatenate(([bins[0] - 1.5 * n_chroma], bins))
    widths = np.concatenate((np.maximum(bins[1:] - bins[:-1], 1.0), [1]))
    half = np.round(float(n_chroma) / 2)
    dist = np.subtract.outer(bins, np.arange(0, n_chroma, dtype=np.float64)).T
    dist = np.remainder(dist + half + 10 * n_chroma, n_chroma) - half
    weights = np.exp(-0.5 * (2 * dist / widths[None, :]) ** 2)
    weights = weights / _lengths(np.sqrt(np.sum(weights**2, axis=0, keepdims=True)), weights)
    weights *= np.exp(-0.5 * (((bins / n_chroma - 5.0) / 2.0) ** 2))[None, :]
    weights = np.roll(weights, -3 * (n_chroma // 12), axis=0)
    return np.ascontiguousarray(weights[:, : int(1 + n_fft / 2)], dtype=np.float32)


def chroma_from_power(power: np.ndarray, sr: int, n_fft: int) -> np.ndarray:
    """float32 [12, frames] chroma of a power spectrogram, each frame scaled to a peak of 1, as
    ``librosa.feature.chroma_stft(S=power, tuning=0)``."""
    raw = chroma_filterbank(sr, n_fft) @ power
    peak = np.max(np.abs(raw).astype(np.float64), axis=0, keepdims=True)
    out = np.empty_like(raw)
    out[:] = raw / _lengths(peak, raw)
    return out


def _lengths(length: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``length`` with entries below the dtype's smallest normal number set to 1 (no 0/0)."""
    length = np.array(length, dtype=np.float64)
    length[length < np.finfo(values.dtype).tiny] = 1.0
    return length
