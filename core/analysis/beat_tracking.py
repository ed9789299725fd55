"""Tempo and beat tracking on the onset envelope (Ellis-style dynamic programming).

librosa's DP tracker is the floor; this one keeps its idea but (1) estimates the tempo with
sub-frame resolution from the autocorrelation of a kick/snare-weighted onset envelope, with an
octave check that picks the faster of two related tempi when the faster pulse is really played,
(2) runs the DP with a fractional beat period, and (3) refines each beat to the nearby onset
peak with parabolic interpolation. Tempo is then the slope of beat times over beat index.
"""

from __future__ import annotations

import numpy as np
from choreo_studio.core.audio.spectral import Spectra

TRACKER_NAME = "choreo-dp-1"
MIN_BPM = 55.0
MAX_BPM = 215.0
PRIOR_BPM = 120.0
PRIOR_OCTAVES = 1.0  # width (std, octaves) of the log-normal tempo prior
FAST_TEMPO_RATIO = 0.92  # the double tempo wins when its pulse is about as strong as the slow one
ONSET_LATENCY_S = 0.02  # flux peaks lead the sound's attack by about this much (calibrated)
TRIM_RATIO = 0.1  # leading/trailing beats weaker than this share of the median beat are dropped
TIGHTNESS = 120.0


def beat_envelope(spectra: Spectra) -> np.ndarray:
    """Onset envelope for beat tracking: all bands plus the (kick/snare) low bands, unit-scaled."""
    full = _unit(spectra.onset_env)
    low = _unit(spectra.onset_env_low)
    return (0.5 * full + low).astype(np.float64)


def track(spectra: Spectra, tempo_bpm: float | None = None) -> tuple[float, np.ndarray]:
    """(tempo in BPM, beat times in s). ``tempo_bpm`` forces the tempo (a user correction)."""
    env = beat_envelope(spectra)
    fps = spectra.fps
    if env.size < 4 or not np.any(env > 0):
        return 0.0, np.zeros(0)
    period = fps * 60.0 / (tempo_bpm or estimate_tempo(env, fps))
    frames = dp_beats(env, period, TIGHTNESS if tempo_bpm is None else 4 * TIGHTNESS)
    frames = _trim(env, frames)
    beats_s = _refine(env, frames) / fps + ONSET_LATENCY_S
    if beats_s.size < 2:
        return 60.0 * fps / period, beats_s
    slope = np.polyfit(np.arange(beats_s.size), beats_s, 1)[0]
    return float(60.0 / slope), beats_s


