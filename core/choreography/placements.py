"""The choreography data model: which dance phrase plays on each music phrase, and how.

A :class:`Choreography` is what decoders produce, what the editor edits (one placement per
music phrase), what rendering turns into motion and what the timeline JSON stores.
Placements are immutable; edits make a new placement so undo/redo can keep the old one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

DEFAULT_BLEND_S = 0.25
"""Default crossfade length between consecutive dance phrases, in seconds."""


@dataclass(frozen=True)
class Placement:
    """One dance phrase placed on one music phrase.

    ``mirror`` plays the dance phrase mirrored left/right; ``mirror_on_repeat`` mirrors every
    other repetition when the music phrase is longer than the dance phrase; ``blend_s`` is the
    crossfade into this placement from the previous one. The score parts are what the scorer and
    transition matrix said when this dance was chosen (None when unknown, e.g. typed by hand):
    ``music_fit`` = P(d | u_t), ``transition_in`` = M(prev → d), ``transition_out`` = M(d → next).
    ``beats_per_count`` is 1 (a count per beat), 2 (half time) or 0.5 (double time); None
    chooses automatically from the song's and the dance's tempo when rendering.
    """

    phrase_index: int
    dance_id: str
    locked: bool = False
    mirror: bool = False
    blend_s: float = DEFAULT_BLEND_S
    mirror_on_repeat: bool = True
    music_fit: float | None = None
    transition_in: float | None = None
    transition_out: float | None = None
    beats_per_count: float | None = None

    def with_changes(self, **changes: object) -> Placement:
        """A copy with some fields changed (placements are immutable)."""
        return replace(self, **changes)

    @property
    def score(self) -> float | None:
        """The combined score music_fit · transition_in · transition_out (missing parts count 1)."""
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
