"""Rendering a choreography into one Motion for the whole song.

Each play of a dance phrase (see :mod:`choreography.beat_warp`) is sampled at the output frame rate
through its beat-warp time map, turned and moved on the floor so it starts where the previous
play ended (root position and facing continuous), and cross-faded into the previous play over
``blend_s`` seconds centred on the boundary (smoothstep-weighted slerp of every joint, linear
root). Inside the blend window the outgoing play continues through its own time map (holding
its last pose when the clip ends) and the incoming one starts early the same way, so the
beat-aligned frames outside the window are untouched. Before the first phrase and after the
last one the dancer holds the nearest pose.

Cuts keep the feet (rigs with legs, :mod:`core.motion.contacts`):

* A foot planted on both sides of a cut is the pivot: the incoming play is placed so that foot
  lands where it already stands (instead of continuing the root), and any turn happens about it.
* Across the blend each ankle follows the blend of the two plays' ankle positions and the
  foot keeps the blend of their world orientations (two-bone IK, :mod:`core.motion.ik`), so a
  pinned foot stays put instead of swinging with the slerped hips and knees.
* The blend is longer for a larger pose jump (``blend_s`` × pose distance / ``POSE_REF_CM``,
  between ``BLEND_MIN_SCALE`` and ``BLEND_MAX_SCALE``) but never longer than a beat.
* No foot point goes below the floor: the root is lifted by a smooth envelope over any dip.
* A foot touching the floor during a blend is locked where it touched until it lifts (at most
  ``LOCK_AFTER_S`` after the blend); then its offset eases back onto the play's own path at
  most ``RELEASE_SPEED_CM_S`` while it is still on the floor.
* With a stage radius, a play that would carry the dancer beyond half of it is turned (up to
  ``MAX_STEER_DEG`` either way) about its pivot so its path stays nearest the centre (where
  the dance starts) and ends near it; the foot lock keeps planted feet in place through the
  turn. Then the whole path is pulled softly back toward the centre with the feet on the
  floor held where they are (:mod:`choreography.stage_pull`): ballroom phrases travel a metre
  or more each, more than any turn at a cut can hold.
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
from choreo_studio.core.choreography.stage_pull import pull_to_centre
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.motion import contacts
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.ik import solve_leg
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.progress import ProgressFn, no_progress

if TYPE_CHECKING:
    from choreo_studio.core.analysis.music_analysis import MusicAnalysis
    from choreo_studio.core.library.library import Library
    from choreo_studio.core.phrases.segmentation import MusicPhrase


POSE_REF_CM = 30.0
BLEND_MIN_SCALE = 0.75
BLEND_MAX_SCALE = 2.5
MAX_STEER_DEG = 180.0
STEER_COST_CM_PER_RAD = 30.0
STEER_END_WEIGHT = 0.5
LOCK_AFTER_S = 0.3
RELEASE_SPEED_CM_S = 8.0
RELEASE_MIN_S = 0.15
RELEASE_MAX_S = 1.5
_STEER_GRID = np.radians(np.arange(-MAX_STEER_DEG, MAX_STEER_DEG + 1.0, 15.0))


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
        (rot,), (root,) = self.sample_many([(seg, frames)], fps)
        return rot, root

    def sample_many(self, requests: Sequence[tuple[WarpSegment, np.ndarray]], fps: float
                    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """:meth:`sample` of every (segment, output frames) request, with one slerp over all
        of them (it is frame by frame: the same values as one call per request)."""
        if not requests:
            return [], []
        a, b, weights, roots = [], [], [], []
        for seg, frames in requests:
            rot, root = self.get(seg.dance_index, seg.mirror)
            x = np.clip(seg.source_frames(frames / fps), 0.0, rot.shape[0] - 1.0)
            i0 = np.floor(x).astype(np.int64)
            i1 = np.minimum(i0 + 1, rot.shape[0] - 1)
            w = (x - i0)[:, None]
            a.append(rot[i0])
            b.append(rot[i1])
            weights.append(np.broadcast_to(w, (len(x), rot.shape[1])))
            roots.append((1.0 - w) * root[i0] + w * root[i1])
        rot = quat.slerp(np.concatenate(a), np.concatenate(b), np.concatenate(weights))
        return _split(rot, [len(f) for _, f in requests]), roots

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


def _split(values: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
    """``values`` cut into consecutive runs of ``sizes`` along the first axis."""
    return np.split(values, np.cumsum(sizes)[:-1])


def _apply(
    placed: _Placed, rot: np.ndarray, root: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Put raw sampled frames on the floor with the segment's transform."""
    rot = rot.copy()
    rot[:, 0] = quat.mul(placed.turn, rot[:, 0])
    return rot, quat.rotate(placed.turn, root - placed.anchor) + placed.target


