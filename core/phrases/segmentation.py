"""Music-phrase segmentation (paper §3.1): split a song into phrases of 2–8 bars.

Boundaries sit on downbeats, respect section boundaries, prefer 4- and 8-bar phrases and fall
where the melody and the onsets rest. Every beat belongs to exactly one phrase, and the result is
deterministic. :func:`segment` also takes the user's constraints from the editor (pinned, moved
or removed boundaries); tempo, meter and first-downbeat corrections are made on the analysis
with :func:`choreo_studio.core.analysis.beat_tracking.reanalyze_beats` and then re-segmented here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from choreo_studio.core.analysis.music_analysis import MusicAnalysis
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.json_files import Where, require_int, require_numbers

MIN_BARS = 2
MAX_BARS = 8
MAX_PHRASE_BARS = 64
"""Longest phrase the user's constraints may ask for (in bars)."""

# Cost of a phrase by its length in bars: 4 and 8 bars are the norm, 2 and 6 acceptable.
_LENGTH_COST = {2: 0.9, 3: 1.3, 4: 0.0, 5: 1.3, 6: 0.7, 7: 1.5, 8: 0.5}
_REST_WEIGHT = 0.8  # cost of placing a boundary where nothing rests (scaled by 1 - rest)
_SECTION_CROSS_COST = 6.0  # cost of a phrase running across a section boundary
_MELODY_REST_SHARE = 0.6  # rest = share * melody rest + (1 - share) * onset lull


@dataclass(frozen=True)
class MusicPhrase:
    """One music phrase: beats ``[start_beat, end_beat)`` of the analysis, ``n_bars`` bars."""

    index: int
    start_beat: int
    end_beat: int
    start_s: float
    end_s: float
    n_bars: int
    section_label: str

    @property
    def n_beats(self) -> int:
        return self.end_beat - self.start_beat

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "start_beat": self.start_beat,
            "end_beat": self.end_beat,
            "start_s": round(self.start_s, 5),
            "end_s": round(self.end_s, 5),
            "n_bars": self.n_bars,
            "n_beats": self.n_beats,
            "section_label": self.section_label,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MusicPhrase:
        return cls(
            int(data["index"]),
            int(data["start_beat"]),
            int(data["end_beat"]),
            float(data["start_s"]),
            float(data["end_s"]),
            int(data["n_bars"]),
            str(data["section_label"]),
        )


@dataclass(frozen=True)
class SegmentConstraints:
    """What the user fixed in the editor; times in seconds so they survive a beat re-analysis.

    ``pinned_s``: a phrase boundary must start at the beat nearest each time (snapped to it).
    ``removed_s``: no boundary may fall on the downbeat nearest each time.
    """

    pinned_s: tuple[float, ...] = ()
    removed_s: tuple[float, ...] = ()
    min_bars: int = MIN_BARS
    max_bars: int = MAX_BARS

    def pin(self, time_s: float) -> SegmentConstraints:
        """These constraints plus a boundary pinned at ``time_s``."""
        return replace(self, pinned_s=tuple(sorted({*self.pinned_s, float(time_s)})))

    def remove(self, time_s: float) -> SegmentConstraints:
        """These constraints plus the boundary at ``time_s`` forbidden (un-pinned if pinned)."""
        pins = tuple(p for p in self.pinned_s if abs(p - time_s) > 1e-3)
        return replace(self, pinned_s=pins, removed_s=tuple(sorted({*self.removed_s, time_s})))

    def move(self, from_s: float, to_s: float) -> SegmentConstraints:
        """A boundary dragged from ``from_s`` to ``to_s``: forbid the old place, pin the new."""
        return self.remove(from_s).pin(to_s)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form projects keep."""
        return {
            "pinned_s": [float(t) for t in self.pinned_s],
            "removed_s": [float(t) for t in self.removed_s],
            "min_bars": self.min_bars,
            "max_bars": self.max_bars,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: Where) -> SegmentConstraints:
        """:meth:`to_dict`'s form read back (missing fields take the defaults; wrong types are
        a one-line error naming ``where``'s file and field)."""
        min_bars = require_int(data, "min_bars", where, default=MIN_BARS, lo=1, hi=MAX_PHRASE_BARS)
        return cls(
            tuple(float(t) for t in require_numbers(data, "pinned_s", where, default=[], lo=0)),
            tuple(float(t) for t in require_numbers(data, "removed_s", where, default=[], lo=0)),
            min_bars,
            require_int(data, "max_bars", where, default=MAX_BARS, lo=min_bars,
                        hi=MAX_PHRASE_BARS),
        )


