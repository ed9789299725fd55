"""The editor's render child: the wire format, the same scenes as a render in the editor's own
thread, cancel, a library it cannot serve, and a child that dies (no Qt needed)."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from choreo_studio.core.choreography.engine import load_engine
from choreo_studio.core.errors import Cancelled, ChoreoError
from choreo_studio.core.phrases.song import open_song
from choreo_studio.core.project import session
from choreo_studio.editor import render_process as rp
from choreo_studio.editor import render_scenes as rs
from choreo_studio.editor import session_ops
from choreo_studio.resources.demo_song import DemoSongSpec, render_demo_song

from tests import engine_synthetic

SONG = DemoSongSpec(tempo_bpm=128.0, structure=(("intro", 2), ("verse", 4), ("chorus", 4)),
                    seed=5)


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    """A short song analysed into a private cache and a 6-dance library folder."""
    root = tmp_path_factory.mktemp("render_process")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHOREO_CACHE_DIR", str(root / "cache"))
        path = render_demo_song(SONG).write_wav(root / "song.wav")
        engine_synthetic.library(k=6).save(root / "library")
        open_song(path)
    return {"song": path, "library": root / "library", "cache": root / "cache"}


@pytest.fixture()
def seg(monkeypatch, assets):
    monkeypatch.setenv("CHOREO_CACHE_DIR", str(assets["cache"]))
    engine = load_engine(str(assets["library"]))
    return engine, session.start(engine, open_song(assets["song"]))


@pytest.fixture(scope="module")
def child():
    handle = rp.RenderChild()
    yield handle
    handle.close()


def _same_scene(a: rs.RenderedScene, b: rs.RenderedScene) -> None:
    assert a.positions.dtype == b.positions.dtype and np.array_equal(a.positions, b.positions)
    assert np.array_equal(a.parents, b.parents) and np.array_equal(a.feet, b.feet)
    assert a.fps == b.fps


def test_messages_carry_arrays_bit_for_bit():
    arrays = {"f": np.array([[0.1, -0.0], [np.nan, np.inf]]), "b": np.array([True, False]),
              "empty": np.zeros((0, 3), dtype=np.float32), "i": np.arange(5, dtype=np.int64)[::2]}
    stream = io.BytesIO()
    rs.write_message(stream, {"kind": "x", "n": 1.5}, arrays)
    rs.write_message(stream, {"kind": "y"})
    stream.seek(0)
    header, back = rs.read_message(stream)
    assert header == {"kind": "x", "n": 1.5} and list(back) == list(arrays)
    for name, value in arrays.items():
        assert back[name].dtype == value.dtype and back[name].shape == value.shape
        assert back[name].tobytes() == np.ascontiguousarray(value).tobytes()
    assert rs.read_message(stream) == ({"kind": "y"}, {})
    assert rs.read_message(stream) is None


def test_a_cut_off_message_reads_as_the_end():
    stream = io.BytesIO()
    rs.write_message(stream, {"kind": "x"}, {"a": np.arange(10.0)})
    assert rs.read_message(io.BytesIO(stream.getvalue()[:-8])) is None


def test_the_analysis_travels_exactly(seg):
    _engine, state = seg
    meta, arrays = rs.analysis_message(state.analysis)
    back = rs.analysis_from(meta, arrays)
    for name in ("beats_s", "downbeats", "onset_env", "onsets_s", "melody_hz", "tempo_map"):
        assert np.array_equal(getattr(back, name), getattr(state.analysis, name))
    assert back.sections == state.analysis.sections and back.meter == state.analysis.meter


def test_the_child_renders_what_the_editor_thread_rendered(seg, child, monkeypatch):
    engine, state = seg
    monkeypatch.setattr(rp, "shared_child", lambda: child)
    seen = []
    scene = rp.render_scene(engine, state, lambda f, m: seen.append(f))
    here = rs.render_in_process(engine, state)
    _same_scene(scene, here)
    assert scene.positions.shape[0] == pytest.approx(state.analysis.duration_s * 30, abs=2)
    for name, value in vars(here.metrics).items():
        other = getattr(scene.metrics, name)
        assert other == value or (math.isnan(other) and math.isnan(value)), name
    assert seen and max(seen) <= 1.0
    t = 1
    other = next(d.id for d in engine.library.phrases if d.id != state.choreography[t].dance_id)
    ids = [state.choreography[t].dance_id, other]
    a, b = rp.audition_scenes(engine, state, t, ids)
    _same_scene(a, rs.audition_in_process(engine, state, t, ids[0]))
    _same_scene(b, rs.audition_in_process(engine, state, t, ids[1]))
    assert not np.array_equal(a.positions, b.positions)


def test_cancel_stops_the_request_and_the_child_serves_the_next(seg, child, monkeypatch):
    engine, state = seg
    monkeypatch.setattr(rp, "shared_child", lambda: child)

    def cancel(_fraction, message):
        raise Cancelled(message)

    with pytest.raises(Cancelled):
        rp.render_scene(engine, state, cancel)
    proc = child._proc
    _same_scene(rp.render_scene(engine, state), rs.render_in_process(engine, state))
    assert child._proc is proc  # the same child, not a fresh one


def test_a_library_the_child_cannot_load_renders_in_the_editor(seg, child, monkeypatch):
    engine, state = seg
    monkeypatch.setattr(rp, "shared_child", lambda: child)
    monkeypatch.setattr(engine.library, "fingerprint", "not-on-disk")
    with pytest.raises(rp.Unservable):
        rp.render_scene(engine, state)
    scene = session_ops.render_scene(engine, state, state.choreography)
    _same_scene(scene, rs.render_in_process(engine, state))


def test_a_child_running_other_code_refuses_and_the_editor_renders(seg, child, monkeypatch):
    """The editor's program changed on disk after it started: a child started now runs the new
    code, so the editor's request (in its old format) renders in the editor instead."""
    engine, state = seg
    monkeypatch.setattr(rp, "shared_child", lambda: child)
    monkeypatch.setattr(rp, "WIRE_CODE", "code-the-editor-loaded-earlier")
    with pytest.raises(rp.Unservable):
        rp.render_scene(engine, state)
    scene = session_ops.render_scene(engine, state, state.choreography)
    _same_scene(scene, rs.render_in_process(engine, state))


