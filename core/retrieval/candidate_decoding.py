"""Exact Viterbi over candidate sets, for libraries too large for a dense K×K score (K ≤ 100,000+).

The transition score W is computed on the fly from a :class:`TransitionModel` (factored log M +
cut features, K × d), only between candidates: C_t is the dances with the best node bound
``fit_t(j) + in_bound(j) + out_bound(j)`` (W ≤ both bounds), locked phrases have their one dance.
Viterbi restricted to the candidates gives the best candidate-only path J_C; a second,
bounding recursion carries an upper bound on every path that leaves the candidates anywhere:

    Ō_t      ≥ best prefix ending outside C_t (its outgoing transition already bounded)
             = max(max_i A_{t−1}(i) + R_t,  Ō_{t−1} + R'_t)
    Ā_t(j)   ≥ best prefix ending at candidate j that left the candidates before
             = fit_t(j) + max(max_i Ā_{t−1}(i) + W(i, j),  Ō_{t−1})

(A = max of the exact and the bounded value at each candidate, R_t / R'_t bound the node
values outside C_t, from the selection threshold). If max(Ā_{T−1}, Ō_{T−1}) < J_C, no path
outside the candidates reaches J_C, so the candidate path is the dense decoder's path — the
same dance at every phrase, ties broken alike (lowest index), since W's values are identical.
Otherwise the candidate sets grow ×4 and the pass repeats (all K at worst: exact always, fast
when the music fit is decisive). Mirroring is not part of the decoder's cut cost (as in the
dense decoder).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from choreo_studio.core.retrieval.transitions import TransitionModel

FIRST_CANDIDATES = 32
SAMPLE = 8192
NEG_INF = np.float32(-np.inf)


class CandidateTransitions:
    """The candidate decoder's view of a transition model (same interface as the dense one)."""

    def __init__(self, model: TransitionModel, first_candidates: int = FIRST_CANDIDATES) -> None:
        self.model = model
        self.k = model.k
        self.first_candidates = first_candidates
        self._in_min = float(model.in_bound.min()) if self.k else 0.0
        self.last_size = 0  # candidates per phrase that certified the last decode
        self._start_size = first_candidates  # re-solves of one song start where the last ended

    def pair(self, prev: int, nxt: int, *, both_locked: bool = False) -> float:
        """The score of one transition (locked neighbours may repeat without penalty)."""
        return self.model.pair(prev, nxt, penalise_repeats=not both_locked)

    def row(self, prev: int) -> np.ndarray:
        """W[prev, :] (with the repeat penalty)."""
        return self.model.row(prev)

    def col(self, nxt: int) -> np.ndarray:
        """W[:, nxt] (with the repeat penalty)."""
        return self.model.col(nxt)

    def block(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """W[rows][:, cols] (with the repeat penalty); ``cols`` sorted ascending."""
        return self.model.block(rows, cols)

    def viterbi(self, fit: np.ndarray, locks: Mapping[int, int]) -> np.ndarray:
        """The exact optimum (module docstring), growing the candidate sets until certified;
        the next call starts at the size that certified (re-solves, variety rounds and tie
        sweeps of one song need about the same)."""
        n_phrases = fit.shape[0]
        if n_phrases == 0:
            return np.zeros(0, dtype=np.int64)
        bound = self._node_bounds(fit)
        size = self._start_size
        while True:
            cands, outside = self._candidates(bound, locks, size)
            path, certified = self._solve(fit, locks, cands, outside)
            if certified:
                self.last_size = int(max(len(c) for c in cands))
                self._start_size = size
                return path
            size *= 4

    def _node_bounds(self, fit: np.ndarray) -> np.ndarray:
        """fit_t(j) + in_bound(j) (t > 0) + out_bound(j) (t < T − 1), float32 [T, K]."""
        bound = fit.astype(np.float32, copy=True)
        if len(bound) > 1:
            bound[1:] += self.model.in_bound
            bound[:-1] += self.model.out_bound
        return bound

    def _candidates(self, bound: np.ndarray, locks: Mapping[int, int], size: int
                    ) -> tuple[list[np.ndarray], np.ndarray]:
        """Sorted candidate dances per phrase and the bound on every node left out."""
        n_phrases, k = bound.shape
        outside = np.full(n_phrases, -np.inf)
        cands = []
        if size >= k:
            everything = np.arange(k)
            return [np.array([locks[t]]) if t in locks else everything
                    for t in range(n_phrases)], outside
        thresholds = self._thresholds(bound, size)
        for t in range(n_phrases):
            if t in locks:
                cands.append(np.array([locks[t]], dtype=np.int64))
                continue
            row = bound[t]
            picked = np.flatnonzero(row > thresholds[t])
            if picked.size < size:  # the sample overestimated: take the exact top ``size``
                part = np.argpartition(-row, size)
                picked, outside[t] = part[:size], float(row[part[size]])
            elif picked.size > 2 * size:
                part = np.argpartition(-row[picked], 2 * size)
                outside[t] = float(row[picked[part[2 * size]]])
                picked = picked[part[: 2 * size]]
            else:
                outside[t] = float(thresholds[t])
            cands.append(np.sort(picked))
        return cands, outside

    def _thresholds(self, bound: np.ndarray, size: int) -> np.ndarray:
        """Per phrase, a value about ``size`` node bounds exceed (from an even sample)."""
        k = bound.shape[1]
        stride = max(1, k // SAMPLE)
        sample = bound[:, ::stride]
        rank = min(sample.shape[1] - 1, max(1, int(np.ceil(1.5 * size * sample.shape[1] / k))))
        return -np.partition(-sample, rank, axis=1)[:, rank]

    def _solve(self, fit: np.ndarray, locks: Mapping[int, int], cands: list[np.ndarray],
               outside: np.ndarray) -> tuple[np.ndarray, bool]:
        """Viterbi over the candidates plus the bound on paths leaving them: (path, certified)."""
        n_phrases = fit.shape[0]
        model = self.model
        exact = fit[0, cands[0]].astype(np.float32)
        touched = np.full(exact.shape, NEG_INF)
        out_bound = outside[0]
        pointers = []
        for t in range(1, n_phrases):
            both = (t - 1) in locks and t in locks
            w = model.block(cands[t - 1], cands[t], penalise_repeats=not both)
            through = exact[:, None] + w
            back = np.argmax(through, axis=0)
            pointers.append(back)
            here = fit[t, cands[t]].astype(np.float32)
            reach = np.maximum(exact, touched).max() if exact.size else -np.inf
            new_exact = through[back, np.arange(len(cands[t]))] + here
            new_touched = np.maximum((touched[:, None] + w).max(axis=0), np.float32(out_bound))
            out_bound = max(reach + outside[t], out_bound + outside[t] - self._in_min)
            exact, touched = new_exact, (new_touched + here).astype(np.float32)
        best = int(np.argmax(exact))
        certified = max(float(touched.max()), out_bound) < float(exact[best])
        path = np.zeros(n_phrases, dtype=np.int64)
        path[-1] = cands[-1][best]
        for t in range(n_phrases - 1, 0, -1):
            best = int(pointers[t - 1][best])
            path[t - 1] = cands[t - 1][best]
        return path, certified
