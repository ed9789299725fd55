"""The variety cost of a choreography: a dance should not come back soon, nor too often.

    V(d) = γ_r · #{(s, t) : 0 < t − s ≤ N, d_s = d_t, not exempt(s, t)}
         + γ_u · Σ_dance u(u − 1) / 2          (u = uses of that dance, counted in units)

* **Recency** (γ_r, window N): a dance that returns within N phrases costs γ_r per return.
  The default γ_r is as strong as the back-to-back penalty, so by default no dance returns
  within N phrases unless the music repeats.
* **Reuse** (γ_u): the k-th use of a dance costs γ_u · (k − 1), which spreads the song over
  the library instead of walking back and forth along a few favourite pairs.
* **The music repeats**: phrases of one section-tie group (the k-th phrase of each occurrence
  of a section, :func:`section_ties`) may share a dance freely — they count as one unit and
  their returns are exempt; so are two locked phrases (the user chose them).

V is not first-order Markov, so the decoder minimises J − V by rounds: decode, then charge
each phrase the cost its dance causes with the phrases before it (the causal share of V, so
each pair is charged once), add those charges to the music fit, decode again; after each
decode, phrases that still carry a cost are moved one at a time to the dance that raises
J − V most among their best music fits (with both neighbours' transitions exact); the best
J − V seen wins (see ``decoding.decode``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Variety:
    """Recency window and costs plus which phrases may share a dance (units)."""

    window: int
    recency_penalty: float
    reuse_penalty: float
    unit: np.ndarray  # [T] unit id per phrase: a tie group shares one id
    locked: frozenset[int] = frozenset()

    @classmethod
    def for_song(cls, n_phrases: int, ties: Sequence[Sequence[int]], locks: Mapping[int, int],
                 window: int, recency_penalty: float, reuse_penalty: float) -> Variety:
        """Units from the music's repeats (``ties``), every other phrase its own unit."""
        unit = np.arange(n_phrases, dtype=np.int64)
        for group in ties:
            members = [int(t) for t in group if 0 <= int(t) < n_phrases]
            if members:
                unit[members] = min(unit[m] for m in members)
        return cls(window, recency_penalty, reuse_penalty, unit, frozenset(int(t) for t in locks))

    @property
    def active(self) -> bool:
        return (self.window > 0 and self.recency_penalty > 0) or self.reuse_penalty > 0

    def _exempt(self, s: int, t: int) -> bool:
        return self.unit[s] == self.unit[t] or (s in self.locked and t in self.locked)

    def all_charges(self, d: np.ndarray) -> list[dict[int, float]]:
        """For every phrase t: what each dance would cost there given the dances before it."""
        d = np.asarray(d, dtype=np.int64)
        units_of: dict[int, set[int]] = {}  # dance -> units that used it before t
        dances_of: dict[int, set[int]] = {}  # unit -> dances it used before t
        recency = self.window > 0 and self.recency_penalty > 0
        out = []
        for t in range(len(d)):
            own = int(self.unit[t])
            charges: dict[int, float] = {}
            if self.reuse_penalty > 0:
                mine = dances_of.get(own, set())
                for dance, units in units_of.items():
                    n = len(units) - (own in units)
                    if n and dance not in mine:
                        charges[dance] = self.reuse_penalty * n
            if recency:
                for s in range(max(0, t - self.window), t):
                    if not self._exempt(s, t):
                        charges[int(d[s])] = charges.get(int(d[s]), 0.0) + self.recency_penalty
            out.append(charges)
            units_of.setdefault(int(d[t]), set()).add(own)
            dances_of.setdefault(own, set()).add(int(d[t]))
        return out

    def state(self, d: np.ndarray) -> VarietyState:
        """A mutable view of ``d`` that answers single-phrase move costs quickly."""
        return VarietyState(self, np.asarray(d, dtype=np.int64).copy())

    def charges_at(self, d: np.ndarray, t: int) -> dict[int, float]:
        """The charges at phrase ``t`` given the dances ``d[:t]`` (for left-to-right decoders)."""
        own = int(self.unit[t])
        charges: dict[int, float] = {}
        if self.reuse_penalty > 0:
            units_of: dict[int, set[int]] = {}
            for s in range(t):
                units_of.setdefault(int(d[s]), set()).add(int(self.unit[s]))
            for dance, units in units_of.items():
                if own not in units:
                    charges[dance] = self.reuse_penalty * len(units)
        if self.window > 0 and self.recency_penalty > 0:
            for s in range(max(0, t - self.window), t):
                if not self._exempt(s, t):
                    charges[int(d[s])] = charges.get(int(d[s]), 0.0) + self.recency_penalty
        return charges

    def returns(self, d: Sequence[int]) -> int:
        """How many (s, t) pairs return to a dance within the window (exempt ones aside),
        counted one gap at a time over the whole song."""
        d = np.asarray(d, dtype=np.int64)
        n = len(d)
        locked = np.zeros(n, dtype=bool)
        locked[[t for t in self.locked if 0 <= t < n]] = True
        count = 0
        for gap in range(1, min(self.window, n - 1) + 1):
            count += int(np.count_nonzero((d[gap:] == d[:-gap]) & (
                self.unit[gap:] != self.unit[:-gap]) & ~(locked[gap:] & locked[:-gap])))
        return count

    def cost(self, d: Sequence[int]) -> float:
        """V(d) (module docstring)."""
        d = np.asarray(d, dtype=np.int64)
        recency = self.recency_penalty * self.returns(d) if self.window > 0 else 0.0
        if len(d) == 0:
            return float(recency)
        # units per dance: the distinct (dance, unit) pairs of each dance (integer counts, so
        # the sum below is exact in any order)
        dances = np.unique(d * len(d) + self.unit[: len(d)]) // len(d)
        uses = np.unique(dances, return_counts=True)[1].astype(np.float64)
        return float(recency + self.reuse_penalty * np.sum(uses * (uses - 1) / 2))

    def apply(self, fit: np.ndarray, d: np.ndarray) -> bool:
        """Subtract from ``fit`` (in place) every phrase's causal charges under ``d``
        (:meth:`all_charges`, the same float values); whether ``d`` had any variety cost.

        The charges of phrase t are over the dances used before it: γ_u per other unit on
        each (none where t's own unit used it already) plus γ_r per return within the
        window, kept as arrays over the dances in order of first use, so the T² Python loop
        of :meth:`all_charges` becomes a few array operations per phrase."""
        d = np.asarray(d, dtype=np.int64)
        unit = self.unit.tolist()
        dances = d.tolist()
        recency = self.window > 0 and self.recency_penalty > 0
        position: dict[int, int] = {}  # dance -> index in order of first use
        n_units = np.zeros(len(d), dtype=np.float64)  # units on each used dance so far
        units_of: dict[int, set[int]] = {}
        dances_of: dict[int, set[int]] = {}
        costly = False
        for t in range(len(d)):
            m = len(position)
            values = (self.reuse_penalty * n_units[:m] if self.reuse_penalty > 0
                      else np.zeros(m, dtype=np.float64))
            charged = np.full(m, self.reuse_penalty > 0)
            for dance in dances_of.get(unit[t], ()):  # its own unit used it: no reuse cost
                values[position[dance]] = 0.0
                charged[position[dance]] = False
            if recency:
                for s in range(max(0, t - self.window), t):
                    if not self._exempt(s, t):
                        values[position[dances[s]]] += self.recency_penalty
                        charged[position[dances[s]]] = True
            here = position.get(dances[t])
            if here is not None and charged[here] and values[here] > 0:
                costly = True
            if charged.any():
                used = np.fromiter(position, dtype=np.int64, count=m)
                fit[t, used[charged]] -= values[charged].astype(np.float32)
            users = units_of.setdefault(dances[t], set())
            if dances[t] not in position:
                position[dances[t]] = m
            if unit[t] not in users:
                users.add(unit[t])
                n_units[position[dances[t]]] += 1
            dances_of.setdefault(unit[t], set()).add(dances[t])
        return costly


