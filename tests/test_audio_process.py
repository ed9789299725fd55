"""The child-process sound output (editor/audio_process.py, audio_shared.py) without a sound
device: the shared control and state blocks, the callback following the editor's seek, loop and
stop point, the playhead from the blocks' DAC times, the editor's side playing in its own process
when the child cannot start or shared memory has no room, the child's serve loop, and its entry
point's one-line error."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from choreo_studio.editor import audio_player, audio_process
from choreo_studio.editor import audio_shared as ap
from choreo_studio.editor.audio_player import (
    HEARD_BLOCKS,
    OUTPUT_LATENCY_S,
    ask_short_periods,
    block_frames,
)
from choreo_studio.editor.audio_process import ProcessOutput, SharedCursor, SharedEngine, serve
from choreo_studio.editor.audio_shared import (
    SharedBlocks,
    heard_frame,
    new_array,
    release,
    seq_read,
    seq_write,
)

SR = 8000


class FakeStream:
    """A PortAudio stream that never plays: the tests call the callback themselves."""

    latency = 0.1
    made: list[FakeStream] = []

    def __init__(self, **kwargs) -> None:
        self.kwargs = kwargs
        self.calls: list[str] = []
        FakeStream.made.append(self)

    def start(self) -> None:
        self.calls.append("start")

    def stop(self) -> None:
        self.calls.append("stop")

    def abort(self) -> None:
        self.calls.append("abort")

    def close(self) -> None:
        self.calls.append("close")


class FakeSoundDevice:
    OutputStream = FakeStream

    @staticmethod
    def query_devices(kind: str) -> dict:
        return {"name": f"fake {kind}"}


class TimeInfo:
    """DAC ``ahead`` seconds after the callback (negative: already heard)."""

    def __init__(self, ahead: float) -> None:
        self.currentTime = 100.0
        self.outputBufferDacTime = 100.0 + ahead


def _ramp(n: int) -> np.ndarray:
    return np.stack([np.arange(n, dtype=np.float32)] * 2, axis=1)


@pytest.fixture
def blocks():
    made = SharedBlocks.create()
    yield made
    made.close(unlink=True)


def _block(engine: SharedEngine, frames: int, ahead: float = 10.0) -> np.ndarray:
    out = np.full((frames, 2), -1.0, dtype=np.float32)
    engine._callback(out, frames, TimeInfo(ahead), None)
    return out


def test_sequence_counter_refuses_a_read_mid_write():
    block = np.zeros(8, dtype=np.int64)
    seq_write(block, {3: 7, 5: -1})
    assert seq_read(block).tolist() == [2, 0, 0, 7, 0, -1, 0, 0]
    block[0] += 1  # a writer in the other process is half-way
    assert seq_read(block) is None


def test_callback_follows_seek_loop_and_stop_point_written_by_the_editor(blocks):
    engine = SharedEngine(_ramp(4000), SR, FakeSoundDevice, blocks, 0.1)
    cursor = SharedCursor(4000, blocks)
    cursor.seek(1000)
    assert cursor.frame == 1000  # not applied yet: the editor already sees it
    assert not _block(engine, 300).any()  # paused: silence, but the seek is taken
    assert cursor.frame == 1000 and not cursor.finished
    seq_write(blocks.control, {ap.C_PLAYING: 1})
    np.testing.assert_array_equal(_block(engine, 300), _ramp(4000)[1000:1300])
    assert cursor.frame == 1300
    cursor.loop = (1200, 1400)
    out = _block(engine, 300)
    np.testing.assert_array_equal(out[:100, 0], np.arange(1300, 1400))
    np.testing.assert_array_equal(out[100:, 0], np.arange(1200, 1400))
    cursor.loop, cursor.stop_at = None, 1500
    cursor.seek(1450)
    out = _block(engine, 300)
    np.testing.assert_array_equal(out[:50, 0], np.arange(1450, 1500))
    assert not out[50:].any() and cursor.finished and cursor.frame == 1500
    rows, count = blocks.rows()
    assert count == 4 and rows[:, ap.R_TAG].tolist() == [1, 1, 1, 2]
    assert rows[:, ap.R_FLAGS].tolist() == [0, 1, 1, 1]  # the first block was silent


def test_a_block_read_mid_write_keeps_the_last_whole_control(blocks):
    engine = SharedEngine(_ramp(1000), SR, FakeSoundDevice, blocks, 0.1)
    seq_write(blocks.control, {ap.C_PLAYING: 1})
    _block(engine, 100)
    blocks.control[ap.C_SEQ] += 1  # the editor is half-way through a seek
    blocks.control[ap.C_SEEK_REQ], blocks.control[ap.C_SEEK_FRAME] = 1, 700
    np.testing.assert_array_equal(_block(engine, 100)[:, 0], np.arange(100, 200))
    blocks.control[ap.C_SEQ] += 1  # done: taken at the next block
    np.testing.assert_array_equal(_block(engine, 100)[:, 0], np.arange(700, 800))


def test_a_callback_taking_over_continues_where_the_last_one_stopped(blocks):
    seq_write(blocks.control, {ap.C_PLAYING: 1, ap.C_SEEK_REQ: 3, ap.C_SEEK_FRAME: 100})
    seq_write(blocks.state, {ap.S_FRAME: 650, ap.S_APPLIED: 3})  # seek 3 done, then played on
    state = blocks.read_state()
    blocks.state[ap.S_SEQ] += 1  # and the child died in the middle of its next write
    engine = SharedEngine(_ramp(1000), SR, FakeSoundDevice, blocks, 0.1)
    engine.continue_from(state)
    np.testing.assert_array_equal(_block(engine, 100)[:, 0], np.arange(650, 750))
    assert seq_read(blocks.state) is not None and blocks.read_state()[ap.S_FRAME] == 750


def _rows(*blocks: tuple[int, float, int, float, int, int]) -> np.ndarray:
    """Ring rows from (first, dac, tag, speed, frames, flags)."""
    rows = np.zeros((len(blocks), ap.RING_COLS))
    for i, (first, dac, tag, speed, frames, flags) in enumerate(blocks):
        rows[i, [ap.R_FIRST, ap.R_DAC, ap.R_TAG, ap.R_SPEED, ap.R_FRAMES, ap.R_FLAGS]] = (
            first, dac, tag, speed, frames, flags)
    return rows


def test_heard_frame_follows_the_dac_times_of_the_blocks_since_the_seek():
    rows = _rows((0, 5.0, 1, 1.0, 400, 1), (500, 10.0, 2, 1.0, 400, 1),
                 (900, 10.05, 2, 0.5, 400, 1), (0, 10.1, 2, 1.0, 400, 0))
    assert heard_frame(rows, 3, 20.0, SR) is None  # nothing played since seek 3
    assert heard_frame(rows, 2, 9.0, SR) == 500  # sent, not heard yet: stay at its first frame
    assert heard_frame(rows, 2, 10.02, SR) == 500 + round(0.02 * SR)
    assert heard_frame(rows, 2, 10.07, SR) == 900 + round(0.02 * SR * 0.5)  # its speed
    assert heard_frame(rows, 2, 11.0, SR) == 900 + 200  # never past what was sent
    assert heard_frame(rows, 1, 5.01, SR) == 80


def test_stream_asks_the_editors_buffer_in_blocks_of_about_23_ms(blocks, monkeypatch):
    """The buffer deep enough to ride out a sound server's waits, cut into short blocks: the
    block handed to PortAudio and, on its ALSA back-end, the number of periods."""
    asked = []

    class AlsaLibrary:
        def PaAlsa_SetNumPeriods(self, count) -> None:  # noqa: N802 - PortAudio's name
            asked.append(count.value)

    class AlsaSoundDevice(FakeSoundDevice):
        _libname = "libportaudio.so.2"

    monkeypatch.setattr(audio_player.ctypes, "CDLL", lambda name: AlsaLibrary())
    assert (block_frames(22050), block_frames(44100), block_frames(48000)) == (512, 1024, 1024)
    engine = SharedEngine(_ramp(1000), 22050, AlsaSoundDevice, blocks, OUTPUT_LATENCY_S)
    engine.open()
    kwargs = FakeStream.made[-1].kwargs
    assert kwargs["latency"] == OUTPUT_LATENCY_S and kwargs["blocksize"] == 512
    assert asked == [round(OUTPUT_LATENCY_S * 22050 / 512)]
    engine.close()


def test_without_an_alsa_backend_the_host_api_keeps_its_own_periods(monkeypatch):
    class OtherLibrary:  # PortAudio built for Windows or macOS: no PaAlsa_ functions
        pass

    class OtherSoundDevice(FakeSoundDevice):
        _libname = "portaudio.dll"

    monkeypatch.setattr(audio_player.ctypes, "CDLL", lambda name: OtherLibrary())
    assert ask_short_periods(OtherSoundDevice, 44100, 0.4) == 0
    assert ask_short_periods(FakeSoundDevice, 44100, 0.4) == 0  # no library named at all


def test_the_heard_block_is_found_behind_a_full_buffer(blocks):
    """A block is heard a buffer after its callback; with twice the editor's buffer queued
    after it (a device may grant more than asked) the playhead still finds it."""
    sr = 22050
    frames = block_frames(sr)
    queued = 2 * int(np.ceil(OUTPUT_LATENCY_S * sr / frames))
    engine = SharedEngine(_ramp(frames * (queued + 8)), sr, FakeSoundDevice, blocks, 0.1)
    seq_write(blocks.control, {ap.C_PLAYING: 1})
    for i in range(queued + 3):  # each block's first frame a block later at the DAC
        _block(engine, frames, ahead=2 * OUTPUT_LATENCY_S + i * frames / sr)
    rows, _ = blocks.rows(last=HEARD_BLOCKS)
    now = float(blocks.ring[2, ap.R_DAC]) + 0.5 * frames / sr  # half-way through block 2
    assert heard_frame(rows, 0, now, sr) == 2 * frames + round(0.5 * frames)


def test_wrapped_brings_a_frame_counted_past_the_loop_back_inside(blocks):
    cursor = SharedCursor(4000, blocks)
    assert cursor.wrapped(1500) == 1500
    cursor.loop = (1000, 1400)
    assert cursor.wrapped(1450) == 1050 and cursor.wrapped(1399) == 1399


def _in_process(tmp_path, samples: np.ndarray) -> ProcessOutput:
    """The editor's side whose child cannot start: it plays in this process instead."""
    output = ProcessOutput(samples, SR, FakeSoundDevice, device_name="fake output",
                           python=str(tmp_path / "no-python"))
    assert output.ready.wait(5)
    return output


