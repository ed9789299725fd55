"""Fitting a skeleton's joint rotations to world joint positions (positions import, retargeting).

Given world positions ``[F, 3]`` for some joints of a skeleton (the *mapped* joints), every
mapped joint gets the world rotation that points its rest bone(s) at the observed ones:

* a joint with one mapped descendant (a limb bone) takes the shortest rotation from its
  parent-carried rest direction to the observed direction (the *swing*), then a *twist* about
  the bone that puts the next mapped point below it (the ankle for a thigh, the wrist for an
  upper arm: the bend plane) where the rest pose has it. The twist is weighted by how bent the
  limb is, so a straight limb keeps its parent's twist instead of flipping;
* a joint with several mapped descendants (pelvis, chest, a foot with toe and heel) takes the
  least-squares rotation (Kabsch) of its rest vectors onto the observed ones;
* unmapped joints keep their rest orientation relative to their parent (local identity).

Rest rotations are identity (BVH convention), so a joint's rest vector to a descendant is the
difference of their rest positions; any rest pose works (T, A, or a real frame), which is the
rest-pose correction retargeting needs: world *directions* are matched, never raw rotations.
"""

from __future__ import annotations

import numpy as np
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.skeleton import Skeleton

_BENT = 0.15  # perpendicular share of the twist reference at which the twist gets full weight


