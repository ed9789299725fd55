"""The `.choreo` project file: one song's choreography as the user left it, in JSON.

It records the song (path relative to the project and absolute, plus its content hash), the
analysis the user worked on (with any tempo / downbeat / meter corrections), the segmentation
edits and the resulting music-phrase boundaries, the placements with their locks, the library
and model identities, and editor settings. Saves are atomic; loading never runs code and turns
every problem into a one-line :class:`ChoreoError` (subclasses tell the editor what to offer).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from choreo_studio.core import __version__
from choreo_studio.core.atomic_io import write_json_atomic
from choreo_studio.core.choreography.placements import Choreography, Placement
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.json_files import (
    Where,
    read_json_file,
    require_dict,
    require_float,
    require_int,
    require_numbers,
    require_object,
    require_str,
)
from choreo_studio.core.phrases.segmentation import SegmentConstraints

PROJECT_FORMAT_VERSION = 1
PROJECT_KIND = "choreo-project"
PROJECT_SUFFIX = ".choreo"
MAX_PATH_CHARS = 4096


class SongMissingError(ChoreoError):
    """The project's song is not where the project says; the editor offers to locate it."""

    def __init__(self, message: str, project: Project) -> None:
        super().__init__(message)
        self.project = project


class NewerFormatError(ChoreoError):
    """The project was written by a newer Choreo Studio whose format this one cannot read."""


class LibraryMismatchError(ChoreoError):
    """The project (or a model) was made for another dance library than the one loaded."""


@dataclass(frozen=True)
class LibraryRef:
    """Which dance library a project was made with: its name, fingerprint and where it lives."""

    name: str
    fingerprint: str
    path: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "fingerprint": self.fingerprint, "path": self.path}


@dataclass(frozen=True)
class ModelRef:
    """Which scorer a project used: a model bundle id (with its path) or the descriptor matcher."""

    scorer: str
    path: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"scorer": self.scorer, "path": self.path}


@dataclass
class Project:
    """Everything needed to reopen a choreography exactly as it was saved.

    ``analysis`` is the :meth:`MusicAnalysis.to_dict` of the analysis in use (the user's tempo
    tools edit it); ``segmentation`` holds the user's segmentation edits (pinned and removed
    boundaries, phrase lengths); ``phrase_bounds`` are the music phrases as [start_beat,
    end_beat) pairs, one per placement; ``settings`` are editor preferences saved with the
    project (top-K, the decoder weights under ``"decoding"``…).
    """

    song_path: str
    song_hash: str
    analysis: dict[str, Any] | None
    phrase_bounds: list[tuple[int, int]]
    choreography: Choreography
    library: LibraryRef
    model: ModelRef
    segmentation: SegmentConstraints = field(default_factory=SegmentConstraints)
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.phrase_bounds) != len(self.choreography):
            raise ValueError(
                f"{len(self.phrase_bounds)} phrases but {len(self.choreography)} placements"
            )


