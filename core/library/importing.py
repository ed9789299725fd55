"""Building dance libraries: phrases from motions, and `choreo library import` from BVH folders.

Folder layout understood by :func:`import_folder`::

    DIR/<style>/<clip>.bvh          style from the sub-folder (or from --style / the sidecar)
    DIR/<style>/<clip>.json         optional sidecar: {"style", "energy", "bpm", "first_beat_s",
                                    "cut", "n_counts", "name", "tags", "unit", "up"}

A clip is one phrase, or with ``cut`` (sidecar or command line) a long take cut into phrases
of ``n_counts`` counts starting at ``first_beat_s`` at ``bpm``. Without a BPM the tempo is
estimated from the clip's kinematic beats. All clips must share one joint hierarchy; clips
with the same joints but other bone lengths are put on the first clip's skeleton (their
root height scaled by the leg-length ratio), which is a simple retarget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.json_files import (
    Where,
    check_str,
    read_json_file,
    require_bool,
    require_float,
    require_int,
    require_list,
    require_object,
    require_str,
    short_repr,
)
from choreo_studio.core.library.library import DancePhrase, Library
from choreo_studio.core.library.transition_prior import build_transition_prior
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.bvh import UNIT_SCALES_TO_CM, read_bvh_file
from choreo_studio.core.motion.kinematic_beats import velocity_minima_beats
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.motion_descriptors import describe, pose_features
from choreo_studio.core.motion.skeleton import Skeleton
from choreo_studio.core.progress import ProgressFn, no_progress

SIDECAR_KEYS = {"style", "energy", "bpm", "first_beat_s", "cut", "n_counts", "name", "tags",
                "unit", "up"}


def make_phrase(
    phrase_id: str, name: str, style: str, energy: int, motion: Motion, count_frames: np.ndarray,
    bpm: float, tags: list[str] | None = None,
) -> DancePhrase:
    """A DancePhrase with its descriptors and start/end pose features computed."""
    counts = np.asarray(count_frames, dtype=np.int64)
    return DancePhrase(
        id=phrase_id, name=name, style=style, energy=int(energy), tags=list(tags or []),
        n_counts=len(counts), bpm=float(bpm), count_frames=counts, motion=motion,
        descriptors=describe(motion, counts),
        start_pose=pose_features(motion, int(counts[0]) if len(counts) else 0),
        end_pose=pose_features(motion, motion.n_frames - 1),
    )


def assemble_library(name: str, phrases: list[DancePhrase]) -> Library:
    """A Library over ``phrases`` with its transition prior M0 and fingerprint."""
    if not phrases:
        raise ChoreoError(f"library {name}: no phrases — nothing to build")
    return Library(name, phrases[0].motion.skeleton, phrases, build_transition_prior(phrases))


@dataclass
class ImportOptions:
    """Command-line defaults; a clip's sidecar JSON overrides them."""

    style: str | None = None
    energy: int | None = None
    bpm: float | None = None
    first_beat_s: float = 0.0
    cut: bool = False
    n_counts: int = 8
    unit: str = "auto"
    up: str = "y"


def _read_sidecar(bvh_path: Path) -> dict:
    """The clip's sidecar JSON (``clip.json`` beside ``clip.bvh``) with typed fields, or {}."""
    path = bvh_path.with_suffix(".json")
    if not path.is_file():
        return {}
    fix = "fix the sidecar (see choreo library import --help)"
    where = Where(str(path), fix)
    data = require_object(read_json_file(path, fix=fix, max_bytes=1024 * 1024), where)
    unknown = set(data) - SIDECAR_KEYS
    if unknown:
        raise ChoreoError(
            f"{path}: unknown sidecar keys {short_repr(sorted(unknown), 80)} — allowed: "
            f"{sorted(SIDECAR_KEYS)}"
        )
    checks = {
        "style": lambda k: require_str(data, k, where, max_len=200),
        "name": lambda k: require_str(data, k, where, max_len=200),
        "unit": lambda k: require_str(data, k, where, max_len=16),
        "up": lambda k: require_str(data, k, where, max_len=16),
        "energy": lambda k: require_int(data, k, where, lo=1, hi=3),
        "bpm": lambda k: require_float(data, k, where, lo=20.0, hi=300.0),
        "first_beat_s": lambda k: require_float(data, k, where, lo=0.0, hi=1e6),
        "cut": lambda k: require_bool(data, k, where),
        "n_counts": lambda k: require_int(data, k, where, lo=1, hi=1024),
        "tags": lambda k: [check_str(t, where.at(k).at(i), max_len=100)
                           for i, t in enumerate(require_list(data, k, where, max_len=100))],
    }
    return {key: checks[key](key) for key in data}


