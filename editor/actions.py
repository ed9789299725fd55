"""Every editor action declared once: id, text, slot, shortcut, menu, toolbar, enabled-when.

The shape follows napari's app-model: an :class:`ActionSpec` is plain data, its ``enabled``
:class:`Rule` is a named predicate over a Qt-free :class:`EditorState`, and
:class:`ActionSet` turns the table into QActions, menus and the toolbar. Triggering an action
(from a key, a menu, a view's signal or a test) runs its slot only while its rule holds, so the
handlers need no "is a choreography open" guards of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QToolBar


@dataclass(frozen=True)
class EditorState:
    """What the enable rules look at: a snapshot of the document, undo stack and transport."""

    ready: bool = False
    selected: int = -1
    n_selected: int = 0
    n_phrases: int = 0
    playing: bool = False
    undo_text: str | None = None
    redo_text: str | None = None


@dataclass(frozen=True)
class Rule:
    """A named condition on the editor's state under which an action is enabled."""

    name: str
    test: Callable[[EditorState], bool]

    def __call__(self, state: EditorState) -> bool:
        return bool(self.test(state))


ALWAYS = Rule("always", lambda s: True)
READY = Rule("a choreography is open", lambda s: s.ready)
HAS_PHRASES = Rule("the song has phrases", lambda s: s.n_phrases > 0)
SELECTED = Rule("a phrase is selected", lambda s: s.ready and 0 <= s.selected < s.n_phrases)
HAS_NEXT = Rule(
    "several phrases are selected, or the selected one has a next one",
    lambda s: s.ready and 0 <= s.selected < s.n_phrases and (
        s.n_selected > 1 or s.selected < s.n_phrases - 1),
)
CAN_UNDO = Rule("there is an edit to undo", lambda s: s.undo_text is not None)
CAN_REDO = Rule("there is an edit to redo", lambda s: s.redo_text is not None)


@dataclass(frozen=True)
class ActionSpec:
    """One action. ``slot`` is a dotted attribute path on the window (``"edits.vary"``);
    ``args`` are passed to it (checkable actions outside a group get ``checked`` instead);
    ``menu`` is ``"&File"`` or a submenu path ``"&Tempo/Meter"``, ``section`` separates groups
    within it; ``toolbar`` orders the action on the toolbar (tens are separated groups);
    ``help`` is its line on the shortcut sheet (empty: not listed); ``label`` computes a text
    that follows the state (Play/Pause, Undo <edit>)."""

    id: str
    text: str
    slot: str
    shortcuts: tuple[str, ...] = ()
    menu: str = ""
    section: int = 0
    toolbar: int | None = None
    enabled: Rule = ALWAYS
    checkable: bool = False
    group: str = ""
    args: tuple[Any, ...] = ()
    tip: str = ""
    help: str = ""
    label: Callable[[EditorState], str] | None = None


def _undo_label(s: EditorState) -> str:
    return f"&Undo {s.undo_text}".rstrip() if s.undo_text is not None else "&Undo"


def _redo_label(s: EditorState) -> str:
    return f"&Redo {s.redo_text}".rstrip() if s.redo_text is not None else "&Redo"


A = ActionSpec
FILE, EDIT, PLAY, TEMPO, VIEW, LIBRARY, HELP = (
    "&File",
    "&Edit",
    "&Playback",
    "&Tempo",
    "&View",
    "&Library",
    "&Help",
)
MENU_ORDER = (FILE, EDIT, PLAY, TEMPO, VIEW, LIBRARY, HELP)

