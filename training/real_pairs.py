"""Real (song, dance) pairs as labelled phrase pairs aligned on the music's beats.

A library imported from takes that come with their songs (``choreo library import``: Tang's
folders, or BVH/glb takes with a same-named song) keeps, per dance phrase, its take, start
frame and the time map ``song_s = offset_s + scale * motion_s`` fitted on the music's beats.
That makes each dance phrase a labelled pair: the stretch of its song it was danced to.

The song is analysed *blind* (no meter or tempo from the dance's genre, as a user's song
would be), and each pair's span is snapped to the nearest beats of that analysis, so the
features a model sees at evaluation are the ones it would see on a new song. The pair's own
count rate next to the analysis tempo flags tempo-octave errors of the analysis. Only the
danced stretch (a few seconds either side) is analysed; the song's undanced parts can be cut
out as unlabelled audio. Shards and ``dataset.json`` use the layout of
:mod:`training.data_cache`, plus ``matcher.npy`` (the descriptor matcher's distances to the
library, for the baseline), ``cues.npy`` (:func:`music_cues`: the matcher's per-phrase music
descriptors and beat counts, which the model's pair cues compare with each dance phrase's) and
per-song ``style``/``group``/tempo fields.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from choreo_studio.core.atomic_io import write_atomic, write_json_atomic
from choreo_studio.core.audio.load import Audio, load_audio
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.library.library import DancePhrase, Library
from choreo_studio.core.phrases.segmentation import MusicPhrase
from choreo_studio.core.progress import ProgressFn, no_progress
from choreo_studio.core.retrieval.music_inputs import (  # noqa: F401 (music_side re-exported)
    cue_columns,
    music_cues,
    music_side,
)
from choreo_studio.training.data_cache import (
    DATASET_FORMAT_VERSION,
    FEATURE_VERSION,
    analysis_version,
    shard_dir,
)

MARGIN_S = 4.0
PAIRS_VERSION = "pairs-v2"  # v2: cues.npy (the matcher's music descriptors) per shard
OCTAVE_TOLERANCE = 0.25  # |log2(analysis / dance tempo)| beyond this is a tempo-octave error


@dataclass(frozen=True)
class PhrasePair:
    """One dance phrase and the song stretch it was danced to (song seconds)."""

    dance_id: str
    counts_s: np.ndarray  # song time of each count, by the take's time map
    end_s: float  # song time of the phrase's end boundary


@dataclass
class DancedSong:
    """A song with the dance phrases danced to it, in song order."""

    take: str
    style: str
    audio_path: Path
    pairs: list[PhrasePair]

    @property
    def span_s(self) -> tuple[float, float]:
        return float(self.pairs[0].counts_s[0]), float(self.pairs[-1].end_s)

    @property
    def dance_bpm(self) -> float:
        """The dance's count rate in song time (median over its phrases of the mean count gap:
        counts sit on whole motion frames, so single gaps jitter by a frame)."""
        gaps = [(p.end_s - p.counts_s[0]) / len(p.counts_s) for p in self.pairs]
        return float(60.0 / np.median(gaps)) if gaps else 0.0


def song_counts_s(phrase: DancePhrase) -> tuple[np.ndarray, float]:
    """Song seconds of a phrase's counts and end boundary, through its source's time map."""
    src = phrase.source
    tm = src.get("time_map")
    if not isinstance(tm, dict) or "start_frame" not in src:
        raise ChoreoError(f"phrase {phrase.id}: no time map in its source — import the takes "
                          "with their songs (`choreo library import`) to train on them")
    fps = float(src.get("fps", phrase.motion.fps))
    frames = int(src["start_frame"]) + np.asarray(phrase.count_frames, np.float64)
    end = int(src["start_frame"]) + phrase.motion.n_frames
    return (float(tm["offset_s"]) + float(tm["scale"]) * frames / fps,
            float(tm["offset_s"]) + float(tm["scale"]) * end / fps)


def _song_path(data_dir: Path, take: str, song: str) -> Path:
    """The song a take was imported with: inside its folder (Tang) or beside it."""
    for folder in (data_dir / take, (data_dir / take).parent):
        if (folder / song).is_file():
            return folder / song
    raise ChoreoError(f"{data_dir}: song {song!r} of take {take!r} not found — pass the folder "
                      "the library was imported from")


def danced_songs(data_dir: str | os.PathLike[str], library: Library) -> list[DancedSong]:
    """The library's phrases grouped by take, each take with its song and pairs in order."""
    root = Path(data_dir)
    by_take: dict[str, list[DancePhrase]] = defaultdict(list)
    for phrase in library.phrases:
        if "take" in phrase.source and "song" in phrase.source:
            by_take[str(phrase.source["take"])].append(phrase)
    if not by_take:
        raise ChoreoError(f"library {library.name!r}: no phrase was cut on a song — import the "
                          f"takes of {root} with their songs")
    songs = []
    for take in sorted(by_take):
        phrases = sorted(by_take[take], key=lambda p: int(p.source["start_frame"]))
        pairs = [PhrasePair(p.id, *song_counts_s(p)) for p in phrases]
        songs.append(DancedSong(take, phrases[0].style,
                                _song_path(root, take, str(phrases[0].source["song"])), pairs))
    return songs


