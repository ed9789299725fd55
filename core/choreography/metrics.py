"""How well a rendered choreography fits its song: beat metrics and arrangement metrics.

* Beat coverage B_k / B_m and beat hit rate B_a / B_k (Lee et al. 2019): B_m music beats,
  B_k kinematic beats of the rendered motion (Lee et al.'s offset detector,
  :func:`core.motion.kinematic_beats.offset_beats`), B_a kinematic beats within ``hit_tolerance_s``
  of a music beat (the paper gives no tolerance; 0.1 s here, a fifth of a beat at 120 BPM).
  **Chance-corrected**: B_a / B_k depends on the tempo — with a ±0.1 s window, kinematic beats
  at random phases hit 29 % of the time at 87 BPM (waltz) and 62 % at 185 BPM — so it is
  reported beside its chance level (the mean hit rate of the same kinematic beats shifted by
  every offset across one beat period) and as (hit − chance) / (1 − chance): 0 = no more
  beat-locked than random, 1 = every kinematic beat on a beat. Real ballroom captures (Tang
  et al.) hit at chance by this detector (their steps glide; the offsets of a 25 fps marker
  capture do not fall on beats), so only the corrected figure compares across songs, tempi
  and motion sources.
* Beat Align Score as defined for AIST++ (Li et al. 2021, and its reference code): the mean
  over kinematic beats (local minima of the smoothed mean joint speed) of
  exp(−d² / 2σ²), d = distance to the nearest music beat, σ = 3 frames at 60 fps = 0.05 s.
  (Bailando's variant averages over music beats instead; not used here.)
* Beat hit rate of foot contacts: the same hit rate and chance with the kinematic beats taken
  as foot plants (:func:`core.motion.kinematic_beats.contact_onset_beats`), the step a
  ballroom dancer puts on the beat. The Tang captures are at chance by this definition too,
  and by the velocity minima and the root's bounce, under their own clock and under one fitted
  on half a dance and scored on the other (``benchmarks/bench_dancer_beats.py``): no
  definition shows them beat-locked, so "within 5 points of the real dancers" compares two
  chance levels there; beat-warped renders of the demo library score 0.66–0.97 above chance
  on the demo and Tang songs.
* Back-to-back repeat rate: share of neighbouring phrase pairs that got the same dance.
* Section consistency: share of phrase pairs tied by a repeated section (the k-th phrase of two
  occurrences of one section label, see `section_ties`) with the same dance;
  NaN when the song repeats no section.
* Variety: distinct dances per phrase, the most uses of one dance, returns (a dance again
  within 2 phrases of its last use), distinct dances per phrase with a dance repeated on a
  repeated section's tied phrases counted once, the most uses counting those phrases once
  (the music repeats there); placements beyond a dance's ``USE_LIMIT`` such uses
  are counted, and those where every other dance at or above half the best fit is a
  neighbour's or at its limit already are counted as forced by the fit floor.
* Fit (given the scorer's P [T, K]): mean chosen fit vs mean best fit, how many placements
  fit below half the best available, and how many of those were forced by the no-back-to-back
  rule (every dance at or above half the best is a neighbour's; ``decoding``'s priorities).
* Cuts (given the cut times): foot skating within ``CUT_WINDOW_S`` of a cut vs inside phrases
  (:mod:`core.motion.contacts`), the peak joint speed near cuts vs inside, floor penetration,
  and root drift (the farthest the root gets from where it starts, on the floor).
* Beats against a reference grid (ground truth, when given) besides the analysed beats.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
from choreo_studio.core.choreography.placements import Choreography
from choreo_studio.core.motion import contacts
from choreo_studio.core.motion.kinematic_beats import (
    beat_hit_rate,
    contact_onset_beats,
    offset_beats,
    velocity_minima_beats,
)
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.retrieval.decoding import section_ties

if TYPE_CHECKING:
    from choreo_studio.core.phrases.segmentation import MusicPhrase

HIT_TOLERANCE_S = 0.1
ALIGN_SIGMA_S = 3.0 / 60.0
CUT_WINDOW_S = 0.3
RETURN_WINDOW = 2
USE_LIMIT = 2
NAN = float("nan")


@dataclass(frozen=True)
class Metrics:
    """The numbers ``choreo eval`` and ``choreo auto`` print (NaN where undefined)."""

    n_music_beats: int
    n_kinematic_beats: int
    beat_coverage: float
    beat_hit_rate: float
    beat_align_score: float
    beat_hit_chance: float
    back_to_back_repeat_rate: float
    section_consistency: float
    distinct_dances: int
    distinct_per_phrase: float = NAN
    distinct_beside_repeats: float = NAN
    max_uses: int = 0
    returns_within_2: int = 0
    mean_fit: float = NAN
    mean_best_fit: float = NAN
    low_fit_placements: int = 0
    low_fit_forced: int = 0
    skating_near_cuts_cm_s: float = NAN
    skating_inside_cm_s: float = NAN
    peak_speed_near_cuts_m_s: float = NAN
    peak_speed_inside_m_s: float = NAN
    floor_penetration_cm: float = NAN
    root_drift_m: float = NAN
    reference_hit_rate: float = NAN
    reference_align_score: float = NAN
    contact_hit_rate: float = NAN
    contact_hit_chance: float = NAN
    max_unit_uses: int = 0
    overused_placements: int = 0
    overuse_forced: int = 0

    @property
    def beat_hit_above_chance(self) -> float:
        """(hit − chance) / (1 − chance) (module docstring)."""
        return above_chance(self.beat_hit_rate, self.beat_hit_chance)

    @property
    def contact_hit_above_chance(self) -> float:
        """The foot contacts' (hit − chance) / (1 − chance)."""
        return above_chance(self.contact_hit_rate, self.contact_hit_chance)

    def to_dict(self) -> dict[str, float | int | None]:
        """JSON-ready (NaN becomes None), with the chance-corrected hit rates."""
        values = asdict(self) | {"beat_hit_above_chance": self.beat_hit_above_chance,
                                 "contact_hit_above_chance": self.contact_hit_above_chance}
        return {k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in values.items()}


