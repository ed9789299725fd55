"""Exact Viterbi over candidate sets, for libraries too large for a dense K×K score (K ≤ 100,000+).

The transition score W is computed on the fly from a :class:`TransitionModel` (factored log M +
cut features, K × d), only where needed, all phrases' blocks in one stacked product. Each free
phrase t has a *pool*: the dances with the best node bound ``fit_t(j) + in_bound(j) +
out_bound(j)`` (W ≤ both bounds), found from the fit by a sampled threshold, so every dance
outside the pool has ``fit_t ≤ tail_t``. Some of the pool are the candidates C_t (at first its
best n), the rest are *examined*; a locked phrase has its one dance.

Viterbi restricted to the candidates gives the best candidate-only path J_C, its forward values
V and its backward (suffix) values B. A path that leaves the candidates has a *last* outside
node (t, j); after it the path stays in the candidates, so its value is at most

    F_t(j) + max_{k ∈ C_{t+1}} ( W(j, k) + B_{t+1}(k) )        (the exit is exact)

where F_t(j) bounds the best prefix ending at (t, j), from a forward recursion over all paths:

    U_{t−1}(i) = max(V_{t−1}(i), A_{t−1}(i))     at candidates (A: prefixes that left before)
    F_t(j)     = fit_t(j) + max( max_i U_{t−1}(i) + W(i, j),  Ō_{t−1} + in_bound(j) )
    A_t(k)     = fit_t(k) + max( max_i A_{t−1}(i) + W(i, k),  Ō_{t−1} + in_bound(k) )
    Ō_t        = max over the outside nodes of F_t (exact entry for examined dances; for the
                 rest tail_t + max in_bound + max(max U_{t−1}, Ō_{t−1}))

so an examined dance pays the real cut from and to the candidates next to it, not a free one.
If every bound is below J_C (less a float32 rounding margin), no path outside the candidates
reaches J_C and the candidate path is the dense decoder's path — the same dance at every
phrase, ties broken alike (lowest index), since W's values are identical. Otherwise only the
phrases that fail grow: an examined dance whose bound reaches J_C becomes a candidate there, a
tail that reaches it deepens that pool ×4 (all K at worst: exact always, fast when the music
fit is decisive). A re-solve of the same song length starts from the last solve's candidates
and pool depths; of the same song (the fit ``decoding.decode`` keeps in ``fit_cache``) it also
reuses each phrase's ranked pool, and every W block already computed comes from a
:class:`BlockCache` (W depends on the model only), so a re-solve mostly walks the bounds.

Mirrored cuts (``decoding``'s ``flips[t − 1, a]``: the cut from dance a on phrase t − 1 into
phrase t is mirrored) take each block row's W from the mirrored start features, the same
float32 values as the dense decoder's mirrored matrix; ``in_bound`` / ``out_bound`` still bound
them (the mirrored cut cost is ≥ 0 too), and the exact entries and exits of the certificate
use the mirrored rows where the flags say so, so the certificate holds as before.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from choreo_studio.core.retrieval.fit_cache import FitCache
from choreo_studio.core.retrieval.transitions import TransitionModel

FIRST_CANDIDATES = 32
POOL_FACTOR = 4  # a pool holds about this many times the first candidates; deepened ×4
SAMPLE = 8192
MARGIN = 1e-5  # relative slack for float32 rounding: a bound this close to J_C fails
NEG_INF = np.float32(-np.inf)


class CandidateTransitions:
    """The candidate decoder's view of a transition model (same interface as the dense one)."""

    def __init__(self, model: TransitionModel, first_candidates: int = FIRST_CANDIDATES) -> None:
        self.model = model
        self.k = model.k
        self.first_candidates = first_candidates
        self._in_max = float(model.in_bound.max()) if self.k else 0.0
        self._out_max = float(model.out_bound.max()) if self.k else 0.0
        self.last_size = 0  # most candidates at a phrase when the last decode certified
        self.last_rounds = 0  # solves the last decode took until certified
        self._last: tuple[list[np.ndarray], np.ndarray] | None = None  # (C_t, depth_t)
        self.fit_cache = FitCache()  # the last song's floored log fit (``decoding.decode``)
        self._w = BlockCache()
        # the ranked best dances and tail of each (phrase, depth) of the cached fit: a
        # re-solve of the song selects its pools without a pass over K per phrase
        self._tops: tuple[np.ndarray | None, dict[tuple[int, int], tuple[np.ndarray, float]]] = (
            None, {})

    def pair(self, prev: int, nxt: int, *, both_locked: bool = False, flip: bool = False
             ) -> float:
        """The score of one transition (locked neighbours may repeat without penalty)."""
        return self.model.pair(prev, nxt, penalise_repeats=not both_locked, mirrored=flip)

    def pairs(self, prev: np.ndarray, nxt: np.ndarray, both_locked: np.ndarray,
              flip: np.ndarray) -> np.ndarray:
        """:meth:`pair` of many transitions at once, as 1 × 1 stacked blocks (float32, the
        same values)."""
        return self.model.stacked(prev[:, None], nxt[:, None], ~both_locked,
                                  flip[:, None])[:, 0, 0]

    def row(self, prev: int, *, mirrored: bool = False) -> np.ndarray:
        """W[prev, :] (with the repeat penalty; ``mirrored``: the cuts from ``prev`` are)."""
        return self.model.row(prev, mirrored=mirrored)

    def col(self, nxt: int) -> np.ndarray:
        """W[:, nxt] (with the repeat penalty)."""
        return self.model.col(nxt)

    def block(self, rows: np.ndarray, cols: np.ndarray, *, mirrored: bool = False
              ) -> np.ndarray:
        """W[rows][:, cols] (with the repeat penalty); ``cols`` sorted ascending."""
        return self.model.block(rows, cols, mirrored=mirrored)

    def viterbi(self, fit: np.ndarray, locks: Mapping[int, int],
                flips: np.ndarray | None = None) -> np.ndarray:
        """The exact optimum (module docstring): grow the failing phrases until certified;
        ``flips`` [T − 1, K] marks the mirrored cuts."""
        n_phrases = fit.shape[0]
        if n_phrases == 0:
            return np.zeros(0, dtype=np.int64)
        fit = np.asarray(fit, dtype=np.float32)
        if not self.fit_cache.holds(fit):
            self._tops = (None, {})
        elif self._tops[0] is not fit:
            self._tops = (fit, {})
        last = self._last if self._last is not None and len(self._last[1]) == n_phrases else None
        depth = last[1].copy() if last else np.full(n_phrases, POOL_FACTOR * self.first_candidates)
        pools, chosen, tails = [], [], np.full(n_phrases, -np.inf)
        for t in range(n_phrases):
            keep = last[0][t] if last else np.zeros(0, np.int64)
            pool, mask, tails[t] = self._pool(fit, t, locks, int(depth[t]), keep, add=False)
            pools.append(pool)
            chosen.append(mask)
        rounds = 0
        while True:
            rounds += 1
            cands = [np.sort(p[c]) for p, c in zip(pools, chosen, strict=True)]
            exam = [np.sort(p[~c]) for p, c in zip(pools, chosen, strict=True)]
            path, threats, shallow = self._solve(fit, locks, cands, exam, tails, flips)
            if not threats and not shallow:
                free = [t for t in range(n_phrases) if t not in locks]
                self.last_size = int(max((len(cands[t]) for t in free), default=1))
                self.last_rounds = rounds
                self._last = (cands, depth)
                return path
            for t, hit in threats.items():
                chosen[t] |= _member(pools[t], hit)
            for t in sorted(set(shallow) | {t for t in threats if chosen[t].all()}):
                if tails[t] == -np.inf:
                    continue
                depth[t] = max(POOL_FACTOR * depth[t], int(chosen[t].sum()))
                pools[t], chosen[t], tails[t] = self._pool(fit, t, locks, int(depth[t]),
                                                           pools[t][chosen[t]], add=True)

    def _pool(self, fit: np.ndarray, t: int, locks: Mapping[int, int], depth: int,
              keep: np.ndarray, *, add: bool) -> tuple[np.ndarray, np.ndarray, float]:
        """Phrase t's pool, which of it are candidates (its best ``first_candidates`` by node
        bound and ``keep``: added to the pool if ``add``, else only where in it — a re-solve's
        sets stay within its pools) and the fit bound of every dance left out of the pool."""
        if t in locks:
            return np.array([locks[t]], dtype=np.int64), np.ones(1, dtype=bool), -np.inf
        pool, tail = self._ranked(fit, t, depth)
        if add:
            pool = np.concatenate([pool, np.setdiff1d(keep, pool)])
        chosen = _member(pool, keep)
        chosen[: self.first_candidates] = True
        return pool, chosen, tail

    def _ranked(self, fit: np.ndarray, t: int, depth: int) -> tuple[np.ndarray, float]:
        """About ``depth`` of phrase t's best dances by fit, ranked by node bound, and the fit
        bound of all the others; kept while ``fit`` is the cached one (never changed)."""
        kept_fit, kept = self._tops
        if kept_fit is fit and (t, depth) in kept:
            return kept[(t, depth)]
        row = fit[t]
        if depth >= row.size:
            picked, tail = np.arange(row.size), -np.inf
        else:
            picked, tail = _top_with_tail(row, depth)
        node = row[picked] + self._offset(t, len(fit), picked)
        ranked = (picked[np.argsort(-node, kind="stable")].astype(np.int64), tail)
        if kept_fit is fit:
            ranked[0].flags.writeable = False
            kept[(t, depth)] = ranked
        return ranked

    def _offset(self, t: int, n_phrases: int, dances: np.ndarray) -> np.ndarray:
        """in_bound (t > 0) + out_bound (t < T − 1) of ``dances``: their node bound less the fit."""
        offset = np.zeros(len(dances), dtype=np.float32)
        if t > 0:
            offset += self.model.in_bound[dances]
        if t < n_phrases - 1:
            offset += self.model.out_bound[dances]
        return offset

    def _solve(self, fit: np.ndarray, locks: Mapping[int, int], cands: list[np.ndarray],
               exam: list[np.ndarray], tails: np.ndarray, flips: np.ndarray | None = None,
               ) -> tuple[np.ndarray, dict[int, np.ndarray], list[int]]:
        """The candidate path, the examined dances that threaten it (by phrase) and the
        phrases whose pool tail threatens it. Examined dances are first bounded with free
        transitions (cheap); only those that then reach J_C get their exact entry and exit."""
        n_phrases = fit.shape[0]
        pen = [not ((t - 1) in locks and t in locks) for t in range(1, n_phrases)]
        w = [None, *_blocks(self.model, cands[:-1], cands[1:], pen, flips, self._w)]
        here = [fit[t, cands[t]] for t in range(n_phrases)]
        path, j_c, values = _candidate_path(cands, w, here)
        suffix = _suffix_values(w, here)
        bar = j_c - MARGIN * (abs(j_c) + n_phrases)
        exact = [np.zeros(0, np.int64)] * n_phrases  # examined dances given exact transitions
        while True:
            totals, tail_totals = self._bounds(fit, cands, exam, exact, tails, w, values,
                                               here, suffix, flips)
            loose = [exam[t][(totals[t] >= bar) & ~_member(exam[t], exact[t])]
                     for t in range(n_phrases)]
            if not any(x.size for x in loose):
                break
            exact = [np.union1d(e, x) for e, x in zip(exact, loose, strict=True)]
        threats = {t: exam[t][totals[t] >= bar] for t in range(n_phrases)
                   if (totals[t] >= bar).any()}
        shallow = [t for t in range(n_phrases) if tails[t] > -np.inf and tail_totals[t] >= bar]
        return path, threats, shallow

    def _bounds(self, fit: np.ndarray, cands: list[np.ndarray], exam: list[np.ndarray],
                exact: list[np.ndarray], tails: np.ndarray, w: list, values: list[np.ndarray],
                here: list[np.ndarray], suffix: list[np.ndarray],
                flips: np.ndarray | None = None) -> tuple[list[np.ndarray], list[float]]:
        """Per phrase t, the bound on paths whose last outside node is t: per examined dance
        (exact transitions from and to the candidates for those in ``exact``, free ones for
        the rest) and one for every dance outside the pool (module docstring)."""
        n_phrases = fit.shape[0]
        model = self.model
        in_bound, out_bound = model.in_bound, model.out_bound
        no_pen = [False] * (n_phrases - 1)
        w_in = [None, *_blocks(model, cands[:-1], exact[1:], no_pen, flips, self._w)]
        w_out = [*_blocks(model, exact[:-1], cands[1:], no_pen, flips, self._w), None]
        totals, tail_totals = [], []
        left = np.full(len(cands[0]), NEG_INF)  # A_0: no prefix has left before phrase 0
        reach = values[0]
        outside = -np.inf
        for t in range(n_phrases):
            dances = exam[t]
            forward = fit[t, dances]
            tail_bound = tails[t]
            if t > 0:
                most = max(_max(reach), outside)
                entry = np.float32(most) + in_bound[dances]
                pos = np.searchsorted(dances, exact[t])
                if pos.size:
                    entry[pos] = np.maximum((reach[:, None] + w_in[t]).max(axis=0),
                                            np.float32(outside) + in_bound[exact[t]])
                forward = forward + entry
                tail_bound = tails[t] + self._in_max + most
                left = here[t] + np.maximum((left[:, None] + w[t]).max(axis=0),
                                            np.float32(outside) + in_bound[cands[t]])
                reach = np.maximum(values[t], left)
            total, tail_total = forward, tail_bound
            if t < n_phrases - 1:
                best_after = _max(suffix[t + 1])
                total = forward + out_bound[dances] + np.float32(best_after)
                pos = np.searchsorted(dances, exact[t])
                if pos.size:
                    total[pos] = forward[pos] + (w_out[t] + suffix[t + 1][None, :]).max(axis=1)
                tail_total = tail_bound + self._out_max + best_after
            totals.append(total)
            tail_totals.append(tail_total)
            outside = max(_max(forward), tail_bound)
        return totals, tail_totals


