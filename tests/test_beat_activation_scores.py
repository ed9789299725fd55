"""Composed-music training data for the beat network, on answers made in the tests: beat and
bar grids of hand-written MIDI files (tempo steps, 6/8 and 3/4 bars), the metrical check that
keeps off-grid files out, instrument changes, and a score's grid with a pickup bar."""

import numpy as np
import pytest
from choreo_studio.training import beat_activation_data as data
from choreo_studio.training import beat_activation_scores as scores

from tests.midi_fixtures import smf as _smf
from tests.midi_fixtures import track as _track


def _sig(num: int, den_power: int) -> bytes:
    return b"\xff\x58\x04" + bytes([num, den_power, 24, 8])


def _notes(ticks: list[int], channel: int = 0) -> bytes:
    """A track of short notes starting at the given absolute ticks (a program change first)."""
    timed = sorted([(t, bytes([0x90 | channel, 60, 90])) for t in ticks]
                   + [(t + 30, bytes([0x80 | channel, 60, 0])) for t in ticks])
    events, now = [(0, bytes([0xC0 | channel, 5]))], 0
    for t, event in timed:
        events.append((t - now, event))
        now = t
    return _track(events)


def test_a_6_8_bar_has_two_dotted_quarter_beats_and_a_tempo_step_moves_them():
    # two 6/8 bars at 120 quarters per minute, then 3/4 bars at 60 from tick 2880
    meta = _track([(0, _sig(6, 3)), (0, b"\xff\x51\x03" + (500000).to_bytes(3, "big")),
                   (2880, _sig(3, 2)), (0, b"\xff\x51\x03" + (1000000).to_bytes(3, "big"))])
    song = _smf([meta, _notes(list(range(0, 2880 + 3 * 480 * 2, 240)))])
    beats, downs = scores.smf_grid(song)
    # 6/8: a dotted quarter is 720 ticks = 0.75 s; 3/4 at 60: 1 s a beat
    np.testing.assert_allclose(beats, [0, .75, 1.5, 2.25, 3, 4, 5, 6, 7, 8])
    np.testing.assert_allclose(downs, [0, 1.5, 3, 6])
    assert scores.metrical_share(scores.onset_seconds(song), beats) == 1.0


def test_files_whose_notes_miss_the_grid_are_not_metrical():
    meta = _track([(0, _sig(4, 2))])
    on_grid = _smf([meta, _notes([0, 480, 600, 960, 1440, 1600, 1920])])  # 16ths, a triplet
    beats = scores.smf_grid(on_grid)[0]
    assert scores.metrical_share(scores.onset_seconds(on_grid), beats) == 1.0
    rng = np.random.default_rng(3)
    free = sorted(int(t) for t in rng.uniform(0, 19200, 60))  # free time: notes anywhere
    loose = _smf([meta, _notes(free)])
    share = scores.metrical_share(scores.onset_seconds(loose), scores.smf_grid(loose)[0])
    assert share < scores.METRICAL_SHARE


def test_instruments_are_replaced_on_every_channel():
    song = _smf([_notes([0, 480], channel=0), _notes([0, 480], channel=3)])
    changed, how = scores.with_programs(song, np.random.default_rng(0))
    programs = {e[0] & 0x0F: e[1] for track in data.split_smf(changed)[1]
                for _, e in data._events(track) if e[0] & 0xF0 == 0xC0}
    assert set(programs) == {0, 3}
    pool = scores.SOLO_PROGRAMS if how.startswith("program") else scores.CONSORT_PROGRAMS
    assert all(p in pool for p in programs.values())
    notes = [(t, e) for track in data.split_smf(changed)[1] for t, e in data._events(track)
             if e[0] & 0xF0 == 0x90]
    assert len(notes) == 4


def test_a_pickup_bar_has_beats_counted_back_from_its_bar_line():
    music21 = pytest.importorskip("music21")
    part = music21.stream.Part()
    pickup = music21.stream.Measure(number=0)
    pickup.timeSignature = music21.meter.TimeSignature("6/8")
    pickup.append(music21.note.Note("C4", quarterLength=1.5))  # one dotted-quarter upbeat
    pickup.paddingLeft = 1.5
    part.append(pickup)
    for number in (1, 2):
        bar = music21.stream.Measure(number=number)
        bar.append([music21.note.Note("D4", quarterLength=1.5) for _ in range(2)])
        part.append(bar)
    score = music21.stream.Score([part])
    beats, downs, end = scores.score_grid(score)
    np.testing.assert_allclose(beats, [0, 1.5, 3, 4.5, 6])
    np.testing.assert_allclose(downs, [1.5, 4.5])
    assert end == 7.5
    smf, beat_s, down_s, how = scores.score_piece(score, np.random.default_rng(1))
    seconds = scores.onset_seconds(smf)
    np.testing.assert_allclose(seconds, beat_s, atol=1e-3)  # every note is on a beat
    assert beat_s[1] / 1.5 == pytest.approx(down_s[0] / 1.5)


def test_a_long_file_is_cut_after_the_given_seconds():
    meta = _track([(0, _sig(4, 2)), (0, b"\xff\x51\x03" + (500000).to_bytes(3, "big"))])
    song = _smf([meta, _notes(list(range(0, 480 * 40, 480)))])  # 40 beats at 120: 20 s
    cut = scores.cut_smf(song, 5.0)
    np.testing.assert_allclose(scores.onset_seconds(cut), np.arange(0, 5.01, 0.5))
    np.testing.assert_allclose(scores.smf_grid(cut)[1], [0, 2, 4])
