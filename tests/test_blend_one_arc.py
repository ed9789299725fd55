"""The render's blend slerps each joint along one arc for the whole window (no half-turn jump)."""

import numpy as np
from choreo_studio.core.choreography.render import _slerp_one_arc
from choreo_studio.core.motion import quaternions as quat


def _about_y(deg: np.ndarray) -> np.ndarray:
    """Quaternions [n, 1, 4] turning by ``deg`` about the vertical."""
    deg = np.asarray(deg, dtype=np.float64)
    axis = np.broadcast_to([0.0, 1.0, 0.0], deg.shape + (3,))
    return quat.from_axis_angle(axis, np.radians(deg))[:, None]


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation angle between quaternions (either sign), degrees."""
    return np.degrees(2.0 * np.arccos(np.clip(np.abs((a * b).sum(-1)), 0.0, 1.0)))


def test_poses_half_a_turn_apart_blend_without_a_jump():
    n = 20
    w = (np.arange(n) + 0.5) / n
    w = w * w * (3.0 - 2.0 * w)
    a = _about_y(np.zeros(n))
    b = _about_y(np.linspace(170.0, 190.0, n))  # the short arc changes side mid-window
    per_frame_short_arc = quat.slerp(a, b, w[:, None])
    assert _angle_deg(per_frame_short_arc[1:], per_frame_short_arc[:-1]).max() > 90.0
    out = _slerp_one_arc(a, b, w)
    assert _angle_deg(out[1:], out[:-1]).max() < 25.0
    assert _angle_deg(out[0], a[0]).max() < 5.0 and _angle_deg(out[-1], b[-1]).max() < 5.0


def test_close_poses_blend_as_the_short_arc_slerp():
    n = 12
    w = np.linspace(0.0, 1.0, n)
    a = _about_y(np.linspace(0.0, 20.0, n))
    b = -_about_y(np.linspace(40.0, 60.0, n))  # the other sign of the same rotations
    np.testing.assert_allclose(_angle_deg(_slerp_one_arc(a, b, w), quat.slerp(a, b, w[:, None])),
                               0.0, atol=1e-5)
