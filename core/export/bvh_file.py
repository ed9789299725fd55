"""BVH export of a rendered performance (the motion helper's writer, fixed precision).

Four decimals (1e-4 degrees, 1e-4 cm) are far below what a rig can show and keep a 4-minute
performance small and quick to write.
"""

from __future__ import annotations

import os
from pathlib import Path

from choreo_studio.core.atomic_io import write_bytes_atomic
from choreo_studio.core.motion.bvh import bvh_text
from choreo_studio.core.motion.motion import Motion

DECIMALS = 4


def write_performance_bvh(
    path: str | os.PathLike[str], motion: Motion, rotation_order: str = "ZXY"
) -> Path:
    """Atomically write ``motion`` as BVH (cm, Y up, ``rotation_order`` Euler channels)."""
    text = bvh_text(motion, rotation_order=rotation_order, decimals=DECIMALS)
    return write_bytes_atomic(path, text.encode("utf-8"))
