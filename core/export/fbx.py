"""FBX export through Blender (the optional ``fbx`` extra, which installs ``bpy``).

The glb we write is converted by Blender's own glTF importer and FBX exporter in a child
process (:mod:`export.blender_fbx`), so Unreal, Maya and MotionBuilder pipelines get the same
skeleton, bind pose and named animations (one FBX take per animation). The child runs the
Python in ``$CHOREO_BLENDER_PYTHON`` when set (a venv that has ``bpy``), else this one.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from choreo_studio.core.errors import ChoreoError

BLENDER_PYTHON_ENV = "CHOREO_BLENDER_PYTHON"
FBX_HINT = ("FBX export needs Blender's Python module: pip install 'choreo-studio[fbx]' "
            "(Python 3.11), or set CHOREO_BLENDER_PYTHON to a Python that has bpy")
TIMEOUT_S = 900


def blender_python() -> str | None:
    """The Python that has ``bpy`` (None when there is none)."""
    chosen = os.environ.get(BLENDER_PYTHON_ENV)
    if chosen:
        return chosen if Path(chosen).is_file() else None
    return sys.executable if importlib.util.find_spec("bpy") is not None else None


def require_fbx() -> str:
    """The Python that has ``bpy``, or a one-line error saying how to get it."""
    python = blender_python()
    if python is None:
        raise ChoreoError(FBX_HINT)
    return python


def write_fbx_from_glb(path: str | os.PathLike[str], glb: bytes, fps: float) -> Path:
    """Convert ``glb`` (a whole .glb file's bytes) to an FBX file at ``path``."""
    python = require_fbx()
    script = Path(__file__).with_name("blender_fbx.py")
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="choreo-fbx-") as tmp:
        source, target = Path(tmp) / "in.glb", Path(tmp) / "out.fbx"
        source.write_bytes(glb)
        try:
            done = subprocess.run([python, str(script), str(source), str(target),
                                   str(int(round(fps)))], capture_output=True, text=True,
                                  timeout=TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ChoreoError(f"{path.name}: Blender did not run ({exc}) — {FBX_HINT}") from None
        if done.returncode != 0 or not target.is_file():
            last = (done.stderr.strip().splitlines() or ["no message"])[-1][:200]
            raise ChoreoError(f"{path.name}: Blender's FBX export failed ({last}) — export "
                              "glb instead and convert it in Blender")
        shutil.move(str(target), path)
    return path
