"""The decoder's floored log music fit of one song, kept between its re-solves.

A re-solve (a lock, a new setting) decodes the same P(d | u) again; at K = 100,000 its T × K
logarithm and fit floor (``decoding.log_fit``, ``decoding.apply_fit_floor``) cost about as much
as the candidate Viterbi itself. :class:`FitCache` keeps the last song's result with a private
copy of its input: a later call with an equal input (one comparison pass, which also catches an
input changed in place) gets the kept array back. The kept array is read-only, so no decoder
step can change it, and the candidate decoder may keep what it derives from it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import numpy as np


class FitCache:
    """One entry: (key, a private copy of the input, the derived read-only fit)."""

    def __init__(self) -> None:
        self._entry: tuple[Hashable, np.ndarray, np.ndarray] | None = None

    def get(self, source: np.ndarray, key: Hashable, make: Callable[[], np.ndarray]
            ) -> np.ndarray:
        """The fit derived from ``source`` under ``key``: the kept one when both are equal to
        the last call's, else ``make()`` (kept, read-only, never sharing memory with
        ``source``)."""
        entry = self._entry  # one read: a concurrent call may replace it
        if entry is not None and entry[0] == key and _equal(entry[1], source):
            return entry[2]
        fit = make()
        if np.shares_memory(fit, source):
            fit = fit.copy()
        fit.flags.writeable = False
        self._entry = (key, np.array(source, copy=True), fit)
        return fit

    def holds(self, fit: np.ndarray) -> bool:
        """Whether ``fit`` is the kept (private, read-only) array itself."""
        entry = self._entry
        return entry is not None and entry[2] is fit


def _equal(kept: np.ndarray, source: np.ndarray) -> bool:
    """Same shape, dtype and values (NaN never equal: such an input is derived again)."""
    return kept.shape == source.shape and kept.dtype == source.dtype and bool(
        np.array_equal(kept, source))
