"""Training code of the beat/downbeat activation network, on answers made in the tests: MIDI
timing and channel splitting of hand-written files, MMA meters, targets, crops under tempo
stretch and pitch shift, the peak F-measure, the song-wise split, and a short training run
that learns click beats."""


from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from choreo_studio.core.analysis.learned_activations import input_features  # noqa: E402
from choreo_studio.training import beat_activation as ba  # noqa: E402
from choreo_studio.training import beat_activation_data as data  # noqa: E402

from tests.midi_fixtures import smf as _smf  # noqa: E402
from tests.midi_fixtures import track as _track  # noqa: E402


def _song() -> bytes:
    """120 BPM for two quarters, then 60 BPM; a piano note on channel 0 and a kick on 9."""
    tempo = _track([(0, b"\xff\x51\x03" + (500000).to_bytes(3, "big")),
                    (960, b"\xff\x51\x03" + (1000000).to_bytes(3, "big"))])
    piano = _track([(0, b"\x90\x3c\x64"), (480, b"\x80\x3c\x00"), (0, b"\xb0\x0a\x20")])
    drums = _track([(0, b"\x99\x24\x64"), (1920, b"\x89\x24\x00")])
    return _smf([tempo, piano, drums])


def test_midi_timing_follows_the_tempo_map():
    tpq, tempos, last = data.read_midi_timing(_song())
    assert (tpq, tempos, last) == (480, [(0, 500000), (960, 1000000)], 1920)
    seconds = data.tick_seconds(np.array([0, 480, 960, 1440, 1920]), tpq, tempos)
    np.testing.assert_allclose(seconds, [0.0, 0.5, 1.0, 2.0, 3.0])


def test_channel_split_keeps_the_tempo_map_in_both_halves():
    drums, rest = data.keep_channels(_song(), True), data.keep_channels(_song(), False)
    for half in (drums, rest):
        assert data.read_midi_timing(half)[1] == [(0, 500000), (960, 1000000)]

    def notes(smf: bytes) -> list[tuple[int, int]]:
        return [(t, e[0] & 0x0F) for track in data.split_smf(smf)[1]
                for t, e in data._events(track) if e[0] & 0xE0 == 0x80]

    assert notes(drums) == [(0, 9), (1920, 9)]
    assert notes(rest) == [(0, 0), (480, 0)]
    assert data.read_midi_timing(rest)[2] == 480
    assert data.has_notes(drums) and data.has_notes(rest)
    assert not data.has_notes(data.keep_channels(rest, True))  # no drums in it: not rendered


def test_mma_meters_count_dotted_quarter_beats_in_compound_time(tmp_path):
    assert data.meter_of(4, None) == (4, 1.0)
    assert data.meter_of(3, 3) == (3, 1.0)
    assert data.meter_of(6, 6) == (2, 3.0)
    assert data.meter_of(3, 6) == (2, 1.5)
    assert data.meter_of(4, 12) == (4, 1.0)
    assert data.meter_of(5, None) is None
    lib = tmp_path / "lib"
    (lib / "a").mkdir(parents=True)
    (lib / "b").mkdir()
    (lib / "a" / "w.mma").write_text("Time 3/4\nDefGroove Waltzy  x\nDefGroove WaltzyEnd x\n"
                                     "Time 6\nTimesig 6/8\nDefGroove Jiggy x\n")
    (lib / "b" / "r.mma").write_text("Time 4\nDefGroove Rocky x\nDefGroove Waltzy x\n"
                                     "Time 5\nDefGroove Fivey x\n")
    assert sorted(data.list_grooves(lib), key=lambda g: g.name) == [
        data.Groove("Jiggy", 2, 3.0), data.Groove("Rocky", 4, 1.0)]


def test_an_mma_song_is_the_same_text_for_the_same_seed_and_seeds_mma():
    groove = data.Groove("Waltz", 3)
    text, _ = data.song_text(np.random.default_rng([0, 7]), groove)
    assert text == data.song_text(np.random.default_rng([0, 7]), groove)[0]
    assert text != data.song_text(np.random.default_rng([0, 8]), groove)[0]
    first = text.splitlines()[0].split()
    assert first[0] == "RndSeed" and first[1].isdigit()
    assert "Groove Waltz" in text


def test_generators_running_side_by_side_take_every_nth_song():
    parser = data.data_parser("t", "songs", 10, 1)
    assert parser.parse_args(["out", "--part", "1/3"]).part == (1, 3)
    assert parser.parse_args(["out"]).part == (0, 1)
    for bad in ("3/3", "1", "a/2"):
        with pytest.raises(SystemExit):
            parser.parse_args(["out", "--part", bad])


