"""The candidate decoder (factored transitions, on-the-fly cut costs) returns exactly the dense
decoder's path: plain, with locks, reuse cost, recency, ties, reuse limits, vary and mirrored
cuts."""

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


def _model(seed, k, d=5, weight=0.5, mirrored=False):
    rng = np.random.default_rng(seed)
    n_groups = 6
    groups = rng.integers(0, n_groups, k)
    table = np.clip(rng.uniform(0.0, 1.0, (n_groups, n_groups)), 0.01, 1.0)
    np.fill_diagonal(table, 1.0)
    n_pairs = 4 * k
    pairs = (rng.integers(0, k, n_pairs), rng.integers(0, k, n_pairs),
             rng.uniform(0.01, 1.0, n_pairs))
    cut = CutFeatures(end=rng.normal(0, 0.7, (k, d)), start=rng.normal(0, 0.7, (k, d)),
                      start_mirrored=rng.normal(0, 0.7, (k, d)) if mirrored else None)
    return TransitionModel(LearnedM.factored(groups, table, pairs), cut, weight=weight,
                           repeat_penalty=30.0)


def _fit(seed, t, k, concentration):
    return np.random.default_rng(seed + 1000).dirichlet(np.full(k, concentration), t)


CASES = [
    ("plain", {}, DecodeOptions(recency_window=0, reuse_penalty=0.0, use_limit=0)),
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
    plain = DecodeOptions(recency_window=0, reuse_penalty=0.0, use_limit=0)
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
    for i in range(0, 300, 7):  # one row or one column: from that row's or column's pairs
        some = np.sort(rng.choice(300, 40, replace=False))
        np.testing.assert_array_equal(model.block(np.array([i]), some)[0], full[i, some])
        np.testing.assert_array_equal(model.block(some, np.array([i]))[:, 0], full[some, i])
        np.testing.assert_array_equal(model.row(i), full[i])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("name,kwargs,options", CASES, ids=[c[0] for c in CASES])
def test_mirrored_cuts_give_the_dense_path(seed, name, kwargs, options):
    """Flips on about a third of the cuts (mirrored start features unlike the plain ones):
    the candidate decoder's path is the dense decoder's, and the flips change some paths."""
    k, t = (60, 14) if seed % 2 else (400, 12)
    model = _model(seed, k, weight=0.3 + 0.2 * (seed % 3), mirrored=True)
    dense = TransitionScores(model=model)
    p = _fit(seed, t, k, concentration=(0.05, 0.3, 1.0)[seed % 3])
    flips = np.random.default_rng(seed).random((t - 1, k)) < 0.35
    got = decode(p, CandidateTransitions(model, first_candidates=4), options=options,
                 flips=flips, **kwargs)
    np.testing.assert_array_equal(got, decode(p, dense, options=options, flips=flips, **kwargs))


def test_mirrored_cuts_change_the_optimum_and_stay_exact_on_raw_fits():
    changed = 0
    for seed in range(6):
        k, t = 300, 12
        model = _model(seed, k, weight=(0.5, 1.0, 2.0)[seed % 3], mirrored=True)
        dense = TransitionScores(model=model)
        fit = log_fit(_fit(seed, t, k, concentration=(0.02, 0.2, 1.0)[seed % 3]))
        flips = np.random.default_rng(seed + 50).random((t - 1, k)) < 0.5
        for locks in ({}, {0: 3, 5: 7, 6: 7}):
            want = viterbi_decode(fit, dense, locks, flips)
            np.testing.assert_array_equal(
                viterbi_decode(fit, CandidateTransitions(model, first_candidates=4), locks, flips),
                want)
            changed += not np.array_equal(want, viterbi_decode(fit, dense, locks))
    assert changed


def test_stacked_mirrored_rows_equal_mirrored_block():
    model = _model(4, 200, mirrored=True)
    rng = np.random.default_rng(1)
    rows = np.stack([np.sort(rng.choice(200, 12, replace=False)) for _ in range(3)])
    cols = np.stack([np.sort(rng.choice(200, 17, replace=False)) for _ in range(3)])
    flags = rng.random(rows.shape) < 0.5
    got = model.stacked(rows, cols, True, flags)
    for b in range(3):
        plain = model.block(rows[b], cols[b])
        mirrored = model.block(rows[b], cols[b], mirrored=True)
        np.testing.assert_array_equal(got[b], np.where(flags[b][:, None], mirrored, plain))
        assert not np.array_equal(plain, mirrored)
    i, j = int(rows[0, 0]), int(cols[0, 0])
    assert model.pair(i, j, mirrored=True) == float(model.block(rows[0], cols[0],
                                                                mirrored=True)[0, 0])


def test_engine_passes_mirrored_cuts_to_the_candidate_decoder(monkeypatch):
    """Above the dense limit the engine still decodes with the mirrored cuts its placements
    make (cut_flips), and gets the dense decoder's dances."""
    from choreo_studio.core.choreography.engine import Engine, cut_flips
    from choreo_studio.core.choreography.placements import Choreography
    from choreo_studio.core.library.library import Library
    from choreo_studio.core.retrieval import decoding
    from choreo_studio.core.retrieval.scoring import DescriptorMatcher
    from engine_synthetic import skeleton, swing_phrase, synthetic_song

    phrases = [swing_phrase(f"d{i}", bpm=80 + 20 * (i % 5), energy=1 + i % 3) for i in range(9)]
    lib = Library("mirror", skeleton(), phrases, np.full((9, 9), 0.5, np.float32))
    song = synthetic_song([2] * 7, loudness=list(np.linspace(0.1, 0.9, 7)))
    dense_engine = Engine(lib, DescriptorMatcher(lib, temperature=1.0))
    first = dense_engine.solve(song)
    mirrored = Choreography([p.with_changes(mirror=t % 2 == 1) for t, p in enumerate(first)],
                            first.scorer, first.decoder)
    flips = cut_flips(lib, song.phrases, mirrored.placements)
    assert flips is not None
    want = dense_engine.decode(dense_engine.probabilities(song), song.phrases, mirrored)
    monkeypatch.setattr(decoding, "DENSE_LIMIT", 2)
    sparse_engine = Engine(lib, DescriptorMatcher(lib, temperature=1.0))
    seen = []
    real = decoding.decode

    def spy(*args, **kwargs):
        seen.append((type(args[1]), kwargs.get("flips")))
        return real(*args, **kwargs)

    monkeypatch.setattr("choreo_studio.core.choreography.engine.decode", spy)
    got = sparse_engine.decode(sparse_engine.probabilities(song), song.phrases, mirrored)
    assert seen[0][0] is CandidateTransitions
    np.testing.assert_array_equal(seen[0][1], flips)
    assert got.dance_ids == want.dance_ids


def test_objective_is_the_pair_by_pair_sum_for_both_decoders():
    """J from all transitions at once equals J added pair by pair (locks, repeats, flips)."""
    from choreo_studio.core.retrieval.decoding import objective

    model = _model(6, 120, mirrored=True)
    rng = np.random.default_rng(2)
    fit = log_fit(_fit(6, 9, 120, concentration=0.3))
    d = rng.integers(0, 120, 9)
    d[4] = d[3]  # a repeat between two locked phrases
    locks = {3: int(d[3]), 4: int(d[4]), 7: int(d[7])}
    flips = rng.random((8, 120)) < 0.5
    for trans in (TransitionScores(model=model), CandidateTransitions(model)):
        for f in (None, flips):
            want = float(np.sum(fit[np.arange(9), d], dtype=np.float64))
            for t in range(1, 9):
                want += trans.pair(int(d[t - 1]), int(d[t]),
                                   both_locked=(t - 1) in locks and t in locks,
                                   flip=bool(f is not None and f[t - 1, d[t - 1]]))
            assert objective(d, fit, trans, locks, f) == want


def test_a_re_solve_takes_its_blocks_from_the_cache_and_stays_exact(monkeypatch):
    from choreo_studio.core.retrieval.candidate_decoding import BlockCache

    model = _model(7, 500, mirrored=True)
    sparse = CandidateTransitions(model, first_candidates=4)
    dense = TransitionScores(model=model)
    fit = log_fit(_fit(7, 14, 500, concentration=0.1))
    flips = np.random.default_rng(7).random((13, 500)) < 0.3
    calls = []
    real = model.stacked
    monkeypatch.setattr(model, "stacked", lambda *a: calls.append(1) or real(*a))
    for locks, f in (({2: 3}, None), ({2: 3, 9: 4}, None), ({2: 3}, flips), ({5: 1}, flips)):
        before = len(calls)
        np.testing.assert_array_equal(viterbi_decode(fit, sparse, locks, f),
                                      viterbi_decode(fit, dense, locks, f))
        assert len(calls) > before
        before = len(calls)  # again: it starts from the sets it certified, all blocks cached
        np.testing.assert_array_equal(viterbi_decode(fit, sparse, locks, f),
                                      viterbi_decode(fit, dense, locks, f))
        assert len(calls) == before
    small = BlockCache(max_bytes=100)
    block = np.zeros((4, 4), np.float32)
    small.put(("a",), block)
    small.put(("b",), np.zeros((4, 4), np.float32))
    assert small.get(("a",)) is None and small.get(("b",)) is not None
    assert not block.flags.writeable