def beat_align_score_aist(kinematic_s: np.ndarray, music_s: np.ndarray,
                          sigma_s: float = ALIGN_SIGMA_S) -> float:
    """AIST++ Beat Align Score: mean over kinematic beats of exp(−d²/2σ²) to the nearest
    music beat (0 when there are no kinematic beats)."""
    k = np.asarray(kinematic_s, dtype=np.float64)
    m = np.sort(np.asarray(music_s, dtype=np.float64))
    if k.size == 0 or m.size == 0:
        return 0.0
    idx = np.clip(np.searchsorted(m, k), 1, max(m.size - 1, 1))
    d = np.minimum(np.abs(k - m[np.minimum(idx, m.size - 1)]), np.abs(k - m[idx - 1]))
    return float(np.mean(np.exp(-(d**2) / (2.0 * sigma_s**2))))


CHANCE_SHIFTS = 48


def chance_hit_rate(kinematic_s: np.ndarray, music_s: np.ndarray, tolerance_s: float,
                    shifts: int = CHANCE_SHIFTS) -> float:
    """The hit rate these kinematic beats would get at random phase: their mean hit rate when
    shifted by each of ``shifts`` offsets spread over one (median) beat period."""
    k = np.asarray(kinematic_s, dtype=np.float64)
    m = np.sort(np.asarray(music_s, dtype=np.float64))
    if k.size == 0:
        return NAN
    if m.size < 2:
        return 0.0
    period = float(np.median(np.diff(m)))
    offsets = (np.arange(shifts) + 0.5) / shifts * period
    return float(np.mean([beat_hit_rate(k + o, m, tolerance_s) for o in offsets]))


def above_chance(hit: float, chance: float) -> float:
    """(hit − chance) / (1 − chance); NaN where undefined."""
    if math.isnan(hit) or math.isnan(chance) or chance >= 1.0:
        return NAN
    return (hit - chance) / (1.0 - chance)


def repeat_rate(dance_ids: Sequence[str]) -> float:
    """Share of neighbouring pairs with the same dance (NaN for fewer than two phrases)."""
    if len(dance_ids) < 2:
        return float("nan")
    return float(np.mean([a == b for a, b in zip(dance_ids, dance_ids[1:], strict=False)]))


