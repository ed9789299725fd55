"""Keyboard shortcuts of the editor, in one table, and the sheet shown under Help."""

from __future__ import annotations

from html import escape

SHORTCUTS: dict[str, str] = {
    "open": "Ctrl+O",
    "save": "Ctrl+S",
    "save_as": "Ctrl+Shift+S",
    "export": "Ctrl+E",
    "quit": "Ctrl+Q",
    "undo": "Ctrl+Z",
    "redo": "Ctrl+Shift+Z",
    "play": "Space",
    "loop": "Ctrl+L",
    "metronome": "M",
    "prev": "Left",
    "next": "Right",
    "lock": "L",
    "resolve": "R",
    "vary": "V",
    "same": "S",
    "mirror": "Shift+M",
    "split": "Ctrl+B",
    "merge": "Ctrl+J",
    "tap": "T",
    "downbeat": "D",
    "zoom_fit": "Ctrl+0",
    "zoom_in": "Ctrl+=",
    "zoom_out": "Ctrl+-",
    "zoom_phrase": "Z",
    "help": "F1",
}

DESCRIPTIONS: dict[str, str] = {
    "open": "Open a song or a .choreo project",
    "save": "Save the project",
    "save_as": "Save the project as…",
    "export": "Export JSON timeline, BVH, glTF, CSV, MP4",
    "quit": "Quit",
    "undo": "Undo",
    "redo": "Redo (also Ctrl+Y)",
    "play": "Play / pause",
    "loop": "Loop the selected phrase",
    "metronome": "Metronome click on / off",
    "prev": "Select the previous phrase",
    "next": "Select the next phrase",
    "lock": "Lock / unlock the selected phrase",
    "resolve": "Re-solve every unlocked phrase",
    "vary": "Vary: sample another choreography for unlocked phrases",
    "same": "Same as section: repeat this dance in every repeat of the section",
    "mirror": "Mirror the selected dance left/right",
    "split": "Split the phrase at the playhead (on a downbeat)",
    "merge": "Merge the selected phrase with the next",
    "tap": "Tap tempo",
    "downbeat": "Set the first downbeat at the playhead",
    "zoom_fit": "Zoom to the whole song",
    "zoom_in": "Zoom in around the playhead",
    "zoom_out": "Zoom out around the playhead",
    "zoom_phrase": "Zoom to the selected phrase",
    "help": "This sheet",
}

EXTRA = (
    ("1 … 9", "Swap suggestion 1 … 9 onto the selected phrase"),
    ("Enter / double-click", "Swap in the highlighted suggestion"),
    ("Click a suggestion", "Audition it on the selected phrase"),
    ("Click the waveform", "Seek"),
    ("Wheel / drag", "Zoom / scroll the time axis"),
    ("Drag a yellow line", "Move a phrase boundary (snaps to downbeats)"),
    ("Esc", "Cancel the running job"),
)


def shortcut_sheet_html() -> str:
    """The shortcut sheet as an HTML table."""
    rows = [(SHORTCUTS[k], DESCRIPTIONS[k]) for k in SHORTCUTS] + list(EXTRA)
    body = "".join(f"<tr><td><b>{escape(k)}</b></td><td>{escape(d)}</td></tr>" for k, d in rows)
    return f"<table cellspacing='6'>{body}</table>"
