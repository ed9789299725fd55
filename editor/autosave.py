"""Autosave and crash recovery.

The :class:`Autosaver` listens to the document's undo stack: a few seconds after each edit
(debounced), when the application loses focus, and on a slow timer, an unsaved choreography
is written atomically to the autosave folder (one file per song, named after it). A clean save
or close removes what this session wrote; a file still there at launch means the editor did
not close cleanly, and :func:`describe_recovery` names its project and song for the offer.

The debounced and timed autosaves write the file on a background thread (serialising a
project with thousands of beats takes a few hundred milliseconds that the GUI must not
freeze for); an explicit :meth:`Autosaver.save_now` or a discard first waits for a write in
flight, so files are always written and removed in order.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.project.project_file import PROJECT_SUFFIX, save_project
from PySide6.QtCore import QObject, QStandardPaths, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QGuiApplication

if TYPE_CHECKING:
    from choreo_studio.editor.document import Document

AUTOSAVE_DELAY_MS = 2_000
"""Quiet time after an edit before it is autosaved (a burst of edits is written once)."""
AUTOSAVE_INTERVAL_MS = 60_000
"""The slow timer that catches anything the edit and focus triggers missed."""
MAX_NAME = 48


def default_autosave_dir() -> Path:
    """The per-user folder autosaves go to (the application's data folder)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".choreo-studio") / "autosave"


def pending_recoveries(folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """Autosaved projects left by a session that did not close cleanly, newest first."""
    root = Path(folder) if folder else default_autosave_dir()
    if not root.is_dir():
        return []
    return sorted(root.glob(f"*{PROJECT_SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)


@dataclass(frozen=True)
class Recovery:
    """What an autosave holds, in the words the recovery offer uses."""

    path: Path
    song: str
    project: str
    saved_at: str

    @property
    def description(self) -> str:
        """``"dance.choreo (song: intro.wav), autosaved 21:05"`` — no hashes."""
        what = f"{self.project} (song: {self.song})" if self.project else f"the song {self.song}"
        return f"{what}, autosaved {self.saved_at}"


def describe_recovery(path: Path) -> Recovery:
    """Read the song and project names of an autosave (a damaged file still gets its name)."""
    song, project = path.stem, ""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        song = Path(str(data["song"]["absolute_path"])).name or song
        project = Path(str((data.get("settings") or {}).get("project_path") or "")).name
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    try:
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
    except OSError:
        stamp = "at an unknown time"
    return Recovery(path, song, project, stamp)


def autosave_name(song_path: str, content_hash: str) -> str:
    """The autosave file of a song: its readable stem plus a short hash (two songs never clash)."""
    stem = "".join(c if c.isalnum() or c in "-_ " else "_" for c in Path(song_path).stem)
    return f"{stem[:MAX_NAME].strip() or 'song'}-{content_hash[:8]}{PROJECT_SUFFIX}"


class Autosaver(QObject):
    """Writes ``make_project()()`` to the autosave folder whenever the document has unsaved
    edits (``make_project`` runs on the GUI thread and returns what builds the project, which
    runs where the file is written).

    ``notify`` shows a failed autosave (it never raises). Only files this session wrote are
    removed by :meth:`discard`; an autosave left by a crash stays until the user decides.
    """

    _failed = Signal(str)

    def __init__(
        self,
        doc: Document,
        make_project: Callable[[], Any],
        folder: str | os.PathLike[str] | None = None,
        *,
        notify: Callable[[str], None] = lambda _m: None,
        delay_ms: int = AUTOSAVE_DELAY_MS,
        interval_ms: int = AUTOSAVE_INTERVAL_MS,
    ) -> None:
        super().__init__(doc)
        self._doc = doc
        self._make_project = make_project
        self._notify = notify
        self.folder = Path(folder) if folder else default_autosave_dir()
        self.path: Path | None = None
        self._written: set[Path] = set()
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(delay_ms)
        self._debounce.timeout.connect(self.save_soon)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.save_soon)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autosave")
        self._pending: Future | None = None
        self._lock = threading.Lock()
        self._failed.connect(self._on_failed)
        doc.undo_stack.indexChanged.connect(self._on_edit)
        doc.undo_stack.cleanChanged.connect(self._on_clean_changed)
        app = QGuiApplication.instance()
        if app is not None:
            app.applicationStateChanged.connect(self._on_application_state)

    def start(self) -> None:
        """A choreography was installed: autosave it from now on (the slow timer runs)."""
        self._timer.start()
        if self._doc.dirty:
            self._debounce.start()

    def _on_edit(self, _index: int) -> None:
        if self._doc.dirty:
            self._debounce.start()

    def _on_clean_changed(self, clean: bool) -> None:
        """Dirty: autosave soon. Clean again (saved, or undone back to the saved state): the
        autosave holds nothing worth recovering."""
        if clean:
            self.discard()
        else:
            self._debounce.start()

    def _on_application_state(self, state: Qt.ApplicationState) -> None:
        if state != Qt.ApplicationState.ApplicationActive:
            self.save_now()

    def save_now(self) -> bool:
        """Autosave now if there are unsaved changes (after a write in flight); never raises
        (a failed autosave is shown)."""
        self._drain()
        job = self._job()
        return job is not None and self._write(*job) == ""

    def save_soon(self) -> None:
        """Autosave if there are unsaved changes, the file written on a background thread."""
        job = self._job()
        if job is not None:
            self._pending = self._writer.submit(self._write_in_background, *job)

    def _job(self) -> tuple[Callable[[], Any], Path] | None:
        """What makes the project to autosave, and where (None: nothing unsaved)."""
        self._debounce.stop()
        doc = self._doc
        if not doc.ready or not doc.dirty or doc.audio is None:
            return None
        return self._make_project(), self.folder / autosave_name(doc.song_path,
                                                                 doc.audio.content_hash)

    def _write_in_background(self, project: Callable[[], Any], path: Path) -> None:
        error = self._write(project, path)
        if error:
            self._failed.emit(error)

    def _write(self, project: Callable[[], Any], path: Path) -> str:
        """Write ``project()`` to ``path`` ("" when written, else what went wrong)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            save_project(project(), path)
        except (OSError, ValueError, ChoreoError) as exc:
            if threading.current_thread() is threading.main_thread():
                self._notify(f"autosave failed: {exc}")
            return f"autosave failed: {exc}"
        with self._lock:
            if self.path is not None and self.path != path:
                self._remove(self.path)
            self.path = path
            self._written.add(path)
        return ""

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        """A background write failed: tell the user (on the GUI thread)."""
        self._notify(message)

    def _drain(self) -> None:
        """Wait for the background write in flight, if any (explicit saves, discards)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def adopt(self, path: str | os.PathLike[str]) -> None:
        """Take over a recovered autosave: it goes when this session saves or discards."""
        with self._lock:
            self._written.add(Path(path))

    def discard(self) -> None:
        """Remove what this session autosaved (after a clean save, or a close that discards)."""
        self._debounce.stop()
        self._drain()
        with self._lock:
            for path in list(self._written):
                self._remove(path)
            self.path = None

    def _remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self._written.discard(path)

    def stop(self, discard: bool = False) -> None:
        self._debounce.stop()
        self._timer.stop()
        self._drain()
        if discard:
            self.discard()