def section_consistency(dance_ids: Sequence[str], section_labels: Sequence[str]) -> float:
    """Share of tied phrase pairs (repeated sections) with the same dance; NaN if none."""
    pairs = [pair for group in section_ties(section_labels) for pair in combinations(group, 2)]
    if not pairs:
        return float("nan")
    return float(np.mean([dance_ids[a] == dance_ids[b] for a, b in pairs]))


def returns_within(dance_ids: Sequence[str], window: int = RETURN_WINDOW) -> int:
    """How many phrases reuse a dance that was on one of the ``window`` phrases before."""
    return sum(d in dance_ids[max(0, t - window):t] for t, d in enumerate(dance_ids))


def repeat_copies(dance_ids: Sequence[str], section_labels: Sequence[str]) -> int:
    """Phrases that repeat the dance of an earlier phrase of their section-tie group (the music
    repeats there, and so does the dance)."""
    return sum(dance_ids[t] in {dance_ids[s] for s in group[:i]}
               for group in section_ties(section_labels) for i, t in enumerate(group))


def unit_uses(dance_ids: Sequence[str], section_labels: Sequence[str],
              scores: np.ndarray | None = None, dance_indices: Sequence[int] | None = None,
              limit: int = USE_LIMIT) -> tuple[int, int, int]:
    """(most uses of one dance counting each repeated-section tie group once, placements in
    uses beyond ``limit``, those of them forced by the fit floor: every other dance at or above
    half the phrase's best fit is a neighbour's or already on ``limit`` other units; needs
    ``scores`` and ``dance_indices``)."""
    unit = list(range(len(dance_ids)))
    for group in section_ties(section_labels):
        for t in group:
            unit[t] = group[0]
    seen: dict[str, list[int]] = {}
    over = []
    for t, d in enumerate(dance_ids):
        units = seen.setdefault(d, [])
        if unit[t] not in units:
            units.append(unit[t])
            if len(units) > limit:
                over.append(t)
    forced = 0
    if scores is not None and dance_indices is not None and over:
        p, d = np.asarray(scores, dtype=np.float64), np.asarray(dance_indices, dtype=np.int64)
        units_of = {int(k): {unit[t] for t in np.flatnonzero(d == k)} for k in np.unique(d)}
        for t in over:
            near = {int(d[s]) for s in (t - 1, t, t + 1) if 0 <= s < len(d)}
            full = {k for k, u in units_of.items() if len(u - {unit[t]}) >= limit}
            forced += set(np.flatnonzero(p[t] >= 0.5 * p[t].max()).tolist()) <= near | full
    return max((len(u) for u in seen.values()), default=0), len(over), forced


def fit_figures(scores: np.ndarray, chosen: Sequence[int]) -> tuple[float, float, int, int]:
    """(mean chosen fit, mean best fit, placements below half their phrase's best fit, those of
    them whose every dance at or above half the best is on a neighbouring phrase)."""
    p = np.asarray(scores, dtype=np.float64)
    d = np.asarray(chosen, dtype=np.int64)
    got = p[np.arange(len(d)), d]
    best = p.max(axis=1)
    low = np.flatnonzero(got < 0.5 * best)
    forced = sum(set(np.flatnonzero(p[t] >= 0.5 * best[t]).tolist())
                 <= {int(d[s]) for s in (t - 1, t + 1) if 0 <= s < len(d)} for t in low)
    return float(got.mean()), float(best.mean()), int(low.size), int(forced)


def near_times(n_frames: int, fps: float, times_s: Sequence[float],
               window_s: float = CUT_WINDOW_S) -> np.ndarray:
    """Boolean frame mask: frames within ``window_s`` of any of ``times_s``."""
    t = np.arange(n_frames) / fps
    mask = np.zeros(n_frames, dtype=bool)
    for c in times_s:
        mask |= np.abs(t - c) <= window_s
    return mask


def peak_joint_speed_m_s(positions_cm: np.ndarray, fps: float, frames: np.ndarray) -> float:
    """Fastest joint (m/s, root-relative so travel does not count) over the masked frames."""
    if positions_cm.shape[0] < 2 or not frames.any():
        return NAN
    rel = positions_cm - positions_cm[:, :1]
    speed = np.linalg.norm(np.gradient(rel, axis=0), axis=-1).max(axis=1) * fps / 100.0
    return float(speed[frames].max())