def snap_to_beats(pair: PhrasePair, beats_s: np.ndarray) -> tuple[int, int, float]:
    """Beats ``[start, end)`` of the analysis nearest the pair's first count and end, and
    the median distance (s) of its counts to their nearest analysed beats."""
    beats_s = np.asarray(beats_s, np.float64)
    start = int(np.argmin(np.abs(beats_s - pair.counts_s[0])))
    end = int(np.argmin(np.abs(beats_s - pair.end_s)))
    if end <= start:
        end = min(start + 1, len(beats_s))
    nearest = np.min(np.abs(pair.counts_s[:, None] - beats_s[None, :]), axis=1)
    return start, end, float(np.median(nearest))


def pair_phrases(pairs: list[PhrasePair], beats_s: np.ndarray, duration_s: float
                 ) -> tuple[list[MusicPhrase], list[float]]:
    """One music phrase per pair on the analysis' beats, and each pair's beat residual (s)."""
    phrases, residuals = [], []
    for i, pair in enumerate(pairs):
        start, end, residual = snap_to_beats(pair, beats_s)
        end_s = float(beats_s[end]) if end < len(beats_s) else min(pair.end_s, duration_s)
        phrases.append(MusicPhrase(i, start, end, float(beats_s[start]), end_s, 2, "danced"))
        residuals.append(residual)
    return phrases, residuals


def is_octave_error(analysis_bpm: float, dance_bpm: float) -> bool:
    """True when the analysis counts at about double, half (or 3:2) the dance's rate."""
    if analysis_bpm <= 0 or dance_bpm <= 0:
        return False
    return abs(float(np.log2(analysis_bpm / dance_bpm))) > OCTAVE_TOLERANCE


def _shard_key(song: DancedSong, content_hash: str, library: Library) -> str:
    spans = json.dumps([[p.dance_id, round(float(p.counts_s[0]), 3), round(p.end_s, 3)]
                        for p in song.pairs])
    text = f"{PAIRS_VERSION}|{analysis_version()}|{content_hash}|{library.fingerprint}|{spans}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def write_shard(folder: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Feature arrays as float16 .npy (any other array as float32) and meta.json last."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        dtype = np.float16 if name in ("mel", "melody", "rhythm") else np.float32
        write_atomic(folder / f"{name}.npy",
                     lambda fh, a=array, d=dtype: np.save(fh, np.asarray(a).astype(d),
                                                          allow_pickle=False))
    write_json_atomic(folder / "meta.json", meta)


def _crop(audio: Audio, a_s: float, b_s: float, label: str) -> Audio:
    """Samples ``[a_s, b_s)`` of a song as its own audio (content hash of those samples)."""
    samples = audio.samples[int(a_s * audio.sr): int(b_s * audio.sr)]
    return Audio.from_array(samples, audio.sr, f"{audio.path}#{label}")


