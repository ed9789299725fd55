"""The training data set on disk: songs analysed and featurised once, as memory-mapped shards.

``prepare_dataset`` reads a labeled folder (songs + their timeline JSON exports: a
choreographer's edited project is training data as it stands) and an unlabeled folder (songs),
and writes into the cache folder:

* ``shards/<key[:2]>/<key>/`` per song: ``mel.npy`` [T,128,128], ``melody.npy`` [T,128],
  ``rhythm.npy`` [T,128] (float16, read back with ``np.load(mmap_mode="r")``) and ``meta.json``
  (written last, so a shard with ``meta.json`` is complete). Phrases are rows in song order.
  ``key`` hashes the version of the analysis code, the audio content hash and the phrase
  boundaries, so an unchanged song is never recomputed (resumable) and an edited one is.
* ``dataset.json``: the songs, which are labeled, their dance ids per phrase and the library
  they refer to. Labels live here, not in the shards, so relabeling costs nothing.

Labeled songs use the timeline's phrase boundaries and beats (what the choreographer saw and
edited); unlabeled songs are analysed and segmented automatically. Songs are processed in
parallel worker processes, and under ``torchrun`` rank r takes songs r, r+W, … .
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import multiprocessing
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from choreo_studio.core.atomic_io import write_atomic, write_json_atomic
from choreo_studio.core.audio.load import file_content_hash
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.export.timeline import Timeline, read_timeline
from choreo_studio.core.phrases.features import phrase_features
from choreo_studio.core.phrases.segmentation import segmentation_key
from choreo_studio.core.progress import ProgressFn, no_progress

FEATURE_VERSION = "features-v1"
DATASET_FORMAT_VERSION = 1
DATASET_FILE = "dataset.json"
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aac", ".aiff", ".aif")
ARRAY_NAMES = ("mel", "melody", "rhythm")


@dataclass(frozen=True)
class SongSource:
    """One song to cache: its audio file and, when labeled, its timeline."""

    audio_path: str
    content_hash: str
    timeline_path: str | None = None

    @property
    def labeled(self) -> bool:
        return self.timeline_path is not None


def audio_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Audio files under ``folder`` (recursively), sorted by path."""
    root = Path(folder)
    if not root.is_dir():
        raise ChoreoError(f"{root}: not a folder of songs — check the path")
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def find_labeled_songs(folder: str | os.PathLike[str]) -> list[SongSource]:
    """Pair every timeline JSON under ``folder`` with the audio file it was made from.

    A timeline belongs to the audio file whose content hash equals its ``song.hash``; audio
    without a timeline is ignored here (put it in the unlabeled folder).
    """
    root = Path(folder)
    by_hash = {file_content_hash(p): p for p in audio_files(root)}
    sources = []
    for path in sorted(root.rglob("*.json")):
        try:
            timeline = read_timeline(path)
        except ChoreoError:
            obj = _json_or_none(path)
            if isinstance(obj, dict) and obj.get("kind") == "choreo-timeline":
                raise
            continue  # not a timeline (e.g. an analysis or a config)
        audio = by_hash.get(timeline.song_hash)
        if audio is None:
            raise ChoreoError(
                f"{path}: no audio file in {root} has the content of song "
                f"{timeline.song_name or timeline.song_hash[:12]!r} — put the song it was made "
                "from next to it"
            )
        sources.append(SongSource(str(audio), timeline.song_hash, str(path)))
    if not sources:
        raise ChoreoError(
            f"{root}: no timeline JSON files — export each song's timeline from Choreo Studio "
            "(or `choreo auto`) next to the song"
        )
    return sources


def find_unlabeled_songs(folder: str | os.PathLike[str]) -> list[SongSource]:
    """Every audio file under ``folder`` as an unlabeled song."""
    return [SongSource(str(p), file_content_hash(p)) for p in audio_files(folder)]


