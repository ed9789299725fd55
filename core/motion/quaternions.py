"""Vectorised unit-quaternion maths (w, x, y, z) for skeleton animation.

Every function works on arrays of any leading shape ``[..., 4]`` so FK, resampling and BVH
conversion run over all frames at once. Rotations act on column vectors; ``mul(a, b)`` applies
``b`` first, then ``a``. Euler orders are *intrinsic* as in BVH: order ``"ZXY"`` means
``R = Rz(a0) @ Rx(a1) @ Ry(a2)`` with angles given in that order.
"""

from __future__ import annotations

import math

import numpy as np
from choreo_studio.core.errors import ChoreoError

_AXIS_INDEX = {"X": 0, "Y": 1, "Z": 2}


def identity(shape: tuple[int, ...] = ()) -> np.ndarray:
    """Identity quaternions of the given leading shape."""
    q = np.zeros((*shape, 4))
    q[..., 0] = 1.0
    return q


def normalize(q: np.ndarray) -> np.ndarray:
    """Scale quaternions to unit length (zero quaternions become the identity)."""
    q = np.asarray(q, dtype=np.float64)
    n = np.sqrt(np.add.reduce(q * q, axis=-1, keepdims=True))  # np.linalg.norm's sum, less overhead
    out = q / np.maximum(n, 1e-12)
    zero = ~(n[..., 0] > 1e-12)  # rare (zero or NaN): only those are patched
    if zero.any():
        out[zero] = identity()
    return out


_FEW = 512
"""Array size up to which :func:`mul` forms all products in one call (measured crossover)."""
_MUL_B = np.array([[0, 1, 2, 3], [1, 0, 3, 2], [2, 3, 0, 1], [3, 2, 1, 0]])
_MUL_SIGN = np.array([[1.0, 1.0, 1.0, 1.0], [-1.0, 1.0, -1.0, 1.0], [-1.0, 1.0, 1.0, -1.0],
                      [-1.0, -1.0, 1.0, 1.0]])
"""Hamilton product as four terms [term, component]: term t is ``a[t] * b[_MUL_B[t]]`` with
sign ``_MUL_SIGN[t]`` (x - y is x + (-y) exactly, so the sums equal the written-out formula)."""


def mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a * b`` (rotation ``b`` then ``a``), broadcasting leading dims."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    shape = np.broadcast(a, b).shape  # (np.broadcast_shapes costs ~30 µs a call)
    if math.prod(shape) <= _FEW:  # all 16 products in one call: few calls on the render's arrays
        terms = a[..., :, None] * b[..., _MUL_B]
        terms *= _MUL_SIGN
        return ((terms[..., 0, :] + terms[..., 1, :]) + terms[..., 2, :]) + terms[..., 3, :]
    aw, ax, ay, az = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bw, bx, by, bz = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    out = np.empty(shape)  # many quaternions: per component (the 16-way gather costs more)
    out[..., 0] = aw * bw - ax * bx - ay * by - az * bz
    out[..., 1] = aw * bx + ax * bw + ay * bz - az * by
    out[..., 2] = aw * by - ax * bz + ay * bw + az * bx
    out[..., 3] = aw * bz + ax * by - ay * bx + az * bw
    return out


