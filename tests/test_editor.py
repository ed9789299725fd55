"""The editor as a user drives it (pytest-qt, offscreen): open, swap, undo, lock, re-solve,
drag boundaries, tempo tools, save/reopen, export, bad input, no audio device."""

from __future__ import annotations

import json
import shutil
import sys
import time

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from choreo_studio.core.errors import ChoreoError  # noqa: E402
from choreo_studio.editor.app import make_app  # noqa: E402
from choreo_studio.editor.main_window import MainWindow, short_name  # noqa: E402
from choreo_studio.editor.prompter import DISCARD, ScriptedPrompter  # noqa: E402
from choreo_studio.editor.tempo_tools import bpm_from_taps  # noqa: E402
from choreo_studio.resources.demo_song import DemoSongSpec, render_demo_song  # noqa: E402
from PySide6.QtCore import QSettings, Qt  # noqa: E402

from tests import engine_synthetic  # noqa: E402

WAIT_MS = 60_000
SHORT_SONG = DemoSongSpec(
    tempo_bpm=132.0,
    structure=(("intro", 2), ("verse", 4), ("chorus", 4), ("verse", 4), ("chorus", 4)),
    seed=3,
)


@pytest.fixture(scope="session")
def assets(tmp_path_factory):
    """A short demo song (WAV) and a small dance library folder, made once per session."""
    root = tmp_path_factory.mktemp("editor_assets")
    song = render_demo_song(SHORT_SONG).write_wav(root / "short demo.wav")
    library = engine_synthetic.library(k=12)
    library.save(root / "library")
    return {"song": song, "library": root / "library", "cache": root / "cache"}


@pytest.fixture(autouse=True)
def _quiet(monkeypatch, assets):
    monkeypatch.setenv("CHOREO_CACHE_DIR", str(assets["cache"]))


def _window(qtbot, tmp_path, assets, *, want_sound: bool = False,
            size: tuple[int, int] | None = (1400, 860)) -> MainWindow:
    """A window on ``tmp_path``'s settings and autosave folder, ``size`` pixels (None: as the
    settings restore it)."""
    make_app()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("library_path", str(assets["library"]))
    window = MainWindow(
        settings,
        want_sound=want_sound,
        autosave_dir=str(tmp_path / "autosave"),
        prompter=ScriptedPrompter(default=DISCARD),
    )
    qtbot.addWidget(window)
    if size is not None:
        window.resize(*size)
    window.show()
    return window


def _open(qtbot, window: MainWindow, path) -> None:
    window.files.open_path(str(path), ask_to_save=False)
    qtbot.waitUntil(lambda: window.doc.ready and not window.jobs.busy, timeout=WAIT_MS)
    assert window._last_error == ""


def _idle(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=WAIT_MS)


@pytest.fixture()
def opened(qtbot, tmp_path, assets):
    window = _window(qtbot, tmp_path, assets)
    _open(qtbot, window, assets["song"])
    return window


def test_open_shows_waveform_grid_phrases_and_blocks(opened):
    doc = opened.doc
    analysis = doc.analysis
    assert abs(analysis.tempo_bpm - SHORT_SONG.tempo_bpm) / SHORT_SONG.tempo_bpm < 0.03
    assert len(doc.phrases) >= 3
    assert len(doc.choreography) == len(doc.phrases)
    assert len(opened.timeline.blocks) == len(doc.phrases)
    assert [b.start_s for b in opened.timeline.blocks] == [p.start_s for p in doc.phrases]
    assert len(opened.waveform.boundary_lines()) == len(doc.phrases) - 1
    assert "phrases" in opened.metrics_label.text()
    assert "descriptor matcher" in opened.scorer_label.text()
    assert not doc.dirty


def test_swap_suggestion_three_undo_redo(opened, qtbot):
    doc = opened.doc
    doc.select(1)
    rows = opened.suggestions.rows
    assert len(rows) >= 3 and rows[0].score >= rows[2].score
    before = doc.choreography[1].dance_id
    target = rows[2].dance_id
    opened.timeline.setFocus()  # number keys work wherever the focus is (not in a text field)
    qtbot.keyClick(opened.timeline, Qt.Key.Key_3)
    assert doc.choreography[1].dance_id == target
    assert opened.timeline.blocks[1].title.startswith(short_name(opened.engine.dance(target).name))
    # neighbours were re-ranked around the new dance: its transition parts are refreshed
    m = opened.engine.transition
    lib = opened.engine.library
    from choreo_studio.editor.session_ops import score_parts

    parts = score_parts(opened.engine, doc.segmentation, doc.choreography)
    assert parts[2].transition_in == pytest.approx(
        float(m[lib.index_of(target), lib.index_of(doc.choreography[2].dance_id)])
    )
    assert doc.dirty
    doc.undo_stack.undo()
    assert doc.choreography[1].dance_id == before
    doc.undo_stack.redo()
    assert doc.choreography[1].dance_id == target
    assert [r.dance_id for r in opened.suggestions.rows if r.current] == [target]


def test_lock_then_resolve_and_vary_keep_the_lock(opened, qtbot):
    doc = opened.doc
    doc.select(1)
    rows = opened.suggestions.rows
    opened.edits.swap_suggestion(len(rows) - 1)  # a poor choice the solver would not make
    locked_dance = doc.choreography[1].dance_id
    opened.action("lock").trigger()
    assert doc.choreography[1].locked
    assert opened.timeline.blocks[1].locked
    for action in (opened.action("resolve"), opened.action("vary")):
        action.trigger()
        _idle(qtbot, opened)
        assert doc.choreography[1].dance_id == locked_dance
        assert doc.choreography[1].locked
    ids = doc.choreography.dance_ids
    assert all(a != b for a, b in zip(ids, ids[1:], strict=False)), "no back-to-back repeats"
    opened.action("lock").trigger()
    assert not doc.choreography[1].locked


