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
from choreo_studio.core.audio.mpeg_frames import MpegStream, scan_mpeg
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


def probe_audio(path: str | os.PathLike[str]) -> AudioInfo:
    """Rate, channels and length of a song file without decoding it (to show before loading).

    Raises ChoreoError for a missing, empty or unreadable file.
    """
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
    name = file_path.name
    samples, sr = _decode(file_path, max_duration_s)
    if samples.shape[0] == 0:
        raise ChoreoError(f"{name}: audio has zero length — give a song with sound in it")
    if not np.all(np.isfinite(samples)):
        raise ChoreoError(f"{name}: audio contains invalid (NaN/inf) samples — re-export the song")
    if float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise ChoreoError(f"{name}: audio is all silence — check the file or the export gain")
    return Audio(samples, sr, str(file_path), file_content_hash(file_path))


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


def _soundfile_info(file_path: Path):  # soundfile's info type is private
    """libsndfile's header info, or None when libsndfile cannot open the file."""
    import soundfile as sf

    try:
        return sf.info(str(file_path))
    except Exception:  # noqa: BLE001 - libsndfile cannot open it: another decoder will try
        return None


def _decode(file_path: Path, max_duration_s: float) -> tuple[np.ndarray, int]:
    """Samples float32 [n, channels] and rate: libsndfile for what it reads exactly, else the
    bundled ffmpeg (m4a, aac, MP3s without a length header, …), else audioread."""
    info = _soundfile_info(file_path)
    if info is not None and info.format == "MP3":
        return _decode_mp3(file_path, info, max_duration_s)
    if info is not None:
        return _decode_soundfile(file_path, info, max_duration_s)
    return _decode_other(file_path, max_duration_s)


def _decode_other(file_path: Path, max_duration_s: float) -> tuple[np.ndarray, int]:
    """Decode to the end with the bundled ffmpeg, or audioread when imageio-ffmpeg is absent."""
    ffmpeg = _bundled_ffmpeg()
    if ffmpeg is not None:
        return _decode_ffmpeg(ffmpeg, file_path, max_duration_s)
    return _decode_audioread(file_path, max_duration_s)


def _read_soundfile(file_path: Path) -> tuple[np.ndarray, int]:
    """All samples libsndfile decodes (float32 [n, channels]); a decoder error is a ChoreoError."""
    import soundfile as sf

    try:
        data, sr = sf.read(str(file_path), dtype="float32", always_2d=True)
    except Exception as exc:  # noqa: BLE001 - any decoder failure is the file's fault
        raise ChoreoError(
            f"{file_path.name}: audio data is truncated or corrupt ({_short(exc)}) — re-export "
            "or re-download the song"
        ) from None
    return data, int(sr)


def _decode_soundfile(file_path: Path, info, max_duration_s: float) -> tuple[np.ndarray, int]:
    """WAV/FLAC/OGG/…: the length in their headers is exact, so a shorter decode is a cut file."""
    name = file_path.name
    _refuse_long(name, info.frames / float(info.samplerate), max_duration_s)
    data, sr = _read_soundfile(file_path)
    if info.frames > 0 and data.shape[0] < 0.98 * info.frames or _container_truncated(
        file_path, info.format
    ):
        raise ChoreoError(
            f"{name}: file is truncated (it ends after {data.shape[0] / sr:.1f} s, before "
            "the end its header announces) — re-export or re-download the song"
        )
    return data, sr


def _decode_mp3(file_path: Path, info, max_duration_s: float) -> tuple[np.ndarray, int]:
    """MP3: judged by its frames (and its Xing/Info/VBRI frame when present); decoded by
    libsndfile when libsndfile's length covers every frame, else to the end by ffmpeg — without
    a length header libsndfile stops at its guess from the file size (ID3 art, VBR)."""
    name = file_path.name
    stream = scan_mpeg(file_path)
    if stream is None:  # frames that cannot be walked (free-format bitrate): decode to the end
        return _decode_other(file_path, max_duration_s)
    _refuse_long(name, _mpeg_length(stream, 0.0)[0], max_duration_s)
    _refuse_cut_mpeg(name, stream)
    slack = 3 * stream.samples_per_frame  # encoder delay and padding that decoders trim
    in_frames = stream.n_frames * stream.samples_per_frame
    if info.frames < in_frames - slack:
        return _decode_other(file_path, max_duration_s)
    data, sr = _read_soundfile(file_path)
    if data.shape[0] < in_frames - slack:
        raise ChoreoError(
            f"{name}: audio data is corrupt (only {data.shape[0] / sr:.1f} s of the "
            f"{stream.duration_s:.1f} s in its frames decode) — re-export or re-download the song"
        )
    return data, sr


