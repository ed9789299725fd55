"""The shared spectral front end: one STFT per song feeds onsets, beats, sections and features.

Computing the power spectrogram once (n_fft 2048, hop 512 at 22,050 Hz, ≈ 43 frames/s) and
deriving the mel spectrogram, the onset envelopes and chroma from it keeps a whole analysis
within a few STFTs' worth of time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from choreo_studio.core.audio.load import ANALYSIS_SR
from choreo_studio.core.audio.stft import (
    chroma_from_power,
    mel_filterbank,
    power_to_db,
    stft_power,
)
from choreo_studio.core.numeric import uniform_filter1d

N_FFT = 2048
HOP = 512
N_MELS = 128
LOW_MEL_BANDS = 40  # mel bands below ≈ 1.3 kHz: kick, bass, snare body (no hats)


@dataclass
class Spectra:
    """Spectral views of one song at ``fps`` frames per second (frames on the last axis)."""

    power: np.ndarray | None  # float32 [1 + N_FFT/2, frames] |STFT|^2 (None once dropped)
    logmel_db: np.ndarray  # float32 [N_MELS, frames], dB re the song's loudest bin, floor -80
    onset_env: np.ndarray  # float32 [frames] spectral flux of the log-mel, all bands
    onset_env_low: np.ndarray  # float32 [frames] spectral flux of the low mel bands only
    sr: int
    hop: int
    _chroma: np.ndarray | None = field(default=None, repr=False)

    @property
    def chroma(self) -> np.ndarray:
        """[12, frames] chroma of the power spectrogram (A440 tuning assumed: no estimation)."""
        if self._chroma is None:
            self._chroma = chroma_from_power(self.power, self.sr, N_FFT)
        return self._chroma

    def drop_power(self) -> None:
        """Free the power spectrogram (0.6 GB on a 60-minute song) once nothing else reads it;
        the chroma derived from it is computed first and kept."""
        _ = self.chroma
        self.power = None

    @property
    def fps(self) -> float:
        return self.sr / float(self.hop)

    @property
    def n_frames(self) -> int:
        return int(self.logmel_db.shape[1])


def compute_spectra(y: np.ndarray, sr: int = ANALYSIS_SR) -> Spectra:
    """STFT, log-mel and onset envelopes of the mono signal ``y``."""
    power = stft_power(y, N_FFT, HOP)  # numpy, as librosa.stft: librosa's import costs seconds
    mel = mel_filterbank(sr, N_FFT, N_MELS) @ power
    logmel = power_to_db(mel, ref=float(mel.max()) or 1.0, top_db=80.0)
    flux = np.maximum(0.0, np.diff(logmel, axis=1, prepend=logmel[:, :1]))
    onset_env = flux.mean(axis=0)
    onset_low = flux[:LOW_MEL_BANDS].mean(axis=0)
    return Spectra(
        power=power,
        logmel_db=logmel.astype(np.float32),
        onset_env=_detrend(onset_env),
        onset_env_low=_detrend(onset_low),
        sr=sr,
        hop=HOP,
    )


def _detrend(env: np.ndarray) -> np.ndarray:
    """Remove the slow loudness trend (a 1-s moving median-ish baseline) so quiet parts count."""
    baseline = uniform_filter1d(env, size=43, mode="nearest")
    return np.maximum(env - 0.5 * baseline, 0.0).astype(np.float32)
