"""A song opened for choreography: its audio, analysis, phrases and per-phrase features.

:func:`open_song` (added with the analysis pipeline) builds a :class:`Song` from a file and
caches the analysis and features by content hash, so opening the same song again is instant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.audio import Audio
from core.features import SongFeatures
from core.music_analysis import MusicAnalysis
from core.phrases import MusicPhrase, SegmentConstraints


@dataclass
class Song:
    """Everything the engine and the editor need about one song."""

    audio: Audio
    analysis: MusicAnalysis
    phrases: list[MusicPhrase]
    features: SongFeatures
    constraints: SegmentConstraints = field(default_factory=SegmentConstraints)

    @property
    def content_hash(self) -> str:
        return self.audio.content_hash
