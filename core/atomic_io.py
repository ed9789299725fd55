"""Atomic file writes: write a temporary file beside the target, fsync, then rename over it.

A crash or a full disk never leaves a half-written project, library or export behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO


def _process_umask() -> int:
    """The process umask (read once: ``os.umask`` can only be read by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _process_umask()


def give_default_mode(path: str | os.PathLike[str], *, folder: bool = False) -> None:
    """Give a file or folder made by ``tempfile`` (0600 / 0700) the mode ``open``/``mkdir`` give.

    Exports, projects and model bundles are shared with a team and read by game engines, so
    they must not stay private to the user who wrote them.
    """
    os.chmod(path, (0o777 if folder else 0o666) & ~_UMASK)


def write_atomic(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(fh)`` on a temp file beside ``path``, then atomically replace ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        give_default_mode(tmp_name)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Atomically write ``data`` to ``path``."""
    return write_atomic(path, lambda fh: fh.write(data))


def write_json_atomic(path: str | os.PathLike[str], obj: Any, *, indent: int | None = 1) -> Path:
    """Atomically write ``obj`` as UTF-8 JSON (NaN is refused so files stay standard JSON)."""
    text = json.dumps(obj, indent=indent, allow_nan=False, ensure_ascii=False)
    return write_bytes_atomic(path, text.encode("utf-8") + b"\n")
