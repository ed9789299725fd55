"""One export as one unit: every file is written into a fresh folder beside the output folder,
then moved in together, and a manifest naming the set (with checksums) is written last.

A kill while writing leaves the previous export untouched (the half-written files sit in the
``.NAME.partial-PID-*`` folder, which the next export into that folder removes); a kill in the
moment of moving leaves no manifest, so an engine that checks ``manifest.json`` never pairs a
timeline with the motion of another run. Where the parent folder is read-only or another disk
(the output folder is a mount point), the partial folder sits inside the output folder instead.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from choreo_studio.core import __version__
from choreo_studio.core.atomic_io import make_folder, os_error, write_json_atomic

MANIFEST = "manifest.json"
MANIFEST_KIND = "choreo-export"
MANIFEST_FORMAT_VERSION = 1

Writer = Callable[[Path], object]
"""Writes one file at the path it is given."""


@dataclass(frozen=True)
class Contents:
    """A file of the set given as the bytes ``make`` returns: the set writes it and makes it
    durable itself, its fsync running while the next file is made."""

    make: Callable[[], bytes]


def _partial_prefix(folder: Path) -> str:
    return f".{folder.name}.partial-"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (POSIX; elsewhere every leftover counts as stale)."""
    if sys.platform == "win32":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _staging_root(folder: Path) -> Path:
    """Where the partial folder goes: beside ``folder`` when a rename from there stays on one
    disk and the parent may be written, else inside ``folder``."""
    parent = folder.parent
    try:
        same_disk = os.stat(parent).st_dev == os.stat(folder).st_dev
    except OSError:
        return folder
    return parent if same_disk and os.access(parent, os.W_OK) else folder


def remove_stale_partials(folder: Path) -> list[Path]:
    """Delete the partial folders of exports into ``folder`` whose process is gone."""
    removed = []
    prefix = _partial_prefix(folder)
    for path in [*folder.parent.glob(f"{prefix}*"), *folder.glob(f"{prefix}*")]:
        pid_text = path.name[len(prefix):].split("-", 1)[0]
        if not (path.is_dir() and pid_text.isdigit()):
            continue  # not one of ours
        pid = int(pid_text)
        if pid != os.getpid() and not _alive(pid):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _sync_and_close(fd: int) -> None:
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_contents(path: Path, data: bytes, syncing: ThreadPoolExecutor) -> Future:
    """Write ``data`` to the new file ``path``; its fsync (and close) runs on ``syncing``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666 & ~umask, as open
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        raise
    return syncing.submit(_sync_and_close, fd)


def _write_staged(staging: Path, writers: Mapping[str, Writer | Contents]) -> dict[str, dict]:
    """Every file of the set in ``staging``, each durable on return; name → bytes and sha256.

    :class:`Contents` files are fsynced on a helper thread while the next file is made (the
    same fsync per file as a writer's own atomic write, only not waited for in turn); every
    fsync has finished before this returns, so before anything is moved into place."""
    files: dict[str, dict] = {}
    pending: list[Future] = []
    with ThreadPoolExecutor(max_workers=1) as syncing:  # leaving it waits for every fsync
        for name, write in writers.items():
            if isinstance(write, Contents):
                data = write.make()
                pending.append(_write_contents(staging / name, data, syncing))
                files[name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            else:
                write(staging / name)
                files[name] = {"bytes": (staging / name).stat().st_size,
                               "sha256": _sha256(staging / name)}
    for done in pending:
        done.result()
    return files


def write_output_set(folder: str | os.PathLike[str], writers: Mapping[str, Writer | Contents]
                     ) -> dict[str, Path]:
    """Write ``{file name: writer or contents}`` into ``folder`` as one set; returns name →
    final path.

    Files of earlier exports that are not in this set stay, but the manifest names only this
    set. OS failures are one-line errors (see :mod:`core.atomic_io`).
    """
    target = make_folder(folder).resolve()
    remove_stale_partials(target)
    root = _staging_root(target)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f"{_partial_prefix(target)}{os.getpid()}-",
                                        dir=root))
    except OSError as exc:
        raise os_error(exc, root, "create") from None
    try:
        files = _write_staged(staging, writers)  # the manifest's write syncs the folder last
        (target / MANIFEST).unlink(missing_ok=True)  # no manifest while the set is mixed
        for name in writers:
            os.replace(staging / name, target / name)
        write_json_atomic(target / MANIFEST, {
            "format_version": MANIFEST_FORMAT_VERSION,
            "kind": MANIFEST_KIND,
            "generator": f"choreo-studio {__version__}",
            "files": files,
        })
    except OSError as exc:
        raise os_error(exc, target) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {name: target / name for name in writers}
