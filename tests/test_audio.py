"""Loading: formats, rates and channels, and every bad input as one clear error (CLI exit 2)."""

import numpy as np
import pytest
import soundfile as sf
from choreo_studio.core.analysis.analyzer import analyze_audio
from choreo_studio.core.audio.load import ANALYSIS_SR, Audio, load_audio
from choreo_studio.core.cli import main
from choreo_studio.core.errors import ChoreoError

from tests.audio_fixtures import (
    SR,
    ambient_pad,
    click_track,
    noise_bursts,
    rubato_melody,
    speech_like,
)


@pytest.mark.parametrize("fmt", ["WAV", "FLAC", "OGG", "MP3"])
def test_formats_rates_and_channels(tmp_path, fmt):
    y, _, _ = click_track(120, 4, n_bars=2, sr=44100)
    stereo = np.stack([y, 0.5 * y], axis=1)
    path = tmp_path / f"song.{fmt.lower()}"
    sf.write(path, stereo, 44100, format=fmt)
    audio = load_audio(path)
    assert audio.sr == 44100 and audio.n_channels == 2
    assert audio.duration_s == pytest.approx(len(y) / 44100, abs=0.1)
    mono = audio.mono()
    assert mono.dtype == np.float32
    assert mono.size == pytest.approx(audio.duration_s * ANALYSIS_SR, abs=ANALYSIS_SR * 0.1)


def _write_truncated(path, fmt):
    y = np.random.default_rng(0).standard_normal((SR * 3, 2)).astype(np.float32) * 0.1
    sf.write(path, y, SR, format=fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("fmt", ["WAV", "OGG", "FLAC"])
def test_truncated_files_are_refused(tmp_path, fmt):
    path = tmp_path / f"cut.{fmt.lower()}"
    _write_truncated(path, fmt)
    with pytest.raises(ChoreoError, match="truncated"):
        load_audio(path)


def test_bad_files(tmp_path):
    with pytest.raises(ChoreoError, match="no such file"):
        load_audio(tmp_path / "missing.wav")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(ChoreoError, match="empty"):
        load_audio(empty)
    text = tmp_path / "notes.mp3"
    text.write_text("these are not audio samples\n" * 50)
    with pytest.raises(ChoreoError, match="not a readable audio file"):
        load_audio(text)
    zero = tmp_path / "zero.wav"
    sf.write(zero, np.zeros((0, 1), np.float32), SR)
    with pytest.raises(ChoreoError, match="zero length|empty|not a readable"):
        load_audio(zero)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(SR * 5, np.float32), SR)
    with pytest.raises(ChoreoError, match="silence"):
        load_audio(silent)


def test_too_long_is_refused_before_decoding(tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, np.full(SR * 4, 0.1, np.float32), SR)
    with pytest.raises(ChoreoError, match="min long"):
        load_audio(path, max_duration_s=3.0)


@pytest.mark.parametrize(
    "signal", [speech_like(12.0), noise_bursts(12.0)], ids=["speech", "noise"]
)
def test_speech_and_noise_are_refused(signal):
    with pytest.raises(ChoreoError, match="no steady beat and no held notes"):
        analyze_audio(Audio.from_array(signal, SR))


@pytest.mark.parametrize(
    "signal", [rubato_melody(16.0), ambient_pad(10.0)], ids=["rubato", "ambient"]
)
def test_music_with_a_weak_pulse_gets_a_grid_with_low_confidence(signal):
    analysis, _ = analyze_audio(Audio.from_array(signal, SR))
    assert analysis.n_bars >= 2 and analysis.n_beats >= 8
    assert analysis.beat_confidence < 0.2, "a weak pulse is shown as one"
    assert analysis.alternatives, "the other readings are offered"


def test_shorter_than_two_bars_is_refused():
    y, _, _ = click_track(120, 4, n_bars=1, lead_in_s=0.1)
    with pytest.raises(ChoreoError, match="two bars|no steady beat"):
        analyze_audio(Audio.from_array(y[: int(1.5 * SR)], SR))


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    text = tmp_path / "song.wav"
    text.write_text("not audio")
    assert main(["analyze", str(text), "--no-cache"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("choreo: error: song.wav:")
    assert "Traceback" not in "\n".join(err)


def test_cli_analyze_writes_json(tmp_path, capsys):
    y, _, _ = click_track(128, 4, n_bars=8)
    wav = tmp_path / "click.wav"
    sf.write(wav, y, SR)
    out = tmp_path / "analysis.json"
    assert main(["analyze", str(wav), "-o", str(out), "--cache-dir", str(tmp_path / "c")]) == 0
    text = capsys.readouterr().out
    assert "tempo 128.0 BPM" in text and "meter 4/4" in text and "phrases" in text
    import json

    data = json.loads(out.read_text())
    assert data["format_version"] == 2 and data["phrases"]
