"""The candidate decoder (factored transitions, on-the-fly cut costs) returns exactly the dense
decoder's path: plain, with locks, reuse cost, recency, ties, reuse limits and vary."""

from dataclasses import replace

import numpy as np
import pytest
from choreo_studio.core.library.transition_prior import CutFeatures
from choreo_studio.core.retrieval.candidate_decoding import CandidateTransitions
from choreo_studio.core.retrieval.decoding import (
    DecodeOptions,
    TransitionScores,
    decode,
    log_fit,
    viterbi_decode,
)
from choreo_studio.core.retrieval.transitions import LearnedM, TransitionModel


def _model(seed, k, d=5, weight=0.5):
    rng = np.random.default_rng(seed)
    n_groups = 6
    groups = rng.integers(0, n_groups, k)
    table = np.clip(rng.uniform(0.0, 1.0, (n_groups, n_groups)), 0.01, 1.0)
    np.fill_diagonal(table, 1.0)
    n_pairs = 4 * k
    pairs = (rng.integers(0, k, n_pairs), rng.integers(0, k, n_pairs),
             rng.uniform(0.01, 1.0, n_pairs))
    cut = CutFeatures(end=rng.normal(0, 0.7, (k, d)), start=rng.normal(0, 0.7, (k, d)))
    return TransitionModel(LearnedM.factored(groups, table, pairs), cut, weight=weight,
                           repeat_penalty=30.0)


def _fit(seed, t, k, concentration):
    return np.random.default_rng(seed + 1000).dirichlet(np.full(k, concentration), t)


CASES = [
    ("plain", {}, DecodeOptions(recency_window=0, reuse_penalty=0.0)),
    ("locks", {"locks": {0: 3, 5: 7, 6: 7, 11: 1}}, DecodeOptions(recency_window=0,
                                                                  reuse_penalty=0.0)),
    ("variety", {"locks": {4: 2}}, DecodeOptions()),
    ("ties", {"ties": [[1, 7], [2, 8]]}, DecodeOptions(tie_sections=True)),
    ("max uses", {}, DecodeOptions(max_uses=1)),
    ("vary", {"locks": {3: 9}}, DecodeOptions(temperature=1.0, seed=4)),
]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("name,kwargs,options", CASES, ids=[c[0] for c in CASES])
def test_candidate_path_equals_dense_path(seed, name, kwargs, options):
    k, t = (60, 14) if seed % 2 else (400, 12)
    model = _model(seed, k, weight=0.3 + 0.2 * (seed % 3))
    dense = TransitionScores(model=model)
    sparse = CandidateTransitions(model, first_candidates=4)
    p = _fit(seed, t, k, concentration=(0.05, 0.3, 1.0)[seed % 3])
    got = decode(p, sparse, options=options, **kwargs)
    want = decode(p, dense, options=options, **kwargs)
    np.testing.assert_array_equal(got, want)


def test_a_decisive_fit_certifies_with_few_candidates():
    k = 2000
    model = _model(1, k)
    sparse = CandidateTransitions(model, first_candidates=16)
    p = _fit(1, 30, k, concentration=0.02)
    plain = DecodeOptions(recency_window=0, reuse_penalty=0.0)
    got = decode(p, sparse, locks={10: 5}, options=plain)
    assert sparse.last_size < k
    np.testing.assert_array_equal(got, decode(p, TransitionScores(model=model), locks={10: 5},
                                              options=plain))


def test_flat_fit_still_exact():
    """All-equal music fit: the certificate fails until every dance is a candidate."""
    model = _model(2, 80)
    p = np.full((8, 80), 1 / 80)
    options = replace(DecodeOptions(), recency_window=2)
    got = decode(p, CandidateTransitions(model, first_candidates=4), options=options)
    np.testing.assert_array_equal(got, decode(p, TransitionScores(model=model), options=options))


