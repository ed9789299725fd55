"""Reading one take for a library import: a BVH or glTF/glb of any rig, a Tang dance folder or a
keypoint array, in centimetres with Y up, recognised as a humanoid where it is one.

Unit and up axis come from the dancer (:mod:`motion.dancer`) unless the sidecar or the command
line gives them. A BVH whose rest pose does not stand (bind poses with bones along local axes)
or that has a static world root above the hips is re-rested standing on its own hierarchy
(:func:`motion.retarget.standing_rig`, near-exact).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.library.positions_import import (
    AUDIO_SUFFIXES,
    PositionsTake,
    read_keypoints,
    read_tang_folder,
)
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.dancer import (
    UNIT_CANDIDATES_TO_CM,
    choose_unit,
    dancer_height,
    detect_up,
)
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.retarget import standing_rig
from choreo_studio.core.motion.rig_mapping import map_rig, missing_joints
from choreo_studio.core.motion.skeleton import Skeleton

GLTF_SUFFIXES = (".glb", ".gltf")
"""glTF takes (the first animation of the file), read by :mod:`motion.gltf_read`."""
FBX_SUFFIX = ".fbx"
"""FBX takes, converted to glTF by Blender (the ``fbx`` extra)."""

# beats per bar of dance styles whose music has one meter (a song read otherwise is re-read)
STYLE_METERS = {"waltz": 3, "slow waltz": 3, "viennese waltz": 3, "cha-cha": 4, "rumba": 4,
                "tango": 4, "samba": 4, "foxtrot": 4, "quickstep": 4, "jive": 4, "salsa": 4}


@dataclass
class Take:
    """One take ready to put on the library skeleton."""

    path: Path
    rel_id: str
    name: str
    style: str | None
    motion: Motion
    mapping: dict[str, int] | None  # canonical name -> joint (None: not a humanoid)
    height_cm: float
    fk_error_cm: float | None = None  # positions takes: median FK error of the fitted rig
    song: Path | None = None
    song_start_s: float = 0.0
    song_scale: float = 1.0
    metadata: dict[str, Any] = field(default_factory=dict)
    foreign: dict[str, Any] = field(default_factory=dict)


def _humanoid(skeleton: Skeleton, overrides: dict) -> dict[str, int] | None:
    mapping = map_rig(skeleton, overrides)
    return None if missing_joints(mapping) else mapping


def _height(motion: Motion, mapping: dict[str, int] | None) -> float:
    """The dancer's standing height (the moving body's, in the motion's units)."""
    if mapping is None:
        return dancer_height(motion)
    return dancer_height(motion, mapping["Head"], hips=mapping["Hips"])


def _in_cm(unit: str, motion: Motion, mapping: dict[str, int] | None, source: Path
           ) -> tuple[Motion, float]:
    """The motion in centimetres (``auto``: the unit that makes the dancer most human) and the
    dancer's height in centimetres."""
    height = _height(motion, mapping)
    if unit == "auto":
        unit = choose_unit(height)
    if unit not in UNIT_CANDIDATES_TO_CM:
        raise ChoreoError(f"{source}: unknown unit {unit!r} — use auto, "
                          f"{', '.join(UNIT_CANDIDATES_TO_CM)}")
    factor = UNIT_CANDIDATES_TO_CM[unit]
    return (motion if factor == 1.0 else motion.scaled(factor)), height * factor


def _y_up(motion: Motion, up: str, mapping: dict[str, int] | None, source: Path) -> Motion:
    """The clip turned Y-up (``auto``: the axis the dancer stands along)."""
    up = up.lower()
    if up == "auto":
        up = detect_up(motion, None if mapping is None else mapping.get("Head"),
                       0 if mapping is None else mapping["Hips"])
    if up == "y":
        return motion
    if up == "z":
        return motion.rotated_world(quat.about_axis("X", np.array(-np.pi / 2)))
    raise ChoreoError(f"{source}: up axis {up!r} not understood — use auto, y or z")


def _rest_stands(skeleton: Skeleton, mapping: dict[str, int]) -> bool:
    """Rest pose standing, facing +Z, rooted at the hips (its rotations are usable as is)."""
    rest = skeleton.rest_positions_cm()
    height = max(skeleton.height_cm(), 1e-6)
    head_up = rest[mapping["Head"], 1] - rest[mapping["Hips"], 1] > 0.25 * height
    feet_down = all(rest[mapping[s + "Foot"], 1] < rest[mapping["Hips"], 1] - 0.25 * height
                    for s in ("Left", "Right"))
    lateral = rest[mapping["LeftUpLeg"]] - rest[mapping["RightUpLeg"]]
    facing = lateral[0] > 2.0 * abs(lateral[2])
    return bool(mapping["Hips"] == 0 and head_up and feet_down and facing)


