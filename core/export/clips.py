"""Per-dance clips: each dance phrase a choreography uses, as its own animation at the library's
own tempo, and how the arrangement plays them (in-point, rate, warp map, blends, mirror).

A game that sequences library phrases at runtime plays these clips instead of the baked
whole-song animation: the timeline's phrases say which clip plays when (see
:mod:`export.timeline`). Clip names are engine-safe (letters, digits, ``_`` and ``-``: Godot
drops ``/`` and brackets from animation names) and derived from the dance id, so the same
library gives the same names every time. Clips start at the origin facing +Z.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
from choreo_studio.core.export.bvh_file import write_performance_bvh
from choreo_studio.core.export.fbx import write_fbx_from_glb
from choreo_studio.core.export.gltf import (
    SKIN_NAME,
    GltfAnimation,
    glb_container,
    gltf_document,
    write_clips_glb,
    write_glb,
)
from choreo_studio.core.export.output_set import Writer
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.motion_descriptors import body_frame_positions

if TYPE_CHECKING:
    from choreo_studio.core.choreography.placements import Choreography
    from choreo_studio.core.library.library import DancePhrase, Library
    from choreo_studio.core.phrases.segmentation import MusicPhrase

LOOP_TOLERANCE_CM = 4.0
"""A clip loops when its last pose is within this mean joint distance of its first."""
CLIPS_GLB = "clips.glb"
"""The one glb holding every clip as a named animation."""
CLIPS_FBX = "clips.fbx"
"""Every clip as an FBX take (the ``fbx`` extra)."""
CLIP_LAYOUTS = ("one", "each", "both")
"""glb layout: one file with N animations, one file per clip, or both."""
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def used_dances(choreography: Choreography) -> list[str]:
    """The dance ids a choreography places, in order of first use."""
    return list(dict.fromkeys(choreography.dance_ids))


def clip_names(dance_ids: Sequence[str]) -> dict[str, str]:
    """An engine-safe, unique clip name per dance id (``urban/take 1`` → ``urban_take_1``)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for dance_id in dance_ids:
        base = _UNSAFE.sub("_", dance_id).strip("_") or "clip"
        name, n = base, 2
        while name.lower() in taken:
            name, n = f"{base}-{n}", n + 1
        taken.add(name.lower())
        names[dance_id] = name
    return names


def clip_motion(dance: DancePhrase) -> Motion:
    """The dance phrase at its own tempo and frame rate, starting at the origin facing +Z."""
    return dance.motion.aligned((0.0, 0.0), 0.0)


def clip_loops(motion: Motion, tolerance_cm: float = LOOP_TOLERANCE_CM) -> bool:
    """Whether the clip's last pose returns to its first (root-aligned), so it can loop."""
    return clips_loop([motion], tolerance_cm)[0]


def clips_loop(motions: Sequence[Motion], tolerance_cm: float = LOOP_TOLERANCE_CM
               ) -> list[bool]:
    """:func:`clip_loops` of each motion, the end poses of all clips on one skeleton in one FK
    (FK is frame by frame, so the values are those of one FK per clip)."""
    out = [False] * len(motions)
    groups: dict[tuple[bytes, bytes, bool], list[int]] = {}
    for i, motion in enumerate(motions):
        if motion.n_frames >= 2:  # FK reads only the parents and rest offsets of a skeleton
            sk = motion.skeleton
            key = (sk.parents.tobytes(), sk.offsets_cm.tobytes(), motion.local_pos_cm is None)
            groups.setdefault(key, []).append(i)
    for (_, _, rest_offsets), members in groups.items():
        clips = [motions[i] for i in members]
        ends = [0, -1]  # both poses of every clip (pose_features' values, frame by frame)
        local = (None if rest_offsets
                 else np.concatenate([m.local_pos_cm[ends] for m in clips]))
        pairs = Motion(clips[0].skeleton, clips[0].fps,
                       np.concatenate([m.rotations[ends] for m in clips]),
                       np.concatenate([m.root_pos_cm[ends] for m in clips]), local)
        poses = body_frame_positions(pairs).reshape(len(clips), 2, -1).astype(np.float32)
        for i, (first, last) in zip(members, poses, strict=True):
            distance = np.linalg.norm((first - last).reshape(-1, 3), axis=1).mean()
            out[i] = bool(distance <= tolerance_cm)
    return out


@dataclass(frozen=True)
class ClipFiles:
    """Which clip files an export writes: glb layout (None: no glb), BVH per clip, its unit,
    and ``clips.fbx`` (every clip as an FBX take, through Blender)."""

    glb: str | None = "one"
    bvh: bool = True
    unit: str = "cm"
    fbx: bool = False

    def __post_init__(self) -> None:
        if self.glb is not None and self.glb not in CLIP_LAYOUTS:
            raise ValueError(f"clip glb layout {self.glb!r} is not one of {CLIP_LAYOUTS}")

    def glb_file(self, name: str) -> str | None:
        """The glb holding clip ``name`` (the per-clip file when both are written)."""
        if self.glb is None:
            return None
        return CLIPS_GLB if self.glb == "one" else f"clip-{name}.glb"

    def bvh_file(self, name: str) -> str | None:
        return f"clip-{name}.bvh" if self.bvh else None


