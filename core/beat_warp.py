"""Beat warping (Lee et al. 2019): map each count of a dance phrase onto the song's beats.

Every play of a dance phrase inside a music phrase gets a piecewise-linear time map with knots
(time of beat ``start_beat + j + k`` → frame of count ``k``) and (time of the beat after the
last count → the phrase's end frame). A music phrase longer than the dance phrase is filled by
playing it again (the last play is cut at the phrase end); a shorter one plays the dance phrase
cut. Times are seconds; frames are fractional frames of the source clip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from core.choreography import Choreography
from core.timeline_json import repeat_count

if TYPE_CHECKING:
    from core.library import Library
    from core.phrases import MusicPhrase


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


def _beat_time(beats_s: np.ndarray, phrase: MusicPhrase, beat: int) -> float:
    """Time of absolute beat index ``beat``; the phrase end stands for its end beat."""
    if beat >= phrase.end_beat or beat >= beats_s.size:
        return float(phrase.end_s)
    return float(beats_s[beat])


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
        counts = np.asarray(dance.count_frames, dtype=np.float64)
        if counts.size == 0:  # a phrase without counts: spread it over its beats
            counts = np.linspace(0, dance.motion.n_frames, n_counts, endpoint=False)
        end_frame = float(dance.motion.n_frames)
        for play in range(repeat_count(n_beats, n_counts)):
            first = play * n_counts
            k = np.arange(min(n_counts, n_beats - first))
            times = [_beat_time(beats_s, phrase, phrase.start_beat + first + i) for i in k]
            frames = list(counts[k])
            last = first + len(k)
            times.append(_beat_time(beats_s, phrase, phrase.start_beat + last))
            frames.append(end_frame if len(k) == n_counts else float(counts[len(k)]))
            mirror = placement.mirror != (placement.mirror_on_repeat and play % 2 == 1)
            segments.append(
                WarpSegment(
                    phrase_index=phrase.index,
                    play=play,
                    dance_index=dance_index,
                    mirror=bool(mirror),
                    start_s=times[0],
                    end_s=times[-1],
                    knot_times_s=np.asarray(times),
                    knot_frames=np.asarray(frames),
                    blend_s=float(placement.blend_s),
                )
            )
    return segments
