"""Live suggestions for one music phrase given its current neighbours.

Score of dance d on phrase t, in log space: log P(d | u_t) + W(prev → d) + W(d → next), with W
the transition score (``transitions``: w · (log M − cut cost)); a missing neighbour adds 0.
Each suggestion carries its parts under names a choreographer reads (:meth:`Suggestion.parts`):
how well it fits the music, how well its style follows the previous dance and leads into the
next (M), and how big the pose jump is at each cut (the kinematic cost, 0 = seamless).

Exact top-k at any library size: an upper bound without the cut cost (≥ 0) ranks every dance
with a few vector operations over K; the cut cost is computed only for the best-bounded few,
widening the set until the k-th exact score beats every bound left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from choreo_studio.core.library.transition_prior import CutFeatures
from choreo_studio.core.retrieval.transitions import LOG_FLOOR, TransitionModel, log_matrix

FIRST_CANDIDATES = 128  # cut costs for this many are cheap; one pass usually suffices
SAMPLE = 4096
FACTORED_FROM = 16384  # dances: below, bounding every dance is as fast (fewer fixed costs)
SAFETY = 1e-3  # nats under the threshold at which a factored model's per-group level is set


@dataclass(frozen=True)
class Suggestion:
    """One ranked alternative: dance index in the library and its score parts."""

    dance_index: int
    score: float
    music_fit: float
    transition_in: float
    transition_out: float
    pose_jump_in: float = 0.0
    pose_jump_out: float = 0.0

    def parts(self) -> list[tuple[str, float]]:
        """(name, value) pairs for the UI: probabilities in [0, 1], pose jumps in nats."""
        return [
            ("fits the music", self.music_fit),
            ("style follows the previous dance", self.transition_in),
            ("style leads into the next dance", self.transition_out),
            ("pose jump from the previous dance", self.pose_jump_in),
            ("pose jump into the next dance", self.pose_jump_out),
        ]


def suggest(
    music_fit: np.ndarray,
    transition: np.ndarray | None = None,
    *,
    prev: int | None = None,
    nxt: int | None = None,
    top_k: int = 10,
    transition_weight: float = 1.0,
    exclude_neighbours: bool = True,
    model: TransitionModel | None = None,
    flip_in: bool = False,
    flip_out: np.ndarray | None = None,
) -> list[Suggestion]:
    """The ``top_k`` dances for a phrase, best first.

    ``music_fit`` is P(d | u_t) [K]; either ``transition`` is M [K, K] (weighted by
    ``transition_weight``, no cut cost) or ``model`` is the full transition model. ``prev`` /
    ``nxt`` are the dance indices placed on the neighbouring phrases (None at the song's ends).
    With ``exclude_neighbours`` the neighbours' own dances are left out (no back-to-back
    repeats). ``flip_in`` (the cut from ``prev`` is mirrored) and ``flip_out`` ([K]: the cut
    from each dance into ``nxt`` is mirrored) are ``decoding``'s mirrored cuts.
    """
    music_fit = np.asarray(music_fit)
    fit = np.asarray(music_fit, dtype=np.float32)  # read only: no copy when already float32
    k = fit.shape[0]
    n = min(top_k, k)
    size = max(FIRST_CANDIDATES, 4 * n)
    neighbours = [x for x in (prev, nxt) if x is not None] if exclude_neighbours else []
    found = None
    factored = model is not None and model.learned.dense_log is None and k >= FACTORED_FROM
    tries = [size, 4 * size] if factored else []
    for size in tries:  # a wider set where the first did not settle it
        found = _factored_candidates(model, fit, prev, nxt, neighbours, size)
        if found is None:
            break
        w, cut = float(model.weight), model.cut
        cands, left_out, bound, log_in, log_out = found
        jump_in, jump_out = _jumps(cut, prev, nxt, cands, flip_in,
                                   None if flip_out is None else flip_out[cands])
        exact = bound.astype(np.float64) - w * (jump_in + jump_out)
        order = np.argsort(-exact, kind="stable")[:n]
        if len(order) == n and exact[order[-1]] > left_out:
            break
        found = None  # not settled: next size, else rank every dance as below
    if found is None:
        w, cut, cands, bound_all, log_in_all, log_out_all, order, exact, jump_in, jump_out = (
            _ranked_over_all(fit, transition, transition_weight, model, prev, nxt, neighbours,
                             n, size, flip_in, flip_out))
        bound, log_in, log_out = bound_all[cands], log_in_all[cands], log_out_all[cands]
    order = order[np.isfinite(exact[order])]
    ones = [1.0] * len(order)
    # the parts of the chosen few as arrays at once (the same values as one by one)
    return [Suggestion(*fields) for fields in zip(
        cands[order].tolist(), np.exp(exact[order]).tolist(),
        music_fit[cands[order]].astype(np.float64).tolist(),
        np.exp(log_in[order]).tolist() if prev is not None else ones,
        np.exp(log_out[order]).tolist() if nxt is not None else ones,
        jump_in[order].tolist(), jump_out[order].tolist(), strict=True)]


def _ranked_over_all(fit, transition, transition_weight, model, prev, nxt, neighbours, n, size,
                     flip_in, flip_out):
    """The bound of every dance, then exact scores for the best-bounded, widened until the
    n-th exact score beats every bound left out."""
    k = fit.shape[0]
    if model is not None:
        w, cut, row, col = float(model.weight), model.cut, model.learned.row_vector, (
            model.learned.col_vector)
    else:
        m = np.asarray(transition)
        w, cut = transition_weight, None

        def row(i: int) -> np.ndarray:
            return log_matrix(m[i])

        def col(j: int) -> np.ndarray:
            return log_matrix(m[:, j])

    log_in = row(prev) if prev is not None else np.zeros(k, np.float32)
    log_out = col(nxt) if nxt is not None else np.zeros(k, np.float32)
    bound = np.log(np.maximum(fit, np.float32(LOG_FLOOR)))
    bound += np.float32(w) * (log_in + log_out)
    bound[neighbours] = -np.inf
    while True:
        cands, left_out = _best_bounded(bound, size)
        jump_in, jump_out = _jumps(cut, prev, nxt, cands, flip_in,
                                   None if flip_out is None else flip_out[cands])
        exact = bound[cands].astype(np.float64) - w * (jump_in + jump_out)
        order = np.argsort(-exact, kind="stable")[:n]
        if len(cands) == k or (len(order) == n and exact[order[-1]] > left_out):
            return w, cut, cands, bound, log_in, log_out, order, exact, jump_in, jump_out
        size *= 4


def _factored_candidates(model: TransitionModel, fit: np.ndarray, prev: int | None,
                         nxt: int | None, neighbours: list[int], size: int):
    """About ``size`` best-bounded dances of a factored model without the bound of every
    dance: (sorted candidates, a bound on all others, their bound, log M in, log M out), or
    None when the sample gives too few.

    Off the learned pairs of ``prev``'s row and ``nxt``'s column, W's log M part depends only
    on a dance's group, so ``log P + w·(in + out)`` exceeds a threshold exactly where P exceeds
    a per-group level: one comparison over K replaces the log, two gathers and three passes.
    The pairs are always candidates (their bound computed exactly); a small margin under the
    threshold keeps float rounding of the levels on the safe side."""
    learned = model.learned
    k = fit.shape[0]
    w = np.float32(model.weight)
    n_groups = learned.table_log.shape[0]
    t_in = learned.table_log[learned.groups[prev]] if prev is not None else np.zeros(
        n_groups, np.float32)
    t_out = learned.table_log[:, learned.groups[nxt]] if nxt is not None else np.zeros(
        n_groups, np.float32)
    per_group = w * (t_in + t_out)
    stride = max(1, k // SAMPLE)
    sampled = np.log(np.maximum(fit[::stride], np.float32(LOG_FLOOR))) + per_group[
        learned.groups_every(stride)]
    rank = min(sampled.size - 1, max(1, int(np.ceil(size / stride))))
    threshold = float(-np.partition(-sampled, rank)[rank])
    level = np.exp(threshold - per_group.astype(np.float64) - SAFETY)
    level[level <= LOG_FLOOR] = -1.0  # the floored log P passes: the whole group does
    # the lowest level over all groups first (one comparison over K, no gather), then each
    # of those against its own group's level
    picked = np.flatnonzero(fit > np.float32(level.min()))
    picked = picked[fit[picked] > level[learned.groups[picked]]]
    cands = np.sort(np.concatenate([picked, *learned.pairs_of(prev, nxt)]))
    keep = np.ones(cands.size, dtype=bool)
    keep[1:] = cands[1:] != cands[:-1]
    for neighbour in neighbours:
        keep &= cands != neighbour
    cands = cands[keep]
    if cands.size < size // 2 or cands.size > 4 * size:
        return None
    log_in = learned.row_at(prev, cands) if prev is not None else np.zeros(cands.size,
                                                                            np.float32)
    log_out = learned.col_at(nxt, cands) if nxt is not None else np.zeros(cands.size,
                                                                           np.float32)
    bound = np.log(np.maximum(fit[cands], np.float32(LOG_FLOOR)))
    bound += w * (log_in + log_out)
    return cands, threshold, bound, log_in, log_out


def _best_bounded(bound: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """About ``size`` indices with the highest bounds (sorted) and a bound on all the others:
    a threshold from an even sample, so no partition over all K."""
    k = bound.shape[0]
    if k <= 2 * size:
        return np.arange(k), -np.inf
    stride = max(1, k // SAMPLE)
    sample = bound[::stride]
    rank = min(sample.size - 1, max(1, int(np.ceil(size / stride))))
    threshold = float(-np.partition(-sample, rank)[rank])
    picked = np.flatnonzero(bound > threshold)
    if picked.size > 4 * size:  # a very uneven sample: fall back to an exact partition
        part = np.argpartition(-bound, size)
        return np.sort(part[:size]), float(bound[part[size]])
    return picked, threshold


def _jumps(cut: CutFeatures | None, prev: int | None, nxt: int | None, cands: np.ndarray,
           flip_in: bool = False, flip_out: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray]:
    """Cut costs (nats) from ``prev`` into each candidate and from each into ``nxt``, mirrored
    where ``flip_in`` / ``flip_out`` (per candidate) say so."""
    zeros = np.zeros(len(cands))
    if cut is None:
        return zeros, zeros
    jump_in = cut.cost(np.array([prev]), cands, mirrored=flip_in)[0].astype(np.float64) \
        if prev is not None else zeros
    jump_out = zeros
    if nxt is not None:
        jump_out = cut.cost(cands, np.array([nxt]))[:, 0].astype(np.float64)
        if flip_out is not None and flip_out.any():
            flipped = cut.cost(cands[flip_out], np.array([nxt]), mirrored=True)[:, 0]
            jump_out[flip_out] = flipped
    return jump_in, jump_out
