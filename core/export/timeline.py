"""The phrase timeline as JSON: export for game engines, reload in the editor, labels for training.

The format is described by ``resources/schemas/timeline.schema.json`` (``format_version`` 2:
per placement the clip, its plays with in-point, play rate and warp map, blends, style, energy
and tags; the sections, the tempo map, the per-dance clips and the exported files). Version-1
files are migrated when read (:func:`migrate_timeline`). Reading validates against the schema
and checks the timing is consistent, so a bad file is a one-line :class:`ChoreoError` naming
the file, the place and what to do.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import numpy as np
from choreo_studio.core import __version__
from choreo_studio.core.atomic_io import write_json_atomic
from choreo_studio.core.choreography.beat_warp import repeat_count, resolved_beats_per_count
from choreo_studio.core.choreography.placements import Choreography, Placement, ScoreParts
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.json_files import Where, read_json_file
from choreo_studio.core.library.library import Library

if TYPE_CHECKING:
    from choreo_studio.core.analysis.music_analysis import MusicAnalysis
    from choreo_studio.core.export.clips import ClipFiles
    from choreo_studio.core.phrases.segmentation import MusicPhrase

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
KIND = "choreo-timeline"


@lru_cache(maxsize=1)
def timeline_schema() -> dict[str, Any]:
    """The shipped JSON Schema of the timeline format."""
    schemas = resources.files("choreo_studio.resources") / "schemas"
    text = (schemas / "timeline.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _timeline_validator() -> jsonschema.Draft202012Validator:
    """One validator for the shipped schema, built once: it keeps the references it resolved
    (a fresh validator per export spent ~40 % of the validation resolving them again)."""
    return jsonschema.Draft202012Validator(timeline_schema())


@dataclass(frozen=True)
class TimelinePhrase:
    """One row of a timeline file: a music phrase's timing and the dance placed on it."""

    index: int
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int
    start_beat: int
    end_beat: int
    n_bars: int
    section_label: str
    dance_id: str
    dance_name: str
    repeats: int

    def music_phrase(self) -> MusicPhrase:
        """This row as the :class:`MusicPhrase` it was exported from (times and beats as the
        user left them): what ``choreo eval`` renders and training featurises."""
        from choreo_studio.core.phrases.segmentation import MusicPhrase

        return MusicPhrase(self.index, self.start_beat, self.end_beat, self.start_s, self.end_s,
                           self.n_bars, self.section_label)


@dataclass
class Timeline:
    """A timeline file read back: song timing, library identity, phrases and the choreography."""

    song_hash: str
    song_name: str
    duration_s: float
    tempo_bpm: float
    beats_per_bar: int
    beats_s: np.ndarray
    downbeats: np.ndarray
    library_name: str
    library_fingerprint: str
    library_n_phrases: int
    fps: float
    phrases: list[TimelinePhrase]
    choreography: Choreography
    sections: list[tuple[float, float, str]] = field(default_factory=list)

    def labels(self) -> list[tuple[float, float, str]]:
        """``(start_s, end_s, dance_id)`` per music phrase: the form training uses as labels."""
        return [(p.start_s, p.end_s, p.dance_id) for p in self.phrases]

    def music_phrases(self) -> list[MusicPhrase]:
        """Every row as its :class:`MusicPhrase`."""
        return [p.music_phrase() for p in self.phrases]


