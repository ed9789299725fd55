"""Audio I/O: decode any common audio file into an :class:`Audio` and derive the analysis signal.

The original samples (all channels, native rate) are kept for playback; analysis works on a mono
22,050 Hz copy made with a high-quality (soxr) resampler. Every way a file can be unusable is
reported as one :class:`~choreo_studio.core.errors.ChoreoError` line naming the file and what to do.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from choreo_studio.core.errors import ChoreoError

ANALYSIS_SR = 22050
"""Sample rate (Hz) of the mono signal every analysis stage works on."""

MAX_DURATION_S = 30 * 60.0
"""Longest song accepted (seconds); longer files are refused before decoding (bounded memory)."""

SILENCE_PEAK = 1e-4
"""A file whose absolute peak stays below this (about -80 dBFS) counts as all silence."""

_HASH_CHUNK = 1 << 20


@dataclass
class Audio:
    """Decoded song: ``samples`` float32 [n, channels] at ``sr`` Hz, as in the file.

    ``content_hash`` identifies the song's content (sha256 of the file bytes, or of the samples
    for audio made in memory) and keys every cache.
    """

    samples: np.ndarray
    sr: int
    path: str | None
    content_hash: str
    _mono_cache: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / float(self.sr)

    @property
    def name(self) -> str:
        """A short name for messages: the file name, or ``<memory>``."""
        return Path(self.path).name if self.path else "<memory>"

    def mono(self, sr: int = ANALYSIS_SR) -> np.ndarray:
        """Mono float32 signal at ``sr`` Hz (channel mean, soxr 'HQ' resampling), memoised."""
        if sr not in self._mono_cache:
            mono = self.samples.mean(axis=1, dtype=np.float32)
            if self.sr != sr:
                import soxr

                mono = soxr.resample(mono, self.sr, sr, quality="HQ").astype(np.float32)
            self._mono_cache[sr] = np.ascontiguousarray(mono, dtype=np.float32)
        return self._mono_cache[sr]

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


def file_content_hash(path: str | os.PathLike[str]) -> str:
    """sha256 (first 32 hex digits) of a file's bytes: the cache key of a song file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()[:32]


def load_audio(path: str | os.PathLike[str], max_duration_s: float = MAX_DURATION_S) -> Audio:
    """Decode ``path``: wav/flac/ogg/mp3 via libsndfile; m4a/aac and anything else ffmpeg reads
    via the ffmpeg binary bundled with imageio-ffmpeg (audioread when that is not installed).

    Raises ChoreoError for a missing file, a file that is not audio, a truncated or corrupt file,
    zero length, all silence, or a song longer than ``max_duration_s`` (refused before decoding).
    """
    file_path = Path(path)
    name = file_path.name
    if not file_path.exists():
        raise ChoreoError(f"{file_path}: no such file — check the path")
    if file_path.is_dir():
        raise ChoreoError(f"{file_path}: is a folder, not an audio file — give a song file")
    if file_path.stat().st_size == 0:
        raise ChoreoError(f"{name}: file is empty (0 bytes) — give a real song file")
    samples, sr = _decode(file_path, max_duration_s)
    if samples.shape[0] == 0:
        raise ChoreoError(f"{name}: audio has zero length — give a song with sound in it")
    if not np.all(np.isfinite(samples)):
        raise ChoreoError(f"{name}: audio contains invalid (NaN/inf) samples — re-export the song")
    if float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise ChoreoError(f"{name}: audio is all silence — check the file or the export gain")
    return Audio(samples, sr, str(file_path), file_content_hash(file_path))


