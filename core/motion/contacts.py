"""Feet on the floor: the leg chains of a skeleton, when a foot is planted, and the figures that
judge it (foot skating, floor penetration).

A foot is *in contact* on a frame when its lowest point (ankle, toe, toe tip) is within
``CONTACT_HEIGHT_CM`` of the floor; it is *planted* when it is also nearly still
(``PLANTED_SPEED_CM_S``). Skating is the mean horizontal speed of the lowest point over contact
frames (height only, so a sliding planted foot counts). Positions are centimetres, Y up; the
floor is y = 0 for rendered motion, or estimated from the feet (:func:`floor_height`) for
captured positions whose floor is unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.skeleton import Skeleton

CONTACT_HEIGHT_CM = 3.0
PLANTED_SPEED_CM_S = 15.0
_ANKLE = re.compile(r"(foot|ankle)", re.IGNORECASE)
_TOE = re.compile(r"toe", re.IGNORECASE)


@dataclass(frozen=True)
class Leg:
    """One leg's chain: hip → knee → ankle joints, and its toe joint (or None)."""

    hip: int
    knee: int
    ankle: int
    toe: int | None


def legs(skeleton: Skeleton) -> list[Leg]:
    """The legs of ``skeleton``: joints named foot/ankle (not toe) with a knee and hip above
    them, below the root in the rest pose, in joint order (empty for a rig without legs)."""
    parents = skeleton.parents
    rest = skeleton.rest_positions_cm()
    found = []
    for j, name in enumerate(skeleton.joint_names):
        if not _ANKLE.search(name) or _TOE.search(name):
            continue
        knee = int(parents[j])
        hip = int(parents[knee]) if knee > 0 else -1
        if hip <= 0 or _ANKLE.search(skeleton.joint_names[knee]):
            continue  # a foot under a foot (e.g. a foot-end joint) or a chain too short
        if rest[j, 1] > rest[0, 1]:
            continue  # above the root: not a leg
        toes = [c for c in skeleton.children(j) if _TOE.search(skeleton.joint_names[c])]
        kids = toes or skeleton.children(j)
        found.append(Leg(hip, knee, j, kids[0] if kids else None))
    return found


def foot_points(leg: Leg) -> list[int]:
    """Joint indices whose positions bound the foot from below (ankle, toe)."""
    return [leg.ankle] + ([leg.toe] if leg.toe is not None else [])


def foot_point_indices(skeleton: Skeleton) -> tuple[np.ndarray, np.ndarray]:
    """Where every foot point (ankles, toes, toe tips where the rig has end sites) sits in
    :meth:`Motion.fk_with_end_sites`' columns ``[P]``, and the leg each belongs to ``[P]``."""
    ends = sorted(skeleton.end_sites_cm)  # end site e hangs under joint ends[e]
    idx, owner = [], []
    for i, leg in enumerate(legs(skeleton)):
        joints = foot_points(leg)
        tips = [skeleton.n_joints + e for e, p in enumerate(ends) if p in joints]
        idx += joints + tips
        owner += [i] * (len(joints) + len(tips))
    return np.asarray(idx, dtype=np.int64), np.asarray(owner, dtype=np.int64)


def foot_positions(motion: Motion) -> tuple[np.ndarray, np.ndarray]:
    """World positions ``[F, P, 3]`` of every foot point (see :func:`foot_point_indices`) and
    the leg each point belongs to ``[P]``."""
    idx, owner = foot_point_indices(motion.skeleton)
    if idx.size == 0:
        return np.zeros((motion.n_frames, 0, 3)), owner
    pos, _parents = motion.fk_with_end_sites()
    return pos[:, idx], owner


def floor_height(points_cm: np.ndarray) -> float:
    """The floor of captured feet: the 5th percentile of the lowest foot point's height."""
    if points_cm.size == 0:
        return 0.0
    return float(np.percentile(points_cm[..., 1].min(axis=1), 5.0))


def horizontal_speed(points_cm: np.ndarray, fps: float) -> np.ndarray:
    """Horizontal speed ``[F, P]`` (cm/s) of points ``[F, P, 3]`` (central differences)."""
    if points_cm.shape[0] < 2:
        return np.zeros(points_cm.shape[:2])
    return np.linalg.norm(np.gradient(points_cm[..., [0, 2]], axis=0), axis=-1) * fps


def contact_mask(points_cm: np.ndarray, floor_cm: float = 0.0,
                 height_cm: float = CONTACT_HEIGHT_CM) -> np.ndarray:
    """Frames × points touching the floor (within ``height_cm`` of it)."""
    return points_cm[..., 1] <= floor_cm + height_cm


def planted_legs(points_cm: np.ndarray, owner: np.ndarray, n_legs: int, fps: float,
                 floor_cm: float = 0.0) -> np.ndarray:
    """Frames × legs whose foot has a point on the floor that is nearly still (a foot to pin)."""
    still = contact_mask(points_cm, floor_cm) & (
        horizontal_speed(points_cm, fps) <= PLANTED_SPEED_CM_S)
    out = np.zeros((points_cm.shape[0], n_legs), dtype=bool)
    for leg in range(n_legs):
        out[:, leg] = still[:, owner == leg].any(axis=1)
    return out


def skating_cm_s(points_cm: np.ndarray, fps: float, frames: np.ndarray | None = None,
                 floor_cm: float = 0.0) -> float:
    """Mean horizontal speed (cm/s) of foot points touching the floor, over ``frames`` (a
    boolean frame mask; all frames when None); NaN when no foot touches the floor there."""
    contact = contact_mask(points_cm, floor_cm)
    if frames is not None:
        contact = contact & frames[:, None]
    if not contact.any():
        return float("nan")
    return float(horizontal_speed(points_cm, fps)[contact].mean())


def penetration_cm(points_cm: np.ndarray, floor_cm: float = 0.0) -> float:
    """How far (cm) the deepest foot point goes below the floor (0 when never)."""
    if points_cm.size == 0:
        return 0.0
    return float(max(0.0, floor_cm - points_cm[..., 1].min()))
