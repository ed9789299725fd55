"""Beat and downbeat evidence per frame, from the shared spectra and the learned network.

The bar-pointer decoder reads two things: how much a frame looks like a beat (onset strength,
locally normalised so quiet passages count as much as loud ones) and, for every candidate beat
period, how much the harmony and the bass change across a frame (bars start where chords and
bass notes change). Both are sampled at twice the STFT frame rate, so beat periods are resolved
to about 12 ms. With ``learned=True`` (the analysis' default) the shipped activation network's
beat and downbeat probabilities come along too (``learned_activations``); otherwise, or
without its weights, they are None and the decoder reads the onset evidence alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from choreo_studio.core.audio.spectral import Spectra

UPSAMPLE = 2
LOCAL_NORM_S = 4.0  # onset strength is scaled by its running maximum over this window
LOCAL_FLOOR = 0.2  # ... never below this share of the song's loud level (silence stays quiet)
ACCENT_DB = 9.0  # accent in [0, 1]: 1 for the loudest sound around, 0 from this much quieter
BASS_MEL_BANDS = 16  # mel bands below ≈ 400 Hz: kick drum and bass notes
_CHROMA_SHARE = 0.6  # downbeat cue = share * chroma change + (1 - share) * bass change
SOUNDING_DB = 20.0  # a frame sounds when its power is within this of the loudest nearby
TRUST_WINDOW_S = 8.0  # the network's trust is the sounding share of frames over this window:
TRUST_SPARSE, TRUST_DENSE = 0.3, 0.6  # none at or below the first share, full from the second
# (music, whose notes sustain, sounds on 0.8-1.0 of its frames; bare clicks on 0.1-0.25: the
# network never saw sound so sparse, and calls every click a beat whatever its loudness)
_LEVEL_BLOCK_FRAMES = 4096  # log-mel frames turned into power at a time


@dataclass
class Activations:
    """Per-frame beat evidence ``beat`` in [0, 1] (``fps`` frames per second) and activity."""

    beat: np.ndarray  # float64 [frames] onset strength, locally normalised, smoothed
    level: np.ndarray  # float64 [frames] onset strength on the song's global scale
    accent: np.ndarray  # float64 [frames] loudness of the sound starting here (1: loudest nearby)
    chroma_cum: np.ndarray  # float64 [12, coarse frames + 1] running sum of chroma (unit norm)
    bass_cum: np.ndarray  # float64 [bands, coarse frames + 1] running sum of bass log-mel
    fps: float
    learned_beat: np.ndarray | None = None  # float64 [frames] the network's beat probability
    learned_down: np.ndarray | None = None  # float64 [frames] ... and its downbeat probability
    learned_trust: np.ndarray | None = None  # float64 [frames] how far to trust them (0..1)

    @property
    def n_frames(self) -> int:
        return int(self.beat.size)

    def change(self, period: int) -> np.ndarray:
        """[frames] harmony + bass change between the ``period`` frames before and after each.

        Computed on the STFT frames (a period of ``period / UPSAMPLE`` of them), then upsampled.
        """
        window = max(int(round(period / UPSAMPLE)), 1)
        coarse = _CHROMA_SHARE * _window_change(self.chroma_cum, window) + (
            1.0 - _CHROMA_SHARE
        ) * _window_change(self.bass_cum, window)
        fine = np.arange(self.n_frames) / UPSAMPLE
        return np.interp(fine, np.arange(coarse.size), coarse)


def compute_activations(spectra: Spectra, envelope: np.ndarray, learned: bool = False
                        ) -> Activations:
    """Activations at ``UPSAMPLE`` × the spectra's frame rate from ``envelope`` (beat onsets);
    ``learned`` adds the activation network's (when its weights are shipped)."""
    from choreo_studio.core.analysis.learned_activations import learned_activations
    from choreo_studio.core.numeric import (  # scipy's, cheaper to import
        gaussian_filter1d,
        maximum_filter1d,
    )

    n = envelope.size
    fine = np.arange(n * UPSAMPLE) / UPSAMPLE
    window = max(int(LOCAL_NORM_S * spectra.fps), 3)

    def normalised(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        smooth = gaussian_filter1d(x.astype(np.float64), 0.7)
        loud = float(np.percentile(smooth, 99)) if n else 0.0
        loud = loud if loud > 0 else 1.0
        local = np.maximum(maximum_filter1d(smooth, window, mode="nearest"), LOCAL_FLOOR * loud)
        return np.clip(smooth / local, 0.0, 1.0), np.clip(smooth / loud, 0.0, 1.0)

    beat, level = normalised(envelope)
    power_db = frame_level_db(spectra.logmel_db)
    peak_db = maximum_filter1d(power_db.astype(np.float64), 3, origin=-1, mode="nearest")
    loudest = maximum_filter1d(peak_db, window, mode="nearest")
    accent = 1.0 + np.clip((peak_db - loudest) / ACCENT_DB, -1.0, 0.0)
    chroma = spectra.chroma.astype(np.float64)
    # unit chroma weighted by the frame's amplitude: silence (noise chroma) weighs nothing
    amplitude = 10.0 ** ((power_db - power_db.max()) / 20.0)
    chroma *= amplitude / (np.linalg.norm(chroma, axis=0, keepdims=True) + 1e-9)
    bass = (spectra.logmel_db[:BASS_MEL_BANDS].astype(np.float64) + 80.0) / 80.0
    network = learned_activations(spectra.logmel_db) if learned else None
    beat_p, down_p, trust = (
        (np.interp(fine, np.arange(n), p) for p in (*network, _trust(power_db, spectra.fps)))
        if network is not None else (None, None, None))
    return Activations(
        beat=np.interp(fine, np.arange(n), beat),
        level=np.interp(fine, np.arange(n), level),
        accent=np.interp(fine, np.arange(n), accent),
        chroma_cum=_cumulative(chroma),
        bass_cum=_cumulative(bass),
        fps=spectra.fps * UPSAMPLE,
        learned_beat=beat_p,
        learned_down=down_p,
        learned_trust=trust,
    )


def frame_level_db(logmel_db: np.ndarray) -> np.ndarray:
    """[frames] each frame's total power (dB) from the log-mel, a block of frames at a time
    (an hour's power spectrogram would be hundreds of MB at once)."""
    out = np.empty(logmel_db.shape[1], dtype=logmel_db.dtype)
    for a in range(0, logmel_db.shape[1], _LEVEL_BLOCK_FRAMES):
        block = logmel_db[:, a : a + _LEVEL_BLOCK_FRAMES]
        out[a : a + block.shape[1]] = 10.0 * np.log10(np.sum(10.0 ** (block / 10.0), axis=0)
                                                      + 1e-10)
    return out


def sounding_frames(power_db: np.ndarray, fps: float) -> np.ndarray:
    """[frames] bool: the frame's power is within ``SOUNDING_DB`` of the loudest frame within
    ``TRUST_WINDOW_S`` around it (quiet passages sound too; silence and gaps do not)."""
    from choreo_studio.core.numeric import maximum_filter1d

    window = max(int(TRUST_WINDOW_S * fps), 3)
    loudest = maximum_filter1d(power_db.astype(np.float64), window, mode="nearest")
    return power_db > loudest - SOUNDING_DB


def _trust(power_db: np.ndarray, fps: float) -> np.ndarray:
    """[frames] trust in the network's activations: the local share of sounding frames
    (:func:`sounding_frames`), mapped from the sparse to the dense share."""
    from choreo_studio.core.numeric import uniform_filter1d

    window = max(int(TRUST_WINDOW_S * fps), 3)
    sounding = uniform_filter1d(sounding_frames(power_db, fps).astype(np.float64), window,
                                mode="nearest")
    return np.clip((sounding - TRUST_SPARSE) / (TRUST_DENSE - TRUST_SPARSE), 0.0, 1.0)


def _cumulative(x: np.ndarray) -> np.ndarray:
    out = np.zeros((x.shape[0], x.shape[1] + 1))
    np.cumsum(x, axis=1, out=out[:, 1:])
    return out


def _window_change(cum: np.ndarray, window: int) -> np.ndarray:
    """Cosine distance between the sum over [t - window, t) and over [t, t + window)."""
    n = cum.shape[1] - 1
    padded = np.concatenate([np.repeat(cum[:, :1], window, axis=1), cum,
                             np.repeat(cum[:, -1:], window, axis=1)], axis=1)
    here = padded[:, window : window + n]
    before = here - padded[:, :n]
    after = padded[:, 2 * window : 2 * window + n] - here
    num = np.einsum("ij,ij->j", before, after)
    norm_b = np.sqrt(np.einsum("ij,ij->j", before, before))
    norm_a = np.sqrt(np.einsum("ij,ij->j", after, after))
    # a side without sound (song start or end, a pause) is no evidence of a change
    balance = np.sqrt(np.minimum(norm_b, norm_a) / (np.maximum(norm_b, norm_a) + 1e-9))
    change = (1.0 - num / (norm_b * norm_a + 1e-9)) * balance
    if n > 2 * window:  # no context on one side: no evidence of change either way
        change[:window] = change[-window:] = np.median(change[window:-window])
    return change