def test_library_transitions_factor_a_learned_matrix_exactly(monkeypatch):
    """Above the dense limit a library decodes with the candidate decoder; its factored M
    (prior table + the pairs a learned M changed) equals the learned M, and the path is the
    dense one."""
    from choreo_studio.core.retrieval import decoding

    from tests.motion_fixtures import small_library

    lib = small_library(("hip-hop", "jazz", "popping"), per_style=3)
    learned = lib.transition_prior.copy()
    learned[0, 4], learned[5, 5], learned[8, 1] = 0.9, 0.3, 0.02
    dense = decoding.library_transitions(lib, DecodeOptions(), learned)
    monkeypatch.setattr(decoding, "DENSE_LIMIT", 2)
    sparse = decoding.library_transitions(lib, DecodeOptions(), learned, cut=dense.model.cut)
    assert isinstance(sparse, CandidateTransitions) and sparse.model.learned.n_pairs == 3
    everything = np.arange(len(lib))
    np.testing.assert_array_equal(np.exp(sparse.model.learned.block(everything, everything)),
                                  np.exp(dense.model.learned.block(everything, everything)))
    p = _fit(3, 10, len(lib), 0.5)
    np.testing.assert_array_equal(decode(p, sparse, locks={2: 4}), decode(p, dense, locks={2: 4}))


@pytest.mark.parametrize("seed", range(8))
def test_viterbi_on_raw_fits_equals_dense(seed):
    """The Viterbi alone on a raw log fit (no fit floor), flat to decisive, with locks; a
    re-solve of the same song (same decoder, other locks, a charged fit) starts from the last
    solve's candidates and is still exact."""
    k, t = (300, 16) if seed % 2 else (900, 10)
    model = _model(seed, k, weight=(0.3, 0.5, 1.0, 2.0)[seed % 4])
    dense = TransitionScores(model=model)
    sparse = CandidateTransitions(model, first_candidates=(2, 4, 8)[seed % 3])
    fit = log_fit(_fit(seed, t, k, concentration=(0.02, 0.2, 1.0, 5.0)[seed % 4]))
    for locks in ({}, {0: 3, t // 2: 7, t // 2 + 1: 7, t - 1: 1}, {2: 5}):
        np.testing.assert_array_equal(viterbi_decode(fit, sparse, locks),
                                      viterbi_decode(fit, dense, locks))
    charged = fit.copy()
    charged[:, viterbi_decode(fit, dense, {})[:4]] -= 3.0
    np.testing.assert_array_equal(viterbi_decode(charged, sparse, {1: 2}),
                                  viterbi_decode(charged, dense, {1: 2}))


def test_one_phrase_and_two_phrases_equal_dense():
    model = _model(5, 200)
    dense = TransitionScores(model=model)
    for t in (1, 2):
        fit = log_fit(_fit(5, t, 200, concentration=0.5))
        for locks in ({}, {0: 9}):
            np.testing.assert_array_equal(
                viterbi_decode(fit, CandidateTransitions(model, first_candidates=2), locks),
                viterbi_decode(fit, dense, locks))


def test_stacked_blocks_and_pairs_equal_block():
    """The decoder's stacked blocks and the scalar pair give block()'s float32 values exactly
    (pairs stored twice included: the last stored wins in all three)."""
    model = _model(3, 300)
    rng = np.random.default_rng(0)
    rows = np.stack([np.sort(rng.choice(300, 20, replace=False)) for _ in range(5)])
    cols = np.stack([np.sort(rng.choice(300, 33, replace=False)) for _ in range(5)])
    penalise = np.array([True, False, True, True, False])
    for a, b in ((rows, cols), (cols, rows)):
        want = np.stack([model.block(a[i], b[i], penalise_repeats=bool(penalise[i]))
                         for i in range(5)])
        np.testing.assert_array_equal(model.stacked(a, b, penalise), want)
    everything = np.arange(300)
    full = model.block(everything, everything)
    for i, j in [*rng.integers(0, 300, (200, 2)).tolist(), (4, 4)]:
        assert model.pair(i, j) == float(full[i, j])
