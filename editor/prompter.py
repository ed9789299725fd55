"""Everything the editor asks or tells the user goes through a prompter.

:class:`QtPrompter` shows real dialogs; :class:`ScriptedPrompter` (tests, benchmarks, headless
runs) answers from a script and records what it was told, so no code path needs to know whether
a person is there.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Protocol

from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

YES, NO, SAVE, DISCARD, CANCEL = "yes", "no", "save", "discard", "cancel"

_BUTTONS = {
    YES: QMessageBox.StandardButton.Yes,
    NO: QMessageBox.StandardButton.No,
    SAVE: QMessageBox.StandardButton.Save,
    DISCARD: QMessageBox.StandardButton.Discard,
    CANCEL: QMessageBox.StandardButton.Cancel,
}


class Prompter(Protocol):
    """Questions, messages, file choices and modal dialogs, answered by a person or a script."""

    def ask(self, title: str, text: str, choices: tuple[str, ...] = (YES, NO)) -> str:
        """One of ``choices`` (the last one when the question is dismissed)."""

    def inform(self, title: str, text: str) -> None:
        """Tell the user something that went wrong and what to do."""

    def show_rich(self, title: str, html: str) -> None:
        """Show a rich-text sheet (the shortcut table)."""

    def choose_file(self, title: str, folder: str, filters: str, *, save: bool = False) -> str:
        """A file to open (or to save to when ``save``); "" when cancelled."""

    def choose_folder(self, title: str, folder: str) -> str:
        """A folder; "" when cancelled."""

    def run_dialog(self, dialog: QDialog) -> bool:
        """Run a modal dialog; True when it was accepted."""


class QtPrompter:
    """Real dialogs parented to ``parent``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self._parent = parent

    def ask(self, title: str, text: str, choices: tuple[str, ...] = (YES, NO)) -> str:
        buttons = QMessageBox.StandardButton.NoButton
        for choice in choices:
            buttons |= _BUTTONS[choice]
        answer = QMessageBox.question(self._parent, title, text, buttons)
        for choice in choices:
            if answer == _BUTTONS[choice]:
                return choice
        return choices[-1]

    def inform(self, title: str, text: str) -> None:
        QMessageBox.warning(self._parent, title, text)

    def show_rich(self, title: str, html: str) -> None:
        from PySide6.QtCore import Qt

        box = QMessageBox(self._parent)
        box.setWindowTitle(title)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(html)
        box.exec()

    def choose_file(self, title: str, folder: str, filters: str, *, save: bool = False) -> str:
        pick = QFileDialog.getSaveFileName if save else QFileDialog.getOpenFileName
        path, _ = pick(self._parent, title, folder, filters)
        return path

    def choose_folder(self, title: str, folder: str) -> str:
        return QFileDialog.getExistingDirectory(self._parent, title, folder)

    def run_dialog(self, dialog: QDialog) -> bool:
        return bool(dialog.exec())


class ScriptedPrompter:
    """Answers from queues given up front and records every question and message.

    With nothing scripted, a question gets ``default`` when it is one of the choices, else its
    last choice (No / Cancel: the safe answer); a file or folder choice is cancelled and a
    dialog rejected.
    """

    def __init__(
        self,
        answers: Iterable[str] = (),
        files: Iterable[str] = (),
        dialogs: Iterable[bool] = (),
        *,
        default: str = "",
    ) -> None:
        self.default = default
        self.answers = deque(answers)
        self.files = deque(files)
        self.dialogs = deque(dialogs)
        self.asked: list[str] = []
        self.told: list[str] = []

    def ask(self, title: str, text: str, choices: tuple[str, ...] = (YES, NO)) -> str:
        self.asked.append(text)
        if self.answers:
            answer = self.answers.popleft()
        else:
            answer = self.default if self.default in choices else choices[-1]
        if answer not in choices:
            raise ValueError(f"scripted answer {answer!r} is not one of {choices}")
        return answer

    def inform(self, title: str, text: str) -> None:
        self.told.append(text)

    def show_rich(self, title: str, html: str) -> None:
        self.told.append(html)

    def choose_file(self, title: str, folder: str, filters: str, *, save: bool = False) -> str:
        self.asked.append(f"{title} [{folder}] {filters}")
        return self.files.popleft() if self.files else ""

    def choose_folder(self, title: str, folder: str) -> str:
        self.asked.append(f"{title} [{folder}]")
        return self.files.popleft() if self.files else ""

    def run_dialog(self, dialog: QDialog) -> bool:
        return self.dialogs.popleft() if self.dialogs else False
