"""The editor's spare analysis child (started ahead of a cold open, taken by the open, never
used under another cache folder) and the one math thread of the editor and its children."""

from __future__ import annotations

import pytest
from choreo_studio.core.audio.load import load_audio
from choreo_studio.core.phrases.feature_cache import FeatureCache
from choreo_studio.editor import analysis_process as ap
from choreo_studio.editor import session_ops
from choreo_studio.resources.demo_song import DemoSongSpec, render_demo_song


@pytest.fixture()
def song(tmp_path, monkeypatch):
    monkeypatch.setenv("CHOREO_CACHE_DIR", str(tmp_path / "cache"))
    path = render_demo_song(DemoSongSpec(tempo_bpm=120.0, structure=(("verse", 4),), seed=2)
                            ).write_wav(tmp_path / "spare.wav")
    yield path
    spare = ap.take_spare()
    if spare is not None:
        spare.kill()


def test_a_cold_open_starts_the_spare_and_the_analysis_takes_it(song):
    audio = session_ops.opened_audio(str(song))
    assert audio.decoded
    spare = ap._spare
    assert spare is not None and spare.usable
    child = ap.ChildAnalysis.start(str(song), audio)
    assert child is spare and ap._spare is None
    child.wait()
    analysis = FeatureCache(audio.content_hash).load_analysis()
    assert analysis is not None and abs(analysis.tempo_bpm - 120.0) < 3.0
    assert session_ops.opened_audio(str(song)).decoded is False  # cached now: no new spare
    assert ap._spare is None


def test_a_spare_from_another_cache_folder_is_not_used(song, tmp_path, monkeypatch):
    ap.prepare_spare()
    spare = ap._spare
    monkeypatch.setenv("CHOREO_CACHE_DIR", str(tmp_path / "other"))
    assert not spare.usable
    child = ap.ChildAnalysis.start(str(song), load_audio(song))
    assert child is not spare
    child.wait()
    assert FeatureCache(load_audio(song).content_hash).load_analysis() is not None


def test_children_run_one_math_thread_unless_the_user_chose(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    env = ap.child_env()
    assert env["OPENBLAS_NUM_THREADS"] == "1" and env["OMP_NUM_THREADS"] == "4"


def test_the_editor_runs_one_blas_thread_unless_the_user_chose(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from choreo_studio.editor import workers

    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    monkeypatch.setattr(workers, "_math_threads_limited", False)
    workers.limit_math_threads()
    assert workers._math_threads_limited is False  # the user's count is kept
    for name in ap.SINGLE_THREADED:
        monkeypatch.delenv(name, raising=False)
    workers.limit_math_threads()
    blas = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    assert workers._math_threads_limited and blas
    assert all(p["num_threads"] == 1 for p in blas)
