"""The keyboard shortcut sheet shown under Help, read from the one action table."""

from __future__ import annotations

from html import escape

from choreo_studio.editor.actions import ACTIONS

SHORTCUTS: dict[str, str] = {s.id: s.shortcuts[0] for s in ACTIONS if s.shortcuts and s.help}
"""Action id → its (first) key, for every action the sheet lists."""

DESCRIPTIONS: dict[str, str] = {s.id: s.help for s in ACTIONS if s.shortcuts and s.help}
"""Action id → the sheet's line for it."""

EXTRA = (
    ("1 … 9", "Swap suggestion 1 … 9 onto the selected phrase"),
    ("Enter / double-click", "Swap in the highlighted suggestion"),
    ("Click a suggestion", "Audition it on the selected phrase"),
    ("Click the waveform", "Seek"),
    ("Drag on the waveform or its ruler", "Set the play range (snaps to beats; Shift: free)"),
    ("Right-click the waveform", "Split / in / out / first downbeat there"),
    ("Wheel / middle-drag", "Zoom / scroll the time axis (or drag the phrase lane)"),
    ("Shift / Ctrl + click a block", "Select a run / add or drop a phrase"),
    ("Drag a library row onto a block", "Place that dance on the phrase"),
    ("Drag a yellow line", "Move a phrase boundary (snaps to downbeats)"),
    ("Esc", "Cancel the running job"),
)


def shortcut_sheet_html() -> str:
    """The shortcut sheet as an HTML table."""
    rows = [(SHORTCUTS[k], DESCRIPTIONS[k]) for k in SHORTCUTS] + list(EXTRA)
    body = "".join(f"<tr><td><b>{escape(k)}</b></td><td>{escape(d)}</td></tr>" for k, d in rows)
    return f"<table cellspacing='6'>{body}</table>"