def inverse(q: np.ndarray) -> np.ndarray:
    """Inverse of unit quaternions (the conjugate)."""
    q = np.asarray(q, dtype=np.float64)
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Cross product over the last axis (np.cross without its per-call overhead)."""
    out = np.empty(np.broadcast(u, v).shape)
    out[..., 0] = u[..., 1] * v[..., 2] - u[..., 2] * v[..., 1]
    out[..., 1] = u[..., 2] * v[..., 0] - u[..., 0] * v[..., 2]
    out[..., 2] = u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]
    return out


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v[..., 3]`` by unit quaternions ``q[..., 4]`` (broadcasting)."""
    q = np.asarray(q, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    u = q[..., 1:]
    t = 2.0 * _cross(u, v)
    return v + q[..., :1] * t + _cross(u, t)


def canonical(q: np.ndarray) -> np.ndarray:
    """Same rotations with ``w >= 0`` (q and -q are the same rotation)."""
    q = np.asarray(q, dtype=np.float64)
    return np.where(q[..., :1] < 0.0, -q, q)


def make_continuous(q: np.ndarray, axis: int = 0) -> np.ndarray:
    """Flip signs along ``axis`` (time) so consecutive quaternions lie in the same hemisphere."""
    q = np.moveaxis(np.array(q, dtype=np.float64), axis, 0)
    if len(q) > 1:
        dots = np.sum(q[1:] * q[:-1], axis=-1)
        flips = np.cumsum(dots < 0.0, axis=0) % 2
        q[1:] *= np.where(flips[..., None] == 1, -1.0, 1.0)
    return np.moveaxis(q, 0, axis)


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """Spherical linear interpolation ``a`` (t=0) to ``b`` (t=1), short arc; ``t`` broadcasts
    against the leading dims of ``a``/``b``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    b = np.where(np.sum(a * b, axis=-1, keepdims=True) < 0.0, -b, b)
    return slerp_along(a, b, t)


def slerp_along(a: np.ndarray, b: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """Slerp ``a`` (t=0) to ``b`` (t=1) along the arc their signs give (the long one where
    ``a · b < 0``): for callers that choose the arc themselves; ``t`` as in :func:`slerp`."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)[..., None]
    dot = np.sum(a * b, axis=-1, keepdims=True)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_theta = np.sin(theta)
    small = sin_theta < 1e-6
    safe = np.where(small, 1.0, sin_theta)
    wa = np.where(small, 1.0 - t, np.sin((1.0 - t) * theta) / safe)
    wb = np.where(small, t, np.sin(t * theta) / safe)
    return normalize(wa * a + wb * b)


def from_axis_angle(axis: np.ndarray, angle_rad: np.ndarray) -> np.ndarray:
    """Quaternions rotating by ``angle_rad`` about (not necessarily unit) ``axis[..., 3]``."""
    axis = np.asarray(axis, dtype=np.float64)
    angle = np.asarray(angle_rad, dtype=np.float64)
    n = np.sqrt(np.add.reduce(axis * axis, axis=-1, keepdims=True))  # as np.linalg.norm
    unit = axis / np.maximum(n, 1e-12)
    half = angle[..., None] * 0.5
    return np.concatenate([np.cos(half) * np.ones_like(unit[..., :1]), np.sin(half) * unit], -1)


def to_axis_angle(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit axis ``[..., 3]`` and angle in radians ``[...]`` (0..pi) of unit quaternions."""
    q = canonical(q)
    s = np.linalg.norm(q[..., 1:], axis=-1)
    angle = 2.0 * np.arctan2(s, q[..., 0])
    axis = np.where(s[..., None] > 1e-12, q[..., 1:] / np.maximum(s, 1e-12)[..., None], 0.0)
    axis[..., 0] = np.where(s > 1e-12, axis[..., 0], 1.0)
    return axis, angle


def about_axis(axis_name: str, angle_rad: np.ndarray) -> np.ndarray:
    """Quaternions for rotations about the named coordinate axis ``"X"``, ``"Y"`` or ``"Z"``."""
    angle = np.asarray(angle_rad, dtype=np.float64)
    q = np.zeros((*angle.shape, 4))
    q[..., 0] = np.cos(angle * 0.5)
    q[..., 1 + _AXIS_INDEX[axis_name.upper()]] = np.sin(angle * 0.5)
    return q


def _check_order(order: str) -> str:
    order = order.upper()
    if not order or len(order) > 3 or any(c not in _AXIS_INDEX for c in order):
        raise ChoreoError(f"Euler order {order!r}: use 1-3 of the axes X, Y, Z (e.g. 'ZXY')")
    return order


def from_euler(angles_rad: np.ndarray, order: str) -> np.ndarray:
    """Quaternions from intrinsic Euler angles ``[..., len(order)]`` (radians) in ``order``."""
    order = _check_order(order)
    angles = np.asarray(angles_rad, dtype=np.float64)
    q = about_axis(order[0], angles[..., 0])
    for i, axis_name in enumerate(order[1:], start=1):
        q = mul(q, about_axis(axis_name, angles[..., i]))
    return q


_MATRIX_ENTRIES = (
    (lambda w, x, y, z: 1 - 2 * (y * y + z * z), lambda w, x, y, z: 2 * (x * y - w * z),
     lambda w, x, y, z: 2 * (x * z + w * y)),
    (lambda w, x, y, z: 2 * (x * y + w * z), lambda w, x, y, z: 1 - 2 * (x * x + z * z),
     lambda w, x, y, z: 2 * (y * z - w * x)),
    (lambda w, x, y, z: 2 * (x * z - w * y), lambda w, x, y, z: 2 * (y * z + w * x),
     lambda w, x, y, z: 1 - 2 * (x * x + y * y)),
)
"""Rotation-matrix entry [row][column] of a unit quaternion's components (one formula for
:func:`to_matrix` and :func:`to_euler`, which needs only seven of them)."""


def to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices ``[..., 3, 3]`` of unit quaternions."""
    wxyz = np.moveaxis(normalize(q), -1, 0)
    return np.stack([np.stack([entry(*wxyz) for entry in row], -1) for row in _MATRIX_ENTRIES],
                    axis=-2)


def from_matrix(m: np.ndarray) -> np.ndarray:
    """Unit quaternions (w >= 0) from rotation matrices ``[..., 3, 3]`` (Shepperd's method)."""
    m = np.asarray(m, dtype=np.float64)
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    trace = m00 + m11 + m22
    cands = np.stack(
        [
            np.stack([1 + trace, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0],
                      m[..., 1, 0] - m[..., 0, 1]], -1),
            np.stack([m[..., 2, 1] - m[..., 1, 2], 1 + m00 - m11 - m22,
                      m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0]], -1),
            np.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 0, 1] + m[..., 1, 0],
                      1 - m00 + m11 - m22, m[..., 1, 2] + m[..., 2, 1]], -1),
            np.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0],
                      m[..., 1, 2] + m[..., 2, 1], 1 - m00 - m11 + m22], -1),
        ],
        axis=-2,
    )
    best = np.argmax(np.stack([trace, m00, m11, m22], -1), axis=-1)
    q = np.take_along_axis(cands, best[..., None, None], axis=-2)[..., 0, :]
    return canonical(normalize(q))


