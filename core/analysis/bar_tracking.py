"""Joint tempo / meter / downbeat decoding: a bar-pointer model solved by Viterbi over the song.

The idea of madmom's DBNDownBeatTrackingProcessor (Böck, Krebs & Widmer 2016), written here as
an equivalent semi-Markov recursion so that it vectorises in numpy: a path is a sequence of
beats, each with its beat period (the tempo) and its position in the bar, one sub-model per
meter. Between beats the position advances by one; the period may drift by a few frames per
beat (ritardando, accelerando) at a cost, or jump to any period at a larger cost that grows with
the octaves it spans (a tempo step). Every beat scores its onset evidence against the song's
typical onset; a bar's first beat also scores the harmony and bass change across it, and pays
for a bar line where nothing changes. The best path over the whole song fixes tempo, metrical
level, meter and bar phase together, so one weak bar cannot shift every later bar.

Frames inside a beat are deterministic in a bar-pointer HMM, so only beat frames need a
choice: the recursion runs over blocks of ``min period`` frames at once (no frame of a block
depends on another), with back-pointers kept as one byte per (frame, period, bar position).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from choreo_studio.core.analysis.activations import Activations

MIN_BPM = 55.0
MAX_BPM = 215.0
PRIOR_BPM = 115.0  # centre of the log-normal tempo prior (beats per minute)
PRIOR_OCTAVES = 0.9  # its width (std, octaves)
PRIOR_PER_S = 0.5  # weight of the prior per second of music (so it is independent of the level)
LEARNED_PRIOR_PER_S = 1.4  # ... when the network's evidence counts too: its beat probability is
# high on eighths as well as beats, so the prior weighs more in the choice of level (with the
# network trained on composed music too: 1.25-1.5 keep the best beats on the MIDI pieces and
# the most slow waltzes at ~87 BPM; 2.0 halves fast songs; 0.5 stays best for the onsets alone)
DRIFT_STEPS = 2  # the beat period may change by up to this many frames from one beat to the next
DRIFT_COST = 30.0  # cost per beat of a period change: DRIFT_COST * |log(new / old)|
JUMP_COST = 8.0  # cost of a tempo step to any period (a few per song at most)
JUMP_COST_PER_OCTAVE = 16.0  # ... plus this per octave of the step: a step to half or double
# tempo is a switch of metrical level far more often than a real tempo change
DOWNBEAT_WEIGHT = 0.6  # weight of the (standardised) downbeat cue at a bar's first beat
ACCENT_WEIGHT = 1.0  # weight of the loudness accent (0..1) in that cue; harmony/bass change is
# counted in standard deviations above its median (that part of the cue is never below 0)
CHANGE_SPREAD_FLOOR = 0.05  # ... but a song whose harmony barely moves has no such evidence
NO_CHANGE_WEIGHT = 0.5  # weight of the change BELOW its median at a bar's first beat (not
# zero-sum): bars start where chords change, so a bar line across unchanged harmony costs, and
# bars of half the true length (every other one across no change) lose to the true ones
ONSET_FLOOR = 0.05  # floor of the beat evidence (a beat in silence costs log(floor / BEAT_LEVEL))
LOUDNESS_SHARE = 0.5  # beat evidence = onset x loudness accent: soft notes between beats are
# onsets too (log flux hardly sees dynamics), but beats are where the loud sounds start
BEAT_LEVEL = 0.2  # a metrical level earns its beats when its loudness-weighted onsets reach
# this share of the local loudest (geometric mean): off-beat hats fall below it, the beats above.
# The evidence adds up per beat, so a level twice as dense gains where its extra beats score
# above 0; scaled per second instead (level-neutral, like madmom's DBN) it did worse on the
# MIDI pieces (beat F 0.86 -> 0.77): fast songs with strong off-beats were halved
SKIP_COST_PER_S = 2.0  # a path that starts after the first sound (or ends before the last) pays
# this per second left without beats: about what the beats it skips would have earned
LEARNED_BEAT_SHARE = 0.4  # beat evidence = up to this share of the network's beat probability
# + the rest of the onset evidence (when the learned activations were asked for)
LEARNED_DOWN_WEIGHT = 1.0  # weight of the network's downbeat probability in the downbeat cue
BAR_WINDOW_STEP = 0.03  # bar lengths this close share one harmony/bass change cue
METER_PRIOR = {4: 0.0, 3: -0.3, 2: -0.5}  # log prior per song: ties go to 4, then 3
_START, _JUMP = -128, 127


@dataclass(frozen=True)
class Model:
    """Scores the decoder reads: per-frame beat score, per-period costs and downbeat scores."""

    beat_score: np.ndarray  # float32 [frames] score of a beat at each frame
    periods: np.ndarray  # int64 [P] beat periods (frames), ascending
    period_cost: np.ndarray  # float32 [P] tempo prior per beat of each period
    down_score: dict[int, np.ndarray]  # beats per bar -> float16 [P, frames] downbeat score
    miss_score: dict[int, np.ndarray]  # ... -> float16 [P, frames] (<= 0) a bar line that
    # nothing changes across (scored at the bar's first beat only, not zero-sum)
    fps: float
    first: int  # first and last frame with sound
    last: int
    start_by: int  # a path may start at frames <= start_by
    end_from: int  # ... and end at frames >= end_from


@dataclass(frozen=True)
class Path:
    """One decoded beat sequence: frames, bar positions (0 = downbeat) and its total score."""

    frames: np.ndarray  # int64 [B]
    positions: np.ndarray  # int64 [B]
    beats_per_bar: int
    score: float


def build_model(
    act: Activations,
    min_bpm: float = MIN_BPM,
    max_bpm: float = MAX_BPM,
    prior_bpm: float = PRIOR_BPM,
    prior_octaves: float = PRIOR_OCTAVES,
    meters: tuple[int, ...] = (2, 3, 4),
) -> Model:
    """The decoder's scores for ``act`` with beat periods between ``min_bpm`` and ``max_bpm``.

    A downbeat's cue compares the bar before it with the bar after it (harmony and bass), so
    each meter has its own: bars of 3 beats are compared over 3 beat periods.
    """
    fps = act.fps
    lo = max(int(np.floor(fps * 60.0 / max_bpm)), 2)
    hi = max(int(np.ceil(fps * 60.0 / min_bpm)), lo + 1)
    periods = np.arange(lo, hi + 1, dtype=np.int64)
    octaves = np.log2(fps * 60.0 / periods / prior_bpm) / prior_octaves
    weight = PRIOR_PER_S if act.learned_beat is None else LEARNED_PRIOR_PER_S
    period_cost = -weight * (periods / fps) * 0.5 * octaves**2
    beat = act.beat * (1.0 - LOUDNESS_SHARE + LOUDNESS_SHARE * act.accent)
    if act.learned_beat is not None:
        # the network's beat probability counts where it is music-like (trust) and where the
        # network is sure either way: at p ~ 0.5 (an ambiguous eighth) the onsets decide
        share = (LEARNED_BEAT_SHARE * act.learned_trust
                 * np.abs(2.0 * act.learned_beat - 1.0))
        beat = (1.0 - share) * beat + share * act.learned_beat
    beat_score = np.log((beat + ONSET_FLOOR) / (BEAT_LEVEL + ONSET_FLOOR))
    accent = ACCENT_WEIGHT * act.accent
    if act.learned_down is not None:  # a constant cancels over a bar (the cue is zero-sum)
        # linear in the probability: a network unsure of the bar lines (small probabilities
        # everywhere) moves the cue little, a sure one (0.8 against 0.05) by a good share
        accent = accent + LEARNED_DOWN_WEIGHT * act.learned_trust * act.learned_down
    down, miss = {}, {}
    cues: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for meter in sorted(set(meters)):
        cue = np.empty((periods.size, beat.size), dtype=np.float32)
        none = np.empty((periods.size, beat.size), dtype=np.float32)
        for w, rows in _bar_windows(meter * periods).items():
            if w not in cues:
                change = act.change(w)
                spread = max(float(change.std()), CHANGE_SPREAD_FLOOR)
                z = (change - np.median(change)) / spread
                cues[w] = ((np.maximum(z, 0.0) + accent).astype(np.float32),
                           np.minimum(z, 0.0).astype(np.float32))
            cue[rows], none[rows] = cues[w]
        down[meter] = (DOWNBEAT_WEIGHT * cue).astype(np.float16)
        miss[meter] = ((DOWNBEAT_WEIGHT * NO_CHANGE_WEIGHT) * none).astype(np.float16)
    active = np.flatnonzero(act.level > 0.1)
    first = int(active[0]) if active.size else 0
    last = int(active[-1]) if active.size else beat.size - 1
    return Model(
        beat_score=beat_score.astype(np.float32),
        periods=periods,
        period_cost=period_cost.astype(np.float32),
        down_score=down,
        miss_score=miss,
        fps=fps,
        first=first,
        last=last,
        start_by=min(first + 4 * int(hi), beat.size - 1),
        end_from=max(last - 4 * int(hi), 0),
    )


def _bar_windows(bars: np.ndarray) -> dict[int, np.ndarray]:
    """Bar lengths (frames) grouped onto a grid ``BAR_WINDOW_STEP`` apart: window -> row indices.

    Bars a few per cent apart see the same harmony changes, so their cues are computed once.
    """
    grid = np.round(np.exp(np.round(np.log(bars) / np.log1p(BAR_WINDOW_STEP))
                           * np.log1p(BAR_WINDOW_STEP))).astype(np.int64)
    return {int(w): np.flatnonzero(grid == w) for w in np.unique(grid)}


def decode(model: Model, meters: tuple[int, ...]) -> list[Path]:
    """The best path of each meter (beats per bar), best first."""
    layout = _Layout(meters)
    periods = model.periods
    n_p, n_s, n_t = periods.size, layout.n_states, model.beat_score.size
    step = int(periods[0])
    ring = int(periods[-1]) + step + 1
    is_down = layout.is_down[None, :, None]  # states carry +cue or -cue / (m - 1)
    is_first = (layout.position == 0).astype(np.float32)[None, :, None]
    # leave[t, s, p]: best score of a path whose beat at t is followed, one period p later, by
    # a beat in state s (drift or jump already chosen); how is kept in leave_code. Arrays are
    # [.., state, period] so that the period axis, which every step scans, is contiguous.
    leave = np.full((ring, n_s, n_p), -np.inf, dtype=np.float32)
    leave_code = np.zeros((ring, n_s, n_p), dtype=np.int8)
    argbest_p = np.zeros((n_t, n_s), dtype=np.int16)
    back = np.zeros((n_t, n_s, n_p), dtype=np.int8)
    drift_cost = _drift_costs(periods)  # [D, P] cost of arriving at period p from p + d
    log_periods = np.log2(periods).astype(np.float32)
    start = layout.prior[None, :, None]
    cell = (np.arange(n_s)[:, None] * n_p + np.arange(n_p)[None, :])[None]  # [1, S, P]
    ends = [(-np.inf, 0, 0, 0)] * len(meters)
    for t0 in range(0, n_t, step):
        tb = np.arange(t0, min(t0 + step, n_t))
        rows = (tb[:, None] - periods[None, :]) % ring  # [B, P] frame of the previous beat
        at = rows[:, None, :] * (n_s * n_p) + cell  # [B, S, P] flat index into the ring
        best = np.take(leave, at)
        code = np.take(leave_code, at)
        if tb[0] <= model.start_by:
            late = SKIP_COST_PER_S * np.maximum(tb - model.first - periods[0], 0) / model.fps
            opening_score = start - late[:, None, None].astype(np.float32)
            opening = (opening_score > best) & (tb <= model.start_by)[:, None, None]
            best = np.where(opening, opening_score, best)
            code[opening] = _START
        new = best + (model.beat_score[tb][:, None, None] + model.period_cost[None, None, :]
                      + is_down * _block(model.down_score, meters, tb)[:, layout.meter_of]
                      + is_first * _block(model.miss_score, meters, tb)[:, layout.meter_of])
        argbest_p[tb] = new.argmax(axis=2)
        back[tb] = code
        moved, moved_code = _leave(new, drift_cost, log_periods)
        slots = tb % ring  # kept by the state of the NEXT beat: its predecessor's way on
        leave[slots] = moved[:, layout.pred]
        leave_code[slots] = moved_code[:, layout.pred]
        if tb[-1] >= model.end_from:
            tail = tb >= model.end_from
            early = SKIP_COST_PER_S * np.maximum(model.last - periods[0] - tb[tail], 0) / model.fps
            ends = _update_ends(ends, new[tail] - early[:, None, None].astype(np.float32),
                                tb[tail], layout)
    paths = [
        _backtrack(model, layout, back, argbest_p, end, meters[k])
        for k, end in enumerate(ends)
        if np.isfinite(end[0])
    ]
    return sorted(paths, key=lambda p: -p.score)


def _block(scores: dict[int, np.ndarray], meters: tuple[int, ...], frames: np.ndarray
           ) -> np.ndarray:
    """[B, meters, P] float32 slice of per-meter [P, frames] scores at the block's ``frames``."""
    block = np.stack([scores[m][:, frames[0] : frames[-1] + 1] for m in meters])
    return block.transpose(2, 0, 1).astype(np.float32)