def test_editor_side_plays_in_its_own_process_when_the_child_cannot_start(tmp_path):
    song = _ramp(SR * 2)
    output = _in_process(tmp_path, song)
    assert "could not start" in output.error and "fake output" in output.description
    assert output.has_sound and output.latency_frames == int(0.1 * SR)
    engine = output._engine
    output.cursor.seek(4000)
    output.start()
    assert output.position_frames() == 4000  # nothing heard yet
    np.testing.assert_array_equal(_block(engine, 400, ahead=-1.0), song[4000:4400])
    assert output.position_frames() == 4400  # heard long ago: up to what was sent
    _block(engine, 400, ahead=-0.01)  # frames 4400-4799 heard from 10 ms ago
    _block(engine, 400, ahead=10.0)
    heard = output.position_frames()
    assert 4480 <= heard < 4600 and output.cursor.frame == 5200
    output.stop()  # the playhead stays where it was heard, and playing resumes there
    resume = output.cursor.frame
    assert heard <= resume < 4600 and output.position_frames() == resume
    assert not _block(engine, 400).any()
    output.start()
    np.testing.assert_array_equal(_block(engine, 400)[:, 0], np.arange(resume, resume + 400))
    names = [output._song_memory.name, output.blocks.memory.name]
    output.close()
    for name in names:  # the shared memory is freed
        with pytest.raises(FileNotFoundError):
            ap.attach_memory(name)


