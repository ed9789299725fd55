"""The result of analysing a song: tempo, beats, downbeats, meter, onsets, melody and sections.

:class:`MusicAnalysis` is the shared data model the phrase segmenter, the features, the editor
and training read. Times are seconds; beats are indices into ``beats_s``. It round-trips
through JSON (``format_version``) so an analysis can be saved, shared and cached.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from choreo_studio.core.atomic_io import write_json_atomic
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.json_files import read_json_file

ANALYSIS_FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)  # version 1 lacks the meter text, tempo map, confidence, alternatives
UNSURE_CONFIDENCE = 0.15  # under this beat confidence the grid is a best guess: users are told


@dataclass(frozen=True)
class Section:
    """A long fragment of the song (verse, chorus…); repeated material shares ``label``."""

    start_s: float
    end_s: float
    label: str

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class MetricalAlternative:
    """Another reading of the beat grid, scored against the chosen one.

    ``score`` is the decoder's log-score difference per minute of music: 0 for a reading as good
    as the chosen grid, more negative for worse ones.
    """

    kind: str  # "half tempo", "double tempo", "x3/2 tempo", "3 beats per bar", "downbeat +1 beat"…
    tempo_bpm: float
    meter: str
    first_downbeat_s: float
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "tempo_bpm": self.tempo_bpm, "meter": self.meter,
                "first_downbeat_s": self.first_downbeat_s, "score": self.score}


@dataclass
class MusicAnalysis:
    """Everything the analysis found in one song.

    ``beats_s`` float64[B] beat times; ``downbeats`` int[D] indices into ``beats_s`` of the first
    beat of each bar; ``onset_env`` float32 onset strength sampled at ``onset_fps``;
    ``melody_hz`` float32 main-melody f0 at ``melody_fps`` (0 where unvoiced) with
    ``melody_voiced`` bool; ``sections`` cover ``[0, duration_s]`` in order.
    ``beats_per_bar`` counts beats of the beat unit (6/8 has 2 dotted-quarter beats per bar);
    ``time_signature`` is the meter's text (empty: ``beats_per_bar``/4); ``tempo_map`` float64
    [rows, 2] is (time_s, bpm) from each tempo change on; ``beat_confidence`` in [0, 1] says how
    sure the grid is; ``alternatives`` are the other readings with their scores.
    """

    song_hash: str
    duration_s: float
    tempo_bpm: float
    beats_s: np.ndarray
    downbeats: np.ndarray
    beats_per_bar: int
    onset_env: np.ndarray
    onset_fps: float
    onsets_s: np.ndarray
    melody_hz: np.ndarray
    melody_voiced: np.ndarray
    melody_fps: float
    sections: list[Section] = field(default_factory=list)
    beat_tracker: str = ""
    time_signature: str = ""
    tempo_map: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    beat_confidence: float = 1.0
    alternatives: list[MetricalAlternative] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tempo_map = np.asarray(self.tempo_map, dtype=np.float64).reshape(-1, 2)
        self.beats_s = np.asarray(self.beats_s, dtype=np.float64)
        self.downbeats = np.asarray(self.downbeats, dtype=np.int64)
        self.onset_env = np.asarray(self.onset_env, dtype=np.float32)
        self.onsets_s = np.asarray(self.onsets_s, dtype=np.float64)
        self.melody_hz = np.asarray(self.melody_hz, dtype=np.float32)
        self.melody_voiced = np.asarray(self.melody_voiced, dtype=bool)

    @property
    def n_beats(self) -> int:
        return int(self.beats_s.size)

    @property
    def n_bars(self) -> int:
        return int(self.downbeats.size)

    @property
    def meter(self) -> str:
        """Time signature as text, e.g. ``"4/4"``, ``"3/4"`` or ``"6/8"``."""
        return self.time_signature or f"{self.beats_per_bar}/4"

    @property
    def grid_unsure(self) -> bool:
        """Whether the beat grid is a best guess (weak pulse, or rival readings scoring about
        as well): the CLI and the editor then point the user at the alternatives."""
        return self.beat_confidence < UNSURE_CONFIDENCE

    def tempo_at(self, time_s: float) -> float:
        """Tempo (BPM) in force at ``time_s``: the tempo map's row, else the global tempo."""
        if self.tempo_map.shape[0] == 0:
            return float(self.tempo_bpm)
        row = int(np.searchsorted(self.tempo_map[:, 0], time_s, side="right")) - 1
        return float(self.tempo_map[max(row, 0), 1])

    @property
    def downbeats_s(self) -> np.ndarray:
        """Times (s) of the downbeats."""
        return self.beats_s[self.downbeats]

    def beat_at(self, time_s: float) -> int:
        """Index of the beat nearest to ``time_s``."""
        return int(np.argmin(np.abs(self.beats_s - time_s)))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (arrays as lists, floats rounded to what matters)."""
        return {
            "format_version": ANALYSIS_FORMAT_VERSION,
            "kind": "choreo-music-analysis",
            "song_hash": self.song_hash,
            "duration_s": round(float(self.duration_s), 6),
            "tempo_bpm": round(float(self.tempo_bpm), 4),
            "meter": self.meter,
            "beats_per_bar": int(self.beats_per_bar),
            "beat_tracker": self.beat_tracker,
            "beat_confidence": round(float(self.beat_confidence), 4),
            "tempo_map": [[round(float(t), 4), round(float(b), 3)] for t, b in self.tempo_map],
            "alternatives": [a.to_dict() for a in self.alternatives],
            "beats_s": _rounded(self.beats_s, 5),
            "downbeats": [int(i) for i in self.downbeats],
            "onsets_s": _rounded(self.onsets_s, 5),
            "onset_fps": float(self.onset_fps),
            "onset_env": _rounded(self.onset_env, 4),
            "melody_fps": float(self.melody_fps),
            "melody_hz": _rounded(self.melody_hz, 2),
            "melody_voiced": [bool(v) for v in self.melody_voiced],
            "sections": [
                {"start_s": round(s.start_s, 5), "end_s": round(s.end_s, 5), "label": s.label}
                for s in self.sections
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "analysis") -> MusicAnalysis:
        """Rebuild from :meth:`to_dict` output; a bad version or missing field is a ChoreoError."""
        version = data.get("format_version") if isinstance(data, dict) else None
        if version not in _READABLE_VERSIONS:
            raise ChoreoError(
                f"{source}: unsupported analysis format_version {version!r} (expected "
                f"{ANALYSIS_FORMAT_VERSION}) — re-run `choreo analyze` on the song"
            )
        try:
            return cls(
                song_hash=str(data["song_hash"]),
                duration_s=float(data["duration_s"]),
                tempo_bpm=float(data["tempo_bpm"]),
                beats_s=np.asarray(data["beats_s"], dtype=np.float64),
                downbeats=np.asarray(data["downbeats"], dtype=np.int64),
                beats_per_bar=int(data["beats_per_bar"]),
                onset_env=np.asarray(data["onset_env"], dtype=np.float32),
                onset_fps=float(data["onset_fps"]),
                onsets_s=np.asarray(data["onsets_s"], dtype=np.float64),
                melody_hz=np.asarray(data["melody_hz"], dtype=np.float32),
                melody_voiced=np.asarray(data["melody_voiced"], dtype=bool),
                melody_fps=float(data["melody_fps"]),
                sections=[
                    Section(float(s["start_s"]), float(s["end_s"]), str(s["label"]))
                    for s in data["sections"]
                ],
                beat_tracker=str(data.get("beat_tracker", "")),
                time_signature=str(data.get("meter", "")) if version >= 2 else "",
                tempo_map=np.asarray(data.get("tempo_map", []), dtype=np.float64),
                beat_confidence=float(data.get("beat_confidence", 1.0)),
                alternatives=[
                    MetricalAlternative(str(a["kind"]), float(a["tempo_bpm"]), str(a["meter"]),
                                        float(a["first_downbeat_s"]), float(a["score"]))
                    for a in data.get("alternatives", [])
                ],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ChoreoError(
                f"{source}: analysis file is incomplete or damaged ({exc!s}) — re-run "
                "`choreo analyze` on the song"
            ) from None

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write as JSON atomically."""
        return write_json_atomic(path, self.to_dict(), indent=None)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> MusicAnalysis:
        """Read a JSON file written by :meth:`save` (or ``choreo analyze -o``)."""
        file_path = Path(path)
        data = read_json_file(file_path, fix="re-run `choreo analyze`")
        return cls.from_dict(data, source=file_path.name)


def _rounded(values: np.ndarray, decimals: int) -> list[float]:
    return [float(v) for v in np.round(np.asarray(values, dtype=np.float64), decimals)]
