"""Beat warping (Lee et al. 2019): map each count of a dance phrase onto the song's beats.

Every play of a dance phrase inside a music phrase gets a piecewise-linear time map with knots
(time of the beat a count lands on → frame of that count) and (time of the beat after the last
count → the phrase's end frame). One count normally lands on one beat; when the song's tempo is
far from the dance's, the dance goes half time (a count every 2 beats) or double time (2 counts
per beat, landing on the half beats) — see :func:`auto_beats_per_count`. A music phrase longer
than the dance phrase is filled by playing it again (the last play is cut at the phrase end); a
shorter one plays the dance phrase cut. Times are seconds; frames are fractional source frames.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from choreo_studio.core.choreography.placements import Choreography, Placement
from choreo_studio.core.library.tempo import BEATS_PER_COUNT_CHOICES, TIME_CHANGE_COST_OCTAVES

if TYPE_CHECKING:
    from choreo_studio.core.library.library import DancePhrase, Library
    from choreo_studio.core.phrases.segmentation import MusicPhrase


def phrase_bpm(phrase: MusicPhrase) -> float:
    """The local tempo of a music phrase (its beats over its duration)."""
    return 60.0 * (phrase.end_beat - phrase.start_beat) / max(phrase.end_s - phrase.start_s, 1e-6)


def tempo_mismatch(song_bpm: float, dance_bpm: float, beats_per_count: float) -> float:
    """How far (in octaves) the dance would be sped up or slowed down, plus the time-change cost."""
    rate = max(song_bpm, 1e-6) / beats_per_count / max(dance_bpm, 1e-6)
    return abs(math.log2(rate)) + (TIME_CHANGE_COST_OCTAVES if beats_per_count != 1.0 else 0.0)


def auto_beats_per_count(song_bpm: float, dance_bpm: float) -> float:
    """1 (a count per beat), 2 (half time) or 0.5 (double time): the least tempo mismatch."""
    return min(BEATS_PER_COUNT_CHOICES, key=lambda b: tempo_mismatch(song_bpm, dance_bpm, b))


def resolved_beats_per_count(placement: Placement, phrase: MusicPhrase,
                             dance: DancePhrase) -> float:
    """The placement's beats per count, choosing automatically when it is not set."""
    if placement.beats_per_count is not None:
        return float(placement.beats_per_count)
    return auto_beats_per_count(phrase_bpm(phrase), float(dance.bpm))


def repeat_count(n_beats: int, n_counts: int, beats_per_count: float = 1.0) -> int:
    """How many times a dance phrase of ``n_counts`` counts plays to fill ``n_beats`` beats
    (the last play is cut at the end; a dance phrase longer than the music plays once, cut)."""
    per_play = max(1, n_counts) * beats_per_count
    return max(1, math.ceil(n_beats / per_play - 1e-9))


@dataclass(frozen=True)
class WarpSegment:
    """One play of a dance phrase on the song's timeline, with its time map."""

    phrase_index: int
    play: int
    dance_index: int
    mirror: bool
    start_s: float
    end_s: float
    knot_times_s: np.ndarray
    knot_frames: np.ndarray
    blend_s: float

    def source_frames(self, times_s: np.ndarray) -> np.ndarray:
        """Source frame positions at ``times_s``: the piecewise-linear map, extended past the
        first and last knots with the slope of the nearest piece (callers clamp to the clip)."""
        t, f = self.knot_times_s, self.knot_frames
        x = np.asarray(times_s, dtype=np.float64)
        out = np.interp(x, t, f)
        if t.size >= 2:
            before, after = x < t[0], x > t[-1]
            out[before] = f[0] + (x[before] - t[0]) * (f[1] - f[0]) / (t[1] - t[0])
            out[after] = f[-1] + (x[after] - t[-1]) * (f[-1] - f[-2]) / (t[-1] - t[-2])
        return out


def _beat_clock(beats_s: np.ndarray, phrase: MusicPhrase):
    """Time of a (fractional) beat position counted from the phrase start; past the phrase end
    the last beat period continues."""
    inner = beats_s[phrase.start_beat : min(phrase.end_beat, beats_s.size)]
    times = np.append(inner, phrase.end_s).astype(np.float64)
    last_period = times[-1] - times[-2] if times.size > 1 else 0.5

    def time_at(position: np.ndarray) -> np.ndarray:
        pos = np.asarray(position, dtype=np.float64)
        inside = np.interp(pos, np.arange(times.size), times)
        beyond = times[-1] + (pos - (times.size - 1)) * last_period
        return np.where(pos > times.size - 1, beyond, inside)

    return time_at


def plan_segments(
    choreography: Choreography,
    beats_s: np.ndarray,
    phrases: Sequence[MusicPhrase],
    library: Library,
) -> list[WarpSegment]:
    """The plays of every placement, in time order, each with its beat-warp time map."""
    segments: list[WarpSegment] = []
    beats_s = np.asarray(beats_s, dtype=np.float64)
    for phrase, placement in zip(phrases, choreography.placements, strict=True):
        dance_index = library.index_of(placement.dance_id)
        dance = library.phrases[dance_index]
        n_counts = max(int(dance.n_counts), 1)
        n_beats = phrase.end_beat - phrase.start_beat
        per_count = resolved_beats_per_count(placement, phrase, dance)
        counts = np.asarray(dance.count_frames, dtype=np.float64)
        if counts.size == 0:  # a phrase without counts: spread it evenly
            counts = np.linspace(0, dance.motion.n_frames, n_counts, endpoint=False)
        frames = np.append(counts, float(dance.motion.n_frames))
        time_at = _beat_clock(beats_s, phrase)
        for play in range(repeat_count(n_beats, n_counts, per_count)):
            positions = (play * n_counts + np.arange(n_counts + 1)) * per_count
            # keep the knots up to the first one at or past the phrase end
            last = int(np.searchsorted(positions, n_beats - 1e-9))
            keep = slice(0, min(last + 1, n_counts + 1))
            times = time_at(positions[keep])
            mirror = placement.mirror != (placement.mirror_on_repeat and play % 2 == 1)
            segments.append(
                WarpSegment(
                    phrase_index=phrase.index,
                    play=play,
                    dance_index=dance_index,
                    mirror=bool(mirror),
                    start_s=float(times[0]),
                    end_s=float(min(times[-1], phrase.end_s)),
                    knot_times_s=times,
                    knot_frames=frames[keep],
                    blend_s=float(placement.blend_s),
                )
            )
    return segments
