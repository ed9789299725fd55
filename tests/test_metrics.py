"""Metrics: known answers for the beat scores and the arrangement metrics."""

import math

import numpy as np
import pytest
from choreo_studio.core.choreography.metrics import (
    beat_align_score_aist,
    evaluate,
    format_metrics,
    repeat_rate,
    section_consistency,
)
from choreo_studio.core.choreography.placements import Choreography, Placement
from choreo_studio.core.choreography.render import render
from engine_synthetic import bounce_library, click_song


def test_beat_align_score_known_answers():
    music = np.array([0.0, 0.5, 1.0, 1.5])
    assert beat_align_score_aist(music, music) == pytest.approx(1.0)
    off = beat_align_score_aist(np.array([0.05, 1.0]), music)  # one beat 1 sigma off
    assert off == pytest.approx((math.exp(-0.5) + 1.0) / 2)
    assert beat_align_score_aist(np.array([]), music) == 0.0


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
    assert m.beat_align_score >= 0.6
    assert 0.8 <= m.beat_coverage <= 1.2  # one hit per beat
    assert m.back_to_back_repeat_rate == 0.0 and m.distinct_dances == 3
    # the same dance slid off the beat by a third of a beat scores clearly worse
    shifted = render(choreo, analysis, phrases, lib, fps=60)
    shifted.root_pos_cm = np.roll(shifted.root_pos_cm, int(60 * 60 / 110 / 3), axis=0)
    worse = evaluate(choreo, shifted, analysis.beats_s, phrases)
    assert worse.beat_align_score < m.beat_align_score - 0.3
    assert worse.beat_hit_rate < m.beat_hit_rate
    text = format_metrics(m)
    assert "beat hit rate" in text and "n/a" in text  # no repeated sections in this song