def _decode(file_path: Path, max_duration_s: float) -> tuple[np.ndarray, int]:
    """Samples float32 [n, channels] and rate, via soundfile first, then the bundled ffmpeg
    (m4a, aac, …), then audioread when imageio-ffmpeg is absent."""
    import soundfile as sf

    name = file_path.name
    try:
        info = sf.info(str(file_path))
    except Exception:  # noqa: BLE001 - libsndfile cannot open it: try the fallback decoder
        info = None
    if info is not None:
        _refuse_long(name, info.frames / float(info.samplerate), max_duration_s)
        try:
            data, sr = sf.read(str(file_path), dtype="float32", always_2d=True)
        except Exception as exc:  # noqa: BLE001 - any decoder failure is the file's fault
            raise ChoreoError(
                f"{name}: audio data is truncated or corrupt ({_short(exc)}) — re-export or "
                "re-download the song"
            ) from None
        if info.frames > 0 and data.shape[0] < 0.98 * info.frames or _container_truncated(
            file_path, info.format
        ):
            raise ChoreoError(
                f"{name}: file is truncated (it ends after {data.shape[0] / sr:.1f} s, before "
                "the end its header announces) — re-export or re-download the song"
            )
        return data, int(sr)
    ffmpeg = _bundled_ffmpeg()
    if ffmpeg is not None:
        return _decode_ffmpeg(ffmpeg, file_path, max_duration_s)
    return _decode_audioread(file_path, max_duration_s)


def _container_truncated(file_path: Path, container: str) -> bool:
    """True when a WAV's data chunk or an Ogg stream's last page says the file was cut short.

    libsndfile silently decodes what is there, so these headers are checked directly.
    """
    size = file_path.stat().st_size
    with open(file_path, "rb") as fh:
        if container == "WAV":
            head = fh.read(1 << 16)
            if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return False
            pos = 12
            while pos + 8 <= len(head):
                chunk = head[pos : pos + 4]
                length = int.from_bytes(head[pos + 4 : pos + 8], "little")
                if chunk == b"data":
                    return length != 0xFFFFFFFF and pos + 8 + length > size
                pos += 8 + length + (length & 1)
            return False
        if container == "OGG":
            fh.seek(max(size - (1 << 16), 0))
            tail = fh.read()
            last = tail.rfind(b"OggS")
            return last < 0 or last + 5 >= len(tail) or not tail[last + 5] & 0x04
    return False


def _decode_audioread(file_path: Path, max_duration_s: float) -> tuple[np.ndarray, int]:
    """Fallback decoder (ffmpeg/GStreamer through audioread) for formats libsndfile lacks."""
    name = file_path.name
    try:
        import audioread
    except ImportError:
        audioread = None
    if audioread is None:
        raise ChoreoError(f"{name}: not a readable audio file — use wav, flac, ogg or mp3")
    try:
        with audioread.audio_open(str(file_path)) as reader:
            _refuse_long(name, float(reader.duration or 0.0), max_duration_s)
            channels, sr = int(reader.channels), int(reader.samplerate)
            max_samples = int((max_duration_s + 1.0) * sr * channels)
            blocks: list[np.ndarray] = []
            n_read = 0
            for buf in reader:
                block = np.frombuffer(buf, dtype="<i2").astype(np.float32) / 32768.0
                blocks.append(block)
                n_read += block.size
                if n_read > max_samples:
                    _refuse_long(name, n_read / float(sr * channels), max_duration_s)
    except ChoreoError:
        raise
    except Exception:  # noqa: BLE001 - no backend could decode it
        raise ChoreoError(
            f"{name}: not a readable audio file (no decoder could open it) — use wav, flac, "
            "ogg or mp3"
        ) from None
    flat = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    flat = flat[: flat.size - flat.size % channels]
    return flat.reshape(-1, channels), sr


_CHANNEL_LAYOUTS = {
    "mono": 1, "stereo": 2, "downmix": 2, "2.1": 3, "3.0": 3, "quad": 4, "4.0": 4, "3.1": 4,
    "5.0": 5, "4.1": 5, "5.1": 6, "6.0": 6, "hexagonal": 6, "6.1": 7, "7.0": 7, "7.1": 8,
    "octagonal": 8,
}
_FFMPEG_TRUNCATED = ("moov atom not found", "partial file", "truncat", "end of file")


