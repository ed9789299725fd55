"""BVH (Biovision hierarchy) reading and writing for real-world files.

Reads any rotation channel order, 0-6 channels per joint (position channels on non-root joints
too), ``End Site`` blocks, CRLF/LF/CR line endings, tabs, joint names with spaces (3ds Max
``Bip01 L Thigh``) and namespaces (Mixamo ``mixamorig:Hips``). The MOTION block is parsed with
one numpy call. Position channels *replace* the joint's OFFSET on the axes they carry (the
convention of Blender and most exporters). Malformed files raise one ChoreoError naming the
file and line.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from choreo_studio.core.atomic_io import write_bytes_atomic
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.skeleton import Skeleton

UNIT_SCALES_TO_CM = {"cm": 1.0, "m": 100.0, "mm": 0.1, "inch": 2.54}
_CHANNEL_NAMES = {
    "xposition": "Xposition", "yposition": "Yposition", "zposition": "Zposition",
    "xrotation": "Xrotation", "yrotation": "Yrotation", "zrotation": "Zrotation",
}  # fmt: skip


@dataclass
class BvhFile:
    """A parsed BVH file: the motion plus each joint's channel names (kept for re-export)."""

    motion: Motion
    channels: list[list[str]]
    unit_scale_to_cm: float = 1.0


class _Lines:
    """Hierarchy statements as (line number, text) with braces split onto their own entries."""

    def __init__(self, text_lines: list[str], source: str) -> None:
        self.source = source
        self.items: list[tuple[int, str]] = []
        self.pos = 0
        self.motion_line = -1
        for number, raw in enumerate(text_lines, start=1):
            line = raw.strip()
            if not line:
                continue
            if line.upper().startswith("MOTION"):
                self.motion_line = number
                break
            for part in re.split(r"([{}])", line):
                part = part.strip()
                if part:
                    self.items.append((number, part))

    def error(self, number: int, what: str) -> ChoreoError:
        """A one-line error naming the file and line."""
        return ChoreoError(f"{self.source}, line {number}: {what} — check or re-export the file")

    def next(self, expect: str) -> tuple[int, str]:
        """The next statement; an error saying what was ``expect``-ed at the end of the file."""
        if self.pos >= len(self.items):
            last = self.items[-1][0] if self.items else 1
            raise self.error(last, f"file ends where {expect} was expected")
        item = self.items[self.pos]
        self.pos += 1
        return item


