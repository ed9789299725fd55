"""Two-bone leg IK: bend the knee and swing the hip so the ankle reaches a target, with the
foot's world orientation given (so a planted foot keeps its place and its angle).

Vectorised over frames; works on world transforms from :meth:`Motion.global_transforms` and
writes local rotations back. Unreachable targets stretch the leg straight toward them.
"""

from __future__ import annotations

import numpy as np
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.contacts import Leg

_EPS = 1e-6


def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors and lengths of ``v`` [..., 3]."""
    n = np.sqrt(np.add.reduce(v * v, axis=-1, keepdims=True))  # np.linalg.norm's arithmetic
    return v / np.maximum(n, _EPS), n[..., 0]


def rotation_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Shortest-arc rotations [..., 4] taking directions ``u`` onto ``v``."""
    u, _ = _unit(u)
    v, _ = _unit(v)
    w = 1.0 + np.sum(u * v, axis=-1, keepdims=True)
    q = np.concatenate([w, np.cross(u, v)], axis=-1)
    opposite = w[..., 0] < _EPS  # 180°: any axis perpendicular to u
    if np.any(opposite):
        side = np.cross(u[opposite], np.array([1.0, 0.0, 0.0]))
        weak = np.linalg.norm(side, axis=-1) < 1e-3
        side[weak] = np.cross(u[opposite][weak], np.array([0.0, 0.0, 1.0]))
        q[opposite] = np.concatenate([np.zeros((len(side), 1)), _unit(side)[0]], axis=-1)
    return quat.normalize(q)


def solve_leg(local_rot: np.ndarray, g_rot: np.ndarray, g_pos: np.ndarray, parents: np.ndarray,
              leg: Leg, target: np.ndarray, foot_world: np.ndarray) -> None:
    """Set ``local_rot`` [n, J, 4] of the leg's hip, knee and ankle so the ankle reaches
    ``target`` [n, 3] and the foot has world rotation ``foot_world`` [n, 4] (in place)."""
    hip, knee, ankle = leg.hip, leg.knee, leg.ankle
    h, k, a = g_pos[:, hip], g_pos[:, knee], g_pos[:, ankle]
    thigh, l1 = _unit(k - h)
    shin, l2 = _unit(a - k)
    _, reach = _unit(target - h)
    d = np.clip(reach, np.abs(l1 - l2) + 1e-3, l1 + l2 - 1e-3)
    bend_now = np.arccos(np.clip(np.sum(thigh * shin, axis=-1), -1.0, 1.0))
    cos_inner = (l1**2 + l2**2 - d**2) / np.maximum(2.0 * l1 * l2, _EPS)
    bend_want = np.pi - np.arccos(np.clip(cos_inner, -1.0, 1.0))
    axis, size = _unit(np.cross(thigh, shin))
    straight = size < 1e-4  # no bend plane yet: bend about the knee's own x axis
    if np.any(straight):
        axis[straight] = quat.rotate(g_rot[straight, knee], np.array([1.0, 0.0, 0.0]))
    bend = quat.from_axis_angle(axis, bend_want - bend_now)
    g_knee = quat.mul(bend, g_rot[:, knee])
    a_new = k + quat.rotate(bend, a - k)
    swing = rotation_between(a_new - h, target - h)
    g_hip = quat.mul(swing, g_rot[:, hip])
    g_knee = quat.mul(swing, g_knee)
    parent_rot = g_rot[:, parents[hip]]
    local_rot[:, hip] = quat.mul(quat.inverse(parent_rot), g_hip)
    local_rot[:, knee] = quat.mul(quat.inverse(g_hip), g_knee)
    local_rot[:, ankle] = quat.mul(quat.inverse(g_knee), foot_world)