def _auto_unit(height: float) -> str:
    """Length unit of a BVH from its rest height: metres, inches or centimetres."""
    if height < 3.0:
        return "m"
    if height < 100.0:
        return "inch"
    return "cm"


def _read_clip(path: Path, unit: str) -> Motion:
    """Read a BVH once and convert it to centimetres (``auto``: unit from the rest height)."""
    motion = read_bvh_file(path, "cm").motion
    if unit == "auto":
        unit = _auto_unit(motion.skeleton.height_cm())
    if unit not in UNIT_SCALES_TO_CM:
        raise ChoreoError(f"{path}: unknown unit {unit!r} — use auto, cm, m, mm or inch")
    factor = UNIT_SCALES_TO_CM[unit]
    return motion if factor == 1.0 else motion.scaled(factor)


def _to_y_up(motion: Motion, up: str, source: Path) -> Motion:
    """Rotate a Z-up clip to Y-up (the library convention)."""
    if up.lower() == "y":
        return motion
    if up.lower() == "z":
        return motion.rotated_world(quat.about_axis("X", np.array(-np.pi / 2)))
    raise ChoreoError(f"{source}: up axis {up!r} not understood — use 'y' or 'z'")


def _onto_skeleton(motion: Motion, skeleton: Skeleton, source: Path) -> Motion:
    """Put a clip on the library skeleton (same joints required; bone lengths may differ)."""
    sk = motion.skeleton
    if not sk.same_hierarchy(skeleton):
        missing = [n for n in skeleton.joint_names if n not in sk.joint_names][:4]
        extra = [n for n in sk.joint_names if n not in skeleton.joint_names][:4]
        raise ChoreoError(
            f"{source}: its skeleton differs from the library's (missing {missing}, extra "
            f"{extra}) — retarget all clips to one skeleton before importing"
        )
    if np.allclose(sk.offsets_cm[1:], skeleton.offsets_cm[1:], atol=1e-3):
        return Motion(skeleton, motion.fps, motion.rotations, motion.root_pos_cm,
                      motion.local_pos_cm)
    ratio = np.ptp(skeleton.rest_positions_cm()[:, 1]) / max(
        np.ptp(sk.rest_positions_cm()[:, 1]), 1e-6
    )
    return Motion(skeleton, motion.fps, motion.rotations, motion.root_pos_cm * ratio, None)


def estimate_bpm(motion: Motion) -> float:
    """Tempo (BPM in 70..160) from the median interval of velocity-minimum kinematic beats."""
    beats = velocity_minima_beats(motion.fk(), motion.fps)
    if len(beats) < 3:
        return 120.0
    bpm = 60.0 * motion.fps / float(np.median(np.diff(beats)))
    while bpm < 70.0:
        bpm *= 2.0
    while bpm > 160.0:
        bpm /= 2.0
    return bpm


def _count_grid(motion: Motion, bpm: float, first_beat_s: float) -> np.ndarray:
    """Fractional frame of every beat from ``first_beat_s`` to the clip's end."""
    beat_frames = 60.0 / bpm * motion.fps
    first = first_beat_s * motion.fps
    n = int(math.floor((motion.n_frames - first) / beat_frames + 1e-6))
    return first + np.arange(max(n, 0)) * beat_frames


