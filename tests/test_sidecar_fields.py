"""BVH sidecars: wrong types and values name the field in one line (no ZeroDivisionError)."""

import json

import pytest
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.library.importing import ImportOptions, import_folder
from choreo_studio.core.motion.bvh import write_bvh

from tests.motion_fixtures import random_motion


@pytest.mark.parametrize(
    ("sidecar", "match"),
    [
        ({"bpm": "fast"}, "field 'bpm' must be a number"),
        ({"bpm": 1e308}, "field 'bpm' must be between 20.0 and 300.0"),
        ({"n_counts": 0, "cut": True}, "field 'n_counts' must be between 1 and 1024"),
        ({"cut": "no"}, "field 'cut' must be true or false"),
        ({"energy": 7}, "field 'energy' must be between 1 and 3"),
        ({"tags": "a,b"}, "field 'tags' must be a list"),
        ({"tags": [1]}, r"field 'tags\[0\]' must be a string"),
        ({"name": "x" * 10_000}, "field 'name' is 10000 characters"),
        ({"first_beat_s": -1}, "field 'first_beat_s' must be between"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_bad_sidecar_fields(tmp_path, sidecar, match):
    write_bvh(tmp_path / "a.bvh", random_motion(64, 30.0, 1))
    (tmp_path / "a.json").write_text(json.dumps(sidecar))
    with pytest.raises(ChoreoError, match=match) as info:
        import_folder(tmp_path, options=ImportOptions(bpm=120.0, unit="cm"))
    assert "a.json" in str(info.value) and "\n" not in str(info.value)
    assert len(str(info.value)) < 400


def test_deeply_nested_sidecar(tmp_path):
    write_bvh(tmp_path / "a.bvh", random_motion(64, 30.0, 1))
    (tmp_path / "a.json").write_text("{\"tags\": " + "[" * 20_000 + "]" * 20_000 + "}")
    with pytest.raises(ChoreoError, match="nested"):
        import_folder(tmp_path, options=ImportOptions(bpm=120.0, unit="cm"))


def test_good_sidecar_is_used(tmp_path):
    write_bvh(tmp_path / "a.bvh", random_motion(64, 30.0, 1))
    (tmp_path / "a.json").write_text(json.dumps({"bpm": 90, "energy": 1, "name": "A",
                                                 "tags": ["t"], "cut": False}))
    lib = import_folder(tmp_path, options=ImportOptions(bpm=120.0, unit="cm"))
    phrase = lib.phrases[0]
    assert (phrase.bpm, phrase.energy, phrase.name, phrase.tags) == (90.0, 1, "A", ["t"])
