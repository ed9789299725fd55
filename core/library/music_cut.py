"""Cutting a take that comes with its song on that song's music: counts from the song's beats,
phrase boundaries from its music phrases.

The take's clock and the song's may disagree (Tang: the dance's song span exceeds its frame
count by 0.1-2.2 %), so frame index alone misplaces the counts by seconds at the end of a take.
:func:`fit_time_map` fits ``song_s = offset_s + scale * motion_s`` by matching the motion's
kinematic beats to the music's beats (a Beat-Align-style score over a grid around the
source's own map, with a mild prior towards it), and every count then lands on a music beat.
The scale is searched between 1 (the frame rate is right, the song span approximate) and the
source's span/length ratio (the span is right), a little beyond either.
Dance phrases are cut inside the music phrases (so none straddles a music-phrase boundary),
``bars`` bars each starting on a music phrase's downbeat; a lone bar left over at the end of
a music phrase is not a phrase.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from choreo_studio.core.analysis.music_analysis import MusicAnalysis
from choreo_studio.core.motion.kinematic_beats import velocity_minima_beats
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.phrases.segmentation import MusicPhrase

SIGMA_S = 0.06  # tolerance of a kinematic beat on a music beat
OFFSET_RANGE_S = 0.3
SCALE_MARGIN = 0.004
PRIOR_WEIGHT = 0.05


@dataclass(frozen=True)
class TimeMap:
    """``song_s = offset_s + scale * motion_s``; ``score``: share of kinematic beats on the
    music's beats under this map (``prior_score``: under the source's own map)."""

    offset_s: float
    scale: float
    score: float
    prior_score: float

    def motion_s(self, song_s: np.ndarray) -> np.ndarray:
        """Motion time of song times."""
        return (np.asarray(song_s, dtype=np.float64) - self.offset_s) / self.scale


def _score(kin_s: np.ndarray, beats_s: np.ndarray, offsets: np.ndarray, scales: np.ndarray
           ) -> np.ndarray:
    """Mean Gaussian closeness of mapped kinematic beats to music beats, per (offset, scale)."""
    mapped = offsets[:, None, None] + scales[None, :, None] * kin_s[None, None, :]
    idx = np.clip(np.searchsorted(beats_s, mapped), 1, len(beats_s) - 1)
    d = np.minimum(np.abs(mapped - beats_s[idx]), np.abs(mapped - beats_s[idx - 1]))
    return np.exp(-(d**2) / (2 * SIGMA_S**2)).mean(axis=-1)


def fit_time_map(motion: Motion, beats_s: np.ndarray, offset0_s: float, scale0: float,
                 positions_cm: np.ndarray | None = None) -> TimeMap:
    """The time map near (``offset0_s``, ``scale0``) that puts kinematic beats on music beats;
    ``positions_cm``: the motion's forward kinematics when the caller has it."""
    positions = motion.fk() if positions_cm is None else positions_cm
    kin_s = velocity_minima_beats(positions, motion.fps) / motion.fps
    beats_s = np.asarray(beats_s, dtype=np.float64)
    if len(kin_s) < 4 or len(beats_s) < 4:
        return TimeMap(offset0_s, scale0, 0.0, 0.0)
    offsets = offset0_s + np.arange(-OFFSET_RANGE_S, OFFSET_RANGE_S + 1e-9, 0.01)
    lo, hi = min(1.0, scale0) - SCALE_MARGIN, max(1.0, scale0) + SCALE_MARGIN
    scales = np.arange(lo, hi + 1e-9, 0.0005)
    score = _score(kin_s, beats_s, offsets, scales)
    prior = ((offsets[:, None] - offset0_s) / OFFSET_RANGE_S) ** 2 + (
        (scales[None, :] - scale0) / (hi - lo)) ** 2
    i, k = np.unravel_index(np.argmax(score - PRIOR_WEIGHT * prior), score.shape)
    base = float(_score(kin_s, beats_s, np.array([offset0_s]), np.array([scale0]))[0, 0])
    return TimeMap(float(offsets[i]), float(scales[k]), float(score[i, k]), base)


@dataclass(frozen=True)
class MusicCut:
    """One dance phrase cut on the music: motion frames ``[start, end)`` and its count frames
    (absolute, fractional), with the music phrase it belongs to."""

    start_frame: int
    end_frame: int
    count_frames: np.ndarray
    music_phrase: int
    section_label: str
    bars: int


def cuts_on_music(motion: Motion, analysis: MusicAnalysis, phrases: list[MusicPhrase],
                  time_map: TimeMap, bars: int = 2) -> list[MusicCut]:
    """Dance phrases of ``bars`` bars inside each music phrase the take covers."""
    beat_frames = time_map.motion_s(analysis.beats_s) * motion.fps
    n_beats = len(beat_frames)
    downbeats = set(int(d) for d in analysis.downbeats)
    out: list[MusicCut] = []
    for ph in phrases:
        bar_starts = [b for b in range(ph.start_beat, ph.end_beat) if b in downbeats]
        for u in range(0, len(bar_starts) - bars + 1, bars):
            first = bar_starts[u]
            stop = bar_starts[u + bars] if u + bars < len(bar_starts) else ph.end_beat
            if stop >= n_beats or beat_frames[first] < 0 or beat_frames[stop] > motion.n_frames:
                continue
            start, end = int(round(beat_frames[first])), int(round(beat_frames[stop]))
            counts = beat_frames[first:stop]
            if end - start < 2 or len(counts) < 1:
                continue
            out.append(MusicCut(start, min(end, motion.n_frames), counts, ph.index,
                                ph.section_label, bars))
    return out
