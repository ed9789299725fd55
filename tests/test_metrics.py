"""Metrics: known answers for the beat scores and the arrangement metrics."""

import math

import numpy as np
import pytest
from choreo_studio.core.choreography.metrics import (
    above_chance,
    beat_align_score_aist,
    chance_hit_rate,
    evaluate,
    format_metrics,
    repeat_copies,
    repeat_rate,
    section_consistency,
    unit_uses,
)
from choreo_studio.core.choreography.placements import Choreography, Placement
from choreo_studio.core.choreography.render import render
from choreo_studio.core.motion.kinematic_beats import beat_hit_rate
from engine_synthetic import bounce_library, click_song


def test_beat_align_score_known_answers():
    music = np.array([0.0, 0.5, 1.0, 1.5])
    assert beat_align_score_aist(music, music) == pytest.approx(1.0)
    off = beat_align_score_aist(np.array([0.05, 1.0]), music)  # one beat 1 sigma off
    assert off == pytest.approx((math.exp(-0.5) + 1.0) / 2)
    assert beat_align_score_aist(np.array([]), music) == 0.0


def test_hit_rate_chance_known_answers():
    music = np.arange(0.0, 30.0, 0.5)  # 120 BPM: a +-0.1 s window covers 0.4 of each period
    on_beat = music[5:-5].copy()
    assert chance_hit_rate(on_beat, music, 0.1) == pytest.approx(0.4, abs=0.03)
    assert above_chance(1.0, 0.4) == pytest.approx(1.0)
    slow = np.arange(0.0, 30.0, 60 / 87)  # a waltz's 87 BPM: chance is lower
    assert chance_hit_rate(slow[5:-5], slow, 0.1) == pytest.approx(0.2 / (60 / 87), abs=0.03)
    rng = np.random.default_rng(0)
    anywhere = np.sort(rng.uniform(2.0, 28.0, 400))
    hit = beat_hit_rate(anywhere, music, 0.1)
    assert above_chance(hit, chance_hit_rate(anywhere, music, 0.1)) == pytest.approx(0, abs=0.08)
    assert math.isnan(chance_hit_rate(np.array([]), music, 0.1))


def test_arrangement_metrics():
    assert repeat_rate(["a", "a", "b", "c"]) == pytest.approx(1 / 3)
    labels = ["intro", "A", "A", "B", "A", "A"]
    assert section_consistency(["x", "a", "b", "c", "a", "d"], labels) == pytest.approx(0.5)
    assert math.isnan(section_consistency(["a", "b"], ["A", "B"]))


def test_a_beat_warped_render_hits_the_beats():
    analysis, phrases = click_song([2, 2, 2, 2], bpm=110.0)
    lib = bounce_library(3)
    choreo = Choreography([Placement(i, f"d{i % 3}") for i in range(4)])
    motion = render(choreo, analysis, phrases, lib, fps=60)
    m = evaluate(choreo, motion, analysis.beats_s, phrases)
    assert m.beat_hit_rate >= 0.8
    assert m.beat_hit_above_chance >= 0.6  # chance is ~0.37 at 110 BPM
    assert m.beat_align_score >= 0.6
    assert 0.8 <= m.beat_coverage <= 1.2  # one hit per beat
    assert m.back_to_back_repeat_rate == 0.0 and m.distinct_dances == 3
    # the same dance slid off the beat by a third of a beat scores clearly worse
    shifted = render(choreo, analysis, phrases, lib, fps=60)
    shifted.root_pos_cm = np.roll(shifted.root_pos_cm, int(60 * 60 / 110 / 3), axis=0)
    worse = evaluate(choreo, shifted, analysis.beats_s, phrases)
    assert worse.beat_align_score < m.beat_align_score - 0.3
    assert worse.beat_hit_rate < m.beat_hit_rate
    assert worse.beat_hit_above_chance < m.beat_hit_above_chance
    text = format_metrics(m)
    assert "beat hit rate" in text and "n/a" in text  # no repeated sections in this song


def test_variety_and_fit_figures():
    from choreo_studio.core.choreography.metrics import fit_figures, returns_within

    assert returns_within(["a", "b", "a", "c", "d", "c", "c"]) == 3  # a@2, c@5, c@6
    scores = np.array([[0.8, 0.1], [0.4, 0.5], [0.9, 0.3]])
    chosen, best, low, forced = fit_figures(scores, [0, 1, 1])
    assert chosen == pytest.approx((0.8 + 0.5 + 0.3) / 3)
    assert best == pytest.approx((0.8 + 0.5 + 0.9) / 3)
    assert low == 1 and forced == 0  # 0.3 < half of 0.9, and dance 0 was free there
    # phrase 2 can only have dance 0, which its neighbour has: forced by no back-to-back
    assert fit_figures(scores, [0, 0, 1])[2:] == (1, 1)


