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

from choreo_studio.core.analysis.music_analysis import MetricalAlternative
from choreo_studio.core.errors import ChoreoError
from choreo_studio.editor import session_ops as ops
from choreo_studio.editor.document import Document, Segmentation
from choreo_studio.editor.prompter import NO, YES, Prompter
from choreo_studio.editor.tempo_tools import TapTempo
from choreo_studio.editor.time_format import where
from choreo_studio.editor.undo_commands import (
    SetChoreographyCommand,
    SetDecodeSettingsCommand,
    SetSegmentationCommand,
)

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

    def set_decode_options(self, options: Any) -> None:
        """Solve under ``options`` from now on and show them in the Choreography panel."""


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

    # -- selection -------------------------------------------------------------------------
    def select_all(self) -> None:
        """Ctrl+A: every phrase selected (the current one stays current)."""
        doc = self._doc
        doc.set_selection(max(doc.selected, 0), range(len(doc.phrases)))

    def extend_selection(self, step: int) -> None:
        """Shift+Left / Shift+Right: the selection grows by the phrase before its first or
        after its last one, which becomes current (its suggestions show)."""
        doc = self._doc
        chosen = doc.selection
        if not chosen:
            return
        edge = chosen[-1] + 1 if step > 0 else chosen[0] - 1
        if 0 <= edge < len(doc.phrases):
            doc.set_selection(edge, chosen)

    def toggle_lock(self) -> None:
        """Lock every selected phrase (unlock them when all are locked already)."""
        chosen, chor = self._doc.selection, self._doc.choreography
        lock = not all(chor[t].locked for t in chosen)
        self._set_locks(chosen, lock)

    def lock_selected(self) -> None:
        """Lock every selected phrase's dance."""
        self._set_locks(self._doc.selection, True)

    def unlock_selected(self) -> None:
        """Unlock every selected phrase's dance."""
        self._set_locks(self._doc.selection, False)

    def _set_locks(self, chosen: list[int], lock: bool) -> None:
        after = self._doc.choreography
        for t in chosen:
            after = after.with_placement(after[t].with_changes(locked=lock))
        verb = "Lock" if lock else "Unlock"
        self._push_choreography(after, f"{verb} {_phrases_text(chosen)}",
                                select=self._doc.selected)

    def resolve_selected(self) -> None:
        """Re-decode only the selected unlocked phrases, every other placement held."""
        self._solve_phrases(self._doc.selection, unlock=False)

    def clear_selected(self) -> None:
        """Drop the user's choices on the selected phrases: unlock them and let the model
        choose their dances again (the other phrases are held)."""
        self._solve_phrases(self._doc.selection, unlock=True)

    def _solve_phrases(self, chosen: list[int], *, unlock: bool) -> None:
        doc, engine = self._doc, self._host.engine
        seg, chor = doc.segmentation, doc.choreography
        if unlock:
            for t in chosen:
                chor = chor.with_placement(chor[t].with_changes(locked=False))
        elif all(chor[t].locked for t in chosen):
            self._host.say("the selected phrases are locked — unlock them (L) to re-solve")
            return
        original = doc.choreography
        text = f"{'Clear' if unlock else 'Re-solve'} {_phrases_text(chosen)}"

        def done(after) -> None:
            if self._doc.choreography is original:
                self._push_choreography(after, text, select=self._doc.selected)
            else:
                self._host.say(f"{text}: edited meanwhile — try again", 5000)

        self._host.run_job(text, EDIT_JOB,
                           lambda p: ops.solve_phrases(engine, seg, chor, chosen, p), done)

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

    # -- decoder weights (the unlocked phrases are re-solved under them, in the background) -
    def set_decode_setting(self, name: str, value: float) -> None:
        """Set one decoder weight (``session.DECODE_SETTINGS``) and re-solve the unlocked
        phrases under it: one undoable edit holding both (locked phrases keep their dance)."""
        doc, engine = self._doc, self._host.engine
        before = engine.options
        try:
            after = ops.session.with_decode_settings(before, {name: value})
        except ChoreoError as exc:
            self._reshow_weights()
            self._host.show_error(str(exc))
            return
        if after == before:
            return
        seg, chor, tie = doc.segmentation, doc.choreography, self._host.tie_sections()
        text = ops.session.setting_change_text(name, before, after)

        def done(solved) -> None:
            if self._doc.choreography is chor and self._host.engine.options is before:
                self._doc.undo_stack.push(SetDecodeSettingsCommand(
                    self._doc, self._host.set_decode_options, (before, after), (chor, solved),
                    text))
            else:
                self._reshow_weights()
                self._host.say(f"{text}: edited meanwhile — try again", 5000)

        def failed(message: str) -> None:
            self._reshow_weights()
            self._host.show_error(message)

        self._host.run_job(
            text, EDIT_JOB,
            lambda p: ops.solve(engine, seg, chor, tie_sections=tie, options=after, progress=p),
            done, on_error=failed, on_cancel=self._reshow_weights)

    def _reshow_weights(self) -> None:
        """Put the weights in use back on the panel (an edit of them was not applied)."""
        if self._host.engine is not None:
            self._host.set_decode_options(self._host.engine.options)

    # -- structure edits (local: only the phrases they touch are re-scored and re-solved) ---
    def _recut(self, label: str, make: Callable, describe: Callable[[Segmentation], str]
               ) -> None:
        """Run ``make(progress) -> Segmentation`` in a worker, then push it as one command
        whose History text is ``describe(after)`` (a no-op result pushes nothing)."""
        before = self._doc.segmentation

        def done(after: Segmentation) -> None:
            if self._doc.segmentation is not before:
                self._host.show_boundaries()
                self._host.say(f"{label}: the song changed meanwhile — try again", 5000)
                return
            if after is before:
                self._host.show_boundaries()
                self._host.say(f"{label}: nothing changed", 3000)
                return
            text = describe(after) + _flag_note(after)
            self._doc.undo_stack.push(SetSegmentationCommand(self._doc, before, after, text))
            if after.flagged:
                self._host.say(_flag_warning(after), 10000)

        def failed(message: str) -> None:
            self._host.show_boundaries()
            self._host.show_error(message)

        self._host.run_job(
            label, EDIT_JOB, make, done, on_error=failed, on_cancel=self._host.show_boundaries
        )

    def move_boundary(self, index: int, to_s: float) -> None:
        """A dragged boundary (the start of phrase ``index``) was dropped near ``to_s``: it
        alone moves, to the nearest downbeat between its neighbours' other ends."""
        doc = self._doc
        if not 0 < index < len(doc.phrases):
            return
        seg, engine = doc.segmentation, self._host.engine
        from_s, n = doc.phrases[index].start_s, len(doc.phrases)

        def describe(after: Segmentation) -> str:
            to = after.phrases[index].start_s
            return (f"Move boundary {index}|{index + 1} from {where(seg.analysis, from_s)} to "
                    f"{where(seg.analysis, to)}" + ("" if len(after.phrases) == n else
                                                    f" ({n} → {len(after.phrases)} phrases)"))

        self._recut(f"Move boundary {index}",
                    lambda p: ops.move_boundary(engine, seg, index, to_s, p), describe)

    def split_at_playhead(self) -> None:
        """Add exactly one boundary, at the downbeat nearest the playhead inside its phrase."""
        doc = self._doc
        at = self._host.playhead_s()
        seg, engine = doc.segmentation, self._host.engine
        t, n = ops.session.phrase_index_at(seg, at), len(doc.phrases)

        def describe(after: Segmentation) -> str:
            cut = after.phrases[t + 1].start_s
            return (f"Split phrase {t + 1} at {where(seg.analysis, cut)}: "
                    f"{n} → {len(after.phrases)} phrases")

        self._recut(f"Split phrase {t + 1}", lambda p: ops.split(engine, seg, at, p), describe)

    def merge_with_next(self) -> None:
        """Join the selected phrases (several adjacent ones), or the selected one and the next."""
        doc = self._doc
        chosen = doc.selection
        if len(chosen) > 1 and chosen != list(range(chosen[0], chosen[-1] + 1)):
            self._host.say("merge joins adjacent phrases — select a run with Shift+click")
            return
        first, last = (chosen[0], chosen[-1]) if len(chosen) > 1 else (doc.selected,
                                                                     doc.selected + 1)
        if last >= len(doc.phrases):
            self._host.say("the last phrase has no next one to merge with")
            return
        seg, engine, n = doc.segmentation, self._host.engine, len(doc.phrases)
        self._recut(
            f"Merge phrases {first + 1}–{last + 1}",
            lambda p: ops.merge(engine, seg, first, last, p),
            lambda after: f"Merge phrases {first + 1}–{last + 1}: {n} → "
                          f"{len(after.phrases)} phrases",
        )

    # -- tempo tools (they rebuild the cut: asked first) ------------------------------------
    def tap_tempo(self) -> None:
        """Ask for a tapped tempo; an accepted, different one re-times the song."""
        dialog = TapTempo(self._doc.analysis.tempo_bpm, self._host)
        if self._host.prompter.run_dialog(dialog):
            self.set_tempo(dialog.bpm)

    def _retime(self, label: str, what: str, **change: Any) -> None:
        """Re-track the grid under ``change`` after saying what it rebuilds; nothing at all
        when the grid would stay as it is."""
        doc, engine = self._doc, self._host.engine
        seg, audio = doc.segmentation, doc.audio
        if ops.retime_unchanged(seg, **change):
            self._host.say(f"{label}: unchanged — nothing re-analysed", 4000)
            return
        pins = len(seg.constraints.pinned_s)
        kept = (f" Your {pins} pinned boundar{'y' if pins == 1 else 'ies'} stay where "
                "they still fall on a bar line of the new grid." if pins else "")
        question = (f"{what} re-tracks the beats and re-cuts the whole song into phrases; "
                    f"phrases whose span changes get new dances (locked ones keep theirs and "
                    f"are flagged).{kept} Continue?")
        if self._host.prompter.ask(label, question, (YES, NO)) != YES:
            self._host.say(f"{label}: not applied", 3000)
            return
        n = len(seg.phrases)
        self._recut(label, lambda p: ops.retime(engine, seg, audio, p, **change),
                    lambda after: f"{label}: {n} → {len(after.phrases)} phrases")

    def set_tempo(self, bpm: float) -> None:
        """Re-time the beat grid to ``bpm``."""
        self._retime(f"Set tempo {bpm:.1f} BPM", f"Setting the tempo to {bpm:.1f} BPM",
                     tempo_bpm=bpm)

    def take_reading(self, reading: MetricalAlternative) -> None:
        """Re-time the grid to one of the analysis' other readings (half tempo, 6/8…)."""
        self._retime(f"Reading: {reading.kind} ({reading.tempo_bpm:.1f} BPM {reading.meter})",
                     f"Taking the reading {reading.kind}",
                     **ops.reading_request(self._doc.segmentation, reading))

    def set_first_downbeat(self) -> None:
        """Make the beat at the playhead the first downbeat."""
        at = self._host.playhead_s()
        self._retime(f"First downbeat at {where(self._doc.analysis, at)}",
                     "Moving the bar lines", first_downbeat_s=at)

    def set_meter(self, beats_per_bar: int) -> None:
        """Re-count the bars with ``beats_per_bar`` beats."""
        self._retime(f"Meter {beats_per_bar}/4", f"Counting {beats_per_bar} beats per bar",
                     beats_per_bar=beats_per_bar)


def _flag_note(after: Segmentation) -> str:
    """The History suffix naming locked phrases whose span changed."""
    if not after.flagged:
        return ""
    return " · locked " + ", ".join(str(t + 1) for t in after.flagged) + " changed span"


def _flag_warning(after: Segmentation) -> str:
    """What the status bar says about locked phrases whose span changed."""
    names = ", ".join(str(t + 1) for t in after.flagged)
    return (f"locked phrase{'s' if len(after.flagged) > 1 else ''} {names} changed span: the "
            "dance was kept but may no longer fit — check it, or unlock and re-solve")


def _phrases_text(chosen: list[int]) -> str:
    """"phrase 4", "phrases 4–6" or "phrases 2, 5, 9" (as the user numbers them)."""
    if len(chosen) == 1:
        return f"phrase {chosen[0] + 1}"
    if chosen == list(range(chosen[0], chosen[-1] + 1)):
        return f"phrases {chosen[0] + 1}–{chosen[-1] + 1}"
    return "phrases " + ", ".join(str(t + 1) for t in chosen)
