"""The transition prior M0 and the per-phrase cut features, the two inputs of the transition score.

**M0** (K×K): how plausible it is that dance phrase b follows phrase a by style. The paper
(Duan et al. 2021, §3.5 and Alg. 1) initialises the transition matrix "based on the style of
dance phrases (similar dance moves are allowed to transfer)" and clips it to [0.01, 1]:

    M0[a, b] = clip( S(a, b) · E(a, b), 0.01, 1 )

* ``S(a, b)`` style similarity: 1 for the same style, the affinity in ``STYLE_AFFINITY`` for
  related styles (e.g. popping/locking, hip-hop/urban), ``DEFAULT_AFFINITY`` otherwise.
* ``E(a, b) = 1 − 0.1 · |energy_a − energy_b|``: large energy jumps are a little less likely.

M0 depends only on the (style, energy) group of each phrase, so it is held factored
(:func:`prior_factors`: a group per phrase and a small group × group table) and made dense
only for libraries up to ``DENSE_LIMIT`` phrases (float32 straight from the table, no
temporaries). How well two phrases connect in pose is no longer folded into M0: it is the
kinematic **cut cost**, measured at the actual cut frames from per-phrase features
(:func:`cut_features`, K × d): the root-aligned joint positions and velocities at the first
count (where a phrase is entered) and at the last frame (where it is left), scaled so that

    cut(a, b) = d_pose(a, b)² / 2σ_p² + d_vel(a, b)² / 2σ_v²

(RMS joint distances in cm and cm/s; σ the library's median over sampled pairs), the negative
log of a Gaussian continuity likelihood (exp(−cut) was M0's pose term before). Mirroring swaps
left and right joints and negates x, so ``start_mirrored`` serves cuts where exactly one side
is mirrored (mirroring both sides leaves the distance unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from choreo_studio.core.library.library import DancePhrase
from choreo_studio.core.motion.motion_descriptors import body_frame_positions

SCALE_SAMPLE = 4096
BLOCK_CELLS = 1 << 21  # cells of one [rows, cols, d] temporary when computing cut costs
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


@dataclass(frozen=True)
class CutFeatures:
    """Per-phrase features at the cut frames (``[K, d]`` float32), scaled so ‖end − start‖² is
    the kinematic cost in nats."""

    end: np.ndarray
    start: np.ndarray
    start_mirrored: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("end", "start", "start_mirrored"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, np.ascontiguousarray(value, dtype=np.float32))
        if self.end.shape != self.start.shape or self.end.ndim != 2:
            raise ValueError(f"cut features must be [K, d] alike, got {self.end.shape} and "
                             f"{self.start.shape}")

    @property
    def k(self) -> int:
        return self.end.shape[0]

    def cost(self, rows: np.ndarray, cols: np.ndarray, *, mirrored: bool = False) -> np.ndarray:
        """cut(rows[i], cols[j]) as float32 ``[R, C]`` (element-wise, shape-independent)."""
        starts = self.start_mirrored if mirrored and self.start_mirrored is not None else (
            self.start)
        e = self.end[rows]
        s = starts[cols]
        out = np.empty((e.shape[0], s.shape[0]), dtype=np.float32)
        step = max(1, BLOCK_CELLS // max(s.shape[0] * max(e.shape[1], 1), 1))
        for a in range(0, e.shape[0], step):
            diff = (e[a : a + step, None, :] - s[None, :, :]).astype(np.float64)
            np.square(diff, out=diff)
            out[a : a + step] = diff.sum(axis=-1)  # float64: the same float32 at any shape
        return out


def style_similarity(styles: list[str]) -> np.ndarray:
    """``S[a, b]`` for a list of phrase styles (1 on the same style)."""
    names = sorted(set(styles))
    table = np.full((len(names), len(names)), DEFAULT_AFFINITY)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            table[i, j] = 1.0 if a == b else STYLE_AFFINITY.get(frozenset((a, b)), DEFAULT_AFFINITY)
    idx = np.array([names.index(s) for s in styles], dtype=np.int64)
    return table[idx[:, None], idx[None, :]]


def prior_factors(phrases: list[DancePhrase]) -> tuple[np.ndarray, np.ndarray]:
    """(group per phrase [K], M0 per group pair [G, G] float32): M0 = table[g_a, g_b]."""
    keys = sorted({(p.style, int(p.energy)) for p in phrases})
    index = {key: i for i, key in enumerate(keys)}
    groups = np.array([index[(p.style, int(p.energy))] for p in phrases], dtype=np.int64)
    style = style_similarity([k[0] for k in keys])
    energy = np.array([k[1] for k in keys], dtype=np.float64)
    energy_factor = np.clip(1.0 - ENERGY_PENALTY * np.abs(energy[:, None] - energy[None, :]), 0, 1)
    return groups, np.clip(style * energy_factor, 0.01, 1.0).astype(np.float32)


def build_transition_prior(phrases: list[DancePhrase]) -> np.ndarray:
    """M0 ``[K, K]`` float32 in [0.01, 1] by the formula in the module docstring."""
    if not phrases:
        return np.zeros((0, 0), dtype=np.float32)
    groups, table = prior_factors(phrases)
    return table[groups[:, None], groups[None, :]]


def cut_features(phrases: list[DancePhrase], mirror: np.ndarray | None = None,
                 sample: int = SCALE_SAMPLE, seed: int = 0) -> CutFeatures:
    """Start/end cut features ``[K, d]`` of the phrases (module docstring); ``mirror`` is the
    skeleton's left/right joint permutation (``Skeleton.mirror_indices``)."""
    starts = np.stack([_pose_and_velocity(p, _entry_frame(p)) for p in phrases])
    ends = np.stack([_pose_and_velocity(p, p.motion.n_frames - 1) for p in phrases])
    n_joints = starts.shape[2]
    rng = np.random.default_rng(seed)
    a = rng.integers(0, len(phrases), sample)
    b = rng.integers(0, len(phrases), sample)
    scale = []
    for kind in range(2):  # 0: pose (cm), 1: velocity (cm/s)
        rms = np.sqrt(((ends[a, kind] - starts[b, kind]) ** 2).sum(-1).mean(-1))
        sigma = max(float(np.median(rms)), 1e-3)
        scale.append(1.0 / (sigma * np.sqrt(2.0 * n_joints)))
    weights = np.array(scale, dtype=np.float64)[None, :, None, None]

    def flat(x: np.ndarray) -> np.ndarray:
        return (x * weights).reshape(len(x), -1).astype(np.float32)

    mirrored = None
    if mirror is not None:
        flipped = starts[:, :, np.asarray(mirror)].copy()
        flipped[..., 0] *= -1.0
        mirrored = flat(flipped)
    return CutFeatures(end=flat(ends), start=flat(starts), start_mirrored=mirrored)


def _entry_frame(p: DancePhrase) -> int:
    """Where a phrase is entered: its first count (the frame the previous phrase cuts to)."""
    return int(p.count_frames[0]) if len(p.count_frames) else 0


def _pose_and_velocity(p: DancePhrase, frame: int) -> np.ndarray:
    """Root-aligned joint positions (cm) and velocities (cm/s) at ``frame``: ``[2, J, 3]``."""
    n = p.motion.n_frames
    lo = min(max(frame - 1, 0), max(n - 2, 0))
    body = body_frame_positions(p.motion.trim(lo, min(lo + 2, n)))
    at = body[min(frame - lo, len(body) - 1)]
    velocity = (body[-1] - body[0]) * p.motion.fps if len(body) > 1 else np.zeros_like(at)
    return np.stack([at, velocity])
