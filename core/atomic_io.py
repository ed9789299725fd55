"""Atomic file writes and the one boundary where OS errors become one-line ChoreoErrors.

Every write goes through here: a temporary file beside the target, fsync, a rename over it,
then an fsync of the folder so the rename itself survives a power cut; a crash or a full disk
never leaves a half-written project, library or export behind;
permission, read-only, full-disk, wrong-kind and name-too-long errors say which path, what is
wrong and what to do.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from choreo_studio.core.errors import ChoreoError, PathError

_OS_PROBLEMS: dict[int, tuple[str, str]] = {
    errno.EACCES: ("permission denied", "choose a location you may {verb}, or change its rights"),
    errno.EPERM: ("operation not permitted", "choose a location you may {verb}, or change its "
                  "rights"),
    errno.EROFS: ("the file system is read-only", "choose a folder on a writable disk"),
    errno.ENOSPC: ("the disk is full", "free some space or choose another disk"),
    errno.EDQUOT: ("the disk quota is exceeded", "free some space or choose another disk"),
    errno.EFBIG: ("the file is larger than the disk or a limit allows",
                  "free some space or choose another disk"),
    errno.EISDIR: ("it is a folder, not a file", "give a file name, not a folder"),
    errno.ENOTDIR: ("a part of the path is a file, not a folder",
                    "choose a path whose parent folders are folders"),
    errno.ENAMETOOLONG: ("the name is too long", "choose a shorter file name or folder"),
    errno.ENOENT: ("no such file or folder", "check the path"),
    errno.EEXIST: ("a file is in the way", "remove it or choose another path"),
    errno.ENOTEMPTY: ("the folder is not empty", "empty it or choose another folder"),
    errno.ELOOP: ("too many symbolic links", "check the path"),
    errno.EMFILE: ("too many open files", "close other programs and try again"),
    errno.EIO: ("an input/output error (failing disk?)", "check the disk and try again"),
}


def os_error(exc: OSError, path: str | os.PathLike[str], action: str = "write") -> PathError:
    """The one-line error for an OS failure to ``action`` (read/write/create) ``path``."""
    where = exc.filename if exc.filename is not None else path
    where = os.fsdecode(where) if isinstance(where, (bytes, os.PathLike)) else str(where)
    if len(where) > 300:
        where = where[:150] + "…" + where[-100:]
    problem, fix = _OS_PROBLEMS.get(exc.errno or -1, (exc.strerror or str(exc), "check the path"))
    verb = "read" if action == "read" else "write to"
    return PathError(f"{where}: cannot {action} ({problem}) — {fix.format(verb=verb)}", exc.errno)


def make_folder(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` and its parents (if missing); any OS failure is a one-line PathError."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise PathError(f"{folder}: cannot create the folder (a file of that name is in the "
                        "way) — choose another folder or remove the file", errno.EEXIST) from None
    except OSError as exc:
        raise os_error(exc, folder, "create") from None
    return folder


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


def _probe_folder(folder: Path, target: Path) -> None:
    """Create and remove a temporary file in ``folder``: the OS says whether writing works there."""
    try:
        fd, name = tempfile.mkstemp(prefix=".choreo-probe.", dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        exc.filename = None  # name the user's path, not the probe's
        raise os_error(exc, target) from None


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (where a write would have to start)."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(".")


def _check_path(path: Path) -> None:
    """Refuse names the OS cannot take (too long, a file where a folder must be)."""
    try:
        os.stat(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise os_error(exc, path) from None
    existing = _nearest_existing(path.parent)
    if not os.path.isdir(existing):
        raise PathError(f"{path}: cannot write ({existing} is a file, not a folder) — "
                        "choose a path whose parent folders are folders", errno.ENOTDIR)


def check_output_file(path: str | os.PathLike[str]) -> Path:
    """Before any long work: refuse an output file that could not be written, in one line."""
    target = Path(path)
    if os.path.isdir(target):
        raise PathError(f"{target}: cannot write (it is a folder, not a file) — give a file "
                        "name, not a folder", errno.EISDIR)
    _check_path(target)
    _probe_folder(_nearest_existing(target.parent), target)
    return target


def check_output_folder(path: str | os.PathLike[str]) -> Path:
    """Before any long work: refuse an output folder that could not be written, in one line."""
    folder = Path(path)
    if os.path.lexists(folder) and not os.path.isdir(folder):
        raise PathError(f"{folder}: cannot write there (it is a file, not a folder) — choose "
                        "a folder", errno.ENOTDIR)
    _check_path(folder)
    _probe_folder(_nearest_existing(folder), folder)
    return folder


def read_at_most(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """Up to ``max_bytes + 1`` bytes of ``path`` (so a caller can tell a file over its limit
    without reading it all); an OS failure is the one-line :class:`PathError`."""
    try:
        with open(path, "rb") as fh:
            return fh.read(max_bytes + 1)
    except OSError as exc:
        raise os_error(exc, path, "read") from None


def sync_folder(folder: str | os.PathLike[str]) -> None:
    """Make the renames into ``folder`` durable (POSIX: fsync the folder itself).

    Where folders cannot be opened for syncing (Windows), the rename is durable on its own."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except (PermissionError, IsADirectoryError):
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(fh)`` on a temp file beside ``path``, then atomically replace ``path``."""
    target = Path(path)
    if os.path.isdir(target):
        raise PathError(f"{target}: cannot write (it is a folder, not a file) — give a file "
                        "name, not a folder", errno.EISDIR)
    make_folder(target.parent)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name[:100]}.", suffix=".tmp",
                                        dir=target.parent)
    except OSError as exc:
        raise os_error(exc, target) from None
    try:
        give_default_mode(tmp_name)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, target)
        sync_folder(target.parent)
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise os_error(exc, target) from None
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Atomically write ``data`` to ``path``."""
    return write_atomic(path, lambda fh: fh.write(data))


def json_bytes(path: str | os.PathLike[str], obj: Any, *, indent: int | None = 1) -> bytes:
    """``obj`` as the UTF-8 JSON file :func:`write_json_atomic` writes at ``path`` (NaN is
    refused so files stay standard JSON: a one-line error naming ``path``)."""
    try:
        text = json.dumps(obj, indent=indent, allow_nan=False, ensure_ascii=False)
    except ValueError as exc:
        raise ChoreoError(f"{path}: not written, a value is not a finite number ({exc}) — "
                          "the file on disk is unchanged; undo the last edit and save again"
                          ) from None
    return text.encode("utf-8") + b"\n"


def write_json_atomic(path: str | os.PathLike[str], obj: Any, *, indent: int | None = 1) -> Path:
    """Atomically write ``obj`` as UTF-8 JSON (NaN is refused so files stay standard JSON)."""
    return write_bytes_atomic(path, json_bytes(path, obj, indent=indent))