class BlockCache:
    """W blocks already computed, by (rows, cols, repeat penalty, mirrored rows): W depends
    on the model only, and a re-solve of a song meets mostly the candidate sets of the last
    solve (it starts from them), so its blocks are found here instead of computed again.
    Cleared whole when it would hold more than ``max_bytes``."""

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self.max_bytes = max_bytes
        self._blocks: dict[tuple, np.ndarray] = {}
        self._bytes = 0

    def get(self, key: tuple) -> np.ndarray | None:
        return self._blocks.get(key)

    def put(self, key: tuple, block: np.ndarray) -> None:
        if self._bytes + block.nbytes > self.max_bytes:
            self._blocks, self._bytes = {}, 0
        block.flags.writeable = False  # shared by later solves: nobody may change it
        self._blocks[key] = block
        self._bytes += block.nbytes


def _blocks(model: TransitionModel, rows: list[np.ndarray], cols: list[np.ndarray],
            penalise: list[bool], flips: np.ndarray | None = None,
            cache: BlockCache | None = None) -> list[np.ndarray]:
    """W[rows_i][:, cols_i] for every i (sorted sets): from ``cache`` where there, the rest
    in a few stacked products (blocks of about the same shape, powers of two, padded to one
    shape together). Block i is the cut into phrase i + 1, so ``flips[i, rows_i]`` marks its
    mirrored rows."""
    out: list[np.ndarray] = [np.zeros((len(r), len(c)), np.float32) for r, c in
                             zip(rows, cols, strict=True)]
    groups: dict[tuple[int, int], list[int]] = {}
    keys: dict[int, tuple] = {}
    for i, (r, c) in enumerate(zip(rows, cols, strict=True)):
        if not (len(r) and len(c)):
            continue
        if cache is not None:
            mirrored = b"" if flips is None else np.packbits(flips[i, r]).tobytes()
            keys[i] = (r.tobytes(), c.tobytes(), bool(penalise[i]), mirrored)
            found = cache.get(keys[i])
            if found is not None:
                out[i] = found
                continue
        groups.setdefault((_bucket(len(r)), _bucket(len(c))), []).append(i)
    for members in groups.values():
        r_idx = _padded([rows[i] for i in members])
        c_idx = _padded([cols[i] for i in members])
        mirrored = None if flips is None else flips[np.array(members)[:, None], r_idx]
        stacked = model.stacked(r_idx, c_idx, np.array([penalise[i] for i in members], bool),
                                mirrored)
        for n, i in enumerate(members):
            out[i] = stacked[n, : len(rows[i]), : len(cols[i])].copy()
            if cache is not None:
                cache.put(keys[i], out[i])
    return out


