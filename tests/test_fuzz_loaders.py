"""Property tests (hypothesis): every loader given hostile input returns a value or raises a
one-line ChoreoError, never another exception. Bounded to a few seconds per loader and
derandomized, so CI is repeatable; benchmarks/fuzz_loaders.py runs the same targets for longer."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import fuzz_targets as ft


def _budget(examples):
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def scratch():
    return ft.scratch_folder()


@pytest.fixture(scope="module")
def bundle_base(scratch):
    return ft.make_bundle_folder(scratch)


def test_base_inputs_are_valid(scratch, bundle_base):
    assert not isinstance(ft.fuzz_bvh(ft.BASE_BVH), Exception)
    assert not isinstance(ft.fuzz_timeline(ft.base_timeline(), scratch), Exception)
    assert not isinstance(ft.fuzz_sidecar(ft.BASE_SIDECAR, scratch), Exception)
    import json

    config = json.loads((bundle_base / "model.json").read_text())
    assert not isinstance(ft.fuzz_bundle(config, bundle_base, scratch), Exception)
    # the project's song does not exist: everything else was valid when that is the complaint
    assert "locate the song" in str(ft.fuzz_project(ft.BASE_PROJECT, scratch))


@_budget(150)
@given(ft.mutated_text(ft.BASE_BVH))
def test_bvh_reader(text):
    ft.fuzz_bvh(text)


@_budget(60)
@given(st.text(max_size=400))
def test_bvh_reader_on_any_text(text):
    ft.fuzz_bvh("HIERARCHY\n" + text)


@_budget(80)
@given(ft.mutated_json(ft.BASE_PROJECT))
def test_project_loader(scratch, doc):
    ft.fuzz_project(doc, scratch)


@_budget(60)
@given(st.data())
def test_timeline_loader(scratch, data):
    ft.fuzz_timeline(data.draw(ft.mutated_json(ft.base_timeline())), scratch)


@_budget(25)
@given(st.data())
def test_bundle_loader(scratch, bundle_base, data):
    import json

    base = json.loads((bundle_base / "model.json").read_text())
    ft.fuzz_bundle(data.draw(ft.mutated_json(base)), bundle_base, scratch)


@_budget(30)
@given(ft.mutated_json(ft.BASE_SIDECAR))
def test_sidecar_loader(scratch, sidecar):
    ft.fuzz_sidecar(sidecar, scratch)


@_budget(150)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_json_reader_on_any_bytes(data):
    ft.fuzz_json_bytes(data)


def test_timeline_downbeat_past_the_beats_is_one_line(scratch):
    doc = ft.base_timeline()
    doc["song"]["downbeats"] = [0, 10**30]
    assert "song/downbeats" in str(ft.fuzz_timeline(doc, scratch))


def test_version_1_timeline_with_bad_rows_is_one_line(scratch):
    doc = ft.base_timeline()
    doc["format_version"] = True  # == 1 in Python; must not be migrated as version 1
    doc["phrases"][0]["end_s"] = None
    assert isinstance(ft.fuzz_timeline(doc, scratch), Exception)
    doc["format_version"] = 1
    assert isinstance(ft.fuzz_timeline(doc, scratch), Exception)


def test_reversed_timeline_beats_are_one_line(scratch):
    doc = ft.base_timeline()
    doc["song"]["beats_s"] = list(reversed(doc["song"]["beats_s"]))
    assert "not increasing" in str(ft.fuzz_timeline(doc, scratch))


def test_timeline_without_beats_is_one_line(scratch):
    doc = ft.base_timeline()
    doc["song"]["beats_s"] = []
    assert "0 beats under 3 phrases" in str(ft.fuzz_timeline(doc, scratch))
