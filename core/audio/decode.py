"""Song files decoded block by block: one decoder per kind of file, the same checks for all.

libsndfile decodes WAV/FLAC/OGG and MP3s whose length it knows; the ffmpeg binary bundled with
imageio-ffmpeg decodes m4a/aac, MP3s without a length header and anything else ffmpeg reads;
audioread is the last resort. :func:`open_decoder` refuses a song longer than the limit before
decoding when a header states its length; checks that need the whole file (cut short, corrupt)
raise a one-line ChoreoError when the last block has been read. Blocks let the analysis stream a
long song to its mono signal without holding every native sample (``load.stream_audio``).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from choreo_studio.core.audio.load import AudioInfo
from choreo_studio.core.audio.mpeg_frames import MpegStream, scan_mpeg
from choreo_studio.core.errors import ChoreoError

BLOCK_FRAMES = 1 << 16
"""Sample frames per decoded block (libsndfile)."""

_PIPE_BYTES = 1 << 20
"""Bytes read from ffmpeg's pipe at once."""


@dataclass
class Decoder:
    """A song file being decoded: its rate, channel count and float32 [n, channels] blocks
    (iterate them once, to the end: the last checks run after the last block)."""

    sr: int
    n_channels: int
    blocks: Iterator[np.ndarray]


def open_decoder(file_path: Path, max_duration_s: float) -> Decoder:
    """A decoder for ``file_path``: libsndfile for what it reads exactly, else the bundled ffmpeg
    (m4a, aac, MP3s without a length header, …), else audioread."""
    info = _soundfile_info(file_path)
    if info is not None and info.format == "MP3":
        return _mp3_decoder(file_path, info, max_duration_s)
    if info is not None:
        return _soundfile_decoder(file_path, info, max_duration_s)
    return _other_decoder(file_path, max_duration_s)


def decode_all(file_path: Path, max_duration_s: float) -> tuple[np.ndarray, int]:
    """Every sample, float32 [n, channels], and the rate."""
    decoder = open_decoder(file_path, max_duration_s)
    parts = list(decoder.blocks)
    if not parts:
        return np.zeros((0, decoder.n_channels), dtype=np.float32), decoder.sr
    return (parts[0] if len(parts) == 1 else np.concatenate(parts)), decoder.sr


def _soundfile_info(file_path: Path):  # soundfile's info type is private
    """libsndfile's header info, or None when libsndfile cannot open the file."""
    import soundfile as sf

    try:
        return sf.info(str(file_path))
    except Exception:  # noqa: BLE001 - libsndfile cannot open it: another decoder will try
        return None


def _other_decoder(file_path: Path, max_duration_s: float) -> Decoder:
    """Decode to the end with the bundled ffmpeg, or audioread when imageio-ffmpeg is absent."""
    ffmpeg = _bundled_ffmpeg()
    if ffmpeg is not None:
        return _ffmpeg_decoder(ffmpeg, file_path, max_duration_s)
    return _audioread_decoder(file_path, max_duration_s)


def _soundfile_blocks(file_path: Path) -> Iterator[np.ndarray]:
    """The blocks libsndfile decodes (float32 [n, channels]); a decoder error is a ChoreoError."""
    import soundfile as sf

    try:
        with sf.SoundFile(str(file_path)) as fh:
            while (block := fh.read(BLOCK_FRAMES, dtype="float32", always_2d=True)).shape[0]:
                yield block
    except Exception as exc:  # noqa: BLE001 - any decoder failure is the file's fault
        raise ChoreoError(
            f"{file_path.name}: audio data is truncated or corrupt ({_short(exc)}) — re-export "
            "or re-download the song"
        ) from None


def _soundfile_decoder(file_path: Path, info, max_duration_s: float) -> Decoder:
    """WAV/FLAC/OGG/…: the length in their headers is exact, so a shorter decode is a cut file."""
    name, sr = file_path.name, int(info.samplerate)
    _refuse_long(name, info.frames / float(sr), max_duration_s)

    def blocks() -> Iterator[np.ndarray]:
        n = 0
        for block in _soundfile_blocks(file_path):
            n += block.shape[0]
            yield block
        if info.frames > 0 and n < 0.98 * info.frames or _container_truncated(
            file_path, info.format
        ):
            raise ChoreoError(
                f"{name}: file is truncated (it ends after {n / sr:.1f} s, before the end its "
                "header announces) — re-export or re-download the song"
            )

    return Decoder(sr, int(info.channels), blocks())


