"""On-disk cache of a song's analysis, song-level log-mel and phrase features, by content hash.

Layout: ``<cache_dir>/<version>-<content hash>/analysis.json``, ``logmel.npz`` (float16, lets
features be recomputed for any new segmentation without decoding), ``features-<key>.npz`` per
phrase segmentation (``key`` = :func:`segmentation_key`) and ``audio.json`` + ``envelope.npz``
(the file's rate, channels, length and waveform envelope). ``<cache_dir>/files/<fingerprint>.json``
maps a song file's cheap fingerprint (size, mtime and three 64 KiB blocks:
:func:`~choreo_studio.core.audio.load.file_fingerprint`) to its content hash, so
:func:`cached_audio` finds a cached song without reading or decoding the file. The fingerprint
is trusted without a full-hash check: a file rewritten with the same size, mtime and those
blocks is the one case it misses. Arrays load with ``allow_pickle=False``; a damaged entry is
simply recomputed.
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
from choreo_studio.core.analysis.learned_activations import weights_path
from choreo_studio.core.analysis.music_analysis import MusicAnalysis
from choreo_studio.core.atomic_io import write_bytes_atomic, write_json_atomic
from choreo_studio.core.audio.envelope import WaveEnvelope
from choreo_studio.core.audio.load import Audio, file_fingerprint
from choreo_studio.core.errors import ChoreoError, PathError
from choreo_studio.core.phrases.features import SongFeatures
from choreo_studio.core.phrases.segmentation import MusicPhrase, segmentation_key
from choreo_studio.core.user_cache import cache_root, code_hash

ANALYSIS_MODULES = (
    *(f"choreo_studio.core.analysis.{name}" for name in (
        "analyzer", "activations", "bar_tracking", "beat_tracking", "learned_activations", "meter",
        "melody", "sections", "sound_kind", "music_analysis")),
    "choreo_studio.core.audio.spectral", "choreo_studio.core.audio.stft",
    "choreo_studio.core.audio.load", "choreo_studio.core.audio.decode",
    "choreo_studio.core.audio.mpeg_frames", "choreo_studio.core.audio.envelope",
    "choreo_studio.core.numeric", "choreo_studio.core.phrases.features",
)
"""The modules whose code makes a cached analysis."""


def analysis_version(weights: Path) -> str:
    """Version of the analysis made by this code with the beat network ``weights``."""
    return code_hash(*ANALYSIS_MODULES, length=8, data=(weights,))


# Entries made by another version of the analysis code or with other weights are never reused.
CACHE_VERSION = analysis_version(weights_path())


_ARRAY_FIELDS = ("beats_s", "downbeats", "onsets_s", "onset_env", "melody_hz", "melody_voiced")
"""MusicAnalysis.to_dict fields the cache keeps in an npz beside analysis.json."""

MAX_ANALYSIS_JSON = 16 << 20
"""Largest cached analysis.json read (its arrays are in the npz: a few KB in practice)."""

_WARNED = False
"""Whether this process already said the cache cannot be written (said once, not per file)."""


class FeatureCache:
    """Read and write one song's cached analysis and features."""

    def __init__(self, content_hash: str, cache_dir: str | os.PathLike[str] | None = None):
        self.root = Path(cache_dir) if cache_dir is not None else cache_root()
        self.content_hash = content_hash
        self.folder = self.root / f"{CACHE_VERSION}-{content_hash}"

    def has_logmel(self) -> bool:
        """Whether a log-mel is stored (read only when features must be recomputed)."""
        return (self.folder / "logmel.npz").is_file()

    def load_audio(self, path: str | os.PathLike[str]) -> Audio | None:
        """The song file at ``path`` as the cache knows it (format, length, envelope), not
        decoded; None when the entry is missing or damaged."""
        info = _read_json_dict(self.folder / "audio.json")
        try:
            sr, channels, frames = (int(info[k]) for k in ("sr", "n_channels", "n_frames"))
        except (KeyError, TypeError, ValueError):
            return None
        data = self._load_npz("envelope.npz")
        envelope = None
        if data is not None and {"hi", "lo", "bucket"} <= set(data):
            envelope = WaveEnvelope(data["hi"].astype(np.float32), data["lo"].astype(np.float32),
                                    sr, int(data["bucket"]))
        if sr <= 0 or channels <= 0 or frames <= 0 or envelope is None:
            return None
        return Audio.unloaded(path, sr, channels, frames, self.content_hash, envelope)

    def save_audio(self, audio: Audio) -> None:
        """Record a song file's format, length and envelope (once), and its fingerprint ->
        content hash (every time: a touched file has a new fingerprint)."""
        if audio.path is None or audio.content_hash.startswith("mem-"):
            return
        if self.load_audio(audio.path) is None:
            env = audio.envelope
            self._save_npz("envelope.npz", hi=env.hi.astype(np.float16),
                           lo=env.lo.astype(np.float16), bucket=np.int64(env.bucket))
            info = {"sr": audio.sr, "n_channels": audio.n_channels, "n_frames": audio.n_frames}
            self._store(lambda: write_json_atomic(self.folder / "audio.json", info, indent=None))
        try:
            fingerprint = file_fingerprint(audio.path)
        except OSError:
            return
        self._store(lambda: write_json_atomic(_index_file(self.root, fingerprint),
                                              {"content_hash": audio.content_hash}, indent=None))

    def load_analysis(self) -> MusicAnalysis | None:
        """The cached analysis: its fields from analysis.json, its long arrays from
        analysis-arrays.npz (parsing them as JSON lists was most of a warm open)."""
        data = _read_json_dict(self.folder / "analysis.json", max_bytes=MAX_ANALYSIS_JSON)
        arrays = self._load_npz("analysis-arrays.npz") or {}
        try:
            analysis = MusicAnalysis.from_dict({**data, **arrays}, "cached analysis")
        except ChoreoError:
            return None
        beats = np.asarray(analysis.beats_s, dtype=np.float64)
        if beats.size < 2 or not np.isfinite(beats).all() or not (np.diff(beats) > 0).all():
            return None  # a damaged entry (only analyses with a beat grid are cached): redone
        return analysis

    def save_analysis(self, analysis: MusicAnalysis) -> None:
        """Store ``analysis`` in its saved form (to_dict's rounding), long arrays as npz."""
        data = analysis.to_dict()
        arrays = {k: np.asarray(data.pop(k)) for k in _ARRAY_FIELDS}
        self._save_npz("analysis-arrays.npz", **arrays)
        self._store(lambda: write_json_atomic(self.folder / "analysis.json", data, indent=None))

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


def _index_file(root: Path, fingerprint: str) -> Path:
    """Where the content hash of the file with ``fingerprint`` is recorded."""
    return root / "files" / f"{fingerprint}.json"


def _read_json_dict(path: Path, max_bytes: int = 1 << 20) -> dict:
    """A small cache JSON object; {} when it is missing or damaged (the entry is then redone)."""
    from choreo_studio.core.json_files import read_json_file

    try:
        data = read_json_file(path, max_bytes=max_bytes)
    except (ChoreoError, OSError):
        return {}
    return data if isinstance(data, dict) else {}


def cached_audio(path: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None
                 ) -> Audio | None:
    """The song file at ``path`` as an undecoded :class:`Audio` (with its envelope) when the
    cache holds its analysis under this version of the code, found by the file's fingerprint
    without reading the whole file; None otherwise."""
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    try:
        entry = _read_json_dict(_index_file(root, file_fingerprint(path)))
    except OSError:
        return None
    content_hash = entry.get("content_hash")
    if not isinstance(content_hash, str) or not content_hash.isalnum():
        return None
    cache = FeatureCache(content_hash, root)
    if not (cache.folder / "analysis.json").is_file() or not cache.has_logmel():
        return None
    return cache.load_audio(path)

