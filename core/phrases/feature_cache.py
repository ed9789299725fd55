"""On-disk cache of a song's analysis, song-level log-mel and phrase features, by content hash.

Layout: ``<cache_dir>/<content hash>/analysis.json``, ``logmel.npz`` (float16, lets features
be recomputed for any new segmentation without decoding) and ``features-<key>.npz`` per phrase
segmentation (``key`` = :func:`segmentation_key`). Arrays load with ``allow_pickle=False``; a
damaged entry is simply recomputed.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from choreo_studio.core.analysis.music_analysis import MusicAnalysis
from choreo_studio.core.atomic_io import write_bytes_atomic
from choreo_studio.core.errors import ChoreoError, PathError
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


_WARNED = False
"""Whether this process already said the cache cannot be written (said once, not per file)."""


class FeatureCache:
    """Read and write one song's cached analysis and features."""

    def __init__(self, content_hash: str, cache_dir: str | os.PathLike[str] | None = None):
        root = Path(cache_dir) if cache_dir is not None else cache_root()
        self.folder = root / f"{CACHE_VERSION}-{content_hash}"

    def load_analysis(self) -> MusicAnalysis | None:
        try:
            analysis = MusicAnalysis.load(self.folder / "analysis.json")
        except (ChoreoError, OSError):
            return None
        beats = np.asarray(analysis.beats_s, dtype=np.float64)
        if beats.size < 2 or not np.isfinite(beats).all() or not (np.diff(beats) > 0).all():
            return None  # a damaged entry (only analyses with a beat grid are cached): redone
        return analysis

    def save_analysis(self, analysis: MusicAnalysis) -> None:
        self._store(lambda: analysis.save(self.folder / "analysis.json"))

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
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error):
            with contextlib.suppress(OSError):  # damaged (cut short): removed and rebuilt
                (self.folder / name).unlink(missing_ok=True)
            return None

    def _save_npz(self, name: str, **arrays: np.ndarray) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        self._store(lambda: write_bytes_atomic(self.folder / name, buffer.getvalue()))

    def _store(self, write: Callable[[], object]) -> None:
        """Run a cache write; an unwritable cache warns once and the command goes on without it."""
        global _WARNED
        try:
            write()
        except PathError as exc:
            if not _WARNED:
                _WARNED = True
                print(f"warning: not caching — {exc} (or set CHOREO_CACHE_DIR)", file=sys.stderr)

