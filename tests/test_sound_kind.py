"""Music or not: held notes count as music, gliding voices and noise do not (known answers)."""

from __future__ import annotations

import numpy as np
from choreo_studio.core.analysis import sound_kind
from choreo_studio.core.audio.spectral import compute_spectra

from tests.audio_fixtures import SR

FPS = 100.0


def test_held_notes_are_steady_and_glides_are_not():
    voiced = np.ones(400, dtype=bool)
    notes = np.repeat([220.0, 247.0, 262.0, 294.0], 100)  # four notes of one second
    glide = 150.0 * 2.0 ** (np.sin(np.arange(400) / 8.0))  # an octave up and down, 2 Hz
    assert sound_kind.pitch_steadiness(notes, voiced, FPS) > 0.9
    assert sound_kind.pitch_steadiness(glide, voiced, FPS) < 0.1
    assert sound_kind.pitch_steadiness(notes, np.zeros(400, dtype=bool), FPS) == 0.0


def test_noise_is_flat_and_a_chord_is_not():
    t = np.arange(4 * SR) / SR
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)).astype(np.float32)
    noise = np.random.default_rng(0).standard_normal(t.size).astype(np.float32)
    assert sound_kind.spectral_flatness(compute_spectra(0.2 * chord)) < 0.01
    assert sound_kind.spectral_flatness(compute_spectra(0.1 * noise)) > 0.5