def segmentation_key(beats_s: np.ndarray, phrases: Sequence[MusicPhrase]) -> str:
    """The one key of "this song cut into these phrases on this beat grid": features, scores
    and training shards all depend on exactly this (beats drive the rhythm features)."""
    h = hashlib.sha256()
    h.update(np.round(np.asarray(beats_s, dtype=np.float64), 4).tobytes())
    for p in phrases:
        h.update(f"{p.start_beat}:{p.end_beat}:{p.start_s:.4f}-{p.end_s:.4f};".encode())
    return h.hexdigest()[:24]


def phrase_span_key(phrase: MusicPhrase) -> tuple[float, float]:
    """A phrase's place in time (4 decimals), the same key :func:`segmentation_key` uses: a
    phrase with this key in two segmentations is the same stretch of music."""
    return (round(phrase.start_s, 4), round(phrase.end_s, 4))


def phrases_from_bounds(
    analysis: MusicAnalysis, bounds: Sequence[tuple[int, int]]
) -> list[MusicPhrase]:
    """The phrases ``[start_beat, end_beat)`` exactly as saved (a project reopens its cut
    without re-running the segmenter); bounds that do not tile the beats are a ChoreoError."""
    n_beats = analysis.n_beats
    edges = [int(a) for a, _b in bounds] + ([int(bounds[-1][1])] if bounds else [])
    tiles = (bool(bounds) and edges[0] == 0 and edges[-1] == n_beats
             and all(b == c for (_a, b), (c, _d) in zip(bounds, bounds[1:], strict=False))
             and all(a < b for a, b in bounds))
    if not tiles:
        raise ChoreoError(
            f"the saved phrases (beats {edges[0] if edges else '?'}–{edges[-1] if edges else '?'})"
            f" do not cover the song's {n_beats} beats"
        )
    downbeats = np.unique(analysis.downbeats[(analysis.downbeats >= 0)
                                             & (analysis.downbeats < n_beats)])
    return _phrases_from_boundaries(analysis, np.asarray(edges, dtype=np.int64), downbeats)


def segment(
    analysis: MusicAnalysis, constraints: SegmentConstraints | None = None
) -> list[MusicPhrase]:
    """Split the song's beats into phrases (dynamic programming over bar-line candidates).

    Raises ChoreoError when the song is shorter than ``min_bars`` bars or the user's pins leave a
    stretch that cannot be cut into phrases of ``min_bars``–``max_bars`` bars.
    """
    c = constraints or SegmentConstraints()
    if not 1 <= c.min_bars <= c.max_bars:
        raise ChoreoError(f"phrase lengths {c.min_bars}–{c.max_bars} bars: min must be ≤ max")
    n_beats = analysis.n_beats
    downbeats = np.unique(analysis.downbeats[(analysis.downbeats >= 0)
                                             & (analysis.downbeats < n_beats)])
    if n_beats < 2 or downbeats.size < c.min_bars:
        raise ChoreoError(
            f"song has {downbeats.size} bar(s); phrases need at least {c.min_bars} bars — use a "
            "longer song"
        )
    pinned = sorted({analysis.beat_at(t) for t in c.pinned_s} - {0})
    grid = np.unique(np.concatenate([[0], downbeats[1:], pinned, [n_beats]])).astype(np.int64)
    bars_before = np.searchsorted(downbeats, grid, side="left")  # downbeats strictly before
    forbidden = _forbidden_points(analysis, grid, downbeats, c.removed_s)
    is_pin = np.isin(grid, pinned)
    section_beats = _section_start_beats(analysis, downbeats)
    rest = _rest_scores(analysis, grid)
    cost = _solve(grid, bars_before, forbidden, is_pin, section_beats, rest, c)
    return _phrases_from_boundaries(analysis, cost, downbeats)


def _forbidden_points(
    analysis: MusicAnalysis, grid: np.ndarray, downbeats: np.ndarray, removed_s: tuple[float, ...]
) -> np.ndarray:
    forbidden = np.zeros(grid.size, dtype=bool)
    for t in removed_s:
        beat = analysis.beat_at(t)
        forbidden[int(np.argmin(np.abs(grid - beat)))] = True
    forbidden[0] = forbidden[-1] = False
    return forbidden