def prepare_danced_song(song: DancedSong, library: Library, cache_dir: Path) -> dict[str, Any]:
    """Analyse the danced stretch blind, featurise its pairs, score the matcher; its entry."""
    from choreo_studio.core.analysis.analyzer import analyze_audio
    from choreo_studio.core.audio.load import file_content_hash
    from choreo_studio.core.phrases.features import phrase_features
    from choreo_studio.core.phrases.song import Song
    from choreo_studio.core.retrieval.scoring import DescriptorMatcher

    content_hash = file_content_hash(song.audio_path)
    key = _shard_key(song, content_hash, library)
    folder = shard_dir(cache_dir, key)
    if not (folder / "meta.json").is_file():
        audio = load_audio(song.audio_path)
        start_s, end_s = song.span_s
        crop_s = max(0.0, start_s - MARGIN_S)
        crop = _crop(audio, crop_s, end_s + MARGIN_S, "danced")
        analysis, spectra = analyze_audio(crop)
        shifted = [PhrasePair(p.dance_id, p.counts_s - crop_s, p.end_s - crop_s)
                   for p in song.pairs]
        phrases, residuals = pair_phrases(shifted, analysis.beats_s, crop.duration_s)
        features = phrase_features(spectra.logmel_db, spectra.fps, analysis, phrases)
        song_view = Song(crop, analysis, phrases, features)
        matcher = DescriptorMatcher(library).distances(song_view)
        meta = {
            "format_version": DATASET_FORMAT_VERSION, "feature_version": FEATURE_VERSION,
            "song_hash": content_hash, "name": song.take, "n_phrases": len(phrases),
            "tempo_bpm": float(analysis.tempo_bpm), "dance_bpm": song.dance_bpm,
            "beat_residual_s": [round(r, 4) for r in residuals],
            "crop_s": [round(crop_s, 3), round(crop.duration_s + crop_s, 3)],
        }
        write_shard(folder, {**features.arrays(), "matcher": matcher,
                             "cues": music_cues(song_view)}, meta)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    return {
        "key": key, "name": song.take, "song_hash": f"{content_hash}:{song.take}",
        "n_phrases": int(meta["n_phrases"]), "labeled": True,
        "dance_ids": [p.dance_id for p in song.pairs], "style": song.style, "group": song.take,
        "tempo_bpm": meta["tempo_bpm"], "dance_bpm": meta["dance_bpm"],
        "octave_error": is_octave_error(meta["tempo_bpm"], meta["dance_bpm"]),
        "beat_residual_s": float(np.median(meta["beat_residual_s"])),
    }


def shard_tempo(cache_dir: str | os.PathLike[str], key: str) -> float:
    """The analysis tempo a shard's ``meta.json`` recorded (0 when absent)."""
    meta = json.loads((shard_dir(Path(cache_dir), key) / "meta.json").read_text(encoding="utf-8"))
    return float(meta.get("tempo_bpm", 0.0))


def undanced_audio(song: DancedSong, min_s: float = 20.0) -> list[Audio]:
    """The song's stretches before and after the dance (each at least ``min_s`` long)."""
    audio = load_audio(song.audio_path)
    start_s, end_s = song.span_s
    parts = [(0.0, start_s - MARGIN_S, "before"), (end_s + MARGIN_S, audio.duration_s, "after")]
    return [_crop(audio, a, b, label) for a, b, label in parts if b - a >= min_s]


def prepare_unlabeled_audio(audio: Audio, name: str, cache_dir: Path) -> dict[str, Any]:
    """Analyse and segment a song (or a stretch) automatically; its unlabelled entry."""
    from choreo_studio.core.phrases.song import open_song

    key = hashlib.sha256(f"{PAIRS_VERSION}|{analysis_version()}|{audio.content_hash}|auto"
                         .encode()).hexdigest()[:32]
    folder = shard_dir(cache_dir, key)
    if not (folder / "meta.json").is_file():
        song = open_song(audio, cache_dir=str(cache_dir / "songs"))
        write_shard(folder, {**song.features.arrays(), "cues": music_cues(song)}, {
            "format_version": DATASET_FORMAT_VERSION, "feature_version": FEATURE_VERSION,
            "song_hash": audio.content_hash, "name": name, "n_phrases": len(song.phrases),
            "tempo_bpm": float(song.analysis.tempo_bpm)})
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    return {"key": key, "name": name, "song_hash": audio.content_hash,
            "n_phrases": int(meta["n_phrases"]), "labeled": False, "dance_ids": None}