class VarietyState:
    """Dances per phrase with the unit counts per dance, for single-phrase moves."""

    def __init__(self, variety: Variety, d: np.ndarray) -> None:
        self.v = variety
        self.d = d
        self.units: dict[int, Counter[int]] = {}
        for t, dance in enumerate(d):
            self.units.setdefault(int(dance), Counter())[int(variety.unit[t])] += 1
        self.solo = np.bincount(variety.unit, minlength=len(d))[variety.unit] == 1
        self._counts: tuple[np.ndarray, np.ndarray] | None = None  # (dances, units on each)

    def cost_here(self, t: int) -> float:
        """``marginal(t, [d_t])``: what V loses if phrase t leaves its dance (scalar, the same
        arithmetic, no arrays: most phrases a polish looks at have none)."""
        v, d = self.v, self.d
        own = int(v.unit[t])
        current = int(d[t])
        out = 0.0
        if v.reuse_penalty > 0:
            users = self.units.get(current, Counter())
            if users.get(own, 0) == 1:
                out = v.reuse_penalty * (len(users) - 1.0)
        if v.window > 0 and v.recency_penalty > 0:
            for s in range(max(0, t - v.window), min(len(d), t + v.window + 1)):
                if s != t and d[s] == current and not v._exempt(s, t):
                    out += v.recency_penalty
        return out

    def _units_on(self, dances: np.ndarray) -> np.ndarray:
        """How many units use each of ``dances`` (float64)."""
        if self._counts is None:
            keys = np.fromiter(self.units, dtype=np.int64, count=len(self.units))
            order = np.argsort(keys)
            counts = np.fromiter((len(u) for u in self.units.values()), dtype=np.float64,
                                 count=len(keys))
            self._counts = (keys[order], counts[order])
        keys, counts = self._counts
        pos = np.minimum(np.searchsorted(keys, dances), len(keys) - 1)
        return np.where(keys[pos] == dances, counts[pos], 0.0)

    def carrying(self) -> np.ndarray:
        """bool [T]: the phrases whose own dance may carry variety cost (a superset of those
        where ``marginal(t, [d_t]) > 0``), found with a few array passes so that a polish
        evaluates moves only there instead of calling :meth:`marginal` on every phrase."""
        v, d = self.v, self.d
        n = len(d)
        out = np.zeros(n, dtype=bool)
        if v.reuse_penalty > 0 and n:
            # another unit uses the dance, and t is the only one of its unit on it
            pairs = d * n + v.unit
            unique, pair_of, per_pair = np.unique(pairs, return_inverse=True, return_counts=True)
            dances, units_per_dance = np.unique(unique // n, return_counts=True)
            n_units = units_per_dance[np.searchsorted(dances, d)]
            out |= (per_pair[pair_of] == 1) & (n_units >= 2)
        if v.window > 0 and v.recency_penalty > 0:
            locked = np.zeros(n, dtype=bool)
            locked[[t for t in v.locked if 0 <= t < n]] = True
            for gap in range(1, min(v.window, n - 1) + 1):
                hit = (d[gap:] == d[:-gap]) & (v.unit[gap:] != v.unit[:-gap]) & ~(
                    locked[gap:] & locked[:-gap])
                out[gap:] |= hit
                out[:-gap] |= hit
        return out

    def marginal(self, t: int, dances: np.ndarray) -> np.ndarray:
        """What V gains if phrase ``t`` takes each of ``dances`` (the others as they are)."""
        v, d = self.v, self.d
        own = int(v.unit[t])
        current = int(d[t])
        out = np.zeros(len(dances), dtype=np.float64)
        if v.reuse_penalty > 0:
            if self.solo[t]:  # t is its unit: other units are every user but t itself
                out += v.reuse_penalty * (self._units_on(dances) - (dances == current))
            else:
                for i, dance in enumerate(dances.tolist()):
                    users = self.units.get(dance, Counter())
                    mates = users.get(own, 0) - (dance == current)  # own unit's others on it
                    if mates == 0:
                        out[i] = v.reuse_penalty * (len(users) - (own in users))
        if v.window > 0 and v.recency_penalty > 0:
            near = [d[s] for s in range(max(0, t - v.window), min(len(d), t + v.window + 1))
                    if s != t and not v._exempt(s, t)]
            if near:
                # γ_r once per neighbour on the dance: added one at a time, as a loop over the
                # neighbours would (the same float sums), but a pass per count, not neighbour
                count = (dances[:, None] == np.array(near)[None, :]).sum(axis=1)
                for times in range(1, int(count.max()) + 1):
                    out[count >= times] += v.recency_penalty
        return out

    def move(self, t: int, dance: int) -> None:
        """Phrase ``t`` takes ``dance``."""
        own = int(self.v.unit[t])
        old = self.units[int(self.d[t])]
        old[own] -= 1
        if not old[own]:
            del old[own]
        if not old:
            del self.units[int(self.d[t])]
        self.units.setdefault(int(dance), Counter())[own] += 1
        self.d[t] = dance
        self._counts = None
