"""BVH export of a rendered performance or a clip (the motion helper's writer, fixed precision).

Four decimals (1e-4 degrees, 1e-4 of the unit) are far below what a rig can show and keep a
4-minute performance small and quick to write; in metres the lengths get six. The frame time
is written so that it reads back as exactly 1/fps (30, 60, 120 fps stay whole numbers).
"""

from __future__ import annotations

import os
from pathlib import Path

from choreo_studio.core.atomic_io import write_bytes_atomic
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.motion.bvh import bvh_text
from choreo_studio.core.motion.motion import Motion

DECIMALS = 4
UNITS = {"cm": 1.0, "m": 0.01}
"""Length unit written → factor from the motion's centimetres."""
DECIMALS_BY_UNIT = {"cm": DECIMALS, "m": DECIMALS + 2}


def performance_bvh_bytes(motion: Motion, rotation_order: str = "ZXY", unit: str = "cm"
                          ) -> bytes:
    """``motion`` as the bytes of a BVH file (``unit`` cm or m, Y up, Euler channels in
    ``rotation_order``)."""
    if unit not in UNITS:
        raise ChoreoError(f"bvh export: unit {unit!r} — use one of {', '.join(UNITS)}")
    scaled = motion if unit == "cm" else motion.scaled(UNITS[unit])
    text = bvh_text(scaled, rotation_order=rotation_order, decimals=DECIMALS_BY_UNIT[unit])
    return text.encode("utf-8")


def write_performance_bvh(
    path: str | os.PathLike[str], motion: Motion, rotation_order: str = "ZXY", unit: str = "cm"
) -> Path:
    """Atomically write ``motion`` as BVH (see :func:`performance_bvh_bytes`)."""
    return write_bytes_atomic(path, performance_bvh_bytes(motion, rotation_order, unit))