def _song_beside(path: Path, side: dict) -> Path | None:
    """The take's song: the sidecar's ``song`` or an audio file of the same name beside it."""
    if side.get("song"):
        song = path.parent / str(side["song"])
        if not song.is_file():
            raise ChoreoError(f"{path}: its sidecar names the song {song.name}, which is not "
                              "there — put it beside the take or drop 'song'")
        return song
    for suffix in AUDIO_SUFFIXES:
        for cand in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
            if cand.is_file():
                return cand
    return None


def _read_fbx(path: Path) -> Motion:
    """An FBX take through Blender (the fbx extra): converted to a glb in a temporary folder."""
    import tempfile

    from choreo_studio.core.blender import convert
    from choreo_studio.core.motion.gltf_read import read_gltf

    with tempfile.TemporaryDirectory(prefix="choreo-fbx-") as tmp:
        try:
            glb = convert(path, Path(tmp) / "take.glb")
        except ChoreoError as exc:
            raise ChoreoError(f"{path}: {exc}") from None
        return read_gltf(glb)


def _read_bvh_take(path: Path, side: dict, unit: str, up: str, overrides: dict
                   ) -> tuple[Motion, dict[str, int] | None, float]:
    """A BVH, glTF or FBX take in cm, Y up, re-rested standing when needed; its mapping and
    height."""
    if path.suffix.lower() in GLTF_SUFFIXES:
        from choreo_studio.core.motion.gltf_read import read_gltf

        motion = read_gltf(path)  # glTF is metres, Y up by definition: read as cm
    elif path.suffix.lower() == FBX_SUFFIX:
        motion = _read_fbx(path)
    else:
        from choreo_studio.core.motion.bvh import read_bvh_file

        motion = read_bvh_file(path, "cm").motion
    mapping = _humanoid(motion.skeleton, overrides)
    motion = _y_up(motion, side.get("up", up), mapping, path)
    motion, height = _in_cm(side.get("unit", unit), motion, mapping, path)
    if mapping is not None and not _rest_stands(motion.skeleton, mapping):
        motion, mapping, _ = standing_rig(motion, mapping, str(path))
    return motion, mapping, height


def _positions_take(take: PositionsTake, side: dict, unit: str, path: Path
                    ) -> tuple[Motion, dict[str, int] | None, float]:
    """A fitted positions take in cm; its mapping and height."""
    motion = take.motion
    mapping = _humanoid(motion.skeleton, {})
    motion, height = _in_cm(side.get("unit", unit), motion, mapping, path)
    return motion, mapping, height


def read_take(path: Path, folder: Path, side: dict, foreign: dict, unit: str, up: str,
              overrides: dict, rest_like: Skeleton | None = None) -> Take:
    """Read the take at ``path`` (a BVH, a keypoint array or a Tang folder) under ``folder``;
    positions takes share ``rest_like``'s rest directions when it has their layout."""
    rel = path.relative_to(folder) if path != folder else Path(path.name)
    rel_id = str(rel.with_suffix("") if path.is_file() else rel).replace("\\", "/")
    style = rel.parts[0] if len(rel.parts) > 1 else None
    kwargs: dict[str, Any] = {}
    if path.is_dir():
        pt = read_tang_folder(path, rest_like)
        motion, mapping, height = _positions_take(pt, side, unit, path)
        kwargs = {"fk_error_cm": pt.report.median_error_cm, "song": pt.song,
                  "song_start_s": pt.song_start_s, "song_scale": pt.song_scale,
                  "metadata": pt.metadata}
        style = pt.style or style
    elif path.suffix.lower() in (".npy", ".npz"):
        pt = read_keypoints(path, side.get("up", up), rest_like)
        motion, mapping, height = _positions_take(pt, side, unit, path)
        kwargs = {"fk_error_cm": pt.report.median_error_cm, "metadata": pt.metadata,
                  "song": pt.song or _song_beside(path, side)}
        style = pt.style or style
    else:
        motion, mapping, height = _read_bvh_take(path, side, unit, up, overrides)
        kwargs = {"song": _song_beside(path, side)}
    return Take(path, rel_id, path.stem if path.is_file() else path.name, style, motion,
                mapping, height, foreign=foreign, **kwargs)
