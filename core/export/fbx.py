"""FBX export through Blender (the optional ``fbx`` extra, which installs ``bpy``).

The glb we write is converted by Blender's own glTF importer and FBX exporter in a child
process (:mod:`core.blender`), so Unreal, Maya and MotionBuilder pipelines get the same
skeleton, bind pose and named animations (one FBX take per animation).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from choreo_studio.core.blender import FBX_HINT, blender_python, convert, require_blender

__all__ = ["FBX_HINT", "blender_python", "require_fbx", "write_fbx_from_glb"]


def require_fbx() -> str:
    """The Python that has ``bpy``, or a one-line error saying how to get it."""
    return require_blender()


def write_fbx_from_glb(path: str | os.PathLike[str], glb: bytes, fps: float) -> Path:
    """Convert ``glb`` (a whole .glb file's bytes) to an FBX file at ``path``."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="choreo-fbx-") as tmp:
        source = Path(tmp) / f"{path.stem}.glb"
        source.write_bytes(glb)
        shutil.move(str(convert(source, Path(tmp) / "out.fbx", fps)), path)
    return path
