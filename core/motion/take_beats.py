"""Counts of a take without music: a beat list from the motion itself, with a tempo that may
drift, and the active span of the take (idle start and end left out).

The beat evidence is the motion's "hits": Lee et al.'s offset strength plus a bump at every
velocity minimum (:mod:`kinematic_beats`). The tempo is the autocorrelation peak of that
envelope in 70-160 BPM (a log-normal prior around 110 BPM); the beats are the dynamic-
programming path of Ellis (2007): every beat on strong evidence, consecutive beats about one
period apart with a log-squared penalty on stretching, so the tempo can drift along the take.
"""

from __future__ import annotations

import numpy as np
from choreo_studio.core.motion.kinematic_beats import (
    mean_joint_speed,
    offset_strength,
    velocity_minima_beats,
)
from scipy.ndimage import gaussian_filter1d

MIN_BPM, MAX_BPM, PRIOR_BPM = 70.0, 160.0, 110.0
TIGHTNESS = 100.0  # Ellis' alpha: how much a beat interval may stretch
IDLE_SHARE = 0.2  # a frame is idle when the body moves slower than this share of the median
IDLE_MIN_S = 1.0


def beat_envelope(positions_cm: np.ndarray, fps: float) -> np.ndarray:
    """Per-frame kinematic beat evidence ``[F]`` scaled to unit 95th percentile."""
    strength = offset_strength(positions_cm, fps)
    strength = strength / max(float(np.percentile(strength, 95)), 1e-9)
    bumps = np.zeros(len(strength))
    for b in velocity_minima_beats(positions_cm, fps):
        bumps[min(int(round(b)), len(bumps) - 1)] += 1.0
    bumps = gaussian_filter1d(bumps, max(fps / 30.0, 0.7))
    bumps = bumps / max(float(bumps.max()), 1e-9)
    return strength + bumps


def tempo_bpm(envelope: np.ndarray, fps: float) -> float:
    """Global tempo from the envelope's autocorrelation (70-160 BPM, prior at 110)."""
    env = envelope - envelope.mean()
    lags = np.arange(int(fps * 60 / MAX_BPM), int(fps * 60 / MIN_BPM) + 1)
    lags = lags[lags < len(env) - 1]
    if len(lags) == 0:
        return PRIOR_BPM
    ac = np.array([np.dot(env[:-lag], env[lag:]) / (len(env) - lag) for lag in lags])
    bpm = 60.0 * fps / lags
    prior = np.exp(-0.5 * (np.log2(bpm / PRIOR_BPM) / 0.5) ** 2)
    score = np.maximum(ac, 0) * prior
    best = int(np.argmax(score))
    if 0 < best < len(lags) - 1:  # parabolic refinement of the lag
        a, b, c = score[best - 1 : best + 2]
        shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
        return float(60.0 * fps / (lags[best] + np.clip(shift, -0.5, 0.5)))
    return float(bpm[best])


def track_beats(envelope: np.ndarray, fps: float, bpm: float) -> np.ndarray:
    """Beat frames (float) by Ellis' dynamic programming at period ``60 fps / bpm``."""
    period = 60.0 * fps / bpm
    n = len(envelope)
    score = envelope.astype(np.float64).copy()
    back = np.full(n, -1, dtype=np.int64)
    lo, hi = int(round(period / 2)), int(round(2 * period))
    for t in range(lo, n):
        prev = np.arange(max(0, t - hi), t - lo + 1)
        if len(prev) == 0:
            continue
        cost = score[prev] - TIGHTNESS * np.log((t - prev) / period) ** 2
        k = int(np.argmax(cost))
        if cost[k] > 0:
            score[t] += cost[k]
            back[t] = prev[k]
    tail = np.arange(max(0, n - int(round(period))), n)
    t = int(tail[np.argmax(score[tail])])
    beats = [t]
    while back[t] >= 0:
        t = int(back[t])
        beats.append(t)
    return np.asarray(beats[::-1], dtype=np.float64)


def active_span(positions_cm: np.ndarray, fps: float) -> tuple[int, int]:
    """Frames ``[start, end)`` without the idle start and end (still for over a second)."""
    speed = gaussian_filter1d(mean_joint_speed(positions_cm, fps), max(fps / 10.0, 1.0))
    moving = speed > IDLE_SHARE * float(np.median(speed))
    idx = np.nonzero(moving)[0]
    if len(idx) == 0:
        return 0, len(positions_cm)
    min_idle = int(IDLE_MIN_S * fps)
    start = int(idx[0]) if idx[0] >= min_idle else 0
    end = int(idx[-1]) + 2 if len(positions_cm) - idx[-1] - 1 >= min_idle else len(positions_cm)
    return start, end
