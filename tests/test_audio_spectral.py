"""The numpy spectral front end gives librosa's numbers, without importing librosa."""

import subprocess
import sys

import numpy as np
import pytest
from choreo_studio.core.audio.spectral import HOP, N_FFT, N_MELS, compute_spectra
from choreo_studio.core.audio.stft import (
    chroma_filterbank,
    mel_filterbank,
    power_to_db,
    stft_power,
)

from tests.audio_fixtures import SR, click_track

librosa = pytest.importorskip("librosa")


def _signal() -> np.ndarray:
    """Clicks plus noise, of a length that is not a multiple of the hop (ragged last frame)."""
    y, _, _ = click_track(120, 4, n_bars=2)
    noise = np.random.default_rng(0).standard_normal(y.size).astype(np.float32) * 0.01
    return (y + noise)[: y.size - 123]


def test_stft_power_is_librosas():
    y = _signal()
    stft = librosa.stft(y, n_fft=N_FFT, hop_length=HOP, center=True)
    want = (stft.real**2 + stft.imag**2).astype(np.float32)
    got = stft_power(y, N_FFT, HOP)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * float(want.max()))


@pytest.mark.parametrize("sr, n_fft, n_mels", [(SR, N_FFT, N_MELS), (44100, 1024, 40)])
def test_mel_filterbank_is_librosas(sr, n_fft, n_mels):
    want = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)
    got = mel_filterbank(sr, n_fft, n_mels)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_power_to_db_is_librosas():
    power = np.abs(np.random.default_rng(1).standard_normal((8, 50))).astype(np.float32) ** 4
    power[0, :5] = 0.0  # below the floor
    ref = float(power.max())
    want = librosa.power_to_db(power, ref=ref, top_db=80.0)
    np.testing.assert_allclose(power_to_db(power, ref=ref, top_db=80.0), want, atol=1e-4)


def test_spectra_do_not_import_librosa():
    code = (
        "import sys, numpy as np;"
        "from choreo_studio.core.audio.spectral import compute_spectra;"
        "s = compute_spectra(np.random.default_rng(0).standard_normal(22050).astype(np.float32));"
        "s.chroma;"
        "print('librosa' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_logmel_matches_the_librosa_front_end():
    y = _signal()
    spectra = compute_spectra(y)
    power = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP)) ** 2
    mel = librosa.filters.mel(sr=SR, n_fft=N_FFT, n_mels=N_MELS) @ power.astype(np.float32)
    want = librosa.power_to_db(mel, ref=float(mel.max()), top_db=80.0)
    np.testing.assert_allclose(spectra.logmel_db, want, atol=1e-3)


@pytest.mark.parametrize("sr, n_fft", [(SR, N_FFT), (44100, 4096)])
def test_chroma_filterbank_is_librosas(sr, n_fft):
    want = librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=0.0)
    got = chroma_filterbank(sr, n_fft)
    assert got.shape == (12, 1 + n_fft // 2) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_chroma_is_librosas():
    spectra = compute_spectra(_signal())
    spectra.power[:, :3] = 0.0  # silent frames: no 0/0
    want = librosa.feature.chroma_stft(S=spectra.power, sr=SR, n_fft=N_FFT, tuning=0.0)
    got = spectra.chroma
    assert got.dtype == np.float32 and np.isfinite(got).all()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