def clip_entries(library: Library, dance_ids: Sequence[str], files: ClipFiles | None
                 ) -> list[dict[str, Any]]:
    """The timeline's ``clips`` list: one entry per used dance, with its files when exported."""
    names = clip_names(dance_ids)
    loops = clips_loop([library.phrase(d).motion for d in dance_ids])
    entries = []
    for dance_id, loop in zip(dance_ids, loops, strict=True):
        dance = library.phrase(dance_id)
        name = names[dance_id]
        motion = dance.motion
        entry: dict[str, Any] = {
            "name": name,
            "dance_id": dance.id,
            "dance_name": dance.name,
            "style": dance.style,
            "energy": int(dance.energy),
            "energy_label": dance.energy_label,
            "tags": [str(t) for t in dance.tags],
            "fps": float(motion.fps),
            "n_frames": int(motion.n_frames),
            "duration_s": float(motion.duration_s),
            "bpm": float(dance.bpm),
            "n_counts": int(dance.n_counts),
            "count_times_s": [round(float(c) / motion.fps, 6) for c in dance.count_frames],
            "loops": loop,
            "files": {},
        }
        if files is not None:
            glb, bvh = files.glb_file(name), files.bvh_file(name)
            fbx = CLIPS_FBX if files.fbx else None
            take = f"{SKIN_NAME}|{name}"  # Blender names each FBX take ARMATURE|ACTION
            entry["files"] = {k: v for k, v in (("glb", glb), ("glb_animation", glb and name),
                                                ("bvh", bvh), ("bvh_unit", bvh and files.unit),
                                                ("fbx", fbx), ("fbx_take", fbx and take))
                              if v}
        entries.append(entry)
    return entries


def clip_writers(library: Library, dance_ids: Sequence[str], files: ClipFiles,
                 song_name: str = "") -> dict[str, Writer]:
    """File name → writer for every clip file ``files`` asks for (for one output set)."""
    names = clip_names(dance_ids)
    writers: dict[str, Writer] = {}
    animations = []
    for dance_id in dance_ids:
        dance = library.phrase(dance_id)
        motion = clip_motion(dance)
        name = names[dance_id]
        extras = {"dance_id": dance.id, "bpm": float(dance.bpm), "n_counts": int(dance.n_counts),
                  "loops": clip_loops(motion)}
        animations.append(GltfAnimation(name, motion, extras))
        if files.glb in ("each", "both"):
            writers[f"clip-{name}.glb"] = partial(write_glb, motion=motion, name=name,
                                                  animation=name, extras=extras)
        if files.bvh:
            writers[f"clip-{name}.bvh"] = partial(write_performance_bvh, motion=motion,
                                                  unit=files.unit)
    extras = {"song": song_name} if song_name else None
    if files.glb in ("one", "both") and animations:
        writers[CLIPS_GLB] = partial(write_clips_glb, skeleton=library.skeleton,
                                     animations=animations, name="Clips", extras=extras)
    if files.fbx and animations:
        doc, binary = gltf_document(library.skeleton, animations, scene_name="Clips",
                                    extras=extras)
        writers[CLIPS_FBX] = partial(write_fbx_from_glb, glb=glb_container(doc, binary),
                                     fps=animations[0].motion.fps)
    return writers


def placement_plays(choreography: Choreography, beats_s: np.ndarray,
                    phrases: Sequence[MusicPhrase], library: Library
                    ) -> list[list[dict[str, Any]]]:
    """Per placement, each play of its clip: song span, clip in/out point, mean play rate,
    mirror and the warp map (song time → clip time knots), all in seconds."""
    from choreo_studio.core.choreography.beat_warp import plan_segments

    plays: list[list[dict[str, Any]]] = [[] for _ in choreography.placements]
    for seg in plan_segments(choreography, beats_s, phrases, library):
        fps = library.phrases[seg.dance_index].motion.fps
        song = np.array([seg.start_s, seg.end_s])
        clip = seg.source_frames(song) / fps
        span = max(seg.end_s - seg.start_s, 1e-9)
        plays[seg.phrase_index].append({
            "start_s": round(float(seg.start_s), 6),
            "end_s": round(float(seg.end_s), 6),
            "clip_in_s": round(float(clip[0]), 6),
            "clip_out_s": round(float(clip[1]), 6),
            "play_rate": round(float((clip[1] - clip[0]) / span), 6),
            "mirror": bool(seg.mirror),
            "warp": [[round(float(t), 6), round(float(f) / fps, 6)]
                     for t, f in zip(seg.knot_times_s, seg.knot_frames, strict=True)],
        })
    return plays


def blend_spans(choreography: Choreography) -> list[tuple[float, float]]:
    """(blend in, blend out) seconds per placement: the crossfades at its two boundaries
    (none before the first phrase or after the last)."""
    blends = [float(p.blend_s) for p in choreography.placements]
    n = len(blends)
    return [(blends[i] if i > 0 else 0.0, blends[i + 1] if i + 1 < n else 0.0)
            for i in range(n)]


def arrangement_files(names: Mapping[str, str]) -> dict[str, str]:
    """The timeline's ``files.arrangement`` block from export kind → file name."""
    out = {k: v for k, v in names.items() if k in ("bvh", "glb", "fbx")}
    if "glb" in out:
        out["glb_animation"] = "arrangement"
    return out
