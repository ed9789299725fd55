"""Scorers: P(d | u_t) for every music phrase of a song over the K dance phrases of a library.

Two scorers share one interface (:class:`Scorer`): the trained network of a model bundle
(:mod:`retrieval.network_scoring`, imports torch) and, until a model exists for a library (a freshly
imported studio library), the :class:`DescriptorMatcher` below. Each scorer names itself
(``name``) so the CLI and the UI can say which one is in use, and brings the transition matrix
M the decoders should use (the bundle's learned M, or the library's prior M0). Results are
cached per (song hash, phrase segmentation) inside the scorer, so re-solving and suggestions
never recompute them.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.library.tempo import BEATS_PER_COUNT_CHOICES, TIME_CHANGE_COST_OCTAVES
from choreo_studio.core.phrases.segmentation import segmentation_key
from choreo_studio.core.progress import ProgressFn, no_progress

if TYPE_CHECKING:
    from choreo_studio.core.library.library import Library
    from choreo_studio.core.phrases.song import Song

CACHE_SIZE = 16


def calibration_temperature(info: dict) -> float:
    """The temperature τ a model bundle's ``info.calibration`` records (1 without one).

    τ is fitted after training by maximum likelihood on songs the model never saw
    (``benchmarks/calibrate_model_temperature.py``); an over-confident network gets τ > 1."""
    calibration = info.get("calibration") if isinstance(info, dict) else None
    if not isinstance(calibration, dict) or "temperature" not in calibration:
        return 1.0
    tau = calibration["temperature"]
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not 0 < tau < 1e6:
        raise ChoreoError(f"model calibration temperature {tau!r} is not a positive number — "
                          "recalibrate the model or remove info.calibration from model.json")
    return float(tau)


def calibrate(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """P(d | u)^(1/τ) renormalised per phrase: softmax(logits / τ) of a softmax's output,
    exact wherever P > 0 (a P that underflowed to 0 stays 0). The ranking is unchanged; τ > 1
    spreads an over-confident network's probability over the dances it ranks close. float32;
    ``probabilities`` itself at τ = 1."""
    if temperature == 1.0:
        return probabilities
    with np.errstate(divide="ignore"):
        z = np.log(np.asarray(probabilities, dtype=np.float64)) / temperature
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


class Scorer:
    """Base of the scorers: ``probabilities(song)`` → P(d | u_t) [T, K] float32, cached."""

    name: str = "scorer"
    transition: np.ndarray

    def __init__(self) -> None:
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def probabilities(self, song: Song, progress: ProgressFn = no_progress) -> np.ndarray:
        """P(d | u_t) for each phrase of ``song`` (rows sum to 1), from the cache when known."""
        key = f"{song.analysis.song_hash}-{segmentation_key(song.analysis.beats_s, song.phrases)}"
        if key in self._cache:
            self._cache.move_to_end(key)
            progress(1.0, f"{self.name}: cached")
            return self._cache[key]
        result = np.asarray(self._compute(song, progress), dtype=np.float32)
        result.setflags(write=False)
        self._cache[key] = result
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return result

    def _compute(self, song: Song, progress: ProgressFn) -> np.ndarray:
        raise NotImplementedError


def music_descriptors(song: Song) -> np.ndarray:
    """Per phrase [T, 5]: tempo (BPM), energy (0–1), onsets per beat, strength (0–1), beats
    per bar.

    Energy mixes the phrase's mean mel level with its rank inside the song (quiet verse, loud
    chorus); strength is the mean onset-envelope height at the phrase's onsets relative to the
    song's strong onsets (95th percentile). Beats per bar is the phrase's own when its length
    names one meter (a multiple of 3 beats that is none of 4, or the reverse), else the song's.
    A repeated section is judged by its own descriptors (alike where the music is alike), not
    given its repeats' mean: identical fits on every repeat, with the variety cost letting
    repeats share a dance freely, put one dance on every repeat (Tang C_8 with this matcher: 8
    dances in 17 phrases); copying a dance onto the repeats is the decoder's ``tie_sections``.
    """
    analysis, phrases = song.analysis, song.phrases
    n = len(phrases)
    out = np.zeros((n, 5))
    if n == 0:
        return out
    level = song.features.mel.reshape(n, -1).mean(axis=1).astype(np.float64)
    rank = (np.argsort(np.argsort(level)) / max(n - 1, 1)) if n > 1 else np.full(1, 0.5)
    span = max(float(level.max() - level.min()), 1e-6)
    relative = (level - level.min()) / span if n > 1 else np.full(1, 0.5)
    env = np.asarray(analysis.onset_env, dtype=np.float64)
    onsets_s = np.asarray(analysis.onsets_s, dtype=np.float64)
    onset_frames = np.clip(np.round(onsets_s * analysis.onset_fps).astype(np.int64), 0,
                           max(env.size - 1, 0))
    at_onsets = env[onset_frames] if env.size else np.zeros(onsets_s.size)
    scale = float(np.percentile(at_onsets, 95)) if at_onsets.size else 1.0
    for t, p in enumerate(phrases):
        n_beats = max(p.end_beat - p.start_beat, 1)
        duration = max(p.end_s - p.start_s, 1e-6)
        inside = (onsets_s >= p.start_s) & (onsets_s < p.end_s)
        strength = 0.0
        if inside.any() and scale > 0:
            strength = float(np.clip(at_onsets[inside].mean() / scale, 0.0, 1.0))
        bar = bar_length(n_beats) or int(analysis.beats_per_bar)
        out[t] = (60.0 * n_beats / duration, 0.0, np.count_nonzero(inside) / n_beats, strength,
                  bar)
    out[:, 1] = np.clip(0.4 * level / max(level.max(), 1e-6) + 0.3 * rank + 0.3 * relative, 0, 1)
    return out


def bar_length(n_counts: int) -> int:
    """3 or 4 when ``n_counts`` beats or counts fill whole bars of only that meter, else 0."""
    threes, fours = n_counts % 3 == 0, n_counts % 4 == 0
    return 3 if threes and not fours else 4 if fours and not threes else 0


def _rank(values: np.ndarray) -> np.ndarray:
    """Ranks scaled to 0–1, equal values sharing their mean rank (0.5 for a single value)."""
    if values.size < 2:
        return np.full(values.size, 0.5)
    _, tied, counts = np.unique(values, return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts  # rank of each distinct value's first member
    return (first + (counts - 1) / 2.0)[tied] / (values.size - 1)


def dance_descriptors(library: Library) -> np.ndarray:
    """Per dance phrase [K, 5]: tempo (BPM), energy (0–1), kinematic beats per count,
    strength (0–1, rank of the acceleration peaks inside the library), counts per bar (3, 4,
    or 0 when the phrase's counts fit both).

    Energy is how vigorously the phrase moves — the mean of its ranks inside the library by
    joint speed and by extent — averaged with its energy label (1–3) where the library's labels
    differ (a library of one label has only the motion to say it).
    """
    k = len(library.phrases)
    out = np.zeros((k, 5))
    if k == 0:
        return out
    phrases = library.phrases
    labels = np.array([(float(d.energy) - 1.0) / 2.0 for d in phrases])
    speed = np.array([d.descriptors.get("speed_cm_s", 0.0) for d in phrases])
    extent = np.array([d.descriptors.get("extent_cm", 0.0) for d in phrases])
    vigour = 0.5 * (_rank(speed) + _rank(extent))
    energy = 0.5 * (labels + vigour) if np.ptp(labels) > 0 else vigour
    for i, d in enumerate(phrases):
        out[i, [0, 2, 4]] = (d.bpm, d.descriptors.get("beats_per_count", 1.0),
                             bar_length(max(int(d.n_counts), 1)))
    out[:, 1] = energy
    out[:, 3] = _rank(np.array([d.descriptors.get("strength_m_s2", 0.0) for d in phrases]))
    return out


class DescriptorMatcher(Scorer):
    """Scores music against dance by explicit cues, for libraries without a trained model.

    Distance per (phrase, dance), each cue in its own units times ``WEIGHTS``:

    * tempo — |log2| of the tempo ratio (an octave off costs 1) at the best of one count per
      beat, half time or double time (see :mod:`choreography.beat_warp`);
    * energy — the music's loudness within the song vs how fast and how wide the dance moves;
    * density — onsets per beat vs kinematic hits per count;
    * strength — how hard the onsets are vs how hard the dance accelerates;
    * meter — ``METER_COST`` when the phrase's bars (3 or 4 beats) are not the dance's;
    * tiling — ``TILING_COST`` when the dance phrase's counts do not tile the music phrase.

    P(d | u_t) is a softmax of −distance / ``temperature``. ``TEMPERATURE`` is calibrated:
    the maximum-likelihood temperature of the real dancers' genre on Tang, leave one dance
    out (mean log Σ P over the held-out dance's genre, per music phrase: best at 0.15 of
    0.02–1.0, balanced over cha-cha/rumba/waltz too; 0.08 before, too sharp: a median of 2
    dances per phrase within half the best fit, so the fit floor forced returns).
    """

    name = "descriptor matcher"
    WEIGHTS = np.array([1.0, 1.5, 0.6, 0.8])
    TILING_COST = 0.4
    METER_COST = 0.3

    TEMPERATURE = 0.15

    def __init__(self, library: Library, temperature: float = TEMPERATURE) -> None:
        super().__init__()
        self.library = library
        self.transition = library.transition_prior
        self.temperature = temperature
        self._dances = dance_descriptors(library)
        self._counts = np.array([max(d.n_counts, 1) for d in library.phrases])

    def distances(self, song: Song) -> np.ndarray:
        """Weighted descriptor distance [T, K] (0 = perfect match)."""
        music = music_descriptors(song)
        dance = self._dances
        ratio = np.log2(np.maximum(music[:, None, 0], 1) / np.maximum(dance[None, :, 0], 1))
        tempo = np.min([np.abs(ratio - np.log2(b)) + TIME_CHANGE_COST_OCTAVES * (b != 1.0)
                        for b in BEATS_PER_COUNT_CHOICES], axis=0)
        energy = np.abs(music[:, None, 1] - dance[None, :, 1])
        density = np.abs(np.minimum(music[:, None, 2], 2.0) - np.minimum(dance[None, :, 2], 2.0))
        strength = np.abs(music[:, None, 3] - dance[None, :, 3])
        parts = np.stack([tempo, energy, density / 2.0, strength], axis=-1)
        dist = parts @ self.WEIGHTS
        n_beats = np.array([max(p.end_beat - p.start_beat, 1) for p in song.phrases])
        dist += self.TILING_COST * ((n_beats[:, None] % self._counts[None, :]) != 0)
        bars = dance[None, :, 4]
        dist += self.METER_COST * ((bars > 0) & (bars != music[:, None, 4]))
        return dist

    def _compute(self, song: Song, progress: ProgressFn) -> np.ndarray:
        progress(0.0, "matching descriptors")
        logits = -self.distances(song) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        progress(1.0, "matched")
        return p / p.sum(axis=1, keepdims=True)
