"""Variety inside the decoder: recency and reuse costs break ties, the music's repeats and locks
are exempt, section ties still win where asked."""

from dataclasses import replace

import numpy as np
from choreo_studio.core.retrieval.decoding import (
    DecodeOptions,
    TransitionScores,
    decode,
    log_fit,
    objective,
)
from choreo_studio.core.retrieval.variety import Variety

PLAIN = DecodeOptions(recency_window=0, reuse_penalty=0.0, use_limit=0)


def _returns_within(d, window, exempt=()):
    """(s, t) pairs where a dance comes back within ``window`` phrases."""
    return [(s, t) for t in range(len(d)) for s in range(max(0, t - window), t)
            if d[s] == d[t] and {s, t} not in [set(e) for e in exempt]]


def test_only_variety_breaks_a_tie():
    """Every dance fits every phrase equally and every transition is the same: plain Viterbi
    walks back and forth between two dances; the default decoder spreads the song."""
    p = np.full((10, 6), 1.0 / 6)
    trans = TransitionScores(np.ones((6, 6)))
    plain = decode(p, trans, options=PLAIN)
    varied = decode(p, trans)
    assert len(set(plain.tolist())) == 2 and _returns_within(plain, 4)
    assert _returns_within(varied, DecodeOptions().recency_window) == []
    assert len(set(varied.tolist())) == 6  # all of them: fewer second uses
    fit = log_fit(p)
    assert objective(varied, fit, trans) == objective(plain, fit, trans)  # J is tied
    greedy = decode(p, trans, method="greedy")
    assert _returns_within(greedy, 4) == []


def test_a_dance_returns_when_the_music_repeats():
    p = np.full((6, 8), 0.05)
    p[[0, 3], 0] = 0.9  # phrases 0 and 3 are the same music (a tie group) and want dance 0
    p[[0, 3], 1] = 0.6  # dance 1 fits them too (above the fit floor), so variety can use it
    trans = TransitionScores(np.ones((8, 8)))
    same_music = decode(p, trans, ties=[[0, 3]])
    assert same_music[0] == same_music[3] == 0
    unrelated = decode(p, trans)
    assert unrelated[0] != unrelated[3]
    assert _returns_within(same_music, 4, exempt=[(0, 3)]) == []


def test_section_ties_and_locks_win():
    p = np.random.default_rng(0).dirichlet(np.ones(8), 6)
    trans = TransitionScores(np.ones((8, 8)))
    tied = decode(p, trans, ties=[[0, 2]], options=DecodeOptions(tie_sections=True))
    assert tied[0] == tied[2]
    locked = decode(p, trans, locks={1: 5, 3: 5})
    assert locked[1] == locked[3] == 5
    assert _returns_within(locked, 4, exempt=[(1, 3)]) == []


def test_reuse_cost_spreads_a_favourite():
    """Dance 0 fits 0.5 nats better everywhere: without the reuse cost it comes every other
    phrase; with 1 nat per earlier use it is used at most twice."""
    p = np.full((12, 12), 1.0)
    p[:, 0] = np.e ** 0.5
    p /= p.sum(axis=1, keepdims=True)
    trans = TransitionScores(np.ones((12, 12)))
    plain = decode(p, trans, options=PLAIN)
    spread = decode(p, trans, options=replace(PLAIN, reuse_penalty=1.0))
    assert np.sum(plain == 0) == 6
    assert np.sum(spread == 0) == 1


def test_use_limit_keeps_a_well_connected_dance_to_two_uses():
    """Every dance fits every phrase equally; cuts into and out of dance 0 are M = 1, every
    other pair 0.01 (2.3 nats less per side at w = 0.5): with a recency window of 2 the reuse
    cost alone (1 nat per earlier use) lets 0 come back every third phrase or so; the default
    use limit (2) stops it at two uses, for both decoders."""
    k = 12
    m = np.full((k, k), 0.01)
    m[0, :] = m[:, 0] = 1.0
    p = np.full((12, k), 1.0 / k)
    trans = TransitionScores(m)
    short = DecodeOptions(recency_window=2)
    unlimited = decode(p, trans, options=replace(short, use_limit=0))
    limited = decode(p, trans, options=short)
    assert np.sum(unlimited == 0) >= 3
    assert np.sum(limited == 0) == short.use_limit == 2
    assert max(np.bincount(limited)) == 2
    assert np.sum(decode(p, trans, method="greedy", options=replace(short, use_limit=0)) == 0) > 2
    assert max(np.bincount(decode(p, trans, method="greedy", options=short))) <= 2


