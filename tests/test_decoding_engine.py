"""Scorers and the engine facade: descriptor matching, per-segmentation caching, the network
scorer, solve with locks, vary, suggestions."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from choreo_studio.core.choreography.engine import Engine
from choreo_studio.core.choreography.placements import Choreography
from choreo_studio.core.library.library import Library
from choreo_studio.core.retrieval.decoding import DecodeOptions
from choreo_studio.core.retrieval.model_bundle import make_bundle
from choreo_studio.core.retrieval.network_scoring import NetworkScorer
from choreo_studio.core.retrieval.networks import RetrievalNetwork
from choreo_studio.core.retrieval.presets import get_preset
from choreo_studio.core.retrieval.scoring import DescriptorMatcher
from engine_synthetic import skeleton, swing_phrase, synthetic_song


def _library():
    phrases = [
        swing_phrase("slow-soft", bpm=80, energy=1),
        swing_phrase("mid", bpm=120, energy=2),
        swing_phrase("fast-hard", bpm=160, energy=3),
        swing_phrase("mid-hard", bpm=120, energy=3),
    ]
    for p, strength in zip(phrases, (0.5, 2.0, 6.0, 5.0), strict=True):
        p.descriptors["strength_m_s2"] = strength
    return Library("match", skeleton(), phrases, np.full((4, 4), 0.5, np.float32))


def test_descriptor_matcher_prefers_matching_tempo_and_energy():
    lib = _library()
    matcher = DescriptorMatcher(lib)
    quiet = synthetic_song([2, 2], bpm=120.0, loudness=[0.1, 0.9])
    p = matcher.probabilities(quiet)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    assert lib.ids[int(np.argmax(p[0]))] == "mid"  # 120 BPM, the quieter phrase
    assert lib.ids[int(np.argmax(p[1]))] == "mid-hard"  # 120 BPM, the louder phrase
    fast = matcher.probabilities(synthetic_song([2], bpm=158.0, seed=1))
    assert lib.ids[int(np.argmax(fast[0]))] == "fast-hard"


def test_descriptor_matcher_matches_the_meter_where_counts_tile_both():
    three = swing_phrase("three", n_counts=6, bpm=120)  # two bars of 3
    four = swing_phrase("four", n_counts=4, bpm=120)  # one bar of 4
    lib = Library("meter", skeleton(), [three, four], np.full((2, 2), 0.5, np.float32))
    song = synthetic_song([3])  # 12 beats: both dances tile it, the meter decides
    assert lib.ids[int(np.argmax(DescriptorMatcher(lib).probabilities(song)[0]))] == "four"
    song.analysis.beats_per_bar = 3
    assert lib.ids[int(np.argmax(DescriptorMatcher(lib).probabilities(song)[0]))] == "three"


def test_descriptor_matcher_matches_loudness_with_motion_speed_and_extent():
    calm, wild = swing_phrase("calm", bpm=120), swing_phrase("wild", bpm=120)
    calm.descriptors.update(speed_cm_s=10.0, extent_cm=20.0)
    wild.descriptors.update(speed_cm_s=80.0, extent_cm=60.0)  # one energy label for both
    lib = Library("vigour", skeleton(), [calm, wild], np.full((2, 2), 0.5, np.float32))
    p = DescriptorMatcher(lib).probabilities(synthetic_song([2, 2], loudness=[0.1, 0.9]))
    assert [lib.ids[int(i)] for i in np.argmax(p, axis=1)] == ["calm", "wild"]


def test_descriptor_matcher_judges_a_repeat_by_its_own_music():
    calm, wild = swing_phrase("calm", bpm=120), swing_phrase("wild", bpm=120)
    calm.descriptors.update(speed_cm_s=10.0, extent_cm=20.0)
    wild.descriptors.update(speed_cm_s=80.0, extent_cm=60.0)
    lib = Library("vigour", skeleton(), [calm, wild], np.full((2, 2), 0.5, np.float32))
    song = synthetic_song([2, 2, 2], labels=["A", "B", "A"], loudness=[0.1, 0.5, 0.9])
    p = DescriptorMatcher(lib).probabilities(song)  # the quiet A and the loud A differ
    assert [lib.ids[int(np.argmax(p[t]))] for t in (0, 2)] == ["calm", "wild"]


def test_scores_are_cached_per_song_segmentation():
    lib = _library()
    matcher = DescriptorMatcher(lib)
    calls = []
    original = matcher._compute
    matcher._compute = lambda song, progress: calls.append(1) or original(song, progress)
    song = synthetic_song([2, 2])
    first = matcher.probabilities(song)
    assert matcher.probabilities(song) is first and len(calls) == 1
    with pytest.raises(ValueError):
        first[0, 0] = 1.0  # cached arrays are read-only
    resegmented = synthetic_song([4])  # same song hash, other phrases
    assert matcher.probabilities(resegmented).shape[0] == 1 and len(calls) == 2


def _tiny_network(lib):
    """The tiny preset and an untrained network over ``lib`` (seeded, eval mode)."""
    preset = get_preset("tiny")
    torch.manual_seed(0)
    return preset, RetrievalNetwork(preset.network, len(lib)).eval()


@torch.no_grad()
def test_network_scorer_uses_the_bundle_and_its_transition_matrix():
    lib = _library()
    preset, net = _tiny_network(lib)
    m = np.eye(4, dtype=np.float32) * 0.5 + 0.1
    scorer = NetworkScorer(make_bundle(net, preset, m, lib), lib)
    song = synthetic_song([2, 2, 2], loudness=[0.2, 0.5, 0.8])
    p = scorer.probabilities(song)
    expected = net(torch.from_numpy(song.features.mel)).numpy()
    np.testing.assert_allclose(p, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(scorer.transition, m)
    assert scorer.name == "model unsaved (tiny)"


def test_calibration_is_softmax_of_logits_over_the_temperature():
    """calibrate(softmax(z), τ) = softmax(z / τ): the ranking stays, τ > 1 flattens, τ = 1 is
    the input itself; a bundle's info.calibration gives τ (1 without one, an error if bad)."""
    from choreo_studio.core.errors import ChoreoError
    from choreo_studio.core.retrieval.scoring import calibrate, calibration_temperature

    z = np.array([[4.0, 1.0, 0.0, -2.0], [0.5, 0.5, 3.0, 1.0]])
    soft = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    p = soft.astype(np.float32)
    out = calibrate(p, 4.0)
    want = np.exp(z / 4.0) / np.exp(z / 4.0).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out, want, rtol=1e-5)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(np.argsort(out, axis=1), np.argsort(p, axis=1))
    assert calibrate(p, 1.0) is p
    assert calibration_temperature({}) == 1.0
    assert calibration_temperature({"calibration": {"temperature": 13.3}}) == 13.3
    for bad in (0, -1.0, "2", True, float("nan")):
        with pytest.raises(ChoreoError, match="calibration temperature"):
            calibration_temperature({"calibration": {"temperature": bad}})


