"""The editor's edits: each user gesture becomes one undoable command.

Placement edits (swap, lock, mirror, blend, same-as-section) are computed at once and pushed;
solving and structure edits (re-solve, vary, move / split / merge boundaries, tempo, downbeat,
meter) run in a background job of kind ``"edit"`` and are pushed when it reports back — unless
the document changed meanwhile. When an edit may run is the action table's business
(:mod:`editor.actions`), so these handlers assume a choreography is open.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from choreo_studio.editor import session_ops as ops
from choreo_studio.editor.document import Document, Segmentation
from choreo_studio.editor.prompter import Prompter
from choreo_studio.editor.tempo_tools import TapTempo
from choreo_studio.editor.undo_commands import SetChoreographyCommand, SetSegmentationCommand

EDIT_JOB = "edit"


class EditHost(Protocol):
    """What the handlers need from the window around them (also the tap dialog's parent)."""

    doc: Document
    engine: ops.EngineState | None
    prompter: Prompter

    def run_job(self, label: str, kind: str, fn: Callable, on_done: Callable, **kw: Any) -> Any:
        """Run ``fn(progress)`` in the background with a progress bar (see MainWindow)."""

    def say(self, message: str, ms: int = 4000) -> None:
        """A transient status-bar message."""

    def show_error(self, message: str) -> None:
        """Tell the user what went wrong and what to do."""

    def playhead_s(self) -> float:
        """Where the playhead is, in seconds."""

    def snap_to_downbeat(self, time_s: float) -> float:
        """The downbeat nearest ``time_s``."""

    def show_boundaries(self) -> None:
        """Redraw the phrase boundaries from the document (after a dropped structure edit)."""

    def tie_sections(self) -> bool:
        """Whether repeated sections share dances when solving."""

    def suggestion_rows(self) -> list:
        """The rows the suggestions table shows for the selected phrase."""


class EditHandlers:
    """Turns gestures into commands on ``host.doc``'s undo stack."""

    def __init__(self, host: EditHost) -> None:
        self._host = host

    @property
    def _doc(self) -> Document:
        return self._host.doc

    # -- placement edits (instant) ---------------------------------------------------------
    def _push_choreography(self, after, text: str, select: int | None = None) -> None:
        before = self._doc.choreography
        if after.placements == before.placements:
            self._host.say(f"{text}: nothing changed", 3000)
            return
        self._doc.undo_stack.push(SetChoreographyCommand(self._doc, before, after, text, select))

    def swap_suggestion(self, row: int) -> None:
        """Swap the suggestion in ``row`` of the suggestions table onto the selected phrase."""
        rows = self._host.suggestion_rows()
        if 0 <= row < len(rows):
            self.place_dance(rows[row].dance_id)

    def place_dance(self, dance_id: str) -> None:
        """Swap ``dance_id`` onto the selected phrase (undoable; neighbours' scores refresh)."""
        doc, engine, t = self._doc, self._host.engine, self._doc.selected
        if doc.choreography[t].locked:
            self._host.say("phrase is locked — unlock it (L) to swap")
            return
        name = engine.library.phrase(dance_id).name
        after = ops.swap(engine, doc.segmentation, doc.choreography, t, dance_id)
        self._push_choreography(after, f"Swap phrase {t + 1} to {name}", select=t)

    def toggle_lock(self) -> None:
        """Lock or unlock the selected phrase's dance."""
        t = self._doc.selected
        p = self._doc.choreography[t]
        after = self._doc.choreography.with_placement(p.with_changes(locked=not p.locked))
        verb = "Unlock" if p.locked else "Lock"
        self._push_choreography(after, f"{verb} phrase {t + 1}", select=t)

    def toggle_mirror(self) -> None:
        """Mirror the selected phrase's dance left/right."""
        t = self._doc.selected
        p = self._doc.choreography[t]
        after = self._doc.choreography.with_placement(p.with_changes(mirror=not p.mirror))
        self._push_choreography(after, f"Mirror phrase {t + 1}", select=t)

    def edit_placement(self, name: str, value: object) -> None:
        """Change one field (blend_s, mirror, mirror_on_repeat) of the selected placement."""
        t = self._doc.selected
        p = self._doc.choreography[t]
        if p.locked:
            return
        after = self._doc.choreography.with_placement(p.with_changes(**{name: value}))
        label = {
            "blend_s": f"Blend {value:.2f} s",
            "mirror": "Mirror",
            "mirror_on_repeat": "Mirror on repeat",
        }[name]
        self._push_choreography(after, f"{label} on phrase {t + 1}", select=t)

    def same_as_section(self) -> None:
        """Put the selected phrase's dance on the same phrase of every repeat of its section."""
        doc, t = self._doc, self._doc.selected
        after, changed = ops.same_as_section(
            self._host.engine, doc.segmentation, doc.choreography, t
        )
        if not changed:
            self._host.say("no other unlocked repeat of this section phrase")
            return
        self._push_choreography(after, f"Same as section ({len(changed)} phrases)", select=t)

    # -- solving (background) ----------------------------------------------------------------
    def resolve_unlocked(self) -> None:
        """Re-decode every unlocked phrase (constrained Viterbi)."""
        self._solve("Re-solve unlocked", temperature=0.0)

    def vary(self) -> None:
        """Sample a different choreography for the unlocked phrases."""
        self._solve("Vary", temperature=1.0)

    def tie_changed(self, on: bool) -> None:
        """Say what the tie option will do at the next solve."""
        self._host.say(
            "repeated sections will share dances at the next re-solve / vary"
            if on
            else "repeated sections are solved independently"
        )

    def _solve(self, text: str, temperature: float) -> None:
        doc, engine = self._doc, self._host.engine
        seg, chor = doc.segmentation, doc.choreography
        tie = self._host.tie_sections()
        seed = int(time.time() * 1000) % (2**31)

        def done(after) -> None:
            if self._doc.choreography is chor:
                self._push_choreography(after, text)
            else:
                self._host.say(f"{text}: edited meanwhile — try again", 5000)

        self._host.run_job(
            text,
            EDIT_JOB,
            lambda p: ops.solve(
                engine, seg, chor, temperature=temperature, tie_sections=tie, seed=seed, progress=p
            ),
            done,
        )

    # -- structure edits (re-segment, re-solve only what changed) -------------------------
    def _resegment(self, text: str, make: Callable) -> None:
        """Run ``make(progress) -> Segmentation`` in a worker, then push it as one command."""
        before = self._doc.segmentation

        def done(after: Segmentation) -> None:
            if self._doc.segmentation is before:
                self._doc.undo_stack.push(SetSegmentationCommand(self._doc, before, after, text))
            else:
                self._host.show_boundaries()
                self._host.say(f"{text}: the song changed meanwhile — try again", 5000)

        def failed(message: str) -> None:
            self._host.show_boundaries()
            self._host.show_error(message)

        self._host.run_job(
            text, EDIT_JOB, make, done, on_error=failed, on_cancel=self._host.show_boundaries
        )

    def move_boundary(self, index: int, to_s: float) -> None:
        """A dragged boundary (the start of phrase ``index``) was dropped at ``to_s``."""
        doc = self._doc
        if not 0 < index < len(doc.phrases):
            return
        from_s = doc.phrases[index].start_s
        if abs(from_s - to_s) < 1e-3:
            return
        seg, engine = doc.segmentation, self._host.engine
        self._resegment(
            f"Move boundary {index}",
            lambda p: ops.resegment(engine, seg, seg.constraints.move(from_s, to_s), p),
        )

    def split_at_playhead(self) -> None:
        """Add a boundary at the downbeat nearest the playhead."""
        doc = self._doc
        at = self._host.snap_to_downbeat(self._host.playhead_s())
        t = doc.phrase_at(at)
        if t < 0 or abs(doc.phrases[t].start_s - at) < 1e-3:
            self._host.say("move the playhead inside a phrase to split it")
            return
        seg, engine = doc.segmentation, self._host.engine
        self._resegment(
            f"Split phrase {t + 1}",
            lambda p: ops.resegment(engine, seg, seg.constraints.pin(at), p),
        )

    def merge_with_next(self) -> None:
        """Remove the boundary between the selected phrase and the next."""
        doc, t = self._doc, self._doc.selected
        at = doc.phrases[t + 1].start_s
        seg, engine = doc.segmentation, self._host.engine
        self._resegment(
            f"Merge phrases {t + 1}–{t + 2}",
            lambda p: ops.resegment(engine, seg, seg.constraints.remove(at), p),
        )

    # -- tempo tools ----------------------------------------------------------------------
    def tap_tempo(self) -> None:
        """Ask for a tapped tempo; an accepted one re-times the song."""
        dialog = TapTempo(self._doc.analysis.tempo_bpm, self._host)
        if self._host.prompter.run_dialog(dialog):
            self.set_tempo(dialog.bpm)

    def set_tempo(self, bpm: float) -> None:
        """Re-time the beat grid to ``bpm``."""
        doc, engine = self._doc, self._host.engine
        seg, audio = doc.segmentation, doc.audio
        self._resegment(
            f"Set tempo {bpm:.1f} BPM", lambda p: ops.retime(engine, seg, audio, p, tempo_bpm=bpm)
        )

    def set_first_downbeat(self) -> None:
        """Make the beat at the playhead the first downbeat."""
        doc, engine = self._doc, self._host.engine
        at = self._host.playhead_s()
        seg, audio = doc.segmentation, doc.audio
        self._resegment(
            f"First downbeat at {at:.2f} s",
            lambda p: ops.retime(engine, seg, audio, p, first_downbeat_s=at),
        )

    def set_meter(self, beats_per_bar: int) -> None:
        """Re-count the bars with ``beats_per_bar`` beats."""
        doc, engine = self._doc, self._host.engine
        if beats_per_bar == doc.analysis.beats_per_bar:
            return
        seg, audio = doc.segmentation, doc.audio
        self._resegment(
            f"Meter {beats_per_bar}/4",
            lambda p: ops.retime(engine, seg, audio, p, beats_per_bar=beats_per_bar),
        )