def _member(values: np.ndarray, among: np.ndarray) -> np.ndarray:
    """Which of ``values`` are in ``among`` (a binary search in the sorted ``among``)."""
    if among.size == 0 or values.size == 0:
        return np.zeros(values.size, dtype=bool)
    ordered = np.sort(among)
    pos = np.minimum(np.searchsorted(ordered, values), ordered.size - 1)
    return ordered[pos] == values


def _bucket(n: int) -> int:
    """The power of two at or above n."""
    return 1 << max(0, int(n - 1).bit_length())


def _padded(sets: list[np.ndarray]) -> np.ndarray:
    """Non-empty sorted index sets as one [B, n] array, each row repeating its last index (so
    still non-decreasing)."""
    width = max(len(s) for s in sets)
    out = np.empty((len(sets), width), dtype=np.int64)
    for n, s in enumerate(sets):
        out[n, : len(s)] = s
        out[n, len(s):] = s[-1]
    return out


def _top_with_tail(row: np.ndarray, depth: int) -> tuple[np.ndarray, float]:
    """About ``depth`` (depth to 2·depth) of the largest entries and a bound on all the others,
    from a threshold on an even sample (no partition over the whole row)."""
    k = row.size
    stride = max(1, k // SAMPLE)
    sample = row[::stride]
    rank = min(sample.size - 1, max(1, int(np.ceil(1.5 * depth * sample.size / k))))
    threshold = float(-np.partition(-sample, rank)[rank])
    picked = np.flatnonzero(row > threshold)
    if picked.size < depth:  # the sample overestimated: take the exact top ``depth``
        part = np.argpartition(-row, depth)
        return part[:depth], float(row[part[depth]])
    if picked.size > 2 * depth:
        part = np.argpartition(-row[picked], 2 * depth)
        return picked[part[: 2 * depth]], float(row[picked[part[2 * depth]]])
    return picked, threshold


def _candidate_path(cands: list[np.ndarray], w: list, here: list[np.ndarray]
                    ) -> tuple[np.ndarray, float, list[np.ndarray]]:
    """Viterbi over the candidates (ties to the lowest dance index): path, its value and the
    forward values V_t."""
    values = [here[0]]
    pointers = []
    for t in range(1, len(cands)):
        through = values[-1][:, None] + w[t]
        back = np.argmax(through, axis=0)
        pointers.append(back)
        values.append(through[back, np.arange(len(cands[t]))] + here[t])
    best = int(np.argmax(values[-1]))
    value = float(values[-1][best])
    path = np.zeros(len(cands), dtype=np.int64)
    path[-1] = cands[-1][best]
    for t in range(len(cands) - 1, 0, -1):
        best = int(pointers[t - 1][best])
        path[t - 1] = cands[t - 1][best]
    return path, value, values


def _suffix_values(w: list, here: list[np.ndarray]) -> list[np.ndarray]:
    """B_t(k): the best candidate-only suffix from candidate k at phrase t (its fit included)."""
    suffix = [here[-1]] * len(here)
    for t in range(len(here) - 2, -1, -1):
        suffix[t] = (w[t + 1] + suffix[t + 1][None, :]).max(axis=1) + here[t]
    return suffix


def _max(values: np.ndarray) -> float:
    """The largest value, −inf for none."""
    return float(values.max()) if values.size else -np.inf
