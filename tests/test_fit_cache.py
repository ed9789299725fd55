"""The floored log fit kept between re-solves: reused for an equal input, derived again when
the input changed (even in place), read-only and never the caller's memory."""

import numpy as np
from choreo_studio.core.retrieval.candidate_decoding import CandidateTransitions
from choreo_studio.core.retrieval.decoding import DecodeOptions, TransitionScores, decode, log_fit
from choreo_studio.core.retrieval.fit_cache import FitCache
from test_candidate_decoding import _fit, _model


def test_equal_input_reuses_and_a_changed_one_derives_again():
    cache = FitCache()
    source = np.arange(6.0).reshape(2, 3)
    calls = []

    def make():
        calls.append(1)
        return source * 2

    first = cache.get(source, "k", make)
    assert cache.get(source.copy(), "k", make) is first and len(calls) == 1
    assert not first.flags.writeable and cache.holds(first)
    source[0, 0] = 7.0  # changed in place: the kept copy no longer matches
    again = cache.get(source, "k", make)
    assert len(calls) == 2 and again[0, 0] == 14.0
    cache.get(source, "other", make)
    assert len(calls) == 3


def test_a_result_that_is_the_input_is_copied():
    cache = FitCache()
    source = np.ones((2, 2), np.float32)
    kept = cache.get(source, 0, lambda: source)
    assert kept is not source and source.flags.writeable and not np.shares_memory(kept, source)


def test_re_solves_follow_probabilities_changed_in_place():
    """A session changing P in place between re-solves gets the decode of the new P, with
    both decoders (the candidate one also keeps its pool selections for the kept fit)."""
    model = _model(2, 300)
    for trans in (TransitionScores(model=model), CandidateTransitions(model, first_candidates=4)):
        p = _fit(2, 10, 300, concentration=0.1)
        fresh = TransitionScores(model=model)
        locks = {3: 5}
        assert np.array_equal(decode(p, trans, locks=locks), decode(p, fresh, locks=locks))
        assert np.array_equal(decode(p, trans, locks={}), decode(p, fresh, locks={}))
        p[:, :] = _fit(9, 10, 300, concentration=0.1)
        fresh = TransitionScores(model=model)
        assert np.array_equal(decode(p, trans, locks=locks), decode(p, fresh, locks=locks))
        logged = log_fit(p)
        plain = DecodeOptions(fit_floor=0.0)
        got = decode(p, trans, options=plain, log_probabilities=logged)
        assert logged.flags.writeable
        np.testing.assert_array_equal(got, decode(p, fresh, options=plain))