def project_to_dict(project: Project, project_path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON object of ``project`` saved at ``project_path`` (song path stored both ways)."""
    song = Path(project.song_path)
    base = Path(project_path).resolve().parent
    try:
        relative = os.path.relpath(song.resolve(), base)
    except ValueError:  # another drive on Windows
        relative = ""
    return {
        "format_version": PROJECT_FORMAT_VERSION,
        "kind": PROJECT_KIND,
        "generator": f"choreo-studio {__version__}",
        "song": {
            "path": relative.replace(os.sep, "/"),
            "absolute_path": str(song.resolve()),
            "hash": project.song_hash,
        },
        "analysis": project.analysis,
        "segmentation": project.segmentation.to_dict(),
        "phrases": [[int(a), int(b)] for a, b in project.phrase_bounds],
        "choreography": {
            "scorer": project.choreography.scorer,
            "decoder": project.choreography.decoder,
            "notes": dict(project.choreography.notes),
            "placements": [p.to_dict() for p in project.choreography.placements],
        },
        "library": project.library.to_dict(),
        "model": project.model.to_dict(),
        "settings": project.settings,
    }


def save_project(project: Project, path: str | os.PathLike[str]) -> Path:
    """Atomically write ``project`` to ``path`` (a crash never leaves half a project)."""
    return write_json_atomic(path, project_to_dict(project, path))


FIX = "the project file is damaged; open its autosave or a copy"


def _bad(source: str, what: str) -> ChoreoError:
    return ChoreoError(f"{source}: {what} — {FIX}")


def _placements(source: str, data: Any) -> list[Placement]:
    if not isinstance(data, list):
        raise _bad(source, "choreography/placements is not a list")
    where = Where(source, FIX).at("choreography").at("placements")
    return [Placement.from_dict(require_object(row, where.at(i)), i, where.at(i))
            for i, row in enumerate(data)]


def _bounds(source: str, data: Any) -> list[tuple[int, int]]:
    if not isinstance(data, list):
        raise _bad(source, "phrases is not a list")
    bounds: list[tuple[int, int]] = []
    for i, pair in enumerate(data):
        ok = isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, int) for v in pair)
        if not ok or pair[1] <= pair[0] or (bounds and pair[0] != bounds[-1][1]):
            raise _bad(source, f"phrase {i} has bad beat bounds {pair!r}")
        bounds.append((pair[0], pair[1]))
    return bounds


def _constraints(source: str, data: Any) -> SegmentConstraints:
    where = Where(source, FIX).at("segmentation")
    return SegmentConstraints.from_dict(require_object(data, where), where)


def project_from_dict(obj: Any, project_path: str | os.PathLike[str]) -> Project:
    """Validate a parsed project; the song path is resolved but its existence is not checked."""
    source = str(project_path)
    if not isinstance(obj, dict) or obj.get("kind") != PROJECT_KIND:
        raise ChoreoError(f"{source}: not a Choreo Studio project — open a .choreo file")
    version = obj.get("format_version")
    if not isinstance(version, int):
        raise _bad(source, "format_version is missing")
    if version > PROJECT_FORMAT_VERSION:
        raise NewerFormatError(
            f"{source}: project format {version} was written by a newer Choreo Studio "
            f"({obj.get('generator', '?')}); this version reads format {PROJECT_FORMAT_VERSION} "
            "— update Choreo Studio to open it"
        )
    _check_fields(obj, Where(source, FIX))
    try:
        song, chor = obj["song"], obj["choreography"]
        lib, model = obj["library"], obj["model"]
        placements = _placements(source, chor["placements"])
        project = Project(
            song_path=_resolve_song(song, project_path),
            song_hash=str(song["hash"]),
            analysis=obj.get("analysis"),
            phrase_bounds=_bounds(source, obj["phrases"]),
            choreography=Choreography(
                placements,
                str(chor.get("scorer", "manual")),
                str(chor.get("decoder", "manual")),
                {str(k): str(v) for k, v in dict(chor.get("notes", {})).items()},
            ),
            library=LibraryRef(str(lib["name"]), str(lib["fingerprint"]), str(lib.get("path", ""))),
            model=ModelRef(str(model["scorer"]), str(model.get("path", ""))),
            segmentation=_constraints(source, obj.get("segmentation") or {}),
            settings=dict(obj.get("settings") or {}),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise _bad(source, f"field {exc} is missing or has the wrong type") from None
    except ValueError as exc:
        raise _bad(source, str(exc)) from None
    return project


def _check_fields(obj: dict[str, Any], where: Where) -> None:
    """Types of the song, library, model and settings fields (``top_k: "ten"``, a 100k-character
    song path, a number for a fingerprint are one line naming the field, not a crash later)."""
    song = require_dict(obj, "song", where)
    for key in ("path", "absolute_path"):
        require_str(song, key, where.at("song"), default="", max_len=MAX_PATH_CHARS)
    require_str(song, "hash", where.at("song"), max_len=200)
    for section, keys in (("library", ("name", "fingerprint", "path")),
                          ("model", ("scorer", "path"))):
        part = require_dict(obj, section, where)
        for key in keys:
            require_str(part, key, where.at(section), default="", max_len=MAX_PATH_CHARS)
    analysis = obj.get("analysis")
    if isinstance(analysis, dict) and "beats_s" in analysis:  # reversed beats crashed the editor
        require_numbers(analysis, "beats_s", where.at("analysis"), lo=0.0, increasing=True)
    if isinstance(analysis, dict):  # a "NaN" text tempo became a NaN the project cannot save
        for key, hi in (("tempo_bpm", 1000.0), ("duration_s", 1e6)):
            if key in analysis:
                require_float(analysis, key, where.at("analysis"), lo=1e-6, hi=hi)
    settings = obj.get("settings") or {}
    require_object(settings, where.at("settings"))
    require_int(settings, "top_k", where.at("settings"), default=None, lo=1, hi=1000)
    require_str(settings, "project_path", where.at("settings"), default="",
                max_len=MAX_PATH_CHARS)
    decoding = settings.get("decoding")
    if decoding is not None:  # the decoder weights (absent in projects saved before them)
        require_object(decoding, where.at("settings").at("decoding"))


def _resolve_song(song: dict[str, Any], project_path: str | os.PathLike[str]) -> str:
    """The song file: relative to the project first (folders move together), then absolute."""
    base = Path(project_path).resolve().parent
    relative = str(song.get("path") or "")
    if relative and (base / relative).is_file():
        return str((base / relative).resolve())
    return str(song.get("absolute_path") or (base / relative))


def read_project(path: str | os.PathLike[str]) -> Project:
    """Read a `.choreo` file; problems are one-line errors, a missing song a SongMissingError."""
    if not Path(path).is_file():
        raise ChoreoError(f"{path}: no such project file — check the path")
    project = project_from_dict(read_json_file(path, fix=FIX), path)
    if not Path(project.song_path).is_file():
        raise SongMissingError(
            f"{path}: its song {Path(project.song_path).name} is not at {project.song_path} "
            "— locate the song file",
            project,
        )
    return project


def relocate_song(project: Project, song_path: str | os.PathLike[str], song_hash: str) -> Project:
    """The project pointing at a located song; a different song (hash) is refused."""
    if song_hash != project.song_hash:
        raise ChoreoError(
            f"{Path(song_path).name}: not the project's song (its content differs) — locate the "
            "original file the project was made with"
        )
    project.song_path = str(Path(song_path).resolve())
    return project


def check_library(project: Project, name: str, fingerprint: str) -> None:
    """Raise LibraryMismatchError if the loaded library is not the one the project used."""
    if project.library.fingerprint and project.library.fingerprint != fingerprint:
        raise LibraryMismatchError(
            f"project was made with dance library {project.library.name!r} "
            f"(fingerprint {project.library.fingerprint[:12]}) but {name!r} "
            f"({fingerprint[:12]}) is loaded — open the project's library, or keep the "
            "placements whose dances exist and re-solve the rest"
        )
