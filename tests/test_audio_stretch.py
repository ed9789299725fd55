"""The pitch-preserving time stretch behind slowed playback: length, pitch, level, chunking."""

from __future__ import annotations

import numpy as np
import pytest
from choreo_studio.core.audio import stretch
from choreo_studio.core.audio.stretch import time_stretch
from choreo_studio.core.errors import ChoreoError

SR = 22050


def _sine(freq_hz: float, seconds: float, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    tone = (0.5 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)
    return tone if channels == 1 else np.stack([tone] * channels, axis=1)


def _peak_hz(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * SR / len(x))


@pytest.mark.parametrize("speed", [0.5, 0.75])
def test_slowed_sine_keeps_its_pitch_and_level_and_lasts_longer(speed):
    x = _sine(440.0, 2.0)
    y = time_stretch(x, speed)
    assert len(y) == round(len(x) / speed)
    middle = y[SR // 2 : -SR // 2]
    assert _peak_hz(middle) == pytest.approx(440.0, abs=2.0)  # a resampler would give 220/330
    rms = float(np.sqrt(np.mean(middle**2)))
    assert 0.8 * np.sqrt(0.125) < rms < 1.1 * np.sqrt(0.125)


def test_stereo_keeps_channels_and_unit_speed_is_the_input():
    x = _sine(300.0, 1.0, channels=2)
    y = time_stretch(x, 0.5)
    assert y.shape == (2 * len(x), 2) and y.dtype == np.float32
    np.testing.assert_allclose(y[:, 0], y[:, 1])
    np.testing.assert_array_equal(time_stretch(x, 1.0), x)


def test_chunked_pass_equals_one_pass(monkeypatch):
    x = _sine(523.0, 1.0) + 0.1 * np.random.default_rng(0).standard_normal(SR).astype(np.float32)
    whole = time_stretch(x, 0.6)
    monkeypatch.setattr(stretch, "CHUNK_FRAMES", 7)
    np.testing.assert_allclose(time_stretch(x, 0.6), whole, atol=1e-5)


def test_progress_reaches_the_end_and_bad_speeds_are_refused():
    seen = []
    time_stretch(_sine(440.0, 0.5), 0.5, lambda f, _m: seen.append(f))
    assert seen[-1] == pytest.approx(1.0) and seen == sorted(seen)
    for speed in (0.0, 0.1, 10.0):
        with pytest.raises(ChoreoError, match="playback speed"):
            time_stretch(_sine(440.0, 0.1), speed)