def _mpeg_length(stream: MpegStream | None, guess_s: float) -> tuple[float, bool]:
    """(length in seconds, estimated): the Xing/Info/VBRI frame's, else the frames counted, else
    ``guess_s`` (a size-based guess) when the frames cannot be walked."""
    if stream is None:
        return guess_s, True
    announced = stream.announced_s
    return (announced if announced is not None else stream.duration_s), False


def _refuse_cut_mpeg(name: str, stream: MpegStream) -> None:
    """Refuse an MPEG stream whose last frame ends mid-way or that holds fewer frames than its
    Xing/Info/VBRI frame announces."""
    announced = stream.announced_frames
    if stream.cut_frame or announced is not None and stream.n_frames < announced - 1:
        whole = f" of the {stream.announced_s:.1f} s its header announces" if announced else ""
        how = "its last frame is cut off" if stream.cut_frame else "frames are missing"
        raise ChoreoError(
            f"{name}: file is truncated ({how}: it ends after {stream.duration_s:.1f} s{whole}) "
            "— re-export or re-download the song"
        )


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


def _audioread_probe(file_path: Path) -> AudioInfo:
    """Rate, channels and length through audioread (its backends may guess the length)."""
    name = file_path.name
    try:
        import audioread
    except ImportError:
        raise ChoreoError(
            f"{name}: not a readable audio file — use wav, flac, ogg or mp3"
        ) from None
    try:
        with audioread.audio_open(str(file_path)) as reader:
            return AudioInfo(
                int(reader.samplerate), int(reader.channels), float(reader.duration or 0.0), True
            )
    except Exception:  # noqa: BLE001 - no backend could open it
        raise ChoreoError(
            f"{name}: not a readable audio file (no decoder could open it) — use wav, flac, "
            "ogg or mp3"
        ) from None


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
        with audioread.audio_open(str(file_path)) as reader:  # its duration may be a guess
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


def _ffmpeg_probe(ffmpeg: str, file_path: Path) -> tuple[AudioInfo, MpegStream | None]:
    """The first audio stream's rate, channels and length as ffmpeg reads them without decoding
    (an MP3's length from its frames), plus the frame walk when the stream is MPEG audio."""
    name = file_path.name
    probe = subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-i", str(file_path)],
        capture_output=True, timeout=60, check=False,
    ).stderr.decode("utf-8", "replace")
    stream = re.search(r"Stream #\S+.*?: Audio: (\w+).*?(\d+) Hz, ([^,]+)", probe)
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
    codec, sr, channels = stream.group(1), int(stream.group(2)), _layout_channels(stream.group(3))
    duration = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", probe)
    length_s, estimated = 0.0, True
    if duration is not None:
        hours, minutes, seconds = duration.groups()
        length_s = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        # raw ADTS/MP3 streams: "Estimating duration from bitrate" (older: "estimated from …")
        estimated = "from bitrate" in probe
    mpeg = scan_mpeg(file_path) if codec in ("mp3", "mp2", "mp1") else None
    if mpeg is not None:
        length_s, estimated = _mpeg_length(mpeg, length_s)
    return AudioInfo(sr, channels, length_s, estimated), mpeg


def _decode_ffmpeg(ffmpeg: str, file_path: Path, max_duration_s: float) -> tuple[np.ndarray, int]:
    """Decode the first audio stream to float32 PCM through a pipe, at the file's own rate and
    channel count; a stated length is read first so long songs are refused before decoding."""
    name = file_path.name
    header, mpeg = _ffmpeg_probe(ffmpeg, file_path)
    sr, channels = header.sr, header.n_channels
    if mpeg is not None:
        _refuse_cut_mpeg(name, mpeg)
    header_s = None if header.estimated else header.duration_s
    if header_s is not None:
        _refuse_long(name, header_s, max_duration_s)
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