def mapped_descendants(skeleton: Skeleton, mapped: np.ndarray, joint: int) -> list[int]:
    """The first mapped joint on each path below ``joint`` (its bones' observed ends)."""
    out: list[int] = []
    stack = skeleton.children(joint)[::-1]
    while stack:
        c = stack.pop()
        if mapped[c]:
            out.append(c)
        else:
            stack += skeleton.children(c)[::-1]
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shortest rotations taking unit vectors ``a`` to ``b`` ``[..., 4]`` (antiparallel safe)."""
    a, b = np.broadcast_arrays(_unit(a), _unit(b))
    dot = np.sum(a * b, -1, keepdims=True)
    axis = np.cross(a, b)
    # antiparallel: any axis perpendicular to a
    side = np.where(np.abs(a[..., :1]) < 0.9, np.array([1.0, 0, 0]), np.array([0, 1.0, 0]))
    fallback = np.cross(a, side)
    anti = dot[..., 0] < -0.999999
    axis = np.where(anti[..., None], fallback, axis)
    q = np.concatenate([1.0 + dot, axis], -1)
    q[anti] = np.concatenate([np.zeros((int(anti.sum()), 1)), _unit(fallback[anti])], -1)
    return quat.normalize(q)


def _kabsch(rest: np.ndarray, obs: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, bool]:
    """Least-squares rotations ``[F, 4]`` taking rest vectors ``[K, 3]`` to ``obs [F, K, 3]``;
    also whether the rest vectors span a plane (False: collinear, the fit is not determined)."""
    h = np.einsum("ki,fkj->fij", rest * weights[:, None], obs)  # [F,3,3] = sum w r o^T
    u, s, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.swapaxes(vt, 1, 2) @ np.swapaxes(u, 1, 2)))
    fix = np.ones((len(obs), 3))
    fix[:, 2] = d
    r = np.swapaxes(vt, 1, 2) @ (fix[:, :, None] * np.swapaxes(u, 1, 2))
    sv = np.linalg.svd(rest * np.sqrt(weights[:, None]), compute_uv=False)
    return quat.from_matrix(r), bool(len(sv) > 1 and sv[1] > 1e-3 * max(sv[0], 1e-9))


def _twist(g: np.ndarray, axis: np.ndarray, ref_rest: np.ndarray, ref_obs: np.ndarray
           ) -> np.ndarray:
    """Rotate world rotations ``g`` about the observed bone ``axis`` so the rest reference
    vector lands on the observed one (both projected off the bone), weighted by bend."""
    axis = _unit(axis)
    cur = quat.rotate(g, ref_rest)
    cur_p = cur - np.sum(cur * axis, -1, keepdims=True) * axis
    obs_p = ref_obs - np.sum(ref_obs * axis, -1, keepdims=True) * axis
    share = np.linalg.norm(obs_p, axis=-1) / np.maximum(np.linalg.norm(ref_obs, axis=-1), 1e-9)
    rest_share = np.linalg.norm(cur_p, axis=-1) / np.maximum(np.linalg.norm(cur, axis=-1), 1e-9)
    weight = np.clip(np.minimum(share, rest_share) / _BENT, 0.0, 1.0)
    angle = np.arctan2(np.sum(np.cross(cur_p, obs_p) * axis, -1), np.sum(cur_p * obs_p, -1))
    return quat.mul(quat.from_axis_angle(axis, angle * weight), g)


def depth_levels(skeleton: Skeleton) -> list[np.ndarray]:
    """Joints grouped by depth below the root (each group's parents are in the one before)."""
    depth = np.zeros(skeleton.n_joints, dtype=np.int64)
    for j in range(1, skeleton.n_joints):
        depth[j] = depth[skeleton.parents[j]] + 1
    return [np.nonzero(depth == d)[0] for d in range(int(depth.max()) + 1)]


def fit_rotations(
    skeleton: Skeleton,
    positions_cm: dict[int, np.ndarray],
    fps: float,
    twist_hints: dict[int, np.ndarray] | None = None,
    chase: bool = False,
) -> Motion:
    """A Motion on ``skeleton`` whose mapped joints follow ``positions_cm`` (joint -> [F, 3]).

    The root must be mapped (its position is the root path). ``twist_hints`` gives, for a limb
    joint whose rest pose is straight, the rest direction (world) its bend goes to — without
    one a straight rest limb takes its twist from the parent only. With ``chase`` each bone
    aims from where forward kinematics put its joint at the observed point (positions import:
    length errors do not pile up along a limb); without, bones copy observed directions
    (retargeting onto other proportions). Joints of one depth are fitted together (their
    parents are done), all frames at once: the limb bones of a level in one batch, joints
    with several mapped children (Kabsch) each on their own.
    """
    if 0 not in positions_cm:
        raise ChoreoError("rig fit: the root joint has no observed positions — map the hips")
    n_frames = len(positions_cm[0])
    mapped = np.zeros(skeleton.n_joints, dtype=bool)
    mapped[list(positions_cm)] = True
    observed = np.zeros((n_frames, skeleton.n_joints, 3))
    for j, p in positions_cm.items():
        observed[:, j] = p
    rest = skeleton.rest_positions_cm()
    hints = twist_hints or {}
    parents = np.asarray(skeleton.parents)
    world = np.empty((n_frames, skeleton.n_joints, 4))
    fk = np.empty((n_frames, skeleton.n_joints, 3))
    for level in depth_levels(skeleton):
        if level[0] == 0:
            base = quat.identity((n_frames, 1))
            fk[:, 0] = positions_cm[0]
        else:
            base = world[:, parents[level]]
            fk[:, level] = fk[:, parents[level]] + quat.rotate(base, skeleton.offsets_cm[level])
        world[:, level] = base
        origins = fk if chase else observed
        limbs = []  # (joint, its column in the level, its mapped child)
        for col, j in enumerate(level):
            targets = mapped_descendants(skeleton, mapped, int(j)) if mapped[j] else []
            if not targets:
                continue
            if len(targets) > 1:
                g = _several(rest, observed, origins[:, j], int(j), targets)
                if g is not None:
                    world[:, j] = g
                    continue
            limbs.append((int(j), col, targets[0]))
        if limbs:
            world[:, [j for j, _, _ in limbs]] = _aim_limbs(
                skeleton, rest, observed, origins, mapped, hints, limbs, base)
    local = world.copy()
    local[:, 1:] = quat.mul(quat.inverse(world[:, parents[1:]]), world[:, 1:])
    local = quat.make_continuous(quat.normalize(local), axis=0)
    return Motion(skeleton, fps, local, positions_cm[0])


def _several(rest: np.ndarray, observed: np.ndarray, origin: np.ndarray, j: int,
             targets: list[int]) -> np.ndarray | None:
    """World rotation ``[F, 4]`` of a joint with several mapped children (Kabsch, weighted
    towards short bones), or None when their rest vectors are collinear (then aimed as a
    limb at the first)."""
    rest_v = rest[targets] - rest[j]
    obs_v = observed[:, targets] - origin[:, None]
    weights = 1.0 / np.maximum(np.linalg.norm(rest_v, axis=-1), 1.0)
    g, planar = _kabsch(rest_v, obs_v, weights)
    return g if planar else None


def _aim_limbs(
    skeleton: Skeleton, rest: np.ndarray, observed: np.ndarray, origins: np.ndarray,
    mapped: np.ndarray, hints: dict[int, np.ndarray], limbs: list[tuple[int, int, int]],
    base: np.ndarray,
) -> np.ndarray:
    """World rotations ``[F, L, 4]`` of limb joints of one level (see the module docstring):
    the swing onto the observed bone, then the twist that puts the next mapped point where
    the rest pose has it; bones aim from ``origins`` (observed or forward-kinematics
    positions)."""
    joints = np.array([j for j, _, _ in limbs])
    ends = np.array([d for _, _, d in limbs])
    rest_v = rest[ends] - rest[joints]
    obs_v = observed[:, ends] - origins[:, joints]
    limb_base = base[:, [c for _, c, _ in limbs]]
    g = quat.mul(_between(quat.rotate(limb_base, rest_v), obs_v), limb_base)
    twisted, refs, below = [], [], []
    for k, (j, _, d) in enumerate(limbs):
        nxt = mapped_descendants(skeleton, mapped, d)
        if not nxt:
            continue
        ref_rest = rest[nxt[0]] - rest[j]
        bone = rest_v[k] / max(np.linalg.norm(rest_v[k]), 1e-9)
        perp = ref_rest - np.dot(ref_rest, bone) * bone
        if np.linalg.norm(perp) < _BENT * np.linalg.norm(ref_rest) and j in hints:
            ref_rest = np.asarray(hints[j], dtype=np.float64) * np.linalg.norm(ref_rest)
        twisted.append(k)
        refs.append(ref_rest)
        below.append(nxt[0])
    if twisted:
        ref_obs = observed[:, below] - origins[:, joints[twisted]]
        g[:, twisted] = _twist(g[:, twisted], obs_v[:, twisted], np.array(refs), ref_obs)
    return g


def fk_error_cm(motion: Motion, positions_cm: dict[int, np.ndarray]) -> np.ndarray:
    """Per-frame, per-point distance ``[F, P]`` between the motion's FK and observed points."""
    fk = motion.fk()
    joints = sorted(positions_cm)
    obs = np.stack([positions_cm[j] for j in joints], 1)
    return np.linalg.norm(fk[:, joints] - obs, axis=-1)
