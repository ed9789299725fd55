"""The variety cost of a choreography: a dance should not come back soon, nor too often.

    V(d) = γ_r · #{(s, t) : 0 < t − s ≤ N, d_s = d_t, not exempt(s, t)}
         + γ_u · Σ_dance p(p − 1) / 2          (p = phrases on that dance)
         + γ_x · Σ_dance max(0, u − L)         (u = uses of that dance, counted in units)

* **Recency** (γ_r, window N): a dance that returns within N phrases costs γ_r per return.
  The default γ_r is as strong as the back-to-back penalty, so by default no dance returns
  within N phrases unless the music repeats.
* **Reuse** (γ_u): the k-th phrase on a dance costs γ_u · (k − 1), which spreads the song over
  the library instead of walking back and forth along a few favourite pairs. It counts every
  phrase, a repeat of the music too: without ``tie_sections`` nothing asks a repeated section
  to dance alike, and a learned M whose seen pairs score far above the rest would otherwise
  copy a whole chain of dances onto every repeat for free (Tang R_4 with the bundled model:
  11 of 39 phrases copies).
* **Use limit** (L, γ_x): each use of a dance beyond its L-th costs γ_x more. γ_u grows by a
  nat or so per use, less than one smooth cut gains over another, so alone it lets a well
  connected dance come back a third time; γ_x, by default as strong as the recency cost, makes
  "no dance more than L times unless the music repeats" a rule like recency (the fit floor
  still ranks above it: a third use happens where the fit leaves nothing else).
* **The music repeats**: phrases of one section-tie group (the k-th phrase of each occurrence
  of a section, :func:`section_ties`) are one unit: they may share a dance without the rules
  — their returns are exempt from the window and they are one use for the limit — paying
  only γ_u; so are two locked phrases exempt from the window (the user chose them).

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
    use_limit: int = 0  # L (0: no limit)
    overuse_penalty: float = 0.0  # γ_x per use beyond L

    @classmethod
    def for_song(cls, n_phrases: int, ties: Sequence[Sequence[int]], locks: Mapping[int, int],
                 window: int, recency_penalty: float, reuse_penalty: float, *,
                 use_limit: int = 0, overuse_penalty: float = 0.0) -> Variety:
        """Units from the music's repeats (``ties``), every other phrase its own unit."""
        unit = np.arange(n_phrases, dtype=np.int64)
        for group in ties:
            members = [int(t) for t in group if 0 <= int(t) < n_phrases]
            if members:
                unit[members] = min(unit[m] for m in members)
        return cls(window, recency_penalty, reuse_penalty, unit, frozenset(int(t) for t in locks),
                   use_limit, overuse_penalty)

    @property
    def limited(self) -> bool:
        """Whether uses beyond the limit cost γ_x."""
        return self.use_limit > 0 and self.overuse_penalty > 0

    @property
    def reusing(self) -> bool:
        """Whether a further use of a dance costs anything (γ_u or the use limit)."""
        return self.reuse_penalty > 0 or self.limited

    @property
    def recent(self) -> bool:
        """Whether returns within the window cost anything."""
        return self.window > 0 and self.recency_penalty > 0

    @property
    def active(self) -> bool:
        return self.recent or self.reusing

    def reuse_charge(self, phrases: float, new_unit: bool, units: float) -> float:
        """What one more phrase on a dance costs when ``phrases`` other phrases and ``units``
        other units use it (``new_unit``: its unit does not use the dance yet)."""
        over = (self.overuse_penalty if self.limited and new_unit and units >= self.use_limit
                else 0.0)
        return self.reuse_penalty * phrases + over

    def reuse_charges(self, phrases: np.ndarray, new_unit: np.ndarray, units: np.ndarray
                      ) -> np.ndarray:
        """:meth:`reuse_charge` of many dances (float64, the same values)."""
        phrases = np.asarray(phrases, dtype=np.float64)
        over = (np.where(new_unit & (np.asarray(units) >= self.use_limit), self.overuse_penalty,
                         0.0) if self.limited else np.zeros_like(phrases))
        return self.reuse_penalty * phrases + over

    def _exempt(self, s: int, t: int) -> bool:
        return self.unit[s] == self.unit[t] or (s in self.locked and t in self.locked)

    def all_charges(self, d: np.ndarray) -> list[dict[int, float]]:
        """For every phrase t: what each dance would cost there given the dances before it."""
        d = np.asarray(d, dtype=np.int64)
        return [self.charges_at(d, t) for t in range(len(d))]

    def state(self, d: np.ndarray) -> VarietyState:
        """A mutable view of ``d`` that answers single-phrase move costs quickly."""
        return VarietyState(self, np.asarray(d, dtype=np.int64).copy())

    def charges_at(self, d: np.ndarray, t: int) -> dict[int, float]:
        """The charges at phrase ``t`` given the dances ``d[:t]`` (for left-to-right decoders):
        γ_u per earlier phrase on each dance, γ_x where L other units use it and t's own unit
        does not yet, γ_r per return within the window."""
        own = int(self.unit[t])
        charges: dict[int, float] = {}
        if self.reusing:
            phrases: Counter[int] = Counter()
            units_of: dict[int, set[int]] = {}
            for s in range(t):
                phrases[int(d[s])] += 1
                units_of.setdefault(int(d[s]), set()).add(int(self.unit[s]))
            for dance, units in units_of.items():
                new = own not in units
                charge = self.reuse_charge(phrases[dance], new, len(units))
                if charge > 0:
                    charges[dance] = charge
        if self.recent:
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

    def _unit_uses(self, d: np.ndarray) -> np.ndarray:
        """Units on each dance used in ``d`` (int64)."""
        dances = np.unique(d * len(d) + self.unit[: len(d)]) // len(d)
        return np.unique(dances, return_counts=True)[1]

    def overuses(self, d: Sequence[int]) -> int:
        """How many unit uses of a dance go beyond the use limit (0 without one)."""
        d = np.asarray(d, dtype=np.int64)
        if not self.limited or len(d) == 0:
            return 0
        return int(np.maximum(self._unit_uses(d) - self.use_limit, 0).sum())

    def cost(self, d: Sequence[int]) -> float:
        """V(d) (module docstring)."""
        d = np.asarray(d, dtype=np.int64)
        recency = self.recency_penalty * self.returns(d) if self.window > 0 else 0.0
        if len(d) == 0:
            return float(recency)
        # integer counts, so the sums below are exact in any order
        phrases = np.unique(d, return_counts=True)[1].astype(np.float64)
        over = self.overuse_penalty * self.overuses(d)
        return float(recency + self.reuse_penalty * np.sum(phrases * (phrases - 1) / 2) + over)

    def apply(self, fit: np.ndarray, d: np.ndarray) -> bool:
        """Subtract from ``fit`` (in place) every phrase's causal charges under ``d``
        (:meth:`charges_at`, the same float values); whether ``d`` had any variety cost.

        The charges of phrase t are over the dances used before it, kept as arrays over the
        dances in order of first use (phrases and units on each so far), so the T² Python
        loop of :meth:`all_charges` becomes a few array operations per phrase."""
        d = np.asarray(d, dtype=np.int64)
        unit = self.unit.tolist()
        dances = d.tolist()
        position: dict[int, int] = {}  # dance -> index in order of first use
        n_phrases = np.zeros(len(d), dtype=np.float64)  # phrases on each used dance so far
        n_units = np.zeros(len(d), dtype=np.float64)  # units on each used dance so far
        units_of: dict[int, set[int]] = {}
        dances_of: dict[int, set[int]] = {}
        costly = False
        for t in range(len(d)):
            m = len(position)
            new = np.ones(m, dtype=bool)
            for dance in dances_of.get(unit[t], ()):  # its own unit uses it already
                new[position[dance]] = False
            if self.reusing:
                values = self.reuse_charges(n_phrases[:m], new, n_units[:m])
                charged = values > 0
            else:
                values, charged = np.zeros(m, dtype=np.float64), np.zeros(m, dtype=bool)
            if self.recent:
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
            n_phrases[position[dances[t]]] += 1
            if unit[t] not in users:
                users.add(unit[t])
                n_units[position[dances[t]]] += 1
            dances_of.setdefault(unit[t], set()).add(dances[t])
        return costly


