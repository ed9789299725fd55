"""Joint tempo / meter / downbeat decoding with known answers made here: compound 6/8, a tempo
step, bars found from an accent pattern after a pickup, user choices and weak pulses."""

import json

import mir_eval
import numpy as np
import pytest
from choreo_studio.core.analysis import beat_tracking
from choreo_studio.core.analysis.analyzer import analyze_audio, reanalyze_beats
from choreo_studio.core.analysis.meter import MeterSpec, parse_meter
from choreo_studio.core.analysis.music_analysis import MusicAnalysis
from choreo_studio.core.audio.load import Audio
from choreo_studio.core.cli import main
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.phrases.segmentation import segment
from choreo_studio.core.project.session import reading_request

from tests.audio_fixtures import SR, drum_track

HIGH, MID, LOW = 1760.0, 880.0, 660.0


def clicks(times: np.ndarray, gains: list[float], freqs: list[float], floor: float = 0.01,
           seed: int = 0) -> np.ndarray:
    """Clicks at ``times`` over a faint noise floor (so soft clicks are soft, as in music)."""
    y = np.random.default_rng(seed).standard_normal(int((times[-1] + 1.0) * SR))
    y = (y * floor).astype(np.float32)
    t = np.arange(int(0.03 * SR)) / SR
    for time, gain, freq in zip(times, gains, freqs, strict=True):
        click = gain * np.sin(2 * np.pi * freq * t) * np.exp(-t / 0.006)
        i = int(round(time * SR))
        y[i : i + click.size] += click[: y.size - i].astype(np.float32)
    return y


def f_measure(ref: np.ndarray, est: np.ndarray) -> float:
    return mir_eval.beat.f_measure(ref, est, f_measure_threshold=0.07)