def test_repeat_copies_are_dances_repeated_on_repeated_music():
    labels = ["A", "B", "A", "B", "A"]  # ties (0, 2, 4) and (1, 3)
    assert repeat_copies(list("xyxyx"), labels) == 3
    assert repeat_copies(list("xyzwx"), labels) == 1  # only phrase 4 repeats phrase 0's x
    assert repeat_copies(list("xyxyx"), list("ABCDE")) == 0  # no repeats in the music


def test_uses_count_repeated_music_once_and_name_the_forced_ones():
    labels = ["A", "B", "A", "C", "D", "E"]  # phrases 0 and 2 repeat (one tie group)
    assert unit_uses(list("xyxzxw"), labels) == (2, 0, 0)  # x: the tie group and phrase 4
    assert unit_uses(list("xyzxwx"), labels[:1] + list("BCDEF")) == (3, 1, 0)
    scores = np.full((6, 4), 0.1)
    scores[5, 0] = 1.0  # only x (index 0) fits phrase 5: its third use is forced
    assert unit_uses(list("xyzxwx"), list("ABCDEF"), scores, [0, 1, 2, 0, 3, 0]) == (3, 1, 1)
    scores[5, 2] = 0.6  # z fits too (not a neighbour's): not forced
    assert unit_uses(list("xyzxwx"), list("ABCDEF"), scores, [0, 1, 2, 0, 3, 0]) == (3, 1, 0)
    # ... unless z is on two other phrases already: moving there would overuse z instead
    seven = np.vstack([scores, scores[5]])
    labels = list("ABCDEFG")
    assert unit_uses(list("xzyzxwx"), labels, seven, [0, 2, 1, 2, 0, 3, 0]) == (3, 1, 1)
    assert unit_uses(list("xzywxwx"), labels, seven, [0, 2, 1, 3, 0, 3, 0])[1:] == (1, 0)


def test_motion_figures_known_answers():
    from choreo_studio.core.choreography.metrics import motion_figures

    fps, n = 30.0, 90
    t = np.arange(n) / fps
    feet = np.zeros((n, 1, 3))
    near = np.abs(t - 1.5) <= 0.3
    # the foot slides at 20 cm/s for 0.2 s around the cut at 1.5 s, still elsewhere
    slide = (t >= 1.4) & (t < 1.6)
    feet[:, 0, 0] = np.cumsum(np.where(slide, 20.0 / fps, 0.0))
    feet[n // 3, 0, 1] = -2.0  # one frame 2 cm under the floor
    root = np.zeros((n, 3))
    root[:, 0] = np.linspace(0.0, 120.0, n)
    root[:, 2] = np.linspace(0.0, 50.0, n)
    positions = np.concatenate([root[:, None], feet], axis=1)
    fig = motion_figures(positions, feet, root, fps, [1.5])
    assert fig.skating_inside_cm_s == pytest.approx(0.0, abs=1e-9)
    assert fig.skating_near_cuts_cm_s == pytest.approx(20.0 * slide.sum() / near.sum(), rel=0.1)
    assert fig.floor_penetration_cm == pytest.approx(2.0)
    assert fig.root_drift_m == pytest.approx(1.3)  # a 120-50-130 triangle


def test_evaluate_reports_cuts_and_reference_beats():
    analysis, phrases = click_song([2, 2], bpm=110.0)
    lib = bounce_library(2)
    choreo = Choreography([Placement(i, f"d{i}") for i in range(2)])
    motion = render(choreo, analysis, phrases, lib, fps=60)
    half_beat = 0.5 * 60.0 / 110.0
    m = evaluate(choreo, motion, analysis.beats_s, phrases, reference_beats_s=analysis.beats_s)
    off = evaluate(choreo, motion, analysis.beats_s, phrases,
                   reference_beats_s=analysis.beats_s + half_beat)
    assert m.reference_hit_rate == pytest.approx(m.beat_hit_rate)
    assert off.reference_hit_rate < m.reference_hit_rate - 0.5
    assert m.distinct_per_phrase == 1.0 and m.max_uses == 1 and m.returns_within_2 == 0
    assert math.isnan(m.skating_near_cuts_cm_s)  # this rig has no feet
    assert m.peak_speed_near_cuts_m_s >= 0.0 and m.root_drift_m == pytest.approx(0.0, abs=1e-6)
    assert "vs reference beats" in format_metrics(m)


def test_eval_reads_ground_truth_beats(tmp_path):
    import json

    from choreo_studio.core.commands.eval import _reference_beats
    from choreo_studio.core.errors import ChoreoError

    (tmp_path / "list.json").write_text(json.dumps([0.5, 1.0, 1.5]))
    (tmp_path / "obj.json").write_text(json.dumps({"meter": "4/4", "beats_s": [0.0, 0.6]}))
    (tmp_path / "bad.json").write_text(json.dumps({"beats_s": [1.0, 0.5]}))
    np.testing.assert_allclose(_reference_beats(str(tmp_path / "list.json")), [0.5, 1.0, 1.5])
    np.testing.assert_allclose(_reference_beats(str(tmp_path / "obj.json")), [0.0, 0.6])
    with pytest.raises(ChoreoError, match="increasing beat times"):
        _reference_beats(str(tmp_path / "bad.json"))
