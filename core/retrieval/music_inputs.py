"""The music-side inputs T reads beside the embedding u, for training and for the scorer.

The 128-frame mel of a phrase removes its tempo and meter, which tell a waltz from a rumba; a
model with the dance head (``networks.DanceMatchPredictor``) therefore reads, per phrase,
:func:`music_side` (tempo, loudness, pulse spectra) followed by :func:`cue_columns` of
:func:`music_cues` (what the descriptor matcher reads, plus the phrase's position), the
columns ``networks.PairCues`` compares with each dance phrase. :func:`music_inputs` is the
whole row for a song, as a bundle with that head needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from choreo_studio.core.retrieval.scoring import music_descriptors

if TYPE_CHECKING:
    from choreo_studio.core.phrases.song import Song

MUSIC_INPUTS_VERSION = 1
"""Layout of :func:`music_inputs` (a bundle records it; a different layout will not load)."""


def music_cues(song: Song) -> np.ndarray:
    """[T, 6] what the descriptor matcher reads of each phrase (``scoring.music_descriptors``:
    tempo, energy, onsets per beat, strength, beats per bar) and its length in beats."""
    beats = [max(p.end_beat - p.start_beat, 1) for p in song.phrases]
    return np.concatenate([music_descriptors(song), np.asarray(beats, np.float64)[:, None]],
                          axis=1)


def cue_columns(cues: np.ndarray) -> np.ndarray:
    """[T, len(networks.MUSIC_CUES)]: a shard's ``cues.npy`` with each phrase's index in the
    song and that index as a fraction of the song's phrases (position cues)."""
    cues = np.asarray(cues, np.float32)
    n = len(cues)
    index = np.arange(n, dtype=np.float32)
    return np.concatenate([cues, index[:, None], (index / max(n - 1, 1))[:, None]], axis=1)


PULSES = np.arange(2, 17)  # pulses per phrase whose strength music_side reports


def pulse_spectrum(curves: np.ndarray) -> np.ndarray:
    """[T, len(PULSES)]: share of each curve's (mean removed) spectrum at 2…16 cycles per
    phrase — a 2-bar phrase of 3/4 pulses 6 times, of 4/4 8 times, whatever its tempo."""
    spectrum = np.abs(np.fft.rfft(curves - curves.mean(axis=1, keepdims=True), axis=1))
    picked = spectrum[:, PULSES]
    return picked / np.maximum(picked.sum(axis=1, keepdims=True), 1e-9)


def music_side(mel: np.ndarray, rhythm: np.ndarray, tempo_bpm: float) -> np.ndarray:
    """[T, 3 + 2·15] music-side inputs of a song's phrases for T beside u: log2 of the blind
    analysis' tempo (the 128-frame resize of the mel removes it; the descriptor matcher reads
    it too), each phrase's mean mel level and its level rank inside the song (0 = quietest),
    then the pulse spectra (:func:`pulse_spectrum`) of its rhythm curve and of its mel
    loudness over time (the meter, which the blind analysis' bars may have wrong)."""
    mel = np.asarray(mel, np.float32)
    level = mel.reshape(len(mel), -1).mean(axis=1)
    n = len(level)
    rank = np.argsort(np.argsort(level)) / max(n - 1, 1) if n > 1 else np.full(n, 0.5)
    tempo = np.full(n, np.log2(max(float(tempo_bpm), 1.0)))
    loudness = mel.mean(axis=1)  # [T, time]
    return np.concatenate([np.stack([tempo, level, rank], axis=1),
                           pulse_spectrum(np.asarray(rhythm, np.float32)),
                           pulse_spectrum(loudness)], axis=1).astype(np.float32)


def music_inputs(song: Song) -> np.ndarray:
    """[T, M] the whole music-side row of each phrase of ``song``: :func:`music_side` then
    :func:`cue_columns` of :func:`music_cues` (the layout training used)."""
    features = song.features
    return np.concatenate([music_side(features.mel, features.rhythm, song.analysis.tempo_bpm),
                           cue_columns(music_cues(song))], axis=1).astype(np.float32)
