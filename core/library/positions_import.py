"""Reading joint-position takes: Tang et al.'s dance folders and N×J×3 keypoint arrays.

* A **Tang folder** (Tang, Jia & Mao, ACM MM 2018) holds ``skeletons.json`` (``length``,
  ``center`` [F, 3], ``skeletons`` [F, 23, 3], about centimetres, Y up, points relative to the
  centre), ``config.json`` (``start_position``, ``end_position``: the song frames at 25 fps the
  dance covers) and the song (``audio.*``, any format). The 23 points were identified from the
  coordinates (bone-length rigidity and body-frame placement: pelvis, hips, knees, ankles,
  toes, heels, shoulders, elbows, mid-forearms, wrists, hand markers, two head points); a
  folder whose bone lengths do not fit that layout is refused rather than guessed.
* A **keypoint file** ``.npy``/``.npz`` holds ``[F, J, 3]`` positions with a name list: an
  ``.npz`` with arrays ``keypoints`` (or ``positions``) and ``joint_names``, or a ``.npy``
  with a ``CLIP.json`` sidecar giving ``joint_names`` and ``fps``. Names of the COCO-17
  (AIST++ ``keypoints3d``) and canonical humanoid layouts are understood.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.positions_rig import FitReport, PointRig, build_motion
from choreo_studio.core.motion.rig_mapping import (
    CANONICAL,
    CANONICAL_PARENT,
    REQUIRED,
    classify_key,
    side_and_key,
)
from choreo_studio.core.motion.skeleton import Skeleton

TANG_FPS = 25.0
AUDIO_SUFFIXES = (".ogg", ".mp3", ".wav", ".flac", ".m4a", ".aac", ".opus")
TANG_STYLES = {"C": "cha-cha", "R": "rumba", "T": "tango", "W": "waltz"}

# name, parent, source points (Tang's index order)
_TANG_LAYOUT = (
    ("Hips", None, (2,)),
    ("LeftUpLeg", "Hips", (7,)), ("LeftLeg", "LeftUpLeg", (8,)),
    ("LeftFoot", "LeftLeg", (9,)), ("LeftToeBase", "LeftFoot", (10,)),
    ("LeftHeel", "LeftFoot", (11,)),
    ("RightUpLeg", "Hips", (16,)), ("RightLeg", "RightUpLeg", (17,)),
    ("RightFoot", "RightLeg", (18,)), ("RightToeBase", "RightFoot", (19,)),
    ("RightHeel", "RightFoot", (20,)),
    ("Neck", "Hips", (3, 12)), ("Head", "Neck", (0, 1)),
    ("HeadLeft", "Head", (0,)), ("HeadRight", "Head", (1,)),
    ("LeftArm", "Neck", (3,)), ("LeftForeArm", "LeftArm", (4,)),
    ("LeftForeArmMid", "LeftForeArm", (5,)), ("LeftHand", "LeftForeArmMid", (6,)),
    ("LeftHandTip", "LeftHand", (22,)),
    ("RightArm", "Neck", (12,)), ("RightForeArm", "RightArm", (13,)),
    ("RightForeArmMid", "RightForeArm", (21,)), ("RightHand", "RightForeArmMid", (15,)),
    ("RightHandTip", "RightHand", (14,)),
)  # fmt: skip
# bones that are rigid in Tang's layout (median length range in cm): the layout check
_TANG_RIGID = {(7, 16): (14, 30), (3, 12): (20, 40), (9, 10): (4, 22), (18, 19): (4, 22),
               (2, 7): (8, 28), (2, 16): (8, 28), (4, 6): (18, 32), (13, 15): (18, 32)}
_FEET = ("LeftToeBase", "LeftHeel", "RightToeBase", "RightHeel", "LeftFoot", "RightFoot")

# COCO-17 (AIST++ keypoints3d): pelvis and neck are means of the hips and shoulders
_COCO = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
         "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
         "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
_COCO_LAYOUT = (
    ("Hips", None, ("left_hip", "right_hip")),
    ("LeftUpLeg", "Hips", ("left_hip",)), ("LeftLeg", "LeftUpLeg", ("left_knee",)),
    ("LeftFoot", "LeftLeg", ("left_ankle",)),
    ("RightUpLeg", "Hips", ("right_hip",)), ("RightLeg", "RightUpLeg", ("right_knee",)),
    ("RightFoot", "RightLeg", ("right_ankle",)),
    ("Neck", "Hips", ("left_shoulder", "right_shoulder")),
    ("Head", "Neck", ("left_ear", "right_ear")), ("Nose", "Head", ("nose",)),
    ("LeftEye", "Head", ("left_eye",)), ("RightEye", "Head", ("right_eye",)),
    ("LeftEar", "Head", ("left_ear",)), ("RightEar", "Head", ("right_ear",)),
    ("LeftArm", "Neck", ("left_shoulder",)), ("LeftForeArm", "LeftArm", ("left_elbow",)),
    ("LeftHand", "LeftForeArm", ("left_wrist",)),
    ("RightArm", "Neck", ("right_shoulder",)), ("RightForeArm", "RightArm", ("right_elbow",)),
    ("RightHand", "RightForeArm", ("right_wrist",)),
)  # fmt: skip


def _rig(layout: tuple, index_of) -> PointRig:  # noqa: ANN001 - name -> point index callable
    """A PointRig from (name, parent name, sources) rows."""
    names = tuple(r[0] for r in layout)
    parents = tuple(-1 if r[1] is None else names.index(r[1]) for r in layout)
    sources = tuple(tuple(index_of(s) for s in r[2]) for r in layout)
    return PointRig(names, parents, sources)


TANG_RIG = _rig(_TANG_LAYOUT, int)


@dataclass
class PositionsTake:
    """A positions take fitted to a rig: the motion, its fit report, song and metadata."""

    motion: Motion
    report: FitReport
    song: Path | None = None
    style: str | None = None
    song_start_s: float = 0.0  # song time of motion frame 0 by the source's own clock
    song_scale: float = 1.0  # song seconds per motion second by the source's own clock
    metadata: dict = field(default_factory=dict)


def is_tang_folder(folder: Path) -> bool:
    """True for a folder holding ``skeletons.json`` and ``config.json``."""
    return (folder / "skeletons.json").is_file() and (folder / "config.json").is_file()


def find_song(folder: Path) -> Path | None:
    """The song beside a take: ``audio.*`` first, else the only audio file in the folder."""
    audio = sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
    named = [p for p in audio if p.stem.lower() == "audio"]
    if named:
        return named[0]
    return audio[0] if len(audio) == 1 else None


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ChoreoError(f"{path}: unreadable JSON ({exc}) — re-export the file") from None
    if not isinstance(data, dict):
        raise ChoreoError(f"{path}: expected a JSON object")
    return data


def _check_tang_layout(points: np.ndarray, source: Path) -> None:
    """Refuse a point set whose rigid bones are not where Tang's layout has them."""
    sample = points[:: max(1, len(points) // 200)]
    for (a, b), (lo, hi) in _TANG_RIGID.items():
        length = float(np.median(np.linalg.norm(sample[:, a] - sample[:, b], axis=-1)))
        if not lo <= length <= hi:
            raise ChoreoError(
                f"{source}: points {a}-{b} are {length:.0f} apart, not {lo}-{hi} as in Tang's "
                "23-point layout — not a Tang take, or another point order"
            )


def read_tang_folder(folder: str | Path, rest_like: Skeleton | None = None) -> PositionsTake:
    """Read and fit one Tang dance folder (see the module docstring); ``rest_like``: an
    earlier take's skeleton whose rest directions to share."""
    folder = Path(folder)
    data = _read_json(folder / "skeletons.json")
    config = _read_json(folder / "config.json")
    try:
        rel = np.asarray(data["skeletons"], dtype=np.float64)
        center = np.asarray(data["center"], dtype=np.float64)
        start, end = int(config["start_position"]), int(config["end_position"])
    except KeyError as exc:
        raise ChoreoError(f"{folder}: skeletons.json/config.json lack {exc} — not a Tang "
                          "take") from None
    except (TypeError, ValueError):
        raise ChoreoError(f"{folder}: skeletons.json/config.json hold other than numbers or "
                          "frames of unequal point counts — re-export the take with all 23 "
                          "points in every frame") from None
    if rel.ndim != 3 or rel.shape[1:] != (23, 3) or center.shape != (len(rel), 3):
        raise ChoreoError(f"{folder / 'skeletons.json'}: expected [frames, 23, 3] points and "
                          f"[frames, 3] centres, found {rel.shape} and {center.shape} — points "
                          "are missing: re-export the take with all 23 points in every frame")
    points = rel + center[:, None, :]
    source = folder / "skeletons.json"
    if np.isfinite(points).all():
        _check_tang_layout(points, source)
    motion, report = build_motion(TANG_RIG, points, TANG_FPS, str(source), _FEET,
                                  rest_like=rest_like)
    span = max(end - start, 1)
    letter = folder.name.split("_")[1][:1] if folder.name.count("_") >= 2 else ""
    return PositionsTake(
        motion, report, find_song(folder), TANG_STYLES.get(letter),
        song_start_s=start / TANG_FPS, song_scale=span / len(points),
        metadata={"format": "tang2018", "span_frames": span},
    )


def _keypoint_layout(names: list[str], source: Path) -> PointRig:
    """The rig for a keypoint name list: COCO-17, or names the rig recogniser knows."""
    lookup = {n.lower(): i for i, n in enumerate(names)}
    if all(n in lookup for n in _COCO):
        return _rig(_COCO_LAYOUT, lambda n: lookup[n])
    slots: dict[str, tuple[int, ...]] = {}
    for i, n in enumerate(names):
        side, key = side_and_key(n)
        part = classify_key(key, side is not None)
        if part is not None:
            slots.setdefault((side or "") + part, (i,))
    if "Hips" not in slots and "LeftUpLeg" in slots and "RightUpLeg" in slots:
        slots["Hips"] = slots["LeftUpLeg"] + slots["RightUpLeg"]
    missing = [n for n in REQUIRED if n not in slots]
    if missing:
        raise ChoreoError(f"{source}: keypoints lack {', '.join(missing)} — name them like "
                          "COCO-17 (left_hip …) or the humanoid (LeftUpLeg …)")
    present = [n for n in CANONICAL if n in slots]
    rows = []
    for n in present:
        parent = CANONICAL_PARENT.get(n)
        while parent is not None and parent not in slots:
            parent = CANONICAL_PARENT.get(parent)
        rows.append((n, parent, slots[n]))
    return _rig(tuple(rows), int)


def _points_y_up(points: np.ndarray, up: str, source: Path) -> np.ndarray:
    """Points turned Y-up (``auto``: Z-up when the body extends clearly more along Z)."""
    up = up.lower()
    if up == "auto":
        ext = np.nanmedian(np.ptp(points, axis=1), axis=0)
        up = "z" if ext[2] > 1.5 * ext[1] else "y"
    if up == "y":
        return points
    if up == "z":
        return np.stack([points[..., 0], points[..., 2], -points[..., 1]], axis=-1)
    raise ChoreoError(f"{source}: up axis {up!r} not understood — use auto, y or z")


def _frame_rate(value: object, source: Path) -> float:
    """A keypoint file's frames per second (1-1000), or a one-line error naming the file."""
    try:
        fps = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        fps = float("nan")
    if not 1.0 <= fps <= 1000.0:
        raise ChoreoError(f"{source}: frame rate {value!r} is not 1-1000 frames per second — "
                          "give the capture's fps in the .npz or its .json sidecar")
    return fps


def read_keypoints(path: str | Path, up: str = "auto", rest_like: Skeleton | None = None
                   ) -> PositionsTake:
    """Read and fit an N×J×3 keypoint file (``.npz``, or ``.npy`` + ``.json`` sidecar);
    ``rest_like`` as for :func:`read_tang_folder`."""
    path = Path(path)
    side_path = path.with_suffix(".json")
    side = _read_json(side_path) if side_path.is_file() else {}
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            points, names = loaded, side.get("joint_names")
        else:
            with loaded:
                key = "keypoints" if "keypoints" in loaded.files else "positions"
                points = loaded[key]
                names = ([str(n) for n in loaded["joint_names"]]
                         if "joint_names" in loaded.files else side.get("joint_names"))
                if "fps" in loaded.files:
                    side.setdefault("fps", float(loaded["fps"]))
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise ChoreoError(f"{path}: not a keypoint array ({exc}) — save [frames, joints, 3] "
                          "as 'keypoints' with 'joint_names'") from None
    if not names:
        raise ChoreoError(f"{path}: no joint names — add 'joint_names' to the .npz or to "
                          f"{side_path.name}")
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 3 or points.shape[1:] != (len(names), 3):
        raise ChoreoError(f"{path}: {points.shape} points for {len(names)} joint names — "
                          "expected [frames, joints, 3]")
    rig = _keypoint_layout([str(n) for n in names], path)
    points = _points_y_up(points, str(side.get("up", up)), path)
    fps = _frame_rate(side.get("fps", 60.0), path)
    feet = tuple(n for n in ("LeftFoot", "RightFoot", "LeftToeBase", "RightToeBase")
                 if n in rig.names)
    motion, report = build_motion(rig, points, fps, str(path), feet, rest_like=rest_like)
    song = side.get("song")
    return PositionsTake(motion, report, path.parent / str(song) if song else None,
                         side.get("style"), metadata={"format": "keypoints"})
