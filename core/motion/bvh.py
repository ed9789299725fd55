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
from choreo_studio.core.atomic_io import read_at_most, write_bytes_atomic
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.skeleton import Skeleton

UNIT_SCALES_TO_CM = {"cm": 1.0, "m": 100.0, "mm": 0.1, "inch": 2.54}
MAX_JOINTS = 1000
MAX_FRAMES = 500_000
MAX_VALUES = 40_000_000  # frames x channels: 320 MB of float64
MAX_ABS_CM = 1e6  # offsets and positions; rotations in degrees share the bound
MIN_FRAME_TIME_S = 1e-4
MAX_FRAME_TIME_S = 10.0
MAX_BVH_BYTES = 1024 * 1024 * 1024
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


class _Hierarchy:
    """The HIERARCHY block read joint by joint with an explicit stack (no recursion, so a
    20,000-joint chain is refused cleanly instead of overflowing Python's stack)."""

    def __init__(self, lines: _Lines, scale: float) -> None:
        self.lines = lines
        self.scale = scale
        self.names: list[str] = []
        self.parents: list[int] = []
        self.offsets: list[list[float]] = []
        self.channels: list[list[str]] = []
        self.ends: dict[int, list[float]] = {}
        self.index: dict[str, int] = {}

    def offset(self) -> list[float]:
        """An ``OFFSET x y z`` statement, in cm, each value finite and below MAX_ABS_CM."""
        number, text = self.lines.next("OFFSET")
        parts = text.split()
        if parts[0].upper() != "OFFSET" or len(parts) != 4:
            raise self.lines.error(number, f"expected 'OFFSET x y z', found {text[:60]!r}")
        try:
            values = [float(v) * self.scale for v in parts[1:]]
        except ValueError:
            raise self.lines.error(number, f"OFFSET values are not numbers: {text[:60]!r}"
                                   ) from None
        if not all(abs(v) < MAX_ABS_CM for v in values):  # also false for NaN
            raise self.lines.error(number, f"OFFSET values must be finite and below "
                                   f"{MAX_ABS_CM:g} cm: {text[:60]!r}")
        return values

    def channel_list(self, name: str) -> list[str]:
        """A ``CHANNELS n name...`` statement as normalised channel names."""
        num, text = self.lines.next("CHANNELS")
        parts = text.split()
        if parts[0].upper() != "CHANNELS":
            raise self.lines.error(num, f"expected 'CHANNELS n ...' for joint {name[:60]}, found "
                                   f"{text[:60]!r}")
        try:
            count = int(parts[1])
        except (IndexError, ValueError):
            raise self.lines.error(num, f"CHANNELS needs a count: {text[:60]!r}") from None
        chans = parts[2:]
        if count != len(chans) or count > 6:
            raise self.lines.error(num, f"CHANNELS says {count} but lists {len(chans)} names")
        norm = []
        for c in chans:
            if c.lower() not in _CHANNEL_NAMES:
                raise self.lines.error(num, f"unknown channel {c[:30]!r} (use X/Y/Z "
                                       "position/rotation)")
            norm.append(_CHANNEL_NAMES[c.lower()])
        if len(set(norm)) != len(norm):
            raise self.lines.error(num, f"repeated channel in {text[:60]!r}")
        return norm

    def open_joint(self, number: int, keyword: str, name: str, parent: int) -> int:
        """A joint's name, '{', OFFSET and CHANNELS; returns its index."""
        if not name:
            raise self.lines.error(number, f"{keyword} without a name")
        if len(self.names) >= MAX_JOINTS:
            raise self.lines.error(number, f"more than {MAX_JOINTS} joints")
        if name in self.index:
            raise self.lines.error(number, f"joint name {name[:60]!r} appears twice")
        num, text = self.lines.next("'{'")
        if text != "{":
            raise self.lines.error(num, f"expected '{{' after {keyword} {name[:60]}, found "
                                   f"{text[:60]!r}")
        index = len(self.names)
        self.index[name] = index
        self.names.append(name)
        self.parents.append(parent)
        self.offsets.append(self.offset())
        self.channels.append(self.channel_list(name))
        return index

    def end_site(self, joint: int) -> None:
        """An ``End Site { OFFSET }`` block of ``joint``."""
        n2, t2 = self.lines.next("'{'")
        if t2 != "{":
            raise self.lines.error(n2, f"expected '{{' after End Site, found {t2[:60]!r}")
        self.ends.setdefault(joint, self.offset())
        n3, t3 = self.lines.next("'}'")
        if t3 != "}":
            raise self.lines.error(n3, f"expected '}}' closing End Site, found {t3[:60]!r}")

    def parse(self) -> tuple[Skeleton, list[list[str]]]:
        """HIERARCHY, one ROOT and its joints, as a Skeleton and per-joint channel names."""
        lines = self.lines
        number, text = lines.next("HIERARCHY")
        if text.upper() != "HIERARCHY":
            raise lines.error(number, f"expected 'HIERARCHY', found {text[:60]!r}")
        number, text = lines.next("ROOT")
        head = text.split(None, 1)
        if head[0].upper() != "ROOT":
            raise lines.error(number, f"expected 'ROOT name', found {text[:60]!r}")
        open_joints = [self.open_joint(number, "ROOT", head[1].strip() if len(head) > 1 else "",
                                       -1)]
        while open_joints:
            num, text = lines.next("JOINT, End Site or '}'")
            head = text.split(None, 1)
            key = head[0].upper()
            if text == "}":
                open_joints.pop()
            elif key == "JOINT":
                name = head[1].strip() if len(head) > 1 else ""
                open_joints.append(self.open_joint(num, "JOINT", name, open_joints[-1]))
            elif key == "END":
                self.end_site(open_joints[-1])
            else:
                raise lines.error(num, f"expected JOINT, End Site or '}}', found {text[:60]!r}")
        if lines.pos != len(lines.items):
            number, text = lines.items[lines.pos]
            raise lines.error(number, f"unexpected {text[:60]!r} after the root joint (one "
                              "ROOT only)")
        skeleton = Skeleton(self.names, self.parents, self.offsets, self.ends)
        return skeleton, self.channels


