"""Per-phrase network inputs, exactly the sizes of paper §3.5.

For each music phrase: the log-mel spectrogram (128 mel bands) resized on time to 128×128, the
main melody resized to 128 steps, and the binary rhythm (beats + onsets) on 128 steps.

Ranges (what the networks can rely on):
- ``mel[t, m, k]`` in [0, 1]: dB re the song's loudest mel bin, clipped at -80 dB, mapped
  linearly (-80 dB → 0, 0 dB → 1). Axis 1 is the mel band (low → high), axis 2 is time.
- ``melody[t, k]`` in [0, 1]: 0 where unvoiced, else the pitch mapped linearly from MIDI 36 (C2)
  to MIDI 96 (C7) and clipped to [0.01, 1].
- ``rhythm[t, k]`` in {0, 1}: 1 where a beat or an onset falls in that 1/128 of the phrase.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from choreo_studio.core.analysis.music_analysis import MusicAnalysis
from choreo_studio.core.phrases.segmentation import MusicPhrase

FEATURE_SIZE = 128
N_MELS = 128
MEL_FLOOR_DB = -80.0
MELODY_MIDI_LOW = 36.0
MELODY_MIDI_HIGH = 96.0


@dataclass
class SongFeatures:
    """Features of every phrase of a song: row ``t`` belongs to phrase ``t``."""

    mel: np.ndarray  # float32 [T, 128, 128]
    melody: np.ndarray  # float32 [T, 128]
    rhythm: np.ndarray  # float32 [T, 128]

    @property
    def n_phrases(self) -> int:
        return int(self.mel.shape[0])

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays by name (for ``np.savez``)."""
        return {"mel": self.mel, "melody": self.melody, "rhythm": self.rhythm}


def phrase_features(
    logmel_db: np.ndarray, mel_fps: float, analysis: MusicAnalysis, phrases: list[MusicPhrase]
) -> SongFeatures:
    """Compute the §3.5 features of ``phrases`` from the song's log-mel (dB, [128, frames])."""
    n = len(phrases)
    mel = np.zeros((n, N_MELS, FEATURE_SIZE), dtype=np.float32)
    melody = np.zeros((n, FEATURE_SIZE), dtype=np.float32)
    rhythm = np.zeros((n, FEATURE_SIZE), dtype=np.float32)
    scaled = np.clip((logmel_db - MEL_FLOOR_DB) / -MEL_FLOOR_DB, 0.0, 1.0).astype(np.float32)
    melody_value = melody_to_unit(analysis.melody_hz, analysis.melody_voiced)
    events = np.sort(np.concatenate([analysis.beats_s, analysis.onsets_s]))
    for t, phrase in enumerate(phrases):
        mel[t] = resize_time(scaled, phrase.start_s * mel_fps, phrase.end_s * mel_fps)
        melody[t] = _sample_melody(melody_value, analysis.melody_fps, phrase)
        rhythm[t] = _rhythm_row(events, phrase)
    return SongFeatures(mel, melody, rhythm)


def resize_time(x: np.ndarray, start_frame: float, end_frame: float) -> np.ndarray:
    """Average ``x[..., frames]`` over FEATURE_SIZE equal slices of [start_frame, end_frame).

    Area resampling through a float64 cumulative sum over the phrase's own frames only (linear in
    the song's length over all phrases, and exact to float32): exact averaging when shrinking,
    piecewise constant when stretching; frames outside the array count as the edge frame.
    """
    n_frames = x.shape[-1]
    edges = np.clip(np.linspace(start_frame, end_frame, FEATURE_SIZE + 1), 0.0, float(n_frames))
    lo = np.floor(edges).astype(np.int64)
    first, last = int(lo[0]), int(lo.max())
    window = np.cumsum(x[..., first:last], axis=-1, dtype=np.float64)
    cum = np.concatenate([np.zeros(x.shape[:-1] + (1,)), window], axis=-1)
    frac = edges - lo  # 0 where an edge sits at the end of the array
    values = cum[..., lo - first] + frac * x[..., np.minimum(lo, n_frames - 1)]
    width = np.maximum(np.diff(edges), 1e-9)
    out = np.diff(values, axis=-1) / width
    empty = np.diff(edges) < 1e-9  # slices past the end of the array: repeat the last frame
    if empty.any():
        out[..., empty] = x[..., np.minimum(lo[:-1][empty], n_frames - 1)]
    return out.astype(np.float32)


def melody_to_unit(melody_hz: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """Map f0 (Hz) to [0.01, 1] over MIDI 36–96; 0 where unvoiced."""
    hz = np.where(voiced & (melody_hz > 0), melody_hz, 1.0)
    midi = 69.0 + 12.0 * np.log2(hz / 440.0)
    unit = np.clip((midi - MELODY_MIDI_LOW) / (MELODY_MIDI_HIGH - MELODY_MIDI_LOW), 0.01, 1.0)
    return np.where(voiced & (melody_hz > 0), unit, 0.0).astype(np.float32)


def _sample_melody(values: np.ndarray, fps: float, phrase: MusicPhrase) -> np.ndarray:
    """Melody at the centre of each of the 128 slices (nearest frame, so voicing stays crisp)."""
    step = (phrase.end_s - phrase.start_s) / FEATURE_SIZE
    centres = phrase.start_s + (np.arange(FEATURE_SIZE) + 0.5) * step
    idx = np.clip(np.round(centres * fps).astype(np.int64), 0, max(values.size - 1, 0))
    return values[idx] if values.size else np.zeros(FEATURE_SIZE, np.float32)


def _rhythm_row(events_s: np.ndarray, phrase: MusicPhrase) -> np.ndarray:
    row = np.zeros(FEATURE_SIZE, dtype=np.float32)
    inside = events_s[(events_s >= phrase.start_s) & (events_s < phrase.end_s)]
    slot = ((inside - phrase.start_s) / phrase.duration_s * FEATURE_SIZE).astype(np.int64)
    row[np.clip(slot, 0, FEATURE_SIZE - 1)] = 1.0
    return row