@torch.no_grad()
def test_network_scorer_applies_the_bundles_calibration():
    lib = _library()
    preset, net = _tiny_network(lib)
    bundle = make_bundle(net, preset, np.full((4, 4), 0.5, np.float32), lib,
                         info={"calibration": {"temperature": 3.0}})
    song = synthetic_song([2, 2, 2], loudness=[0.2, 0.5, 0.8])
    p = NetworkScorer(bundle, lib).probabilities(song)
    _, u = net.encoder(torch.from_numpy(song.features.mel))
    logits = net.predictor(u).double().numpy() / 3.0
    want = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(p, want / want.sum(axis=1, keepdims=True), rtol=1e-4, atol=1e-7)


def test_engine_solve_keeps_locks_and_settings_and_vary_changes_the_rest():
    lib = _library()
    engine = Engine(lib, DescriptorMatcher(lib, temperature=1.0))
    song = synthetic_song([2] * 6, loudness=list(np.linspace(0.1, 0.9, 6)))
    first = engine.solve(song)
    assert first.scorer == "descriptor matcher" and first.decoder == "viterbi"
    assert all(a != b for a, b in zip(first.dance_ids, first.dance_ids[1:], strict=False))
    probs = engine.probabilities(song)
    for t, (p, part) in enumerate(zip(first, engine.score_parts(probs, first), strict=True)):
        d = lib.index_of(p.dance_id)
        assert part.music_fit == pytest.approx(probs[t, d])
        assert (part.transition_in is None) == (t == 0)
        if t:
            assert part.transition_in == pytest.approx(0.5)
    locked = first.with_placement(first[2].with_changes(dance_id="slow-soft", locked=True,
                                                        mirror=True, blend_s=0.6))
    again = engine.solve(song, current=locked)
    assert again[2].dance_id == "slow-soft" and again[2].locked and again[2].mirror
    assert again[2].blend_s == 0.6
    varied = {tuple(engine.vary(song, locked, temperature=3.0, seed=s).dance_ids)
              for s in range(6)}
    assert len(varied) > 1 and all(v[2] == "slow-soft" for v in varied)
    greedy = replace(engine, decoder="greedy").solve(song)
    assert greedy.decoder == "greedy" and len(greedy) == 6


def test_engine_suggestions_rank_alternatives_with_parts():
    lib = _library()
    engine = Engine(lib, DescriptorMatcher(lib), DecodeOptions())
    song = synthetic_song([2, 2, 2])
    chor = Choreography.from_dance_ids(["mid", "fast-hard", "mid-hard"])
    ranked = engine.suggestions(engine.probabilities(song), chor, 1, top_k=4)
    assert [d.id for d, _ in ranked if d.id in ("mid", "mid-hard")] == []  # neighbours excluded
    assert len(ranked) == 2
    probs = engine.probabilities(song)
    for dance, s in ranked:
        assert s.music_fit == pytest.approx(probs[1, lib.index_of(dance.id)])
        w = engine.options.transition_weight
        jumps = s.pose_jump_in + s.pose_jump_out  # the kinematic cut cost is part of the score
        assert s.pose_jump_in > 0 and s.pose_jump_out > 0
        assert s.score == pytest.approx(
            s.music_fit * (s.transition_in * s.transition_out) ** w * np.exp(-w * jumps))