class VarietyState:
    """Dances per phrase with the phrase and unit counts per dance, for single-phrase moves."""

    def __init__(self, variety: Variety, d: np.ndarray) -> None:
        self.v = variety
        self.d = d
        self.units: dict[int, Counter[int]] = {}  # dance -> phrases of each unit on it
        for t, dance in enumerate(d):
            self.units.setdefault(int(dance), Counter())[int(variety.unit[t])] += 1
        self.phrases: Counter[int] = Counter(int(x) for x in d)
        self.solo = np.bincount(variety.unit, minlength=len(d))[variety.unit] == 1
        self._counts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def cost_here(self, t: int) -> float:
        """``marginal(t, [d_t])``: what V loses if phrase t leaves its dance (scalar, the same
        arithmetic, no arrays: most phrases a polish looks at have none)."""
        v, d = self.v, self.d
        own = int(v.unit[t])
        current = int(d[t])
        out = 0.0
        if v.reusing:
            users = self.units.get(current, Counter())
            new = users.get(own, 0) == 1
            out = v.reuse_charge(self.phrases[current] - 1.0, new, len(users) - float(new))
        if v.recent:
            for s in range(max(0, t - v.window), min(len(d), t + v.window + 1)):
                if s != t and d[s] == current and not v._exempt(s, t):
                    out += v.recency_penalty
        return out

    def _on(self, dances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """How many phrases and how many units use each of ``dances`` (float64)."""
        if self._counts is None:
            keys = np.fromiter(self.units, dtype=np.int64, count=len(self.units))
            order = np.argsort(keys)
            units = np.fromiter((len(u) for u in self.units.values()), dtype=np.float64,
                                count=len(keys))
            phrases = np.fromiter((self.phrases[k] for k in self.units), dtype=np.float64,
                                  count=len(keys))
            self._counts = (keys[order], phrases[order], units[order])
        keys, phrases, units = self._counts
        pos = np.minimum(np.searchsorted(keys, dances), len(keys) - 1)
        found = keys[pos] == dances
        return np.where(found, phrases[pos], 0.0), np.where(found, units[pos], 0.0)

    def carrying(self) -> np.ndarray:
        """bool [T]: the phrases whose own dance carries variety cost (exactly those where
        ``marginal(t, [d_t]) > 0``), found with a few array passes so that a polish evaluates
        moves only there instead of calling :meth:`marginal` on every phrase."""
        v, d = self.v, self.d
        n = len(d)
        out = np.zeros(n, dtype=bool)
        if v.reusing and n:
            dances, of, per_dance = np.unique(d, return_inverse=True, return_counts=True)
            if v.reuse_penalty > 0:  # another phrase on the dance
                out |= per_dance[of] >= 2
            if v.limited:  # t alone of its unit there, and L other units on the dance
                pairs = d * n + v.unit
                unique, pair_of, per_pair = np.unique(pairs, return_inverse=True,
                                                      return_counts=True)
                units_per_dance = np.unique(unique // n, return_counts=True)[1]
                n_units = units_per_dance[np.searchsorted(dances, d)]
                out |= (per_pair[pair_of] == 1) & (n_units - 1 >= v.use_limit)
        if v.recent:
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
        if v.reusing:
            mine = dances == current
            phrases, units = self._on(dances)
            if self.solo[t]:  # t is its unit: other units are every user but t itself
                out += v.reuse_charges(phrases - mine, np.ones(len(dances), dtype=bool),
                                       units - mine)
            else:
                new = np.empty(len(dances), dtype=bool)
                for i, dance in enumerate(dances.tolist()):
                    users = self.units.get(dance, Counter())
                    new[i] = users.get(own, 0) - (dance == current) == 0  # no unit mate on it
                    units[i] = len(users) - (own in users)
                out += v.reuse_charges(phrases - mine, new, units)
        if v.recent:
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
        before = int(self.d[t])
        old = self.units[before]
        old[own] -= 1
        if not old[own]:
            del old[own]
        if not old:
            del self.units[before]
        self.phrases[before] -= 1
        if not self.phrases[before]:
            del self.phrases[before]
        self.units.setdefault(int(dance), Counter())[own] += 1
        self.phrases[int(dance)] += 1
        self.d[t] = dance
        self._counts = None
