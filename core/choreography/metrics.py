"""How well a rendered choreography fits its song: beat metrics and arrangement metrics.

* Beat coverage B_k / B_m and beat hit rate B_a / B_k (Lee et al. 2019): B_m music beats,
  B_k kinematic beats of the rendered motion (Lee et al.'s offset detector,
  :func:`core.motion.kinematic_beats.offset_beats`), B_a kinematic beats within ``hit_tolerance_s``
  of a music beat (the paper gives no tolerance; 0.1 s here, a fifth of a beat at 120 BPM).
* Beat Align Score as defined for AIST++ (Li et al. 2021, and its reference code): the mean
  over kinematic beats (local minima of the smoothed mean joint speed) of
  exp(−d² / 2σ²), d = distance to the nearest music beat, σ = 3 frames at 60 fps = 0.05 s.
  (Bailando's variant averages over music beats instead; not used here.)
* Back-to-back repeat rate: share of neighbouring phrase pairs that got the same dance.
* Section consistency: share of phrase pairs tied by a repeated section (the k-th phrase of two
  occurrences of one section label, see `section_ties`) with the same dance;
  NaN when the song repeats no section.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
from choreo_studio.core.choreography.placements import Choreography
from choreo_studio.core.motion.kinematic_beats import (
    beat_hit_rate,
    offset_beats,
    velocity_minima_beats,
)
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.retrieval.decoding import section_ties

if TYPE_CHECKING:
    from choreo_studio.core.phrases.segmentation import MusicPhrase

HIT_TOLERANCE_S = 0.1
ALIGN_SIGMA_S = 3.0 / 60.0


@dataclass(frozen=True)
class Metrics:
    """The numbers ``choreo eval`` and ``choreo auto`` print (NaN where undefined)."""

    n_music_beats: int
    n_kinematic_beats: int
    beat_coverage: float
    beat_hit_rate: float
    beat_align_score: float
    back_to_back_repeat_rate: float
    section_consistency: float
    distinct_dances: int

    def to_dict(self) -> dict[str, float | int | None]:
        """JSON-ready (NaN becomes None)."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in asdict(self).items()}


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


def evaluate(
    choreography: Choreography,
    motion: Motion,
    beats_s: np.ndarray,
    phrases: Sequence[MusicPhrase],
    *,
    hit_tolerance_s: float = HIT_TOLERANCE_S,
) -> Metrics:
    """All metrics of a rendered ``motion`` against the song's ``beats_s`` and phrases."""
    positions = motion.fk()
    music = np.asarray(beats_s, dtype=np.float64)
    kinematic = offset_beats(positions, motion.fps) / motion.fps
    align_beats = velocity_minima_beats(positions, motion.fps) / motion.fps
    ids = choreography.dance_ids
    return Metrics(
        n_music_beats=int(music.size),
        n_kinematic_beats=int(kinematic.size),
        beat_coverage=float(kinematic.size / music.size) if music.size else float("nan"),
        beat_hit_rate=beat_hit_rate(kinematic, music, hit_tolerance_s),
        beat_align_score=beat_align_score_aist(align_beats, music),
        back_to_back_repeat_rate=repeat_rate(ids),
        section_consistency=section_consistency(ids, [p.section_label for p in phrases]),
        distinct_dances=len(set(ids)),
    )


def format_metrics(metrics: Metrics) -> str:
    """The metrics as aligned ``name  value`` lines for the terminal."""
    def pct(v: float) -> str:
        return "n/a" if math.isnan(v) else f"{100 * v:.1f}%"

    rows = [
        ("beat coverage (Lee et al.)", pct(metrics.beat_coverage)
         + f"  ({metrics.n_kinematic_beats} kinematic / {metrics.n_music_beats} music beats)"),
        ("beat hit rate (Lee et al.)", pct(metrics.beat_hit_rate)),
        ("beat align score (AIST++)", "n/a" if math.isnan(metrics.beat_align_score)
         else f"{metrics.beat_align_score:.3f}"),
        ("back-to-back repeats", pct(metrics.back_to_back_repeat_rate)),
        ("section consistency", pct(metrics.section_consistency)),
        ("distinct dances", str(metrics.distinct_dances)),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
