"""Project files: wrong field types are one line naming the field (no crash when opened)."""

import copy

import pytest
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.project.project_file import project_from_dict

BASE = {
    "kind": "choreo-project", "format_version": 1,
    "song": {"path": "s.wav", "absolute_path": "/s.wav", "hash": "h"},
    "analysis": None, "segmentation": {}, "phrases": [],
    "choreography": {"scorer": "m", "decoder": "m", "notes": {}, "placements": []},
    "library": {"name": "demo", "fingerprint": "f", "path": ""},
    "model": {"scorer": "descriptor", "path": ""}, "settings": {"top_k": 10},
}


def test_minimal_project_reads():
    assert project_from_dict(copy.deepcopy(BASE), "p.choreo").settings == {"top_k": 10}


@pytest.mark.parametrize(
    ("section", "key", "value", "match"),
    [
        ("settings", "top_k", "ten", "field 'settings.top_k' must be an integer"),
        ("settings", "top_k", 10**20, "field 'settings.top_k' must be between"),
        ("song", "path", "a" * 100_000, "field 'song.path' is 100000 characters"),
        ("song", "hash", 5, "field 'song.hash' must be a string"),
        ("library", "fingerprint", 5, "field 'library.fingerprint' must be a string"),
        ("model", "path", ["x"], "field 'model.path' must be a string"),
    ],
)
def test_wrong_types_name_the_field(section, key, value, match):
    data = copy.deepcopy(BASE)
    data[section][key] = value
    with pytest.raises(ChoreoError, match=match) as info:
        project_from_dict(data, "p.choreo")
    assert str(info.value).startswith("p.choreo: ") and len(str(info.value)) < 300


@pytest.mark.parametrize("section", ["song", "library", "model", "settings"])
def test_sections_must_be_objects(section):
    data = {**copy.deepcopy(BASE), section: "demo"}
    with pytest.raises(ChoreoError, match=f"field '{section}' must be a JSON object"):
        project_from_dict(data, "p.choreo")


@pytest.mark.parametrize(("beats", "match"), [
    ([2.0, 1.0], r"'analysis.beats_s\[1\]' must be larger"),
    (["x"], r"'analysis.beats_s\[0\]' must be a number"),
    ("many", "'analysis.beats_s' must be a list"),
])
def test_analysis_beats_must_be_increasing_numbers(beats, match):
    data = {**copy.deepcopy(BASE), "analysis": {"beats_s": beats}}
    with pytest.raises(ChoreoError, match=match):
        project_from_dict(data, "p.choreo")


@pytest.mark.parametrize("tempo", ["NaN", -1, 0, 1e308])
def test_analysis_tempo_must_be_a_finite_positive_number(tempo):
    data = {**copy.deepcopy(BASE), "analysis": {"tempo_bpm": tempo}}
    with pytest.raises(ChoreoError, match="'analysis.tempo_bpm' must be"):
        project_from_dict(data, "p.choreo")
