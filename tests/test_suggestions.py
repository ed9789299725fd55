"""Suggestions rank by P(d|u_t)·M(prev→d)·M(d→next) and report the parts."""

import numpy as np
from choreo_studio.core.retrieval.suggestions import suggest


def test_suggestions_follow_the_formula():
    rng = np.random.default_rng(0)
    k = 50
    fit = rng.dirichlet(np.ones(k))
    m = np.clip(rng.random((k, k)), 0.01, 1)
    got = suggest(fit, m, prev=3, nxt=7, top_k=5)
    expected = fit * m[3] * m[:, 7]
    expected[[3, 7]] = -np.inf
    order = np.argsort(-expected)[:5]
    assert [s.dance_index for s in got] == order.tolist()
    for s in got:
        d = s.dance_index
        assert s.music_fit == fit[d]
        assert s.transition_in == m[3, d] and s.transition_out == m[d, 7]
        assert np.isclose(s.score, s.music_fit * s.transition_in * s.transition_out)


def test_transition_changes_the_ranking_and_ends_have_one_neighbour():
    fit = np.array([0.5, 0.3, 0.2])
    m = np.array([[0.01, 0.01, 1.0], [1.0, 0.01, 1.0], [1.0, 1.0, 0.01]])
    assert [s.dance_index for s in suggest(fit, m, top_k=3)] == [0, 1, 2]
    after_0 = suggest(fit, m, prev=0, top_k=3, exclude_neighbours=False)
    assert after_0[0].dance_index == 2 and after_0[0].transition_out == 1.0
    first = suggest(fit, m, nxt=2, top_k=2)
    assert [s.dance_index for s in first] == [0, 1]
    assert all(s.transition_in == 1.0 for s in first)
