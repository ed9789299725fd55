"""Transition prior M0 (style × energy, factored) and the cut features of the kinematic cost."""

import numpy as np
from choreo_studio.core.library.importing import make_phrase
from choreo_studio.core.library.transition_prior import (
    build_transition_prior,
    cut_features,
    prior_factors,
    style_similarity,
)
from choreo_studio.core.retrieval.decoding import DecodeOptions, TransitionScores, decode

from tests.motion_fixtures import make_phrase_for_test, small_library


def test_values_in_range_and_same_style_above_cross_style():
    lib = small_library(("hip-hop", "jazz", "popping"), per_style=4)
    m0 = lib.transition_prior
    assert m0.shape == (12, 12)
    assert m0.min() >= 0.01 and m0.max() <= 1.0
    styles = np.array([p.style for p in lib.phrases])
    same = styles[:, None] == styles[None, :]
    assert m0[same].mean() > m0[~same].mean()
    # every same-style transition beats every transition to an unrelated style
    assert m0[same].min() > m0[~same].max()


def test_related_styles_score_between_same_and_unrelated():
    s = style_similarity(["popping", "locking", "breaking"])
    assert s[0, 0] == 1.0
    assert 0.15 < s[0, 1] < 1.0
    assert s[0, 2] == s[1, 2] == 0.15


def test_prior_is_a_group_table():
    phrases = [make_phrase_for_test(f"p{i}", ("jazz", "urban")[i % 2], seed=i, energy=1 + i % 3)
               for i in range(6)]
    groups, table = prior_factors(phrases)
    m0 = build_transition_prior(phrases)
    assert table.shape == (len(set(zip([p.style for p in phrases], [p.energy for p in phrases],
                                       strict=True))),) * 2
    np.testing.assert_array_equal(m0, table[groups[:, None], groups[None, :]])
    assert m0.dtype == np.float32
    # same style, energies 1 and 3: 1 − 0.1·2
    assert m0[0, 2] == np.float32(0.8)


def _continuation(a, name):
    """A phrase entered exactly where (and as fast as) ``a`` is left: a's motion, entered on
    its last frame."""
    return make_phrase(name, name, a.style, a.energy, a.motion, [a.motion.n_frames - 1], a.bpm)


def test_cut_cost_is_zero_where_a_phrase_continues_the_last_pose():
    a = make_phrase_for_test("a", "jazz", seed=1)
    b = make_phrase_for_test("b", "jazz", seed=2)
    c = _continuation(a, "c")
    feats = cut_features([a, b, c], mirror=a.motion.skeleton.mirror_indices())
    cost = feats.cost(np.arange(3), np.arange(3))
    assert cost[0, 2] < 1e-9
    assert cost[0, 1] > 0.1
    assert feats.start_mirrored.shape == feats.start.shape
    # mirroring both sides of a cut is an isometry; mirroring one side is not free
    assert feats.cost(np.array([0]), np.array([2]), mirrored=True)[0, 0] > 0.0


def test_a_candidate_that_starts_in_the_previous_end_pose_wins_the_cut():
    """Two phrases: the first locked to a; b and c fit the second equally and have the same
    M; c starts in a's end pose and velocity, so the cut decides for c."""
    a = make_phrase_for_test("a", "jazz", seed=1)
    b = make_phrase_for_test("b", "jazz", seed=2)
    c = _continuation(a, "c")
    phrases = [a, b, c]
    options = DecodeOptions(recency_window=0, reuse_penalty=0.0)
    trans = TransitionScores(build_transition_prior(phrases), options, cut=cut_features(phrases))
    p = np.full((2, 3), 1.0 / 3)
    assert decode(p, trans, locks={0: 0}, options=options).tolist() == [0, 2]
    plain = TransitionScores(build_transition_prior(phrases), options)
    assert decode(p, plain, locks={0: 0}, options=options).tolist() == [0, 1]  # a tie, lowest


def test_k_1101_paper_size_builds():
    k = 1101
    template = make_phrase_for_test("t", "jazz", seed=0)
    styles = ["urban", "jazz", "hip-hop", "popping", "k-pop", "locking", "breaking", "ACGN"]
    phrases = []
    for i in range(k):
        phrases.append(type(template)(**{**vars(template), "id": f"p{i}",
                                         "style": styles[i % 8], "energy": 1 + i % 3}))
    m0 = build_transition_prior(phrases)  # timed in benchmarks/bench_motion.py
    assert m0.shape == (k, k) and m0.dtype == np.float32
    assert m0[0, 24] == 1.0 and m0[0, 1] < 1.0  # same style and energy; other style


def test_large_libraries_do_not_store_a_dense_prior(tmp_path, monkeypatch):
    """Above the size limit motion.npz holds no K×K array; loading rebuilds M0 exactly."""
    from choreo_studio.core.library import library as library_module

    lib = small_library(("hip-hop", "jazz"), per_style=3)
    monkeypatch.setattr(library_module, "STORED_PRIOR_LIMIT", 4)
    folder = lib.save(tmp_path / "lib")
    with np.load(library_module.arrays_path(tmp_path / "lib"), allow_pickle=False) as arrays:
        assert "transition_prior" not in arrays.files
    back = library_module.Library.load(folder)
    np.testing.assert_array_equal(back.transition_prior, lib.transition_prior)
