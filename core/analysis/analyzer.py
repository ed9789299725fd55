"""The analysis pipeline: Audio in, MusicAnalysis out (tempo, beats, meter, onsets, melody…).

One STFT feeds every stage. Music with a weak pulse (rubato, free time) still gets its best
grid, with a low ``beat_confidence`` and the alternatives to choose from; only sound that has
neither a pulse nor held notes (speech, noise; see ``sound_kind``) and songs shorter than two
bars are refused with a one-line ChoreoError, since phrases cannot be cut from them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from choreo_studio.core.analysis import (
    bar_tracking,
    beat_tracking,
    melody,
    meter,
    sections,
    sound_kind,
)
from choreo_studio.core.analysis.music_analysis import MusicAnalysis
from choreo_studio.core.audio.load import Audio
from choreo_studio.core.audio.spectral import Spectra, compute_spectra
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.progress import ProgressFn, no_progress

MIN_PULSE_CLARITY = 0.1  # envelope autocorrelation, 1-4 beat periods: under it, only music
# (held notes) is given a grid; rubato pieces reach 0.02-0.07, speech 0.02-0.12
ONSET_DELTA = 0.07  # peak-picking threshold on the unit-scaled onset envelope


def analyze_audio(
    audio: Audio,
    progress: ProgressFn = no_progress,
    *,
    bpm: float | None = None,
    meter_text: str | None = None,
    tempo_hint: float | None = None,
    learned_beats: bool = True,
) -> tuple[MusicAnalysis, Spectra]:
    """Analyse ``audio``; also returns the spectra (log-mel for features) to avoid recomputing.

    ``bpm`` forces the tempo (±8 % drift), ``meter_text`` the meter ("3/4", "6/8"…) and
    ``tempo_hint`` only leans the tempo prior towards a value: the user's choice of reading.
    ``learned_beats`` adds the learned beat/downbeat activations to the onset evidence where
    the sound is music-like (see ``activations``; False: the onsets alone, for comparison).
    """
    _check_tempo(bpm)
    _check_tempo(tempo_hint)
    spec = meter.parse_meter(meter_text) if meter_text else None
    progress(0.0, "resampling")
    y = audio.mono()
    progress(0.1, "spectrogram")
    spectra = compute_spectra(y)
    del y  # a streamed song's signal is not kept by its Audio: freed here (320 MB an hour)
    progress(0.3, "melody")
    melody_hz, voiced = melody.extract_melody(spectra)
    spectra.drop_power()  # later stages read chroma and the log-mel: 0.6 GB less an hour
    progress(0.4, "beats, tempo and meter")
    grid = beat_grid(audio, spectra, bpm=bpm, spec=spec, tempo_hint=tempo_hint,
                     learned=learned_beats,
                     is_music=lambda: sound_kind.is_music_like(spectra, melody_hz, voiced,
                                                               spectra.fps))
    beats_s, downbeats = grid.beats_s, grid.downbeats
    if downbeats.size < 2:
        raise ChoreoError(
            f"{audio.name}: song is shorter than two bars ({audio.duration_s:.1f} s) — give a "
            "longer song"
        )
    progress(0.7, "onsets")
    onsets_s = detect_onsets(spectra)
    progress(0.8, "sections")
    secs = sections.find_sections(spectra, beats_s, downbeats, audio.duration_s)
    progress(1.0, "analysis done")
    analysis = MusicAnalysis(
        song_hash=audio.content_hash,
        duration_s=audio.duration_s,
        tempo_bpm=grid.tempo_bpm,
        beats_s=beats_s,
        downbeats=downbeats,
        beats_per_bar=grid.beats_per_bar,
        onset_env=spectra.onset_env,
        onset_fps=spectra.fps,
        onsets_s=onsets_s,
        melody_hz=melody_hz,
        melody_voiced=voiced,
        melody_fps=spectra.fps,
        sections=secs,
        beat_tracker=beat_tracking.tracker_name(learned_beats),
        **_grid_fields(grid),
    )
    return analysis, spectra


def beat_grid(
    audio: Audio,
    spectra: Spectra,
    *,
    bpm: float | None = None,
    spec: meter.MeterSpec | None = None,
    tempo_hint: float | None = None,
    learned: bool = True,
    is_music: Callable[[], bool] = lambda: True,
) -> meter.Grid:
    """Decode tempo, beats, meter and downbeats jointly; refuse sound with a weak pulse only
    when ``is_music()``, asked then only, says it is not music (by default it is: a song
    already analysed is having its grid redone)."""
    meters = (spec.decode_meter,) if spec is not None else meter.DEFAULT_METERS
    decoded = beat_tracking.decode(spectra, meters, bpm=bpm, tempo_hint=tempo_hint,
                                   learned=learned)
    frames = decoded.paths[0].frames if decoded.paths else np.zeros(0, dtype=np.int64)
    beats_s = beat_tracking.beat_times(decoded, frames)
    clarity = _check_pulse(audio, spectra, beat_tracking.global_tempo(beats_s), beats_s,
                           forced=bpm is not None, is_music=is_music)
    return meter.choose_grid(decoded, spec, clarity)


def reading_grid(audio: Audio, spectra: Spectra, beats_s: np.ndarray, step: float,
                 spec: meter.MeterSpec, at_s: float | None) -> meter.Grid:
    """The grid of the tempo reading ``step`` of ``beats_s`` in ``spec``'s meter, a bar
    starting at the beat nearest ``at_s``; scored (confidence, alternatives) by the decoder's
    model, as the analysis scored it when it offered the reading. The beats it keeps stay where
    they were; those it adds between them are refined onto their onsets."""
    scoring = beat_tracking.scorer(spectra, (spec.decode_meter,), learned=True)
    at = float(beats_s[0]) if at_s is None else at_s
    phase = meter.reading_phase(beats_s, step, at)
    times = meter.resampled(beats_s, step, phase)
    frames = np.round((times - beat_tracking.ONSET_LATENCY_S) * scoring.activations.fps)
    frames = frames.astype(np.int64)
    first = int(np.argmin(np.abs(times - at)))
    positions = (np.arange(frames.size) - first) % spec.decode_meter
    path = bar_tracking.Path(frames, positions, spec.decode_meter,
                             bar_tracking.path_score(scoring.model, frames, positions))
    clarity = _check_pulse(audio, spectra, beat_tracking.global_tempo(times), times, forced=True)
    grid = meter.choose_grid(dataclasses.replace(scoring, paths=[path]), spec, clarity)
    index = meter.reading_index(beats_s.size, step, phase)
    kept = np.isclose(index, np.round(index))
    beats = np.where(kept, times, grid.beats_s)
    return dataclasses.replace(grid, beats_s=beats, tempo_bpm=beat_tracking.global_tempo(beats),
                               tempo_map=beat_tracking.tempo_map(beats))


def _grid_fields(grid: meter.Grid) -> dict:
    return {
        "time_signature": grid.time_signature,
        "tempo_map": grid.tempo_map,
        "beat_confidence": grid.confidence,
        "alternatives": grid.alternatives,
    }


def reanalyze_beats(
    audio: Audio,
    analysis: MusicAnalysis,
    *,
    tempo_bpm: float | None = None,
    beats_per_bar: int | None = None,
    first_downbeat_s: float | None = None,
    meter_text: str | None = None,
    beat_step: float | None = None,
    progress: ProgressFn = no_progress,
) -> MusicAnalysis:
    """Redo beats, downbeats and sections under the user's corrections (editor API).

    ``tempo_bpm`` re-tracks the beats at that tempo; ``beat_step`` instead takes a tempo
    reading of the current beats (2: half tempo, 0.5: double…; see ``meter.READING_STEPS``),
    the very grid the reading was offered as, tempo map and all; ``beats_per_bar`` (or
    ``meter_text``, e.g. "6/8") forces the meter; ``first_downbeat_s`` makes the beat nearest
    that time a downbeat (bars follow from it). Onsets and melody are kept. Re-segment the
    phrases afterwards with ``phrases.segment``.
    """
    _check_tempo(tempo_bpm)
    if beats_per_bar is not None and not 2 <= beats_per_bar <= 12:
        raise ChoreoError(f"{beats_per_bar} beats per bar is out of range — give 2–12")
    spec = meter.parse_meter(meter_text) if meter_text else None
    if spec is None and beats_per_bar is not None:
        spec = meter.MeterSpec(beats_per_bar)
    progress(0.0, "spectrogram")
    spectra = compute_spectra(audio.mono())
    progress(0.4, "beats, tempo and meter")
    if beat_step is not None:
        grid = reading_grid(audio, spectra, analysis.beats_s, beat_step,
                            spec or meter.parse_meter(analysis.meter), first_downbeat_s)
    elif tempo_bpm is None and spec is None:
        grid = None
    else:
        grid = beat_grid(audio, spectra, bpm=tempo_bpm, spec=spec)
    beats_s, bpb, downbeats = ((analysis.beats_s, analysis.beats_per_bar, analysis.downbeats)
                               if grid is None else
                               (grid.beats_s, grid.beats_per_bar, grid.downbeats))
    progress(0.6, "downbeats")
    if first_downbeat_s is not None:
        first = int(np.argmin(np.abs(beats_s - first_downbeat_s)))
        downbeats = meter.downbeats_from(first, bpb, beats_s.size)
    progress(0.8, "sections")
    secs = sections.find_sections(spectra, beats_s, downbeats, analysis.duration_s)
    progress(1.0, "done")
    # Onsets, melody and the onset envelope do not depend on the beat grid: keep them.
    fields = _grid_fields(grid) if grid is not None else {}
    return dataclasses.replace(
        analysis,
        tempo_bpm=grid.tempo_bpm if grid is not None else analysis.tempo_bpm,
        beats_s=beats_s,
        downbeats=downbeats,
        beats_per_bar=bpb,
        sections=secs,
        beat_tracker=analysis.beat_tracker.removesuffix("+user") + "+user",
        **fields,
    )


def detect_onsets(spectra: Spectra) -> np.ndarray:
    """Onset times (s): peaks of the onset envelope, picked with librosa's onset_detect windows
    (max over 30 ms before, mean over 100 ms either side, 30 ms apart) in numpy."""
    from choreo_studio.core.numeric import peak_pick

    env = spectra.onset_env / (float(np.percentile(spectra.onset_env, 99)) + 1e-9)
    if not env.any() or not np.all(np.isfinite(env)):
        return np.zeros(0)
    ms30, ms100 = (int(np.ceil(s * spectra.sr // spectra.hop)) for s in (0.03, 0.10))
    frames = peak_pick(env, pre_max=ms30, post_max=1, pre_avg=ms100, post_avg=ms100 + 1,
                       delta=ONSET_DELTA, wait=ms30)
    return frames / spectra.fps + beat_tracking.ONSET_LATENCY_S


def _check_tempo(bpm: float | None) -> None:
    lo, hi = meter.READING_BPM
    if bpm is not None and not lo <= bpm <= hi:
        raise ChoreoError(f"tempo {bpm:g} BPM is out of range — give {lo:g}–{hi:g} BPM")


def _check_pulse(
    audio: Audio, spectra: Spectra, tempo: float, beats_s: np.ndarray, forced: bool = False,
    is_music: Callable[[], bool] = lambda: False,
) -> float:
    """Pulse clarity of the grid; refuse audio under two bars, and sound with a weak pulse
    unless a grid is ``forced`` (the user gave a tempo) or ``is_music()`` (held notes)."""
    if audio.duration_s < 2.0:
        raise ChoreoError(
            f"{audio.name}: song is shorter than two bars ({audio.duration_s:.1f} s) — give "
            "a longer song"
        )
    env = beat_tracking.beat_envelope(spectra)
    acf = beat_tracking.autocorrelation(env)
    lag = spectra.fps * 60.0 / tempo if tempo > 0 else 0.0
    # the grid's tempo may drift: the clearest pulse within 4 % of it counts
    clarity = max((beat_tracking.pulse_strength(acf, f * lag) for f in np.linspace(0.96, 1.04, 17)),
                  default=0.0) if lag > 0 else 0.0
    weak = clarity < MIN_PULSE_CLARITY and not forced
    if beats_s.size < 4 or (weak and not is_music()):
        raise ChoreoError(
            f"{audio.name}: no steady beat and no held notes found (speech or noise?) — "
            "choreography needs music; `choreo analyze --bpm N` forces a beat"
        )
    return clarity
