"""Synthetic audio with known answers for tests and benchmarks: click, drum and non-beat tracks.

Reusable by any test: every maker returns float32 mono samples plus the true beat times.
"""

from __future__ import annotations

import numpy as np

SR = 22050


def click_track(
    tempo_bpm: float, beats_per_bar: int = 4, n_bars: int = 8, sr: int = SR,
    lead_in_s: float = 0.3, accent_downbeat: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Metronome clicks (high click on downbeats): (samples, beat times, downbeat indices)."""
    n_beats = beats_per_bar * n_bars
    beat_s = 60.0 / tempo_bpm
    beats = lead_in_s + np.arange(n_beats) * beat_s
    y = np.zeros(int((beats[-1] + beat_s + 0.5) * sr), dtype=np.float32)
    t = np.arange(int(0.03 * sr)) / sr
    for k, b in enumerate(beats):
        down = k % beats_per_bar == 0
        freq = 1760.0 if (down and accent_downbeat) else 880.0
        click = np.sin(2 * np.pi * freq * t) * np.exp(-t / 0.006) * (1.0 if down else 0.6)
        i0 = int(round(b * sr))
        y[i0 : i0 + click.size] += click.astype(np.float32)
    return y, beats, np.arange(0, n_beats, beats_per_bar)


def drum_track(
    tempo_bpm: float, beats_per_bar: int = 4, n_bars: int = 8, sr: int = SR, seed: int = 0,
    lead_in_s: float = 0.3,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kick / snare / hat groove with a bass note per bar: (samples, beats, downbeat indices).

    4/4: kick on 1 and 3, snare on 2 and 4, eighth hats. 3/4: kick on 1, snare on 2 and 3.
    A bass root that changes every bar marks the downbeats as real music does.
    """
    rng = np.random.default_rng(seed)
    n_beats = beats_per_bar * n_bars
    beat_s = 60.0 / tempo_bpm
    beats = lead_in_s + np.arange(n_beats) * beat_s
    y = np.zeros(int((beats[-1] + beat_s + 0.6) * sr), dtype=np.float32)
    t = np.arange(int(0.3 * sr)) / sr
    kick = np.sin(2 * np.pi * np.cumsum(50 + 100 * np.exp(-t / 0.03)) / sr) * np.exp(-t / 0.1)
    noise = rng.standard_normal(t.size)
    snare = np.diff(noise, prepend=0.0) * np.exp(-t / 0.06) * 0.5
    hat = np.diff(np.diff(noise, prepend=0.0), prepend=0.0) * np.exp(-t / 0.02) * 0.12
    roots = [45, 41, 43, 40]

    def put(time_s: float, sound: np.ndarray, gain: float) -> None:
        i0 = int(round(time_s * sr))
        n = min(sound.size, y.size - i0)
        y[i0 : i0 + n] += gain * sound[:n].astype(np.float32)

    for k, b in enumerate(beats):
        pos = k % beats_per_bar
        if beats_per_bar == 3:
            put(b, kick if pos == 0 else snare, 1.0 if pos == 0 else 0.7)
        else:
            put(b, kick if pos % 2 == 0 else snare, 1.0 if pos == 0 else 0.8)
        put(b, hat, 1.0)
        put(b + beat_s / 2, hat, 0.6)
        if pos == 0:
            f0 = 440.0 * 2 ** ((roots[(k // beats_per_bar) % 4] - 69) / 12)
            tb = np.arange(int(beats_per_bar * beat_s * 0.95 * sr)) / sr
            bass = sum(np.sin(2 * np.pi * h * f0 * tb) / h for h in (1, 2, 3))
            put(b, bass * np.exp(-tb / 1.5) * 0.35, 1.0)
    return y, beats, np.arange(0, n_beats, beats_per_bar)


def speech_like(duration_s: float = 12.0, sr: int = SR, seed: int = 0) -> np.ndarray:
    """Irregular voiced bursts with gliding pitch and random pauses: sound with no steady beat."""
    rng = np.random.default_rng(seed)
    y = np.zeros(int(duration_s * sr), dtype=np.float32)
    t0 = 0.1
    while t0 < duration_s - 0.6:
        dur = float(rng.uniform(0.08, 0.45))
        t = np.arange(int(dur * sr)) / sr
        f0 = rng.uniform(100, 220) * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(1, 4) * t))
        phase = 2 * np.pi * np.cumsum(f0) / sr
        syl = sum(np.sin(h * phase) / h for h in range(1, 8)) * np.sin(np.pi * t / dur) ** 2
        i0 = int(t0 * sr)
        y[i0 : i0 + syl.size] += 0.3 * syl.astype(np.float32)
        t0 += dur + float(rng.exponential(0.25))
    return y


def ambient_pad(duration_s: float = 12.0, sr: int = SR) -> np.ndarray:
    """Slowly swelling sustained chords: music without a detectable beat."""
    t = np.arange(int(duration_s * sr)) / sr
    swell = 0.5 + 0.5 * np.sin(2 * np.pi * t / 9.0 - np.pi / 2)
    wobble = 0.3 * np.sin(2 * np.pi * 0.1 * t)
    y = sum(np.sin(2 * np.pi * f * t + wobble) for f in (220.0, 277.2, 329.6))
    return (0.2 * swell * y).astype(np.float32)


def rubato_melody(duration_s: float = 16.0, sr: int = SR, seed: int = 0) -> np.ndarray:
    """A held-note melody in free time (notes of 0.3-1.4 s, soft attacks) over a sustained
    chord: music whose pulse is weak but whose pitches are steady."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * sr)) / sr
    y = 0.06 * sum(np.sin(2 * np.pi * f * t) for f in (130.8, 164.8, 196.0))
    scale = 261.6 * 2.0 ** (np.array([0, 2, 4, 5, 7, 9, 11, 12]) / 12.0)
    t0 = 0.2
    while t0 < duration_s - 0.5:
        dur = min(float(rng.uniform(0.3, 1.4)), duration_s - t0)
        n = np.arange(int(dur * sr)) / sr
        shape = np.minimum(n / 0.06, 1.0) * np.exp(-n / 1.5) * np.minimum((dur - n) / 0.05, 1.0)
        f = float(rng.choice(scale))
        note = shape * sum(np.sin(2 * np.pi * h * f * n) / h for h in (1, 2, 3))
        i0 = int(t0 * sr)
        y[i0 : i0 + note.size] += 0.25 * note
        t0 += dur
    return y.astype(np.float32)


def noise_bursts(duration_s: float = 12.0, sr: int = SR, seed: int = 0) -> np.ndarray:
    """Bursts of noise at irregular times (applause, rain, wind): no beat and no pitch."""
    rng = np.random.default_rng(seed)
    y = 0.1 * rng.standard_normal(int(duration_s * sr))
    t = np.arange(y.size) / sr
    y *= 0.6 + 0.4 * np.sin(2 * np.pi * 0.23 * t + rng.uniform(0, 6.3))
    return y.astype(np.float32)
