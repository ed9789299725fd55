"""The open document: the song, its segmentation, the choreography and the selection.

A thin Qt wrapper over ``core``'s session states (:class:`Segmentation`, from
:mod:`core.project.session`) that emits a signal when a part changes, so each view
refreshes only what changed. Edits go through the undo stack (``editor.undo_commands``); the
document itself only stores states and never computes anything slow.
"""

from __future__ import annotations

from collections.abc import Iterable

from choreo_studio.core.analysis.music_analysis import MusicAnalysis
from choreo_studio.core.audio.load import Audio
from choreo_studio.core.choreography.placements import Choreography
from choreo_studio.core.phrases.segmentation import MusicPhrase
from choreo_studio.core.project.session import Segmentation
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

__all__ = ["Document", "Segmentation"]


class Document(QObject):
    """Everything the editor shows; views listen to its signals."""

    audio_changed = Signal()
    segmentation_changed = Signal()
    choreography_changed = Signal()
    selection_changed = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.audio: Audio | None = None
        self.song_path: str = ""
        self.segmentation: Segmentation | None = None
        self.choreography: Choreography | None = None
        self.selected = -1
        self.extra_selected: frozenset[int] = frozenset()
        self.project_path: str = ""

    # -- reads ----------------------------------------------------------------------------
    @property
    def phrases(self) -> list[MusicPhrase]:
        return self.segmentation.phrases if self.segmentation is not None else []

    @property
    def analysis(self) -> MusicAnalysis | None:
        return self.segmentation.analysis if self.segmentation is not None else None

    @property
    def selection(self) -> list[int]:
        """Every selected phrase in order (the current one plus Shift/Ctrl additions)."""
        if self.selected < 0:
            return []
        n = len(self.phrases)
        return sorted({self.selected, *(i for i in self.extra_selected if 0 <= i < n)})

    @property
    def ready(self) -> bool:
        """True once a choreography exists to edit."""
        return self.choreography is not None and self.segmentation is not None

    @property
    def dirty(self) -> bool:
        return not self.undo_stack.isClean()

    def phrase_at(self, time_s: float) -> int:
        for p in self.phrases:
            if p.start_s <= time_s < p.end_s:
                return p.index
        return len(self.phrases) - 1 if self.phrases and time_s >= self.phrases[-1].end_s else -1

    # -- writes (used by undo commands and by loading) ------------------------------------
    def clear(self, keep_history: bool = False) -> None:
        """Forget the song; ``keep_history`` keeps the undo stack (another song is opening
        and a cancel puts this one back, edits and all)."""
        if not keep_history:
            self.undo_stack.clear()
        self.audio = None
        self.song_path = ""
        self.segmentation = None
        self.choreography = None
        self.selected = -1
        self.extra_selected = frozenset()
        self.project_path = ""

    def set_audio(self, audio: Audio, song_path: str) -> None:
        self.audio = audio
        self.song_path = song_path
        self.audio_changed.emit()

    def set_segmentation(self, segmentation: Segmentation) -> None:
        """Install a segmentation and its choreography (segmentation edits, loading)."""
        self.segmentation = segmentation
        self.choreography = segmentation.choreography
        if self.selected >= len(segmentation.phrases):
            self.selected = len(segmentation.phrases) - 1
        self.extra_selected = frozenset()
        self.segmentation_changed.emit()
        self.choreography_changed.emit()
        self.selection_changed.emit(self.selected)

    def set_choreography(self, choreography: Choreography) -> None:
        """Install a choreography on the current segmentation (placement edits)."""
        if self.segmentation is None:
            raise RuntimeError("no segmentation to place a choreography on")
        if len(choreography) != len(self.segmentation.phrases):
            raise ValueError("choreography does not match the phrases")
        self.choreography = choreography
        self.segmentation = self.segmentation.with_choreography(choreography)
        self.choreography_changed.emit()

    def select(self, index: int, mode: str = "") -> None:
        """Select phrase ``index`` alone, or with ``mode`` "range" (Shift: every phrase from
        the current one to it) or "toggle" (Ctrl: add or drop it)."""
        n = len(self.phrases)
        index = -1 if n == 0 else min(max(index, 0), n - 1)
        before = (self.selected, self.extra_selected)
        if mode == "range" and self.selected >= 0 and index >= 0:
            lo, hi = sorted((self.selected, index))
            self.extra_selected = frozenset(range(lo, hi + 1)) - {index}
        elif mode == "toggle" and self.selected >= 0 and index >= 0:
            chosen = set(self.selection) ^ {index}
            if not chosen:
                return
            if index not in chosen:
                index = max(chosen)
            self.extra_selected = frozenset(chosen - {index})
        else:
            self.extra_selected = frozenset()
        self.selected = index
        if (self.selected, self.extra_selected) != before:
            self.selection_changed.emit(index)

    def set_selection(self, current: int, others: Iterable[int] = ()) -> None:
        """Select ``current`` with ``others`` besides it (a restored view); phrases that do
        not exist are left out."""
        n = len(self.phrases)
        if not 0 <= current < n:
            self.select(current)
            return
        before = (self.selected, self.extra_selected)
        self.selected = current
        self.extra_selected = frozenset(i for i in others if 0 <= i < n) - {current}
        if (self.selected, self.extra_selected) != before:
            self.selection_changed.emit(current)
