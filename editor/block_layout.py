"""The timeline's blocks built from the document: names, colours per dance and tooltips.

:class:`BlockMaker` keeps what it made between refreshes: a dance keeps its shade within its
style for as long as it is placed (a new dance takes the first shade no other placed dance of
that style has), and a block whose phrase, placement and fit are unchanged is the same object
as before. So a swap changes exactly one block and the lane repaints only that one.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from choreo_studio.editor.time_format import mmss, where
from choreo_studio.editor.timeline_view import Block


def selection_runs(chosen: list[int]) -> list[tuple[int, int]]:
    """The selected phrases as runs of neighbours: [1, 2, 3, 7] → [(1, 3), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for t in sorted(chosen):
        if runs and t == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], t)
        else:
            runs.append((t, t))
    return runs


def short_name(name: str) -> str:
    """A dance name as the timeline shows it: the part before any ``:`` description."""
    return name.split(":", 1)[0].strip() or name


def block_description(phrase, placement, dance, part, analysis, flagged: bool) -> str:
    """A block's tooltip: the full dance description and where the phrase is."""
    name = dance.name if dance else f"{placement.dance_id} (not in the library)"
    lines = [f"<b>{escape(f'{phrase.index + 1}: {name}')}</b>"]  # a name may hold < or &
    if dance:
        lines.append(escape(f"{dance.style} · {dance.energy_label} · {dance.n_counts} counts"
                            + (f" · tags: {', '.join(dance.tags)}" if dance.tags else "")))
    fit = "" if part.music_fit is None else f"music fit {100 * part.music_fit:.0f}% · "
    lines.append(f"{fit}section {phrase.section_label} · {phrase.n_bars} bars · "
                 f"{where(analysis, phrase.start_s)} – {mmss(phrase.end_s)}")
    if placement.locked:
        lines.append("locked" + (" — its span changed: check the dance still fits"
                                 if flagged else ""))
    if placement.mirror:
        lines.append("mirrored")
    return "<br>".join(lines)


class BlockMaker:
    """Blocks for the lane with shades that stay put and blocks reused when unchanged."""

    def __init__(self) -> None:
        self._variants: dict[str, dict[str, int]] = {}
        self._made: dict[tuple, Block] = {}
        self._analysis: Any = None

    def blocks(self, engine: Any, seg: Any, chor: Any, parts: Sequence[Any]) -> list[Block]:
        """One block per placement of ``chor`` on ``seg``'s phrases (``parts``: their fits)."""
        if seg.analysis is not self._analysis:
            self._analysis, self._made = seg.analysis, {}
        dances = [engine.dance(p.dance_id) for p in chor.placements]
        styles = [d.style if d else "?" for d in dances]
        self._keep_placed(chor.placements, styles)
        made, blocks = {}, []
        for phrase, placement, part, dance, style in zip(seg.phrases, chor.placements, parts,
                                                         dances, styles, strict=True):
            variant = self._variant(style, placement.dance_id)
            flagged = phrase.index in seg.flagged
            key = (phrase.index, phrase.start_s, phrase.end_s, phrase.section_label,
                   phrase.n_bars, placement, part.music_fit, variant, flagged,
                   dance.name if dance else "")
            block = self._made.get(key)
            if block is None:
                name = dance.name if dance else placement.dance_id
                mirror = " ⇋" if placement.mirror else ""
                block = Block(phrase.start_s, phrase.end_s, name + mirror, style,
                              placement.locked, part.music_fit, phrase.section_label,
                              short=short_name(name) + mirror, variant=variant, flagged=flagged,
                              description=block_description(phrase, placement, dance, part,
                                                            seg.analysis, flagged))
            made[key] = block
            blocks.append(block)
        self._made = made
        return blocks

    def _keep_placed(self, placements: Sequence[Any], styles: Sequence[str]) -> None:
        """Forget the shades of dances no longer placed (their shade is free again)."""
        placed: dict[str, set[str]] = {}
        for placement, style in zip(placements, styles, strict=True):
            placed.setdefault(style, set()).add(placement.dance_id)
        self._variants = {style: {d: v for d, v in of_style.items() if d in placed[style]}
                          for style, of_style in self._variants.items() if style in placed}

    def _variant(self, style: str, dance_id: str) -> int:
        """The dance's shade index in its style: the one it had, else the first free one."""
        of_style = self._variants.setdefault(style, {})
        if dance_id not in of_style:
            used = set(of_style.values())
            of_style[dance_id] = next(v for v in range(len(used) + 1) if v not in used)
        return of_style[dance_id]