def _mp3_decoder(file_path: Path, info, max_duration_s: float) -> Decoder:
    """MP3: judged by its frames (and its Xing/Info/VBRI frame when present); decoded by
    libsndfile when libsndfile's length covers every frame, else to the end by ffmpeg — without
    a length header libsndfile stops at its guess from the file size (ID3 art, VBR)."""
    name, sr = file_path.name, int(info.samplerate)
    stream = scan_mpeg(file_path)
    if stream is None:  # frames that cannot be walked (free-format bitrate): decode to the end
        return _other_decoder(file_path, max_duration_s)
    _refuse_long(name, _mpeg_length(stream, 0.0)[0], max_duration_s)
    _refuse_cut_mpeg(name, stream)
    slack = 3 * stream.samples_per_frame  # encoder delay and padding that decoders trim
    in_frames = stream.n_frames * stream.samples_per_frame
    if info.frames < in_frames - slack:
        return _other_decoder(file_path, max_duration_s)

    def blocks() -> Iterator[np.ndarray]:
        n = 0
        for block in _soundfile_blocks(file_path):
            n += block.shape[0]
            yield block
        if n < in_frames - slack:
            raise ChoreoError(
                f"{name}: audio data is corrupt (only {n / sr:.1f} s of the "
                f"{stream.duration_s:.1f} s in its frames decode) — re-export or re-download "
                "the song"
            )

    return Decoder(sr, int(info.channels), blocks())


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


def _audioread_decoder(file_path: Path, max_duration_s: float) -> Decoder:
    """Fallback decoder (ffmpeg/GStreamer through audioread) for formats libsndfile lacks."""
    name = file_path.name
    try:
        import audioread
    except ImportError:
        raise ChoreoError(f"{name}: not a readable audio file — use wav, flac, ogg or mp3"
                          ) from None
    unreadable = ChoreoError(
        f"{name}: not a readable audio file (no decoder could open it) — use wav, flac, ogg or mp3"
    )
    try:
        reader = audioread.audio_open(str(file_path))  # its duration may be a guess
    except Exception:  # noqa: BLE001 - no backend could open it
        raise unreadable from None
    channels, sr = int(reader.channels), int(reader.samplerate)

    def blocks() -> Iterator[np.ndarray]:
        max_samples = int((max_duration_s + 1.0) * sr * channels)
        n_read, carry = 0, np.zeros(0, dtype=np.float32)
        try:
            with reader:
                for buf in reader:
                    flat = np.concatenate([carry, np.frombuffer(buf, dtype="<i2") / 32768.0]
                                          ).astype(np.float32)
                    n_read += flat.size - carry.size
                    if n_read > max_samples:
                        _refuse_long(name, n_read / float(sr * channels), max_duration_s)
                    usable = flat.size - flat.size % channels
                    carry = flat[usable:]
                    if usable:
                        yield flat[:usable].reshape(-1, channels)
        except ChoreoError:
            raise
        except Exception:  # noqa: BLE001 - no backend could decode it
            raise unreadable from None

    return Decoder(sr, channels, blocks())


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


def _ffmpeg_decoder(ffmpeg: str, file_path: Path, max_duration_s: float) -> Decoder:
    """Decode the first audio stream to float32 PCM through a pipe, at the file's own rate and
    channel count; a stated length is read first so long songs are refused before decoding."""
    name = file_path.name
    header, mpeg = _ffmpeg_probe(ffmpeg, file_path)
    if mpeg is not None:
        _refuse_cut_mpeg(name, mpeg)
    header_s = None if header.estimated else header.duration_s
    if header_s is not None:
        _refuse_long(name, header_s, max_duration_s)
    return Decoder(header.sr, header.n_channels,
                   _ffmpeg_blocks(ffmpeg, file_path, header.sr, header.n_channels, header_s,
                                  max_duration_s))


def _ffmpeg_blocks(ffmpeg: str, file_path: Path, sr: int, channels: int, header_s: float | None,
                   max_duration_s: float) -> Iterator[np.ndarray]:
    """float32 [n, channels] blocks from ffmpeg's pipe; cut or failed decodes raise at the end."""
    name = file_path.name
    command = [
        ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", str(file_path), "-map", "0:a:0",
        "-vn", "-f", "f32le", "-acodec", "pcm_f32le", "-ac", str(channels), "-ar", str(sr),
        "pipe:1",
    ]
    max_bytes = int((max_duration_s + 1.0) * sr * channels * 4)
    frame_bytes = 4 * channels
    n_read, carry = 0, b""
    with tempfile.TemporaryFile() as errors, subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=errors
    ) as proc:
        assert proc.stdout is not None
        while block := proc.stdout.read(_PIPE_BYTES):
            n_read += len(block)
            if n_read > max_bytes:
                proc.kill()
                _refuse_long(name, n_read / (4.0 * sr * channels), max_duration_s)
            data = carry + block
            usable = len(data) - len(data) % frame_bytes
            carry = data[usable:]
            if usable:
                yield np.frombuffer(data[:usable], dtype="<f4").astype(np.float32).reshape(
                    -1, channels)
        returncode = proc.wait()
        errors.seek(0)
        error_text = errors.read().decode("utf-8", "replace")
    decoded_s = (n_read // frame_bytes) / float(sr)
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