def _json_or_none(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def analysis_version() -> str:
    """Version of the analysis, segmentation and feature code (a change invalidates shards)."""
    from choreo_studio.core.phrases.feature_cache import CACHE_VERSION
    from choreo_studio.core.user_cache import code_hash

    segmenter = code_hash("choreo_studio.core.phrases.segmentation", length=8)
    return f"{FEATURE_VERSION}-{CACHE_VERSION}-{segmenter}"


def shard_key(source: SongSource, timeline: Timeline | None) -> str:
    """Content hash of what a shard's features depend on: code version, audio, and the
    timeline's cut (:func:`segmentation_key`, the one key of a segmentation)."""
    if timeline is None:
        cut = "auto"
    else:
        cut = segmentation_key(timeline.beats_s, timeline.music_phrases())
    text = f"{analysis_version()}|{source.content_hash}|{cut}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def shard_dir(cache_dir: Path, key: str) -> Path:
    return cache_dir / "shards" / key[:2] / key


def compute_song_shard(source: SongSource, cache_dir: str) -> dict[str, Any]:
    """Analyse one song, compute its phrase features and write its shard; returns its entry.

    Runs in a worker process. Skips the work when the shard is already complete.
    """
    from choreo_studio.core.audio.spectral import compute_spectra
    from choreo_studio.core.phrases.song import open_song

    timeline = read_timeline(source.timeline_path) if source.timeline_path else None
    key = shard_key(source, timeline)
    folder = shard_dir(Path(cache_dir), key)
    meta_path = folder / "meta.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        return _entry(source, timeline, key, meta)
    song = open_song(source.audio_path, cache_dir=str(Path(cache_dir) / "songs"))
    if timeline is None:
        features = song.features
        phrases = song.phrases
    else:
        phrases = timeline.music_phrases()
        analysis = replace(song.analysis, beats_s=timeline.beats_s, downbeats=timeline.downbeats)
        spectra = compute_spectra(song.audio.mono())
        features = phrase_features(spectra.logmel_db, spectra.fps, analysis, phrases)
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in features.arrays().items():
        write_atomic(folder / f"{name}.npy",
                     lambda fh, a=array: np.save(fh, a.astype(np.float16), allow_pickle=False))
    meta = {
        "format_version": DATASET_FORMAT_VERSION,
        "feature_version": FEATURE_VERSION,
        "song_hash": source.content_hash,
        "name": Path(source.audio_path).name,
        "n_phrases": len(phrases),
        "tempo_bpm": float(song.analysis.tempo_bpm),
        "phrases_s": [[round(p.start_s, 4), round(p.end_s, 4)] for p in phrases],
        "section_labels": [p.section_label for p in phrases],
    }
    write_json_atomic(meta_path, meta)
    return _entry(source, timeline, key, meta)


def _entry(
    source: SongSource, timeline: Timeline | None, key: str, meta: dict[str, Any]
) -> dict[str, Any]:
    return {
        "key": key,
        "name": meta["name"],
        "song_hash": source.content_hash,
        "n_phrases": int(meta["n_phrases"]),
        "labeled": timeline is not None,
        "dance_ids": [p.dance_id for p in timeline.phrases] if timeline is not None else None,
        "library_fingerprint": timeline.library_fingerprint if timeline is not None else None,
    }


def prepare_dataset(
    cache_dir: str | os.PathLike[str],
    labeled: Sequence[SongSource],
    unlabeled: Sequence[SongSource],
    *,
    workers: int = 1,
    rank: int = 0,
    world_size: int = 1,
    progress: ProgressFn = no_progress,
) -> list[dict[str, Any]]:
    """Compute this rank's missing shards (in ``workers`` processes) and return its entries.

    Rank 0 writes ``dataset.json`` with :func:`write_manifest` once every rank is done.
    """
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    sources = _unique_sources(labeled, unlabeled)[rank::world_size]
    entries: list[dict[str, Any]] = [{}] * len(sources)
    if workers <= 1:
        for i, source in enumerate(sources):
            entries[i] = _compute_or_explain(source, str(cache))
            progress((i + 1) / max(len(sources), 1), f"features of {Path(source.audio_path).name}")
        return entries
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = {pool.submit(_compute_or_explain, s, str(cache)): i
                   for i, s in enumerate(sources)}
        for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            entries[futures[future]] = future.result()
            name = Path(sources[futures[future]].audio_path).name
            progress(done / len(sources), f"features of {name}")
    return entries


def _compute_or_explain(source: SongSource, cache_dir: str) -> dict[str, Any]:
    """:func:`compute_song_shard` with the song named in any user-facing error."""
    try:
        return compute_song_shard(source, cache_dir)
    except ChoreoError as exc:
        message = str(exc)
        if source.audio_path not in message:
            message = f"{source.audio_path}: {message}"
        raise ChoreoError(message) from None


def _unique_sources(
    labeled: Sequence[SongSource], unlabeled: Sequence[SongSource]
) -> list[SongSource]:
    """Labeled songs first, then unlabeled ones not already labeled (a song is used once)."""
    seen = {s.content_hash for s in labeled}
    if len(seen) != len(labeled):
        raise ChoreoError("the labeled folder holds two timelines of the same song — keep one")
    rest, extra = [], set()
    for s in unlabeled:
        if s.content_hash not in seen and s.content_hash not in extra:
            rest.append(s)
            extra.add(s.content_hash)
    return list(labeled) + rest


def write_manifest(
    cache_dir: str | os.PathLike[str],
    entries: Sequence[dict[str, Any]],
    library_name: str,
    library_fingerprint: str,
) -> Path:
    """Write ``dataset.json`` (songs in order, labeled first) for the given library."""
    return write_json_atomic(
        Path(cache_dir) / DATASET_FILE,
        {
            "format_version": DATASET_FORMAT_VERSION,
            "kind": "choreo-training-set",
            "feature_version": FEATURE_VERSION,
            "library": {"name": library_name, "fingerprint": library_fingerprint},
            "songs": list(entries),
        },
    )


def read_manifest(cache_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``dataset.json``; a missing or foreign file is a one-line error."""
    path = Path(cache_dir) / DATASET_FILE
    obj = _json_or_none(path)
    if not isinstance(obj, dict) or obj.get("kind") != "choreo-training-set":
        raise ChoreoError(
            f"{path}: no training set here — run `choreo train prepare` with this cache first"
        )
    if obj.get("format_version") != DATASET_FORMAT_VERSION:
        raise ChoreoError(f"{path}: training-set format_version {obj.get('format_version')!r} "
                          "is not supported — run `choreo train prepare` again")
    return obj


def load_shard_arrays(cache_dir: str | os.PathLike[str], key: str) -> dict[str, np.ndarray]:
    """A song's feature arrays, memory-mapped read-only (never unpickled)."""
    folder = shard_dir(Path(cache_dir), key)
    if not (folder / "meta.json").is_file():
        raise ChoreoError(f"{folder}: feature shard is missing or incomplete — run "
                          "`choreo train prepare` again (it resumes)")
    return {
        name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
        for name in ARRAY_NAMES
    }


if __name__ == "__main__":
    import sys

    from choreo_studio.training.commands.train import main_stage

    sys.exit(main_stage("prepare"))
