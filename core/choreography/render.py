"""Rendering a choreography into one Motion for the whole song.

Each play of a dance phrase (see :mod:`choreography.beat_warp`) is sampled at the output frame rate
through its beat-warp time map, turned and moved on the floor so it starts where the previous
play ended (root position and facing continuous), and cross-faded into the previous play over
``blend_s`` seconds centred on the boundary (smoothstep-weighted slerp of every joint, linear
root). Inside the blend window the outgoing play continues through its own time map (holding
its last pose when the clip ends) and the incoming one starts early the same way, so the
beat-aligned frames outside the window are untouched. Before the first phrase and after the
last one the dancer holds the nearest pose.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from choreo_studio.core.choreography.beat_warp import WarpSegment, plan_segments
from choreo_studio.core.choreography.frame_rates import SUPPORTED_FPS
from choreo_studio.core.choreography.placements import Choreography
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.progress import ProgressFn, no_progress

if TYPE_CHECKING:
    from choreo_studio.core.analysis.music_analysis import MusicAnalysis
    from choreo_studio.core.library.library import Library
    from choreo_studio.core.phrases.segmentation import MusicPhrase


@dataclass
class _Placed:
    """A segment's rigid floor transform (turn about +Y, then move) and its frame span."""

    segment: WarpSegment
    first: int
    stop: int
    turn: np.ndarray
    anchor: np.ndarray
    target: np.ndarray


class _Sources:
    """Source clips per (dance, mirrored), made continuous once for slerp sampling."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self._cache: dict[tuple[int, bool], tuple[np.ndarray, np.ndarray]] = {}
        self._local: dict[tuple[int, bool], np.ndarray] = {}
        # rigs with position channels on non-root joints keep them (hips travel below a root)
        self.has_local = any(p.motion.local_pos_cm is not None for p in library.phrases)

    def get(self, dance: int, mirror: bool) -> tuple[np.ndarray, np.ndarray]:
        key = (dance, mirror)
        if key not in self._cache:
            motion = self.library.phrases[dance].motion
            if mirror:
                motion = motion.mirror()
            rot = quat.make_continuous(motion.rotations.astype(np.float64), axis=0)
            self._cache[key] = (rot, motion.root_pos_cm.astype(np.float64))
        return self._cache[key]

    def sample(
        self, seg: WarpSegment, frames: np.ndarray, fps: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Raw (source-space) rotations [n, J, 4] and root [n, 3] of ``seg`` at output frames."""
        rot, root = self.get(seg.dance_index, seg.mirror)
        x = np.clip(seg.source_frames(frames / fps), 0.0, rot.shape[0] - 1.0)
        i0 = np.floor(x).astype(np.int64)
        i1 = np.minimum(i0 + 1, rot.shape[0] - 1)
        w = (x - i0)[:, None]
        r = quat.slerp(rot[i0], rot[i1], np.broadcast_to(w, (len(x), rot.shape[1])))
        return r, (1.0 - w) * root[i0] + w * root[i1]

    def local(self, seg: WarpSegment, frames: np.ndarray, fps: float) -> np.ndarray:
        """Per-joint translations [n, J, 3] of ``seg`` at output frames (linear)."""
        key = (seg.dance_index, seg.mirror)
        if key not in self._local:
            motion = self.library.phrases[seg.dance_index].motion
            self._local[key] = (motion.mirror() if seg.mirror else motion)._translations()  # noqa: SLF001
        t = self._local[key]
        x = np.clip(seg.source_frames(frames / fps), 0.0, t.shape[0] - 1.0)
        i0 = np.floor(x).astype(np.int64)
        i1 = np.minimum(i0 + 1, t.shape[0] - 1)
        w = (x - i0)[:, None, None]
        return (1.0 - w) * t[i0] + w * t[i1]


