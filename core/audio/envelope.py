"""A song's waveform envelope: min/max per bucket of samples, small enough to cache beside the
analysis, so a cached song can be drawn without decoding it (a 60-minute song is ~2.5 MB).

Buckets hold :data:`ENVELOPE_BUCKET` samples at the file's own rate, taken over every channel;
a trailing part-bucket is dropped. 256 is a power-of-two multiple of the editor's finest
waveform bucket, so its coarser levels follow from this one exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ENVELOPE_BUCKET = 256
"""Samples (at the song's own rate) per envelope bucket."""


@dataclass(frozen=True)
class WaveEnvelope:
    """``hi`` / ``lo``: float32 [buckets] max / min of the samples over all channels in each
    bucket of ``bucket`` samples at ``sr`` Hz."""

    hi: np.ndarray
    lo: np.ndarray
    sr: int
    bucket: int = ENVELOPE_BUCKET

    @property
    def bucket_s(self) -> float:
        """Seconds per bucket."""
        return self.bucket / float(self.sr)

    @classmethod
    def of_samples(cls, samples: np.ndarray, sr: int) -> WaveEnvelope:
        """The envelope of samples [n] or [n, channels]."""
        builder = EnvelopeBuilder(sr)
        builder.add(samples if samples.ndim == 2 else samples[:, None])
        return builder.finish()


class EnvelopeBuilder:
    """Builds a :class:`WaveEnvelope` from consecutive sample blocks (a streamed decode)."""

    def __init__(self, sr: int, bucket: int = ENVELOPE_BUCKET) -> None:
        self.sr, self.bucket = int(sr), bucket
        self._carry = np.zeros((0, 1), dtype=np.float32)
        self._hi: list[np.ndarray] = []
        self._lo: list[np.ndarray] = []

    def add(self, block: np.ndarray) -> None:
        """Take the next float32 [n, channels] block."""
        data = block if not self._carry.size else np.concatenate([self._carry, block])
        n = data.shape[0] // self.bucket
        if n:
            buckets = data[: n * self.bucket].reshape(n, self.bucket * data.shape[1])
            self._hi.append(buckets.max(axis=1).astype(np.float32))
            self._lo.append(buckets.min(axis=1).astype(np.float32))
        self._carry = data[n * self.bucket :]

    def finish(self) -> WaveEnvelope:
        """The envelope of every whole bucket added."""
        empty = np.zeros(0, dtype=np.float32)
        hi = np.concatenate(self._hi) if self._hi else empty
        lo = np.concatenate(self._lo) if self._lo else empty
        return WaveEnvelope(hi, lo, self.sr, self.bucket)
