"""Phrase segmentation: 2–8 bars, on downbeats, every beat once, deterministic, user constraints."""

import numpy as np
import pytest
from choreo_studio.core.analysis.analyzer import analyze_audio
from choreo_studio.core.analysis.music_analysis import MusicAnalysis, Section
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.phrases.segmentation import SegmentConstraints, segment
from choreo_studio.resources.demo_song import DemoSongSpec, render_demo_song


def _grid_analysis(n_bars: int = 16, bpb: int = 4, pickup: int = 0) -> MusicAnalysis:
    n_beats = n_bars * bpb + pickup
    beats = 0.5 + 0.5 * np.arange(n_beats)
    dur = beats[-1] + 1.0
    fps = 43.0
    n = int(dur * fps)
    return MusicAnalysis("h", dur, 120.0, beats, np.arange(pickup, n_beats, bpb), bpb,
                         np.ones(n), fps, beats, np.zeros(n), np.zeros(n, bool), fps,
                         [Section(0.0, dur, "A")], "test")


def _check_invariants(analysis: MusicAnalysis, phrases) -> None:
    covered = np.concatenate([np.arange(p.start_beat, p.end_beat) for p in phrases])
    np.testing.assert_array_equal(covered, np.arange(analysis.n_beats))
    downbeats = set(analysis.downbeats.tolist())
    for p in phrases[1:]:
        assert p.start_beat in downbeats
    for p in phrases:
        assert 2 <= p.n_bars <= 8
    assert [p.index for p in phrases] == list(range(len(phrases)))


@pytest.fixture(scope="module")
def demo_waltz():
    song = render_demo_song(DemoSongSpec(tempo_bpm=150, beats_per_bar=3, style="waltz", seed=3))
    return song, analyze_audio(song.audio())[0]


def test_demo_phrases_cover_every_beat_on_downbeats(demo_waltz):
    _, analysis = demo_waltz
    phrases = segment(analysis)
    _check_invariants(analysis, phrases)
    assert segment(analysis) == phrases  # deterministic
    assert all(p.n_beats % 3 == 0 for p in phrases)


def test_phrases_respect_sections_and_prefer_four_bars(demo_waltz):
    _, analysis = demo_waltz
    phrases = segment(analysis)
    starts = {p.start_s for p in phrases}
    for sec in analysis.sections[1:]:
        assert any(abs(sec.start_s - s) < 1e-6 for s in starts)
    assert np.mean([p.n_bars in (4, 8) for p in phrases]) >= 0.6


@pytest.mark.parametrize("n_bars", [2, 3, 5, 9, 11, 17, 31])
def test_any_length_splits_into_2_to_8_bars(n_bars):
    analysis = _grid_analysis(n_bars, pickup=1)
    _check_invariants(analysis, segment(analysis))


def test_pinned_moved_and_removed_boundaries():
    analysis = _grid_analysis(16)
    base = segment(analysis)
    assert [p.start_beat for p in base] == [0, 16, 32, 48]
    pinned = segment(analysis, SegmentConstraints().pin(analysis.beats_s[24]))
    assert 24 in [p.start_beat for p in pinned]
    _check_invariants(analysis, pinned)
    moved = segment(analysis, SegmentConstraints().move(analysis.beats_s[16],
                                                       analysis.beats_s[20]))
    starts = [p.start_beat for p in moved]
    assert 20 in starts and 16 not in starts
    removed = segment(analysis, SegmentConstraints().remove(analysis.beats_s[32]))
    assert 32 not in [p.start_beat for p in removed]


def test_impossible_pins_and_too_short_songs_are_clear_errors():
    analysis = _grid_analysis(16)
    pins = SegmentConstraints(pinned_s=(analysis.beats_s[16], analysis.beats_s[20]))
    with pytest.raises(ChoreoError, match="pinned"):
        segment(analysis, pins)
    with pytest.raises(ChoreoError, match="at least 2 bars"):
        segment(_grid_analysis(1))


def test_resegment_after_a_meter_correction(demo_waltz):
    from choreo_studio.core.analysis.analyzer import reanalyze_beats

    song, analysis = demo_waltz
    audio = song.audio()
    corrected = reanalyze_beats(audio, analysis, beats_per_bar=4, first_downbeat_s=song.beats_s[0])
    phrases = segment(corrected)
    _check_invariants(corrected, phrases)
    assert all(p.n_beats % 4 == 0 for p in phrases[:-1])
