"""The soft pull back to the stage centre: no pull inside its radius, never faster than allowed,
feet on the floor keep their offset until they lift, and on a legged walk that leaves the stage
the pull brings it back without making the feet slide more than the clip itself does."""

import numpy as np
import pytest
from choreo_studio.core.choreography import stage_pull
from choreo_studio.core.choreography.stage_pull import (
    PULL_FROM,
    PULL_SHARE,
    PULL_SPEED_CM_S,
    foot_offsets,
    pull_offset,
    pull_to_centre,
)
from choreo_studio.core.motion import contacts
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.motion import Motion
from test_cuts import legged

FPS = 30.0


def test_no_pull_inside_its_radius():
    t = np.linspace(0, 2 * np.pi, 300)
    circle = 0.9 * PULL_FROM * 125.0 * np.stack([np.cos(t), np.sin(t)], 1)
    assert not pull_offset(circle, 125.0, FPS).any()


def test_the_pull_starts_at_zero_and_keeps_to_its_speed():
    walk = np.zeros((600, 2))
    walk[:, 0] = np.minimum(np.arange(600), 300) * 60.0 / FPS  # 60 cm/s for 10 s, then still
    offset = pull_offset(walk, 125.0, FPS)
    assert np.array_equal(offset[0], [0.0, 0.0])
    speed = np.linalg.norm(np.diff(offset, axis=0), axis=1) * FPS
    assert speed.max() <= PULL_SPEED_CM_S + PULL_SHARE * 60.0 + 1e-6
    assert speed[450:].max() <= PULL_SPEED_CM_S + 1e-6  # standing still: only the slow base
    assert np.linalg.norm(walk + offset, axis=1)[-1] < 0.75 * walk[-1, 0]  # pulled back


def test_a_foot_on_the_floor_keeps_its_touch_down_offset():
    offset = np.stack([np.arange(10.0), np.zeros(10)], 1)
    on = np.array([0, 1, 1, 1, 0, 0, 0, 1, 1, 0], bool)
    feet = foot_offsets(offset, on)
    assert feet[0, 0] == 0.0  # before touching down: the body's
    np.testing.assert_array_equal(feet[1:4, 0], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(feet[7:9, 0], [7.0, 7.0])
    assert 1.0 < feet[4, 0] < feet[5, 0] < feet[6, 0] < 7.0  # eased in the air
    assert 7.0 < feet[9, 0] <= 9.0  # after the last lift: toward the body's


def _walk(n: int = 480, speed_cm_s: float = 60.0) -> Motion:
    """A legged rig gliding +Z at ``speed_cm_s``, lifting each foot in turn (half a second on
    the floor, half a second up), knees a little bent so a leg can reach either way."""
    sk = legged()
    rot = np.tile(quat.identity(), (n, sk.n_joints, 1))
    phase = (np.arange(n) // 15) % 2  # which leg is up
    for hip, knee, ankle, up in ((2, 3, 4, 1), (6, 7, 8, 0)):
        bend = np.where(phase == up, 0.6, 0.2)
        rot[:, hip] = quat.about_axis("X", -bend)
        rot[:, knee] = quat.about_axis("X", 2.0 * bend)
        rot[:, ankle] = quat.about_axis("X", -bend)
    root = np.zeros((n, 3))
    root[:, 2] = np.arange(n) * speed_cm_s / FPS
    root[:, 1] = 90.0
    motion = Motion(sk, FPS, rot, root)
    points, _owner = contacts.foot_positions(motion)
    lowest = points[..., 1].min()
    root[:, 1] -= lowest
    return Motion(sk, FPS, rot, root)


def _contact_speed(motion: Motion) -> float:
    points, _owner = contacts.foot_positions(motion)
    return contacts.skating_cm_s(points, motion.fps)


def test_a_walk_off_the_stage_is_pulled_back_without_more_sliding():
    walk = _walk()
    rot, root = pull_to_centre(walk.skeleton, FPS, walk.rotations.astype(np.float64),
                               walk.root_pos_cm.astype(np.float64), None, np.zeros(2), 125.0)
    pulled = Motion(walk.skeleton, FPS, rot, root)
    drift = lambda m: np.linalg.norm(m.root_pos_cm[:, [0, 2]], axis=1).max()  # noqa: E731
    assert drift(pulled) < drift(walk) - 150.0
    assert _contact_speed(pulled) <= _contact_speed(walk) + 0.5
    np.testing.assert_allclose(pulled.root_pos_cm[:, 1], walk.root_pos_cm[:, 1], atol=1e-4)


def test_nothing_changes_inside_the_pull_radius(monkeypatch):
    walk = _walk(n=30, speed_cm_s=20.0)  # 20 cm: well inside
    rot = walk.rotations.astype(np.float64)
    root = walk.root_pos_cm.astype(np.float64)
    monkeypatch.setattr(stage_pull, "solve_leg", lambda *a: pytest.fail("no IK needed"))
    out = pull_to_centre(walk.skeleton, FPS, rot, root, None, np.zeros(2), 125.0)
    assert out[0] is rot and out[1] is root
