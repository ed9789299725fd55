"""Autosave and crash recovery.

While a choreography is open and has unsaved changes, the project is written atomically every
minute to the autosave folder (one file per song). A clean save or close removes it; a file
still there at launch means the editor did not close cleanly, and the user is offered it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QStandardPaths, QTimer

if TYPE_CHECKING:
    from choreo_studio.editor.main_window import MainWindow

AUTOSAVE_INTERVAL_MS = 60_000


def default_autosave_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".choreo-studio") / "autosave"


def pending_recoveries(folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """Autosaved projects left by a session that did not close cleanly, newest first."""
    root = Path(folder) if folder else default_autosave_dir()
    if not root.is_dir():
        return []
    return sorted(root.glob("*.choreo"), key=lambda p: p.stat().st_mtime, reverse=True)


class Autosaver(QObject):
    """Writes the window's project to the autosave folder on a timer while it is dirty."""

    def __init__(
        self, window: MainWindow, folder: str | None = None, interval_ms: int = AUTOSAVE_INTERVAL_MS
    ) -> None:
        super().__init__(window)
        self._window = window
        self.folder = Path(folder) if folder else default_autosave_dir()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.save_now)
        self.path: Path | None = None

    def start(self) -> None:
        self.discard()
        song_hash = self._window.doc.audio.content_hash if self._window.doc.audio else "song"
        self.path = self.folder / f"{song_hash[:16]}.choreo"
        self._timer.start()

    def save_now(self) -> bool:
        """Autosave if there are unsaved changes; never raises (a failed autosave is shown)."""
        doc = self._window.doc
        if self.path is None or not doc.ready or not doc.dirty:
            return False
        from choreo_studio.core.errors import ChoreoError
        from choreo_studio.core.project.project_file import save_project

        try:
            save_project(self._window.current_project(), self.path)
        except (OSError, ValueError, ChoreoError) as exc:
            self._window.statusBar().showMessage(f"autosave failed: {exc}", 5000)
            return False
        return True

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    def stop(self, discard: bool = False) -> None:
        self._timer.stop()
        if discard:
            self.discard()