def phrases_from_clip(
    motion: Motion, base_id: str, name: str, style: str, energy: int, bpm: float,
    first_beat_s: float, cut: bool, n_counts: int, tags: list[str],
) -> list[DancePhrase]:
    """One phrase per clip, or consecutive ``n_counts``-count phrases when ``cut``."""
    grid = _count_grid(motion, bpm, first_beat_s)
    frames_per_count = 60.0 / bpm * motion.fps
    if not cut:
        if len(grid) == 0:
            raise ChoreoError(f"{base_id}: the clip is shorter than one count at {bpm:.1f} BPM")
        start = int(round(grid[0]))
        end = min(motion.n_frames, int(round(grid[-1] + frames_per_count)))
        counts = np.round(grid).astype(np.int64) - start
        counts = counts[counts < end - start]
        return [make_phrase(base_id, name, style, energy, motion.trim(start, end), counts, bpm,
                            tags)]
    out = []
    for k in range(len(grid) // n_counts):
        beats = grid[k * n_counts : (k + 1) * n_counts]
        start = int(round(beats[0]))
        end = min(motion.n_frames, int(round(beats[-1] + frames_per_count)))
        counts = np.round(beats).astype(np.int64) - start
        piece = motion.trim(start, end)
        out.append(make_phrase(f"{base_id}#{k + 1:02d}", f"{name} {k + 1}", style, energy, piece,
                               counts, bpm, tags))
    if not out:
        raise ChoreoError(
            f"{base_id}: shorter than one {n_counts}-count phrase at {bpm:.1f} BPM — "
            "check the BPM and first beat"
        )
    return out


def import_folder(
    folder: str | Path, name: str | None = None, options: ImportOptions | None = None,
    progress: ProgressFn = no_progress,
) -> Library:
    """Build a Library from every ``*.bvh`` under ``folder`` (see module docstring)."""
    folder = Path(folder)
    options = options or ImportOptions()
    if not folder.is_dir():
        raise ChoreoError(f"{folder}: not a folder — give the folder holding the BVH files")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() == ".bvh" and p.is_file())
    if not files:
        raise ChoreoError(f"{folder}: no .bvh files found (sub-folders are searched too)")
    skeleton: Skeleton | None = None
    phrases: list[DancePhrase] = []
    unrated: list[int] = []
    for i, path in enumerate(files):
        progress(i / len(files), f"importing {path.name}")
        side = _read_sidecar(path)
        motion = _read_clip(path, side.get("unit", options.unit))
        motion = _to_y_up(motion, side.get("up", options.up), path)
        if skeleton is None:
            skeleton = motion.skeleton
        motion = _onto_skeleton(motion, skeleton, path)
        rel = path.relative_to(folder)
        style = side.get("style") or options.style or (
            rel.parts[0] if len(rel.parts) > 1 else "unknown"
        )
        bpm = side.get("bpm", options.bpm)
        tags = [str(t) for t in side.get("tags", [])]
        if bpm is None:
            bpm = estimate_bpm(motion)
            tags.append("bpm-estimated")
        if not (20.0 <= float(bpm) <= 300.0):
            raise ChoreoError(f"{path}: BPM {bpm} is outside 20..300 — check the sidecar/--bpm")
        energy = side.get("energy", options.energy)
        first = len(phrases)
        phrases += phrases_from_clip(
            motion, str(rel.with_suffix("")).replace("\\", "/"), side.get("name", path.stem),
            str(style), int(energy or 2), float(bpm),
            float(side.get("first_beat_s", options.first_beat_s)),
            bool(side.get("cut", options.cut)), int(side.get("n_counts", options.n_counts)), tags,
        )
        if energy is None:
            unrated += list(range(first, len(phrases)))
    _rate_energy(phrases, unrated)
    progress(1.0, "building transition prior")
    return assemble_library(name or folder.name, phrases)


def _rate_energy(phrases: list[DancePhrase], indices: list[int]) -> None:
    """Energy 1/2/3 by speed tertile for phrases whose sidecar gave none."""
    if not indices:
        return
    speeds = np.array([phrases[i].descriptors["speed_cm_s"] for i in indices])
    cuts = np.quantile(speeds, [1 / 3, 2 / 3]) if len(speeds) >= 3 else [np.inf, np.inf]
    for i, s in zip(indices, speeds, strict=True):
        phrases[i].energy = 1 + int(s > cuts[0]) + int(s > cuts[1])
