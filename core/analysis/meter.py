"""Meter, downbeats and the metrical alternatives, from the decoder's paths (see bar_tracking).

The decoder chooses between bars of 3 and 4 beats (and any meter the user forces). Two finer
decisions are read off the chosen path: a 4-beat bar whose third beat is about as strong a bar
line as its first is two bars of 2 (2/4, or 6/8 with compound beats); and beats whose thirds
carry more onset than their halves are compound (dotted-quarter beats: 6/8, 9/8, 12/8). Every
grid a user might mean instead (half, double, ×3/2, ×2/3 tempo, the other meter, the downbeat
one beat later or earlier) is scored under the same model, so the choice and its margin show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from choreo_studio.core.analysis import bar_tracking, beat_tracking
from choreo_studio.core.analysis.beat_tracking import Decoded
from choreo_studio.core.analysis.music_analysis import MetricalAlternative
from choreo_studio.core.errors import ChoreoError

DEFAULT_METERS = (3, 4)
DUPLE_SHARE = 0.85  # beat 3 splits the bar in two when its bar-line cue is this share of beat 1's
DUPLE_SHARE_BAR = 0.5  # ... and over 4-beat bars at least this share
COMPOUND_RATIO = 1.25  # both thirds of the beat carry this many times its half's onset
COMPOUND_FLOOR = 0.1  # ... and at least this much (beat evidence, 0..1)
COMPOUND_MAX_BPM = 130.0  # faster beats split in three are swing or triplets, not 6/8 or 9/8
MARGIN_SCALE = 5.0  # score margin per minute at which the confidence reaches 1 - 1/e
CLARITY_FULL = 0.4  # pulse clarity from which the pulse counts as fully steady
READING_STEPS = {"half tempo": 2.0, "double tempo": 0.5, "x3/2 tempo": 2 / 3,
                 "x2/3 tempo": 1.5, "x1/3 tempo": 3.0, "x4/3 tempo": 0.75, "x3/4 tempo": 4 / 3}
"""The tempo readings offered, by name: beats of the chosen grid per beat of the reading (x4/3
and x3/4: the 4-against-3 errors, three beats of a bar counted as four or four as three)."""
READING_BPM = (30.0, 300.0)  # readings outside the tempi a user may force are not offered


@dataclass(frozen=True)
class MeterSpec:
    """A meter the user asks for: beats per bar and whether its beats are compound."""

    beats_per_bar: int
    compound: bool = False

    @property
    def decode_meter(self) -> int:
        """Bar length the decoder runs with (2-beat bars are decoded as pairs of bars)."""
        return 4 if self.beats_per_bar == 2 else self.beats_per_bar


@dataclass
class Grid:
    """The chosen beat grid and what it was chosen over."""

    beats_s: np.ndarray
    downbeats: np.ndarray
    beats_per_bar: int
    time_signature: str
    tempo_bpm: float
    tempo_map: np.ndarray
    confidence: float
    alternatives: list[MetricalAlternative] = field(default_factory=list)


def parse_meter(text: str) -> MeterSpec:
    """``"3/4"``, ``"6/8"``, ``"12/8"``… or a beat count → MeterSpec; a ChoreoError otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:/\s*(\d+))?\s*", str(text))
    if match:
        top, bottom = int(match.group(1)), int(match.group(2) or 4)
        if bottom == 8 and top % 3 == 0 and 6 <= top <= 12:
            return MeterSpec(top // 3, compound=True)
        if bottom in (2, 4) and 2 <= top <= 12:
            return MeterSpec(top)
    raise ChoreoError(
        f"meter {text!r} is not understood — give 2/4, 3/4, 4/4, 6/8, 9/8, 12/8 or a beat count"
    )


def time_signature(beats_per_bar: int, compound: bool) -> str:
    """Text of the meter: dotted-quarter beats are written in eighths (2 beats → 6/8)."""
    return f"{3 * beats_per_bar}/8" if compound else f"{beats_per_bar}/4"


def choose_grid(decoded: Decoded, spec: MeterSpec | None, clarity: float) -> Grid:
    """The best grid of ``decoded`` (under the user's ``spec``), its confidence and alternatives."""
    model = decoded.model
    path = decoded.paths[0]
    positions = path.positions
    bpb = path.beats_per_bar
    if (spec is None and bpb == 4 and is_duple(model, path)) or (
        spec is not None and spec.beats_per_bar == 2
    ):
        positions, bpb = positions % 2, 2
    compound = spec.compound if spec is not None else is_compound(decoded, path.frames)
    chosen = bar_tracking.path_score(model, path.frames, positions)
    alternatives = _alternatives(decoded, path.frames, positions, bpb, compound, chosen)
    beats_s = beat_tracking.beat_times(decoded, path.frames)
    # 2-beat bars are chosen over their 4-beat pairing by the duple rule, not by the score
    rivals = [a for a in alternatives if a.kind != "4 beats per bar"]
    margin = min((-a.score for a in rivals), default=MARGIN_SCALE)
    steady = float(np.clip(clarity / CLARITY_FULL, 0.0, 1.0))
    confidence = steady * (1.0 - float(np.exp(-max(margin, 0.0) / MARGIN_SCALE)))
    return Grid(
        beats_s=beats_s,
        downbeats=np.flatnonzero(positions == 0).astype(np.int64),
        beats_per_bar=bpb,
        time_signature=time_signature(bpb, compound),
        tempo_bpm=beat_tracking.global_tempo(beats_s),
        tempo_map=beat_tracking.tempo_map(beats_s),
        confidence=round(confidence, 3),
        alternatives=alternatives,
    )


def is_duple(model: bar_tracking.Model, path: bar_tracking.Path) -> bool:
    """True when beat 3 of the 4-beat bars is a bar line at both scales: about as strong as beat
    1 in the cues of 2-beat bars (harmony and bass compared over two beats before and after)
    and still a good share of it in the cues of 4-beat bars (in 4/4 with chords changing every
    half bar, beat 3 looks like a bar line over two beats but not over four)."""
    if path.frames.size < 8:
        return False
    period = float(np.median(np.diff(path.frames)))
    k = int(np.clip(np.searchsorted(model.periods, period), 0, model.periods.size - 1))
    for size, share in ((2, DUPLE_SHARE), (4, DUPLE_SHARE_BAR)):
        cue = model.down_score[size][k, path.frames]
        level = [float(cue[path.positions == j].mean()) for j in range(4)]
        weak = 0.5 * (level[1] + level[3])
        if not (level[0] > weak and level[2] - weak >= share * (level[0] - weak)):
            return False
    return True


def is_compound(decoded: Decoded, frames: np.ndarray) -> bool:
    """True when both thirds of the beats carry clearly more onset than their halves (a share
    ``COMPOUND_RATIO`` more, and at least ``COMPOUND_FLOOR``: silence is not compound)."""
    if frames.size < 4:
        return False
    beat = decoded.activations.beat
    start, period = frames[:-1].astype(np.float64), np.diff(frames).astype(np.float64)
    if 60.0 * decoded.activations.fps / float(np.median(period)) > COMPOUND_MAX_BPM:
        return False

    def strength(fraction: float) -> float:
        at = np.round(start + fraction * period).astype(np.int64)
        near = np.stack([beat[np.clip(at + d, 0, beat.size - 1)] for d in (-1, 0, 1)])
        return float(near.max(axis=0).mean())

    half, thirds = strength(0.5), min(strength(1 / 3), strength(2 / 3))
    return thirds >= COMPOUND_FLOOR and thirds > COMPOUND_RATIO * half


def downbeats_from(first_downbeat: int, beats_per_bar: int, n_beats: int) -> np.ndarray:
    """Downbeat indices every ``beats_per_bar`` beats through ``first_downbeat`` (both ways)."""
    phase = first_downbeat % beats_per_bar
    return np.arange(phase, n_beats, beats_per_bar, dtype=np.int64)


def _alternatives(
    decoded: Decoded, frames: np.ndarray, positions: np.ndarray, bpb: int, compound: bool,
    chosen: float,
) -> list[MetricalAlternative]:
    """The other readings of the song, scored per minute relative to the chosen grid (0)."""
    model = decoded.model
    minutes = max((frames[-1] - frames[0]) / model.fps / 60.0, 1e-3) if frames.size else 1.0
    candidates: list[tuple[str, np.ndarray, np.ndarray, int, bool]] = []  # ..., same beats?
    for kind, step in READING_STEPS.items():
        if frames.size < 4 * step:
            continue
        best = None
        for phase in reading_phases(step):
            grid = np.round(resampled(frames, step, phase)).astype(np.int64)
            labelled = _best_labels(model, grid)
            if best is None or labelled[2] > best[2]:
                best = (grid, *labelled)
        if best is not None:
            candidates.append((kind, best[0], best[1], best[3], False))
    for path in decoded.paths[1:]:
        candidates.append((f"{path.beats_per_bar} beats per bar", path.frames, path.positions,
                           path.beats_per_bar, True))
    if bpb == 2:
        candidates.append(("4 beats per bar", frames, _relabel(positions, 4), 4, True))
    for shift in range(1, bpb):
        kind = f"downbeat +{shift} beat{'s' if shift > 1 else ''}"
        candidates.append((kind, frames, (positions - shift) % bpb, bpb, True))
    out = []
    for kind, grid, labels, meter, same_beats in candidates:
        score = (bar_tracking.path_score(model, grid, labels) - chosen) / minutes
        times = beat_tracking.beat_times(decoded, grid)
        tempo = beat_tracking.global_tempo(times)
        if not READING_BPM[0] <= tempo <= READING_BPM[1]:
            continue
        first = times[np.flatnonzero(labels == 0)[0]] if np.any(labels == 0) else times[0]
        out.append(MetricalAlternative(
            kind=kind, tempo_bpm=round(tempo, 2),
            meter=time_signature(meter, compound and same_beats),
            first_downbeat_s=round(float(first), 4), score=round(float(score), 2),
        ))
    return sorted(out, key=lambda a: -a.score)


def resampled(beats: np.ndarray, step: float, phase: float = 0.0) -> np.ndarray:
    """Every ``step``-th beat from beat ``phase`` on, interpolated between beats (step 0.5
    adds the midpoints, 2/3 puts three beats on two): a tempo reading that keeps the tempo map."""
    index = np.arange(beats.size, dtype=np.float64)
    return np.interp(reading_index(beats.size, step, phase), index, beats)


def reading_index(n_beats: int, step: float, phase: float = 0.0) -> np.ndarray:
    """The (fractional) beat indices of :func:`resampled`'s beats."""
    return np.arange(phase, n_beats - 1 + 1e-9, step)


def reading_phases(step: float) -> np.ndarray:
    """The phases of every distinct ``step`` grid that starts on a beat: a reading of p beats
    per q (``step`` = p/q in lowest terms) meets the beats every p of them, in p ways."""
    return np.arange(float(Fraction(step).limit_denominator(12).numerator))


def reading_phase(beats: np.ndarray, step: float, at_s: float) -> float:
    """The phase of the ``step`` grid of ``beats`` (times) that has a beat nearest ``at_s``."""
    return float(min(reading_phases(step),
                     key=lambda ph: np.abs(resampled(beats, step, ph) - at_s).min()))


def _best_labels(
    model: bar_tracking.Model, frames: np.ndarray
) -> tuple[np.ndarray, float, int]:
    """(bar positions, score, beats per bar) of the best meter and phase for a beat sequence."""
    options = []
    for meter in DEFAULT_METERS:
        for phase in range(meter):
            labels = (np.arange(frames.size) - phase) % meter
            options.append((labels, bar_tracking.path_score(model, frames, labels), meter))
    return max(options, key=lambda option: option[1])


def _relabel(positions: np.ndarray, meter: int) -> np.ndarray:
    """Bar positions counted in ``meter`` from the first downbeat of ``positions``."""
    first = int(np.flatnonzero(positions == 0)[0]) if np.any(positions == 0) else 0
    return (np.arange(positions.size) - first) % meter