def _parse_hierarchy(lines: _Lines, scale: float) -> tuple[Skeleton, list[list[str]]]:
    """Parse HIERARCHY into a Skeleton and per-joint channel names."""
    number, text = lines.next("HIERARCHY")
    if text.upper() != "HIERARCHY":
        raise lines.error(number, f"expected 'HIERARCHY', found {text!r}")
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[list[str]] = []
    ends: dict[int, list[float]] = {}

    def parse_offset(parent_line: int) -> list[float]:
        number, text = lines.next("OFFSET")
        parts = text.split()
        if parts[0].upper() != "OFFSET" or len(parts) != 4:
            raise lines.error(number, f"expected 'OFFSET x y z', found {text!r}")
        try:
            return [float(v) * scale for v in parts[1:]]
        except ValueError:
            raise lines.error(number, f"OFFSET values are not numbers: {text!r}") from None

    def parse_joint(number: int, keyword: str, name: str, parent: int) -> None:
        if not name:
            raise lines.error(number, f"{keyword} without a name")
        if name in names:
            raise lines.error(number, f"joint name {name!r} appears twice")
        num, text = lines.next("'{'")
        if text != "{":
            raise lines.error(num, f"expected '{{' after {keyword} {name}, found {text!r}")
        index = len(names)
        names.append(name)
        parents.append(parent)
        offsets.append(parse_offset(num))
        num, text = lines.next("CHANNELS")
        parts = text.split()
        if parts[0].upper() != "CHANNELS":
            raise lines.error(num, f"expected 'CHANNELS n ...' for joint {name}, found {text!r}")
        try:
            count = int(parts[1])
        except (IndexError, ValueError):
            raise lines.error(num, f"CHANNELS needs a count: {text!r}") from None
        chans = parts[2:]
        if count != len(chans) or count > 6:
            raise lines.error(num, f"CHANNELS says {count} but lists {len(chans)} names")
        norm = []
        for c in chans:
            if c.lower() not in _CHANNEL_NAMES:
                raise lines.error(num, f"unknown channel {c!r} (use X/Y/Z position/rotation)")
            norm.append(_CHANNEL_NAMES[c.lower()])
        if len(set(norm)) != len(norm):
            raise lines.error(num, f"repeated channel in {text!r}")
        channels.append(norm)
        while True:
            num, text = lines.next("JOINT, End Site or '}'")
            head = text.split(None, 1)
            key = head[0].upper()
            if text == "}":
                return
            if key == "JOINT":
                parse_joint(num, "JOINT", head[1].strip() if len(head) > 1 else "", index)
            elif key == "END":
                n2, t2 = lines.next("'{'")
                if t2 != "{":
                    raise lines.error(n2, f"expected '{{' after End Site, found {t2!r}")
                off = parse_offset(n2)
                ends.setdefault(index, off)
                n3, t3 = lines.next("'}'")
                if t3 != "}":
                    raise lines.error(n3, f"expected '}}' closing End Site, found {t3!r}")
            else:
                raise lines.error(num, f"expected JOINT, End Site or '}}', found {text!r}")

    number, text = lines.next("ROOT")
    head = text.split(None, 1)
    if head[0].upper() != "ROOT":
        raise lines.error(number, f"expected 'ROOT name', found {text!r}")
    parse_joint(number, "ROOT", head[1].strip() if len(head) > 1 else "", -1)
    if lines.pos != len(lines.items):
        number, text = lines.items[lines.pos]
        raise lines.error(number, f"unexpected {text!r} after the root joint (one ROOT only)")
    skeleton = Skeleton(names, parents, offsets, ends)
    return skeleton, channels


def _parse_motion_block(text_lines: list[str], start: int, n_channels: int, source: str):
    """Frames, frame time and the ``[F, C]`` channel matrix from the MOTION block."""

    def err(number: int, what: str) -> ChoreoError:
        return ChoreoError(f"{source}, line {number}: {what} — check or re-export the file")

    idx = start  # index of the MOTION line (0-based) + 1 -> next line
    header: dict[str, str] = {}
    while len(header) < 2:
        if idx >= len(text_lines):
            raise err(len(text_lines), "MOTION block lacks 'Frames:' and 'Frame Time:'")
        line = text_lines[idx].strip()
        idx += 1
        if not line:
            continue
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key not in ("frames", "frame time"):
            raise err(idx, f"expected 'Frames:' or 'Frame Time:', found {line!r}")
        header[key] = value.strip()
        if key == "frames":
            frames_line = idx
            try:
                n_frames = int(value)
            except ValueError:
                raise err(idx, f"'Frames:' needs a whole number, found {value.strip()!r}") from None
            if n_frames < 1:
                raise err(idx, "the file has no frames")
        else:
            try:
                frame_time = float(value)
            except ValueError:
                raise err(idx, f"'Frame Time:' needs a number, found {value.strip()!r}") from None
            if not frame_time > 0:
                raise err(idx, f"'Frame Time:' must be positive, found {value.strip()!r}")
    data_lines = text_lines[idx:]
    body = " ".join(data_lines)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = np.fromstring(body, dtype=np.float64, sep=" ")
    except ValueError:  # a token that is not a number: located line by line below
        values = np.zeros(0)
    expected = n_frames * n_channels
    if values.size < expected or not np.all(np.isfinite(values[:expected])):
        row = 0
        for offset, line in enumerate(data_lines):
            parts = line.split()
            if not parts:
                continue
            if row >= n_frames:
                break
            number = idx + offset + 1
            if len(parts) != n_channels:
                raise err(number, f"frame {row + 1} has {len(parts)} values, expected {n_channels}")
            try:
                ok = all(np.isfinite(float(p)) for p in parts)
            except ValueError:
                ok = False
            if not ok:
                raise err(number, f"frame {row + 1} has a value that is not a finite number")
            row += 1
        raise err(frames_line, f"'Frames: {n_frames}' but only {row} frame lines follow")
    if n_channels == 0:
        return n_frames, frame_time, np.zeros((n_frames, 0))
    return n_frames, frame_time, values[:expected].reshape(n_frames, n_channels)


