"""The editor application: Qt set-up, the main window, then the song or project to open.

The window shows (and is interactive) before anything is analysed: opening starts in the
event loop, so launch-to-interactive does not wait for the song.
"""

from __future__ import annotations

import sys

import pyqtgraph as pg
from choreo_studio.editor.autosave import describe_recovery, pending_recoveries
from choreo_studio.editor.main_window import MainWindow
from choreo_studio.editor.prompter import YES
from choreo_studio.editor.style import BACKGROUND, apply_dark_theme
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def make_app() -> QApplication:
    """The QApplication (created once) with the editor's names and plot defaults."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Choreo Studio")
    app.setOrganizationName("ChoreoStudio")
    pg.setConfigOptions(background=BACKGROUND, antialias=False)
    apply_dark_theme(app)
    return app


def offer_recovery(window: MainWindow) -> bool:
    """If an autosave was left by a crash, offer to reopen it; True when it was reopened.

    Declining never deletes silently: the user is asked whether to delete the autosave, and
    one kept is offered again at the next launch.
    """
    found = pending_recoveries(window.autosaver.folder)
    if not found:
        return False
    newest = describe_recovery(found[0])
    others = f"\n\n({len(found) - 1} older autosaves are kept too.)" if len(found) > 1 else ""
    answer = window.prompter.ask(
        "Recover unsaved work",
        f"Choreo Studio did not close cleanly. Reopen the unsaved choreography "
        f"{newest.description}?{others}",
    )
    if answer == YES:
        return window.files.recover(str(newest.path))
    confirm = window.prompter.ask(
        "Delete the unsaved work?",
        f"Delete the autosave of {newest.description}? It cannot be recovered afterwards. "
        "Answer No to keep it and be asked again next time.",
    )
    if confirm == YES:
        newest.path.unlink(missing_ok=True)
    return False


def start(window: MainWindow, path: str | None) -> None:
    """Offer to recover a crash first; otherwise open ``path`` or the demo song."""
    if offer_recovery(window):
        return
    if path:
        window.files.open_path(path, ask_to_save=False)
    else:
        window.files.open_demo()


def run_editor(path: str | None = None, *, want_sound: bool = True) -> int:
    """Run the editor until its window closes; returns the exit code."""
    app = make_app()
    window = MainWindow(want_sound=want_sound)
    window.show()
    QTimer.singleShot(0, lambda: start(window, path))
    return app.exec()