def test_use_limit_yields_to_the_fit_floor_and_to_repeated_music():
    """Dance 0 is the only dance within half the best fit on phrases 0, 3, 6 and 9: with
    those phrases unrelated the floor (ranked above the limit) still puts it on all four;
    as one repeated section (a tie group, one unit) they share it freely too, and elsewhere
    no dance is used more than twice."""
    p = np.full((12, 8), 1.0)
    p[[0, 3, 6, 9], 0] = 10.0
    p /= p.sum(axis=1, keepdims=True)
    trans = TransitionScores(np.ones((8, 8)))
    forced = decode(p, trans)
    assert forced[[0, 3, 6, 9]].tolist() == [0, 0, 0, 0]
    repeated = decode(p, trans, ties=[[0, 3, 6, 9]])
    assert repeated[[0, 3, 6, 9]].tolist() == [0, 0, 0, 0]
    rest = np.delete(repeated, [0, 3, 6, 9])
    assert max(np.bincount(rest)) <= 2 and 0 not in rest.tolist()


def test_fit_floor_outranks_returns_and_the_use_limit_together():
    """Dance 0 is the only dance within half the best fit on phrases 0, 2, 4 and 6: on phrase 2
    it returns to phrases 0, 4 and 6 within the window (3 × 30 nats) and is their fourth use
    (30 more, plus the reuse cost): more than a floor of 100 nats, which put dance 3 there;
    the floor (1,000) still ranks above them all, so every phrase gets a dance within half
    its best fit (the odd phrases have 1 and 2)."""
    p = np.ones((7, 4))
    p[[0, 2, 4, 6], 0] = 10.0
    p[[1, 3, 5], 1:3] = 10.0
    p /= p.sum(axis=1, keepdims=True)
    trans = TransitionScores(np.ones((4, 4)))
    for method in ("viterbi", "greedy"):
        d = decode(p, trans, method=method)
        assert d[[0, 2, 4, 6]].tolist() == [0, 0, 0, 0], method
        assert set(d[[1, 3, 5]].tolist()) <= {1, 2}, method


def test_use_limit_cost_and_charges():
    """V's limit term: each unit use beyond L costs γ_x (a repeat of the music is one unit);
    γ_u counts every phrase; the causal charges (left to right, in place on a fit, and for
    one phrase) sum to V."""
    v = Variety.for_song(7, ties=[[0, 3]], locks={}, window=0, recency_penalty=0.0,
                         reuse_penalty=1.0, use_limit=2, overuse_penalty=30.0)
    d = np.array([7, 1, 7, 7, 7, 7, 2])  # dance 7: 5 phrases, units {0, 3}, {2}, {4}, {5}
    assert v.overuses(d) == 2
    assert v.cost(d) == 1.0 * 5 * 4 / 2 + 30.0 * 2
    charges = v.all_charges(d)
    assert sum(charges[t].get(int(d[t]), 0.0) for t in range(7)) == v.cost(d)
    assert [v.charges_at(d, t) for t in range(7)] == charges
    fit = np.zeros((7, 8), dtype=np.float32)
    assert v.apply(fit, d)
    expected = np.zeros((7, 8), dtype=np.float32)
    for t, row in enumerate(charges):
        for dance, c in row.items():
            expected[t, dance] -= np.float32(c)
    np.testing.assert_array_equal(fit, expected)
    assert Variety.for_song(7, [], {}, 0, 0.0, 1.0).overuses(d) == 0


def test_variety_cost_counts_returns_and_uses():
    v = Variety.for_song(6, ties=[[0, 3]], locks={}, window=2, recency_penalty=10.0,
                         reuse_penalty=1.0)
    # returns: (0, 2) costs 10; (0, 3) is the same music; three phrases on 7: 1 + 2 extra
    assert v.cost([7, 1, 7, 7, 2, 3]) == 10.0 + 3.0 + 10.0  # (2, 3) is within 2 too
    assert v.cost([7, 1, 2, 7, 4, 5]) == 1.0  # the repeat is no return, but a second phrase


