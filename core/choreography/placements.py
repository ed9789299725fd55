"""The choreography data model: which dance phrase plays on each music phrase, and how.

A :class:`Choreography` is what decoders produce, what the editor edits (one placement per
music phrase), what rendering turns into motion and what the timeline JSON stores.
Placements are immutable; edits make a new placement so undo/redo can keep the old one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from choreo_studio.core.json_files import (
    Where,
    require_bool,
    require_float,
    require_str,
)
from choreo_studio.core.library.tempo import BEATS_PER_COUNT_CHOICES

DEFAULT_BLEND_S = 0.25
"""Default crossfade length between consecutive dance phrases, in seconds."""
MAX_BLEND_S = 2.0
"""Longest crossfade the editor and the CLI offer, in seconds."""


@dataclass(frozen=True)
class Placement:
    """One dance phrase placed on one music phrase, with the user's settings for it.

    ``mirror`` plays the dance phrase mirrored left/right; ``mirror_on_repeat`` mirrors every
    other repetition when the music phrase is longer than the dance phrase; ``blend_s`` is the
    crossfade into this placement from the previous one. ``beats_per_count`` is 1 (a count per
    beat), 2 (half time) or 0.5 (double time); None chooses automatically from the song's and
    the dance's tempo when rendering. How well the dance fits (music fit, transitions) is not
    stored here: it depends on the model and the neighbours, so it is computed when shown
    (:class:`ScoreParts`).
    """

    phrase_index: int
    dance_id: str
    locked: bool = False
    mirror: bool = False
    blend_s: float = DEFAULT_BLEND_S
    mirror_on_repeat: bool = True
    beats_per_count: float | None = None

    def with_changes(self, **changes: object) -> Placement:
        """A copy with some fields changed (placements are immutable)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form every file uses (project, timeline); the phrase index is the row's."""
        return {
            "dance_id": self.dance_id,
            "locked": self.locked,
            "mirror": self.mirror,
            "blend_s": float(self.blend_s),
            "mirror_on_repeat": self.mirror_on_repeat,
            "beats_per_count": None if self.beats_per_count is None
            else float(self.beats_per_count),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], phrase_index: int, where: Where) -> Placement:
        """The placement on phrase ``phrase_index`` from :meth:`to_dict`'s form (typed fields;
        a wrong type or value is a one-line error naming ``where``'s file and field)."""
        per_count = data.get("beats_per_count")
        if per_count is not None:
            per_count = require_float(data, "beats_per_count", where)
            if per_count not in BEATS_PER_COUNT_CHOICES:
                raise where.at("beats_per_count").error(
                    f"must be one of {', '.join(f'{c:g}' for c in BEATS_PER_COUNT_CHOICES)} or "
                    f"null (got {per_count:g})")
        return cls(
            phrase_index=phrase_index,
            dance_id=require_str(data, "dance_id", where, max_len=1000),
            locked=require_bool(data, "locked", where, default=False),
            mirror=require_bool(data, "mirror", where, default=False),
            blend_s=require_float(data, "blend_s", where, default=DEFAULT_BLEND_S, lo=0.0,
                                  hi=MAX_BLEND_S),
            mirror_on_repeat=require_bool(data, "mirror_on_repeat", where, default=True),
            beats_per_count=per_count,
        )


@dataclass(frozen=True)
class ScoreParts:
    """Why a dance sits where it does: ``music_fit`` = P(d | u_t), ``transition_in`` =
    M(prev → d), ``transition_out`` = M(d → next) (None at the song's ends or when unknown)."""

    music_fit: float | None = None
    transition_in: float | None = None
    transition_out: float | None = None

    @property
    def score(self) -> float | None:
        """music_fit · transition_in · transition_out (missing transitions count 1)."""
        if self.music_fit is None:
            return None
        total = self.music_fit
        for part in (self.transition_in, self.transition_out):
            if part is not None:
                total *= part
        return total


@dataclass
class Choreography:
    """One placement per music phrase, in phrase order, with the scorer and decoder that made it.

    ``scorer`` names the model or matcher that scored music against dance (shown in CLI and UI);
    ``decoder`` names the decoding ("viterbi", "greedy", "vary", "manual" …); ``notes`` are
    free-form key/value notes that project files keep.
    """

    placements: list[Placement]
    scorer: str = "manual"
    decoder: str = "manual"
    notes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for i, p in enumerate(self.placements):
            if p.phrase_index != i:
                raise ValueError(f"placement {i} has phrase_index {p.phrase_index}; expected {i}")

    def __len__(self) -> int:
        return len(self.placements)

    def __iter__(self) -> Iterator[Placement]:
        return iter(self.placements)

    def __getitem__(self, index: int) -> Placement:
        return self.placements[index]

    @property
    def dance_ids(self) -> list[str]:
        """The dance phrase id on each music phrase."""
        return [p.dance_id for p in self.placements]

    @property
    def locked_indices(self) -> list[int]:
        """Indices of the music phrases whose placement the user locked."""
        return [p.phrase_index for p in self.placements if p.locked]

    def with_placement(self, placement: Placement) -> Choreography:
        """A new choreography with ``placement`` replacing the one on its phrase."""
        placements = list(self.placements)
        placements[placement.phrase_index] = placement
        return Choreography(placements, self.scorer, self.decoder, dict(self.notes))

    @classmethod
    def from_dance_ids(
        cls,
        dance_ids: Sequence[str],
        *,
        scorer: str = "manual",
        decoder: str = "manual",
        blend_s: float = DEFAULT_BLEND_S,
    ) -> Choreography:
        """A choreography placing ``dance_ids[i]`` on music phrase ``i`` with default settings."""
        placements = [Placement(i, str(d), blend_s=blend_s) for i, d in enumerate(dance_ids)]
        return cls(placements, scorer, decoder)