def autocorrelation(env: np.ndarray) -> np.ndarray:
    """Unbiased-ish autocorrelation of a mean-removed envelope, normalised to 1 at lag 0."""
    x = env - env.mean()
    n = x.size
    spec = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(spec * np.conj(spec))[:n]
    acf /= np.maximum(n - np.arange(n), n // 4)
    return acf / max(acf[0], 1e-12)


def estimate_tempo(env: np.ndarray, fps: float) -> float:
    """Most likely tempo (BPM, fractional) from the envelope's autocorrelation peaks."""
    acf = autocorrelation(env)
    lo = int(np.floor(fps * 60.0 / MAX_BPM))
    hi = min(int(np.ceil(fps * 60.0 / MIN_BPM)) + 1, acf.size - 2)
    if hi <= lo + 2:
        return PRIOR_BPM
    lags = np.arange(max(lo, 1), hi)
    peaks = lags[(acf[lags] > acf[lags - 1]) & (acf[lags] >= acf[lags + 1]) & (acf[lags] > 0)]
    if peaks.size == 0:
        return PRIOR_BPM
    fine = np.array([_parabolic(acf, p) for p in peaks])
    bpm = 60.0 * fps / fine
    strength = np.array([_comb(acf, lag) for lag in fine])
    prior = np.exp(-0.5 * (np.log2(bpm / PRIOR_BPM) / PRIOR_OCTAVES) ** 2)
    best = int(np.argmax(strength * prior))
    # Octave check: is the double tempo (half the lag) actually played?
    half = fine[best] / 2.0
    if 60.0 * fps / half <= MAX_BPM and half >= 2:
        if _comb(acf, half) >= FAST_TEMPO_RATIO * strength[best] and _peak_near(acf, half):
            return float(60.0 * fps / _parabolic(acf, int(round(half))))
    return float(bpm[best])


def dp_beats(env: np.ndarray, period: float, tightness: float) -> np.ndarray:
    """Beat frames maximising onset strength with inter-beat gaps near ``period`` (fractional)."""
    sigma = max(period / 32.0, 0.5)
    k = np.arange(-int(4 * sigma), int(4 * sigma) + 1)
    local = np.convolve(env / (env.std() + 1e-12), np.exp(-0.5 * (k / sigma) ** 2), "same")
    n = local.size
    cum = local.copy()
    back = np.full(n, -1, dtype=np.int64)
    lags = np.arange(int(round(period / 2)), int(2 * period) + 1)
    penalty = tightness * np.log(lags / period) ** 2
    started = local > 0.01 * local.max()
    first = int(np.argmax(started))
    for i in range(first + lags[0], n):
        prev = i - lags
        ok = prev >= first
        if not ok.any():
            continue
        cand = cum[prev[ok]] - penalty[ok]
        j = int(np.argmax(cand))
        cum[i] = local[i] + cand[j]
        back[i] = prev[ok][j]
    tail = _last_beat(cum, local)
    beats = [tail]
    while back[beats[-1]] >= 0:
        beats.append(int(back[beats[-1]]))
    return np.array(beats[::-1], dtype=np.int64)


def _last_beat(cum: np.ndarray, local: np.ndarray) -> int:
    """The last local maximum of the cumulative score that is above half its median."""
    maxima = np.flatnonzero((cum[1:-1] > cum[:-2]) & (cum[1:-1] >= cum[2:])) + 1
    if maxima.size == 0:
        return int(np.argmax(cum))
    good = maxima[cum[maxima] >= 0.5 * np.median(cum[maxima])]
    return int(good[-1]) if good.size else int(maxima[-1])


def _trim(env: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Drop leading and trailing beats with (almost) no onset: silence before or after the song."""
    if frames.size < 3:
        return frames
    strength = np.array([env[max(f - 1, 0) : f + 2].max() for f in frames])
    strong = np.flatnonzero(strength >= TRIM_RATIO * np.median(strength))
    return frames[strong[0] : strong[-1] + 1] if strong.size else frames


def _refine(env: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Move each beat to the strongest onset within ±1 frame, with sub-frame interpolation."""
    out = frames.astype(np.float64)
    for n, f in enumerate(frames):
        lo, hi = max(f - 1, 1), min(f + 1, env.size - 2)
        if hi < lo:
            continue
        peak = lo + int(np.argmax(env[lo : hi + 1]))
        out[n] = _parabolic(env, peak) if env[peak] > 0 else float(f)
    return out


def _parabolic(x: np.ndarray, i: int) -> float:
    """Sub-sample position of the peak of ``x`` at integer ``i`` (three-point parabola)."""
    i = int(i)
    if i <= 0 or i >= x.size - 1:
        return float(i)
    a, b, c = x[i - 1], x[i], x[i + 1]
    denom = a - 2 * b + c
    if denom >= -1e-12:  # not a strict local maximum: keep the integer position
        return float(i)
    return float(i + np.clip(0.5 * (a - c) / denom, -0.5, 0.5))


def _interp(x: np.ndarray, pos: float) -> float:
    if pos >= x.size - 1:
        return 0.0
    i = int(pos)
    return float(x[i] + (pos - i) * (x[i + 1] - x[i]))


def pulse_strength(acf: np.ndarray, lag: float) -> float:
    """Autocorrelation of the beat envelope at ``lag`` frames: how steady the pulse is."""
    return max(_interp(acf, lag), 0.0)


def _comb(acf: np.ndarray, lag: float) -> float:
    """Pulse strength at ``lag``: autocorrelation at the lag and its first multiples."""
    return sum(w * max(_interp(acf, m * lag), 0.0) for m, w in ((1, 1.0), (2, 0.5), (4, 0.25)))


def _peak_near(acf: np.ndarray, lag: float) -> bool:
    """True when the autocorrelation has a local peak within a frame of ``lag``."""
    i = int(round(lag))
    window = acf[max(i - 1, 1) : i + 2]
    return bool(window.size and window.max() > 0 and np.argmax(window) not in (-1,))


def _unit(x: np.ndarray) -> np.ndarray:
    scale = float(np.percentile(x, 99)) if x.size else 0.0
    return x / scale if scale > 0 else x
