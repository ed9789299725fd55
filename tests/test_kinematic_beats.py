"""Kinematic beats on a synthetic motion whose beats are known, and the beat scores."""

import numpy as np
import pytest
from choreo_studio.core.motion.kinematic_beats import (
    beat_align_score,
    beat_hit_rate,
    contact_onset_beats,
    directional_motion,
    offset_beats,
    velocity_minima_beats,
)
from choreo_studio.core.motion.motion_descriptors import describe, pose_features

from tests.motion_fixtures import beat_motion


@pytest.mark.parametrize("fps,bpm", [(30.0, 120.0), (60.0, 100.0)])
def test_velocity_minima_find_the_known_beats(fps, bpm):
    motion, beats_s = beat_motion(fps, bpm, n_beats=8)
    found = velocity_minima_beats(motion.fk(), fps) / fps
    inner = beats_s[1:-1]
    assert len(found) == len(inner)
    assert beat_hit_rate(found, inner, 1.5 / fps) == 1.0


@pytest.mark.parametrize("fps,bpm", [(30.0, 120.0), (60.0, 100.0)])
def test_lee_offset_detector_finds_the_known_beats(fps, bpm):
    motion, beats_s = beat_motion(fps, bpm, n_beats=8)
    found = offset_beats(motion.fk(), fps) / fps
    inner = beats_s[1:-1]
    assert beat_hit_rate(found, beats_s, 2.5 / fps) >= 0.85
    assert len(found) >= len(inner) - 1  # coverage: (almost) every stop is found


def test_still_motion_has_no_offset_beats():
    motion, _ = beat_motion()
    still = motion.trim(0, 1)
    frozen = np.repeat(still.fk(), 30, axis=0)
    assert len(offset_beats(frozen, 30.0)) == 0


def test_directional_motion_sums_displacement_per_direction():
    pos = np.zeros((3, 2, 3))
    pos[1, 0, 0] = 2.0  # one joint moves +X by 2 cm
    d = directional_motion(pos)
    assert d[0].sum() == 0.0
    assert d[1].sum() == pytest.approx(2.0)


def test_hit_rate_and_align_score():
    music = np.arange(8) * 0.5
    assert beat_hit_rate(np.array([0.5, 1.02, 1.3]), music, 0.05) == pytest.approx(2 / 3)
    assert np.isnan(beat_hit_rate(np.array([]), music, 0.05))
    assert beat_align_score(music, music, 0.05) == pytest.approx(1.0)
    assert beat_align_score(music, music + 0.25, 0.05) < 0.01


def test_descriptors_and_pose_features():
    motion, _ = beat_motion(30.0, 120.0, 8)
    d = describe(motion, np.arange(8) * 15)
    still = describe(motion.trim(0, 1).sample(np.zeros(30)))
    assert d["speed_cm_s"] > 10.0 and still["speed_cm_s"] == 0.0
    assert d["extent_cm"] > 5.0 and still["extent_cm"] == 0.0
    assert d["strength_m_s2"] > 0.0 and still["strength_m_s2"] == 0.0
    assert d["beats_per_count"] == pytest.approx(7 / 8)
    assert d["travel_cm"] == pytest.approx(0.0, abs=1e-6)
    pose = pose_features(motion, 0)
    assert pose.shape == (motion.skeleton.n_joints * 3,)
    moved = motion.aligned((300.0, 40.0), 2.0)
    np.testing.assert_allclose(pose_features(moved, 0), pose, atol=1e-3)


def _stepping_feet(fps: float, step_s: float, n_steps: int, tilt: float) -> np.ndarray:
    """Two feet [F, 2, 3] taking turns: each lifts 12 cm and moves 30 cm over half a step, then
    stays planted; the floor rises ``tilt`` cm per cm travelled along x (an uneven capture)."""
    t = np.arange(int(n_steps * step_s * fps)) / fps
    feet = np.zeros((len(t), 2, 3))
    for leg in (0, 1):
        phase = (t / step_s - leg) / 2.0  # each leg steps every other beat, legs alternate
        k, frac = np.floor(phase), phase - np.floor(phase)
        swing = np.clip(frac / 0.5, 0.0, 1.0) * (k >= 0)  # the first half of its period moves
        feet[:, leg, 0] = 30.0 * (np.maximum(k, 0) + swing)
        feet[:, leg, 1] = 12.0 * np.sin(np.pi * swing)
        feet[:, leg, 2] = 20.0 * leg
    feet[..., 1] += tilt * feet[..., 0]
    return feet


@pytest.mark.parametrize("fps,tilt", [(25.0, 0.0), (30.0, 0.05)])
def test_contact_onsets_are_the_foot_plants(fps, tilt):
    step_s = 0.5
    feet = _stepping_feet(fps, step_s, n_steps=16, tilt=tilt)
    found = contact_onset_beats(feet, np.array([0, 1]), fps) / fps
    # leg l lands at (2k + l) * step + step (half its 2-step period after lifting)
    plants = np.sort([(2 * k + leg) * step_s + step_s for leg in (0, 1) for k in range(8)])
    plants = plants[plants < len(feet) / fps - 0.1]
    assert len(found) == len(plants)
    assert beat_hit_rate(found, plants, 2.5 / fps) == 1.0


def test_contact_onsets_of_a_still_or_missing_foot():
    still = np.zeros((50, 2, 3))
    assert contact_onset_beats(still, np.array([0, 0]), 25.0).size == 0  # planted from frame 0
    assert contact_onset_beats(np.zeros((50, 0, 3)), np.array([], int), 25.0).size == 0
