"""Motion: FK on a known pose, mirror, resample, trim, concatenate, root re-alignment."""

import numpy as np
import pytest
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.motion import Motion, concatenate

from tests.motion_fixtures import random_motion, small_skeleton


def test_fk_known_pose():
    sk = small_skeleton()
    rot = quat.identity((1, sk.n_joints))
    rot[0, 0] = quat.about_axis("Y", np.array(np.pi / 2))  # face +X
    rot[0, sk.index("LeftArm")] = quat.about_axis("Z", np.array(np.pi / 2))  # arm up
    m = Motion(sk, 30, rot, [[10.0, 90.0, 0.0]])
    pos = m.fk()[0]
    np.testing.assert_allclose(pos[0], [10, 90, 0], atol=1e-5)
    np.testing.assert_allclose(pos[sk.index("Head")], [10, 140, 0], atol=1e-5)
    # LeftArm joint: offset (15, 15, 0) turned 90° about Y -> (0, 15, -15)
    np.testing.assert_allclose(pos[sk.index("LeftArm")], [10, 135, -15], atol=1e-5)
    # forearm offset (28, 0, 0) rotated up by the arm, then turned: (0, 28, 0)
    np.testing.assert_allclose(pos[sk.index("LeftForeArm")], [10, 163, -15], atol=1e-5)
    assert m.facing_yaw_rad()[0] == pytest.approx(np.pi / 2)


def test_fk_with_end_sites_adds_tips():
    m = random_motion(5)
    pts, parents = m.fk_with_end_sites()
    assert pts.shape == (5, m.skeleton.n_joints + len(m.skeleton.end_sites_cm), 3)
    assert len(parents) == pts.shape[1]


def test_mirror_twice_is_identity_and_mirror_reflects_positions():
    m = random_motion(30)
    twice = m.mirror().mirror()
    np.testing.assert_allclose(twice.rotations, m.rotations)
    np.testing.assert_allclose(twice.root_pos_cm, m.root_pos_cm)
    # symmetric skeleton: the mirrored pose is the reflected pose with sides swapped
    perm = m.skeleton.mirror_indices()
    reflected = m.fk()[:, perm] * np.array([-1, 1, 1])
    np.testing.assert_allclose(m.mirror().fk(), reflected, atol=1e-3)


def test_resample_keeps_duration_and_poses():
    m = random_motion(61, fps=60)
    r = m.resample(30)
    assert r.fps == 30 and r.n_frames == 30
    np.testing.assert_allclose(r.fk()[10], m.fk()[20], atol=1e-3)
    up = m.resample(120)
    assert up.n_frames == 122


def test_trim_and_errors():
    m = random_motion(20)
    t = m.trim(5, 15)
    assert t.n_frames == 10
    np.testing.assert_allclose(t.fk()[0], m.fk()[5])
    with pytest.raises(ChoreoError):
        m.trim(15, 5)


def test_aligned_moves_root_and_turns_heading_without_changing_shape():
    m = random_motion(20)
    a = m.aligned((100.0, -50.0), yaw_rad=1.2, frame=0)
    assert a.root_pos_cm[0, 0] == pytest.approx(100.0, abs=1e-4)
    assert a.root_pos_cm[0, 2] == pytest.approx(-50.0, abs=1e-4)
    assert a.facing_yaw_rad()[0] == pytest.approx(1.2, abs=1e-5)
    np.testing.assert_allclose(a.root_pos_cm[:, 1], m.root_pos_cm[:, 1], atol=1e-4)
    # distances between joints are unchanged (rigid motion)
    d0 = np.linalg.norm(m.fk()[:, 3] - m.fk()[:, 8], axis=-1)
    d1 = np.linalg.norm(a.fk()[:, 3] - a.fk()[:, 8], axis=-1)
    np.testing.assert_allclose(d0, d1, atol=1e-3)


def test_concatenate_continues_root_and_blends():
    a = random_motion(20, seed=1)
    b = random_motion(25, seed=2)
    joined = concatenate([a, b])
    assert joined.n_frames == 45
    # b's first frame starts where a ended (floor position and heading)
    np.testing.assert_allclose(joined.root_pos_cm[20, [0, 2]], a.root_pos_cm[-1, [0, 2]],
                               atol=1e-3)
    assert joined.facing_yaw_rad()[20] == pytest.approx(a.facing_yaw_rad()[-1], abs=1e-4)
    blended = concatenate([a, b], blend_frames=5)
    assert blended.n_frames == 40


def test_concatenate_rejects_mismatched_rates():
    with pytest.raises(ChoreoError):
        concatenate([random_motion(5, fps=30), random_motion(5, fps=60)])


def test_shape_errors_are_user_errors():
    sk = small_skeleton()
    with pytest.raises(ChoreoError):
        Motion(sk, 30, np.zeros((3, 2, 4)), np.zeros((3, 3)))
    with pytest.raises(ChoreoError):
        Motion(sk, 0, quat.identity((3, sk.n_joints)), np.zeros((3, 3)))