def _leave(new: np.ndarray, drift_cost: np.ndarray, log_periods: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """[B, S, P] best way on from beats scored ``new`` [B, S, P] into each next period, and its
    code (the period change, or a jump from the best period)."""
    n_p = new.shape[2]
    padded = np.full(new.shape[:2] + (n_p + 2 * DRIFT_STEPS,), -np.inf, dtype=np.float32)
    padded[:, :, DRIFT_STEPS : DRIFT_STEPS + n_p] = new
    best = padded[:, :, :n_p] + drift_cost[0]
    code = np.zeros(best.shape, dtype=np.int8)  # index of the best move (first of equals)
    for d in range(1, 2 * DRIFT_STEPS + 1):
        moved = padded[:, :, d : d + n_p] + drift_cost[d]
        better = moved > best
        np.maximum(best, moved, out=best)
        _set_where(code, better, d)
    code -= DRIFT_STEPS
    source = new.argmax(axis=2)  # [B, S] the best period a tempo step leaves from
    octaves = np.abs(log_periods[None, None, :] - log_periods[source][:, :, None])
    jump = new.max(axis=2, keepdims=True) - JUMP_COST - JUMP_COST_PER_OCTAVE * octaves
    _set_where(code, jump > best, _JUMP)
    return np.maximum(best, jump), code


def _set_where(code: np.ndarray, mask: np.ndarray, value: int) -> None:
    """code[mask] = value, as arithmetic (several times faster than masked assignment)."""
    code *= ~mask
    code += mask.view(np.int8) * np.int8(value)


def path_score(model: Model, frames: np.ndarray, positions: np.ndarray) -> float:
    """Score of any beat sequence under the model (for metrical alternatives)."""
    frames = np.clip(np.asarray(frames, dtype=np.int64), 0, model.beat_score.size - 1)
    if frames.size < 2:
        return float(model.beat_score[frames].sum()) if frames.size else -np.inf
    gaps = np.diff(frames)
    gaps = np.concatenate([[gaps[0]], gaps])
    k = np.clip(np.searchsorted(model.periods, gaps), 0, model.periods.size - 1)
    total = float(model.beat_score[frames].sum() + model.period_cost[k].sum())
    size = int(np.asarray(positions).max()) + 1
    total += METER_PRIOR.get(size, -1.0)
    weight = np.where(np.asarray(positions) == 0, 1.0, -1.0 / max(size - 1, 1))
    total += float((weight * model.down_score[size][k, frames].astype(np.float64)).sum())
    total += float(model.miss_score[size][k, frames][np.asarray(positions) == 0].astype(
        np.float64).sum())
    change = DRIFT_COST * np.abs(np.log(gaps[1:] / np.maximum(gaps[:-1], 1)))
    step = JUMP_COST + JUMP_COST_PER_OCTAVE * np.abs(np.log2(gaps[1:] / np.maximum(gaps[:-1], 1)))
    return total - float(np.minimum(change, step).sum())


class _Layout:
    """The states of all meters side by side: bar position, its predecessor, downbeat flag."""

    def __init__(self, meters: tuple[int, ...]) -> None:
        self.meters = meters
        self.meter_of = np.concatenate([[k] * m for k, m in enumerate(meters)]).astype(np.int64)
        self.position = np.concatenate([np.arange(m) for m in meters]).astype(np.int64)
        offset = np.concatenate([[0], np.cumsum(meters)[:-1]]).astype(np.int64)
        size = np.asarray(meters, dtype=np.int64)
        self.pred = offset[self.meter_of] + (self.position - 1) % size[self.meter_of]
        # a bar's first beat scores +cue, the others -cue / (m - 1): the cue is zero-sum per bar,
        # so only a contrast between the downbeat and the rest of its bar counts
        self.is_down = np.where(self.position == 0, 1.0,
                                -1.0 / np.maximum(size[self.meter_of] - 1, 1)).astype(np.float32)
        self.prior = np.array([METER_PRIOR.get(meters[k], -1.0) for k in self.meter_of],
                              dtype=np.float32)
        self.n_states = int(self.pred.size)


def _drift_costs(periods: np.ndarray) -> np.ndarray:
    """[D, P] cost of a beat period p following period p + d - DRIFT_STEPS (-inf off the range)."""
    idx = np.arange(periods.size)[None, :] + np.arange(-DRIFT_STEPS, DRIFT_STEPS + 1)[:, None]
    valid = (idx >= 0) & (idx < periods.size)
    src = np.clip(idx, 0, periods.size - 1)
    cost = -DRIFT_COST * np.abs(np.log(periods[src] / periods[None, :]))
    return np.where(valid, cost, -np.inf).astype(np.float32)


def _update_ends(ends: list, new: np.ndarray, frames: np.ndarray, layout: _Layout) -> list:
    """Keep, per meter, the best (score, frame, period index, state) a path may end in."""
    out = list(ends)
    for k in range(len(layout.meters)):
        states = np.flatnonzero(layout.meter_of == k)
        block = new[:, states]
        b, s, p = np.unravel_index(int(np.argmax(block)), block.shape)
        value = float(block[b, s, p])
        if value > out[k][0]:
            out[k] = (value, int(frames[b]), int(p), int(states[s]))
    return out


def _backtrack(model: Model, layout: _Layout, back: np.ndarray, argbest_p: np.ndarray,
               end: tuple, beats_per_bar: int) -> Path:
    score, t, p, s = end
    frames, states = [t], [s]
    while True:
        code = int(back[t, s, p])
        if code == _START:
            break
        prev_t, prev_s = t - int(model.periods[p]), int(layout.pred[s])
        p = int(argbest_p[prev_t, prev_s]) if code == _JUMP else p + code
        t, s = prev_t, prev_s
        frames.append(t)
        states.append(s)
    positions = layout.position[np.asarray(states[::-1])]
    return Path(np.asarray(frames[::-1], dtype=np.int64), positions, beats_per_bar, score)