def _score(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _song_block(analysis: MusicAnalysis, song_name: str) -> dict[str, Any]:
    """The song's identity and beat grid (downbeats as indices and times, the tempo map)."""
    beats = np.asarray(analysis.beats_s, dtype=np.float64)
    downbeats = [int(i) for i in analysis.downbeats if 0 <= int(i) < beats.size]
    tempo_map = np.asarray(getattr(analysis, "tempo_map", np.zeros((0, 2))),
                           dtype=np.float64).reshape(-1, 2)
    return {
        "hash": str(analysis.song_hash),
        "name": song_name,
        "duration_s": float(analysis.duration_s),
        "tempo_bpm": float(analysis.tempo_bpm),
        "beats_per_bar": int(analysis.beats_per_bar),
        "time_signature": str(getattr(analysis, "time_signature", "") or ""),
        "beats_s": [round(float(b), 6) for b in beats],
        "downbeats": downbeats,
        "downbeats_s": [round(float(beats[i]), 6) for i in downbeats],
        "tempo_map": [{"start_s": round(float(t), 4), "bpm": round(float(b), 3)}
                      for t, b in tempo_map],
    }


def sections_from_phrases(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sections as runs of consecutive phrases with one label (when the analysis has none)."""
    out: list[dict[str, Any]] = []
    for row in rows:
        label = str(row.get("section_label", ""))
        if out and out[-1]["label"] == label:
            out[-1]["end_s"] = float(row["end_s"])
        else:
            out.append({"index": len(out), "start_s": float(row["start_s"]),
                        "end_s": float(row["end_s"]), "label": label})
    return out


def _sections(analysis: MusicAnalysis, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    sections = list(getattr(analysis, "sections", None) or [])
    if not sections:
        return sections_from_phrases(rows)
    return [{"index": i, "start_s": round(float(s.start_s), 6), "end_s": round(float(s.end_s), 6),
             "label": str(s.label)} for i, s in enumerate(sections)]


def timeline_to_dict(
    choreography: Choreography,
    analysis: MusicAnalysis,
    phrases: Sequence[MusicPhrase],
    library: Library | None = None,
    *,
    fps: float = 30.0,
    song_name: str = "",
    parts: Sequence[ScoreParts] | None = None,
    files: Mapping[str, str] | None = None,
    clip_files: ClipFiles | None = None,
) -> dict[str, Any]:
    """The JSON object of a timeline (see the schema); ``library`` supplies names, lengths and
    the clips, ``parts`` the score parts the model gives each placement (null scores without
    it), ``files`` the arrangement's exported files (kind → name) and ``clip_files`` which
    clip files were exported with it."""
    from choreo_studio.core.export.clips import (
        CLIPS_FBX,
        CLIPS_GLB,
        arrangement_files,
        blend_spans,
        clip_entries,
        clip_names,
        placement_plays,
        used_dances,
    )

    if len(phrases) != len(choreography):
        raise ValueError(f"{len(phrases)} music phrases but {len(choreography)} placements")
    by_id = {str(d.id): d for d in library.phrases} if library is not None else {}
    parts = list(parts) if parts is not None else [ScoreParts()] * len(choreography)
    used = [d for d in used_dances(choreography) if d in by_id]
    names = clip_names(used)
    with_motion = isinstance(library, Library)  # clips and plays need the dances' motion
    plays = (placement_plays(choreography, analysis.beats_s, phrases, library)
             if with_motion and len(used) == len(set(choreography.dance_ids))
             else [None] * len(choreography))
    rows = []
    for phrase, placement, part, play, (blend_in, blend_out) in zip(
            phrases, choreography.placements, parts, plays, blend_spans(choreography),
            strict=True):
        dance = by_id.get(placement.dance_id)
        n_beats = int(phrase.end_beat) - int(phrase.start_beat)
        per_count = 1.0 if placement.beats_per_count is None else placement.beats_per_count
        if dance is not None:
            per_count = resolved_beats_per_count(placement, phrase, dance)
        row = {
            "index": int(phrase.index),
            "start_s": float(phrase.start_s),
            "end_s": float(phrase.end_s),
            "start_frame": int(round(phrase.start_s * fps)),
            "end_frame": int(round(phrase.end_s * fps)),
            "start_beat": int(phrase.start_beat),
            "end_beat": int(phrase.end_beat),
            "n_bars": int(phrase.n_bars),
            "section_label": str(phrase.section_label),
            **placement.to_dict(),
            "dance_name": str(dance.name) if dance is not None else placement.dance_id,
            "repeats": repeat_count(n_beats, int(dance.n_counts), per_count)
            if dance is not None else 1,
            "beats_per_count": per_count,
            "beats_per_count_auto": placement.beats_per_count is None,
            "blend_in_s": blend_in,
            "blend_out_s": blend_out,
            "scores": {
                "music_fit": _score(part.music_fit),
                "transition_in": _score(part.transition_in),
                "transition_out": _score(part.transition_out),
            },
        }
        if with_motion and dance is not None:
            row.update({"clip": names[dance.id], "style": str(dance.style),
                        "energy": int(dance.energy), "tags": [str(t) for t in dance.tags]})
        if play is not None:
            row["plays"] = play
        rows.append(row)
    out_files: dict[str, Any] = {}
    if files:
        out_files["arrangement"] = arrangement_files(files)
    if clip_files is not None:
        out_files["clips"] = {"glb": CLIPS_GLB if clip_files.glb in ("one", "both") else None,
                              "bvh_unit": clip_files.unit}
        if clip_files.fbx:
            out_files["clips"]["fbx"] = CLIPS_FBX
    return {
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        "generator": f"choreo-studio {__version__}",
        "song": _song_block(analysis, song_name),
        "sections": _sections(analysis, rows),
        "library": {
            "name": str(library.name) if library is not None else "",
            "fingerprint": str(library.fingerprint) if library is not None else "",
            "n_phrases": len(library.phrases) if library is not None else 0,
        },
        "fps": float(fps),
        "scorer": choreography.scorer,
        "decoder": choreography.decoder,
        "files": out_files,
        "clips": clip_entries(library, used, clip_files) if with_motion else [],
        "phrases": rows,
    }


def write_timeline(
    path: str | os.PathLike[str],
    choreography: Choreography,
    analysis: MusicAnalysis,
    phrases: Sequence[MusicPhrase],
    library: Library | None = None,
    *,
    fps: float = 30.0,
    song_name: str = "",
) -> Path:
    """Validate and atomically write the timeline JSON of ``choreography`` to ``path``."""
    obj = timeline_to_dict(
        choreography, analysis, phrases, library, fps=fps, song_name=song_name
    )
    validate_timeline(obj, str(path))
    return write_json_atomic(path, obj)


def _where(error: jsonschema.ValidationError) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "top level"


def validate_timeline(obj: Any, source: str = "timeline") -> None:
    """Raise a one-line :class:`ChoreoError` if ``obj`` is not a consistent timeline."""
    fix = "export the timeline again from Choreo Studio or fix that field"
    if not isinstance(obj, dict):
        raise ChoreoError(f"{source}: not a Choreo Studio timeline (not a JSON object) — {fix}")
    version = obj.get("format_version")
    if version != FORMAT_VERSION:
        raise ChoreoError(
            f"{source}: timeline format_version {version!r} is not supported (this version reads "
            f"{', '.join(map(str, READABLE_VERSIONS))}) — export it again with this version of "
            "Choreo Studio"
        )
    error = jsonschema.exceptions.best_match(_timeline_validator().iter_errors(obj))
    if error is not None:
        raise ChoreoError(f"{source}: {_where(error)}: {error.message} — {fix}")
    check_timeline_timing(obj, source)


def check_timeline_timing(obj: dict[str, Any], source: str = "timeline") -> None:
    """Raise a one-line :class:`ChoreoError` if a timeline's beats or phrase times are not
    consistent (the part of :func:`validate_timeline` a schema cannot say; the whole check for
    a timeline this module just built, whose shape the schema tests cover)."""
    fix = "export the timeline again from Choreo Studio or fix that field"
    n_beats = len(obj["song"]["beats_s"])
    beats = obj["song"]["beats_s"]
    if obj["phrases"] and len(beats) < 2:
        raise ChoreoError(f"{source}: song/beats_s: {len(beats)} beats under "
                          f"{len(obj['phrases'])} phrases — {fix}")
    if any(later <= earlier for earlier, later in zip(beats, beats[1:], strict=False)):
        raise ChoreoError(f"{source}: song/beats_s: the beat times are not increasing — {fix}")
    if any(d >= n_beats for d in obj["song"].get("downbeats", [])):  # also bounds huge ints
        raise ChoreoError(f"{source}: song/downbeats: an index past the song's {n_beats} beats "
                          f"— {fix}")
    previous_end = 0.0
    for i, row in enumerate(obj["phrases"]):
        where = f"{source}: phrases/{i}"
        if row["index"] != i:
            raise ChoreoError(f"{where}: index is {row['index']}, expected {i} — {fix}")
        if not row["end_s"] > row["start_s"]:
            raise ChoreoError(f"{where}: end_s {row['end_s']} is not after start_s — {fix}")
        if not row["end_beat"] > row["start_beat"]:
            raise ChoreoError(f"{where}: end_beat is not after start_beat — {fix}")
        if n_beats and row["end_beat"] > n_beats:
            raise ChoreoError(
                f"{where}: end_beat {row['end_beat']} is past the song's {n_beats} beats — {fix}"
            )
        if row["start_s"] < previous_end - 1e-6:
            raise ChoreoError(f"{where}: starts before the previous phrase ends — {fix}")
        previous_end = row["end_s"]


def migrate_timeline(obj: Any) -> Any:
    """A version-1 timeline as version 2 (sections from the phrases' labels, no clips or files;
    the rest of version 2 is optional); other objects are returned unchanged."""
    def number(value: Any) -> bool:  # migrated before validation: hostile rows stay unmigrated
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    if not (isinstance(obj, dict) and type(obj.get("format_version")) is int
            and obj.get("format_version") == 1 and isinstance(obj.get("phrases"), list)
            and all(isinstance(r, dict) and number(r.get("start_s")) and number(r.get("end_s"))
                    for r in obj["phrases"])):
        return obj
    out = dict(obj, format_version=FORMAT_VERSION)
    out.setdefault("sections", sections_from_phrases(obj["phrases"]))
    out.setdefault("files", {})
    out.setdefault("clips", [])
    return out


def timeline_from_dict(obj: Any, source: str = "timeline") -> Timeline:
    """Validate a parsed timeline JSON object (version 1 migrated first) and turn it into a
    :class:`Timeline`."""
    obj = migrate_timeline(obj)
    validate_timeline(obj, source)
    rows = obj["phrases"]
    phrases = [
        TimelinePhrase(
            index=r["index"],
            start_s=float(r["start_s"]),
            end_s=float(r["end_s"]),
            start_frame=r["start_frame"],
            end_frame=r["end_frame"],
            start_beat=r["start_beat"],
            end_beat=r["end_beat"],
            n_bars=r.get("n_bars", 0),
            section_label=r.get("section_label", ""),
            dance_id=r["dance_id"],
            dance_name=r["dance_name"],
            repeats=r["repeats"],
        )
        for r in rows
    ]
    where = Where(source, "export the timeline again from Choreo Studio")
    placements = [
        Placement.from_dict(
            {**r, "beats_per_count": None if r.get("beats_per_count_auto", True)
             else r.get("beats_per_count", 1.0)},
            r["index"], where.at("phrases").at(i))
        for i, r in enumerate(rows)
    ]
    song, lib = obj["song"], obj["library"]
    return Timeline(
        song_hash=song["hash"],
        song_name=song.get("name", ""),
        duration_s=float(song["duration_s"]),
        tempo_bpm=float(song["tempo_bpm"]),
        beats_per_bar=int(song["beats_per_bar"]),
        beats_s=np.asarray(song["beats_s"], dtype=np.float64),
        downbeats=np.asarray(song.get("downbeats", []), dtype=np.int64),
        library_name=lib["name"],
        library_fingerprint=lib["fingerprint"],
        library_n_phrases=int(lib["n_phrases"]),
        fps=float(obj["fps"]),
        phrases=phrases,
        choreography=Choreography(placements, obj["scorer"], obj["decoder"]),
        sections=[(float(x["start_s"]), float(x["end_s"]), str(x["label"]))
                  for x in obj.get("sections", [])],
    )


def read_timeline(path: str | os.PathLike[str]) -> Timeline:
    """Read and validate a timeline JSON file; any problem is a one-line :class:`ChoreoError`."""
    if not Path(path).is_file():
        raise ChoreoError(f"{path}: no such timeline file — check the path")
    obj = read_json_file(path, fix="export the timeline again")
    return timeline_from_dict(obj, str(path))