def test_drag_boundary_resegments_and_undo_restores(opened, qtbot):
    doc = opened.doc
    old_bounds = [(p.start_beat, p.end_beat) for p in doc.phrases]
    old_dances = doc.choreography.dance_ids
    line = opened.waveform.boundary_lines()[0]  # start of phrase 2
    first, second = doc.phrases[0], doc.phrases[1]
    analysis = doc.analysis
    bar = analysis.beats_per_bar
    # one bar later, inside phrase 2, a little off the grid: it must snap to the downbeat
    target_beat = second.start_beat + bar
    assert target_beat < second.end_beat
    line.setValue(float(analysis.beats_s[target_beat]) + 0.08)
    line.sigPositionChangeFinished.emit(line)
    _idle(qtbot, opened)
    assert doc.phrases[1].start_beat == target_beat
    assert doc.phrases[0].start_beat == first.start_beat
    new_bounds = [(p.start_beat, p.end_beat) for p in doc.phrases]
    untouched = [i for i, b in enumerate(new_bounds) if b in old_bounds]
    assert untouched, "phrases away from the edit keep their boundaries"
    for i in untouched:
        assert doc.choreography[i].dance_id == old_dances[old_bounds.index(new_bounds[i])]
    assert len(opened.waveform.boundary_lines()) == len(doc.phrases) - 1
    doc.undo_stack.undo()
    assert [(p.start_beat, p.end_beat) for p in doc.phrases] == old_bounds
    assert doc.choreography.dance_ids == old_dances


def test_split_at_playhead_and_merge(opened, qtbot):
    doc = opened.doc
    n = len(doc.phrases)
    longest = max(doc.phrases, key=lambda p: p.n_bars)
    assert longest.n_bars >= 4
    a = doc.analysis
    mid_beat = longest.start_beat + 2 * a.beats_per_bar
    opened.transport.seek(float(a.beats_s[mid_beat]) + 0.05)
    opened.action("split").trigger()
    _idle(qtbot, opened)
    assert len(doc.phrases) == n + 1
    assert any(p.start_beat == mid_beat for p in doc.phrases)
    doc.select(next(p.index for p in doc.phrases if p.end_beat == mid_beat))
    opened.action("merge").trigger()
    _idle(qtbot, opened)
    assert not any(p.start_beat == mid_beat for p in doc.phrases)


def test_meter_change_asks_first_resegments_and_undoes(opened, qtbot):
    doc = opened.doc
    before = doc.segmentation
    opened.edits.set_meter(3)  # the scripted prompter says No: nothing runs
    _idle(qtbot, opened)
    assert "re-cuts the whole song" in opened.prompter.asked[-1]
    assert doc.segmentation is before and doc.undo_stack.count() == 0
    opened.prompter.answers.append("yes")
    opened.edits.set_meter(3)
    _idle(qtbot, opened)
    assert doc.analysis.beats_per_bar == 3
    assert doc.undo_stack.text(0).startswith("Meter 3/4: ")
    assert all(np.diff(doc.analysis.downbeats) % 3 == 0)
    assert len(doc.choreography) == len(doc.phrases)
    doc.undo_stack.undo()
    assert doc.analysis.beats_per_bar == 4


def test_tap_tempo_maths():
    taps = [0.0, 0.5, 1.0, 1.52, 2.0, 2.5]  # one late tap
    assert bpm_from_taps(taps) == pytest.approx(120.0, rel=0.01)
    assert bpm_from_taps([0.0]) is None
    assert bpm_from_taps([0.0, 0.5, 5.0, 5.4, 5.8]) == pytest.approx(150.0, rel=0.01)


def test_save_reopen_compare(opened, qtbot, tmp_path, assets):
    doc = opened.doc
    doc.select(2)
    opened.edits.swap_suggestion(
        next(i for i, r in enumerate(opened.suggestions.rows) if not r.current))
    opened.action("lock").trigger()
    opened.edits.toggle_mirror()
    path = tmp_path / "dance.choreo"
    assert opened.files.save_to(str(path))
    assert not doc.dirty
    saved = json.loads(path.read_text())
    assert saved["format_version"] == 1
    again = _window(qtbot, tmp_path / "second", assets)
    _open(qtbot, again, path)
    assert [(p.start_beat, p.end_beat) for p in again.doc.phrases] == [
        (p.start_beat, p.end_beat) for p in doc.phrases
    ]
    for a, b in zip(again.doc.choreography, doc.choreography, strict=True):
        assert (a.dance_id, a.locked, a.mirror, a.blend_s) == (
            b.dance_id,
            b.locked,
            b.mirror,
            b.blend_s,
        )
    assert again.doc.project_path == str(path)
    assert not again.doc.dirty


def test_export_all_formats(opened, qtbot, tmp_path):
    from choreo_studio.core.export.timeline import read_timeline
    from choreo_studio.core.motion.bvh import read_bvh

    out = tmp_path / "export"
    formats = ["json", "bvh", "glb", "csv"]
    try:
        from choreo_studio.editor.video_export import find_ffmpeg

        find_ffmpeg()
        formats.append("mp4")
    except ChoreoError:
        pass
    written = []
    opened.files.export(str(out), formats, video_size=(320, 180), on_done=written.extend)
    _idle(qtbot, opened)
    assert opened._last_error == ""
    names = {p.suffix for p in written}
    assert {".json", ".bvh", ".glb", ".csv"} <= names
    doc = opened.doc
    timeline = read_timeline(next(p for p in written if p.suffix == ".json"))
    assert timeline.choreography.dance_ids == doc.choreography.dance_ids
    motion = read_bvh(next(p for p in written if p.suffix == ".bvh"))
    assert motion.n_frames == pytest.approx(doc.analysis.duration_s * 30, abs=2)
    assert next(p for p in written if p.suffix == ".glb").read_bytes()[:4] == b"glTF"
    csv_lines = next(p for p in written if p.suffix == ".csv").read_text().strip().splitlines()
    assert len(csv_lines) == len(doc.phrases) + 1
    if "mp4" in formats:
        data = next(p for p in written if p.suffix == ".mp4").read_bytes()
        assert data[4:8] == b"ftyp" and len(data) > 10_000


