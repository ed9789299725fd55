"""A rig with rotations from joint-position sequences (Tang's markers, AIST++-style keypoints).

Method (documented because the result is an estimate, see :func:`build_motion`):

1. Joints are the observed points or means of several (a virtual ``Neck`` between the
   shoulders); the hierarchy comes with the point layout (:class:`PointRig`).
2. Bone lengths are the medians over the take of the observed joint distances.
3. The rest pose is the dancer's own most typical frame: the frame whose bone directions, in
   the body frame (pelvis heading removed), are nearest the per-bone median directions, turned
   to face +Z with the median lengths, its bone directions made left/right symmetric (so
   mirroring is exact up to left/right length differences).
   Rest rotations are identity.
4. Per-frame rotations are fitted with :func:`choreo_studio.core.motion.rig_fit.fit_rotations`:
   each bone's observed direction exactly, the twist from the next point's bend plane,
   several-child joints by least squares. The root follows the pelvis point.
5. The floor follows the feet: a rolling low percentile (``FLOOR_PERCENTILE`` over
   ``FLOOR_WINDOW_S``, smoothed) of the per-frame lowest foot point, so a capture whose floor
   drifts or tilts as the dancer travels (Tang's waltzes: 40 cm over a take) stands on it.

The forward-kinematics error against the observed points is measured and returned: it comes
from bone lengths that vary in the source (marker slip, soft tissue) and from least-squares
joints whose children do not move rigidly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.rig_fit import fit_rotations, fk_error_cm
from choreo_studio.core.motion.skeleton import Skeleton
from scipy.ndimage import gaussian_filter1d, percentile_filter

FLOOR_PERCENTILE = 35.0
FLOOR_WINDOW_S = 3.0
# rest direction (world, facing +Z) a straight limb bends towards: the knee's ankle goes back,
# the shin's toe forward, the upper arm's wrist forward
BEND_HINTS = {
    "LeftUpLeg": (0.0, 0.0, -1.0), "RightUpLeg": (0.0, 0.0, -1.0),
    "LeftLeg": (0.0, 0.0, 1.0), "RightLeg": (0.0, 0.0, 1.0),
    "LeftArm": (0.0, 0.0, 1.0), "RightArm": (0.0, 0.0, 1.0),
}  # fmt: skip


@dataclass(frozen=True)
class PointRig:
    """A point layout as a hierarchy: joint ``j`` is the mean of points ``sources[j]``.

    Names follow the canonical humanoid (``Hips``, ``LeftUpLeg`` …; extras keep Left/Right so
    mirroring pairs them); ``parents[j] < j``, joint 0 is the pelvis.
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    sources: tuple[tuple[int, ...], ...]
    canonical: tuple[str, ...] = ()  # canonical name per joint ("" if none), default: names

    def joint(self, name: str) -> int:
        """Index of joint ``name``."""
        return self.names.index(name)

    def observed(self) -> dict[int, int]:
        """Joints that are one observed point: joint -> point index."""
        return {j: s[0] for j, s in enumerate(self.sources) if len(s) == 1}


@dataclass
class FitReport:
    """How well the fitted rig reproduces the observed points (cm)."""

    median_error_cm: float
    p95_error_cm: float
    max_error_cm: float
    floor_cm: float  # median floor height removed (source units)


def joint_positions(rig: PointRig, points: np.ndarray) -> np.ndarray:
    """Joint positions ``[F, J, 3]`` (each joint the mean of its source points)."""
    return np.stack([points[:, list(s)].mean(axis=1) for s in rig.sources], axis=1)


def _heading_frames(pos: np.ndarray, hips: tuple[int, int]) -> np.ndarray:
    """Per-frame rotations ``[F, 4]`` turning the pelvis heading to +Z (left hip towards +X)."""
    lateral = pos[:, hips[0]] - pos[:, hips[1]]
    yaw = np.arctan2(-lateral[:, 2], lateral[:, 0])  # angle of the left hip about +Y from +X
    return quat.about_axis("Y", -yaw)


def _rest_offsets(rig: PointRig, pos: np.ndarray, lengths: np.ndarray,
                  hips: tuple[int, int]) -> np.ndarray:
    """Rest offsets ``[J, 3]`` from the frame nearest the median body-frame bone directions."""
    parents = np.asarray(rig.parents)
    unturn = _heading_frames(pos, hips)
    bones = pos[:, 1:] - pos[:, parents[1:]]
    dirs = quat.rotate(unturn[:, None], bones / np.maximum(
        np.linalg.norm(bones, axis=-1, keepdims=True), 1e-9))
    median = np.median(dirs, axis=0)
    median /= np.maximum(np.linalg.norm(median, axis=-1, keepdims=True), 1e-9)
    frame = int(np.argmax(np.sum(dirs * median[None], axis=-1).sum(axis=1)))
    offsets = np.zeros((len(rig.names), 3))
    offsets[1:] = dirs[frame] * lengths[1:, None]
    return _symmetric(rig, offsets)


