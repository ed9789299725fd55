"""Quaternion maths: Euler orders, matrices, 6D, slerp, rotation of vectors."""

import numpy as np
import pytest
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.motion import quaternions as quat

ORDERS = ["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"]


@pytest.mark.parametrize("order", ORDERS)
def test_euler_round_trip_every_order(order):
    rng = np.random.default_rng(1)
    angles = rng.uniform([-3.1, -1.5, -3.1], [3.1, 1.5, 3.1], (500, 3))
    q = quat.from_euler(angles, order)
    back = quat.to_euler(q, order)
    np.testing.assert_allclose(back, angles, atol=1e-9)


def test_euler_is_intrinsic_like_bvh():
    # "ZXY" means R = Rz(a) @ Rx(b) @ Ry(c)
    a, b, c = 0.3, -0.7, 1.1
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    ry = np.array([[np.cos(c), 0, np.sin(c)], [0, 1, 0], [-np.sin(c), 0, np.cos(c)]])
    m = quat.to_matrix(quat.from_euler(np.array([a, b, c]), "ZXY"))
    np.testing.assert_allclose(m, rz @ rx @ ry, atol=1e-12)


def test_gimbal_lock_still_round_trips_the_rotation():
    q = quat.from_euler(np.array([0.4, np.pi / 2, 0.2]), "XYZ")
    back = quat.from_euler(quat.to_euler(q, "XYZ"), "XYZ")
    assert quat.angle_between(q, back) < 1e-6


def test_matrix_and_6d_round_trip_and_rotate_matches_matrix():
    rng = np.random.default_rng(2)
    q = quat.normalize(rng.normal(size=(200, 4)))
    assert np.all(quat.angle_between(quat.from_matrix(quat.to_matrix(q)), q) < 1e-6)
    assert np.all(quat.angle_between(quat.from_6d(quat.to_6d(q)), q) < 1e-6)
    v = rng.normal(size=(200, 3))
    np.testing.assert_allclose(quat.rotate(q, v), np.einsum("nij,nj->ni", quat.to_matrix(q), v),
                               atol=1e-12)


def test_mul_composes_and_inverse_undoes():
    a = quat.about_axis("Y", np.array(0.5))
    b = quat.about_axis("X", np.array(0.25))
    v = np.array([0.0, 0.0, 1.0])
    np.testing.assert_allclose(quat.rotate(quat.mul(a, b), v), quat.rotate(a, quat.rotate(b, v)))
    np.testing.assert_allclose(quat.mul(a, quat.inverse(a)), quat.identity(), atol=1e-12)


def test_slerp_hits_ends_and_midpoint_on_short_arc():
    a = quat.about_axis("Z", np.array(0.0))
    b = -quat.about_axis("Z", np.array(1.0))  # same rotation, other hemisphere
    mid = quat.slerp(a, b, 0.5)
    assert quat.angle_between(mid, quat.about_axis("Z", np.array(0.5))) < 1e-9
    assert quat.angle_between(quat.slerp(a, b, 1.0), b) < 1e-9
    ts = np.linspace(0, 1, 5)
    out = quat.slerp(np.broadcast_to(a, (5, 4)), np.broadcast_to(b, (5, 4)), ts)
    np.testing.assert_allclose(quat.to_axis_angle(out)[1], ts, atol=1e-9)


def test_make_continuous_removes_sign_flips():
    q = quat.about_axis("Y", np.linspace(0, 1, 10))
    q[::2] *= -1
    fixed = quat.make_continuous(q)
    assert np.all(np.sum(fixed[1:] * fixed[:-1], -1) > 0)


def test_bad_euler_order_is_a_user_error():
    with pytest.raises(ChoreoError):
        quat.from_euler(np.zeros(3), "XQZ")
    with pytest.raises(ChoreoError):
        quat.to_euler(quat.identity(), "XYX")


def test_yaw_of_heading():
    assert quat.yaw_of(quat.about_axis("Y", np.array(0.7))) == pytest.approx(0.7)


def test_normalize_makes_unit_quaternions_and_the_identity_of_zero_or_nan():
    q = np.array([[0.0, 3.0, 0.0, 4.0], [0.0, 0.0, 0.0, 0.0], [np.nan, 1.0, 0.0, 0.0],
                  [1e-13, 0.0, 0.0, 0.0], [-2.0, 0.0, 0.0, 0.0]])
    out = quat.normalize(q)
    np.testing.assert_array_equal(out[0], [0.0, 0.6, 0.0, 0.8])
    np.testing.assert_array_equal(out[1:4], np.tile([1.0, 0.0, 0.0, 0.0], (3, 1)))
    np.testing.assert_array_equal(out[4], [-1.0, 0.0, 0.0, 0.0])