def root_drift_m(root_cm: np.ndarray) -> float:
    """The farthest the root gets (m, on the floor) from where it starts."""
    floor = np.asarray(root_cm, dtype=np.float64)[:, [0, 2]]
    return float(np.linalg.norm(floor - floor[0], axis=1).max() / 100.0)


@dataclass(frozen=True)
class MotionFigures:
    """Skating, speed, penetration and drift of one performance (see :func:`motion_figures`)."""

    skating_near_cuts_cm_s: float
    skating_inside_cm_s: float
    peak_speed_near_cuts_m_s: float
    peak_speed_inside_m_s: float
    floor_penetration_cm: float
    root_drift_m: float


def motion_figures(positions_cm: np.ndarray, feet_cm: np.ndarray, root_cm: np.ndarray,
                   fps: float, cuts_s: Sequence[float], floor_cm: float = 0.0) -> MotionFigures:
    """Foot and speed figures near ``cuts_s`` vs inside phrases, penetration and drift; works on
    rendered motion (floor 0) and on captured positions (pass their estimated floor)."""
    near = near_times(positions_cm.shape[0], fps, cuts_s)
    inside = ~near
    return MotionFigures(
        skating_near_cuts_cm_s=contacts.skating_cm_s(feet_cm, fps, near, floor_cm),
        skating_inside_cm_s=contacts.skating_cm_s(feet_cm, fps, inside, floor_cm),
        peak_speed_near_cuts_m_s=peak_joint_speed_m_s(positions_cm, fps, near),
        peak_speed_inside_m_s=peak_joint_speed_m_s(positions_cm, fps, inside),
        floor_penetration_cm=(contacts.penetration_cm(feet_cm, floor_cm)
                              if feet_cm.shape[1] else NAN),
        root_drift_m=root_drift_m(root_cm),
    )


def evaluate(
    choreography: Choreography,
    motion: Motion,
    beats_s: np.ndarray,
    phrases: Sequence[MusicPhrase],
    *,
    cuts_s: Sequence[float] | None = None,
    scores: np.ndarray | None = None,
    dance_indices: Sequence[int] | None = None,
    reference_beats_s: np.ndarray | None = None,
    hit_tolerance_s: float = HIT_TOLERANCE_S,
) -> Metrics:
    """All metrics of a rendered ``motion`` against the song's ``beats_s`` and phrases.

    ``cuts_s`` are the times where one play meets the next (default: the phrase starts);
    ``scores`` (P [T, K]) with ``dance_indices`` give the fit figures; ``reference_beats_s``
    (ground truth) gives a second hit rate and Beat Align Score.
    """
    positions = motion.fk()
    music = np.asarray(beats_s, dtype=np.float64)
    kinematic = offset_beats(positions, motion.fps) / motion.fps
    align_beats = velocity_minima_beats(positions, motion.fps) / motion.fps
    ids = choreography.dance_ids
    if cuts_s is None:
        cuts_s = [p.start_s for p in phrases[1:]]
    feet, owner = contacts.foot_positions(motion)
    plants = contact_onset_beats(feet, owner, motion.fps) / motion.fps
    labels = [p.section_label for p in phrases]
    most, over, forced = unit_uses(ids, labels, scores, dance_indices)
    figures = motion_figures(positions, feet, motion.root_pos_cm, motion.fps, cuts_s)
    fit = (fit_figures(scores, dance_indices) if scores is not None and dance_indices is not None
           else (NAN, NAN, 0, 0))
    ref = None if reference_beats_s is None else np.asarray(reference_beats_s, np.float64)
    uses = Counter(ids)
    return Metrics(
        n_music_beats=int(music.size),
        n_kinematic_beats=int(kinematic.size),
        beat_coverage=float(kinematic.size / music.size) if music.size else float("nan"),
        beat_hit_rate=beat_hit_rate(kinematic, music, hit_tolerance_s),
        beat_align_score=beat_align_score_aist(align_beats, music),
        beat_hit_chance=chance_hit_rate(kinematic, music, hit_tolerance_s),
        back_to_back_repeat_rate=repeat_rate(ids),
        section_consistency=section_consistency(ids, labels),
        distinct_dances=len(set(ids)),
        distinct_per_phrase=len(uses) / len(ids) if ids else NAN,
        distinct_beside_repeats=(len(uses) / (len(ids) - repeat_copies(ids, labels))
                                 if ids else NAN),
        max_uses=max(uses.values(), default=0),
        returns_within_2=returns_within(ids),
        mean_fit=fit[0],
        mean_best_fit=fit[1],
        low_fit_placements=fit[2],
        low_fit_forced=fit[3],
        **asdict(figures),
        reference_hit_rate=(NAN if ref is None
                            else beat_hit_rate(kinematic, ref, hit_tolerance_s)),
        reference_align_score=(NAN if ref is None
                               else beat_align_score_aist(align_beats, ref)),
        contact_hit_rate=beat_hit_rate(plants, music, hit_tolerance_s),
        contact_hit_chance=chance_hit_rate(plants, music, hit_tolerance_s),
        max_unit_uses=most,
        overused_placements=over,
        overuse_forced=forced,
    )


