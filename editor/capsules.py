"""Geometry of the capsule character: one capsule per bone, sized from the bone, placed per frame.

Both skeleton views use it: the OpenGL view as unit cylinder and sphere meshes moved by 4×4
matrices, the QPainter fallback as round-capped strokes (a capsule seen under an orthographic
camera is exactly a thick line with round ends), drawn back to front.
"""

from __future__ import annotations

import numpy as np

MIN_RADIUS_CM = 3.0
MAX_RADIUS_CM = 9.0
RADIUS_PER_LENGTH = 0.22


def bone_radii(pairs: np.ndarray) -> np.ndarray:
    """A capsule radius (cm) per bone of ``pairs[B, 2, 3]``: thicker for longer bones (torso,
    thighs), clamped so fingers stay visible and the hips do not swallow the figure."""
    length = np.linalg.norm(pairs[:, 1] - pairs[:, 0], axis=1)
    return np.clip(RADIUS_PER_LENGTH * length, MIN_RADIUS_CM, MAX_RADIUS_CM)


def bone_matrices(pairs: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Row-major 4×4 transforms ``[B, 4, 4]`` taking a unit cylinder (radius 1, z from 0 to 1)
    onto each bone: from ``pairs[b, 0]`` to ``pairs[b, 1]`` with radius ``radii[b]``."""
    start, end = pairs[:, 0].astype(np.float64), pairs[:, 1].astype(np.float64)
    axis = end - start
    length = np.linalg.norm(axis, axis=1)
    z = axis / np.maximum(length, 1e-9)[:, None]
    z[length < 1e-9] = (0.0, 0.0, 1.0)
    helper = np.where(np.abs(z[:, [2]]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.cross(z, x)
    m = np.zeros((len(pairs), 4, 4))
    m[:, :3, 0] = x * radii[:, None]
    m[:, :3, 1] = y * radii[:, None]
    m[:, :3, 2] = z * length[:, None]
    m[:, :3, 3] = start
    m[:, 3, 3] = 1.0
    return m


def sphere_matrices(centers: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Row-major 4×4 transforms ``[n, 4, 4]`` taking a unit sphere to each capsule end."""
    m = np.zeros((len(centers), 4, 4))
    m[:, 0, 0] = m[:, 1, 1] = m[:, 2, 2] = radii
    m[:, :3, 3] = centers
    m[:, 3, 3] = 1.0
    return m


def joint_radii(n_points: int, parents: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Each point's cap radius: the largest radius of the bones that end at it (its bone and
    the bones of its children), so every capsule end is rounded off."""
    child = np.nonzero(parents >= 0)[0]
    out = np.zeros(n_points)
    np.maximum.at(out, child, radii)
    np.maximum.at(out, parents[child], radii)
    return out
