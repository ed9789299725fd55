"""The .choreo project file: round trip, moved songs, newer formats, damage, library mismatch."""

from __future__ import annotations

import json
import shutil

import pytest
from choreo_studio.core.audio.load import file_content_hash
from choreo_studio.core.choreography.placements import Choreography, Placement
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.phrases.segmentation import SegmentConstraints
from choreo_studio.core.project.project_file import (
    PROJECT_FORMAT_VERSION,
    LibraryMismatchError,
    LibraryRef,
    ModelRef,
    NewerFormatError,
    Project,
    SongMissingError,
    check_library,
    read_project,
    relocate_song,
    save_project,
)


def _project(song_path: str) -> Project:
    placements = [
        Placement(0, "jazz-01", locked=True),
        Placement(1, "urban-07", mirror=True, blend_s=0.5, mirror_on_repeat=False),
        Placement(2, "jazz-01", beats_per_count=0.5),
    ]
    return Project(
        song_path=song_path,
        song_hash=file_content_hash(song_path),
        analysis={"format_version": 1, "tempo_bpm": 120.0},
        phrase_bounds=[(0, 16), (16, 32), (32, 40)],
        choreography=Choreography(placements, scorer="descriptor matcher", decoder="viterbi"),
        library=LibraryRef("demo", "abc123", ""),
        model=ModelRef("descriptor matcher"),
        segmentation=SegmentConstraints(pinned_s=(8.0,), min_bars=1, max_bars=6),
        settings={"top_k": 7},
    )


@pytest.fixture()
def song(tmp_path):
    path = tmp_path / "music" / "song.wav"
    path.parent.mkdir()
    path.write_bytes(b"RIFF-not-really-audio-but-hashable")
    return path


def test_round_trip_keeps_everything(tmp_path, song):
    project = _project(str(song))
    target = tmp_path / "work" / "dance.choreo"
    save_project(project, target)
    back = read_project(target)
    assert back.song_path == str(song.resolve())
    assert back.song_hash == project.song_hash
    assert back.phrase_bounds == project.phrase_bounds
    assert back.choreography.placements == project.choreography.placements
    assert back.choreography[2].beats_per_count == 0.5  # double time survives a project
    assert back.choreography.scorer == "descriptor matcher"
    assert back.library == project.library and back.model == project.model
    assert back.segmentation == project.segmentation and back.settings == {"top_k": 7}
    saved = json.loads(target.read_text())
    assert saved["format_version"] == PROJECT_FORMAT_VERSION
    assert saved["song"]["path"] == "../music/song.wav"
    assert not list(target.parent.glob("*.tmp")), "atomic save leaves no temp file"


def test_song_found_relative_when_folder_moves(tmp_path, song):
    save_project(_project(str(song)), tmp_path / "dance.choreo")
    moved = tmp_path.parent / (tmp_path.name + "-moved")
    shutil.move(str(tmp_path), moved)
    try:
        back = read_project(moved / "dance.choreo")
        assert back.song_path == str((moved / "music" / "song.wav").resolve())
    finally:
        shutil.move(str(moved), tmp_path)


def test_moved_song_offers_locate_and_checks_content(tmp_path, song):
    target = tmp_path / "dance.choreo"
    save_project(_project(str(song)), target)
    elsewhere = tmp_path / "elsewhere.wav"
    song.rename(elsewhere)
    with pytest.raises(SongMissingError) as info:
        read_project(target)
    assert "locate the song file" in str(info.value)
    project = relocate_song(info.value.project, elsewhere, file_content_hash(elsewhere))
    assert project.song_path == str(elsewhere.resolve())
    other = tmp_path / "other.wav"
    other.write_bytes(b"different content")
    with pytest.raises(ChoreoError, match="not the project's song"):
        relocate_song(info.value.project, other, file_content_hash(other))


def test_newer_format_is_a_clear_error(tmp_path, song):
    target = tmp_path / "dance.choreo"
    save_project(_project(str(song)), target)
    data = json.loads(target.read_text())
    data["format_version"] = PROJECT_FORMAT_VERSION + 1
    target.write_text(json.dumps(data))
    with pytest.raises(NewerFormatError, match="update Choreo Studio"):
        read_project(target)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"kind": "something-else"}', "not a Choreo Studio project"),
        (None, "phrase 1 has bad beat bounds"),
    ],
)
def test_damaged_projects_are_one_line_errors(tmp_path, song, content, message):
    target = tmp_path / "dance.choreo"
    save_project(_project(str(song)), target)
    if content is None:
        data = json.loads(target.read_text())
        data["phrases"][1] = [20, 32]  # gap after the first phrase
        content = json.dumps(data)
    target.write_text(content)
    with pytest.raises(ChoreoError, match=message) as info:
        read_project(target)
    assert "\n" not in str(info.value)


def test_missing_project_file(tmp_path):
    with pytest.raises(ChoreoError, match="no such project file"):
        read_project(tmp_path / "nope.choreo")


def test_library_mismatch(song):
    project = _project(str(song))
    check_library(project, "demo", "abc123")
    with pytest.raises(LibraryMismatchError, match="re-solve the rest"):
        check_library(project, "studio", "fff999")