ACTIONS: tuple[ActionSpec, ...] = (
    # -- file
    A("open", "&Open…", "files.open_dialog", ("Ctrl+O",), FILE, 0, 10,
      help="Open a song or a .choreo project"),
    A("open_demo", "Open &demo song", "files.open_demo", menu=FILE),
    A("save", "&Save", "files.save", ("Ctrl+S",), FILE, 1, 11, READY, help="Save the project"),
    A("save_as", "Save &As…", "files.save_as", ("Ctrl+Shift+S",), FILE, 1, enabled=READY,
      help="Save the project as…"),
    A("export", "&Export…", "files.export_dialog", ("Ctrl+E",), FILE, 1, enabled=READY,
      help="Export JSON timeline, BVH, glTF, CSV, MP4"),
    A("quit", "&Quit", "close", ("Ctrl+Q",), FILE, 2, help="Quit"),
    # -- edit
    A("undo", "&Undo", "doc.undo_stack.undo", ("Ctrl+Z",), EDIT, 0, enabled=CAN_UNDO,
      help="Undo", label=_undo_label),
    A("redo", "&Redo", "doc.undo_stack.redo", ("Ctrl+Shift+Z", "Ctrl+Y"), EDIT, 0,
      enabled=CAN_REDO, help="Redo (also Ctrl+Y)", label=_redo_label),
    A("select_all", "Select all phrases", "edits.select_all", ("Ctrl+A",), EDIT, 1,
      enabled=SELECTED, help="Select every phrase (then L, Shift+R, Delete act on all)"),
    A("extend_prev", "Extend selection left", "edits.extend_selection", ("Shift+Left",), EDIT,
      1, enabled=SELECTED, args=(-1,), help="Add the phrase before the selection"),
    A("extend_next", "Extend selection right", "edits.extend_selection", ("Shift+Right",),
      EDIT, 1, enabled=SELECTED, args=(1,), help="Add the phrase after the selection"),
    A("lock", "Lock / unlock", "edits.toggle_lock", ("L",), EDIT, 1, 30, SELECTED,
      help="Lock / unlock the selected phrases"),
    A("lock_selected", "Lock", "edits.lock_selected", (), EDIT, 1, enabled=SELECTED),
    A("unlock_selected", "Unlock", "edits.unlock_selected", (), EDIT, 1, enabled=SELECTED),
    A("resolve_selected", "Re-solve selected", "edits.resolve_selected", ("Shift+R",), EDIT, 1,
      enabled=SELECTED, help="Re-solve only the selected phrases"),
    A("clear", "Clear selected (unlock, re-solve)", "edits.clear_selected", ("Delete",), EDIT,
      1, enabled=SELECTED, help="Clear the selected phrases: unlock and let the model choose"),
    A("mirror", "Mirror dance", "edits.toggle_mirror", ("Shift+M",), EDIT, 1, enabled=SELECTED,
      help="Mirror the selected dance left/right"),
    A("same", "Same as section", "edits.same_as_section", ("S",), EDIT, 1, 33, SELECTED,
      tip="repeat this dance on the same phrase of every repeat of this section",
      help="Same as section: repeat this dance in every repeat of the section"),
    A("resolve", "Re-solve unlocked", "edits.resolve_unlocked", ("R",), EDIT, 2, 31, READY,
      tip="re-decode every unlocked phrase (constrained Viterbi)",
      help="Re-solve every unlocked phrase"),
    A("vary", "Vary", "edits.vary", ("V",), EDIT, 2, 32, READY,
      tip="sample a different choreography for unlocked phrases",
      help="Vary: sample another choreography for unlocked phrases"),
    A("tie", "Tie repeated sections when solving", "edits.tie_changed", (), EDIT, 2,
      checkable=True,
      tip="re-solve and vary give the same phrase of every repeat of a section one dance"),
    A("split", "Split phrase at playhead", "edits.split_at_playhead", ("Ctrl+B",), EDIT, 3,
      enabled=READY, help="Split the phrase at the playhead (on a downbeat)"),
    A("merge", "Merge with next phrase", "edits.merge_with_next", ("Ctrl+J",), EDIT, 3,
      enabled=HAS_NEXT, help="Merge the selected phrases (or the selected one and the next)"),
    # -- playback
    A("play", "Play / Pause", "toggle_play", ("Space",), PLAY, 0, 20,
      help="Play / pause", label=lambda s: "Pause" if s.playing else "Play"),
    A("loop", "Loop selected phrase", "toggle_loop", ("Ctrl+L",), PLAY, 0, 21, checkable=True,
      help="Loop the selected phrase"),
    A("metronome", "Metronome", "transport.set_metronome", ("M",), PLAY, 0, 22,
      checkable=True, help="Metronome click on / off"),
    A("prev", "Previous phrase", "step_selection", ("Left",), PLAY, 1, enabled=HAS_PHRASES,
      args=(-1,), help="Select the previous phrase"),
    A("next", "Next phrase", "step_selection", ("Right",), PLAY, 1, enabled=HAS_PHRASES,
      args=(1,), help="Select the next phrase"),
    A("home", "Go to start", "go_to_end", ("Home",), PLAY, 1, enabled=HAS_PHRASES, args=(0,),
      help="Playhead to the start, first phrase selected"),
    A("end", "Go to end", "go_to_end", ("End",), PLAY, 1, enabled=HAS_PHRASES, args=(-1,),
      help="Playhead to the last phrase, last phrase selected"),
    A("ab", "A/B: current / candidate", "preview.toggle_ab", ("B",), PLAY, 2,
      tip="while auditioning: switch between the current dance (A) and the candidate (B)",
      help="While auditioning: switch between the current dance (A) and the candidate (B)"),
    A("mark_in", "Set play range in", "preview.mark_in", ("I",), PLAY, 3,
      help="Play range: in at the playhead (playback wraps from out to in)"),
    A("mark_out", "Set play range out", "preview.mark_out", ("O",), PLAY, 3,
      help="Play range: out at the playhead"),
    A("clear_range", "Clear play range", "preview.clear_range", ("Alt+I",), PLAY, 3,
      help="Clear the play range"),
    A("range_selection", "Play range to selected phrases", "range_to_selection", ("Shift+I",),
      PLAY, 3, enabled=SELECTED, help="Play range over the selected phrases"),
    A("slower", "Slower", "preview.step_speed", ("[",), PLAY, 4, args=(-1,),
      help="Play slower (1×, 0.75×, 0.5×; the pitch is kept)"),
    A("faster", "Faster", "preview.step_speed", ("]",), PLAY, 4, args=(1,),
      help="Play faster (up to 1×)"),
    *(
        A(f"speed_{round(100 * x)}", f"{x:g}×", "preview.set_speed", (), f"{PLAY}/Speed",
          checkable=True, group="speed", args=(x,))
        for x in (0.5, 0.75, 1.0)
    ),
    # -- tempo
    A("tap", "Tap tempo", "edits.tap_tempo", ("T",), TEMPO, 0, enabled=READY, help="Tap tempo"),
    A("downbeat", "Set first downbeat at playhead", "edits.set_first_downbeat", ("D",), TEMPO,
      0, enabled=READY, help="Set the first downbeat at the playhead"),
    *(
        A(f"meter_{b}", f"{b}/4", "edits.set_meter", (), f"{TEMPO}/Meter", enabled=READY,
          checkable=True, group="meter", args=(b,))
        for b in (2, 3, 4, 6)
    ),
    # -- view
    A("zoom_in", "Zoom in", "zoom", ("Ctrl+=",), VIEW, 0, args=(0.5,),
      help="Zoom in around the playhead"),
    A("zoom_out", "Zoom out", "zoom", ("Ctrl+-",), VIEW, 0, args=(2.0,),
      help="Zoom out around the playhead"),
    A("zoom_phrase", "Zoom to selected phrase", "zoom_phrase", ("Z",), VIEW, 0,
      enabled=SELECTED, help="Zoom to the selected phrase"),
    A("zoom_fit", "Zoom to song", "zoom_fit", ("Ctrl+0",), VIEW, 0,
      help="Zoom to the whole song"),
    A("capsule", "Capsule character", "preview.set_capsules", (), VIEW, 1, checkable=True,
      tip="draw the dancer in the 3D view as capsules instead of a stick figure"),
    # -- library / model
    A("choose_library", "Use dance library folder…", "files.choose_library", menu=LIBRARY),
    A("demo_library", "Use the bundled demo library", "files.use_engine", menu=LIBRARY,
      args=("", None)),
    A("choose_model", "Use model bundle…", "files.choose_model", menu=LIBRARY, section=1),
    A("best_model", "Use the best model for the library", "files.use_engine", menu=LIBRARY,
      section=1, args=(None, "")),
    # -- help, and actions with keys but no menu
    A("help", "Keyboard shortcuts", "show_shortcuts", ("F1",), HELP, help="This sheet"),
    A("cancel", "Cancel", "cancel_job", ("Escape",)),
    *(
        A(f"swap_{n}", f"Swap in suggestion {n}", "edits.swap_suggestion", (str(n),),
          enabled=SELECTED, args=(n - 1,))
        for n in range(1, 10)
    ),
    # -- commands the views trigger (no key, no menu)
    A("swap", "Swap in a suggestion", "edits.swap_suggestion", enabled=SELECTED),
    A("place", "Place dance on the selected phrase", "edits.place_dance", enabled=SELECTED),
    A("edit_placement", "Edit the selected placement", "edits.edit_placement", enabled=SELECTED),
    A("decode_setting", "Set a decoder weight", "edits.set_decode_setting", enabled=READY),
    A("move_boundary", "Move a phrase boundary", "edits.move_boundary", enabled=READY),
    A("set_range", "Set the play range", "set_play_range"),
    A("audition_dance", "Audition a dance on the selected phrase", "audition_dance",
      enabled=SELECTED),
    A("audition_phrase", "Play a phrase", "audition_phrase", enabled=HAS_PHRASES),
)  # fmt: skip