def _apply(
    placed: _Placed, rot: np.ndarray, root: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Put raw sampled frames on the floor with the segment's transform."""
    rot = rot.copy()
    rot[:, 0] = quat.mul(placed.turn, rot[:, 0])
    return rot, quat.rotate(placed.turn, root - placed.anchor) + placed.target


def render(
    choreography: Choreography,
    analysis: MusicAnalysis,
    phrases: Sequence[MusicPhrase],
    library: Library,
    *,
    fps: float = 30.0,
    progress: ProgressFn = no_progress,
) -> Motion:
    """One Motion at ``fps`` covering the whole song (``analysis.duration_s``)."""
    if not any(abs(fps - f) < 1e-6 for f in SUPPORTED_FPS):
        raise ChoreoError(
            f"render: {fps} fps is not offered — use one of "
            f"{', '.join(str(int(f)) for f in SUPPORTED_FPS)}"
        )
    if not choreography.placements:
        raise ChoreoError("render: the choreography has no phrases — open a song with phrases")
    segments = plan_segments(choreography, analysis.beats_s, phrases, library)
    n_out = max(1, int(math.ceil(analysis.duration_s * fps)))
    n_joints = library.skeleton.n_joints
    out_rot = np.zeros((n_out, n_joints, 4))
    out_root = np.zeros((n_out, 3))
    sources = _Sources(library)
    out_local = np.zeros((n_out, n_joints, 3)) if sources.has_local else None
    starts = [int(round(s.start_s * fps)) for s in segments] + [n_out]
    starts[0] = 0
    placed: list[_Placed] = []
    heading = np.zeros(2)
    yaw = 0.0
    report_every = max(1, len(segments) // 10)
    for i, seg in enumerate(segments):
        if i % report_every == 0:
            progress(0.8 * i / len(segments), "rendering")
        first, stop = starts[i], max(starts[i + 1], starts[i] + 1)
        stop = min(stop, n_out)
        if first >= stop:
            continue
        frames = np.arange(first, stop, dtype=np.float64)
        rot, root = sources.sample(seg, frames, fps)
        source_yaw = float(quat.yaw_of(rot[0, 0]))
        turn = quat.about_axis("Y", np.array(yaw - source_yaw if placed else 0.0))
        anchor = root[0] * np.array([1.0, 0.0, 1.0]) if placed else np.zeros(3)
        target = np.array([heading[0], 0.0, heading[1]]) if placed else np.zeros(3)
        p = _Placed(seg, first, stop, turn, anchor, target)
        rot, root = _apply(p, rot, root)
        out_rot[first:stop], out_root[first:stop] = rot, root
        if out_local is not None:
            out_local[first:stop] = sources.local(seg, frames, fps)
        # where the next play should start: one frame's step beyond this play's last frame
        step = root[-1] - root[-2] if len(root) > 1 else np.zeros(3)
        heading = (root[-1] + step)[[0, 2]]
        yaw = float(quat.yaw_of(rot[-1, 0]))
        placed.append(p)
    for a, b in zip(placed, placed[1:], strict=False):
        _blend(a, b, sources, out_rot, out_root, fps, out_local)
    progress(1.0, "rendered")
    return Motion(library.skeleton, fps, quat.normalize(out_rot), out_root, out_local)


def _blend(
    a: _Placed,
    b: _Placed,
    sources: _Sources,
    out_rot: np.ndarray,
    out_root: np.ndarray,
    fps: float,
    out_local: np.ndarray | None = None,
) -> None:
    """Cross-fade ``a`` into ``b`` over b's blend length, centred on their boundary."""
    n = int(round(b.segment.blend_s * fps))
    if n < 2:
        return
    boundary = b.first
    lo = max(boundary - n // 2, a.first)
    hi = min(boundary + (n - n // 2), b.stop)
    if hi - lo < 2:
        return
    frames = np.arange(lo, hi, dtype=np.float64)
    # a continues past its end and b starts before its start, through their own time maps
    # (a clip that has no more frames there holds its edge pose)
    rot_a, root_a = _apply(a, *sources.sample(a.segment, frames, fps))
    rot_b, root_b = _apply(b, *sources.sample(b.segment, frames, fps))
    w = (np.arange(hi - lo) + 0.5) / (hi - lo)
    w = w * w * (3.0 - 2.0 * w)  # smoothstep: no velocity jump at the window's edges
    out_rot[lo:hi] = quat.slerp(rot_a, rot_b, np.broadcast_to(w[:, None], rot_a.shape[:2]))
    out_root[lo:hi] = (1.0 - w)[:, None] * root_a + w[:, None] * root_b
    if out_local is not None:
        la, lb = sources.local(a.segment, frames, fps), sources.local(b.segment, frames, fps)
        out_local[lo:hi] = (1.0 - w)[:, None, None] * la + w[:, None, None] * lb
