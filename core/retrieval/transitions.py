"""The one transition score W(a → b) between two dance phrases, dense or factored.

    W(a, b) = w · ( log M(a, b) − cut(a, b) ) − ρ · [a = b]

* ``M`` is the paper's transition matrix (Eq. 6): the library prior M0 or the co-ascent M of a
  model bundle. :class:`LearnedM` holds log M either dense ``[K, K]`` (small libraries, trained
  bundles) or factored: a table over phrase groups (style × energy, the prior) plus the pairs
  whose learned value differs from it, row- and column-indexed (K up to 100,000 and more).
* ``cut(a, b) = ‖end_a − start_b‖²`` is the kinematic cost at the actual cut frame, from per-phrase
  features ``[K, d]`` (root-relative pose and velocity, scaled so that it is
  d_pose²/2σ_p² + d_vel²/2σ_v², the negative log of a Gaussian continuity likelihood; see
  ``core.library.transition_prior.cut_features``). ``start_mirrored`` is the start feature of the
  mirrored phrase (used where exactly one side of a cut is mirrored).
* ``w`` is the fit-vs-transition weight, ``ρ`` the back-to-back repeat penalty.

Every block of W is computed with the same element-wise float32 operations, so a dense matrix
and on-the-fly candidate blocks hold bit-identical values (the dense and candidate decoders
then agree exactly). ``in_bound`` / ``out_bound`` are cheap upper bounds of W into / out of
each phrase (cut ≥ 0), which the candidate decoder needs for its optimality certificate.
"""

from __future__ import annotations

import numpy as np
from choreo_studio.core.library.transition_prior import CutFeatures

LOG_FLOOR = 1e-12


def log_matrix(m: np.ndarray) -> np.ndarray:
    """log M as float32, floored so zeros stay finite."""
    return np.log(np.maximum(np.asarray(m, dtype=np.float32), np.float32(LOG_FLOOR)))


