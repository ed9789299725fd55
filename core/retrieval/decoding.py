"""Decoding a whole song: choose one dance phrase per music phrase from P(d | u_t) and M.

The objective, in log space, of a sequence d_0 … d_{T-1} is

    J(d) = Σ_t log P(d_t | u_t) + Σ_t W(d_{t-1} → d_t)

with W the transition score of ``transitions.TransitionModel`` (w · (log M − cut cost), ρ on a
back-to-back repeat); by default the decoder maximises J − V, V the variety cost of
``variety`` (a dance returning within N phrases, each further use of a dance, each use beyond
the second), with the
**fit floor**: a dance whose music fit is below ``fit_floor`` (½) of the best fit of its phrase
costs ``FIT_FLOOR_PENALTY`` nats more there (:func:`apply_fit_floor`). Fit and transition are
on different scales — log P spreads over a nat or two between good candidates, while W's cut
and style terms and V's recency cost reach tens of nats — so without the floor a smooth cut
or a fresh dance buys a placement that barely fits the music. The floor makes the admissible
dances of a phrase those within a factor of two of its best fit; among them the weighted sum
decides as before, and a placement below it happens only where a lock or a tie forces it,
or where every admissible dance would repeat back to back (the one rule ranked above it; a
return within the recency window ranks below). Two decoders:

* :func:`greedy_decode` — the paper's Eq. 6: left to right, ``argmax_d P(d|u_t)·M(d_{t-1}→d)``.
* :func:`viterbi_decode` — the global optimum of J with locked placements as hard constraints.
  Exact and fast: each step first takes the max over the rows with the highest upper bound
  ``V(i) + max_j W(i, j)``, then adds only the rows whose bound could still beat some column
  (falls back to the dense K×K step when the music fit is nearly flat); back-pointers are
  recomputed only along the chosen path.

**Mirrored cuts**: where exactly one side of a cut plays mirrored (a placement's mirror flag, or
mirror-on-repeat on a phrase whose dance plays an even number of times), the cut cost uses the
mirrored start features. Whether it does depends on the phrase and on the dance leaving it (its
number of plays), so ``flips[t − 1, a]`` (bool ``[T − 1, K]``, from the engine) says it for the
cut from dance a on phrase t − 1 into phrase t, and every decoder, the objective and the polish
take W from the plain or the mirrored matrix row by row (the candidate decoder for libraries
above ``DENSE_LIMIT`` computes the mirrored rows of its blocks alike).

Constraints that are not first-order Markov use documented approximations:

* **Ties** (repeated sections dance the same; groups of phrase indices that must share a dance):
  start from the better of two exact Viterbi passes (tied phrases scored with their group's
  mean music fit, or as they are) with each group set to its majority dance, then
  block coordinate ascent: for each group try its best few dances, re-decoding the untied
  stretches next to it exactly, keep what raises J, until a sweep changes nothing. Never
  violates a tie; reaches the brute-force optimum on ~80 % of small random cases (see tests),
  otherwise a local optimum close to it.
* **Limited reuse** (each dance on at most ``max_uses`` units; a tie group is one unit): after
  decoding, the cheapest swaps (in J) move over-used units to dances with spare uses.
* **Variety** (J − V): V is not first-order Markov; the decoder polishes the Viterbi result by
  best-first single-phrase moves on J − V, and while a dance still returns within the window,
  charges every phrase the causal share of V, re-decodes and polishes again (``variety``).
* **Vary** (``temperature`` > 0): perturb-and-MAP — Gumbel noise scaled by the temperature is
  added to the log music fit and the constrained decoder above runs on it, so varied results
  still respect locks, ties, repeats and reuse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from choreo_studio.core.library.library import Library
from choreo_studio.core.library.transition_prior import CutFeatures, cut_features, prior_factors
from choreo_studio.core.retrieval.candidate_decoding import CandidateTransitions
from choreo_studio.core.retrieval.decoder_names import DECODERS
from choreo_studio.core.retrieval.fit_cache import FitCache
from choreo_studio.core.retrieval.transitions import LearnedM, TransitionModel
from choreo_studio.core.retrieval.variety import Variety

NEG_INF = np.float32(-np.inf)
LOG_FLOOR = 1e-12
DEFAULT_REPEAT_PENALTY = 30.0  # nats per return within the recency window
# the priorities, each above everything after it: no back-to-back repeat, the fit floor, no
# return within the recency window nor a third use (DEFAULT_OVERUSE_PENALTY), then fit +
# transitions (w·cut differences stay ≲ 20 nats). Each level outweighs the sum of the levels
# below at one phrase: with the defaults a phrase's variety charges reach 4 returns × 30
# (no back-to-back: at most two of its dance's phrases on either side within the window),
# + 30 for a use beyond the limit, + γ_u per other phrase on the dance (≲ 120 at T = 120),
# so the floor is 1,000 (at 100, two returns and a third use outweighed it) and the
# back-to-back cost 3,000 (float32 keeps 5e-4 nats at that size).
DEFAULT_BACK_TO_BACK_PENALTY = 3000.0
FIT_FLOOR_PENALTY = 1000.0
PRUNE_ROWS = 8  # rows of a step's first max: under the fit floor a few bound every column
CHUNK_ROWS = 64
DENSE_LIMIT = 5000  # phrases: above, the candidate decoder (a dense W is 3 K×K float32)
TIE_CANDIDATES = 6
# Each transition joins two phrases, so at 0.5 a phrase's two transitions together weigh as much
# as its music fit (at 1.0, issue 12 measured transitions overriding fits of 0.52 with 0.019).
DEFAULT_TRANSITION_WEIGHT = 0.5
DEFAULT_RECENCY_WINDOW = 4
DEFAULT_REUSE_PENALTY = 1.0
# no dance more than twice unless the music repeats: a rule, ranked with the recency window
DEFAULT_USE_LIMIT = 2
DEFAULT_OVERUSE_PENALTY = DEFAULT_REPEAT_PENALTY
VARIETY_ROUNDS = 3
POLISH_MOVES_PER_PHRASE = 2
POLISH_CANDIDATES = 64
DEFAULT_FIT_FLOOR = 0.5


@dataclass(frozen=True)
class DecodeOptions:
    """How a song is decoded (the editor's solver settings).

    ``transition_weight`` w weighs W against the music fit; ``recency_window`` N (0: off),
    ``recency_penalty`` γ_r (nats per return within N phrases) and ``reuse_penalty`` γ_u (nats
    per earlier use), ``use_limit`` L and ``overuse_penalty`` γ_x (nats per use beyond L; L = 0:
    no limit) make the variety cost V (``variety``); ``variety_rounds`` bounds the
    charged re-decodes; ``fit_floor`` is the share of a phrase's best music fit below which a
    dance costs ``FIT_FLOOR_PENALTY`` (0: off; :func:`apply_fit_floor`).
    """

    transition_weight: float = DEFAULT_TRANSITION_WEIGHT
    no_back_to_back: bool = True
    repeat_penalty: float = DEFAULT_BACK_TO_BACK_PENALTY
    max_uses: int | None = None
    tie_sections: bool = False
    temperature: float = 0.0
    seed: int | None = None
    recency_window: int = DEFAULT_RECENCY_WINDOW
    recency_penalty: float = DEFAULT_REPEAT_PENALTY
    reuse_penalty: float = DEFAULT_REUSE_PENALTY
    variety_rounds: int = VARIETY_ROUNDS
    fit_floor: float = DEFAULT_FIT_FLOOR
    use_limit: int = DEFAULT_USE_LIMIT
    overuse_penalty: float = DEFAULT_OVERUSE_PENALTY


class TransitionScores:
    """The dense decoder's transition scores: W [K, K] of a :class:`TransitionModel`.

    ``scores`` is W with the back-to-back penalty on the diagonal, ``raw`` without it. Built
    once per (matrix, cut features, options) and reused by every decode and re-solve. Either
    from a matrix M (plus optional cut features) or from a ready ``model``.
    """

    def __init__(
        self,
        matrix: np.ndarray | None = None,
        options: DecodeOptions = DecodeOptions(),
        *,
        cut: CutFeatures | None = None,
        model: TransitionModel | None = None,
    ) -> None:
        self.model = model if model is not None else transition_model(matrix, options, cut)
        self.k = self.model.k
        everything = np.arange(self.k)
        self.scores = np.empty((self.k, self.k), dtype=np.float32)
        for start in range(0, self.k, CHUNK_ROWS):
            rows = everything[start : start + CHUNK_ROWS]
            self.scores[rows] = self.model.block(rows, everything)
        self.raw = self.scores.copy()
        np.fill_diagonal(self.raw, self.raw.diagonal() + self.model.repeat_penalty)
        self.row_max = self.scores.max(axis=1)
        self.scores_by_column = np.ascontiguousarray(self.scores.T)
        self._mirrored: np.ndarray | None = None
        self._mirrored_row_max: np.ndarray | None = None
        self.fit_cache = FitCache()  # the last song's floored log fit (``decode``)

    @property
    def mirrored(self) -> np.ndarray:
        """W [K, K] of cuts where exactly one side plays mirrored (built on first use)."""
        if self._mirrored is None:
            everything = np.arange(self.k)
            out = np.empty((self.k, self.k), dtype=np.float32)
            for start in range(0, self.k, CHUNK_ROWS):
                rows = everything[start : start + CHUNK_ROWS]
                out[rows] = self.model.block(rows, everything, mirrored=True)
            self._mirrored, self._mirrored_row_max = out, out.max(axis=1)
        return self._mirrored

    def rows(self, rows: np.ndarray, flip: np.ndarray | None) -> np.ndarray:
        """W[rows, :], each row from the mirrored matrix where ``flip`` (per row) says so."""
        if flip is None or not flip.any():
            return self.scores[rows]
        return np.where(flip[:, None], self.mirrored[rows], self.scores[rows])

    def row_bounds(self, flip: np.ndarray | None) -> np.ndarray:
        """max_j W[i, j] per row under ``flip`` ([K] or None)."""
        if flip is None or not flip.any():
            return self.row_max
        self.mirrored  # noqa: B018 - builds the row maxima too
        return np.where(flip, self._mirrored_row_max, self.row_max)

    def pair(self, prev: int, nxt: int, *, both_locked: bool = False, flip: bool = False
             ) -> float:
        """The score of one transition (locked neighbours may repeat without penalty)."""
        if flip:
            repeat = both_locked and prev == nxt
            return float(self.mirrored[prev, nxt] + (self.model.repeat_penalty if repeat else 0))
        return float(self.raw[prev, nxt] if both_locked else self.scores[prev, nxt])

    def col(self, nxt: int) -> np.ndarray:
        """W[:, nxt] (with the repeat penalty)."""
        return self.scores_by_column[nxt]

    def pairs(self, prev: np.ndarray, nxt: np.ndarray, both_locked: np.ndarray,
              flip: np.ndarray) -> np.ndarray:
        """:meth:`pair` of many transitions at once (float32, the same values)."""
        out = np.where(both_locked, self.raw[prev, nxt], self.scores[prev, nxt])
        if flip.any():
            repeat = both_locked & (prev == nxt)
            mirrored = self.mirrored[prev, nxt] + np.where(
                repeat, self.model.repeat_penalty, np.float32(0))
            out = np.where(flip, mirrored, out)
        return out

    def row(self, prev: int, *, mirrored: bool = False) -> np.ndarray:
        """W[prev, :] (with the repeat penalty; ``mirrored``: the cuts from ``prev`` are)."""
        return self.mirrored[prev] if mirrored else self.scores[prev]

    def block(self, rows: np.ndarray, cols: np.ndarray, *, mirrored: bool = False
              ) -> np.ndarray:
        """W[rows][:, cols] (with the repeat penalty; ``mirrored``: every cut is mirrored)."""
        return (self.mirrored if mirrored else self.scores)[np.ix_(rows, cols)]

    def viterbi(self, fit: np.ndarray, locks: Mapping[int, int],
                flips: np.ndarray | None = None) -> np.ndarray:
        """The exact optimum by the dense pruned Viterbi (``flips``: mirrored cuts)."""
        return _dense_viterbi(fit, self, locks, flips)


def transition_model(
    matrix: np.ndarray, options: DecodeOptions = DecodeOptions(), cut: CutFeatures | None = None
) -> TransitionModel:
    """The transition model for a dense M, cut features and decode options."""
    return TransitionModel(
        LearnedM.from_matrix(matrix),
        cut,
        weight=options.transition_weight,
        repeat_penalty=options.repeat_penalty if options.no_back_to_back else 0.0,
    )


def library_transitions(
    library: Library, options: DecodeOptions = DecodeOptions(), matrix: np.ndarray | None = None,
    *, cut: CutFeatures | None = None,
) -> TransitionScores | CandidateTransitions:
    """The transition scores to decode ``library`` with: its cut features (mirrored with its
    skeleton; pass ``cut`` to reuse them) and M — ``matrix`` (a model bundle's) or the prior.
    Dense up to ``DENSE_LIMIT`` phrases; above, the candidate decoder over the factored prior
    with only the pairs where ``matrix`` differs from it."""
    phrases = library.phrases
    cut = cut if cut is not None else cut_features(phrases, library.skeleton.mirror_indices())
    if len(phrases) <= DENSE_LIMIT:
        m = library.transition_prior if matrix is None else matrix
        return TransitionScores(m, options, cut=cut)
    groups, table = prior_factors(phrases)
    pairs = None if matrix is None else known_pairs(matrix, groups, table)
    model = TransitionModel(
        LearnedM.factored(groups, table, pairs), cut, weight=options.transition_weight,
        repeat_penalty=options.repeat_penalty if options.no_back_to_back else 0.0)
    return CandidateTransitions(model)


def known_pairs(matrix: np.ndarray, groups: np.ndarray, table: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, cols, values) where a learned M differs from the group prior, row block by block."""
    rows, cols, values = [], [], []
    for start in range(0, len(groups), CHUNK_ROWS):
        block = np.asarray(matrix[start : start + CHUNK_ROWS], dtype=np.float32)
        prior = table[groups[start : start + CHUNK_ROWS, None], groups[None, :]]
        r, c = np.nonzero(block != prior)
        rows.append(r + start)
        cols.append(c)
        values.append(block[r, c])
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(values)


def log_fit(probabilities: np.ndarray) -> np.ndarray:
    """log P(d | u_t) as float32 [T, K], floored so zero probabilities stay finite."""
    p = np.asarray(probabilities, dtype=np.float32)
    return np.log(np.maximum(p, np.float32(LOG_FLOOR)))


def apply_fit_floor(fit: np.ndarray, ratio: float, penalty: float = FIT_FLOOR_PENALTY,
                    reference: np.ndarray | None = None) -> np.ndarray:
    """``fit`` (log P [T, K]) less ``penalty`` where P is below ``ratio`` × its phrase's best P
    (judged on ``reference``, default ``fit``: the noiseless fit when ``fit`` is perturbed).

    A new array; ``fit`` itself when the floor is off (``ratio`` ≤ 0)."""
    if ratio <= 0 or fit.size == 0:
        return fit
    judged = fit if reference is None else reference
    below = judged < judged.max(axis=1, keepdims=True) + np.float32(np.log(ratio))
    out = np.array(fit, copy=True)  # subtract in place where below: two T×K passes fewer
    np.subtract(out, np.float32(penalty), out=out, where=below)
    return out.astype(np.float32, copy=False)


def objective(
    indices: Sequence[int],
    fit: np.ndarray,
    trans: TransitionScores,
    locks: Mapping[int, int] | None = None,
    flips: np.ndarray | None = None,
) -> float:
    """J(d) for a dance index sequence, given log fit [T, K] (float64 accumulation);
    ``flips`` marks the mirrored cuts (module docstring)."""
    locks = locks or {}
    d = np.asarray(indices, dtype=np.int64)
    total = float(np.sum(fit[np.arange(len(d)), d], dtype=np.float64))
    if len(d) < 2:
        return total
    locked = np.array([t in locks for t in range(len(d))])
    flip = (np.zeros(len(d) - 1, dtype=bool) if flips is None
            else flips[np.arange(len(d) - 1), d[:-1]])
    # every W at once, then added one by one in order: the same sum as pair by pair
    for value in trans.pairs(d[:-1], d[1:], locked[:-1] & locked[1:], flip).tolist():
        total += value
    return total


def _flip_at(flips: np.ndarray | None, t: int) -> np.ndarray | None:
    """Per leaving dance, whether the cut into phrase ``t`` is mirrored (None: none is)."""
    return None if flips is None or t < 1 else flips[t - 1]


def _step(prev: np.ndarray, trans: TransitionScores, locked_prev: int | None,
          flip: np.ndarray | None = None) -> np.ndarray:
    """For every dance j: max_i prev[i] + W[i, j] (exact; rows that cannot win are skipped);
    ``flip`` per leaving dance: its cut is mirrored."""
    flip = None if flip is None or not flip.any() else flip
    if locked_prev is not None:
        row = np.array([locked_prev])
        return prev[locked_prev] + trans.rows(row, None if flip is None else flip[row])[0]
    bound = prev + trans.row_bounds(flip)
    if trans.k <= PRUNE_ROWS:
        first, next_bound = np.arange(trans.k), -np.inf
    else:  # the best-bounded rows, and the bound of the best row after them
        order = np.argpartition(-bound, PRUNE_ROWS)
        first, next_bound = order[:PRUNE_ROWS], bound[order[PRUNE_ROWS]]
    best = (prev[first, None] + trans.rows(first, None if flip is None else flip[first])
            ).max(axis=0)
    # a row whose best possible score is below every column's current best cannot change any
    # (usually true of every row after the first few: done); the others go in bound order, in
    # cache-sized chunks, until that holds for the next row
    if next_bound < best.min():
        return best
    rest = bound >= best.min()
    rest[first] = False
    if rest.any():
        rows = np.flatnonzero(rest)
        rows = rows[np.argsort(-bound[rows], kind="stable")]
        for start in range(0, rows.size, CHUNK_ROWS):
            if bound[rows[start]] < best.min():
                break
            chunk = rows[start : start + CHUNK_ROWS]
            w = trans.rows(chunk, None if flip is None else flip[chunk])
            np.maximum(best, (prev[chunk, None] + w).max(axis=0), out=best)
    return best


def viterbi_decode(fit: np.ndarray, trans, locks: Mapping[int, int] | None = None,
                   flips: np.ndarray | None = None) -> np.ndarray:
    """The sequence maximising J with ``locks`` (phrase → dance index) as hard constraints
    (dense or candidate Viterbi, whichever ``trans`` is; ``flips``: the mirrored cuts)."""
    return trans.viterbi(fit, dict(locks or {}), flips)


def _dense_viterbi(
    fit: np.ndarray, trans: TransitionScores, locks: Mapping[int, int] | None = None,
    flips: np.ndarray | None = None,
) -> np.ndarray:
    """The sequence maximising J with ``locks`` (phrase → dance index) as hard constraints.

    The forward pass keeps only the scores V_t; back-pointers are recomputed for the one dance
    chosen at each step while tracing back (argmax_i V_{t-1}(i) + W(i, d_t)), which is exact and
    saves the K×K argmax per step.
    """
    locks = dict(locks or {})
    n_phrases, k = fit.shape
    if n_phrases == 0:
        return np.zeros(0, dtype=np.int64)
    scores = np.empty((n_phrases, k), dtype=np.float32)
    scores[0] = _masked(fit[0], locks.get(0))
    for t in range(1, n_phrases):
        flip = _flip_at(flips, t)
        if (t - 1) in locks and t in locks:
            i, j = locks[t - 1], locks[t]
            scores[t] = NEG_INF
            scores[t, j] = scores[t - 1, i] + trans.pair(
                i, j, both_locked=True, flip=bool(flip is not None and flip[i])) + fit[t, j]
            continue
        best = _step(scores[t - 1], trans, locks.get(t - 1), flip)
        if t in locks:
            scores[t] = _masked(best + fit[t], locks[t])
        else:
            np.add(best, fit[t], out=scores[t])
    out = np.zeros(n_phrases, dtype=np.int64)
    out[-1] = int(np.argmax(scores[-1]))
    for t in range(n_phrases - 1, 0, -1):
        if (t - 1) in locks:
            out[t - 1] = locks[t - 1]
            continue
        column = trans.scores_by_column[out[t]]
        flip = _flip_at(flips, t)
        if flip is not None and flip.any():
            column = np.where(flip, trans.mirrored[:, out[t]], column)
        out[t - 1] = int(np.argmax(scores[t - 1] + column))
    return out


def _masked(row: np.ndarray, locked: int | None) -> np.ndarray:
    if locked is None:
        return row.astype(np.float32, copy=True)
    out = np.full(row.shape, NEG_INF)
    out[locked] = row[locked]
    return out


def greedy_decode(
    fit: np.ndarray,
    trans: TransitionScores,
    locks: Mapping[int, int] | None = None,
    ties: Sequence[Sequence[int]] = (),
    max_uses: int | None = None,
    variety: Variety | None = None,
    flips: np.ndarray | None = None,
) -> np.ndarray:
    """The paper's Eq. 6 rescale, left to right; later tied phrases copy their group's first;
    ``variety`` charges each choice what it costs given the dances already chosen."""
    locks = dict(locks or {})
    n_phrases, k = fit.shape
    leader = {t: g[0] for g in ties for t in g[1:]}
    uses = np.zeros(k, dtype=np.int64)
    out = np.zeros(n_phrases, dtype=np.int64)
    for t in range(n_phrases):
        if t in locks:
            out[t] = locks[t]
        elif t in leader and leader[t] < t:
            out[t] = out[leader[t]]
        else:
            score = fit[t].astype(np.float64).copy()
            if t > 0:
                prev = int(out[t - 1])
                flip = _flip_at(flips, t)
                score += trans.row(prev, mirrored=bool(flip is not None and flip[prev]))
            if max_uses is not None:
                score[uses >= max_uses] = -np.inf
            if variety is not None:
                for dance, charge in variety.charges_at(out, t).items():
                    score[dance] -= charge
            out[t] = int(np.argmax(score)) if np.isfinite(score).any() else int(np.argmax(fit[t]))
        if not (t in leader and leader[t] < t):
            uses[out[t]] += 1
    return out


def _tie_groups(
    ties: Sequence[Sequence[int]], locks: dict[int, int]
) -> list[list[int]]:
    """Tie groups to enforce; a group with a locked member is locked whole (conflicts: dropped)."""
    groups = []
    for group in ties:
        members = sorted(set(int(t) for t in group))
        if len(members) < 2:
            continue
        locked = {locks[t] for t in members if t in locks}
        if len(locked) > 1:
            continue
        if locked:
            dance = locked.pop()
            for t in members:
                locks[t] = dance
            continue
        groups.append(members)
    return groups


def _resolve_around(
    d: np.ndarray, fit: np.ndarray, trans: TransitionScores, fixed: dict[int, int],
    members: Sequence[int], flips: np.ndarray | None = None,
) -> np.ndarray:
    """Exact re-decode of the free stretches touching ``members`` given everything in ``fixed``.

    Fixed phrases split the chain into independent stretches, so only the stretches next to
    the changed members need a new Viterbi pass.
    """
    out = d.copy()
    for t, dance in fixed.items():
        out[t] = dance
    positions = sorted(fixed)
    last = len(d) - 1
    spans = set()
    for t in members:
        i = positions.index(t)
        spans.add((positions[i - 1] if i > 0 else 0, t))
        spans.add((t, positions[i + 1] if i + 1 < len(positions) else last))
    for a, b in spans:
        if b - a < 1 or all(x in fixed for x in range(a, b + 1)):
            continue
        local = {x - a: fixed[x] for x in range(a, b + 1) if x in fixed}
        out[a : b + 1] = viterbi_decode(fit[a : b + 1], trans, local,
                                        None if flips is None else flips[a:b])
    return out


def _viterbi_with_ties(
    fit: np.ndarray, trans: TransitionScores, locks: dict[int, int], groups: list[list[int]],
    flips: np.ndarray | None = None,
) -> np.ndarray:
    """Block coordinate ascent over tie groups (see the module docstring).

    Start: exact Viterbi with each tied phrase scored by its group's mean fit, then every group
    set to the dance most of it got. Sweep: for each group and each candidate dance (its top
    music fits and current dance), fix the group to it, re-decode the free stretches next to it
    exactly, and keep the best J; stop when a sweep improves nothing.
    """
    shared = fit.copy()
    for g in groups:
        shared[g] = fit[g].mean(axis=0)
    starts = []
    for scores in (shared, fit):
        guess = viterbi_decode(scores, trans, locks, flips)
        fixed = dict(locks)
        for g in groups:
            values, counts = np.unique(guess[g], return_counts=True)
            fixed.update({t: int(values[np.argmax(counts)]) for t in g})
        d = viterbi_decode(fit, trans, fixed, flips)
        starts.append((objective(d, fit, trans, locks, flips), d, fixed))
    best_j, d, fixed = max(starts, key=lambda s: s[0])
    for _ in range(4):
        improved = False
        for g in groups:
            current = int(d[g[0]])
            for c in set(_top(fit[g].sum(axis=0), TIE_CANDIDATES).tolist()) - {current}:
                trial_fixed = dict(fixed)
                trial_fixed.update({t: int(c) for t in g})
                trial = _resolve_around(d, fit, trans, trial_fixed, g, flips)
                j = objective(trial, fit, trans, locks, flips)
                if j > best_j + 1e-6:
                    best_j, d, fixed, improved = j, trial, trial_fixed, True
        if not improved:
            break
    return d


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` largest scores (all of them when there are fewer)."""
    if scores.size <= n:
        return np.arange(scores.size)
    return np.argpartition(-scores, n - 1)[:n]


def _top_sorted(scores: np.ndarray, n: int) -> np.ndarray:
    """``np.sort(_top(scores, n))`` without a partition over all of ``scores`` when the n-th
    largest score is not tied (then the set is unique): a threshold from an even sample
    picks a superset in one comparison pass (at K = 100,000 the partitions of a polish cost
    more than the candidate Viterbi); ties at the n-th score take the partition as before."""
    if scores.size > 16 * n:
        sample = scores[:: max(1, scores.size // 4096)]
        rank = min(sample.size - 1, int(np.ceil(2.0 * n * sample.size / scores.size)))
        picked = np.flatnonzero(scores >= np.partition(sample, sample.size - 1 - rank)[
            sample.size - 1 - rank])
        if picked.size >= n:
            values = scores[picked]
            nth = np.partition(values, values.size - n)[values.size - n]
            top = picked[values >= nth]
            if top.size == n:
                return top
    return np.sort(_top(scores, n))


def _limit_reuse(
    d: np.ndarray,
    fit: np.ndarray,
    trans: TransitionScores,
    locks: Mapping[int, int],
    groups: list[list[int]],
    max_uses: int,
    flips: np.ndarray | None = None,
) -> np.ndarray:
    """Greedy repair: move over-used units (phrases or tie groups) to the cheapest spare dance."""
    d = d.copy()
    in_group = {t for g in groups for t in g}
    units = [list(g) for g in groups] + [[t] for t in range(len(d)) if t not in in_group]
    for _ in range(len(units)):
        uses = np.bincount([d[u[0]] for u in units], minlength=trans.k)
        over = set(np.flatnonzero(uses > max_uses).tolist())
        if not over:
            break
        base = objective(d, fit, trans, locks, flips)
        best = None
        for unit in units:
            if d[unit[0]] not in over or any(t in locks for t in unit):
                continue
            unit_fit = fit[unit].sum(axis=0)
            for c in _top(unit_fit, 16):
                if uses[c] >= max_uses:
                    continue
                trial = d.copy()
                trial[unit] = c
                loss = base - objective(trial, fit, trans, locks, flips)
                if best is None or loss < best[0]:
                    best = (loss, unit, int(c))
        if best is None:
            break
        d[best[1]] = best[2]
    return d


def decode(
    probabilities: np.ndarray,
    trans: TransitionScores,
    *,
    method: str = "viterbi",
    locks: Mapping[int, int] | None = None,
    ties: Sequence[Sequence[int]] = (),
    options: DecodeOptions = DecodeOptions(),
    log_probabilities: np.ndarray | None = None,
    flips: np.ndarray | None = None,
) -> np.ndarray:
    """Dance index per music phrase from P(d | u) [T, K] and the transition scores.

    ``method`` is ``"viterbi"`` or ``"greedy"``; ``ties`` are used when
    ``options.tie_sections``; ``options.temperature`` > 0 samples a varied result.
    ``log_probabilities`` is ``log_fit(probabilities)`` where the caller keeps it (re-solves
    of one song at large K, where the T×K logarithm is a large part of a re-solve).
    ``flips`` [T − 1, K] marks the mirrored cuts (module docstring).
    """
    fit = _decoder_fit(probabilities, log_probabilities, options, getattr(trans, "fit_cache", None))
    if fit.ndim != 2 or fit.shape[1] != trans.k:
        raise ValueError(f"probabilities must be [T, {trans.k}], got {fit.shape}")
    if flips is not None and not flips.any():
        flips = None
    if flips is not None:
        if flips.shape != (max(len(fit) - 1, 0), trans.k):
            raise ValueError(f"flips must be [{len(fit) - 1}, {trans.k}], got {flips.shape}")
    all_locks = dict(locks or {})
    groups = _tie_groups(ties, all_locks) if options.tie_sections else []
    variety = Variety.for_song(len(fit), ties, all_locks, options.recency_window,
                               options.recency_penalty, options.reuse_penalty,
                               use_limit=options.use_limit,
                               overuse_penalty=options.overuse_penalty)
    if method == "greedy":
        return greedy_decode(fit, trans, all_locks, groups, options.max_uses,
                             variety if variety.active else None, flips)
    if method != "viterbi":
        raise ValueError(f"unknown decoder {method!r} ({' or '.join(DECODERS)})")

    def solve(scores: np.ndarray) -> np.ndarray:
        d = (_viterbi_with_ties(scores, trans, all_locks, groups, flips) if groups
             else viterbi_decode(scores, trans, all_locks, flips))
        if options.max_uses is not None:
            d = _limit_reuse(d, scores, trans, all_locks, groups, options.max_uses, flips)
        return d

    d = solve(fit)
    if not variety.active:
        return d
    frozen = set(all_locks) | {t for g in groups for t in g}
    return _vary_by_rounds(d, fit, trans, all_locks, variety, solve, options.variety_rounds,
                           frozen, flips)


def _decoder_fit(probabilities: np.ndarray, log_probabilities: np.ndarray | None,
                 options: DecodeOptions, cache: FitCache | None) -> np.ndarray:
    """The log fit the decoders maximise: log P, the vary noise, the fit floor. Without noise
    it is the same for every re-solve of a song, so ``cache`` (the transition scores') keeps
    it (``fit_cache``)."""
    source = probabilities if log_probabilities is None else log_probabilities

    def make() -> np.ndarray:
        clean = log_fit(probabilities) if log_probabilities is None else log_probabilities
        fit = clean
        if options.temperature > 0:
            rng = np.random.default_rng(options.seed)
            noise = rng.gumbel(size=fit.shape).astype(np.float32)
            fit = fit + np.float32(options.temperature) * noise
        return apply_fit_floor(fit, options.fit_floor, reference=clean)

    if cache is None or options.temperature > 0 or np.ndim(source) != 2:
        return make()
    return cache.get(np.asarray(source), (log_probabilities is None, options.fit_floor), make)


def _vary_by_rounds(d: np.ndarray, fit: np.ndarray, trans, locks: Mapping[int, int],
                    variety: Variety, solve, rounds: int, frozen: set[int],
                    flips: np.ndarray | None = None) -> np.ndarray:
    """Minimise J − V (``variety`` module docstring): polish; while a dance still returns
    within the window or is used beyond the use limit, charge, re-decode and polish again;
    the best J − V seen wins."""
    d = _polish(d, fit, trans, variety, frozen, flips)
    best_score, best = objective(d, fit, trans, locks, flips) - variety.cost(d), d
    charged = None  # a T×K copy, made only when a round runs (48 MB at K = 100,000)
    for _ in range(rounds):
        if not variety.returns(d) and not variety.overuses(d):
            break
        charged = fit.copy() if charged is None else charged
        variety.apply(charged, d)
        d = _polish(solve(charged), fit, trans, variety, frozen, flips)
        score = objective(d, fit, trans, locks, flips) - variety.cost(d)
        if score > best_score + 1e-6:
            best_score, best = score, d
    return best


def _polish(d: np.ndarray, fit: np.ndarray, trans, variety: Variety, frozen: set[int],
            flips: np.ndarray | None = None) -> np.ndarray:
    """Single-phrase moves that raise J − V, the best move first, until none is left.

    Each phrase's best move is cached; after a move, the phrases next to it or within the
    window, and those on the two dances involved, are re-evaluated, and the best cached move
    is re-evaluated before it is made (lazy greedy). A phrase whose dance carries no variety
    cost has no move (nothing to gain from V, and the decoder's J is already optimal there),
    so the first evaluation screens all phrases at once (``VarietyState.carrying``) and the
    candidate dances of a phrase (its best music fits) are found only when it is evaluated:
    most phrases of a good decode never are (at K = 1,101 this was half a re-solve).
    """
    state = variety.state(d)
    n = len(d)
    free = [t for t in range(n) if t not in frozen]
    cands: dict[int, np.ndarray] = {}
    reach = max(variety.window, 1)

    def best_move(t: int) -> tuple[float, int]:
        current = state.d[t : t + 1]
        if state.cost_here(t) <= 0:
            return 0.0, int(current[0])
        if t not in cands:
            cands[t] = _top_sorted(fit[t], POLISH_CANDIDATES)
        dances = cands[t] if current[0] in cands[t] else np.union1d(cands[t], current)
        gain = fit[t, dances].astype(np.float64) - state.marginal(t, dances)
        if t > 0:
            prev = state.d[t - 1 : t]
            flip_in = flips is not None and flips[t - 1, prev[0]]
            gain += trans.block(prev, dances, mirrored=bool(flip_in))[0]
        if t + 1 < n:
            nxt = state.d[t + 1 : t + 2]
            out = trans.block(dances, nxt)[:, 0]
            if flips is not None and flips[t, dances].any():
                out = np.where(flips[t, dances], trans.block(dances, nxt, mirrored=True)[:, 0],
                               out)
            gain += out
        gain -= gain[np.searchsorted(dances, current[0])]
        i = int(np.argmax(gain))
        return float(gain[i]), int(dances[i])

    carrying = state.carrying()
    moves = {t: best_move(t) if carrying[t] else (0.0, int(state.d[t])) for t in free}
    for _ in range(POLISH_MOVES_PER_PHRASE * n):
        t0 = max(moves, key=lambda t: (moves[t][0], -t), default=None)
        if t0 is None or moves[t0][0] <= 1e-6:
            break
        fresh = best_move(t0)
        if fresh != moves[t0]:
            moves[t0] = fresh
            continue
        old, new = int(state.d[t0]), fresh[1]
        state.move(t0, new)
        stale = set(range(max(0, t0 - reach), min(n, t0 + reach + 1)))
        stale |= {t for t in free if state.d[t] in (old, new)}
        for t in stale & moves.keys():
            moves[t] = best_move(t)
    return state.d


def section_ties(section_labels: Sequence[str]) -> list[list[int]]:
    """Tie groups for repeated sections: the k-th phrase of every run of the same label.

    A run is a stretch of consecutive phrases with one section label (one occurrence of that
    section); the k-th phrase of each occurrence of label L shares a dance. Empty labels are
    never tied.
    """
    runs: list[tuple[str, list[int]]] = []
    for t, label in enumerate(section_labels):
        if runs and runs[-1][0] == label:
            runs[-1][1].append(t)
        else:
            runs.append((label, [t]))
    by_label: dict[str, list[list[int]]] = {}
    for label, members in runs:
        if label:
            by_label.setdefault(label, []).append(members)
    groups = []
    for occurrences in by_label.values():
        if len(occurrences) < 2:
            continue
        for k in range(max(len(o) for o in occurrences)):
            group = [o[k] for o in occurrences if k < len(o)]
            if len(group) > 1:
                groups.append(group)
    return groups
