"""The editor keeps the user's session: a cancelled open puts the previous song back whole,
and the window, its docks, the zoom and the selection come back on reopen (pytest-qt)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from choreo_studio.editor.main_window import MainWindow  # noqa: E402
from choreo_studio.resources.demo_song import DemoSongSpec, render_demo_song  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

from tests import engine_synthetic  # noqa: E402
from tests import test_editor as editor_tests  # noqa: E402

WAIT_MS = editor_tests.WAIT_MS
_open = editor_tests._open
SONG = DemoSongSpec(tempo_bpm=128.0, seed=5,
                    structure=(("intro", 2), ("verse", 4), ("chorus", 4), ("verse", 4)))
OTHER_SONG = DemoSongSpec(tempo_bpm=100.0, seed=9, structure=(("verse", 4), ("chorus", 4)))


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    """A short song, a second song never analysed, and a small library."""
    root = tmp_path_factory.mktemp("editor_state")
    engine_synthetic.library(k=12).save(root / "library")
    return {"song": render_demo_song(SONG).write_wav(root / "state song.wav"),
            "other": render_demo_song(OTHER_SONG).write_wav(root / "other song.wav"),
            "library": root / "library", "cache": root / "cache"}


@pytest.fixture(autouse=True)
def _cache(monkeypatch, assets):
    monkeypatch.setenv("CHOREO_CACHE_DIR", str(assets["cache"]))


def _window(qtbot, tmp_path, assets) -> MainWindow:
    """A window whose geometry and docks are what its settings restore."""
    return editor_tests._window(qtbot, tmp_path, assets, size=None)


def _swap_in_another(window: MainWindow, t: int) -> None:
    window.doc.select(t)
    row = next(i for i, r in enumerate(window.suggestions.rows) if not r.current)
    window.edits.swap_suggestion(row)


def _x_range(window: MainWindow) -> tuple[float, float]:
    lo, hi = window.waveform.getViewBox().viewRange()[0]
    return lo, hi


def test_cancelling_a_new_songs_analysis_keeps_the_previous_session_whole(qtbot, tmp_path,
                                                                          assets):
    window = _window(qtbot, tmp_path, assets)
    _open(qtbot, window, assets["song"])
    doc = window.doc
    first = doc.choreography
    _swap_in_another(window, 1)
    middle = doc.choreography
    _swap_in_another(window, 2)
    last, segmentation = doc.choreography, doc.segmentation
    history = [doc.undo_stack.text(i) for i in range(doc.undo_stack.count())]
    assert len(history) == 2 and doc.dirty
    doc.set_selection(2, [1])
    window.waveform.getViewBox().setXRange(3.0, 9.0, padding=0)
    analysing = []

    def cancel_analysis(job) -> None:
        if job.label == "Analysing":
            analysing.append(job)
            job.cancel()

    window.jobs.job_started.connect(cancel_analysis)
    window.files.open_path(str(assets["other"]), ask_to_save=False)
    qtbot.waitUntil(lambda: bool(analysing) and doc.ready and not window.jobs.busy,
                    timeout=WAIT_MS)
    window.jobs.job_started.disconnect(cancel_analysis)

    assert doc.song_path == str(assets["song"])
    assert doc.segmentation is segmentation and doc.choreography is last
    assert [doc.undo_stack.text(i) for i in range(doc.undo_stack.count())] == history
    assert doc.undo_stack.index() == 2 and doc.dirty
    assert (doc.selected, doc.selection) == (2, [1, 2])
    assert _x_range(window) == pytest.approx((3.0, 9.0), abs=0.01)
    assert window.action("undo").isEnabled()
    doc.undo_stack.undo()
    assert doc.choreography is middle
    doc.undo_stack.undo()
    assert doc.choreography is first and not doc.dirty
    assert [b.start_s for b in window.timeline.blocks] == [p.start_s for p in doc.phrases]


def test_undo_is_off_while_another_song_opens(qtbot, tmp_path, assets):
    window = _window(qtbot, tmp_path, assets)
    _open(qtbot, window, assets["song"])
    _swap_in_another(window, 1)
    seen = []

    def look(job) -> None:
        if job.label == "Analysing":
            seen.append(window.action("undo").isEnabled())
            job.cancel()

    window.jobs.job_started.connect(look)
    window.files.open_path(str(assets["other"]), ask_to_save=False)
    qtbot.waitUntil(lambda: bool(seen) and window.doc.ready and not window.jobs.busy,
                    timeout=WAIT_MS)
    window.jobs.job_started.disconnect(look)
    assert seen == [False], "undo of the old song is off while the new one is not installed"


def test_window_docks_zoom_and_selection_come_back_on_reopen(qtbot, tmp_path, assets):
    first = _window(qtbot, tmp_path, assets)
    first.resize(900, 540)
    first.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, first.library_dock)
    first.skeleton_dock.hide()
    _open(qtbot, first, assets["song"])
    first.waveform.getViewBox().setXRange(10.0, 20.0, padding=0)
    assert len(first.doc.phrases) >= 3
    first.doc.set_selection(2, [0])
    height = first.height()
    first.close()

    second = _window(qtbot, tmp_path, assets)
    # (the width: the offscreen screen is 800 px wide, so a restore clamps it to the screen)
    assert second.height() == height == 540
    assert second.dockWidgetArea(second.library_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert second.skeleton_dock.isHidden() and not second.suggestions_dock.isHidden()
    _open(qtbot, second, assets["song"])
    assert _x_range(second) == pytest.approx((10.0, 20.0), abs=0.01)
    assert (second.doc.selected, second.doc.selection) == (2, [0, 2])

    second.waveform.getViewBox().setXRange(5.0, 9.0, padding=0)
    second.doc.select(1)
    project = tmp_path / "work" / "state.choreo"
    assert second.files.save_to(str(project))
    second.zoom_fit()
    second.doc.select(0)
    second.close()  # the song's last view (whole song, phrase 1) is remembered too

    third = _window(qtbot, tmp_path, assets)
    _open(qtbot, third, project)
    assert _x_range(third) == pytest.approx((5.0, 9.0), abs=0.01), "the project's own view"
    assert third.doc.selection == [1]


def test_the_analysis_child_analyses_the_samples_it_is_handed(tmp_path, assets):
    """The editor decodes a song once: the child gets the samples, never reads the file."""
    from choreo_studio.core.audio.load import load_audio
    from choreo_studio.core.phrases.feature_cache import FeatureCache
    from choreo_studio.editor.analysis_process import analyze_in_child

    song = tmp_path / "handed.wav"
    render_demo_song(DemoSongSpec(tempo_bpm=110.0, structure=(("verse", 4),), seed=4)
                     ).write_wav(song)
    audio = load_audio(song)
    song.write_text("not audio any more: the child must not read this file")
    analyze_in_child(str(song), audio=audio)
    analysis = FeatureCache(audio.content_hash).load_analysis()
    assert analysis is not None and abs(analysis.tempo_bpm - 110.0) < 3.0


def test_a_cached_song_opens_without_decoding_and_decodes_its_sound_after(qtbot, tmp_path,
                                                                          assets, monkeypatch):
    from choreo_studio.core.audio import load

    first = _window(qtbot, tmp_path, assets)
    _open(qtbot, first, assets["song"])  # analysed (or already cached): the cache knows it
    first.close()
    decoded_at: list[bool] = []
    real = load._decode_checked

    def counting(*args, **kwargs):
        decoded_at.append(window.doc.ready)
        return real(*args, **kwargs)

    monkeypatch.setattr(load, "_decode_checked", counting)
    window = _window(qtbot, tmp_path, assets)
    shown_before_decoding = []
    window.choreography_ready.connect(lambda: shown_before_decoding.append(not decoded_at))
    _open(qtbot, window, assets["song"])
    assert shown_before_decoding == [True], "the choreography came up without a decode"
    assert decoded_at == [True], "then the sound was decoded once, in the background"
    samples, _sr = window.transport.samples()
    assert samples is window.doc.audio.samples and float(abs(samples).max()) > 0.01
    assert window.waveform._pyramid.levels, "the waveform came from the cached envelope"