def _tokens_per_line(data: bytes) -> np.ndarray:
    """How many whitespace-separated values each line of ``data`` holds (vectorised)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    if buf.size == 0:
        return np.zeros(1, dtype=np.int64)
    space = (buf == 32) | (buf == 9) | (buf == 10) | (buf == 11) | (buf == 12) | (buf == 13)
    starts = ~space & np.concatenate(([True], space[:-1]))
    line_of = np.cumsum(buf == 10) - (buf == 10)
    return np.bincount(line_of[starts], minlength=int(line_of[-1]) + 1)


def _motion_header(text_lines: list[str], idx: int, err) -> tuple[int, int, float]:
    """``Frames:`` and ``Frame Time:`` (in either order) from line ``idx``; returns the index
    of the first frame line, the frame count and the frame time, each within the limits."""
    header: dict[str, tuple[int, str]] = {}
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
            raise err(idx, f"expected 'Frames:' or 'Frame Time:', found {line[:60]!r}")
        header[key] = (idx, value.strip())
    number, value = header["frames"]
    try:
        n_frames = int(value)
    except ValueError:
        raise err(number, f"'Frames:' needs a whole number, found {value[:30]!r}") from None
    if n_frames < 1:
        raise err(number, "the file has no frames")
    if n_frames > MAX_FRAMES:
        raise err(number, f"{n_frames} frames is more than {MAX_FRAMES} (cut the take into "
                  "shorter files)")
    number, value = header["frame time"]
    try:
        frame_time = float(value)
    except ValueError:
        raise err(number, f"'Frame Time:' needs a number, found {value[:30]!r}") from None
    if not MIN_FRAME_TIME_S <= frame_time <= MAX_FRAME_TIME_S:
        raise err(number, f"'Frame Time: {value[:30]}' must be positive, between "
                  f"{MIN_FRAME_TIME_S:g} and {MAX_FRAME_TIME_S:g} seconds")
    return idx, n_frames, frame_time


def _parse_motion_block(text_lines: list[str], start: int, channels: list[list[str]],
                        scale: float, source: str):
    """Frames, frame time and the ``[F, C]`` channel matrix from the MOTION block.

    Every frame line must hold exactly one value per channel (a line with extra values would
    otherwise shift every later frame), each finite and below MAX_ABS_CM (cm or degrees).
    """

    def err(number: int, what: str) -> ChoreoError:
        return ChoreoError(f"{source}, line {number}: {what} — check or re-export the file")

    n_channels = sum(len(c) for c in channels)
    idx, n_frames, frame_time = _motion_header(text_lines, start, err)
    if n_frames * n_channels > MAX_VALUES:
        raise err(idx, f"{n_frames} frames x {n_channels} channels is more than {MAX_VALUES} "
                  "values (cut the take into shorter files)")
    if n_channels == 0:
        return n_frames, frame_time, np.zeros((n_frames, 0))
    body = "\n".join(text_lines[idx:]).encode("utf-8", errors="replace")
    counts = _tokens_per_line(body)
    lines_with_values = np.flatnonzero(counts)
    frame_lines = lines_with_values[:n_frames]
    wrong = np.flatnonzero(counts[frame_lines] != n_channels)
    if wrong.size:
        row = int(wrong[0])
        raise err(idx + int(frame_lines[row]) + 1, f"frame {row + 1} has "
                  f"{int(counts[frame_lines[row]])} values, expected {n_channels}")
    if frame_lines.size < n_frames:
        raise err(idx - 1, f"'Frames: {n_frames}' but only {frame_lines.size} frame lines "
                  "follow")
    last = int(frame_lines[-1])
    used = "\n".join(text_lines[idx : idx + last + 1])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = np.fromstring(used, dtype=np.float64, sep=" ")
    except ValueError:  # a token that is not a number: located line by line below
        values = np.zeros(0)
    limit = np.full(n_channels, MAX_ABS_CM)
    is_position = np.array([c.endswith("position") for chans in channels for c in chans])
    limit[is_position] = MAX_ABS_CM / scale
    if values.size == n_frames * n_channels:
        data = values.reshape(n_frames, n_channels)
        bad_rows = np.flatnonzero(~(np.abs(data) < limit).all(axis=1))  # NaN fails too
        if not bad_rows.size:
            return n_frames, frame_time, data
        row = int(bad_rows[0])
        raise err(idx + int(frame_lines[row]) + 1, f"frame {row + 1} has a value that is not "
                  f"a finite number below {MAX_ABS_CM:g} (cm or degrees)")
    for row, line_index in enumerate(frame_lines):  # a token that is not a number: find it
        for token in text_lines[idx + int(line_index)].split():
            try:
                float(token)
            except ValueError:
                raise err(idx + int(line_index) + 1, f"frame {row + 1} has a value that is not "
                          f"a finite number: {token[:20]!r}") from None
    raise err(idx, "the frame values could not be read as numbers")


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
    skeleton, channels = _Hierarchy(lines, scale).parse()
    if lines.motion_line < 0:
        raise ChoreoError(f"{source}: no MOTION block — the file holds a skeleton but no frames")
    n_frames, frame_time, data = _parse_motion_block(
        text_lines, lines.motion_line, channels, scale, source
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
    raw = read_at_most(path, MAX_BVH_BYTES)
    if len(raw) > MAX_BVH_BYTES:
        raise ChoreoError(f"{path}: larger than {MAX_BVH_BYTES // 2**20} MB — cut the take into "
                          "shorter files")
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

    # Depth-first with an explicit stack (deep chains need no recursion); the MOTION columns
    # follow the same order, since readers take channels in hierarchy order, not joint index.
    order: list[int] = []
    stack: list[tuple[int, int, bool]] = [(0, 0, False)]
    while stack:
        j, depth, closing = stack.pop()
        pad = "\t" * depth
        if closing:
            if j in sk.end_sites_cm or not children[j]:
                end = sk.end_sites_cm.get(j, np.zeros(3))
                out.write(f"{pad}\tEnd Site\n{pad}\t{{\n{pad}\t\tOFFSET {fmt(end)}\n{pad}\t}}\n")
            out.write(f"{pad}}}\n")
            continue
        order.append(j)
        keyword = "ROOT" if j == 0 else "JOINT"
        out.write(f"{pad}{keyword} {sk.joint_names[j]}\n{pad}{{\n")
        out.write(f"{pad}\tOFFSET {fmt(sk.offsets_cm[j])}\n")
        out.write(f"{pad}\t{' '.join([f'CHANNELS {len(channels[j])}', *channels[j]])}\n")
        stack.append((j, depth, True))
        stack.extend((c, depth + 1, False) for c in reversed(children[j]))

    data = _channel_matrix(motion, channels, order)
    # the shortest text that reads back as 1/fps exactly (0.03333333 read 30.000003 fps)
    out.write(f"MOTION\nFrames: {motion.n_frames}\nFrame Time: {1.0 / motion.fps!r}\n")
    if data.shape[1]:  # np.savetxt's text ("%.{decimals}f" joined by spaces), 512 rows a time
        row = " ".join([f"%.{decimals}f"] * data.shape[1]) + "\n"
        for start in range(0, len(data), 512):
            chunk = data[start : start + 512]
            out.write(_fixed_text(chunk, decimals, row))
    else:
        out.write("\n" * motion.n_frames)
    return out.getvalue()


def _fixed_text(rows: np.ndarray, decimals: int, row_format: str) -> str:
    """``row_format`` (``"%.{decimals}f"`` per column, spaces, a newline) applied to each of
    ``rows`` [n, C]: from array operations where that gives the same text, else by %."""
    scaled = np.abs(rows) * 10.0**decimals
    # unsafe: not finite, too large for the integer path, or within 1e-6 of a half unit in
    # the last place (the product x·10**d may have rounded across it); no decimals: no point
    unsafe = ~np.isfinite(scaled) | (scaled >= 1e9)
    with np.errstate(invalid="ignore"):  # inf - inf: already unsafe
        unsafe |= np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6
    bad = unsafe.any(axis=1) if decimals >= 1 else np.ones(len(rows), dtype=bool)
    if bad.all():
        return (row_format * len(rows)) % tuple(rows.ravel().tolist())
    good = _digits_text(rows[~bad], scaled[~bad], decimals)
    if not bad.any():
        return good
    lines = iter(good.splitlines(keepends=True))
    return "".join(row_format % tuple(r) if b else next(lines)
                   for r, b in zip(rows.tolist(), bad.tolist(), strict=True))


def _digits_text(rows: np.ndarray, scaled: np.ndarray, decimals: int) -> str:
    """The ``"%.{decimals}f"`` rows of :func:`_fixed_text` for safe values, digit by digit:
    the sign bit, then |x|·10**d rounded (half to even, as % does on these values)."""
    units = np.rint(scaled).astype(np.int64).ravel()  # |x| in units of the last decimal
    whole, frac = np.divmod(units, 10**decimals)
    n_int = len(str(int(whole.max(initial=0))))
    width = 1 + n_int + 1 + decimals + 1  # sign, integer digits, point, decimals, separator
    chars = np.zeros((units.size, width), dtype=np.uint8)  # 0 = nothing written there
    chars[:, 0] = np.where(np.signbit(rows).ravel(), ord("-"), 0)
    for k in range(n_int):  # integer digits right-aligned, no leading zeros but the units
        digit = (whole // 10**k) % 10
        keep = (whole >= 10**k) | (k == 0)
        chars[:, n_int - k] = np.where(keep, digit + ord("0"), 0)
    chars[:, n_int + 1] = ord(".")
    for k in range(decimals):
        chars[:, n_int + 1 + decimals - k] = (frac // 10**k) % 10 + ord("0")
    chars[:, -1] = ord(" ")
    chars.reshape(rows.shape[0], rows.shape[1], width)[:, -1, -1] = ord("\n")
    flat = chars.ravel()
    return flat[flat != 0].tobytes().decode("ascii")


def _channel_matrix(motion: Motion, channels: list[list[str]], order: list[int]) -> np.ndarray:
    """The ``[F, C]`` channel values (degrees, cm) for ``channels``, joints in ``order``."""
    trans = motion._translations()  # noqa: SLF001
    rot = motion.rotations.astype(np.float64)
    by_axes: dict[str, list[int]] = {}
    for j in order:
        axes = "".join(c[0] for c in channels[j] if c.endswith("rotation"))
        if axes and len(axes) != 3:
            raise ChoreoError(f"bvh export: joint {motion.skeleton.joint_names[j]} needs "
                              "three rotation channels")
        if axes:
            by_axes.setdefault(axes, []).append(j)
    eulers: dict[int, np.ndarray] = {}
    for axes, joints in by_axes.items():  # one call per Euler order: all frames and joints
        angles = np.rad2deg(quat.to_euler(rot[:, joints], axes))
        eulers.update((j, angles[:, n]) for n, j in enumerate(joints))
    columns: list[np.ndarray] = []
    for j in order:
        r = 0
        for c in channels[j]:
            if c.endswith("position"):
                columns.append(trans[:, j, "XYZ".index(c[0])])
            else:
                columns.append(eulers[j][:, r])
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
