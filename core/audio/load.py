"""Audio I/O: open any common audio file as an :class:`Audio` and derive the analysis signal.

The original samples (all channels, native rate) are kept for playback; analysis works on a mono
22,050 Hz copy made with a high-quality (soxr) resampler. :func:`load_audio` decodes everything;
:func:`stream_audio` streams the file straight to that mono copy (a 60-minute song holds 320 MB
of it instead of 1.3 GB of native samples) and decodes the native samples again only if they are
asked for; :meth:`Audio.unloaded` describes a song known from the analysis cache without
decoding it at all. Every way a file can be unusable is reported as one
:class:`~choreo_studio.core.errors.ChoreoError` line naming the file and what to do.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from choreo_studio.core.audio.envelope import EnvelopeBuilder, WaveEnvelope
from choreo_studio.core.errors import ChoreoError

__all__ = ["ANALYSIS_SR", "MAX_DURATION_S", "Audio", "AudioInfo", "file_content_hash",
           "file_fingerprint", "load_audio", "probe_audio", "stream_audio"]

ANALYSIS_SR = 22050
"""Sample rate (Hz) of the mono signal every analysis stage works on."""

MAX_DURATION_S = 75 * 60.0
"""Longest song accepted (seconds); longer files are refused before decoding when a header states
the length. A 60-minute song streams through the analysis in under 1.5 GB."""

SILENCE_PEAK = 1e-3
"""A file whose absolute peak stays below this (-60 dBFS: inaudible at any usual gain, as the
dither-only "silence" tracks games ship) counts as all silence."""

_HASH_CHUNK = 1 << 20
_FINGERPRINT_BLOCK = 1 << 16
"""Bytes read at each of the start, middle and end of a file for its fingerprint."""


class Audio:
    """A song: ``samples`` float32 [n, channels] at ``sr`` Hz, as in the file.

    ``content_hash`` identifies the song's content (sha256 of the file bytes, or of the samples
    for audio made in memory) and keys every cache. An Audio from :func:`stream_audio` or
    :meth:`unloaded` knows its length, channels and :attr:`envelope` without its samples, and
    decodes them from ``path`` the first time :attr:`samples` (or :meth:`mono`) is read.
    """

    def __init__(self, samples: np.ndarray | None, sr: int, path: str | None, content_hash: str,
                 *, n_frames: int | None = None, n_channels: int | None = None,
                 envelope: WaveEnvelope | None = None) -> None:
        if samples is None and (path is None or n_frames is None or n_channels is None):
            raise ValueError("an Audio without samples needs its path, n_frames and n_channels")
        self._samples = samples
        self.sr = int(sr)
        self.path = path
        self.content_hash = content_hash
        self._n_frames = int(samples.shape[0]) if samples is not None else int(n_frames)
        self._n_channels = int(samples.shape[1]) if samples is not None else int(n_channels)
        self._envelope = envelope
        self._mono_cache: dict[int, np.ndarray] = {}

    def __repr__(self) -> str:
        return (f"Audio({self.name!r}, {self.duration_s:.1f} s, {self.sr} Hz, "
                f"{self.n_channels} ch, {'decoded' if self.decoded else 'not decoded'})")

    @classmethod
    def unloaded(cls, path: str | os.PathLike[str], sr: int, n_channels: int, n_frames: int,
                 content_hash: str, envelope: WaveEnvelope | None = None) -> Audio:
        """A song file described without decoding it (as the analysis cache knows it)."""
        return cls(None, sr, str(path), content_hash, n_frames=n_frames, n_channels=n_channels,
                   envelope=envelope)

    @property
    def decoded(self) -> bool:
        """Whether the native samples are in memory."""
        return self._samples is not None

    @property
    def samples(self) -> np.ndarray:
        """float32 [n, channels] at ``sr``: decoded from ``path`` on first use when not held."""
        if self._samples is None:
            assert self.path is not None
            samples, sr = _decode_checked(_checked_file(self.path), MAX_DURATION_S)
            if samples.shape != (self._n_frames, self._n_channels) or sr != self.sr:
                raise ChoreoError(
                    f"{self.name}: the file changed since it was opened — open the song again"
                )
            self._samples = samples
        return self._samples

    @property
    def n_channels(self) -> int:
        return self._n_channels

    @property
    def n_frames(self) -> int:
        """Sample frames at ``sr``."""
        return self._n_frames

    @property
    def duration_s(self) -> float:
        return self._n_frames / float(self.sr)

    @property
    def name(self) -> str:
        """A short name for messages: the file name, or ``<memory>``."""
        return Path(self.path).name if self.path else "<memory>"

    @property
    def envelope(self) -> WaveEnvelope:
        """The waveform envelope (min/max per bucket): from the stream or cache, else computed."""
        if self._envelope is None:
            self._envelope = WaveEnvelope.of_samples(self.samples, self.sr)
        return self._envelope

    def mono(self, sr: int = ANALYSIS_SR) -> np.ndarray:
        """Mono float32 signal at ``sr`` Hz (channel mean, soxr 'HQ' resampling).

        Memoised when the native samples are in memory; otherwise streamed from the file and
        not kept (the analysis drops it after its STFT: 320 MB on a 60-minute song), except
        that the signal :func:`stream_audio` made is handed out once without decoding again.
        """
        if sr in self._mono_cache:
            return self._mono_cache[sr] if self._samples is not None else self._mono_cache.pop(sr)
        if self._samples is not None:
            mono = _resampled(self._samples.mean(axis=1, dtype=np.float32), self.sr, sr)
            self._mono_cache[sr] = np.ascontiguousarray(mono, dtype=np.float32)
            return self._mono_cache[sr]
        assert self.path is not None
        streamed = _stream_mono(_checked_file(self.path), MAX_DURATION_S, sr)
        if streamed.n_frames != self._n_frames or streamed.sr != self.sr:
            raise ChoreoError(
                f"{self.name}: the file changed since it was opened — open the song again"
            )
        return streamed.mono

    @classmethod
    def from_array(cls, samples: np.ndarray, sr: int, path: str | None = None) -> Audio:
        """Wrap samples made in memory ([n] or [n, channels]); the hash covers samples and rate."""
        data = np.asarray(samples, dtype=np.float32)
        if data.ndim == 1:
            data = data[:, None]
        if data.ndim != 2 or data.shape[0] == 0:
            raise ChoreoError(f"{path or '<memory>'}: audio has no samples — give a real song")
        digest = hashlib.sha256(np.ascontiguousarray(data).tobytes())
        digest.update(str(int(sr)).encode())
        return cls(np.ascontiguousarray(data), int(sr), path, "mem-" + digest.hexdigest()[:32])


def _resampled(mono: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """``mono`` at ``sr_out`` (soxr 'HQ'; unchanged when the rates agree)."""
    if sr_in == sr_out:
        return mono
    import soxr

    return soxr.resample(mono, sr_in, sr_out, quality="HQ").astype(np.float32)


@dataclass(frozen=True)
class AudioInfo:
    """A song file's rate, channels and length as known before decoding it.

    ``estimated`` is True when no header or frame count states the length and it is only a guess
    from the file size or bitrate (a raw AAC stream, an MP3 whose frames cannot be walked): show
    it as an estimate (:meth:`duration_text`), never judge the file by it.
    """

    sr: int
    n_channels: int
    duration_s: float
    estimated: bool

    def duration_text(self) -> str:
        """The length for people: ``"3:12"``, or ``"about 3:12 (estimated)"`` when it is a guess."""
        minutes, seconds = divmod(int(round(self.duration_s)), 60)
        text = f"{minutes}:{seconds:02d}"
        return f"about {text} (estimated)" if self.estimated else text


def file_content_hash(path: str | os.PathLike[str]) -> str:
    """sha256 (first 32 hex digits) of a file's bytes: the cache key of a song file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()[:32]