def to_euler(q: np.ndarray, order: str) -> np.ndarray:
    """Intrinsic Euler angles (radians) ``[..., 3]`` in ``order`` (three distinct axes).

    Inverse of :func:`from_euler`; at gimbal lock the last angle is set to zero.
    """
    order = _check_order(order)
    if len(order) != 3 or len(set(order)) != 3:
        raise ChoreoError(f"Euler order {order!r}: to_euler needs three distinct axes")
    i, j, k = (_AXIS_INDEX[c] for c in order)
    sign = 1.0 if (j - i) % 3 == 1 else -1.0
    wxyz = np.moveaxis(normalize(q), -1, 0).copy()  # contiguous components

    def r(row: int, col: int) -> np.ndarray:
        return _MATRIX_ENTRIES[row][col](*wxyz)  # the entries used, not the whole matrix

    sin_b = np.clip(sign * r(i, k), -1.0, 1.0)
    b = np.arcsin(sin_b)
    locked = np.abs(sin_b) > 1.0 - 1e-9
    a = np.arctan2(-sign * r(j, k), r(k, k))
    c = np.arctan2(-sign * r(i, j), r(i, i))
    a_locked = np.arctan2(sign * r(k, j), r(j, j))
    a = np.where(locked, a_locked, a)
    c = np.where(locked, 0.0, c)
    return np.stack([a, b, c], axis=-1)


def to_6d(q: np.ndarray) -> np.ndarray:
    """Continuous 6D representation (first two matrix columns, Zhou et al. 2019) ``[..., 6]``."""
    m = to_matrix(q)
    return np.concatenate([m[..., :, 0], m[..., :, 1]], axis=-1)


def from_6d(d6: np.ndarray) -> np.ndarray:
    """Unit quaternions from 6D vectors (Gram-Schmidt on the two columns)."""
    d6 = np.asarray(d6, dtype=np.float64)
    a1 = d6[..., :3]
    a2 = d6[..., 3:]
    b1 = a1 / np.maximum(np.linalg.norm(a1, axis=-1, keepdims=True), 1e-12)
    a2 = a2 - np.sum(b1 * a2, axis=-1, keepdims=True) * b1
    b2 = a2 / np.maximum(np.linalg.norm(a2, axis=-1, keepdims=True), 1e-12)
    b3 = np.cross(b1, b2)
    return from_matrix(np.stack([b1, b2, b3], axis=-1))


def from_basis_change(rest_basis: np.ndarray, target_basis: np.ndarray) -> np.ndarray:
    """Rotation taking orthonormal frame ``rest_basis`` to ``target_basis`` (columns [...,3,3])."""
    return from_matrix(np.asarray(target_basis) @ np.swapaxes(np.asarray(rest_basis), -1, -2))


def yaw_of(q: np.ndarray) -> np.ndarray:
    """Heading angle (radians, about +Y) of the rotated +Z axis projected on the floor."""
    fwd = rotate(q, np.array([0.0, 0.0, 1.0]))
    return np.arctan2(fwd[..., 0], fwd[..., 2])


def angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation angle (radians, 0..pi) between unit quaternions ``a`` and ``b``."""
    dot = np.abs(np.sum(np.asarray(a) * np.asarray(b), axis=-1))
    return 2.0 * np.arccos(np.clip(dot, 0.0, 1.0))