def test_bad_song_keeps_the_open_project(opened, qtbot, tmp_path):
    before = opened.doc.choreography
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    opened.files.open_path(str(broken), ask_to_save=False)
    qtbot.waitUntil(lambda: opened._last_error != "", timeout=WAIT_MS)
    assert "broken.wav" in opened._last_error
    assert opened.doc.choreography is before and opened.doc.ready


def test_project_whose_song_moved_or_is_newer(opened, qtbot, tmp_path, assets):
    song = tmp_path / "song.wav"
    shutil.copy(assets["song"], song)
    _open(qtbot, opened, song)
    project = tmp_path / "p.choreo"
    assert opened.files.save_to(str(project))
    song.rename(tmp_path / "moved.wav")
    before = opened.doc.choreography
    opened.files.open_path(str(project), ask_to_save=False)
    assert "locate the song file" in opened._last_error
    assert opened.doc.choreography is before
    data = json.loads(project.read_text())
    data["format_version"] = 99
    project.write_text(json.dumps(data))
    opened._last_error = ""
    opened.files.open_path(str(project), ask_to_save=False)
    assert "newer Choreo Studio" in opened._last_error
    assert opened.doc.choreography is before


def test_autosave_and_recovery(opened, qtbot, tmp_path, assets):
    doc = opened.doc
    doc.select(0)
    opened.edits.swap_suggestion(next(i for i, r in enumerate(opened.suggestions.rows)
                                      if not r.current))
    assert opened.autosaver.save_now()
    autosaved = opened.autosaver.path
    assert autosaved.is_file()
    other = _window(qtbot, tmp_path / "after-crash", assets)
    other.files.recover(str(autosaved))
    qtbot.waitUntil(lambda: other.doc.ready and not other.jobs.busy, timeout=WAIT_MS)
    assert other.doc.choreography.dance_ids == doc.choreography.dance_ids
    assert other.doc.dirty, "recovered work is unsaved until the user saves it"
    assert opened.files.save_to(str(tmp_path / "saved.choreo"))
    assert not autosaved.exists(), "a clean save removes the autosave"


def test_library_browser_filters_and_usage(opened):
    browser = opened.library_browser
    lib = opened.engine.library
    assert len(browser.visible_ids()) == len(lib.phrases)
    browser.energy_combo.setCurrentText("high")
    shown = browser.visible_ids()
    assert shown and all(lib.phrase(i).energy_label == "high" for i in shown)
    browser.energy_combo.setCurrentText("all")
    browser.search.setText(lib.phrases[0].name)
    assert lib.phrases[0].id in browser.visible_ids()
    assert len(browser.visible_ids()) < len(lib.phrases)
    browser.search.setText("")
    used = opened.doc.choreography[0].dance_id
    assert 1 in browser.usage_of(used)
    browser.select_id(used)
    assert browser.selected_id() == used