def test_the_child_runs_in_a_session_of_its_own(monkeypatch):
    """Outside the editor's session (its own CPU share where the kernel groups by session)."""
    started = []

    def refuse(*args, **kwargs):
        started.append(kwargs)
        raise OSError("no such program")

    monkeypatch.setattr(audio_process.subprocess, "Popen", refuse)
    output = ProcessOutput(_ramp(800), SR, FakeSoundDevice, device_name="fake output")
    assert output.ready.wait(5) and "could not start" in output.error
    assert started and started[0]["start_new_session"] is True
    output.close()


def test_slowed_sound_and_clicks_reach_the_callback(tmp_path):
    song = np.zeros((SR, 2), dtype=np.float32)
    output = _in_process(tmp_path, song)
    engine = output._engine
    with pytest.raises(ValueError):
        output.set_speed(0.5)
    output.set_speed(0.5, -_ramp(2 * SR))
    output.start()
    np.testing.assert_array_equal(_block(engine, 600)[:, 0], -np.arange(600))
    assert output.cursor.frame == 300 and output.speed == 0.5
    output.set_speed(1.0)
    output.set_beats(np.array([0.1]), np.array([0]))
    output.metronome = True
    output.cursor.seek(0)
    out = _block(engine, SR // 2)
    assert np.abs(out[int(0.1 * SR) : int(0.13 * SR), 0]).max() > 0.1
    assert not out[: int(0.1 * SR)].any()
    output.close()


def test_serve_runs_the_stream_until_its_commands_end():
    FakeStream.made.clear()
    song_memory, song = new_array((SR, 2), np.float32)
    song[:] = 0.25
    del song
    blocks = SharedBlocks.create()
    own = {m.name: m for m in (song_memory, blocks.memory)}
    config = {"song": song_memory.name, "shape": [SR, 2], "sr": SR,
              "blocks": blocks.memory.name, "latency": 0.2, "prioritise": False}
    replies: list[dict] = []
    lines = [json.dumps({"beats": [0.5], "downbeats": [0]}), "", json.dumps({"speed": 1.0})]
    serve(config, FakeSoundDevice, lines, replies.append, attach=own.__getitem__)
    (stream,) = FakeStream.made
    assert replies == [{"ready": True, "latency": 0.1}]
    assert stream.kwargs["latency"] == 0.2 and stream.kwargs["channels"] == 2
    assert stream.calls[0] == "start" and "abort" in stream.calls  # closed at the end
    assert blocks.read_state()[ap.S_LATENCY_US] == 100_000
    blocks.close(unlink=True)
    release(song_memory, unlink=True)


def test_child_entry_point_answers_one_line_when_it_cannot_play():
    done = subprocess.run([sys.executable, "-m", "choreo_studio.editor.audio_process",
                           json.dumps({"song": "choreo-missing", "shape": [1, 1], "sr": SR,
                                       "blocks": "choreo-missing", "latency": 0.2})],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    (line,) = done.stdout.splitlines()
    assert json.loads(line)["error"].startswith("audio process: ")


def test_without_room_in_shared_memory_the_output_plays_in_the_editors_process(monkeypatch):
    from choreo_studio.editor import audio_player

    monkeypatch.setitem(sys.modules, "sounddevice", FakeSoundDevice)
    monkeypatch.setattr(audio_process, "shared_room_ok", lambda nbytes: False)
    output = audio_player.open_output(_ramp(SR), SR)
    assert type(output) is audio_player.SoundDeviceOutput and output.has_sound
    assert output.description == "audio: fake output"


def test_transport_plays_ranges_and_auditions_over_the_process_output(request, tmp_path,
                                                                      monkeypatch):
    pytest.importorskip("pytestqt")
    request.getfixturevalue("qtbot")  # a QApplication for the transport's timer
    from choreo_studio.editor import transport as transport_module

    made: list[ProcessOutput] = []

    def open_output(samples, sr, want_sound):
        made.append(_in_process(tmp_path, samples))
        return made[-1]

    monkeypatch.setattr(transport_module, "open_output", open_output)
    transport = transport_module.Transport(want_sound=True)
    transport.set_audio(_ramp(SR * 4), SR)
    (output,) = made
    engine = output._engine
    assert transport.has_sound and transport.duration_s == 4.0
    transport.set_play_range((1.0, 2.0))
    assert output.cursor.loop == (SR, 2 * SR)
    transport.seek(3.0)
    transport.play()  # outside the range: playing starts at its in
    assert transport.position_s() == 1.0
    assert _block(engine, 400, ahead=-1.0)[0, 0] == SR
    transport.pause()
    transport.set_play_range(None)
    transport.audition(0.5, 0.55)
    block = _block(engine, 800, ahead=-1.0)
    np.testing.assert_array_equal(block[:400, 0], np.arange(4000, 4400))
    assert not block[400:].any()
    transport._poll()  # the stop point heard: the audition ends there
    assert not transport.playing and transport.position_s() == pytest.approx(0.55)
    transport.close()
