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
log of a Gaussian continuity likelihood (exp(−cut) was M0's pose term before). To stay
compact at K = 100,000 the 6·J numbers per cut are projected on their ``CUT_DIMS`` = 24
principal directions (start and end features together), so the cost is the distance along the
directions in which the library's cuts differ most. Mirroring swaps
left and right joints and negates x, so ``start_mirrored`` serves cuts where exactly one side
is mirrored (mirroring both sides leaves the distance unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from choreo_studio.core.library.library import DancePhrase
from choreo_studio.core.motion.motion_descriptors import body_frame_positions

SCALE_SAMPLE = 4096
CUT_DIMS = 24
TILE = 128  # BLAS runs one thread on products this small (threads thrash a loaded machine)
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
        for name in ("end", "start", "start_mirrored"):
            value = getattr(self, name)
            norms = None if value is None else (value.astype(np.float64) ** 2).sum(axis=1)
            object.__setattr__(self, f"_{name}_sq", norms)

    @property
    def k(self) -> int:
        return self.end.shape[0]

    def cost(self, rows: np.ndarray, cols: np.ndarray, *, mirrored: bool = False) -> np.ndarray:
        """cut(rows[i], cols[j]) as float32 ``[R, C]``: ‖e‖² + ‖s‖² − 2 e·s in float64 (rounded,
        so any block gives the whole matrix's float32 values), in small single-threaded tiles."""
        starts, start_sq = (self.start_mirrored, self._start_mirrored_sq) if (
            mirrored and self.start_mirrored is not None) else (self.start, self._start_sq)
        e = self.end[rows].astype(np.float64)
        s = starts[cols].astype(np.float64)
        e_sq, s_sq = self._end_sq[rows], start_sq[cols]
        out = np.empty((len(e), len(s)), dtype=np.float32)
        for a in range(0, len(e), TILE):
            for b in range(0, len(s), TILE):
                sq = e_sq[a : a + TILE, None] + s_sq[None, b : b + TILE] - 2.0 * (
                    e[a : a + TILE] @ s[b : b + TILE].T)
                out[a : a + TILE, b : b + TILE] = np.maximum(sq, 0.0)
        return out

    def stacked_cost(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """cut for B blocks at once: ``rows`` [B, R] × ``cols`` [B, C] → float32 [B, R, C], the
        same float64 formula as :meth:`cost`, in the same small single-threaded tiles."""
        e = self.end[rows].astype(np.float64)
        s_t = np.ascontiguousarray(self.start[cols].astype(np.float64).transpose(0, 2, 1))
        e_sq, s_sq = self._end_sq[rows], self._start_sq[cols]
        out = np.empty((len(rows), rows.shape[1], cols.shape[1]), dtype=np.float32)
        for a in range(0, rows.shape[1], TILE):
            for b in range(0, cols.shape[1], TILE):
                sq = e_sq[:, a : a + TILE, None] + s_sq[:, None, b : b + TILE] - 2.0 * (
                    e[:, a : a + TILE] @ s_t[:, :, b : b + TILE])
                out[:, a : a + TILE, b : b + TILE] = np.maximum(sq, 0.0)
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
                 dims: int = CUT_DIMS, sample: int = SCALE_SAMPLE, seed: int = 0) -> CutFeatures:
    """Start/end cut features ``[K, d]`` of the phrases (module docstring); ``mirror`` is the
    skeleton's left/right joint permutation (``Skeleton.mirror_indices``); ``dims`` caps d."""
    starts_raw = np.stack([_pose_and_velocity(p, _entry_frame(p)) for p in phrases])
    starts = starts_raw
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

    ends, starts = flat(ends), flat(starts)
    mirrored = None
    if mirror is not None:
        flipped = starts_raw[:, :, np.asarray(mirror)].copy()
        flipped[..., 0] *= -1.0
        mirrored = flat(flipped)
    # mirrored starts span directions of their own (a pose and its mirror image differ where
    # the library may never go), so the basis is taken over them too
    basis = _principal_basis(np.concatenate([ends, starts] + ([mirrored] if mirrored is not None
                                                              else [])), dims)
    return CutFeatures(end=ends @ basis, start=starts @ basis,
                       start_mirrored=None if mirrored is None else mirrored @ basis)


def _principal_basis(x: np.ndarray, dims: int) -> np.ndarray:
    """``[D, d]`` orthonormal directions of most spread of ``x`` (identity when D ≤ dims);
    distances between projected features are those along these directions."""
    if x.shape[1] <= dims:
        return np.eye(x.shape[1], dtype=np.float32)
    centred = (x - x.mean(axis=0)).astype(np.float64)
    _, _, vt = np.linalg.svd(centred[:: max(1, len(centred) // SCALE_SAMPLE)],
                             full_matrices=False)
    return vt[:dims].T.astype(np.float32)


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