def file_fingerprint(path: str | os.PathLike[str]) -> str:
    """A cheap identity of a file: sha256 of its size, modification time and 64 KiB from its
    start, middle and end (the analysis cache's key for finding a song without reading it)."""
    stat = os.stat(path)
    digest = hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    with open(path, "rb") as fh:
        for offset in (0, max(stat.st_size // 2 - _FINGERPRINT_BLOCK // 2, 0),
                       max(stat.st_size - _FINGERPRINT_BLOCK, 0)):
            fh.seek(offset)
            digest.update(fh.read(_FINGERPRINT_BLOCK))
    return digest.hexdigest()[:32]


def probe_audio(path: str | os.PathLike[str]) -> AudioInfo:
    """Rate, channels and length of a song file without decoding it (to show before loading).

    Raises ChoreoError for a missing, empty or unreadable file.
    """
    from choreo_studio.core.audio.decode import (
        _audioread_probe,
        _bundled_ffmpeg,
        _ffmpeg_probe,
        _mpeg_length,
        _soundfile_info,
    )
    from choreo_studio.core.audio.mpeg_frames import scan_mpeg

    file_path = _checked_file(path)
    info = _soundfile_info(file_path)
    if info is not None:
        length_s, estimated = info.frames / float(info.samplerate), False
        if info.format == "MP3":
            length_s, estimated = _mpeg_length(scan_mpeg(file_path), length_s)
        return AudioInfo(int(info.samplerate), int(info.channels), length_s, estimated)
    ffmpeg = _bundled_ffmpeg()
    if ffmpeg is not None:
        return _ffmpeg_probe(ffmpeg, file_path)[0]
    return _audioread_probe(file_path)


def load_audio(path: str | os.PathLike[str], max_duration_s: float = MAX_DURATION_S) -> Audio:
    """Decode ``path``: wav/flac/ogg/mp3 via libsndfile; m4a/aac, MP3s without a Xing/Info/VBRI
    frame and anything else ffmpeg reads via the ffmpeg binary bundled with imageio-ffmpeg
    (audioread when that is not installed).

    Raises ChoreoError for a missing file, a file that is not audio, a truncated or corrupt file
    (judged from what the container and decoder report, never from a size-based length guess),
    zero length, all silence, or a song longer than ``max_duration_s`` (refused before decoding
    when a header or frame count states the length).
    """
    file_path = _checked_file(path)
    samples, sr = _decode_checked(file_path, max_duration_s)
    return Audio(samples, sr, str(file_path), file_content_hash(file_path))


def stream_audio(path: str | os.PathLike[str], max_duration_s: float = MAX_DURATION_S) -> Audio:
    """Decode ``path`` block by block into its mono analysis signal and waveform envelope, with
    load_audio's checks, keeping no native samples (they are decoded again if asked for)."""
    file_path = _checked_file(path)
    streamed = _stream_mono(file_path, max_duration_s, ANALYSIS_SR)
    audio = Audio(None, streamed.sr, str(file_path), file_content_hash(file_path),
                  n_frames=streamed.n_frames, n_channels=streamed.n_channels,
                  envelope=streamed.envelope)
    audio._mono_cache[ANALYSIS_SR] = streamed.mono
    return audio


def _decode_checked(file_path: Path, max_duration_s: float) -> tuple[np.ndarray, int]:
    """Every sample and the rate, refused when empty, non-finite or silent."""
    from choreo_studio.core.audio.decode import decode_all

    samples, sr = decode_all(file_path, max_duration_s)
    _check_signal(file_path.name, samples.shape[0], bool(np.all(np.isfinite(samples))),
                  float(np.max(np.abs(samples))) if samples.size else 0.0)
    return samples, sr


@dataclass
class _Streamed:
    """What a streamed decode yields: the mono signal and the native format and envelope."""

    mono: np.ndarray
    sr: int
    n_channels: int
    n_frames: int
    envelope: WaveEnvelope


def _stream_mono(file_path: Path, max_duration_s: float, sr_out: int) -> _Streamed:
    """Decode in blocks to the mono signal at ``sr_out`` (soxr's streaming 'HQ' resampler gives
    the one-shot resampler's samples), checked as load_audio checks the whole decode."""
    from choreo_studio.core.audio.decode import open_decoder

    decoder = open_decoder(file_path, max_duration_s)
    resampler = None
    if decoder.sr != sr_out:
        import soxr

        resampler = soxr.ResampleStream(decoder.sr, sr_out, 1, dtype="float32", quality="HQ")
    envelope = EnvelopeBuilder(decoder.sr)
    parts: list[np.ndarray] = []
    n_frames, finite, peak = 0, True, 0.0
    for block in decoder.blocks:
        n_frames += block.shape[0]
        finite = finite and bool(np.all(np.isfinite(block)))
        peak = max(peak, float(np.max(np.abs(block))))
        envelope.add(block)
        mono = block.mean(axis=1, dtype=np.float32)
        parts.append(resampler.resample_chunk(mono) if resampler is not None else mono)
    if resampler is not None:
        parts.append(resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
    _check_signal(file_path.name, n_frames, finite, peak)
    mono = np.concatenate(parts) if len(parts) > 1 else parts[0].copy()
    return _Streamed(mono, decoder.sr, decoder.n_channels, n_frames, envelope.finish())


def _check_signal(name: str, n_frames: int, finite: bool, peak: float) -> None:
    """Refuse a decode with no samples, NaN/inf samples or nothing above silence."""
    if n_frames == 0:
        raise ChoreoError(f"{name}: audio has zero length — give a song with sound in it")
    if not finite:
        raise ChoreoError(f"{name}: audio contains invalid (NaN/inf) samples — re-export the song")
    if peak < SILENCE_PEAK:
        raise ChoreoError(f"{name}: audio is all silence — check the file or the export gain")


def _checked_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path, refused in one line when it is missing, a folder or empty."""
    file_path = Path(path)
    if not file_path.exists():
        raise ChoreoError(f"{file_path}: no such file — check the path")
    if file_path.is_dir():
        raise ChoreoError(f"{file_path}: is a folder, not an audio file — give a song file")
    if file_path.stat().st_size == 0:
        raise ChoreoError(f"{file_path.name}: file is empty (0 bytes) — give a real song file")
    return file_path