def _bundled_ffmpeg() -> str | None:
    """Path of the ffmpeg binary shipped in the imageio-ffmpeg wheel, or None without it."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return None


def _decode_ffmpeg(ffmpeg: str, file_path: Path, max_duration_s: float) -> tuple[np.ndarray, int]:
    """Decode the first audio stream to float32 PCM through a pipe, at the file's own rate and
    channel count; the stream length is read first so long songs are refused before decoding."""
    name = file_path.name
    probe = subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-i", str(file_path)],
        capture_output=True, timeout=60, check=False,
    ).stderr.decode("utf-8", "replace")
    stream = re.search(r"Stream #\S+.*?: Audio: .*?(\d+) Hz, ([^,]+)", probe)
    if stream is None:
        if any(sign in probe.lower() for sign in _FFMPEG_TRUNCATED):
            raise ChoreoError(
                f"{name}: audio file is truncated or corrupt (its index is missing) — re-export "
                "or re-download the song"
            )
        raise ChoreoError(
            f"{name}: not a readable audio file (no audio stream found) — use wav, flac, ogg, "
            "mp3 or m4a"
        )
    sr, channels = int(stream.group(1)), _layout_channels(stream.group(2))
    duration = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", probe)
    header_s = None
    if duration is not None:
        hours, minutes, seconds = duration.groups()
        header_s = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        _refuse_long(name, header_s, max_duration_s)
        if "estimated from bitrate" in probe:  # raw ADTS/MP3 streams: a guess, not a header
            header_s = None
    command = [
        ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", str(file_path), "-map", "0:a:0",
        "-vn", "-f", "f32le", "-acodec", "pcm_f32le", "-ac", str(channels), "-ar", str(sr),
        "pipe:1",
    ]
    max_bytes = int((max_duration_s + 1.0) * sr * channels * 4)
    blocks: list[bytes] = []
    n_read = 0
    with tempfile.TemporaryFile() as errors, subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=errors
    ) as proc:
        assert proc.stdout is not None
        while block := proc.stdout.read(_HASH_CHUNK):
            blocks.append(block)
            n_read += len(block)
            if n_read > max_bytes:
                proc.kill()
                _refuse_long(name, n_read / (4.0 * sr * channels), max_duration_s)
        returncode = proc.wait()
        errors.seek(0)
        error_text = errors.read().decode("utf-8", "replace")
    flat = np.frombuffer(b"".join(blocks), dtype="<f4")
    data = flat[: flat.size - flat.size % channels].reshape(-1, channels)
    decoded_s = data.shape[0] / float(sr)
    cut_short = header_s is not None and decoded_s < 0.98 * header_s - 0.05
    if cut_short or any(sign in error_text.lower() for sign in _FFMPEG_TRUNCATED):
        announced = f" of the {header_s:.1f} s its header announces" if header_s else ""
        raise ChoreoError(
            f"{name}: file is truncated or corrupt (only {decoded_s:.1f} s{announced} decode) — "
            "re-export or re-download the song"
        )
    if returncode != 0:
        lines = error_text.strip().splitlines() or ["decoder failed"]
        raise ChoreoError(
            f"{name}: audio data is truncated or corrupt ({' '.join(lines[-1].split())[:80]}) "
            "— re-export or re-download the song"
        )
    return np.array(data, dtype=np.float32), sr


def _layout_channels(layout: str) -> int:
    """Channel count of an ffmpeg channel-layout name ("stereo", "5.1(side)", "3 channels")."""
    layout = layout.strip().split("(")[0].strip()
    counted = re.fullmatch(r"(\d+) channels", layout)
    if counted:
        return int(counted.group(1))
    return _CHANNEL_LAYOUTS.get(layout, 2)


def _refuse_long(name: str, duration_s: float, max_duration_s: float) -> None:
    if duration_s >= max_duration_s:
        raise ChoreoError(
            f"{name}: song is {duration_s / 60:.1f} min long; Choreo Studio analyses songs "
            f"under {max_duration_s / 60:.0f} min — trim it or split it into parts"
        )


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:80] if text else type(exc).__name__
