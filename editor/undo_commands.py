"""Every edit in the editor is one of these QUndoCommands.

Commands hold the state before and after the edit (choreographies are immutable; a
segmentation snapshot holds the analysis, phrases, features and scores together), so undo and
redo are instant and never recompute anything. Work that takes time (re-solving, re-segmenting)
runs before the command is pushed, in a worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from choreo_studio.core.choreography.placements import Choreography
from PySide6.QtGui import QUndoCommand

if TYPE_CHECKING:
    from choreo_studio.core.retrieval.decoding import DecodeOptions
    from choreo_studio.editor.document import Document, Segmentation


class SetChoreographyCommand(QUndoCommand):
    """Replace the choreography (swap, lock, re-solve, vary, ties, mirror…)."""

    def __init__(
        self,
        doc: Document,
        before: Choreography,
        after: Choreography,
        text: str,
        select: int | None = None,
    ) -> None:
        super().__init__(text)
        self._doc = doc
        self._before = before
        self._after = after
        self._select = select

    def redo(self) -> None:
        self._doc.set_choreography(self._after)
        self._reselect()

    def undo(self) -> None:
        self._doc.set_choreography(self._before)
        self._reselect()

    def _reselect(self) -> None:
        """Bring the edited phrase back into view (a multi-selection holding it stays)."""
        if self._select is not None and self._select not in self._doc.selection:
            self._doc.select(self._select)


class SetSegmentationCommand(QUndoCommand):
    """Replace the segmentation (moved / split / merged boundaries, tempo, downbeat, meter)."""

    def __init__(self, doc: Document, before: Segmentation, after: Segmentation, text: str) -> None:
        super().__init__(text)
        self._doc = doc
        self._before = before
        self._after = after

    def redo(self) -> None:
        self._doc.set_segmentation(self._after)

    def undo(self) -> None:
        self._doc.set_segmentation(self._before)


class SetDecodeSettingsCommand(QUndoCommand):
    """Change the decoder's weights together with the re-solve made under them."""

    def __init__(
        self,
        doc: Document,
        apply: Callable[[DecodeOptions], None],
        options: tuple[DecodeOptions, DecodeOptions],
        choreographies: tuple[Choreography, Choreography],
        text: str,
    ) -> None:
        super().__init__(text)
        self._doc = doc
        self._apply = apply
        self._options = options
        self._choreographies = choreographies

    def redo(self) -> None:
        self._apply(self._options[1])
        self._doc.set_choreography(self._choreographies[1])

    def undo(self) -> None:
        self._apply(self._options[0])
        self._doc.set_choreography(self._choreographies[0])