def compound_track(bpm: float = 76.0, bars: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """6/8 at ``bpm`` dotted quarters: every eighth sounds, bar and beat starts louder."""
    eighth = 60.0 / bpm / 3
    times = 0.3 + np.arange(6 * bars) * eighth
    gains = [1.0 if k % 6 == 0 else 0.7 if k % 3 == 0 else 0.3 for k in range(times.size)]
    freqs = [HIGH if k % 6 == 0 else MID if k % 3 == 0 else LOW for k in range(times.size)]
    return clicks(times, gains, freqs), times


def test_six_eight_is_two_dotted_quarter_beats_per_bar():
    y, eighths = compound_track()
    analysis, _ = analyze_audio(Audio.from_array(y, SR))
    assert analysis.meter == "6/8" and analysis.beats_per_bar == 2
    assert analysis.tempo_bpm == pytest.approx(76.0, rel=0.02)
    assert f_measure(eighths[::3], analysis.beats_s) >= 0.95
    assert f_measure(eighths[::6], analysis.downbeats_s) >= 0.9


def test_a_fast_triplet_feel_is_not_a_compound_meter():
    """3/4 at 156 BPM with every triplet eighth sounding (a shuffle): the thirds of each beat
    are the swing of fast beats, not 9/8 (dotted-quarter beats that fast do not occur)."""
    third = 60.0 / 156.0 / 3
    times = 0.3 + np.arange(9 * 12) * third
    gains = [1.0 if k % 9 == 0 else 0.7 if k % 3 == 0 else 0.35 for k in range(times.size)]
    freqs = [HIGH if k % 9 == 0 else MID if k % 3 == 0 else LOW for k in range(times.size)]
    analysis, _ = analyze_audio(Audio.from_array(clicks(times, gains, freqs), SR))
    assert analysis.tempo_bpm == pytest.approx(156.0, rel=0.02)
    assert analysis.meter == "3/4"


def test_two_beat_bars_cut_into_phrases_of_two_to_eight_bars():
    y, _ = compound_track(bars=24)
    analysis, _ = analyze_audio(Audio.from_array(y, SR))
    phrases = segment(analysis)
    assert phrases and all(2 <= p.n_bars <= 8 for p in phrases)
    assert all(p.n_beats == 2 * p.n_bars for p in phrases[:-1])


def test_beats_follow_a_tempo_step_and_the_tempo_map_has_both_tempi():
    slow = 0.3 + np.arange(32) * 0.6  # 100 BPM
    fast = slow[-1] + 60.0 / 130 * (1 + np.arange(40))  # then 130 BPM
    times = np.concatenate([slow, fast])
    gains = [1.0 if k % 4 == 0 else 0.6 for k in range(times.size)]
    freqs = [HIGH if k % 4 == 0 else MID for k in range(times.size)]
    analysis, _ = analyze_audio(Audio.from_array(clicks(times, gains, freqs), SR))
    assert f_measure(times, analysis.beats_s) >= 0.95
    rows = analysis.tempo_map
    assert rows[0, 1] == pytest.approx(100.0, rel=0.02)
    assert rows[-1, 1] == pytest.approx(130.0, rel=0.02)
    assert rows[-1, 0] == pytest.approx(fast[0], abs=1.0)
    assert analysis.tempo_at(5.0) == pytest.approx(100.0, rel=0.02)


def test_a_half_tempo_reading_keeps_the_tempo_step():
    """Taking "half tempo" on a song that steps from 100 to 130 BPM gives every other beat
    of both tempi (50 then 65 BPM), not one forced tempo across the step."""
    slow = 0.3 + np.arange(32) * 0.6
    times = np.concatenate([slow, slow[-1] + 60.0 / 130 * (1 + np.arange(40))])
    gains = [1.0 if k % 4 == 0 else 0.6 for k in range(times.size)]
    freqs = [HIGH if k % 4 == 0 else MID for k in range(times.size)]
    audio = Audio.from_array(clicks(times, gains, freqs), SR)
    analysis, _ = analyze_audio(audio)
    half = reanalyze_beats(audio, analysis, beat_step=2.0, first_downbeat_s=float(times[0]))
    assert f_measure(times[::2], half.beats_s) >= 0.95
    resolution = beat_tracking.TEMPO_MAP_TOLERANCE  # a new row when the tempo moves this far
    assert half.tempo_map[0, 1] == pytest.approx(50.0, rel=resolution)
    assert half.tempo_map[-1, 1] == pytest.approx(65.0, rel=resolution)
    assert half.downbeats_s[0] == pytest.approx(times[0], abs=0.03)
    assert any(a.kind == "double tempo" for a in half.alternatives), "scored anew"
    shifted = reanalyze_beats(audio, analysis, beat_step=1.0,
                              first_downbeat_s=float(analysis.beats_s[1]))
    np.testing.assert_array_equal(shifted.beats_s, analysis.beats_s)  # the same beats stay
    assert shifted.downbeats[0] == 1


BAR_LINE_S = 1.8  # the bars of four_against_three start here (and every 2 s on)


def four_against_three(loud_bpm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2-s bars of 3 beats (90 BPM) against 4 (120 BPM), the ``loud_bpm`` pulse loud and the
    other soft where they do not meet, the first bar line on the fourth 120 BPM beat (so a
    reading must find its phase): (samples, the 90 BPM beats, the 120 BPM beats)."""
    three = BAR_LINE_S + (np.arange(48) - 2) * 60.0 / 90.0
    four = BAR_LINE_S + (np.arange(64) - 3) * 0.5
    loud, soft = (three, four) if loud_bpm == 90.0 else (four, three)
    soft = soft[~np.isclose(soft[:, None], loud[None, :], atol=0.01).any(axis=1)]
    offset = (loud - BAR_LINE_S) / 2.0
    bar = np.isclose(np.round(offset), offset, atol=0.005)
    times = np.concatenate([loud, soft])
    gains = np.concatenate([np.where(bar, 1.0, 0.8), np.full(soft.size, 0.3)])
    freqs = np.concatenate([np.where(bar, HIGH, MID), np.full(soft.size, LOW)])
    order = np.argsort(times)
    return clicks(times[order], gains[order].tolist(), freqs[order].tolist()), three, four


@pytest.mark.parametrize("loud_bpm, kind, other_bpm", [(90.0, "x4/3 tempo", 120.0),
                                                        (120.0, "x3/4 tempo", 90.0)])
def test_a_four_against_three_reading_takes_the_other_pulse(loud_bpm, kind, other_bpm):
    y, three, four = four_against_three(loud_bpm)
    audio = Audio.from_array(y, SR)
    analysis, _ = analyze_audio(audio)
    assert analysis.tempo_bpm == pytest.approx(loud_bpm, rel=0.02)
    reading = next(a for a in analysis.alternatives if a.kind == kind)
    assert reading.tempo_bpm == pytest.approx(other_bpm, rel=0.02)
    taken = reanalyze_beats(audio, analysis, **reading_request(analysis, reading))
    assert f_measure(four if other_bpm == 120.0 else three, taken.beats_s) >= 0.95
    assert taken.meter == reading.meter
    bars = (taken.downbeats_s - BAR_LINE_S) / 2.0
    np.testing.assert_allclose(bars, np.round(bars), atol=0.02)


def test_beats_keep_their_level_when_soft_eighths_join_halfway():
    beats = 0.3 + np.arange(64) * 0.6  # 100 BPM 4/4; from bar 9 soft eighths between the beats
    eighths = beats[32:] + 0.3
    times = np.sort(np.concatenate([beats, eighths]))
    on_beat = np.isin(times, beats)
    first = np.round((times - 0.3) / 0.6).astype(int) % 4 == 0
    gains = np.where(on_beat, np.where(first, 1.0, 0.7), 0.4).tolist()
    freqs = np.where(on_beat, np.where(first, HIGH, MID), LOW).tolist()
    analysis, _ = analyze_audio(Audio.from_array(clicks(times, gains, freqs), SR))
    assert f_measure(beats, analysis.beats_s) >= 0.95
    assert analysis.tempo_map[-1, 1] == pytest.approx(100.0, rel=0.02)


def test_bars_start_on_the_accent_after_a_pickup():
    # 3/4 at 120 BPM starting with a one-beat pickup; only loudness marks the bar lines
    times = 0.3 + np.arange(31) * 0.5
    gains = [1.0 if k % 3 == 1 else 0.45 for k in range(times.size)]
    analysis, _ = analyze_audio(Audio.from_array(clicks(times, gains, [MID] * times.size), SR))
    assert analysis.meter == "3/4"
    assert f_measure(times[1::3], analysis.downbeats_s) >= 0.9


def test_user_choices_take_another_reading():
    y, beats, _ = drum_track(120, 4, n_bars=8)
    audio = Audio.from_array(y, SR)
    auto, _ = analyze_audio(audio)
    kinds = {a.kind for a in auto.alternatives}
    assert {"half tempo", "double tempo", "3 beats per bar", "downbeat +1 beat"} <= kinds
    assert all(a.score <= 0.5 for a in auto.alternatives)  # the chosen grid is the best one
    half, _ = analyze_audio(audio, bpm=60.0)
    assert half.tempo_bpm == pytest.approx(60.0, rel=0.02)
    assert f_measure(beats[::2], half.beats_s) >= 0.9 or f_measure(beats[1::2], half.beats_s) >= 0.9
    three, _ = analyze_audio(audio, meter_text="3/4")
    assert three.meter == "3/4" and np.all(np.diff(three.downbeats) == 3)
    hinted, _ = analyze_audio(audio, tempo_hint=125.0)
    assert hinted.tempo_bpm == pytest.approx(120.0, rel=0.02)
    fixed = reanalyze_beats(audio, auto, meter_text="2/4")
    assert fixed.meter == "2/4" and np.all(np.diff(fixed.downbeats) == 2)


@pytest.mark.parametrize("text, spec", [("4/4", MeterSpec(4)), ("3", MeterSpec(3)),
                                        ("6/8", MeterSpec(2, True)), ("12/8", MeterSpec(4, True)),
                                        ("2/2", MeterSpec(2))])
def test_parse_meter(text, spec):
    assert parse_meter(text) == spec


@pytest.mark.parametrize("text", ["7/8", "1/4", "waltz", "13/4"])
def test_parse_meter_refuses_what_it_cannot_decode(text):
    with pytest.raises(ChoreoError, match="meter"):
        parse_meter(text)


def test_weak_pulse_gets_a_grid_with_lower_confidence():
    y, beats, _ = drum_track(110, 4, n_bars=12)
    noise = np.random.default_rng(1).standard_normal(y.size).astype(np.float32)
    clean, _ = analyze_audio(Audio.from_array(y, SR))
    weak, _ = analyze_audio(Audio.from_array(0.15 * y + 0.1 * noise, SR))
    assert weak.n_beats > 0 and 0.0 <= weak.beat_confidence < clean.beat_confidence
    assert clean.beat_confidence > 0.5


def test_analysis_round_trip_keeps_meter_tempo_map_and_alternatives(tmp_path):
    y, _ = compound_track()
    analysis, _ = analyze_audio(Audio.from_array(y, SR))
    back = MusicAnalysis.load(analysis.save(tmp_path / "a.json"))
    assert back.meter == "6/8" and back.beats_per_bar == 2
    np.testing.assert_allclose(back.tempo_map, analysis.tempo_map, atol=1e-3)
    assert [a.kind for a in back.alternatives] == [a.kind for a in analysis.alternatives]
    assert back.beat_confidence == pytest.approx(analysis.beat_confidence, abs=1e-4)
    old = analysis.to_dict() | {"format_version": 1}  # a version-1 file: meter from beats per bar
    for key in ("tempo_map", "alternatives", "beat_confidence"):
        old.pop(key)
    legacy = MusicAnalysis.from_dict(json.loads(json.dumps(old)))
    assert legacy.meter == "2/4" and legacy.tempo_map.shape == (0, 2)


def test_cli_meter_flag_and_alternatives(tmp_path, capsys):
    import soundfile as sf

    y, _, _ = drum_track(120, 4, n_bars=8)
    wav = tmp_path / "drums.wav"
    sf.write(wav, y, SR)
    assert main(["analyze", str(wav), "--no-cache"]) == 0
    text = capsys.readouterr().out
    assert "meter 4/4" in text and "alternatives" in text and "half tempo" in text
    assert main(["analyze", str(wav), "--meter", "3/4", "--no-cache"]) == 0
    assert "meter 3/4" in capsys.readouterr().out
    assert main(["analyze", str(wav), "--meter", "5/8", "--no-cache"]) == 2


def test_a_forced_tempo_is_never_refused():
    from tests.audio_fixtures import speech_like

    with pytest.raises(ChoreoError, match="no steady beat"):
        analyze_audio(Audio.from_array(speech_like(12.0), SR))
    forced, _ = analyze_audio(Audio.from_array(speech_like(12.0), SR), bpm=100.0)
    assert forced.tempo_bpm == pytest.approx(100.0, rel=0.08) and forced.n_beats >= 4


def test_a_reading_asks_only_for_what_it_changes():
    from choreo_studio.core.analysis.music_analysis import MetricalAlternative
    from choreo_studio.core.project.session import reading_request

    y, _ = drum_track(120, 4, n_bars=8)[:2]
    analysis, _ = analyze_audio(Audio.from_array(y, SR))
    assert analysis.tempo_bpm == pytest.approx(120.0, rel=0.02) and analysis.meter == "4/4"
    half = MetricalAlternative("half tempo", 60.0, "4/4", 0.3, -5.0)
    compound = MetricalAlternative("2 beats per bar", analysis.tempo_bpm, "6/8", 0.8, -2.0)
    assert reading_request(analysis, half) == {"first_downbeat_s": 0.3, "beat_step": 2.0}
    assert reading_request(analysis, compound) == {"first_downbeat_s": 0.8,
                                                   "meter_text": "6/8"}
    shift = MetricalAlternative("downbeat +1 beat", analysis.tempo_bpm, "4/4", 0.8, -9.0)
    assert reading_request(analysis, shift) == {"first_downbeat_s": 0.8, "beat_step": 1.0}


def test_cli_reading_flag_takes_a_listed_alternative(tmp_path, capsys):
    import soundfile as sf

    y, _ = drum_track(120, 4, n_bars=8)[:2]
    wav = tmp_path / "drums.wav"
    sf.write(wav, y, SR)
    assert main(["analyze", str(wav), "--no-cache", "--reading", "half tempo"]) == 0
    out = capsys.readouterr().out
    assert "tempo 60.0 BPM" in out and "+user" in out
    assert main(["analyze", str(wav), "--no-cache", "--reading", "quarter tempo"]) == 2
    err = capsys.readouterr().err
    assert "no reading 'quarter tempo'" in err and "'half tempo'" in err
    assert all(30.0 <= a.tempo_bpm <= 300.0 for a in analyze_audio(Audio.from_array(y, SR))[0]
               .alternatives)
