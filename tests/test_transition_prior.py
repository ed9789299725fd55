"""Transition prior M0: range, style dominance, pose continuity, speed."""

import numpy as np
from choreo_studio.core.library.library import DancePhrase
from choreo_studio.core.library.transition_prior import (
    build_transition_prior,
    pose_distance_cm,
    style_similarity,
)

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


def test_pose_continuity_prefers_matching_end_and_start():
    a = make_phrase_for_test("a", "jazz", seed=1)
    b = make_phrase_for_test("b", "jazz", seed=2)
    # c starts exactly in a's end pose
    c = DancePhrase(**{**vars(make_phrase_for_test("c", "jazz", seed=3)),
                       "start_pose": a.end_pose.copy()})
    m0 = build_transition_prior([a, b, c])
    assert m0[0, 2] > m0[0, 1]
    assert m0[0, 2] == np.float32(1.0 * 1.0 * 1.0)


def test_pose_distance_is_rms_joint_distance():
    e = np.zeros((1, 6))
    s = np.array([[3.0, 4.0, 0.0, 0.0, 0.0, 0.0]])
    assert pose_distance_cm(e, s)[0, 0] == np.float64(np.sqrt(25 / 2))


def test_k_1101_paper_size_builds():
    rng = np.random.default_rng(0)
    k = 1101
    template = make_phrase_for_test("t", "jazz", seed=0)
    styles = ["urban", "jazz", "hip-hop", "popping", "k-pop", "locking", "breaking", "ACGN"]
    phrases = []
    for i in range(k):
        p = DancePhrase(**{**vars(template), "id": f"p{i}", "style": styles[i % 8],
                           "energy": 1 + i % 3})
        p.start_pose = rng.normal(0, 20, template.start_pose.shape).astype(np.float32)
        p.end_pose = rng.normal(0, 20, template.end_pose.shape).astype(np.float32)
        phrases.append(p)
    m0 = build_transition_prior(phrases)  # timed in benchmarks/bench_motion.py
    assert m0.shape == (k, k) and m0.dtype == np.float32
    assert np.all(np.diag(m0) >= 0.5)  # a phrase may repeat: same style, same energy
