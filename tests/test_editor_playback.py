"""Playback while choosing (pytest-qt, offscreen): A/B during an audition, playback speed with
the sound stretched, the play range, and the output callback at a slowed speed."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from choreo_studio.editor import audio_player  # noqa: E402
from choreo_studio.editor import transport as transport_module  # noqa: E402
from choreo_studio.editor.audio_player import SoundDeviceOutput  # noqa: E402

from tests import test_editor as editor_tests  # noqa: E402

WAIT_MS = editor_tests.WAIT_MS
assets, _quiet, opened = editor_tests.assets, editor_tests._quiet, editor_tests.opened
_window = editor_tests._window

SR = 8000


class FakeStream:
    """A PortAudio stream that never plays: the tests call the callback themselves."""

    latency = 0.1

    def __init__(self, **kwargs) -> None:
        self.kwargs = kwargs

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


class FakeSoundDevice:
    """The part of the sounddevice module the output uses."""

    OutputStream = FakeStream

    @staticmethod
    def query_devices(kind: str) -> dict:
        return {"name": f"fake {kind}"}


class Underflow:
    output_underflow = True


def _ramp(n: int) -> np.ndarray:
    return np.stack([np.arange(n, dtype=np.float32)] * 2, axis=1)


def test_slowed_callback_reads_the_stretched_song_and_moves_the_cursor_at_speed():
    song = _ramp(4000)
    out_dev = SoundDeviceOutput(song, SR, FakeSoundDevice)
    stretched = -_ramp(8000)  # any buffer twice as long: the song at 0.5×
    with pytest.raises(ValueError):
        out_dev.set_speed(0.5)
    out_dev.set_speed(0.5, stretched)
    out_dev.cursor.seek(1000)
    out = np.zeros((600, 2), dtype=np.float32)
    out_dev._callback(out, 600, None, None)
    assert out_dev.cursor.frame == 1300  # 600 output frames are 300 song frames at 0.5×
    np.testing.assert_array_equal(out, stretched[2000:2600])
    out_dev._callback(out, 600, None, Underflow())
    assert out_dev.underruns == 1 and out_dev.cursor.frame == 1600
    out_dev.set_speed(1.0)
    out_dev._callback(out, 600, None, None)
    np.testing.assert_array_equal(out, song[1600:2200])


class TimeInfo:
    def __init__(self, dac: float) -> None:
        self.outputBufferDacTime = dac


def test_playhead_is_the_frame_heard_by_the_dac_times():
    out_dev = SoundDeviceOutput(_ramp(SR * 4), SR, FakeSoundDevice)
    out_dev.start()
    stream = out_dev._stream
    buffer = np.zeros((400, 2), dtype=np.float32)
    stream.time = 10.0
    out_dev._callback(buffer, 400, TimeInfo(10.2), None)  # frames 0-399 heard from t=10.2
    out_dev._callback(buffer, 400, TimeInfo(10.25), None)  # frames 400-799 from t=10.25
    assert out_dev.position_frames() == 0  # nothing heard yet: the playhead waits at the start
    stream.time = 10.22
    assert out_dev.position_frames() == round(0.02 * SR)
    stream.time = 10.26
    assert out_dev.position_frames() == 400 + round(0.01 * SR)
    stream.time = 11.0
    assert out_dev.position_frames() == 800  # never past what was sent
    out_dev.cursor.seek(2000)  # a seek: what was heard before no longer counts
    assert out_dev.position_frames() == 2000 - int(out_dev._latency_frames)
    out_dev._callback(buffer, 400, TimeInfo(11.2), None)
    assert out_dev.position_frames() == 2000
    out_dev.set_speed(0.5, _ramp(SR * 8))
    out_dev._callback(buffer, 400, TimeInfo(11.25), None)  # 200 song frames from 2400, slowed
    stream.time = 11.23
    assert out_dev.position_frames() == 2000 + round(0.03 * SR)  # a block sent at 1×
    stream.time = 11.27
    assert out_dev.position_frames() == 2400 + round(0.02 * SR * 0.5)  # one sent at 0.5×
    out_dev.close()


def test_slowed_blocks_join_without_a_gap_or_a_repeat():
    out_dev = SoundDeviceOutput(_ramp(SR), SR, FakeSoundDevice)
    stretched = _ramp(round(SR / 0.75))
    out_dev.set_speed(0.75, stretched)
    heard = []
    for frames in (333, 250, 441, 97, 512, 300):
        block = np.zeros((frames, 2), dtype=np.float32)
        out_dev._callback(block, frames, None, None)
        heard.append(block[:, 0])
    heard = np.concatenate(heard)
    np.testing.assert_array_equal(heard, np.arange(len(heard)))  # every sample, once, in order
    assert abs(out_dev.cursor.frame - 0.75 * len(heard)) <= 1


def test_fractional_speed_carries_the_remainder():
    clock = audio_player.SilentClock(_ramp(10), SR)
    clock.set_speed(0.75)
    assert [clock.song_frames(3) for _ in range(4)] == [2, 2, 2, 3]  # 9 song frames for 12


def test_ab_switches_the_dancer_in_context_at_the_same_song_time(opened, qtbot):
    doc = opened.doc
    doc.select(2)
    current = doc.choreography[2].dance_id
    rows = opened.suggestion_rows()
    row = next(i for i, r in enumerate(rows) if r.dance_id != current)
    opened.audition_suggestion(row)
    assert f"B: candidate {row + 1}" in opened.audition_label.text()
    qtbot.waitUntil(lambda: opened.preview.ab_scenes is not None, timeout=WAIT_MS)
    a, b = opened.preview.ab_scenes
    assert a.positions.shape == b.positions.shape and not np.array_equal(a.positions, b.positions)
    assert opened.skeleton.scene.positions is b.positions
    loop = opened.transport.loop_s
    opened.transport.seek(loop[0] + 0.5)
    opened.action("ab").trigger()
    label = opened.audition_label.text()
    assert "A: current" in label and label.strip().startswith("▶ auditioning 3: ")
    assert opened.skeleton_dock.windowTitle().endswith("A: current")  # seen when cut off
    assert opened.skeleton.scene.positions is a.positions
    assert opened.skeleton.scene.start_s == pytest.approx(loop[0])
    assert opened.transport.playing and opened.transport.loop_s == loop
    assert opened.transport.position_s() == pytest.approx(loop[0] + 0.5, abs=0.3)
    opened.action("ab").trigger()
    assert f"B: candidate {row + 1}" in opened.audition_label.text()
    assert opened.skeleton.scene.positions is b.positions
    opened.action("play").trigger()  # Space ends the audition
    assert opened.auditioning is None and opened.preview.ab_scenes is None
    assert opened.skeleton_dock.windowTitle() == "3D view"
    opened.action("ab").trigger()  # outside an audition it only says so
    assert opened.audition_label.text() == ""
    opened.transport.pause()


def test_speed_menu_and_keys_without_a_device(opened):
    transport = opened.transport
    assert opened.action("speed_100").isChecked() and opened.speed_label.text() == ""
    opened.action("speed_50").trigger()
    assert transport.speed == 0.5 and opened.speed_label.text().strip() == "0.5×"
    assert opened.action("speed_50").isChecked()
    opened.action("faster").trigger()
    assert transport.speed == 0.75 and opened.action("speed_75").isChecked()
    transport.seek(1.0)
    before = transport._output.cursor.frame
    transport._output.cursor.take(transport._output.song_frames(4000))
    assert transport._output.cursor.frame - before == 3000  # the motion follows this playhead
    opened.action("faster").trigger()
    opened.action("faster").trigger()
    assert transport.speed == 1.0 and opened.speed_label.text() == ""
    from choreo_studio.editor.shortcuts import SHORTCUTS

    assert {k: SHORTCUTS[k] for k in ("ab", "mark_in", "mark_out", "clear_range", "slower",
                                      "faster")} == {"ab": "B", "mark_in": "I", "mark_out": "O",
                                                     "clear_range": "Alt+I", "slower": "[",
                                                     "faster": "]"}


def test_speed_with_sound_stretches_the_song_once_in_the_background(qtbot, tmp_path, assets,
                                                                   monkeypatch):
    monkeypatch.setattr(transport_module, "open_output",
                        lambda s, sr, want_sound: SoundDeviceOutput(s, sr, FakeSoundDevice))
    window = _window(qtbot, tmp_path, assets)
    song = (0.3 * np.sin(2 * np.pi * 220 * np.arange(SR) / SR)).astype(np.float32)
    window.transport.set_audio(np.stack([song, song], axis=1), SR)
    assert window.transport.needs_stretch(0.5)
    window.action("speed_50").trigger()
    qtbot.waitUntil(lambda: window.transport.speed == 0.5, timeout=WAIT_MS)
    assert window.speed_label.text().strip() == "0.5×"
    assert window.transport._output._stretched[1].shape == (2 * SR, 2)
    assert not window.transport.needs_stretch(0.5)  # kept for the next switch
    window.action("speed_100").trigger()
    window.action("speed_50").trigger()
    assert window.transport.speed == 0.5 and not window.jobs.busy


def test_play_range_marks_wraps_and_is_drawn(opened):
    transport, wave = opened.transport, opened.waveform
    transport.seek(2.0)
    opened.action("mark_in").trigger()
    assert transport.play_range_s == pytest.approx((2.0, transport.duration_s))
    transport.seek(5.0)
    opened.action("mark_out").trigger()
    assert transport.play_range_s == pytest.approx((2.0, 5.0), abs=1e-3)
    assert wave.play_range == pytest.approx((2.0, 5.0), abs=1e-3)
    out = transport._output
    assert out.cursor.loop == (int(2.0 * out.sr), int(5.0 * out.sr))
    transport.seek(8.0)
    transport.play()  # outside the range: playing starts at its in
    assert 2.0 <= transport.position_s() < 5.0
    transport.pause()
    out.cursor.seek(int(4.99 * out.sr))
    out.cursor.take(int(0.02 * out.sr))  # the out wraps to the in
    assert out.cursor.frame == pytest.approx(2.01 * out.sr, abs=2)
    transport.seek(1.0)
    opened.action("mark_out").trigger()  # an out before the in: from the start
    assert transport.play_range_s == pytest.approx((0.0, 1.0), abs=1e-3)
    opened.action("clear_range").trigger()
    assert transport.play_range_s is None and wave.play_range is None
    assert out.cursor.loop is None


def test_audition_loop_takes_over_the_range_and_gives_it_back(opened, qtbot):
    transport = opened.transport
    transport.seek(0.5)
    opened.action("mark_in").trigger()
    transport.seek(3.0)
    opened.action("mark_out").trigger()
    opened.doc.select(3)
    opened.audition_suggestion(0)
    assert transport.wrap_span_s() == transport.loop_s != transport.play_range_s
    assert opened.waveform.loop_region is not None and opened.waveform.play_range is not None
    opened.action("play").trigger()
    assert transport.wrap_span_s() == pytest.approx((0.5, 3.0), abs=1e-3)
    transport.pause()
    qtbot.waitUntil(lambda: not opened.jobs.busy, timeout=WAIT_MS)