def spec(action_id: str) -> ActionSpec:
    """The declaration of ``action_id`` (KeyError names unknown ids)."""
    for s in ACTIONS:
        if s.id == action_id:
            return s
    raise KeyError(action_id)


def _resolve(root: object, dotted: str) -> Callable[..., Any]:
    target = root
    for part in dotted.split("."):
        target = getattr(target, part)
    return target


class ActionSet(QObject):
    """The QActions of :data:`ACTIONS` on one window, their menus, toolbar and enable state."""

    def __init__(
        self,
        window: Any,
        state: Callable[[], EditorState],
        specs: tuple[ActionSpec, ...] = ACTIONS,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._state = state
        self._specs = {s.id: s for s in specs}
        self._actions: dict[str, QAction] = {}
        self._groups: dict[str, QActionGroup] = {}
        for s in specs:
            self._actions[s.id] = self._make(s)

    def _make(self, s: ActionSpec) -> QAction:
        action = QAction(s.text, self._window)
        if s.shortcuts:
            action.setShortcuts([QKeySequence(k) for k in s.shortcuts])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(s.checkable)
        if s.tip:
            action.setStatusTip(s.tip)
            action.setToolTip(s.tip)
        if s.group:
            group = self._groups.get(s.group) or QActionGroup(self._window)
            self._groups[s.group] = group
            group.addAction(action)
        passes_checked = s.checkable and not s.group
        action.triggered.connect(
            lambda checked=False, i=s.id: self.run(i, checked) if passes_checked else self.run(i)
        )
        self._window.addAction(action)
        return action

    def __getitem__(self, action_id: str) -> QAction:
        return self._actions[action_id]

    def enabled(self, action_id: str) -> bool:
        """Whether the action's rule holds now."""
        return self._specs[action_id].enabled(self._state())

    def run(self, action_id: str, *args: Any) -> Any:
        """Call the action's slot with ``args`` (else its declared args) if its rule holds."""
        s = self._specs[action_id]
        if not s.enabled(self._state()):
            return None
        return _resolve(self._window, s.slot)(*(args or s.args))

    def refresh(self) -> None:
        """Apply every rule and dynamic label to the QActions."""
        state = self._state()
        for s in self._specs.values():
            action = self._actions[s.id]
            action.setEnabled(s.enabled(state))
            if s.label is not None:
                action.setText(s.label(state))

    def fill_menus(self, bar: QMenuBar) -> dict[str, QMenu]:
        """Build the menu bar from the table; returns the menus by path (``"&Tempo/Meter"``)."""
        menus: dict[str, QMenu] = {name: bar.addMenu(name) for name in MENU_ORDER}
        sections: dict[str, int] = {}
        for s in self._specs.values():
            if not s.menu:
                continue
            menu = menus.get(s.menu)
            if menu is None:
                parent, _, name = s.menu.rpartition("/")
                menu = menus[s.menu] = menus[parent].addMenu(name)
            if s.menu in sections and sections[s.menu] != s.section:
                menu.addSeparator()
            sections[s.menu] = s.section
            menu.addAction(self._actions[s.id])
        return menus

    def fill_toolbar(self, toolbar: QToolBar) -> None:
        """Put the toolbar actions in their order, a separator after each group of ten."""
        placed = sorted((s for s in self._specs.values() if s.toolbar is not None),
                        key=lambda s: s.toolbar)  # fmt: skip
        group = None
        for s in placed:
            if group is not None and s.toolbar // 10 != group:
                toolbar.addSeparator()
            group = s.toolbar // 10
            toolbar.addAction(self._actions[s.id])
        toolbar.addSeparator()