def format_metrics(metrics: Metrics) -> str:
    """The metrics as aligned ``name  value`` lines for the terminal."""
    def pct(v: float) -> str:
        return "n/a" if math.isnan(v) else f"{100 * v:.1f}%"

    def num(v: float, fmt: str) -> str:
        return "n/a" if math.isnan(v) else format(v, fmt)

    rows = [
        ("beat coverage (Lee et al.)", pct(metrics.beat_coverage)
         + f"  ({metrics.n_kinematic_beats} kinematic / {metrics.n_music_beats} music beats)"),
        ("beat hit rate (Lee et al.)", pct(metrics.beat_hit_rate)
         + f"  (chance {pct(metrics.beat_hit_chance)}, above chance "
         f"{num(metrics.beat_hit_above_chance, '.2f')})"),
        ("beat hit rate (foot contacts)", pct(metrics.contact_hit_rate)
         + f"  (chance {pct(metrics.contact_hit_chance)}, above chance "
         f"{num(metrics.contact_hit_above_chance, '.2f')})"),
        ("beat align score (AIST++)", "n/a" if math.isnan(metrics.beat_align_score)
         else f"{metrics.beat_align_score:.3f}"),
        ("back-to-back repeats", pct(metrics.back_to_back_repeat_rate)),
        ("section consistency", pct(metrics.section_consistency)),
        ("distinct dances", f"{metrics.distinct_dances}  ({num(metrics.distinct_per_phrase, '.2f')}"
         f" per phrase, {num(metrics.distinct_beside_repeats, '.2f')} beside the music's repeats,"
         f" at most {metrics.max_uses} uses of one, {metrics.max_unit_uses} counting"
         f" repeated music once; {metrics.overused_placements} beyond {USE_LIMIT}, "
         f"{metrics.overuse_forced} of them forced by the fit floor)"),
        ("returns within 2 phrases", str(metrics.returns_within_2)),
        ("music fit chosen / best", f"{num(metrics.mean_fit, '.3f')} / "
         f"{num(metrics.mean_best_fit, '.3f')}  ({metrics.low_fit_placements} below half "
         f"the best, {metrics.low_fit_forced} of them forced by no back-to-back)"),
        ("foot skating near cuts", f"{num(metrics.skating_near_cuts_cm_s, '.1f')} cm/s  "
         f"(inside phrases {num(metrics.skating_inside_cm_s, '.1f')} cm/s)"),
        ("peak joint speed at cuts", f"{num(metrics.peak_speed_near_cuts_m_s, '.2f')} m/s  "
         f"(inside phrases {num(metrics.peak_speed_inside_m_s, '.2f')} m/s)"),
        ("floor penetration", f"{num(metrics.floor_penetration_cm, '.2f')} cm"),
        ("root drift", f"{num(metrics.root_drift_m, '.2f')} m"),
    ]
    if not math.isnan(metrics.reference_hit_rate):
        rows.insert(3, ("hit rate / align vs reference beats",
                        f"{pct(metrics.reference_hit_rate)} / "
                        f"{num(metrics.reference_align_score, '.3f')}"))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