def _fps_from_frame_time(frame_time: float) -> float:
    """Frame rate, snapped to a whole number when the file rounded its frame time."""
    fps = 1.0 / frame_time
    return float(round(fps)) if abs(fps - round(fps)) < 2e-3 * fps else fps


def parse_bvh(text: str, source: str = "<bvh>", unit: str = "cm") -> BvhFile:
    """Parse BVH text; ``unit`` is the file's length unit (cm, m, mm, inch)."""
    if unit not in UNIT_SCALES_TO_CM:
        raise ChoreoError(f"unknown unit {unit!r}: use one of {', '.join(UNIT_SCALES_TO_CM)}")
    scale = UNIT_SCALES_TO_CM[unit]
    text_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = _Lines(text_lines, source)
    skeleton, channels = _parse_hierarchy(lines, scale)
    if lines.motion_line < 0:
        raise ChoreoError(f"{source}: no MOTION block — the file holds a skeleton but no frames")
    n_channels = sum(len(c) for c in channels)
    n_frames, frame_time, data = _parse_motion_block(
        text_lines, lines.motion_line, n_channels, source
    )
    fps = _fps_from_frame_time(frame_time)
    motion = _motion_from_channels(skeleton, channels, data, fps, scale)
    return BvhFile(motion, channels, scale)


def _motion_from_channels(
    skeleton: Skeleton, channels: list[list[str]], data: np.ndarray, fps: float, scale: float
) -> Motion:
    """Convert the channel matrix to local quaternions and translations (vectorised)."""
    n_frames = data.shape[0]
    n_joints = skeleton.n_joints
    rotations = quat.identity((n_frames, n_joints))
    translations = np.broadcast_to(skeleton.offsets_cm, (n_frames, n_joints, 3)).copy()
    moved = np.zeros(n_joints, dtype=bool)
    by_order: dict[str, tuple[list[int], list[list[int]]]] = {}
    col = 0
    for j, chans in enumerate(channels):
        rot_cols: list[int] = []
        order = ""
        for c in chans:
            axis = "XYZ".index(c[0])
            if c.endswith("position"):
                translations[:, j, axis] = data[:, col] * scale
                moved[j] = True
            else:
                rot_cols.append(col)
                order += c[0]
            col += 1
        if order:
            joints, cols = by_order.setdefault(order, ([], []))
            joints.append(j)
            cols.append(rot_cols)
    for order, (joints, cols) in by_order.items():
        angles = np.deg2rad(data[:, np.array(cols)])  # [F, n, len(order)]
        rotations[:, joints] = quat.from_euler(angles, order)
    root_pos = translations[:, 0].copy()
    local = None
    varying = moved & np.any(np.ptp(translations, axis=0) > 1e-6, axis=1)
    varying[0] = False
    if np.any(varying):
        local = translations
    else:
        fixed = moved.copy()
        fixed[0] = False
        if np.any(fixed):
            offsets = skeleton.offsets_cm.copy()
            offsets[fixed] = translations[0, fixed]
            skeleton = Skeleton(skeleton.joint_names, skeleton.parents, offsets,
                                skeleton.end_sites_cm)
    rotations = quat.make_continuous(rotations, axis=0)
    return Motion(skeleton, fps, rotations, root_pos, local)


def read_bvh_file(path: str | Path, unit: str = "cm") -> BvhFile:
    """Read a BVH file (motion + channel layout); ChoreoError for unreadable/malformed files."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ChoreoError(f"{path}: cannot read ({exc.strerror or exc})") from None
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    return parse_bvh(text, str(path), unit)


def read_bvh(path: str | Path, unit: str = "cm") -> Motion:
    """Read a BVH file's motion (see :func:`read_bvh_file` for the channel layout)."""
    return read_bvh_file(path, unit).motion


