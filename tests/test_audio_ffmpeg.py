"""m4a/AAC (which libsndfile cannot read) decode through the ffmpeg bundled with imageio-ffmpeg."""

import subprocess

import numpy as np
import pytest
import soundfile as sf
from choreo_studio.core.analysis.analyzer import analyze_audio
from choreo_studio.core.audio.load import load_audio, probe_audio
from choreo_studio.core.errors import ChoreoError

from tests.audio_fixtures import click_track

imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")

SR = 44100
TEMPO = 120


def _encode(tmp_path, suffix: str, *args: str):
    """A 44.1 kHz stereo click track at 120 BPM encoded by the bundled ffmpeg (AAC codec)."""
    y, _, _ = click_track(TEMPO, 4, n_bars=8, sr=SR)
    wav = tmp_path / "click.wav"
    sf.write(wav, np.stack([y, 0.5 * y], axis=1), SR)
    out = tmp_path / f"click{suffix}"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y",
         "-i", str(wav), "-c:a", "aac", "-b:a", "128k", *args, str(out)],
        check=True, capture_output=True,
    )
    return out, len(y) / SR


@pytest.mark.parametrize("suffix", [".m4a", ".aac"])
def test_aac_keeps_rate_channels_and_duration_and_analyses(tmp_path, suffix):
    path, duration_s = _encode(tmp_path, suffix)
    with pytest.raises(RuntimeError):
        sf.info(str(path))  # libsndfile cannot read it: the ffmpeg path is what is tested
    audio = load_audio(path)
    assert audio.sr == SR and audio.n_channels == 2
    assert audio.samples.dtype == np.float32
    assert audio.duration_s == pytest.approx(duration_s, abs=0.05)
    left, right = audio.samples[:, 0], audio.samples[:, 1]
    assert np.abs(right).max() == pytest.approx(0.5 * np.abs(left).max(), rel=0.1)
    analysis, _ = analyze_audio(audio)
    assert analysis.tempo_bpm == pytest.approx(TEMPO, rel=0.02)


@pytest.mark.parametrize("layout", ["index-at-end", "faststart"])
def test_truncated_m4a_is_one_clear_error(tmp_path, layout):
    args = ("-movflags", "+faststart") if layout == "faststart" else ()
    path, _ = _encode(tmp_path, ".m4a", *args)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ChoreoError, match="truncated") as err:
        load_audio(path)
    assert "\n" not in str(err.value) and str(err.value).startswith("click.m4a: ")


def test_long_m4a_is_refused_before_decoding(tmp_path):
    path, _ = _encode(tmp_path, ".m4a")
    with pytest.raises(ChoreoError, match="min long"):
        load_audio(path, max_duration_s=5.0)


def test_probe_marks_a_bitrate_guess_as_an_estimate(tmp_path):
    m4a, duration_s = _encode(tmp_path, ".m4a")
    exact = probe_audio(m4a)
    assert (exact.sr, exact.n_channels, exact.estimated) == (SR, 2, False)
    assert exact.duration_s == pytest.approx(duration_s, abs=0.05)
    assert exact.duration_text() == f"0:{round(duration_s):02d}"
    raw, _ = _encode(tmp_path, ".aac")  # ADTS has no index: ffmpeg guesses from the bitrate
    guess = probe_audio(raw)
    assert guess.estimated and guess.duration_text().endswith("(estimated)")
    assert load_audio(raw).duration_s == pytest.approx(duration_s, abs=0.05)