def test_starts_and_plays_without_an_audio_device(qtbot, tmp_path, assets, monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # as if PortAudio were missing
    window = _window(qtbot, tmp_path, assets, want_sound=True)
    _open(qtbot, window, assets["song"])
    assert "silent clock" in window.transport.description
    window.action("play").trigger()
    qtbot.waitUntil(lambda: window.transport.position_s() > 0.1, timeout=5000)
    window.action("play").trigger()
    assert not window.transport.playing
    p = window.doc.phrases[1]
    window.transport.audition(p.start_s, p.start_s + 0.15)
    qtbot.waitUntil(lambda: not window.transport.playing, timeout=5000)
    assert window.transport.position_s() == pytest.approx(p.start_s + 0.15, abs=0.02)


def test_screenshot_of_main_window(opened, qtbot, tmp_path):
    opened.doc.select(1)
    qtbot.waitUntil(lambda: opened.skeleton.scene.positions.shape[0] > 0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: opened.last_metrics is not None, timeout=WAIT_MS)
    assert "beat hit" in opened.metrics_label.text()
    frames = opened.skeleton.scene.positions.shape[0]
    assert frames == pytest.approx(opened.doc.analysis.duration_s * 30, abs=2)
    image = opened.grab().toImage()
    assert image.width() >= 1000
    assert opened.grab().save(str(tmp_path / "main_window.png"))
    # the waveform is drawn: its area is not one flat colour
    wave = opened.waveform.grab().toImage()
    colours = {wave.pixel(x, wave.height() // 2) for x in range(0, wave.width(), 7)}
    assert len(colours) > 3


def test_same_as_section_and_arrow_selection(opened, qtbot):
    doc = opened.doc
    from choreo_studio.core.retrieval.decoding import section_ties

    groups = section_ties([p.section_label for p in doc.phrases])
    group = next(g for g in groups if len(g) > 1)
    doc.select(group[0])
    opened.action("next").trigger()
    assert doc.selected == group[0] + 1
    opened.action("prev").trigger()
    assert doc.selected == group[0]
    opened.action("same").trigger()
    first = doc.choreography[group[0]].dance_id
    assert all(doc.choreography[i].dance_id == first for i in group)
    doc.undo_stack.undo()
    assert doc.choreography[group[0]].dance_id == first


def test_library_mismatch_keeps_known_placements(opened, qtbot, tmp_path, assets):
    doc = opened.doc
    doc.select(0)
    opened.action("lock").trigger()
    path = tmp_path / "other-library.choreo"
    assert opened.files.save_to(str(path))
    data = json.loads(path.read_text())
    data["library"]["fingerprint"] = "another-library"
    data["choreography"]["placements"][1]["dance_id"] = "gone-from-library"
    path.write_text(json.dumps(data))
    again = _window(qtbot, tmp_path / "mismatch", assets)
    again.files.open_path(str(path), ask_to_save=False)
    qtbot.waitUntil(lambda: again.doc.ready and not again.jobs.busy, timeout=WAIT_MS)
    assert "re-solve the rest" in again._last_error
    assert again.doc.choreography[0].dance_id == doc.choreography[0].dance_id
    assert again.doc.choreography[0].locked
    assert again.engine.dance(again.doc.choreography[1].dance_id) is not None


def test_audition_plays_in_context_loops_and_space_resumes(opened, qtbot):
    from choreo_studio.core.project import session

    doc, a = opened.doc, opened.doc.analysis
    opened.transport.seek(1.5)
    dance = opened.engine.library.phrases[0]
    doc.select(2)
    opened.preview_dance(dance.id)
    p2 = doc.phrases[2]
    bar_before = float(a.beats_s[a.downbeats[a.beats_s[a.downbeats] < p2.start_s - 1e-6][-1]])
    assert session.audition_span(doc.segmentation, 2) == (bar_before, p2.end_s)
    assert opened.transport.playing
    assert opened.transport.loop_s == (bar_before, p2.end_s)
    assert opened.waveform.loop_region == pytest.approx((bar_before, p2.end_s))
    assert opened.audition_label.text().strip().startswith("▶ auditioning 3: ")
    qtbot.waitUntil(lambda: opened.skeleton.scene.start_s == pytest.approx(bar_before),
                    timeout=WAIT_MS)
    frames = opened.skeleton.scene.positions.shape[0]
    assert frames == pytest.approx((p2.end_s - bar_before) * 30, abs=2)
    doc.select(1)
    opened.audition_suggestion(0)  # a second audition keeps where the user was
    assert opened.auditioning[2] == pytest.approx(1.5, abs=0.05)
    opened.action("play").trigger()  # Space: back to where the user was, playing on
    assert opened.auditioning is None and opened.audition_label.text() == ""
    assert opened.transport.loop_s is None and opened.waveform.loop_region is None
    assert opened.transport.position_s() == pytest.approx(1.5, abs=0.3)
    assert opened.transport.playing
    opened.transport.pause()


def test_cancel_stops_a_running_job(qtbot):
    from choreo_studio.editor.workers import JobRunner

    make_app()
    runner = JobRunner()
    seen = []

    def slow(progress):
        for i in range(1000):
            progress(i / 1000, "working")
            time.sleep(0.002)
        return "finished"

    job = runner.start("slow", slow, on_done=seen.append, on_cancel=lambda: seen.append("x"))
    qtbot.wait(30)
    job.cancel()
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    assert seen == ["x"] and not runner.busy


def test_playback_cursor_loops_and_stops():
    from choreo_studio.editor.audio_player import PlaybackCursor

    cursor = PlaybackCursor(1000, frame=90, loop=(50, 100))
    spans = cursor.take(30)
    assert spans == [(90, 10), (50, 20)] and cursor.frame == 70
    cursor.loop, cursor.stop_at = None, 80
    assert cursor.take(50) == [(70, 10)] and cursor.finished
    cursor.seek(990)
    assert cursor.take(50) == [(990, 10)] and cursor.finished


def test_choreo_edit_refuses_a_missing_file(tmp_path, capsys):
    from choreo_studio.core.cli import main

    assert main(["edit", str(tmp_path / "nope.wav")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_wave_pyramid_keeps_peaks_at_every_zoom():
    from choreo_studio.editor.waveform_view import WavePyramid

    sr = 22050
    samples = np.zeros((sr * 120, 2), dtype=np.float32)
    samples[sr * 60 + 17, 1] = -0.8  # one click in the right channel at 60 s
    samples[:, 0] += 0.1 * np.sin(np.arange(sr * 120) / 50.0)
    pyramid = WavePyramid(samples, sr)
    for lo, hi, width in ((0.0, 120.0, 800), (59.0, 61.0, 800), (59.99, 60.01, 400)):
        x, y = pyramid.for_range(lo, hi, width)
        assert x.size <= 2 * (width + 4)
        assert x[0] <= lo + 0.01 * (hi - lo) and x[-1] >= hi - 0.01 * (hi - lo)
        assert y.min() == pytest.approx(-1.0)  # the click is the peak: normalised to -1


def test_drop_a_song_and_recent_files(qtbot, tmp_path, assets):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    window = _window(qtbot, tmp_path, assets)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(assets["song"]))])
    event = QDropEvent(
        QPointF(200, 200),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.doc.ready and not window.jobs.busy, timeout=WAIT_MS)
    assert window.doc.song_path == str(assets["song"])
    assert window.files.recent_files()[0] == str(assets["song"].resolve())


def test_cancelled_boundary_drag_puts_the_line_back(opened, qtbot):
    doc = opened.doc
    start = doc.phrases[1].start_s
    line = opened.waveform.boundary_lines()[0]
    a = doc.analysis
    line.setValue(float(a.beats_s[doc.phrases[1].start_beat + a.beats_per_bar]))
    line.sigPositionChangeFinished.emit(line)
    opened.cancel_job()
    _idle(qtbot, opened)
    first_line = opened.waveform.boundary_lines()[0]
    moved = doc.phrases[1].start_s != start
    # either the job finished before the cancel (an undoable edit) or the line went back
    assert first_line.value() == pytest.approx(doc.phrases[1].start_s)
    assert moved == (doc.undo_stack.count() == 1)


def test_shortcut_sheet_lists_every_shortcut(opened):
    from choreo_studio.editor.shortcuts import DESCRIPTIONS, SHORTCUTS, shortcut_sheet_html

    assert set(SHORTCUTS) == set(DESCRIPTIONS)
    sheet = shortcut_sheet_html()
    for key in SHORTCUTS.values():
        assert f"<b>{key}</b>" in sheet
    assert opened.action("play").shortcut().toString() == "Space"


def test_metronome_clicks_are_mixed_on_beats():
    from choreo_studio.editor.audio_player import SoundDeviceOutput

    class Device:  # the two calls SoundDeviceOutput makes of the sounddevice module
        @staticmethod
        def query_devices(kind=None):
            return {"name": "test output"}

    sr = 8000
    out = SoundDeviceOutput(np.zeros((sr, 2), dtype=np.float32), sr, Device)
    out.set_beats(np.array([0.1, 0.6]), np.array([0]))
    out.metronome = True
    buffer = np.zeros((sr, 2), dtype=np.float32)
    out._callback(buffer, sr, None, None)
    energy = np.abs(buffer[:, 0])
    assert energy[int(0.1 * sr) : int(0.13 * sr)].max() > 0.1
    assert energy[int(0.6 * sr) : int(0.63 * sr)].max() > 0.1
    assert energy[int(0.3 * sr) : int(0.5 * sr)].max() == 0.0
    assert "test output" in out.description


def test_switching_library_keeps_what_exists(opened, qtbot, tmp_path):
    small = engine_synthetic.library(k=6)
    small.save(tmp_path / "small")
    before = opened.doc.choreography.dance_ids
    opened.files.use_engine(library_path=str(tmp_path / "small"))
    qtbot.waitUntil(
        lambda: len(opened.engine.library) == 6 and not opened.jobs.busy, timeout=WAIT_MS
    )
    after = opened.doc.choreography.dance_ids
    assert all(opened.engine.dance(d) is not None for d in after)
    kept = {i for i, d in enumerate(before) if d in set(small.ids)}
    assert all(after[i] == before[i] for i in kept)
    assert "re-solve the rest" in opened._last_error
    assert opened.doc.dirty
    assert opened.settings.value("library_path") == str(tmp_path / "small")


def test_placement_inspector_edits_are_undoable(opened):
    doc = opened.doc
    doc.select(2)
    inspector = opened.inspector
    assert inspector.isEnabled()
    inspector.blend.setValue(0.6)
    assert doc.choreography[2].blend_s == pytest.approx(0.6)
    inspector.mirror_repeat.setChecked(not doc.choreography[2].mirror_on_repeat)
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.choreography[2].blend_s != pytest.approx(0.6)
    assert inspector.blend.value() == pytest.approx(doc.choreography[2].blend_s)
    opened.action("lock").trigger()
    assert not inspector.isEnabled()


def test_set_first_downbeat_and_tap_tempo_dialog(opened, qtbot):
    from choreo_studio.editor.tempo_tools import TapTempo

    doc = opened.doc
    a = doc.analysis
    beat = int(a.downbeats[1]) + 1  # the second beat of bar 2
    opened.transport.seek(float(a.beats_s[beat]) + 0.01)
    opened.prompter.answers.append("yes")
    opened.action("downbeat").trigger()
    _idle(qtbot, opened)
    assert doc.analysis is not a
    nearest = doc.analysis.beat_at(float(a.beats_s[beat]))
    assert nearest in set(doc.analysis.downbeats.tolist())
    assert all(p.start_beat in set(doc.analysis.downbeats.tolist()) | {0} for p in doc.phrases)
    doc.undo_stack.undo()
    assert doc.analysis is a
    dialog = TapTempo(a.tempo_bpm)
    qtbot.addWidget(dialog)
    for i in range(6):
        dialog.tap(at_s=i * 0.4)
    assert dialog.bpm == pytest.approx(150.0, rel=0.01)


def test_child_analysis_reports_errors_and_cancels(tmp_path, assets):
    from choreo_studio.core.audio.load import file_content_hash
    from choreo_studio.core.errors import Cancelled
    from choreo_studio.core.phrases.feature_cache import FeatureCache
    from choreo_studio.editor.analysis_process import analyze_in_child

    bad = tmp_path / "notes.wav"
    bad.write_text("not audio at all")
    with pytest.raises(ChoreoError, match="notes.wav"):
        analyze_in_child(str(bad))
    song = tmp_path / "fresh.wav"
    render_demo_song(DemoSongSpec(tempo_bpm=100.0, structure=(("verse", 4),), seed=9)).write_wav(
        song
    )
    seen = []

    def cancel_at_first(fraction, message):
        seen.append(message)
        raise Cancelled(message)

    with pytest.raises(Cancelled):
        analyze_in_child(str(song), cancel_at_first)
    assert len(seen) == 1
    assert FeatureCache(file_content_hash(song)).load_analysis() is None


def test_locked_dance_follows_its_moved_phrase(opened, qtbot):
    doc = opened.doc
    target = next(p for p in doc.phrases[1:] if p.n_bars >= 4)
    doc.select(target.index)
    opened.edits.swap_suggestion(len(opened.suggestions.rows) - 1)
    opened.action("lock").trigger()
    locked = doc.choreography[target.index].dance_id
    a = doc.analysis
    # move its end one bar earlier: the phrase changes but keeps most of its music
    line = opened.waveform.boundary_lines()[target.index]  # start of the next phrase
    line.setValue(float(a.beats_s[target.end_beat - a.beats_per_bar]))
    line.sigPositionChangeFinished.emit(line)
    _idle(qtbot, opened)
    moved = next(p for p in doc.phrases if p.start_beat == target.start_beat)
    assert moved.end_beat == target.end_beat - a.beats_per_bar
    assert doc.choreography[moved.index].dance_id == locked
    assert doc.choreography[moved.index].locked


def test_enter_in_the_suggestions_swaps_the_current_row(opened, qtbot):
    doc = opened.doc
    doc.select(1)
    table = opened.suggestions.table
    table.setFocus()
    table.setCurrentIndex(opened.suggestions.model.index(1, 0))
    target = opened.suggestions.rows[1].dance_id
    qtbot.keyClick(table, Qt.Key.Key_Return)
    assert doc.choreography[1].dance_id == target
    assert doc.undo_stack.count() == 1


def test_song_without_a_beat_keeps_the_open_choreography(opened, qtbot, tmp_path):
    import soundfile as sf

    doc = opened.doc
    doc.select(1)
    opened.edits.swap_suggestion(2)
    before = doc.choreography.dance_ids
    song = doc.song_path
    from tests.audio_fixtures import SR, speech_like

    talk = speech_like(12.0)
    sf.write(str(tmp_path / "talk.wav"), np.stack([talk, talk], 1), SR)
    opened.files.open_path(str(tmp_path / "talk.wav"), ask_to_save=False)
    qtbot.waitUntil(lambda: opened._last_error != "", timeout=WAIT_MS)
    _idle(qtbot, opened)
    assert "no steady beat" in opened._last_error
    assert doc.ready and doc.song_path == song
    assert doc.choreography.dance_ids == before
    assert doc.dirty, "the unsaved edit is still unsaved"
    assert len(opened.timeline.blocks) == len(before)


def test_zoom_keeps_the_playhead_in_view(opened):
    vb = opened.waveform.getViewBox()
    opened.transport.seek(10.0)
    opened.action("zoom_in").trigger()
    lo, hi = vb.viewRange()[0]
    assert lo <= 10.0 <= hi and hi - lo < opened.transport.duration_s * 0.6
    opened.doc.select(2)
    opened.action("zoom_phrase").trigger()
    p = opened.doc.phrases[2]
    lo, hi = vb.viewRange()[0]
    assert lo <= p.start_s and p.end_s <= hi and hi - lo < 1.3 * (p.end_s - p.start_s)
    opened.action("zoom_fit").trigger()
    assert vb.viewRange()[0][1] - vb.viewRange()[0][0] == pytest.approx(
        opened.transport.duration_s, rel=0.01
    )


def test_demo_song_file_is_written_once_into_the_cache_root(tmp_path, monkeypatch):
    from choreo_studio.editor.session_ops import demo_song_path

    make_app()
    monkeypatch.setenv("CHOREO_CACHE_DIR", str(tmp_path / "cache"))  # ignored before: bug
    path = demo_song_path()
    assert path.is_file() and path.parent.parent == tmp_path / "cache"
    assert path.name == "demo_song.wav"  # the title bar shows it: no cache hash in the name
    stamp = path.stat().st_mtime_ns
    assert demo_song_path() == path and path.stat().st_mtime_ns == stamp
    path.unlink()  # a missing (or, under another generator, differently named) file is written
    assert demo_song_path() == path and path.is_file()


def _bounds(doc):
    return [(p.start_beat, p.end_beat) for p in doc.phrases]


def test_split_adds_one_boundary_and_says_so_in_the_history(opened, qtbot):
    doc, a = opened.doc, opened.doc.analysis
    t = max(range(len(doc.phrases)), key=lambda i: doc.phrases[i].n_bars)
    p = doc.phrases[t]
    other = 0 if t else len(doc.phrases) - 1
    doc.select(other)
    opened.action("lock").trigger()
    before, dances = _bounds(doc), doc.choreography.dance_ids
    cut = next(int(b) for b in a.downbeats if p.start_beat < b < p.end_beat)
    opened.transport.seek(float(a.beats_s[cut]) + 0.1)  # just after a bar line: snaps back
    opened.action("split").trigger()
    _idle(qtbot, opened)
    assert _bounds(doc) == before[:t] + [(p.start_beat, cut), (cut, p.end_beat)] + before[t + 1:]
    new_other = other if other < t else other + 1
    assert doc.choreography[new_other].locked
    assert doc.choreography[new_other].dance_id == dances[other]
    assert doc.undo_stack.undoText().startswith(f"Split phrase {t + 1} at bar ")
    assert doc.undo_stack.undoText().endswith(f"{len(before)} → {len(before) + 1} phrases")
    doc.undo_stack.undo()
    assert _bounds(doc) == before


def test_merge_joins_exactly_the_shift_selected_run(opened, qtbot):
    doc = opened.doc
    before, dances = _bounds(doc), doc.choreography.dance_ids
    assert len(before) >= 4
    doc.select(0)
    doc.select(2, "range")
    assert doc.selection == [0, 1, 2]
    assert opened.timeline._item.selected == {0, 1, 2}
    opened.action("merge").trigger()
    _idle(qtbot, opened)
    assert _bounds(doc) == [(before[0][0], before[2][1]), *before[3:]]
    assert doc.choreography.dance_ids[1:] == dances[3:]
    n = len(before)
    assert doc.undo_stack.undoText() == f"Merge phrases 1–3: {n} → {n - 2} phrases"


def test_dragging_moves_exactly_one_boundary(opened, qtbot):
    doc, a = opened.doc, opened.doc.analysis
    before, dances = _bounds(doc), doc.choreography.dance_ids
    i = next(k for k in range(1, len(before)) if doc.phrases[k].n_bars >= 2)
    target = before[i][0] + a.beats_per_bar
    line = opened.waveform.boundary_lines()[i - 1]
    line.setValue(float(a.beats_s[target]) - 0.07)
    line.sigPositionChangeFinished.emit(line)
    _idle(qtbot, opened)
    expected = list(before)
    expected[i - 1], expected[i] = (before[i - 1][0], target), (target, before[i][1])
    assert _bounds(doc) == expected
    assert [d for k, d in enumerate(doc.choreography.dance_ids) if k not in (i - 1, i)] == \
        [d for k, d in enumerate(dances) if k not in (i - 1, i)]
    assert doc.undo_stack.undoText().startswith(f"Move boundary {i}|{i + 1} from bar ")


def test_an_unchanged_tap_tempo_changes_nothing(opened, qtbot):
    doc = opened.doc
    before = doc.segmentation
    opened.prompter.dialogs.append(True)  # OK on the dialog, tempo untouched
    opened.action("tap").trigger()
    _idle(qtbot, opened)
    assert doc.segmentation is before
    assert doc.undo_stack.count() == 0
    assert not opened.prompter.asked, "nothing to confirm: nothing is re-analysed"


def test_a_locked_phrase_whose_span_changes_is_flagged(opened, qtbot):
    doc = opened.doc
    t = max(range(len(doc.phrases)), key=lambda i: doc.phrases[i].n_bars)
    doc.select(t)
    opened.action("lock").trigger()
    p = doc.phrases[t]
    opened.transport.seek(p.start_s + p.duration_s / 2)
    opened.action("split").trigger()
    _idle(qtbot, opened)
    assert doc.segmentation.flagged == (t, t + 1)
    assert [b.flagged for b in opened.timeline.blocks].count(True) == 2
    assert doc.undo_stack.undoText().endswith(f"locked {t + 1}, {t + 2} changed span")
    assert "span changed" in opened.timeline.blocks[t].description


def test_multi_select_locks_resolves_and_clears_only_the_selection(opened, qtbot):
    doc = opened.doc
    doc.select(1)
    doc.select(3, "toggle")
    assert doc.selection == [1, 3]
    opened.action("lock").trigger()
    assert [p.locked for p in doc.choreography] == [i in (1, 3) for i in range(len(doc.phrases))]
    assert doc.undo_stack.undoText() == "Lock phrases 2, 4"
    opened.action("unlock_selected").trigger()
    assert not any(p.locked for p in doc.choreography)
    worst = opened.engine.library.ids[0]
    chor = doc.choreography
    for i in range(len(chor)):
        chor = chor.with_placement(chor[i].with_changes(dance_id=worst))
    doc.set_choreography(chor)
    doc.select(2)
    doc.select(3, "range")
    opened.action("resolve_selected").trigger()
    _idle(qtbot, opened)
    ids = doc.choreography.dance_ids
    assert all(ids[i] == worst for i in range(len(ids)) if i not in (2, 3))
    assert doc.undo_stack.undoText() == "Re-solve phrases 3–4"
    doc.select(0)
    doc.select(0, "toggle")  # dropping the only selected phrase keeps it
    assert doc.selection == [0]


def test_a_library_dance_dropped_on_a_phrase_is_placed_there(opened, qtbot):
    from choreo_studio.editor.library_browser import DANCE_MIME
    from PySide6.QtCore import QMimeData, QPointF
    from PySide6.QtGui import QDropEvent

    doc, timeline = opened.doc, opened.timeline
    t = 2
    dance = next(d for d in opened.engine.library.phrases
                 if d.id != doc.choreography[t].dance_id)
    p = doc.phrases[t]
    vb = timeline.getViewBox()
    scene = vb.mapViewToScene(QPointF(0.5 * (p.start_s + p.end_s), 0.5))
    pos = QPointF(timeline.mapFromScene(scene))
    source = opened.library_browser.model
    row = next(r for r, d in enumerate(source.rows) if d.id == dance.id)
    mime = source.mimeData([source.index(row, 0)])
    assert bytes(mime.data(DANCE_MIME)).decode() == dance.id
    event = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    timeline.dropEvent(event)
    assert doc.selected == t
    assert doc.choreography[t].dance_id == dance.id
    assert isinstance(QMimeData(), QMimeData)


def test_tap_dialog_taps_on_space_and_t_and_accepts_on_enter(qtbot):
    from choreo_studio.editor.tempo_tools import TapTempo

    make_app()
    dialog = TapTempo(120.0)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.spin.setFocus()
    qtbot.keyClick(dialog.spin, Qt.Key.Key_Space)
    qtbot.keyClick(dialog, Qt.Key.Key_T)
    assert dialog.label.text().startswith("2 taps")
    assert dialog.isVisible(), "Space taps: it never presses OK"
    qtbot.keyClick(dialog, Qt.Key.Key_Return)
    assert dialog.result() == dialog.DialogCode.Accepted


def test_suggestions_highlight_the_placed_row(opened):
    rows = opened.suggestions.rows
    placed = next(i for i, r in enumerate(rows) if r.current)
    assert opened.suggestions.highlighted == placed


def test_home_and_end_and_the_clock_in_bars(opened):
    doc = opened.doc
    opened.action("end").trigger()
    assert doc.selected == len(doc.phrases) - 1
    assert opened.transport.position_s() == pytest.approx(doc.phrases[-1].start_s, abs=0.01)
    opened.action("home").trigger()
    assert doc.selected == 0 and opened.transport.position_s() == pytest.approx(0.0, abs=0.01)
    a = doc.analysis
    opened.transport.seek(float(a.beats_s[a.downbeats[2] + 1]) + 0.01)
    assert opened.time_label.text().startswith("bar 3:2 · ")


def test_block_labels_adapt_to_their_room():
    from choreo_studio.editor.timeline_view import Block, fit_label

    block = Block(0.0, 8.0, "Hip-hop bounce: knees and arms", "hip-hop", False, 0.5, "A",
                  short="Hip-hop bounce", variant=2)

    def advance(text):
        return 6 * len(text)  # a fixed-pitch font, 6 px a character

    assert fit_label(block, 400, advance) == "Hip-hop bounce: knees and arms"
    assert fit_label(block, 100, advance) == "Hip-hop bounce"
    assert fit_label(block, 20, advance) == "H3"
    assert fit_label(block, 5, advance) == ""


def test_dances_of_one_style_get_distinct_looks():
    from choreo_studio.editor.timeline_view import Block, block_fill, block_pattern

    looks = {(block_fill(b).name(), block_pattern(b)) for b in
             (Block(0, 1, "d", "k-pop", False, None, "A", variant=v) for v in range(8))}
    assert len(looks) == 8


def test_the_beat_grid_thins_with_the_zoom():
    from choreo_studio.editor.waveform_view import grid_lines

    beats = np.arange(0, 240, 0.5)  # 120 BPM, 4 minutes
    bars = beats[::4]
    shown_beats, shown_bars = grid_lines(beats, bars, 240.0, 1000.0)  # ~2 px a beat
    assert shown_beats.size == 0 and np.all(np.diff(shown_bars) >= 6 * 0.24 - 1e-9)
    shown_beats, shown_bars = grid_lines(beats, bars, 20.0, 1000.0)  # 25 px a beat
    assert shown_beats.size == beats.size and shown_bars.size == bars.size
    shown_beats, _ = grid_lines(beats, bars, 83.0, 1000.0)  # 6.02 px a beat
    assert shown_beats.size == beats.size


def test_timeline_labels_stay_on_the_visible_part_of_a_block(opened, qtbot):
    timeline, doc = opened.timeline, opened.doc
    opened.zoom_fit()
    qtbot.wait(50)
    timeline.grab()
    assert all(timeline.drawn_labels), "every block has a label at fit zoom"
    p = max(doc.phrases, key=lambda q: q.duration_s)
    timeline.getViewBox().setXRange(p.start_s + 0.6 * p.duration_s, p.end_s + 1.0, padding=0)
    qtbot.wait(50)
    timeline.grab()
    assert timeline.drawn_labels[p.index], "a block whose start is off screen keeps its label"
    assert opened.waveform.drawn_grid()[0] > 0, "zoomed in: beat lines"
    opened.zoom_fit()


def test_the_flat_3d_view_zooms_and_the_3d_dock_detaches(opened, qtbot):
    from choreo_studio.editor.skeleton_view import FlatSkeletonView
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QDockWidget

    view = FlatSkeletonView()
    qtbot.addWidget(view)
    event = QWheelEvent(QPointF(10, 10), QPointF(10, 10), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    view.wheelEvent(event)
    assert view.camera.zoom == pytest.approx(1.15)
    dock = opened.skeleton_dock
    assert dock.features() & QDockWidget.DockWidgetFeature.DockWidgetFloatable
    dock.setFloating(True)
    assert dock.isFloating()
    dock.setFloating(False)


def test_decoding_progress_names_the_probed_length(assets, tmp_path):
    from choreo_studio.editor.session_ops import decoding_text

    assert decoding_text(str(assets["song"])).startswith("decoding short demo.wav (0:")
    missing = tmp_path / "gone.ogg"
    assert decoding_text(str(missing)) == "decoding gone.ogg"


def test_other_readings_menu_takes_half_tempo_and_undoes(opened, qtbot):
    doc = opened.doc
    a = doc.analysis
    menu = opened.readings_menu
    menu.aboutToShow.emit()
    texts = [action.text() for action in menu.actions() if not action.isSeparator()]
    assert texts[0].startswith(f"chosen: {a.tempo_bpm:.1f} BPM {a.meter}")
    assert "beat confidence" in texts[0] and not menu.actions()[0].isEnabled()
    assert len(a.alternatives) > 8 and len(texts) - 1 == len(a.alternatives)  # all, low ones too
    half = next(action for action in menu.actions() if action.text().startswith("half tempo"))
    opened.prompter.answers.append("yes")
    half.trigger()
    _idle(qtbot, opened)
    assert doc.analysis.tempo_bpm == pytest.approx(a.tempo_bpm / 2, rel=0.03)
    assert doc.undo_stack.text(0).startswith("Reading: half tempo")
    assert len(doc.choreography) == len(doc.phrases)
    doc.undo_stack.undo()
    assert doc.analysis is a


def test_a_weak_pulse_song_opens_with_its_grid_marked_a_best_guess(opened, qtbot, tmp_path):
    import soundfile as sf

    from tests.audio_fixtures import SR, rubato_melody

    tune = rubato_melody(20.0)
    sf.write(str(tmp_path / "rubato.wav"), np.stack([tune, tune], 1), SR)
    _open(qtbot, opened, tmp_path / "rubato.wav")
    assert opened.doc.analysis.grid_unsure
    assert "(best guess)" in opened.song_label.text()
    assert opened.statusBar().currentMessage().startswith("beat grid is a best guess")