def default_channels(motion: Motion, rotation_order: str = "ZXY") -> list[list[str]]:
    """Channel layout for export: root position + rotation, rotations elsewhere (positions on
    every joint when the motion carries per-frame joint translations)."""
    rot = [f"{a}rotation" for a in rotation_order.upper()]
    pos = ["Xposition", "Yposition", "Zposition"]
    per_joint = pos + rot if motion.local_pos_cm is not None else rot
    return [pos + rot] + [list(per_joint) for _ in range(motion.skeleton.n_joints - 1)]


def bvh_text(
    motion: Motion, channels: list[list[str]] | None = None, rotation_order: str = "ZXY",
    decimals: int = 6,
) -> str:
    """BVH text for ``motion`` (units: cm), with ``channels`` per joint or the default layout."""
    sk = motion.skeleton
    if channels is None:
        channels = default_channels(motion, rotation_order)
    if len(channels) != sk.n_joints:
        raise ChoreoError(f"bvh export: {len(channels)} channel lists for {sk.n_joints} joints")
    out = io.StringIO()
    out.write("HIERARCHY\n")
    children: dict[int, list[int]] = {j: [] for j in range(sk.n_joints)}
    for j in range(1, sk.n_joints):
        children[int(sk.parents[j])].append(j)

    def fmt(v: np.ndarray) -> str:
        return " ".join(f"{x:.{decimals}f}" for x in v)

    def write_joint(j: int, depth: int) -> None:
        pad = "\t" * depth
        keyword = "ROOT" if j == 0 else "JOINT"
        out.write(f"{pad}{keyword} {sk.joint_names[j]}\n{pad}{{\n")
        out.write(f"{pad}\tOFFSET {fmt(sk.offsets_cm[j])}\n")
        out.write(f"{pad}\t{' '.join([f'CHANNELS {len(channels[j])}', *channels[j]])}\n")
        for c in children[j]:
            write_joint(c, depth + 1)
        if j in sk.end_sites_cm or not children[j]:
            end = sk.end_sites_cm.get(j, np.zeros(3))
            out.write(f"{pad}\tEnd Site\n{pad}\t{{\n{pad}\t\tOFFSET {fmt(end)}\n{pad}\t}}\n")
        out.write(f"{pad}}}\n")

    write_joint(0, 0)
    data = _channel_matrix(motion, channels)
    out.write(f"MOTION\nFrames: {motion.n_frames}\nFrame Time: {1.0 / motion.fps:.8f}\n")
    if data.shape[1]:
        np.savetxt(out, data, fmt=f"%.{decimals}f", delimiter=" ")
    else:
        out.write("\n" * motion.n_frames)
    return out.getvalue()


def _channel_matrix(motion: Motion, channels: list[list[str]]) -> np.ndarray:
    """The ``[F, C]`` channel values (degrees, cm) for ``channels``."""
    trans = motion._translations()  # noqa: SLF001
    rot = motion.rotations.astype(np.float64)
    columns: list[np.ndarray] = []
    for j, chans in enumerate(channels):
        order = "".join(c[0] for c in chans if c.endswith("rotation"))
        eulers = None
        if order:
            if len(order) != 3:
                raise ChoreoError(f"bvh export: joint {motion.skeleton.joint_names[j]} needs "
                                  "three rotation channels")
            eulers = np.rad2deg(quat.to_euler(rot[:, j], order))
        r = 0
        for c in chans:
            if c.endswith("position"):
                columns.append(trans[:, j, "XYZ".index(c[0])])
            else:
                columns.append(eulers[:, r])
                r += 1
    if not columns:
        return np.zeros((motion.n_frames, 0))
    return np.stack(columns, axis=1)


def write_bvh(
    path: str | Path, motion: Motion, channels: list[list[str]] | None = None,
    rotation_order: str = "ZXY",
) -> Path:
    """Write ``motion`` as a BVH file atomically (centimetres, Y up)."""
    text = bvh_text(motion, channels, rotation_order)
    return write_bytes_atomic(path, text.encode("utf-8"))