def test_a_child_that_dies_is_reported_and_replaced(seg, child, monkeypatch):
    engine, state = seg
    monkeypatch.setattr(rp, "shared_child", lambda: child)

    def kill(_fraction, _message):
        child._proc.kill()

    with pytest.raises(ChoreoError, match="render stopped unexpectedly"):
        rp.render_scene(engine, state, kill)
    _same_scene(rp.render_scene(engine, state), rs.render_in_process(engine, state))


def test_a_dance_rendered_a_moment_ago_comes_back_without_a_render(seg, child, monkeypatch):
    engine, state = seg
    monkeypatch.setattr(rp, "shared_child", lambda: child)
    monkeypatch.setattr(rp, "recent_scenes", rp.SceneCache(size=2))
    first = session_ops.render_scene(engine, state, state.choreography)
    assert not first.positions.flags.writeable  # shared with the views: never changed
    other = next(d.id for d in engine.library.phrases if d.id != state.choreography[1].dance_id)
    swapped = session.swap(state, 1, other)
    calls = []
    monkeypatch.setattr(rp, "render_scene", lambda *a: calls.append(a) or first)
    assert session_ops.render_scene(engine, state, state.choreography) is first  # undo
    assert not calls
    session_ops.render_scene(engine, state, swapped)  # a new dance is rendered
    assert len(calls) == 1
    key = rp.recent_scenes.key
    assert key(engine, state) != key(engine, state.with_choreography(swapped))


def test_the_engine_settings_travel_with_the_state(seg, child, monkeypatch):
    engine, state = seg
    monkeypatch.setattr(rp, "shared_child", lambda: child)
    monkeypatch.setattr(engine, "stage_radius_cm", 40.0)  # a small stage steers the dance
    header, _arrays = rs.state_message(engine, state)
    assert header["engine"]["stage_radius_cm"] == 40.0 and "library" not in header["engine"]
    _same_scene(rp.render_scene(engine, state), rs.render_in_process(engine, state))


def test_a_child_started_under_another_cache_folder_is_replaced(seg, child, monkeypatch,
                                                                 tmp_path):
    engine, state = seg
    monkeypatch.setattr(rp, "shared_child", lambda: child)
    child.prepare(engine)
    proc = child._proc
    monkeypatch.setenv("CHOREO_CACHE_DIR", str(tmp_path / "elsewhere"))
    _same_scene(rp.render_scene(engine, state), rs.render_in_process(engine, state))
    assert child._proc is not proc and proc.poll() is not None