def _fk(skeleton, rot: np.ndarray, root: np.ndarray,
        local: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """World rotations and positions of raw frames (see :meth:`Motion.global_transforms`)."""
    return Motion(skeleton, 30.0, rot, root, local).global_transforms()


def _fk_many(skeleton, poses: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray | None]]
             ) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`_fk` of several (rot, root, local) runs in one pass (FK is per frame, so the
    values are the same; one call instead of one per run)."""
    local = None if poses[0][2] is None else np.concatenate([p[2] for p in poses])
    g_rot, g_pos = _fk(skeleton, np.concatenate([p[0] for p in poses]),
                       np.concatenate([p[1] for p in poses]), local)
    sizes = [len(p[0]) for p in poses]
    return list(zip(_split(g_rot, sizes), _split(g_pos, sizes), strict=True))


def _foot_points(motion: Motion, transforms: tuple[np.ndarray, np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`contacts.foot_positions` from the motion's global transforms already at hand."""
    idx, owner = contacts.foot_point_indices(motion.skeleton)
    if idx.size == 0:
        return np.zeros((motion.n_frames, 0, 3)), owner
    return motion.fk_with_end_sites(transforms)[0][:, idx], owner


class _Feet:
    """The legs of the library's rig and where a play's feet are at a cut."""

    def __init__(self, sources: _Sources, fps: float) -> None:
        self.sources = sources
        self.skeleton = sources.library.skeleton
        self.legs = contacts.legs(self.skeleton)
        self.fps = fps

    def edges(self, plays: Sequence[tuple[WarpSegment, int, int]]) -> list[_Edge]:
        """Both plays' raw frames around every cut between consecutive ``plays`` (segment,
        first, stop), sampled together."""
        trios = [np.array([f - 1, f, f + 1], dtype=np.float64) for _, f, _ in plays[1:]]
        requests = [(seg, t) for (a, _, _), (b, _, _), t in zip(plays, plays[1:], trios,
                                                                 strict=False) for seg in (a, b)]
        rots, roots = self.sources.sample_many(requests, self.fps)
        local: list[np.ndarray | None] = [None] * len(trios)
        if self.sources.has_local:
            local = [np.concatenate([self.sources.local(seg, t, self.fps)
                                     for seg, t in requests[2 * k:2 * k + 2]])
                     for k in range(len(trios))]
        return [_Edge(rots[2 * k], roots[2 * k], rots[2 * k + 1], roots[2 * k + 1], local[k])
                for k in range(len(trios))]

    def at_cut(self, prev: _Placed, edge: _Edge, turn: np.ndarray
               ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """Ankle positions [L, 3] at the cut and which legs are planted there, for the placed
        play ``prev`` (world space) and for the next play's raw clip turned by ``turn``; both
        in one FK (frame by frame: the values of one FK each)."""
        rot_a, root_a = _apply(prev, edge.rot_a, edge.root_a)
        rot_b = edge.rot_b.copy()
        rot_b[:, 0] = quat.mul(turn, rot_b[:, 0])
        root_b = quat.rotate(turn, edge.root_b)
        motion = Motion(self.skeleton, self.fps, np.concatenate([rot_a, rot_b]),
                        np.concatenate([root_a, root_b]), edge.local)
        transforms = motion.global_transforms()
        points, owner = _foot_points(motion, transforms)
        ankles = transforms[1][:, [leg.ankle for leg in self.legs]]
        return tuple(  # type: ignore[return-value]
            (ankles[k + 1], contacts.planted_legs(points[k:k + 3], owner, len(self.legs),
                                                  self.fps)[1])
            for k in (0, 3))


@dataclass
class _Edge:
    """The raw frames (cut - 1, cut, cut + 1) of the outgoing and the incoming play at a cut,
    and both plays' joint translations there (rigs with position channels)."""

    rot_a: np.ndarray
    root_a: np.ndarray
    rot_b: np.ndarray
    root_b: np.ndarray
    local: np.ndarray | None


def _steer(path: np.ndarray, pivot: np.ndarray, radius_cm: float) -> float:
    """The extra turn (rad) about ``pivot`` that keeps the floor ``path`` [n, 2] (relative to
    the stage centre) closest to the centre, or 0 while it stays inside half the radius."""
    if np.linalg.norm(path, axis=1).max() <= 0.5 * radius_cm:
        return 0.0
    rel = path - pivot
    best, best_cost = 0.0, np.inf
    for angle in _STEER_GRID:
        c, s_ = math.cos(angle), math.sin(angle)
        # rotation about +Y maps (x, z) -> (x cos + z sin, -x sin + z cos)
        moved = np.stack([rel[:, 0] * c + rel[:, 1] * s_, -rel[:, 0] * s_ + rel[:, 1] * c], 1)
        far = np.linalg.norm(moved + pivot, axis=1).max()
        # leaving the stage costs far more than any turn
        end = np.linalg.norm(moved[-1] + pivot)  # where the next play starts from
        cost = (far + STEER_END_WEIGHT * end + STEER_COST_CM_PER_RAD * abs(angle)
                + 1e3 * max(0.0, far - 0.95 * radius_cm))
        if cost < best_cost:
            best, best_cost = float(angle), cost
    return best


def _place(prev: _Placed | None, seg: WarpSegment, first: int, stop: int, rot: np.ndarray,
           root: np.ndarray, heading: np.ndarray, yaw: float, feet: _Feet,
           edge: _Edge | None, stage_radius_cm: float | None, centre: np.ndarray) -> _Placed:
    """The floor transform of a play: continuing the root and facing, pivoting on a foot
    planted on both sides of the cut, steered back toward ``centre`` [2] (where the dance
    starts on the floor) with a stage radius."""
    if prev is None:
        return _Placed(seg, first, stop, quat.identity(), np.zeros(3), np.zeros(3))
    turn_yaw = yaw - float(quat.yaw_of(rot[0, 0]))
    anchor = root[0] * np.array([1.0, 0.0, 1.0])
    target = np.array([heading[0], 0.0, heading[1]])
    if edge is not None:
        turn0 = quat.about_axis("Y", np.array(turn_yaw))
        (ankles_a, planted_a), (ankles_b, planted_b) = feet.at_cut(prev, edge, turn0)
        both = planted_a & planted_b
        if both.any():
            # b's raw ankle (un-turned) is the anchor; it lands on a's ankle
            raw_b = quat.rotate(quat.inverse(turn0), ankles_b[both].mean(axis=0))
            anchor = raw_b * np.array([1.0, 0.0, 1.0])
            target = ankles_a[both].mean(axis=0) * np.array([1.0, 0.0, 1.0])
    if stage_radius_cm is not None:
        trial = _Placed(seg, first, stop, quat.about_axis("Y", np.array(turn_yaw)), anchor,
                        target)
        path = _apply(trial, rot, root)[1][:, [0, 2]] - centre
        turn_yaw += _steer(path, target[[0, 2]] - centre, stage_radius_cm)
    return _Placed(seg, first, stop, quat.about_axis("Y", np.array(turn_yaw)), anchor, target)


def render(
    choreography: Choreography,
    analysis: MusicAnalysis,
    phrases: Sequence[MusicPhrase],
    library: Library,
    *,
    fps: float = 30.0,
    stage_radius_cm: float | None = None,
    progress: ProgressFn = no_progress,
) -> Motion:
    """One Motion at ``fps`` covering the whole song (``analysis.duration_s``); with
    ``stage_radius_cm`` plays are steered back toward where the dance started."""
    if not any(abs(fps - f) < 1e-6 for f in SUPPORTED_FPS):
        raise ChoreoError(
            f"render: {fps} fps is not offered — use one of "
            f"{', '.join(str(int(f)) for f in SUPPORTED_FPS)}"
        )
    if not choreography.placements:
        raise ChoreoError("render: the choreography has no phrases — open a song with phrases")
    if stage_radius_cm is not None and not stage_radius_cm > 0:
        raise ChoreoError(f"render: stage radius {stage_radius_cm} cm must be positive")
    segments = plan_segments(choreography, analysis.beats_s, phrases, library)
    n_out = max(1, int(math.ceil(analysis.duration_s * fps)))
    n_joints = library.skeleton.n_joints
    out_rot = np.zeros((n_out, n_joints, 4))
    out_root = np.zeros((n_out, 3))
    sources = _Sources(library)
    feet = _Feet(sources, fps)
    out_local = np.zeros((n_out, n_joints, 3)) if sources.has_local else None
    starts = [int(round(s.start_s * fps)) for s in segments] + [n_out]
    starts[0] = 0
    stops = [min(max(starts[i + 1], starts[i] + 1), n_out) for i in range(len(segments))]
    plays = [(seg, first, stop) for seg, first, stop in zip(segments, starts, stops, strict=False)
             if first < stop]
    frames = [np.arange(first, stop, dtype=np.float64) for _, first, stop in plays]
    raw_rot, raw_root = sources.sample_many(
        [(seg, f) for (seg, _, _), f in zip(plays, frames, strict=True)], fps)
    edges: list[_Edge | None] = [None] + (feet.edges(plays) if feet.legs
                                          else [None] * (len(plays) - 1))
    placed: list[_Placed] = []
    heading = np.zeros(2)
    yaw = 0.0
    report_every = max(1, len(plays) // 10)
    centre = raw_root[0][0, [0, 2]]  # the stage centre: where the dance starts on the floor
    for i, ((seg, first, stop), rot, root) in enumerate(zip(plays, raw_rot, raw_root,
                                                            strict=True)):
        if i % report_every == 0:
            progress(0.7 * i / len(plays), "rendering")
        p = _place(placed[-1] if placed else None, seg, first, stop, rot, root, heading, yaw,
                   feet, edges[i], stage_radius_cm, centre)
        rot, root = _apply(p, rot, root)
        out_rot[first:stop], out_root[first:stop] = rot, root
        if out_local is not None:
            out_local[first:stop] = sources.local(seg, frames[i], fps)
        # where the next play should start: one frame's step beyond this play's last frame
        step = root[-1] - root[-2] if len(root) > 1 else np.zeros(3)
        heading = (root[-1] + step)[[0, 2]]
        yaw = float(quat.yaw_of(rot[-1, 0]))
        placed.append(p)
    progress(0.7, "blending")
    windows = _blend_all(placed, sources, feet, out_rot, out_root, fps, out_local)
    out_rot = quat.normalize(out_rot)
    if feet.legs:
        ends = [lo for lo, _ in windows[1:]] + [n_out]
        _lock_feet(feet, out_rot, out_root, out_local,
                   [(lo, hi, end) for (lo, hi), end in zip(windows, ends, strict=True)])
    if stage_radius_cm is not None:
        out_rot, out_root = pull_to_centre(library.skeleton, fps, out_rot, out_root, out_local,
                                           centre, stage_radius_cm)
    if feet.legs:
        out_root[:, 1] += _floor_lift(Motion(library.skeleton, fps, out_rot, out_root, out_local),
                                      fps)
    progress(1.0, "rendered")
    return Motion(library.skeleton, fps, out_rot, out_root, out_local)


def _foot_points_only(motion: Motion) -> np.ndarray:
    """:func:`contacts.foot_positions`' points [F, P, 3] from FK over only the joints above
    them (each joint's arithmetic as in :meth:`Motion.global_transforms`, so the same values;
    on a whole song the arms, spine and head are not worth their FK here)."""
    sk = motion.skeleton
    idx, _owner = contacts.foot_point_indices(sk)
    ends = sorted(sk.end_sites_cm.items())
    holders = [int(i) if i < sk.n_joints else ends[i - sk.n_joints][0] for i in idx]
    chain: list[int] = []  # the holders and their ancestors, root first
    for j in holders:
        up = []
        while j not in chain and j not in up:
            up.append(j)
            if j == 0:
                break
            j = int(sk.parents[j])
        chain.extend(reversed([u for u in up if u not in chain]))
    rot = {j: motion.rotations[:, j].astype(np.float64) for j in chain}
    g_rot, g_pos = {0: rot[0]}, {0: motion.root_pos_cm.astype(np.float64)}
    for j in chain[1:]:
        up = int(sk.parents[j])
        local = (sk.offsets_cm[j] if motion.local_pos_cm is None
                 else motion.local_pos_cm[:, j].astype(np.float64))
        g_pos[j] = g_pos[up] + quat.rotate(g_rot[up], local)
        g_rot[j] = quat.mul(g_rot[up], rot[j])
    points = [g_pos[int(i)] if i < sk.n_joints else
              g_pos[h] + quat.rotate(g_rot[h], ends[i - sk.n_joints][1])
              for i, h in zip(idx, holders, strict=True)]
    return np.stack(points, axis=1) if points else np.zeros((motion.n_frames, 0, 3))


def _floor_lift(motion: Motion, fps: float) -> np.ndarray:
    """A smooth root lift [F] (cm) at least as deep as every dip of a foot below the floor."""
    points = _foot_points_only(motion)
    depth = np.maximum(0.0, -points[..., 1].min(axis=1))
    if not depth.any():
        return depth
    half = max(1, int(round(0.1 * fps)))
    width = 2 * half + 1
    padded = np.pad(depth, half, mode="edge")
    peak = np.lib.stride_tricks.sliding_window_view(padded, width).max(axis=1)
    # a box average of a running max of the same width never falls below the original
    return np.convolve(np.pad(peak, half, mode="edge"), np.ones(width) / width, mode="valid")


def _pose_distances_cm(skeleton, poses: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray | None]]
                       ) -> np.ndarray:
    """The farthest any joint is apart (cm, root-relative) between each pair of single poses
    ``poses`` [a0, b0, a1, b1, ...] (one FK for all): a hand that has to cross the body needs
    the time, however still the rest is."""
    pos = np.concatenate([p for _, p in _fk_many(skeleton, poses)])
    rel = pos - pos[:, :1]
    return np.linalg.norm(rel[0::2] - rel[1::2], axis=-1).max(axis=1)


