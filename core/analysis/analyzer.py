"""The analysis pipeline: Audio in, MusicAnalysis out (tempo, beats, meter, onsets, melody…).

One STFT feeds every stage. Songs with no steady beat or shorter than two bars are refused with
a one-line ChoreoError, since phrases cannot be cut from them.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from choreo_studio.core.analysis import beat_tracking, melody, meter, sections
from choreo_studio.core.analysis.music_analysis import MusicAnalysis
from choreo_studio.core.audio.load import Audio
from choreo_studio.core.audio.spectral import Spectra, compute_spectra
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.progress import ProgressFn, no_progress

MIN_PULSE_CLARITY = 0.15  # envelope autocorrelation at the beat period; music ≥ 0.5, speech ≤ 0.1
ONSET_DELTA = 0.07  # peak-picking threshold on the unit-scaled onset envelope


def analyze_audio(
    audio: Audio, progress: ProgressFn = no_progress
) -> tuple[MusicAnalysis, Spectra]:
    """Analyse ``audio``; also returns the spectra (log-mel for features) to avoid recomputing."""
    progress(0.0, "resampling")
    y = audio.mono()
    progress(0.1, "spectrogram")
    spectra = compute_spectra(y)
    progress(0.35, "beats")
    tempo, beats_s = beat_tracking.track(spectra)
    _check_pulse(audio, spectra, tempo, beats_s)
    progress(0.5, "meter and downbeats")
    cues = meter.beat_cues(spectra, beats_s)
    beats_per_bar, downbeats = meter.meter_and_downbeats(cues)
    if downbeats.size < 2:
        raise ChoreoError(
            f"{audio.name}: song is shorter than two bars ({audio.duration_s:.1f} s) — give a "
            "longer song"
        )
    progress(0.6, "onsets")
    onsets_s = detect_onsets(spectra)
    progress(0.7, "melody")
    melody_hz, voiced = melody.extract_melody(spectra)
    progress(0.8, "sections")
    secs = sections.find_sections(spectra, beats_s, downbeats, audio.duration_s)
    progress(1.0, "analysis done")
    analysis = MusicAnalysis(
        song_hash=audio.content_hash,
        duration_s=audio.duration_s,
        tempo_bpm=tempo,
        beats_s=beats_s,
        downbeats=downbeats,
        beats_per_bar=beats_per_bar,
        onset_env=spectra.onset_env,
        onset_fps=spectra.fps,
        onsets_s=onsets_s,
        melody_hz=melody_hz,
        melody_voiced=voiced,
        melody_fps=spectra.fps,
        sections=secs,
        beat_tracker=beat_tracking.TRACKER_NAME,
    )
    return analysis, spectra


def reanalyze_beats(
    audio: Audio,
    analysis: MusicAnalysis,
    *,
    tempo_bpm: float | None = None,
    beats_per_bar: int | None = None,
    first_downbeat_s: float | None = None,
    progress: ProgressFn = no_progress,
) -> MusicAnalysis:
    """Redo beats, downbeats and sections under the user's corrections (editor API).

    ``tempo_bpm`` re-tracks the beats at that tempo; ``beats_per_bar`` forces the meter;
    ``first_downbeat_s`` makes the beat nearest that time a downbeat (bars follow from it).
    Onsets and melody are kept. Re-segment the phrases afterwards with ``phrases.segment``.
    """
    if tempo_bpm is not None and not 30.0 <= tempo_bpm <= 300.0:
        raise ChoreoError(f"tempo {tempo_bpm:g} BPM is out of range — give 30–300 BPM")
    if beats_per_bar is not None and not 2 <= beats_per_bar <= 12:
        raise ChoreoError(f"{beats_per_bar} beats per bar is out of range — give 2–12")
    progress(0.0, "spectrogram")
    spectra = compute_spectra(audio.mono())
    progress(0.4, "beats")
    if tempo_bpm is None:
        tempo, beats_s = analysis.tempo_bpm, analysis.beats_s
    else:
        tempo, beats_s = beat_tracking.track(spectra, tempo_bpm=tempo_bpm)
    progress(0.6, "downbeats")
    if first_downbeat_s is not None:
        bpb = beats_per_bar or analysis.beats_per_bar
        first = int(np.argmin(np.abs(beats_s - first_downbeat_s)))
        downbeats = meter.downbeats_from(first, bpb, beats_s.size)
    elif beats_per_bar is not None or tempo_bpm is not None:
        bpb, downbeats = meter.meter_and_downbeats(
            meter.beat_cues(spectra, beats_s), beats_per_bar
        )
    else:
        bpb, downbeats = analysis.beats_per_bar, analysis.downbeats
    progress(0.8, "sections")
    secs = sections.find_sections(spectra, beats_s, downbeats, analysis.duration_s)
    progress(1.0, "done")
    # Onsets, melody and the onset envelope do not depend on the beat grid: keep them.
    return dataclasses.replace(
        analysis,
        tempo_bpm=tempo,
        beats_s=beats_s,
        downbeats=downbeats,
        beats_per_bar=bpb,
        sections=secs,
        beat_tracker=analysis.beat_tracker + "+user",
    )


def detect_onsets(spectra: Spectra) -> np.ndarray:
    """Onset times (s): peaks of the onset envelope (librosa's peak picker)."""
    import librosa

    env = spectra.onset_env / (float(np.percentile(spectra.onset_env, 99)) + 1e-9)
    frames = librosa.onset.onset_detect(
        onset_envelope=env, sr=spectra.sr, hop_length=spectra.hop, delta=ONSET_DELTA,
        units="frames", normalize=False,
    )
    return frames / spectra.fps + beat_tracking.ONSET_LATENCY_S


def _check_pulse(audio: Audio, spectra: Spectra, tempo: float, beats_s: np.ndarray) -> None:
    """Refuse audio with no steady beat (speech, ambient) and audio under two bars."""
    if audio.duration_s < 2.0:
        raise ChoreoError(
            f"{audio.name}: song is shorter than two bars ({audio.duration_s:.1f} s) — give "
            "a longer song"
        )
    env = beat_tracking.beat_envelope(spectra)
    acf = beat_tracking.autocorrelation(env)
    clarity = beat_tracking.pulse_strength(acf, spectra.fps * 60.0 / tempo) if tempo > 0 else 0.0
    if beats_s.size < 4 or clarity < MIN_PULSE_CLARITY:
        raise ChoreoError(
            f"{audio.name}: no steady beat found (speech, ambient or free-time audio?) — "
            "choreography needs music with a beat"
        )