def test_choreo_auto_flags_reach_the_decode_options():
    import argparse

    import pytest
    from choreo_studio.core.commands import auto
    from choreo_studio.core.errors import ChoreoError

    parser = argparse.ArgumentParser()
    auto.register(parser.add_subparsers())
    args = parser.parse_args(["auto", "-o", "out", "--recency", "6", "--reuse-cost", "0.5",
                              "--transition-weight", "0.3", "--fit-floor", "0.25"])
    options = auto._options(args)  # noqa: SLF001
    assert (options.recency_window, options.reuse_penalty, options.transition_weight,
            options.fit_floor) == (6, 0.5, 0.3, 0.25)
    defaults = auto._options(parser.parse_args(["auto", "-o", "out"]))  # noqa: SLF001
    assert defaults == DecodeOptions()
    with pytest.raises(ChoreoError, match="--recency"):
        auto._options(parser.parse_args(["auto", "-o", "out", "--recency", "-1"]))  # noqa: SLF001
    with pytest.raises(ChoreoError, match="--fit-floor"):
        auto._options(parser.parse_args(["auto", "-o", "out", "--fit-floor", "1"]))  # noqa: SLF001


def test_carrying_marks_every_phrase_whose_dance_costs():
    """The polish's screen marks exactly the phrases where moving off their dance lowers V
    (ties, locks and both costs on random sequences)."""
    rng = np.random.default_rng(4)
    for case in range(60):
        n = int(rng.integers(1, 14))
        ties = [[0, n - 1]] if case % 3 == 0 and n > 2 else []
        locks = {t: 0 for t in range(n) if rng.random() < 0.2}
        v = Variety.for_song(n, ties, locks, window=int(rng.integers(0, 4)),
                             recency_penalty=float(rng.choice([0.0, 5.0])),
                             reuse_penalty=float(rng.choice([0.0, 1.0])),
                             use_limit=int(rng.integers(0, 3)),
                             overuse_penalty=float(rng.choice([0.0, 7.0])))
        state = v.state(rng.integers(0, 4, n))
        marked = state.carrying()
        here = [state.marginal(t, state.d[t : t + 1])[0] for t in range(n)]
        np.testing.assert_array_equal(marked, np.array(here) > 0)  # exact: costs are ≥ 0
        assert [state.cost_here(t) for t in range(n)] == here


def test_cost_and_returns_equal_their_definition():
    rng = np.random.default_rng(8)
    for case in range(60):
        n = int(rng.integers(0, 12))
        ties = [[0, n - 1]] if case % 3 == 0 and n > 2 else []
        locks = {t: 0 for t in range(n) if rng.random() < 0.3}
        v = Variety.for_song(n, ties, locks, window=int(rng.integers(0, 4)),
                             recency_penalty=3.0, reuse_penalty=float(rng.choice([0.0, 1.5])),
                             use_limit=int(rng.integers(0, 3)), overuse_penalty=7.0)
        d = rng.integers(0, 4, n)
        returns = sum(1 for t in range(n) for s in range(max(0, t - v.window), t)
                      if d[s] == d[t] and v.unit[s] != v.unit[t]
                      and not (s in locks and t in locks))
        units = [len({int(v.unit[t]) for t in range(n) if d[t] == x}) for x in set(d.tolist())]
        phrases = [int(np.sum(d == x)) for x in set(d.tolist())]
        assert v.returns(d) == returns
        over = 7.0 * sum(max(0, u - v.use_limit) for u in units) if v.use_limit else 0.0
        assert v.overuses(d) == (sum(max(0, u - v.use_limit) for u in units) if v.use_limit
                                 else 0)
        assert v.cost(d) == 3.0 * returns * (v.window > 0) + v.reuse_penalty * sum(
            p * (p - 1) / 2 for p in phrases) + over
        charges = v.all_charges(d)  # the causal shares add up to V
        assert np.isclose(sum(charges[t].get(int(d[t]), 0.0) for t in range(n)), v.cost(d))
