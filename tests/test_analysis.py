"""Analysis with known answers: click/drum tracks and the demo song."""

import mir_eval
import numpy as np
import pytest
from choreo_studio.core.analysis.analyzer import analyze_audio, reanalyze_beats
from choreo_studio.core.analysis.music_analysis import MusicAnalysis
from choreo_studio.core.audio.load import Audio
from choreo_studio.resources.demo_song import render_demo_song

from tests.audio_fixtures import SR, click_track, drum_track


def _f_measure(ref: np.ndarray, est: np.ndarray) -> float:
    return mir_eval.beat.f_measure(ref, est, f_measure_threshold=0.07)


@pytest.mark.parametrize("tempo", [90, 120, 128, 174])
@pytest.mark.parametrize("meter", [3, 4])
@pytest.mark.parametrize("maker", [click_track, drum_track])
def test_tempo_beats_and_downbeats_on_known_tracks(tempo, meter, maker):
    y, beats, downbeats = maker(tempo, meter, n_bars=8)
    analysis, _ = analyze_audio(Audio.from_array(y, SR))
    assert analysis.tempo_bpm == pytest.approx(tempo, rel=0.02)
    assert _f_measure(beats, analysis.beats_s) >= 0.95
    assert analysis.beats_per_bar == meter
    found = analysis.downbeats_s
    true_db = beats[downbeats]
    recall = np.mean([np.min(np.abs(found - t)) < 0.07 for t in true_db])
    assert recall >= 0.9


@pytest.fixture(scope="module")
def demo():
    song = render_demo_song()
    analysis, _ = analyze_audio(song.audio())
    return song, analysis


def test_demo_song_beats_meter_and_downbeats(demo):
    song, analysis = demo
    assert analysis.tempo_bpm == pytest.approx(song.spec.tempo_bpm, rel=0.02)
    assert _f_measure(song.beats_s, analysis.beats_s) >= 0.95
    assert analysis.meter == "4/4"
    true_db = song.beats_s[song.downbeats]
    hits = [np.min(np.abs(analysis.downbeats_s - t)) < 0.07 for t in true_db]
    assert np.mean(hits) >= 0.9


def test_demo_song_repeated_sections_share_a_label(demo):
    song, analysis = demo

    def label_at(t: float) -> str:
        return next(s.label for s in analysis.sections if s.start_s <= t < s.end_s)

    kinds = {}
    for sec in song.sections:
        kinds.setdefault(sec.label, []).append(label_at(0.5 * (sec.start_s + sec.end_s)))
    assert len(set(kinds["chorus"])) == 1
    assert len(set(kinds["verse"])) == 1
    assert kinds["chorus"][0] != kinds["verse"][0]
    starts = [s.start_s for s in analysis.sections]
    assert starts[0] == 0.0 and analysis.sections[-1].end_s == pytest.approx(analysis.duration_s)
    assert all(np.min(np.abs(analysis.downbeats_s - t)) < 1e-6 for t in starts[1:])


def test_demo_song_onsets_and_melody(demo):
    song, analysis = demo
    assert analysis.onsets_s.size > analysis.n_beats  # hats, bass and lead give more than beats
    assert analysis.melody_hz.shape == analysis.melody_voiced.shape
    voiced = analysis.melody_hz[analysis.melody_voiced]
    assert voiced.size > 0 and np.all((voiced >= 100) & (voiced <= 1500))
    assert np.all(analysis.melody_hz[~analysis.melody_voiced] == 0)


def test_analysis_json_round_trip(demo, tmp_path):
    _, analysis = demo
    path = analysis.save(tmp_path / "a.json")
    back = MusicAnalysis.load(path)
    assert back.tempo_bpm == pytest.approx(analysis.tempo_bpm, abs=1e-3)
    np.testing.assert_allclose(back.beats_s, analysis.beats_s, atol=1e-5)
    np.testing.assert_array_equal(back.downbeats, analysis.downbeats)
    assert back.sections == [type(s)(round(s.start_s, 5), round(s.end_s, 5), s.label)
                             for s in analysis.sections]


def test_reanalyze_with_user_meter_and_first_downbeat():
    y, beats, _ = drum_track(120, 4, n_bars=8)
    audio = Audio.from_array(y, SR)
    analysis, _ = analyze_audio(audio)
    fixed = reanalyze_beats(audio, analysis, beats_per_bar=3, first_downbeat_s=beats[1])
    assert fixed.beats_per_bar == 3
    assert fixed.downbeats_s[0] == pytest.approx(beats[1], abs=0.07)
    assert np.all(np.diff(fixed.downbeats) == 3)
    slower = reanalyze_beats(audio, analysis, tempo_bpm=60.0)
    assert slower.tempo_bpm == pytest.approx(60.0, rel=0.02)


def test_demo_song_melody_follows_the_lead(demo):
    song, analysis = demo
    times = np.arange(analysis.melody_hz.size) / analysis.melody_fps
    ref = song.lead_midi_at(times)
    lead = ref > 0
    est = 69 + 12 * np.log2(np.maximum(analysis.melody_hz, 1.0) / 440.0)
    correct = analysis.melody_voiced & (np.abs(est - ref) < 0.5)
    assert correct[lead].mean() >= 0.8  # raw pitch accuracy within a semitone band
    assert analysis.melody_voiced[~lead].mean() < analysis.melody_voiced[lead].mean() - 0.3