def _symmetric(rig: PointRig, offsets: np.ndarray) -> np.ndarray:
    """Rest bone directions made left/right symmetric (pairs averaged across the YZ plane,
    centre bones in it), so mirroring is exact up to the left/right length difference; each
    bone keeps its own median length (the FK error); unpaired names pair with themselves."""
    try:
        perm = Skeleton(list(rig.names), list(rig.parents), offsets).mirror_indices()
    except ChoreoError:
        return offsets
    flip = np.array([-1.0, 1.0, 1.0])
    lengths = np.linalg.norm(offsets, axis=-1, keepdims=True)
    unit = offsets / np.maximum(lengths, 1e-9)
    sym = 0.5 * (unit + unit[perm] * flip)  # directions only: each bone keeps its own length
    return sym / np.maximum(np.linalg.norm(sym, axis=-1, keepdims=True), 1e-9) * lengths


def build_motion(rig: PointRig, points_cm: np.ndarray, fps: float, source: str,
                 foot_joints: tuple[str, ...] = (), hips: tuple[str, str] | None = None,
                 end_sites: dict[int, np.ndarray] | None = None,
                 rest_like: Skeleton | None = None) -> tuple[Motion, FitReport]:
    """Fit a rotation rig to points ``[F, P, 3]`` (cm, Y up); the motion and its FK error.

    ``hips`` names the left and right hip joints (default ``LeftUpLeg``/``RightUpLeg``), whose
    line sets the facing; ``end_sites`` (joint -> offset) are kept, continuing their bone.
    ``rest_like``, a skeleton of the same layout, gives the rest bone directions (this take's
    lengths kept): takes of one layout then share a rest and need no retargeting between them.
    """
    points_cm = np.asarray(points_cm, dtype=np.float64)
    if points_cm.ndim != 3 or points_cm.shape[2] != 3 or len(points_cm) < 2:
        raise ChoreoError(f"{source}: points must be [frames, points, 3] with 2+ frames, "
                          f"found {points_cm.shape}")
    bad = ~np.isfinite(points_cm).all(axis=-1)
    if bad.any():
        frames, pts = np.nonzero(bad)
        raise ChoreoError(f"{source}: {len(set(frames))} frames have missing (NaN) points "
                          f"(first: frame {frames[0]}, point {pts[0]}) — fill or cut them")
    pos = joint_positions(rig, points_cm)
    parents = np.asarray(rig.parents)
    lengths = np.zeros(len(rig.names))
    lengths[1:] = np.median(np.linalg.norm(pos[:, 1:] - pos[:, parents[1:]], axis=-1), axis=0)
    feet = [rig.joint(n) for n in foot_joints] or list(range(len(rig.names)))
    floor = floor_heights(pos[:, feet, 1].min(axis=1), fps)
    pos = pos.copy()
    pos[..., 1] -= floor[:, None]
    left, right = hips or ("LeftUpLeg", "RightUpLeg")
    if rest_like is not None and rest_like.joint_names == list(rig.names):
        unit = rest_like.offsets_cm / np.maximum(
            np.linalg.norm(rest_like.offsets_cm, axis=-1, keepdims=True), 1e-9)
        offsets = unit * lengths[:, None]
    else:
        offsets = _rest_offsets(rig, pos, lengths, (rig.joint(left), rig.joint(right)))
    offsets[0] = [0.0, float(np.median(pos[:, 0, 1])), 0.0]
    # an end site continues its joint's bone (head top above the neck-head line, and so on)
    ends = {j: offsets[j] / max(np.linalg.norm(offsets[j]), 1e-9) * np.linalg.norm(v)
            for j, v in (end_sites or {}).items() if j > 0}
    skeleton = Skeleton(list(rig.names), list(rig.parents), offsets, ends)
    hints = {j: np.array(BEND_HINTS[n]) for j, n in enumerate(rig.canonical or rig.names)
             if n in BEND_HINTS}
    motion = fit_rotations(skeleton, {j: pos[:, j] for j in range(len(rig.names))}, fps, hints,
                           chase=True)
    observed = {j: pos[:, j] for j in rig.observed()}
    err = fk_error_cm(motion, observed)
    report = FitReport(float(np.median(err)), float(np.percentile(err, 95)), float(err.max()),
                       float(np.median(floor)))
    return motion, report


def floor_heights(lowest_cm: np.ndarray, fps: float) -> np.ndarray:
    """Floor height per frame ``[F]`` from the lowest foot point (rolling low percentile)."""
    size = max(3, int(round(FLOOR_WINDOW_S * fps)))
    low = percentile_filter(np.asarray(lowest_cm, dtype=np.float64), FLOOR_PERCENTILE,
                            size=size, mode="nearest")
    return gaussian_filter1d(low, size / 3.0, mode="nearest")
