"""On-disk cache of a song's analysis, song-level log-mel and phrase features, by content hash.

Layout: ``<cache_dir>/<content hash>/analysis.json``, ``logmel.npz`` (float16, lets features
be recomputed for any new segmentation without decoding) and ``features-<key>.npz`` per phrase
segmentation (``key`` = :func:`segmentation_key`). Arrays load with ``allow_pickle=False``; a
damaged entry is simply recomputed.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from choreo_studio.core.analysis.music_analysis import MusicAnalysis
from choreo_studio.core.atomic_io import write_bytes_atomic
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.phrases.features import SongFeatures
from choreo_studio.core.phrases.segmentation import MusicPhrase, segmentation_key
from choreo_studio.core.user_cache import cache_root, code_hash

# The analysis code: entries made by another version of it are never reused.
CACHE_VERSION = code_hash(
    *(f"choreo_studio.core.analysis.{name}" for name in (
        "analyzer", "activations", "bar_tracking", "beat_tracking", "meter", "melody", "sections",
        "music_analysis")),
    "choreo_studio.core.audio.spectral", "choreo_studio.core.audio.stft",
    "choreo_studio.core.audio.load", "choreo_studio.core.audio.mpeg_frames",
    "choreo_studio.core.phrases.features", length=8,
)


class FeatureCache:
    """Read and write one song's cached analysis and features."""

    def __init__(self, content_hash: str, cache_dir: str | os.PathLike[str] | None = None):
        root = Path(cache_dir) if cache_dir is not None else cache_root()
        self.folder = root / f"{CACHE_VERSION}-{content_hash}"

    def load_analysis(self) -> MusicAnalysis | None:
        try:
            return MusicAnalysis.load(self.folder / "analysis.json")
        except (ChoreoError, OSError):
            return None

    def save_analysis(self, analysis: MusicAnalysis) -> None:
        analysis.save(self.folder / "analysis.json")

    def load_logmel(self) -> tuple[np.ndarray, float] | None:
        data = self._load_npz("logmel.npz")
        if data is None or "logmel_db" not in data or "fps" not in data:
            return None
        return data["logmel_db"].astype(np.float32), float(data["fps"])

    def save_logmel(self, logmel_db: np.ndarray, fps: float) -> None:
        self._save_npz("logmel.npz", logmel_db=logmel_db.astype(np.float16), fps=np.float64(fps))

    def load_features(self, analysis: MusicAnalysis, phrases: list[MusicPhrase]
                      ) -> SongFeatures | None:
        data = self._load_npz(f"features-{segmentation_key(analysis.beats_s, phrases)}.npz")
        if data is None or not {"mel", "melody", "rhythm"} <= set(data):
            return None
        return SongFeatures(data["mel"], data["melody"], data["rhythm"])

    def save_features(self, analysis: MusicAnalysis, phrases: list[MusicPhrase],
                      features: SongFeatures) -> None:
        key = segmentation_key(analysis.beats_s, phrases)
        self._save_npz(f"features-{key}.npz", **features.arrays())

    def _load_npz(self, name: str) -> dict[str, np.ndarray] | None:
        try:
            with np.load(self.folder / name, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        except (OSError, ValueError, KeyError):
            return None

    def _save_npz(self, name: str, **arrays: np.ndarray) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        write_bytes_atomic(self.folder / name, buffer.getvalue())