def _interleave(a: list, b: list) -> list:
    """a[0], b[0], a[1], b[1], … then the rest of the longer list (a cap keeps both kinds)."""
    out = [x for pair in zip(a, b, strict=False) for x in pair]
    n = min(len(a), len(b))
    return out + a[n:] + b[n:]


def _extra_entries(name: str, item: DancedSong | Path, cache: Path
                   ) -> tuple[list[dict[str, Any]], list[str]]:
    """Unlabelled entries of one song (or a danced song's undanced parts), and the skips."""
    group = item.take if isinstance(item, DancedSong) else None
    pieces = undanced_audio(item) if group else [load_audio(item)]
    entries, skipped = [], []
    for k, audio in enumerate(pieces):
        try:
            entry = prepare_unlabeled_audio(audio, f"{name}{k or ''}", cache)
        except ChoreoError as exc:  # no beat (applause, ambience): not music to learn from
            skipped.append(f"skipped {name}: {exc}")
            continue
        entries.append({**entry, "group": group} if group else entry)
    return entries, skipped


_WORKER_LIBRARY: dict[str, Library] = {}


def _pair_task(task: tuple, library: Library | str, cache: Path
               ) -> tuple[list[dict[str, Any]], list[str]]:
    """One unit of :func:`prepare_pairs`: a danced song's pairs or one unlabelled song; a
    worker process gets the library's folder and loads it once."""
    if isinstance(library, str):
        if library not in _WORKER_LIBRARY:
            _WORKER_LIBRARY[library] = Library.load(library)
        library = _WORKER_LIBRARY[library]
    if task[0] == "pairs":
        return [prepare_danced_song(task[1], library, cache)], []
    return _extra_entries(task[1], task[2], cache)


def prepare_pairs(
    data_dir: str | os.PathLike[str],
    library: Library,
    cache_dir: str | os.PathLike[str],
    *,
    unlabeled: list[str | os.PathLike[str]] = (),
    undanced: bool = True,
    max_unlabeled: int | None = None,
    workers: int = 1,
    library_dir: str | os.PathLike[str] | None = None,
    progress: ProgressFn = no_progress,
) -> list[dict[str, Any]]:
    """Cache every danced song's pairs and the unlabelled music; write ``dataset.json``.
    With ``workers`` > 1 (and the ``library_dir`` the library was loaded from) the songs are
    analysed in that many processes; the entries keep the serial order."""
    import concurrent.futures
    import multiprocessing

    from choreo_studio.training.data_cache import audio_files, write_manifest

    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    songs = danced_songs(data_dir, library)
    parts = [(f"{s.take}:undanced", s) for s in songs] if undanced else []
    others = [(p.name, p) for folder in unlabeled for p in audio_files(folder)]
    extra = _interleave(parts, others)
    if max_unlabeled is not None:
        extra = extra[:max_unlabeled]
    tasks = [("pairs", s) for s in songs] + [("extra", name, item) for name, item in extra]
    names = [f"pairs of {t[1].take}" if t[0] == "pairs" else f"unlabelled {t[1]}" for t in tasks]
    results: list[tuple[list[dict[str, Any]], list[str]]] = [([], [])] * len(tasks)
    if workers <= 1 or library_dir is None:
        for i, task in enumerate(tasks):
            results[i] = _pair_task(task, library, cache)
            progress((i + 1) / len(tasks), "; ".join(results[i][1] + [names[i]]))
    else:
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = {pool.submit(_pair_task, t, str(library_dir), cache): i
                       for i, t in enumerate(tasks)}
            for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
                i = futures[future]
                results[i] = future.result()
                progress(done / len(tasks), "; ".join(results[i][1] + [names[i]]))
    entries = [e for found, _ in results for e in found]
    write_manifest(cache, entries, library.name, library.fingerprint)
    return entries
