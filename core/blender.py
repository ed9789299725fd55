"""Blender as a converter (the optional ``fbx`` extra, which installs ``bpy``): FBX out for
engines, FBX takes in for library import.

Blender's own importers and exporters run in a child process (:mod:`core.blender_convert`)
under the Python in ``$CHOREO_BLENDER_PYTHON`` when set (a venv that has ``bpy``), else this
one, so a bpy crash or its global state never touches the caller.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from choreo_studio.core.errors import ChoreoError

BLENDER_PYTHON_ENV = "CHOREO_BLENDER_PYTHON"
FBX_HINT = ("FBX needs Blender's Python module: pip install 'choreo-studio[fbx]' "
            "(Python 3.11), or set CHOREO_BLENDER_PYTHON to a Python that has bpy")
TIMEOUT_S = 900


def blender_python() -> str | None:
    """The Python that has ``bpy`` (None when there is none)."""
    chosen = os.environ.get(BLENDER_PYTHON_ENV)
    if chosen:
        return chosen if Path(chosen).is_file() else None
    return sys.executable if importlib.util.find_spec("bpy") is not None else None


def require_blender() -> str:
    """The Python that has ``bpy``, or a one-line error saying how to get it."""
    python = blender_python()
    if python is None:
        raise ChoreoError(FBX_HINT)
    return python


def convert(source: Path, target: Path, fps: float = 30.0) -> Path:
    """Convert ``source`` (.glb/.gltf/.fbx) into ``target`` (.fbx/.glb) through Blender."""
    python = require_blender()
    script = Path(__file__).with_name("blender_convert.py")
    try:
        done = subprocess.run([python, str(script), str(source), str(target),
                               str(int(round(fps)))], capture_output=True, text=True,
                              timeout=TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ChoreoError(f"{source.name}: Blender did not run ({exc}) — {FBX_HINT}") from None
    if done.returncode != 0 or not target.is_file():
        last = (done.stderr.strip().splitlines() or ["no message"])[-1][:200]
        raise ChoreoError(f"{source.name}: Blender could not convert it to {target.suffix} "
                          f"({last}) — check the file opens in Blender")
    return target
