"""Motion: per-frame local joint rotations plus root translation at a frame rate, and the
operations the engine and editor need on it (FK, mirror, resample, trim, concatenate,
root re-alignment). Everything is vectorised over frames; only FK loops over joints.

Units and axes: centimetres, Y up, characters face +Z in the rest pose, quaternions (w,x,y,z).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.skeleton import Skeleton


@dataclass
class Motion:
    """A clip on ``skeleton``: ``rotations[F, J, 4]`` local unit quaternions, ``root_pos_cm[F, 3]``.

    ``root_pos_cm`` is the world position of the root joint (joint 0). ``local_pos_cm``
    (optional, ``[F, J, 3]``) holds per-frame joint translations for clips whose non-root joints
    carry position channels (some BVH exporters); ``None`` means the skeleton's rest offsets.
    """

    skeleton: Skeleton
    fps: float
    rotations: np.ndarray
    root_pos_cm: np.ndarray
    local_pos_cm: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.rotations = np.asarray(self.rotations, dtype=np.float32)
        self.root_pos_cm = np.asarray(self.root_pos_cm, dtype=np.float32)
        j = self.skeleton.n_joints
        if self.rotations.ndim != 3 or self.rotations.shape[1:] != (j, 4):
            raise ChoreoError(
                f"motion: rotations have shape {self.rotations.shape}, expected [frames, {j}, 4]"
            )
        f = self.rotations.shape[0]
        if self.root_pos_cm.shape != (f, 3):
            raise ChoreoError(
                f"motion: root positions have shape {self.root_pos_cm.shape}, expected [{f}, 3]"
            )
        if self.local_pos_cm is not None:
            self.local_pos_cm = np.asarray(self.local_pos_cm, dtype=np.float32)
            if self.local_pos_cm.shape != (f, j, 3):
                raise ChoreoError(f"motion: local positions must have shape [{f}, {j}, 3]")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise ChoreoError(f"motion: frame rate {self.fps!r} must be a positive number")
        self.fps = float(self.fps)

    @property
    def n_frames(self) -> int:
        """Number of frames F."""
        return int(self.rotations.shape[0])

    @property
    def duration_s(self) -> float:
        """Length in seconds (frames / fps)."""
        return self.n_frames / self.fps

    def copy(self) -> Motion:
        """A deep copy (the skeleton is shared: it is treated as immutable)."""
        return Motion(
            self.skeleton,
            self.fps,
            self.rotations.copy(),
            self.root_pos_cm.copy(),
            None if self.local_pos_cm is None else self.local_pos_cm.copy(),
        )

    def _translations(self) -> np.ndarray:
        """Per-frame local translations ``[F, J, 3]`` (root slot holds the root position)."""
        if self.local_pos_cm is not None:
            t = self.local_pos_cm.astype(np.float64)
        else:
            shape = (self.n_frames, self.skeleton.n_joints, 3)
            t = np.broadcast_to(self.skeleton.offsets_cm, shape).copy()
        t[:, 0] = self.root_pos_cm
        return t

    def global_transforms(self) -> tuple[np.ndarray, np.ndarray]:
        """World rotations ``[F, J, 4]`` and world joint positions ``[F, J, 3]`` (cm)."""
        rot = self.rotations.astype(np.float64)
        trans = self._translations()
        parents = self.skeleton.parents
        g_rot = np.empty_like(rot)
        g_pos = np.empty_like(trans)
        g_rot[:, 0] = rot[:, 0]
        g_pos[:, 0] = trans[:, 0]
        # all joints of one depth at once (the same arithmetic per joint, fewer numpy calls)
        for joints, above in _depth_levels(tuple(int(p) for p in parents)):
            g_pos[:, joints] = g_pos[:, above] + quat.rotate(g_rot[:, above], trans[:, joints])
            g_rot[:, joints] = quat.mul(g_rot[:, above], rot[:, joints])
        return g_rot, g_pos

    def fk(self) -> np.ndarray:
        """World joint positions ``[F, J, 3]`` in centimetres (forward kinematics)."""
        return self.global_transforms()[1]

    def fk_with_end_sites(self, transforms: tuple[np.ndarray, np.ndarray] | None = None
                          ) -> tuple[np.ndarray, np.ndarray]:
        """Joint and end-site positions ``[F, J+E, 3]`` and the parent of each ``[J+E]``
        (``transforms``: this motion's :meth:`global_transforms` where the caller has them).

        End sites (head top, finger and toe tips) make drawings and contact checks complete.
        """
        g_rot, g_pos = self.global_transforms() if transforms is None else transforms
        ends = sorted(self.skeleton.end_sites_cm.items())
        if not ends:
            return g_pos, self.skeleton.parents.copy()
        idx = np.array([j for j, _ in ends])
        offs = np.stack([o for _, o in ends])
        tips = g_pos[:, idx] + quat.rotate(g_rot[:, idx], offs[None])
        return np.concatenate([g_pos, tips], 1), np.concatenate([self.skeleton.parents, idx])

    def facing_yaw_rad(self) -> np.ndarray:
        """Heading of the root per frame (radians about +Y; 0 = facing +Z)."""
        return quat.yaw_of(self.rotations[:, 0].astype(np.float64))

    def mirror(self) -> Motion:
        """Left/right mirror across the character's YZ plane (x -> -x), swapping paired joints.

        Exact for skeletons whose left and right offsets mirror each other; mirroring twice
        gives the original motion back for any skeleton.
        """
        perm = self.skeleton.mirror_indices()
        rot = self.rotations[:, perm] * np.array([1.0, 1.0, -1.0, -1.0], dtype=np.float32)
        root = self.root_pos_cm * np.array([-1.0, 1.0, 1.0], dtype=np.float32)
        local = None
        if self.local_pos_cm is not None:
            local = self.local_pos_cm[:, perm] * np.array([-1.0, 1.0, 1.0], dtype=np.float32)
        return Motion(self.skeleton, self.fps, rot, root, local)

    def trim(self, start_frame: int, end_frame: int) -> Motion:
        """Frames ``[start_frame, end_frame)``; ChoreoError when the range is empty/outside."""
        if not (0 <= start_frame < end_frame <= self.n_frames):
            raise ChoreoError(
                f"motion: cannot trim to frames {start_frame}..{end_frame} of a "
                f"{self.n_frames}-frame clip"
            )
        sl = slice(start_frame, end_frame)
        local = None if self.local_pos_cm is None else self.local_pos_cm[sl]
        return Motion(self.skeleton, self.fps, self.rotations[sl], self.root_pos_cm[sl], local)

    def sample(self, frame_positions: np.ndarray) -> Motion:
        """Motion at fractional source frames (slerp / linear), keeping the frame rate.

        This is the primitive behind resampling and beat warping (time maps to frame).
        """
        x = np.clip(np.asarray(frame_positions, dtype=np.float64), 0, self.n_frames - 1)
        i0 = np.floor(x).astype(np.int64)
        i1 = np.minimum(i0 + 1, self.n_frames - 1)
        t = x - i0
        rot = quat.make_continuous(self.rotations.astype(np.float64), axis=0)
        r = quat.slerp(rot[i0], rot[i1], t[:, None])
        root = (1 - t)[:, None] * self.root_pos_cm[i0] + t[:, None] * self.root_pos_cm[i1]
        local = None
        if self.local_pos_cm is not None:
            local = (1 - t)[:, None, None] * self.local_pos_cm[i0] + t[
                :, None, None
            ] * self.local_pos_cm[i1]
        return Motion(self.skeleton, self.fps, r, root, local)

    def resample(self, fps: float) -> Motion:
        """The same clip at a new frame rate (same duration, slerp between frames)."""
        if fps <= 0:
            raise ChoreoError(f"motion: cannot resample to {fps} fps — use a positive rate")
        n = max(1, int(round(self.duration_s * fps)))
        out = self.sample(np.arange(n) * (self.fps / fps))
        out.fps = float(fps)
        return out

    def aligned(
        self, position_xz: Sequence[float] = (0.0, 0.0), yaw_rad: float = 0.0, frame: int = 0
    ) -> Motion:
        """Moved on the floor and turned about +Y so that at ``frame`` the root stands at
        ``position_xz`` facing ``yaw_rad``; heights and the motion's shape are unchanged."""
        delta = float(yaw_rad) - float(self.facing_yaw_rad()[frame])
        turn = quat.about_axis("Y", np.array(delta))
        anchor = self.root_pos_cm[frame].astype(np.float64) * np.array([1.0, 0.0, 1.0])
        root = quat.rotate(turn, self.root_pos_cm.astype(np.float64) - anchor)
        root += np.array([position_xz[0], 0.0, position_xz[1]])
        rot = self.rotations.astype(np.float64).copy()
        rot[:, 0] = quat.mul(turn, rot[:, 0])
        return Motion(self.skeleton, self.fps, rot, root, self.local_pos_cm)

    def scaled(self, factor: float) -> Motion:
        """The clip with all lengths multiplied by ``factor`` (unit conversion); angles kept."""
        local = None if self.local_pos_cm is None else self.local_pos_cm * factor
        return Motion(self.skeleton.scaled(factor), self.fps, self.rotations,
                      self.root_pos_cm * factor, local)

    def rotated_world(self, q: np.ndarray) -> Motion:
        """The whole clip rotated by world rotation ``q`` about the origin (e.g. Z-up -> Y-up)."""
        q = np.asarray(q, dtype=np.float64)
        rot = self.rotations.astype(np.float64).copy()
        rot[:, 0] = quat.mul(q, rot[:, 0])
        root = quat.rotate(q, self.root_pos_cm.astype(np.float64))
        return Motion(self.skeleton, self.fps, rot, root, self.local_pos_cm)


def concatenate(
    motions: Sequence[Motion], *, align: bool = True, blend_frames: int = 0
) -> Motion:
    """Join clips end to end on one skeleton and frame rate.

    With ``align`` each clip is moved/turned so its first frame continues the previous clip's
    last root position and heading. ``blend_frames`` > 0 cross-fades that many frames at each
    joint (slerp), shortening the result by that many frames per joint.
    """
    if not motions:
        raise ChoreoError("motion: nothing to concatenate")
    first = motions[0]
    for m in motions[1:]:
        if not m.skeleton.same_hierarchy(first.skeleton):
            raise ChoreoError("motion: cannot concatenate clips on different skeletons")
        if abs(m.fps - first.fps) > 1e-6:
            raise ChoreoError(
                f"motion: cannot concatenate clips at {first.fps} and {m.fps} fps — resample first"
            )
    out = motions[0]
    for m in motions[1:]:
        if align:
            last = out.root_pos_cm[-1]
            m = m.aligned((float(last[0]), float(last[2])), float(out.facing_yaw_rad()[-1]))
        out = _join(out, m, blend_frames)
    return out


def _join(a: Motion, b: Motion, blend_frames: int) -> Motion:
    """Append ``b`` to ``a`` with an optional slerp cross-fade over ``blend_frames``."""
    n = int(min(max(blend_frames, 0), a.n_frames - 1, b.n_frames - 1))
    local_a = a.local_pos_cm
    local_b = b.local_pos_cm
    if (local_a is None) != (local_b is None):
        local_a = a._translations() if local_a is None else local_a
        local_b = b._translations() if local_b is None else local_b
    if n == 0:
        rot = np.concatenate([a.rotations, b.rotations])
        root = np.concatenate([a.root_pos_cm, b.root_pos_cm])
        local = None if local_a is None else np.concatenate([local_a, local_b])
        return Motion(a.skeleton, a.fps, rot, root, local)
    w = (np.arange(1, n + 1) / (n + 1))[:, None]
    ra = a.rotations[-n:].astype(np.float64)
    rb = b.rotations[:n].astype(np.float64)
    mixed_rot = quat.slerp(ra, rb, np.broadcast_to(w, ra.shape[:2]))
    mixed_root = (1 - w) * a.root_pos_cm[-n:] + w * b.root_pos_cm[:n]
    rot = np.concatenate([a.rotations[:-n], mixed_rot, b.rotations[n:]])
    root = np.concatenate([a.root_pos_cm[:-n], mixed_root, b.root_pos_cm[n:]])
    local = None
    if local_a is not None:
        mixed_local = (1 - w[:, :, None]) * local_a[-n:] + w[:, :, None] * local_b[:n]
        local = np.concatenate([local_a[:-n], mixed_local, local_b[n:]])
    return Motion(a.skeleton, a.fps, rot, root, local)


@functools.lru_cache(maxsize=64)
def _depth_levels(parents: tuple[int, ...]) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """(joints, their parents) per depth below the root, for parents listed before children
    (otherwise one joint per level, in index order)."""
    if any(not 0 <= p < j for j, p in enumerate(parents) if j):
        return tuple((np.array([j]), np.array([parents[j]])) for j in range(1, len(parents)))
    depth = [0] * len(parents)
    for j in range(1, len(parents)):
        depth[j] = depth[parents[j]] + 1
    levels = []
    for d in range(1, max(depth, default=0) + 1):
        joints = np.array([j for j in range(len(parents)) if depth[j] == d])
        levels.append((joints, np.array([parents[j] for j in joints])))
    return tuple(levels)
