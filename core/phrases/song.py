"""A song opened for choreography: its audio, analysis, phrases and per-phrase features.

:func:`open_song` builds a :class:`Song` from a file (or an in-memory :class:`Audio`) and caches
the analysis, the song's log-mel, the features and the file's waveform envelope by content hash,
so opening the same song file again reads the cache and decodes nothing: its ``audio`` decodes
on first use of ``samples`` (playback), and ``audio.envelope`` draws the waveform at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from choreo_studio.core.analysis.music_analysis import MusicAnalysis
from choreo_studio.core.audio.load import Audio, stream_audio
from choreo_studio.core.phrases.feature_cache import FeatureCache, cached_audio
from choreo_studio.core.phrases.features import SongFeatures, phrase_features
from choreo_studio.core.phrases.segmentation import MusicPhrase, SegmentConstraints, segment
from choreo_studio.core.progress import ProgressFn, no_progress, sub_progress


@dataclass
class Song:
    """Everything the engine and the editor need about one song."""

    audio: Audio
    analysis: MusicAnalysis
    phrases: list[MusicPhrase]
    features: SongFeatures
    constraints: SegmentConstraints = field(default_factory=SegmentConstraints)
    from_cache: bool = False

    @property
    def content_hash(self) -> str:
        return self.audio.content_hash


def open_song(
    source: str | os.PathLike[str] | Audio,
    progress: ProgressFn = no_progress,
    cache_dir: str | os.PathLike[str] | None = None,
    constraints: SegmentConstraints | None = None,
    use_cache: bool = True,
) -> Song:
    """Load, analyse, segment and featurise a song (cached by content hash).

    A file whose analysis is cached is found by its fingerprint and not decoded; otherwise it
    is streamed to the mono analysis signal (the native samples decode only when used).
    """
    progress(0.0, "loading audio")
    audio = source if isinstance(source, Audio) else None
    known = False  # found through the cache's fingerprint index
    if audio is None:
        audio = cached_audio(source, cache_dir) if use_cache else None
        known = audio is not None
        audio = audio or stream_audio(Path(source))
    cache = FeatureCache(audio.content_hash, cache_dir) if use_cache else None
    analysis = cache.load_analysis() if cache else None
    from_cache = analysis is not None and cache is not None and cache.has_logmel()
    logmel = None
    if not from_cache:
        from choreo_studio.core.analysis.analyzer import analyze_audio

        analysis, spectra = analyze_audio(audio, sub_progress(progress, 0.05, 0.9))
        # the saved form (rounded times): a cached re-open then yields identical phrases
        analysis = MusicAnalysis.from_dict(analysis.to_dict())
        logmel = (spectra.logmel_db, spectra.fps)
        if cache:
            cache.save_analysis(analysis)
            cache.save_logmel(*logmel)
    if cache and not known:
        cache.save_audio(audio)  # the next open of this file finds it without decoding
    return resegment(audio, analysis, constraints, progress, cache, logmel, from_cache)


def resegment(
    audio: Audio,
    analysis: MusicAnalysis,
    constraints: SegmentConstraints | None = None,
    progress: ProgressFn = no_progress,
    cache: FeatureCache | None = None,
    logmel: tuple[np.ndarray, float] | None = None,
    from_cache: bool = False,
) -> Song:
    """A Song for ``analysis`` cut under ``constraints`` (the editor calls this after edits)."""
    constraints = constraints or SegmentConstraints()
    progress(0.9, "phrases")
    phrases = segment(analysis, constraints)
    return song_with_phrases(audio, analysis, phrases, constraints, progress, cache, logmel,
                             from_cache)


def song_with_phrases(
    audio: Audio,
    analysis: MusicAnalysis,
    phrases: list[MusicPhrase],
    constraints: SegmentConstraints | None = None,
    progress: ProgressFn = no_progress,
    cache: FeatureCache | None = None,
    logmel: tuple[np.ndarray, float] | None = None,
    from_cache: bool = False,
) -> Song:
    """A Song cut into the given ``phrases`` (a reopened project's, or the segmenter's), with
    their features from the cache or computed from the log-mel."""
    features = cache.load_features(analysis, phrases) if cache else None
    if features is None:
        if logmel is None and cache is not None:
            logmel = cache.load_logmel()
        if logmel is None:
            from choreo_studio.core.audio.spectral import compute_spectra

            spectra = compute_spectra(audio.mono())
            logmel = (spectra.logmel_db, spectra.fps)
        progress(0.95, "phrase features")
        features = phrase_features(logmel[0], logmel[1], analysis, phrases)
        if cache:
            cache.save_features(analysis, phrases, features)
    progress(1.0, "done")
    return Song(audio, analysis, list(phrases), features,
                constraints or SegmentConstraints(), from_cache)