class LearnedM:
    """log M ``[K, K]``: dense, or a group table plus the (few) pairs that differ from it."""

    def __init__(
        self,
        k: int,
        *,
        dense_log: np.ndarray | None = None,
        groups: np.ndarray | None = None,
        table_log: np.ndarray | None = None,
        pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.k = int(k)
        self.dense_log = dense_log
        if dense_log is None:
            self.groups = np.asarray(groups, dtype=np.int64)
            self.table_log = np.asarray(table_log, dtype=np.float32)
            rows, cols, values = (np.zeros(0, np.int64), np.zeros(0, np.int64),
                                  np.zeros(0, np.float32)) if pairs is None else pairs
            self._by_row = _compressed(self.k, np.asarray(rows, np.int64),
                                       np.asarray(cols, np.int64), np.asarray(values, np.float32))
            self._by_col = _compressed(self.k, np.asarray(cols, np.int64),
                                       np.asarray(rows, np.int64), np.asarray(values, np.float32))
        self.row_max, self.col_max = self._maxima()
        self._group_samples: dict[int, np.ndarray] = {}

    @classmethod
    def from_matrix(cls, m: np.ndarray) -> LearnedM:
        """A dense M ``[K, K]`` (values in (0, 1])."""
        m = np.asarray(m)
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise ValueError(f"transition matrix must be K×K, got {m.shape}")
        return cls(m.shape[0], dense_log=log_matrix(m))

    @classmethod
    def factored(cls, groups: np.ndarray, table: np.ndarray,
                 pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> LearnedM:
        """M(a, b) = table[group a, group b], except at ``pairs`` = (rows, cols, M values)."""
        groups = np.asarray(groups, dtype=np.int64)
        logged = None if pairs is None else (pairs[0], pairs[1], log_matrix(pairs[2]))
        return cls(groups.size, groups=groups, table_log=log_matrix(table), pairs=logged)

    @property
    def n_pairs(self) -> int:
        """How many pairs the factored form stores explicitly (K² when dense)."""
        return self.k * self.k if self.dense_log is not None else int(self._by_row[1].size)

    def nbytes(self) -> int:
        """Memory held by log M."""
        if self.dense_log is not None:
            return int(self.dense_log.nbytes)
        parts = [self.groups, self.table_log, *self._by_row, *self._by_col]
        return int(sum(p.nbytes for p in parts))

    def block(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """log M[rows][:, cols] as float32 ``[R, C]``; ``cols`` must be sorted ascending."""
        if self.dense_log is not None:
            return self.dense_log[np.ix_(rows, cols)]
        if len(rows) == 1:  # one row's own pairs, not a search over all of them (the polish)
            return self.row_at(int(rows[0]), cols)[None, :]
        if len(cols) == 1 and np.all(rows[1:] >= rows[:-1]):
            return self.col_at(int(cols[0]), rows)[:, None]
        out = self.table_log[np.ix_(self.groups[rows], self.groups[cols])]
        indptr, other, values = self._by_row
        local, found, vals = _gather(indptr, other, values, rows, cols)
        out[local, found] = vals
        return out

    def stacked(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """log M for B blocks at once: ``rows`` [B, R] × ``cols`` [B, C] → float32 [B, R, C];
        each block's rows and cols non-decreasing (padding repeats an index)."""
        if self.dense_log is not None:
            return self.dense_log[rows[:, :, None], cols[:, None, :]]
        out = self.table_log[self.groups[rows][:, :, None], self.groups[cols][:, None, :]]
        by_row = np.diff(self._by_row[0])[rows].sum()
        if by_row <= np.diff(self._by_col[0])[cols].sum():  # gather from the smaller side
            block, r, c, vals = _stacked_gather(*self._by_row, rows, cols, self.k)
        else:
            block, c, r, vals = _stacked_gather(*self._by_col, cols, rows, self.k)
        out[block, r, c] = vals
        return out

    def groups_every(self, stride: int) -> np.ndarray:
        """``groups[::stride]`` as a small contiguous array, made once per stride
        (a suggestion's sample reads it instead of a strided pass over all K groups)."""
        kept = self._group_samples.get(stride)
        if kept is None:
            kept = np.ascontiguousarray(self.groups[::stride])
            self._group_samples[stride] = kept
        return kept

    def pairs_of(self, row: int | None, col: int | None) -> list[np.ndarray]:
        """The dances whose stored pairs leave ``row`` or enter ``col`` (factored form)."""
        out = []
        for major, (indptr, other, _) in ((row, self._by_row), (col, self._by_col)):
            if major is not None:
                out.append(other[indptr[major] : indptr[major + 1]])
        return out

    def value(self, i: int, j: int) -> np.float32:
        """log M[i, j]."""
        if self.dense_log is not None:
            return self.dense_log[i, j]
        indptr, other, values = self._by_row
        start, end = int(indptr[i]), int(indptr[i + 1])
        pos = start + int(np.searchsorted(other[start:end], j, side="right")) - 1
        if pos >= start and other[pos] == j:  # a pair stored twice: the last, as in block()
            return values[pos]
        return self.table_log[self.groups[i], self.groups[j]]

    def row_vector(self, i: int) -> np.ndarray:
        """log M[i, :] float32 ``[K]``."""
        if self.dense_log is not None:
            return self.dense_log[i]
        out = self.table_log[self.groups[i]][self.groups]
        indptr, other, values = self._by_row
        out[other[indptr[i] : indptr[i + 1]]] = values[indptr[i] : indptr[i + 1]]
        return out

    def row_at(self, i: int, cols: np.ndarray) -> np.ndarray:
        """``row_vector(i)[cols]`` (factored form, ``cols`` sorted) from row i's own pairs."""
        return _overridden(self.table_log[self.groups[i]][self.groups[cols]], cols,
                           *self._by_row, i)

    def col_at(self, j: int, rows: np.ndarray) -> np.ndarray:
        """``col_vector(j)[rows]`` (factored form, ``rows`` sorted) from column j's own pairs."""
        return _overridden(self.table_log[:, self.groups[j]][self.groups[rows]], rows,
                           *self._by_col, j)

    def col_vector(self, j: int) -> np.ndarray:
        """log M[:, j] float32 ``[K]``."""
        if self.dense_log is not None:
            return self.dense_log[:, j]
        out = self.table_log[:, self.groups[j]][self.groups]
        indptr, other, values = self._by_col
        out[other[indptr[j] : indptr[j + 1]]] = values[indptr[j] : indptr[j + 1]]
        return out

    def _maxima(self) -> tuple[np.ndarray, np.ndarray]:
        """Exact row and column maxima of log M (for the factored form: of table ∪ pairs)."""
        if self.dense_log is not None:
            return self.dense_log.max(axis=1), self.dense_log.max(axis=0)
        row = self.table_log.max(axis=1)[self.groups]
        col = self.table_log.max(axis=0)[self.groups]
        for (indptr, _, values), out in ((self._by_row, row), (self._by_col, col)):
            counts = np.diff(indptr)
            if values.size:
                owners = np.repeat(np.arange(self.k), counts)
                np.maximum.at(out, owners, values)
        return row.astype(np.float32), col.astype(np.float32)


def _overridden(out: np.ndarray, at: np.ndarray, indptr: np.ndarray, other: np.ndarray,
                values: np.ndarray, major: int) -> np.ndarray:
    """``out`` (the table values at sorted ``at``) with ``major``'s stored pairs written over,
    in stored order as ``row_vector`` writes them (a pair stored twice: the last)."""
    minor = other[indptr[major] : indptr[major + 1]]
    vals = values[indptr[major] : indptr[major + 1]]
    if minor.size and at.size:
        pos = np.minimum(np.searchsorted(at, minor), at.size - 1)
        hit = at[pos] == minor
        out[pos[hit]] = vals[hit]
    return out


def _compressed(k: int, major: np.ndarray, minor: np.ndarray, values: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indptr, minor indices sorted within each major, values): a CSR-like index."""
    order = np.lexsort((minor, major))
    indptr = np.zeros(k + 1, dtype=np.int64)
    np.add.at(indptr, major + 1, 1)
    return np.cumsum(indptr), minor[order], values[order]


def _gather(indptr: np.ndarray, other: np.ndarray, values: np.ndarray, rows: np.ndarray,
            cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stored entries with major in ``rows`` and minor in sorted ``cols``: local (r, c, value)."""
    starts, ends = indptr[rows], indptr[np.asarray(rows) + 1]
    counts = ends - starts
    total = int(counts.sum())
    if total == 0 or len(cols) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    local = np.repeat(np.arange(len(rows)), counts)
    idx = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(starts,
                                                                                    counts)
    minor = other[idx]
    pos = np.minimum(np.searchsorted(cols, minor), len(cols) - 1)
    hit = cols[pos] == minor
    return local[hit], pos[hit], values[idx[hit]]


def _stacked_gather(indptr: np.ndarray, other: np.ndarray, values: np.ndarray,
                    majors: np.ndarray, minors: np.ndarray, k: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stored entries of B blocks (majors [B, R], non-decreasing minors [B, C]): (block, local
    major, local minor, value) of each stored pair inside a block."""
    n_blocks, n_major = majors.shape
    flat = majors.ravel()
    starts = indptr[flat]
    counts = indptr[flat + 1] - starts
    total = int(counts.sum())
    if total == 0 or minors.shape[1] == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty, np.zeros(0, np.float32)
    owner = np.repeat(np.arange(flat.size), counts)
    idx = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(starts,
                                                                                    counts)
    block = owner // n_major
    keys = block * k + other[idx]
    table = (np.arange(n_blocks)[:, None] * k + minors).ravel()
    pos = np.minimum(np.searchsorted(table, keys), table.size - 1)
    hit = table[pos] == keys
    block = block[hit]
    return block, owner[hit] % n_major, pos[hit] - block * minors.shape[1], values[idx[hit]]


class TransitionModel:
    """W = w · (log M − cut) − ρ·[a = b] (module docstring), computed block by block."""

    def __init__(
        self,
        learned: LearnedM,
        cut: CutFeatures | None = None,
        *,
        weight: float = 1.0,
        repeat_penalty: float = 0.0,
    ) -> None:
        if cut is not None and cut.k != learned.k:
            raise ValueError(f"cut features cover {cut.k} phrases, M covers {learned.k}")
        if weight < 0:
            raise ValueError(f"transition weight must not be negative, got {weight}")
        self.learned = learned
        self.cut = cut
        # the same features with the mirrored starts as the starts, for stacked mirrored cuts
        self._cut_mirrored = None if cut is None else CutFeatures(
            cut.end, cut.start if cut.start_mirrored is None else cut.start_mirrored)
        self.weight = np.float32(weight)
        self.repeat_penalty = np.float32(repeat_penalty)
        self.k = learned.k
        # cut ≥ 0, so w · max log M bounds W; the repeat penalty only lowers it
        self.out_bound = (self.weight * learned.row_max).astype(np.float32)
        self.in_bound = (self.weight * learned.col_max).astype(np.float32)

    def block(self, rows: np.ndarray, cols: np.ndarray, *, penalise_repeats: bool = True,
              mirrored: bool = False) -> np.ndarray:
        """W[rows][:, cols] float32 ``[R, C]`` (``cols`` sorted ascending); ``mirrored``: the
        cut goes from a plain to a mirrored phrase (or back)."""
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        log_m = self.learned.block(rows, cols)
        if self.cut is not None:
            log_m = log_m - self.cut.cost(rows, cols, mirrored=mirrored)
        out = self.weight * log_m
        if penalise_repeats and self.repeat_penalty:
            same = rows[:, None] == cols[None, :]
            out[same] -= self.repeat_penalty
        return out

    def stacked(self, rows: np.ndarray, cols: np.ndarray, penalise: np.ndarray | bool = True,
                mirrored: np.ndarray | None = None) -> np.ndarray:
        """W for B blocks at once: ``rows`` [B, R] × ``cols`` [B, C] → float32 [B, R, C], the
        same values as :meth:`block` (rows and cols non-decreasing within a block; padding
        repeats an index); ``penalise`` per block (or for all) applies the repeat penalty;
        ``mirrored`` (bool [B, R]) marks the rows whose cut is mirrored."""
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        log_m = self.learned.stacked(rows, cols)
        if self.cut is not None:
            cost = self.cut.stacked_cost(rows, cols)
            if mirrored is not None and mirrored.any():
                flipped = self._cut_mirrored.stacked_cost(rows, cols)
                cost = np.where(mirrored[:, :, None], flipped, cost)
            log_m = log_m - cost
        out = self.weight * log_m
        if self.repeat_penalty:
            flags = np.broadcast_to(np.asarray(penalise, dtype=bool), (len(rows),))
            same = (rows[:, :, None] == cols[:, None, :]) & flags[:, None, None]
            out[same] -= self.repeat_penalty
        return out

    def row(self, i: int, *, penalise_repeats: bool = True, mirrored: bool = False
            ) -> np.ndarray:
        """W[i, :] over every phrase (``mirrored``: the cuts from ``i`` are mirrored)."""
        return self.block(np.array([i]), np.arange(self.k), penalise_repeats=penalise_repeats,
                          mirrored=mirrored)[0]

    def col(self, j: int, *, penalise_repeats: bool = True) -> np.ndarray:
        """W[:, j] over every phrase."""
        return self.block(np.arange(self.k), np.array([j]), penalise_repeats=penalise_repeats)[:, 0]

    def pair(self, i: int, j: int, *, penalise_repeats: bool = True, mirrored: bool = False
             ) -> float:
        """W(i → j) (the same float32 operations as :meth:`block`, without its gathers)."""
        log_m = self.learned.value(i, j)
        if self.cut is not None:
            log_m = log_m - self.cut.cost(np.array([i]), np.array([j]), mirrored=mirrored)[0, 0]
        out = self.weight * log_m
        if penalise_repeats and self.repeat_penalty and i == j:
            out -= self.repeat_penalty
        return float(out)

    def parts(self, i: int, j: int, *, mirrored: bool = False) -> tuple[float, float]:
        """(M(i → j), cut cost in nats) for showing why a transition scores as it does."""
        m = float(np.exp(self.learned.block(np.array([i]), np.array([j]))[0, 0]))
        cut = 0.0 if self.cut is None else float(
            self.cut.cost(np.array([i]), np.array([j]), mirrored=mirrored)[0, 0])
        return m, cut

    def nbytes(self) -> int:
        """Memory held by the model (log M and the cut features)."""
        cut = 0 if self.cut is None else sum(
            a.nbytes for a in (self.cut.end, self.cut.start, self.cut.start_mirrored)
            if a is not None)
        return self.learned.nbytes() + int(cut) + self.in_bound.nbytes + self.out_bound.nbytes
