"""Suggestions rank by log P(d|u_t) + W(prev→d) + W(d→next), exactly at any K, with named parts."""

import numpy as np
import pytest
from choreo_studio.core.library.transition_prior import CutFeatures
from choreo_studio.core.retrieval.suggestions import suggest
from choreo_studio.core.retrieval.transitions import LearnedM, TransitionModel


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
        assert s.transition_in == pytest.approx(m[3, d], rel=1e-6)
        assert s.transition_out == pytest.approx(m[d, 7], rel=1e-6)
        assert s.score == pytest.approx(s.music_fit * s.transition_in * s.transition_out, 1e-5)
        assert s.pose_jump_in == s.pose_jump_out == 0.0


def test_transition_changes_the_ranking_and_ends_have_one_neighbour():
    fit = np.array([0.5, 0.3, 0.2])
    m = np.array([[0.01, 0.01, 1.0], [1.0, 0.01, 1.0], [1.0, 1.0, 0.01]])
    assert [s.dance_index for s in suggest(fit, m, top_k=3)] == [0, 1, 2]
    after_0 = suggest(fit, m, prev=0, top_k=3, exclude_neighbours=False)
    assert after_0[0].dance_index == 2 and after_0[0].transition_out == 1.0
    first = suggest(fit, m, nxt=2, top_k=2)
    assert [s.dance_index for s in first] == [0, 1]
    assert all(s.transition_in == 1.0 for s in first)


@pytest.mark.parametrize("seed", range(4))
def test_exact_top_k_with_cut_costs_on_a_factored_model(seed):
    """The pruned search returns the brute-force top 10 of the full score, parts included."""
    rng = np.random.default_rng(seed)
    k, d = 3000, 6
    groups = rng.integers(0, 5, k)
    table = rng.uniform(0.05, 1.0, (5, 5))
    pairs = (rng.integers(0, k, 500), rng.integers(0, k, 500), rng.uniform(0.5, 1.0, 500))
    cut = CutFeatures(end=rng.normal(0, 1, (k, d)), start=rng.normal(0, 1, (k, d)))
    model = TransitionModel(LearnedM.factored(groups, table, pairs), cut, weight=0.7)
    fit = rng.dirichlet(np.full(k, 0.3))
    got = suggest(fit, prev=11, nxt=29, top_k=10, model=model)
    full = (np.log(np.maximum(fit, 1e-12)) + model.row(11, penalise_repeats=False)
            + model.col(29, penalise_repeats=False))
    full[[11, 29]] = -np.inf
    assert [s.dance_index for s in got] == np.argsort(-full)[:10].tolist()
    best = got[0]
    m_in, jump_in = model.parts(11, best.dance_index)
    assert best.transition_in == pytest.approx(m_in, rel=1e-5)
    assert best.pose_jump_in == pytest.approx(jump_in, rel=1e-5)
    assert [name for name, _ in best.parts()][0] == "fits the music"


def test_mirrored_cuts_rank_by_the_mirrored_pose_jumps():
    """With the cut into the phrase and out of some candidates mirrored, the ranking and the
    pose jumps shown are the brute force over the mirrored costs."""
    rng = np.random.default_rng(5)
    k, d = 400, 6
    cut = CutFeatures(end=rng.normal(0, 1, (k, d)), start=rng.normal(0, 1, (k, d)),
                      start_mirrored=rng.normal(0, 1, (k, d)))
    model = TransitionModel(LearnedM.from_matrix(rng.uniform(0.05, 1.0, (k, k))), cut,
                            weight=0.7)
    fit = rng.dirichlet(np.full(k, 0.3))
    flip_out = rng.random(k) < 0.5
    got = suggest(fit, prev=3, nxt=7, top_k=10, model=model, flip_in=True, flip_out=flip_out)
    all_k = np.arange(k)
    jump_in = cut.cost(np.array([3]), all_k, mirrored=True)[0]
    jump_out = np.where(flip_out, cut.cost(all_k, np.array([7]), mirrored=True)[:, 0],
                        cut.cost(all_k, np.array([7]))[:, 0])
    full = (np.log(np.maximum(fit, 1e-12)) + 0.7 * (model.learned.row_vector(3)
            + model.learned.col_vector(7) - jump_in - jump_out))
    full[[3, 7]] = -np.inf
    assert [s.dance_index for s in got] == np.argsort(-full)[:10].tolist()
    assert got[0].pose_jump_in == pytest.approx(jump_in[got[0].dance_index], rel=1e-5)
    assert got[0].pose_jump_out == pytest.approx(jump_out[got[0].dance_index], rel=1e-5)


@pytest.mark.parametrize("seed", range(3))
def test_factored_shortcut_equals_ranking_every_dance(seed, monkeypatch):
    """A factored model's candidates from per-group levels give the same suggestions (every
    field) as bounding every dance; with one neighbour, mirrored cuts, many learned pairs."""
    from choreo_studio.core.retrieval import suggestions

    rng = np.random.default_rng(seed)
    k, d = suggestions.FACTORED_FROM + 1000, 6
    groups = rng.integers(0, 7, k)
    table = rng.uniform(0.05, 1.0, (7, 7))
    pairs = (rng.integers(0, k, 8 * k), rng.integers(0, k, 8 * k), rng.uniform(0.05, 1.0, 8 * k))
    cut = CutFeatures(end=rng.normal(0, 1, (k, d)), start=rng.normal(0, 1, (k, d)),
                      start_mirrored=rng.normal(0, 1, (k, d)))
    model = TransitionModel(LearnedM.factored(groups, table, pairs), cut, weight=0.5)
    fit = rng.dirichlet(np.full(k, (0.05, 0.5, 5.0)[seed])).astype(np.float32)
    calls = []
    real = suggestions._factored_candidates

    def spy(*args):
        found = real(*args)
        calls.append(found is not None)
        return found

    monkeypatch.setattr(suggestions, "_factored_candidates", spy)
    cases = [dict(prev=5, nxt=40), dict(prev=None, nxt=40), dict(prev=5, nxt=None, flip_in=True),
             dict(prev=7, nxt=8, flip_out=rng.random(k) < 0.4)]
    got = [suggest(fit, top_k=10, model=model, **case) for case in cases]
    assert len(calls) >= len(cases) and all(calls)  # the shortcut ran on every case
    monkeypatch.setattr(suggestions, "_factored_candidates", lambda *a: None)
    assert got == [suggest(fit, top_k=10, model=model, **case) for case in cases]