def _section_start_beats(analysis: MusicAnalysis, downbeats: np.ndarray) -> set[int]:
    """Beats (snapped to the nearest downbeat) where a section after the first one starts."""
    starts: set[int] = set()
    db_s = analysis.beats_s[downbeats]
    for section in analysis.sections[1:]:
        starts.add(int(downbeats[int(np.argmin(np.abs(db_s - section.start_s)))]))
    return starts


def _rest_scores(analysis: MusicAnalysis, grid: np.ndarray) -> np.ndarray:
    """How much the music rests in the beat before each candidate boundary, in [0, 1]."""
    beats = analysis.beats_s
    period = float(np.median(np.diff(beats))) if beats.size > 1 else 0.5
    env = analysis.onset_env
    env_ref = float(np.median(env[env > 0])) if np.any(env > 0) else 1.0
    scores = np.zeros(grid.size)
    for k, beat in enumerate(grid):
        t = beats[beat] if beat < beats.size else analysis.duration_s
        lo, hi = t - period, t - 0.1 * period
        m0 = int(max(lo * analysis.melody_fps, 0))
        m1 = int(max(hi * analysis.melody_fps, m0 + 1))
        voiced = analysis.melody_voiced[m0:m1]
        melody_rest = 1.0 - float(voiced.mean()) if voiced.size else 1.0
        o0 = int(max(lo * analysis.onset_fps, 0))
        o1 = int(max(hi * analysis.onset_fps, o0 + 1))
        window = env[o0:o1]
        level = float(window.mean()) / (2.0 * env_ref) if window.size else 0.0
        onset_rest = float(np.clip(1.0 - level, 0.0, 1.0))
        scores[k] = _MELODY_REST_SHARE * melody_rest + (1 - _MELODY_REST_SHARE) * onset_rest
    return scores


def _solve(
    grid: np.ndarray,
    bars_before: np.ndarray,
    forbidden: np.ndarray,
    is_pin: np.ndarray,
    section_beats: set[int],
    rest: np.ndarray,
    c: SegmentConstraints,
) -> np.ndarray:
    """Boundary beats minimising length + rest + section-crossing costs (pins are hard)."""
    n = grid.size
    is_section = np.array([int(b) in section_beats for b in grid])
    best = np.full(n, np.inf)
    back = np.full(n, -1, dtype=np.int64)
    best[0] = 0.0
    for j in range(1, n):
        if forbidden[j]:
            continue
        boundary_cost = 0.0 if j == n - 1 else _REST_WEIGHT * (1.0 - rest[j])
        for i in range(j - 1, -1, -1):
            bars = int(bars_before[j] - bars_before[i])
            if bars > c.max_bars:
                break
            if i < j - 1 and is_pin[i + 1 : j].any():
                break  # cannot span a pinned boundary
            if not np.isfinite(best[i]) or bars < c.min_bars:
                continue
            crossings = int(is_section[i + 1 : j].sum())
            total = (
                best[i]
                + _LENGTH_COST.get(bars, 1.5)
                + boundary_cost
                + _SECTION_CROSS_COST * crossings
            )
            if total < best[j] - 1e-12:
                best[j], back[j] = total, i
    if not np.isfinite(best[-1]):
        raise ChoreoError(
            "the pinned phrase boundaries leave a stretch that cannot be split into phrases of "
            f"{c.min_bars}–{c.max_bars} bars — move or un-pin a boundary"
        )
    bounds = [n - 1]
    while bounds[-1] != 0:
        bounds.append(int(back[bounds[-1]]))
    return grid[np.array(bounds[::-1])]


def _phrases_from_boundaries(
    analysis: MusicAnalysis, boundaries: np.ndarray, downbeats: np.ndarray
) -> list[MusicPhrase]:
    beats = analysis.beats_s
    phrases: list[MusicPhrase] = []
    for k, (start, end) in enumerate(zip(boundaries[:-1], boundaries[1:], strict=True)):
        start_s = 0.0 if k == 0 else float(beats[start])
        end_s = analysis.duration_s if end >= beats.size else float(beats[end])
        n_bars = int(np.count_nonzero((downbeats >= start) & (downbeats < end)))
        label = _section_label_at(analysis, 0.5 * (float(beats[start]) + float(beats[end - 1])))
        phrases.append(
            MusicPhrase(k, int(start), int(end), start_s, end_s, max(n_bars, 1), label)
        )
    return phrases


def _section_label_at(analysis: MusicAnalysis, time_s: float) -> str:
    for section in analysis.sections:
        if section.start_s <= time_s < section.end_s:
            return section.label
    return analysis.sections[-1].label if analysis.sections else ""