def test_a_generator_stopped_by_sigterm_unwinds_and_cleans_up(tmp_path):
    import os
    import signal
    import tempfile
    import time

    before = signal.getsignal(signal.SIGTERM)
    try:
        data.exit_on_sigterm()
        with pytest.raises(SystemExit), tempfile.TemporaryDirectory(dir=tmp_path) as work:
            (Path(work) / "out.raw").write_bytes(b"\0" * 64)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler interrupts this at the latest (a miss fails the test)
    finally:
        signal.signal(signal.SIGTERM, before)
    assert list(tmp_path.iterdir()) == []


def test_targets_mark_beats_and_their_neighbours():
    y = ba.targets(np.array([0, 5, 9]), np.array([5]), 10)
    np.testing.assert_array_equal(y[0], [1, .5, 0, 0, .5, 1, .5, 0, .5, 1])
    np.testing.assert_array_equal(y[1], [0, 0, 0, 0, .5, 1, .5, 0, 0, 0])


def _click_piece(name: str, period: int, n: int, phase: int = 3) -> ba.Piece:
    """A log-mel of silence (-80 dB) with a broadband click every ``period`` frames, a louder
    low band on every fourth (the downbeat)."""
    mel = np.full((128, n), -80.0, dtype=np.float32)
    beats = np.arange(phase, n, period)
    mel[:, beats] = -20.0
    mel[:16, beats[::4]] = 0.0
    return ba.Piece(name, mel.astype(np.float16), beats, beats[::4])


def test_a_plain_crop_is_the_features_of_its_frames():
    piece = _click_piece("s-0", 10, 100)
    x, y, n = ba.crop(piece, np.random.default_rng(0), 100, stretch=1.0, shift=0, offset_db=0)
    assert n == 100
    np.testing.assert_array_equal(x, input_features(piece.logmel.astype(np.float32)))
    np.testing.assert_array_equal(np.flatnonzero(y[0] == 1), piece.beats)
    np.testing.assert_array_equal(np.flatnonzero(y[1] == 1), piece.downbeats)
    x, y, n = ba.crop(piece, np.random.default_rng(0), 150, stretch=1.0, shift=0, offset_db=0)
    assert n == 100 and not x[:, 100:].any() and not y[:, 100:].any()


def test_a_stretched_crop_moves_the_beats_with_the_clicks():
    piece = _click_piece("s-0", 20, 2000)
    x, y, n = ba.crop(piece, np.random.default_rng(1), 500, stretch=2.0, shift=0, offset_db=0)
    beats = np.flatnonzero(y[0] == 1)
    assert n == 500 and np.all(np.diff(beats) == 10)  # twice the tempo
    loud = np.flatnonzero(x[100] > 0.5)  # a high band: every click
    assert np.all(np.isin(beats, np.concatenate([loud, loud + 1, loud - 1])))


def test_a_pitch_shift_moves_the_bands_and_the_offset_the_level():
    piece = _click_piece("s-0", 20, 200)
    x, _, _ = ba.crop(piece, np.random.default_rng(2), 200, stretch=1.0, shift=2,
                      offset_db=-10.0)
    down = piece.downbeats[0]
    np.testing.assert_allclose(x[:18, down], (70.0 / 80.0))  # bands 0-15 moved up by two
    np.testing.assert_allclose(x[18:128, down], 50.0 / 80.0)
    assert np.all(x[:128] >= 0.0)  # the -80 dB floor holds under the offset


def test_peak_f_measure():
    act = np.zeros(100)
    act[[10, 31, 50, 80]] = [0.9, 0.8, 0.2, 0.7]  # 50 under the threshold
    assert ba.peak_f_measure(act, np.array([10, 30, 50, 70])) == pytest.approx(2 * (2 / 3) * (2 / 4)
                                                                                / (2 / 3 + 2 / 4))
    assert ba.peak_f_measure(act, np.array([], dtype=int)) == 0.0
    assert ba.peak_f_measure(np.zeros(10), np.array([], dtype=int)) == 1.0


def test_the_split_keeps_every_mix_of_a_song_on_one_side():
    pieces = [_click_piece(f"song{s:05d}-{m}", 10, 50) for s in range(20) for m in range(2)]
    train, val = ba.split_by_song(pieces, 0.2, seed=4)
    assert len(val) == 8 and len(train) == 32
    assert not {ba.song_of(p) for p in train} & {ba.song_of(p) for p in val}


def test_a_short_run_learns_click_beats(tmp_path):
    train = [_click_piece(f"song{k:05d}-0", 12 + k % 5, 400, phase=k % 7) for k in range(8)]
    val = [_click_piece("song00100-0", 14, 400, phase=5)]
    model = ba.train(train, epochs=5, seed=0, batch=4, frames=128, lr=2e-2, val=val,
                     channels=8, keep=tmp_path / "best.safetensors")
    score = ba.validate(model, val)
    assert score["beat_f"] >= 0.95
    assert (tmp_path / "best.safetensors").is_file()
