"""Phrases of many songs, in song order, as training sees them; and the split by song.

A :class:`PhraseSet` indexes the per-song feature shards of the cache (memory-mapped, never
copied whole) with one global phrase index. Phrases keep their order inside each song because
co-ascent learning rescales a phrase's prediction by the transition from its predecessor.
Labels are class indices into the library's dance phrases, -1 where a phrase has none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

UNLABELED = -1


@dataclass
class SongShard:
    """One song's phrases: features (arrays or memmaps) and labels; phrase ``t`` is row ``t``."""

    name: str
    song_hash: str
    mel: np.ndarray  # [T, 128, 128]
    melody: np.ndarray  # [T, 128]
    rhythm: np.ndarray  # [T, 128]
    labels: np.ndarray  # int64 [T], UNLABELED where unknown
    music: np.ndarray | None = None  # [T, M] music-side inputs T reads beside u (real pairs)

    @property
    def n_phrases(self) -> int:
        return int(self.mel.shape[0])


class PhraseSet:
    """The phrases of a list of songs with one global index (song by song, phrase by phrase)."""

    def __init__(self, songs: Sequence[SongShard]) -> None:
        self.songs = list(songs)
        lengths = np.array([s.n_phrases for s in self.songs], dtype=np.int64)
        self.song_of = np.repeat(np.arange(len(self.songs)), lengths)
        self.row_of = (
            np.concatenate([np.arange(n) for n in lengths]) if len(lengths) else np.zeros(0, int)
        ).astype(np.int64)
        self.labels = (
            np.concatenate([np.asarray(s.labels, dtype=np.int64) for s in self.songs])
            if self.songs
            else np.zeros(0, np.int64)
        )

    def __len__(self) -> int:
        return int(self.song_of.size)

    @property
    def song_hashes(self) -> list[str]:
        return [s.song_hash for s in self.songs]

    def gather(self, indices: np.ndarray) -> dict[str, np.ndarray]:
        """Features and labels of ``indices`` as float32 / int64 arrays (one read per song)."""
        indices = np.asarray(indices, dtype=np.int64)
        out = {
            "mel": np.empty((indices.size, *self.songs[0].mel.shape[1:]), np.float32),
            "melody": np.empty((indices.size, self.songs[0].melody.shape[1]), np.float32),
            "rhythm": np.empty((indices.size, self.songs[0].rhythm.shape[1]), np.float32),
            "label": self.labels[indices],
        }
        songs = self.song_of[indices]
        for song in np.unique(songs):
            where = np.flatnonzero(songs == song)
            rows = self.row_of[indices[where]]
            shard = self.songs[song]
            out["mel"][where] = shard.mel[rows]
            out["melody"][where] = shard.melody[rows]
            out["rhythm"][where] = shard.rhythm[rows]
        if self.has_music:
            out["music"] = self.music_inputs()[indices]
        return out

    @property
    def has_music(self) -> bool:
        """True when every song carries music-side inputs (``SongShard.music``)."""
        return bool(self.songs) and all(s.music is not None for s in self.songs)

    def music_inputs(self) -> np.ndarray | None:
        """[N, M] float32 music-side inputs in phrase order, None without them."""
        if not self.has_music:
            return None
        return np.concatenate([np.asarray(s.music, np.float32) for s in self.songs])

    def predecessor(self) -> np.ndarray:
        """For each phrase the global index of the previous phrase of its song, -1 for a first."""
        prev = np.arange(len(self)) - 1
        prev[self.row_of == 0] = -1
        return prev

    def adjacent_pairs(self) -> np.ndarray:
        """[P, 2] global indices ``(t-1, t)`` of temporally adjacent phrases within a song."""
        prev = self.predecessor()
        current = np.flatnonzero(prev >= 0)
        return np.stack([prev[current], current], axis=1)

    def subset(self, song_indices: Sequence[int]) -> PhraseSet:
        """A set holding only the given songs, in the given order."""
        return PhraseSet([self.songs[i] for i in song_indices])


class BatchDataset(torch.utils.data.Dataset):
    """A map-style dataset indexed by a whole micro-batch of phrase indices at once.

    Used as ``DataLoader(ds, sampler=micro_batches, batch_size=None)`` so each worker reads one
    micro-batch with a single gather per song. ``labels`` overrides the set's labels.
    """

    def __init__(self, phrases: PhraseSet, labels: np.ndarray | None = None) -> None:
        self.phrases = phrases
        self.labels = phrases.labels if labels is None else np.asarray(labels, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.phrases)

    def __getitem__(self, indices: np.ndarray) -> dict[str, torch.Tensor]:
        batch = self.phrases.gather(indices)
        batch["label"] = self.labels[np.asarray(indices, dtype=np.int64)]
        return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in batch.items()}


def micro_batch_loader(
    phrases: PhraseSet,
    micro_batches: Sequence[np.ndarray],
    *,
    num_workers: int = 0,
    pin_memory: bool = False,
) -> torch.utils.data.DataLoader:
    """A loader yielding one dict of tensors per micro-batch, in the given order."""
    return torch.utils.data.DataLoader(
        BatchDataset(phrases),
        sampler=list(micro_batches),
        batch_size=None,
        num_workers=num_workers,
        pin_memory=pin_memory,
    )


def split_by_song(
    song_keys: Sequence[str], held_out_fraction: float, seed: int = 0
) -> tuple[list[int], list[int]]:
    """Indices of training and held-out songs; a song is on exactly one side.

    The order is a hash of ``(seed, key)``, so the split of a song does not depend on which
    other songs are present or in what order they are listed. At least one song is held out
    when the fraction is positive and there are two or more songs.
    """
    n = len(song_keys)
    if len(set(song_keys)) != n:
        raise ValueError("song keys must be unique (the same song listed twice?)")
    ranked = sorted(
        range(n), key=lambda i: hashlib.sha256(f"{seed}:{song_keys[i]}".encode()).hexdigest()
    )
    n_test = int(round(held_out_fraction * n))
    if held_out_fraction > 0 and n >= 2:
        n_test = min(max(n_test, 1), n - 1)
    test = sorted(ranked[:n_test])
    train = sorted(ranked[n_test:])
    return train, test