def blend_frames(segment: WarpSegment, pose_distance_cm: float, fps: float) -> int:
    """Frames of the blend into ``segment``: its blend length scaled by the pose jump,
    capped at one beat of its time map."""
    scale = float(np.clip(pose_distance_cm / POSE_REF_CM, BLEND_MIN_SCALE, BLEND_MAX_SCALE))
    seconds = segment.blend_s * scale
    if segment.knot_times_s.size >= 2:
        seconds = min(seconds, float(segment.knot_times_s[1] - segment.knot_times_s[0]))
    return int(round(seconds * fps))


@dataclass
class _Window:
    """The blend of play ``a`` into play ``b`` over output frames [lo, hi)."""

    a: _Placed
    b: _Placed
    lo: int
    hi: int


def _windows(placed: Sequence[_Placed], sources: _Sources, fps: float,
             has_local: bool) -> list[_Window]:
    """The blend window of every cut with a blend, its length from the pose jump there."""
    cuts = [(a, b) for a, b in zip(placed, placed[1:], strict=False)
            if int(round(b.segment.blend_s * fps)) >= 2]
    if not cuts:
        return []
    edges = [(p, np.array([float(b.first)])) for a, b in cuts for p in (a, b)]
    rots, roots = sources.sample_many([(p.segment, e) for p, e in edges], fps)
    poses = [(*_apply(p, r, t), sources.local(p.segment, e, fps) if has_local else None)
             for (p, e), r, t in zip(edges, rots, roots, strict=True)]
    jumps = _pose_distances_cm(sources.library.skeleton, poses)
    out = []
    for (a, b), jump in zip(cuts, jumps, strict=True):
        n = blend_frames(b.segment, float(jump), fps)
        lo, hi = max(b.first - n // 2, a.first), min(b.first + (n - n // 2), b.stop)
        if hi - lo >= 2:
            out.append(_Window(a, b, lo, hi))
    return out


def _blend_all(
    placed: Sequence[_Placed],
    sources: _Sources,
    feet: _Feet,
    out_rot: np.ndarray,
    out_root: np.ndarray,
    fps: float,
    out_local: np.ndarray | None = None,
) -> list[tuple[int, int]]:
    """Cross-fade each play into the next centred on their boundary, the ankles following the
    blend of the two plays' ankle paths; the windows' frames [lo, hi). All cuts go through
    each step together (every step is frame by frame, or per window where it says so)."""
    windows = _windows(placed, sources, fps, out_local is not None)
    if not windows:
        return []
    # a continues past its end and b starts before its start, through their own time maps
    # (a clip that has no more frames there holds its edge pose)
    spans = [np.arange(c.lo, c.hi, dtype=np.float64) for c in windows]
    sizes = [len(f) for f in spans]
    rots, roots = sources.sample_many(
        [(p.segment, f) for c, f in zip(windows, spans, strict=True) for p in (c.a, c.b)], fps)
    placed_ab = [_apply(p, r, t) for p, r, t in zip(
        [p for c in windows for p in (c.a, c.b)], rots, roots, strict=True)]
    rot_a = np.concatenate([r for r, _ in placed_ab[0::2]])
    rot_b = np.concatenate([r for r, _ in placed_ab[1::2]])
    root_a = np.concatenate([t for _, t in placed_ab[0::2]])
    root_b = np.concatenate([t for _, t in placed_ab[1::2]])
    w = np.concatenate([(np.arange(n) + 0.5) / n for n in sizes])
    w = w * w * (3.0 - 2.0 * w)  # smoothstep: no velocity jump at the window's edges
    rot = _slerp_one_arc(rot_a, rot_b, w, sizes)
    root = (1.0 - w)[:, None] * root_a + w[:, None] * root_b
    la = lb = local = None
    if out_local is not None:
        la = np.concatenate([sources.local(c.a.segment, f, fps)
                             for c, f in zip(windows, spans, strict=True)])
        lb = np.concatenate([sources.local(c.b.segment, f, fps)
                             for c, f in zip(windows, spans, strict=True)])
        local = (1.0 - w)[:, None, None] * la + w[:, None, None] * lb
    if feet.legs:
        skel = sources.library.skeleton
        (ga_rot, ga_pos), (gb_rot, gb_pos), (g_rot, g_pos) = _fk_many(
            skel, [(rot_a, root_a, la), (rot_b, root_b, lb), (rot, root, local)])
        for leg in feet.legs:
            target = (1.0 - w)[:, None] * ga_pos[:, leg.ankle] + w[:, None] * gb_pos[:, leg.ankle]
            foot = _slerp_one_arc(ga_rot[:, leg.ankle], gb_rot[:, leg.ankle], w, sizes)
            solve_leg(rot, g_rot, g_pos, skel.parents, leg, target, foot)
    at = np.cumsum([0, *sizes])
    for c, i, j in zip(windows, at[:-1], at[1:], strict=True):  # in order: a later one wins
        out_rot[c.lo:c.hi] = rot[i:j]
        out_root[c.lo:c.hi] = root[i:j]
        if out_local is not None:
            out_local[c.lo:c.hi] = local[i:j]
    return [(c.lo, c.hi) for c in windows]


def _slerp_one_arc(a: np.ndarray, b: np.ndarray, w: np.ndarray,
                   sizes: Sequence[int] | None = None) -> np.ndarray:
    """Slerp frame by frame from ``a`` to ``b`` ``[n, ..., 4]`` at weights ``w`` ``[n]``, each
    joint along one arc for the whole of each window (consecutive runs of ``sizes`` frames):
    b's sign is chosen once per window (the short arc on the window's balance), since a
    per-frame short arc flips to the other way round where two poses are about half a turn
    apart and the joint would jump by up to a half turn (``sizes`` None: one window)."""
    dots = (a * b).sum(axis=-1)
    at = np.cumsum([0, *(sizes if sizes is not None else [len(a)])])
    sign = np.concatenate([
        np.broadcast_to(np.where(dots[i:j].sum(axis=0) < 0.0, -1.0, 1.0), dots[i:j].shape)
        for i, j in zip(at[:-1], at[1:], strict=True)])
    t = np.asarray(w, dtype=np.float64).reshape((-1,) + (1,) * (a.ndim - 2))
    return quat.slerp_along(a, b * sign[..., None], t)


def _smooth(x: np.ndarray) -> np.ndarray:
    """Smoothstep of ``x`` in [0, 1]."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _lock_path(on: np.ndarray, pos: np.ndarray, rot: np.ndarray, window: int, lock_until: int,
               fps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ankle targets, foot rotations and the frames they apply to for one leg: the first
    contact inside the blend ``window`` locks the foot where it is until it lifts (or
    ``lock_until``), then the offset decays at a floor-friendly speed (empty when no contact)."""
    n = len(on)
    touch = np.nonzero(on[:window])[0]
    if touch.size == 0:
        return pos[:0], rot[:0], np.zeros(0, dtype=np.int64)
    first = int(touch[0])
    lock_until = min(lock_until, n - max(2, int(round(RELEASE_MIN_S * fps))))
    held = first
    while held < n and on[held] and held < max(lock_until, first + 1):
        held += 1
    target, foot = pos.copy(), rot.copy()
    target[first:held, 0], target[first:held, 2] = pos[first, 0], pos[first, 2]
    foot[first:held] = rot[first]
    if held >= n:
        return target[first:], foot[first:], np.arange(first, n)
    offset = pos[first, [0, 2]] - pos[held, [0, 2]]
    turn = quat.mul(rot[first], quat.inverse(rot[held]))
    seconds = np.linalg.norm(offset) / RELEASE_SPEED_CM_S if on[held] else RELEASE_MIN_S
    span = int(np.clip(round(seconds * fps), round(RELEASE_MIN_S * fps),
                       round(RELEASE_MAX_S * fps)))
    span = max(1, min(span, n - held))
    k = np.arange(held, held + span)
    s = _smooth((k - held + 1) / (span + 1.0))
    target[k, 0] = pos[k, 0] + offset[0] * (1.0 - s)
    target[k, 2] = pos[k, 2] + offset[1] * (1.0 - s)
    foot[k] = quat.mul(quat.slerp(turn, quat.identity((span,)), s), rot[k])
    stop = held + span
    return target[first:stop], foot[first:stop], np.arange(first, stop)


def _lock_feet(feet: _Feet, out_rot: np.ndarray, out_root: np.ndarray,
               out_local: np.ndarray | None, windows: Sequence[tuple[int, int, int]]) -> None:
    """Feet touching the floor during each blend [lo, hi) stay where they touched until they
    lift (at most ``LOCK_AFTER_S`` past the blend), then ease back onto the play's own path
    before ``end`` (the next blend); ``windows`` are (lo, hi, end). The spans do not overlap,
    so all go through one FK and one IK solve per leg (frame by frame: the same values)."""
    fps = feet.fps
    spans = []
    for lo, hi, end in windows:
        stop = min(end, hi + int(round((LOCK_AFTER_S + RELEASE_MAX_S) * fps)))
        if stop - lo >= 3:
            spans.append((lo, hi, stop))
    if not spans:
        return
    frames = np.concatenate([np.arange(lo, stop) for lo, _, stop in spans])
    local = None if out_local is None else out_local[frames]
    motion = Motion(feet.skeleton, fps, out_rot[frames], out_root[frames], local)
    g_rot, g_pos = motion.global_transforms()
    points, owner = _foot_points(motion, (g_rot, g_pos))
    touching = contacts.contact_mask(points)
    rot = out_rot[frames]
    at = np.cumsum([0] + [stop - lo for lo, _, stop in spans])
    for i, leg in enumerate(feet.legs):
        on = touching[:, owner == i].any(axis=1)
        parts = []
        for (lo, hi, _), first, last in zip(spans, at[:-1], at[1:], strict=True):
            n = hi - lo
            target, foot, where = _lock_path(on[first:last], g_pos[first:last, leg.ankle],
                                             g_rot[first:last, leg.ankle], n,
                                             n + int(round(LOCK_AFTER_S * fps)), fps)
            parts.append((target, foot, where + first))
        where = np.concatenate([p[2] for p in parts])
        if where.size:
            part = rot[where]
            solve_leg(part, g_rot[where], g_pos[where], feet.skeleton.parents, leg,
                      np.concatenate([p[0] for p in parts]),
                      np.concatenate([p[1] for p in parts]))
            rot[where] = part
    out_rot[frames] = quat.normalize(rot)
