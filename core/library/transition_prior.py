"""The transition prior M0 (K×K): how plausible it is that dance phrase b follows phrase a.

The paper (Duan et al. 2021, §3.5 and Alg. 1) initialises the transition matrix "based on the
style of dance phrases (similar dance moves are allowed to transfer)" and clips it to
[0.01, 1]. We add pose continuity so that phrases that connect without a jump score higher:

    M0[a, b] = clip( S(a, b) · E(a, b) · (λ + (1 − λ) · C(a, b)), 0.01, 1 )

* ``S(a, b)`` style similarity: 1 for the same style, the affinity in ``STYLE_AFFINITY`` for
  related styles (e.g. popping/locking, hip-hop/urban), ``DEFAULT_AFFINITY`` otherwise.
* ``E(a, b) = 1 − 0.1 · |energy_a − energy_b|``: large energy jumps are a little less likely.
* ``C(a, b) = exp(−d² / 2σ²)`` pose continuity, where ``d`` is the RMS joint distance (cm)
  between the end pose of a and the start pose of b, both root-aligned (root above the
  origin, facing +Z: the engine re-aligns every phrase's root to where the previous ended),
  and ``σ`` is the median of all such distances (so the scale adapts to the library).
* ``λ = 0.5`` keeps style dominant: a same-style pair never drops below 0.5·E.
"""

from __future__ import annotations

import numpy as np
from choreo_studio.core.library.library import DancePhrase

POSE_WEIGHT_FLOOR = 0.5
DEFAULT_AFFINITY = 0.15
ENERGY_PENALTY = 0.1
STYLE_AFFINITY: dict[frozenset[str], float] = {
    frozenset(p): v
    for p, v in [
        (("hip-hop", "urban"), 0.5),
        (("hip-hop", "breaking"), 0.35),
        (("hip-hop", "locking"), 0.3),
        (("hip-hop", "popping"), 0.3),
        (("popping", "locking"), 0.45),
        (("urban", "jazz"), 0.35),
        (("urban", "k-pop"), 0.4),
        (("urban", "popping"), 0.25),
        (("k-pop", "jazz"), 0.35),
        (("k-pop", "ACGN"), 0.5),
        (("jazz", "ACGN"), 0.25),
        (("breaking", "urban"), 0.25),
    ]
}


def style_similarity(styles: list[str]) -> np.ndarray:
    """``S[a, b]`` for a list of phrase styles (1 on the same style)."""
    names = sorted(set(styles))
    table = np.full((len(names), len(names)), DEFAULT_AFFINITY)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            table[i, j] = 1.0 if a == b else STYLE_AFFINITY.get(frozenset((a, b)), DEFAULT_AFFINITY)
    idx = np.array([names.index(s) for s in styles], dtype=np.int64)
    return table[idx[:, None], idx[None, :]]


def pose_distance_cm(end_poses: np.ndarray, start_poses: np.ndarray) -> np.ndarray:
    """RMS joint distance ``[K, K]`` between end pose of a (rows) and start pose of b (cols)."""
    e = np.asarray(end_poses, dtype=np.float64)
    s = np.asarray(start_poses, dtype=np.float64)
    n_joints = max(e.shape[1] // 3, 1)
    sq = (e * e).sum(1)[:, None] + (s * s).sum(1)[None, :] - 2.0 * (e @ s.T)
    return np.sqrt(np.maximum(sq, 0.0) / n_joints)


def build_transition_prior(phrases: list[DancePhrase]) -> np.ndarray:
    """M0 ``[K, K]`` float32 in [0.01, 1] by the formula in the module docstring."""
    if not phrases:
        return np.zeros((0, 0), dtype=np.float32)
    style = style_similarity([p.style for p in phrases])
    energy = np.array([p.energy for p in phrases], dtype=np.float64)
    energy_factor = np.clip(1.0 - ENERGY_PENALTY * np.abs(energy[:, None] - energy[None, :]), 0, 1)
    dist = pose_distance_cm(
        np.stack([p.end_pose for p in phrases]), np.stack([p.start_pose for p in phrases])
    )
    sigma = max(float(np.median(dist)), 1e-3)
    continuity = np.exp(-(dist**2) / (2.0 * sigma**2))
    m0 = style * energy_factor * (POSE_WEIGHT_FLOOR + (1.0 - POSE_WEIGHT_FLOOR) * continuity)
    return np.clip(m0, 0.01, 1.0).astype(np.float32)
