"""A soft pull back to the stage centre that keeps planted feet planted.

Turning plays at cuts (:mod:`choreography.render`) cannot hold a dance whose phrases each travel
a metre or more (ballroom): the path leaves the stage within a phrase. So the whole rendered
path is moved by a slow, smooth floor offset (at most ``PULL_SPEED_CM_S``) wherever the root
goes beyond ``PULL_FROM`` of the stage radius. A foot on the floor keeps the offset it had when
it touched down until it lifts (two-bone IK, :mod:`core.motion.ik`), and takes up the body's
offset while it is in the air, so the pull shows as slightly shorter or longer steps, never as
a foot sliding on the floor.
"""

from __future__ import annotations

import numpy as np
from choreo_studio.core.motion import contacts
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.ik import solve_leg
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.skeleton import Skeleton

PULL_FROM = 0.35
"""The pull acts beyond this share of the stage radius from the centre."""
PULL_SPEED_CM_S = 3.0
"""The fastest the offset moves a dancer standing still over the floor."""
PULL_SHARE = 0.8
"""... plus this share of the dancer's own speed (a travelling step hides a longer pull)."""
PULL_SMOOTH_S = 1.0
"""Standard deviation of the Gaussian the offset is smoothed with (no sudden pulls)."""
PULL_ROUNDS = 6
"""Smooth-and-correct rounds: each takes up what the smoothing left beyond the radius."""


def _gaussian(values: np.ndarray, sigma: float) -> np.ndarray:
    """``values`` [F, d] smoothed along time by a Gaussian (edges held)."""
    half = max(1, int(round(3.0 * sigma)))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(values, ((half, half), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, k], kernel, mode="valid")
                     for k in range(values.shape[1])], axis=1)


def pull_offset(floor_cm: np.ndarray, radius_cm: float, fps: float) -> np.ndarray:
    """The floor offset [F, 2] (cm) that brings ``floor_cm`` [F, 2] (relative to the centre)
    back toward ``PULL_FROM`` × ``radius_cm``: smooth, starting at zero, never faster than
    ``PULL_SPEED_CM_S``."""
    inner = PULL_FROM * radius_cm
    travel = np.linalg.norm(np.diff(floor_cm, axis=0), axis=1) * fps
    allowed = PULL_SPEED_CM_S + PULL_SHARE * _gaussian(travel[:, None], 0.25 * fps)[:, 0]
    offset = np.zeros_like(floor_cm)
    for _ in range(PULL_ROUNDS):  # each round adds what the speed limit left beyond the radius
        moved = floor_cm + offset
        dist = np.linalg.norm(moved, axis=1)
        excess = np.maximum(0.0, dist - inner) / np.maximum(dist, 1e-9)
        offset = _limited(offset + _gaussian(-moved * excess[:, None], PULL_SMOOTH_S * fps),
                          allowed / fps)
    return offset


def _limited(offset: np.ndarray, max_step: np.ndarray) -> np.ndarray:
    """``offset`` [F, 2] rebuilt from zero with each frame's step at most ``max_step`` [F-1]."""
    step = np.diff(offset, axis=0)
    size = np.linalg.norm(step, axis=1)
    step *= np.minimum(1.0, max_step / np.maximum(size, 1e-12))[:, None]
    return np.concatenate([np.zeros((1, 2)), np.cumsum(step, axis=0)])


def _smooth(x: np.ndarray) -> np.ndarray:
    return x * x * (3.0 - 2.0 * x)


def foot_offsets(offset: np.ndarray, on_floor: np.ndarray) -> np.ndarray:
    """One foot's offset [F, 2]: held at the body's ``offset`` of the frame it touched down for
    as long as it stays on the floor (``on_floor`` [F]), eased onto the next touch-down's value
    (or the body's at the end) while it is in the air."""
    n = len(offset)
    out = offset.copy()
    starts = np.nonzero(on_floor & ~np.concatenate([[False], on_floor[:-1]]))[0]
    ends = np.nonzero(on_floor & ~np.concatenate([on_floor[1:], [False]]))[0] + 1
    for start, end in zip(starts, ends, strict=True):
        out[start:end] = offset[start]
    # in the air: from the value it lifted with to the value it will land with
    lifts = list(ends)
    lands = list(starts[1:]) + [n]
    for lift, land in zip(lifts, lands, strict=True):
        if lift >= n:
            continue
        goal = offset[land] if land < n else offset[-1]
        span = land - lift
        s = _smooth((np.arange(span) + 1.0) / (span + 1.0))[:, None]
        out[lift:land] = out[lift - 1] + (goal - out[lift - 1]) * s
    return out


def pull_to_centre(skeleton: Skeleton, fps: float, rot: np.ndarray, root: np.ndarray,
                   local: np.ndarray | None, centre_cm: np.ndarray, radius_cm: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Rotations [F, J, 4] and root [F, 3] moved back toward ``centre_cm`` [2] on the floor by
    :func:`pull_offset`, the legs re-solved so every foot on the floor stays where it is (see
    the module docstring); the inputs themselves where no pull is needed."""
    offset = pull_offset(root[:, [0, 2]] - centre_cm, radius_cm, fps)
    if not np.abs(offset).max() > 1e-6:
        return rot, root
    motion = Motion(skeleton, fps, rot, root, local)
    g_rot, g_pos = motion.global_transforms()
    idx, owner = contacts.foot_point_indices(skeleton)
    touching = contacts.contact_mask(motion.fk_with_end_sites((g_rot, g_pos))[0][:, idx])
    shift = np.zeros((len(root), 3))
    shift[:, [0, 2]] = offset
    rot = rot.copy()
    moved_pos = g_pos + shift[:, None, :]
    for i, leg in enumerate(contacts.legs(skeleton)):
        feet = foot_offsets(offset, touching[:, owner == i].any(axis=1))
        frames = np.nonzero(np.abs(feet - offset).max(axis=1) > 1e-6)[0]
        if frames.size == 0:
            continue
        target = g_pos[frames, leg.ankle].copy()
        target[:, [0, 2]] += feet[frames]
        part = rot[frames]
        solve_leg(part, g_rot[frames], moved_pos[frames], skeleton.parents, leg, target,
                  g_rot[frames, leg.ankle])
        rot[frames] = part
    return quat.normalize(rot), root + shift
