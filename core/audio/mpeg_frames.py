"""MPEG audio (MP3/MP2) frame walk: the length an MP3 really holds, and whether its end is cut.

A file without a Xing/Info/VBRI frame has no header that states its length; decoders then guess
from the file size (wrong with album art or VBR). Walking the frame headers gives the true frame
count and shows a last frame that ends mid-way — the sign of a truncated file.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_BITRATES_KBPS = {
    (1, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (1, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (1, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (2, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (2, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (2, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_STREAM_BITS = 0xFE0C
"""Bits of header bytes 1–2 that stay fixed within one stream: version, layer, sample rate."""
_FIRST_FRAME_SEARCH = 1 << 20
"""How far past the ID3v2 tags the first frame is looked for (encoders' junk is far smaller)."""


@dataclass(frozen=True)
class MpegStream:
    """What an MPEG audio file's frame headers say: rate, frames found, frames announced."""

    sr: int
    samples_per_frame: int
    n_frames: int
    """Complete audio frames found (a Xing/Info/VBRI frame is not audio and not counted)."""
    announced_frames: int | None
    """Audio frames a Xing/Info/VBRI frame announces, or None when the file has none."""
    cut_frame: bool
    """True when the last frame's header announces more bytes than the file still holds."""

    @property
    def duration_s(self) -> float:
        """Length of the frames found (encoder delay and padding included, ~0.05 s)."""
        return self.n_frames * self.samples_per_frame / float(self.sr)

    @property
    def announced_s(self) -> float | None:
        """Length the Xing/Info/VBRI frame announces, or None without one."""
        if self.announced_frames is None:
            return None
        return self.announced_frames * self.samples_per_frame / float(self.sr)


@cache
def _frame_table() -> tuple[tuple[int, int, int], ...]:
    """(frame bytes without padding, samples per frame, sample rate) for each value of header
    bytes 1–2 (byte 0 is the 0xFF sync); zeros where the header is invalid or free-format."""
    table = []
    for key in range(1 << 16):
        b1, b2 = key >> 8, key & 0xFF
        version, layer = (b1 >> 3) & 3, 4 - ((b1 >> 1) & 3)
        bitrate_index, rate_index = b2 >> 4, (b2 >> 2) & 3
        if b1 & 0xE0 != 0xE0 or version == 1 or layer == 4 or rate_index == 3:
            table.append((0, 0, 0))
            continue
        if bitrate_index in (0, 15):
            table.append((0, 0, 0))
            continue
        kbps = _BITRATES_KBPS[(1 if version == 3 else 2, layer)][bitrate_index]
        sr = _SAMPLE_RATES[version][rate_index]
        if layer == 1:
            table.append((12 * kbps * 1000 // sr * 4, 384, sr))
        elif layer == 3 and version != 3:
            table.append((72 * kbps * 1000 // sr, 576, sr))
        else:
            table.append((144 * kbps * 1000 // sr, 1152, sr))
    return tuple(table)


def _frame_at(data: mmap.mmap | bytes, pos: int) -> tuple[int, int, int, int]:
    """(frame bytes, samples per frame, sample rate, stream bits) of a header at ``pos``;
    frame bytes is 0 when no valid header starts there."""
    if pos + 4 > len(data) or data[pos] != 0xFF:
        return 0, 0, 0, 0
    key = (data[pos + 1] << 8) | data[pos + 2]
    size, spf, sr = _frame_table()[key]
    if size == 0:
        return 0, 0, 0, 0
    padding = (data[pos + 2] >> 1) & 1
    return size + (4 * padding if spf == 384 else padding), spf, sr, key & _STREAM_BITS


def _audio_start(data: mmap.mmap) -> int:
    """Offset after the ID3v2 tags that open the file (each: 10-byte header + syncsafe size)."""
    pos = 0
    while data[pos : pos + 3] == b"ID3" and pos + 10 <= len(data):
        size_bytes = data[pos + 6 : pos + 10]
        size = 0
        for byte in size_bytes:
            size = (size << 7) | (byte & 0x7F)
        pos += 10 + size + (10 if data[pos + 5] & 0x10 else 0)
    return pos


def _audio_end(data: mmap.mmap) -> int:
    """Offset where the trailing tags (ID3v1, APEv2) begin, i.e. the end of the frames."""
    end = len(data)
    if end >= 128 and data[end - 128 : end - 125] == b"TAG":
        end -= 128
    if end >= 32 and data[end - 32 : end - 24] == b"APETAGEX":
        size = int.from_bytes(data[end - 20 : end - 16], "little")
        has_header = data[end - 9] & 0x80
        end -= size + (32 if has_header else 0)
    return max(end, 0)


def _synced_frame(data: mmap.mmap, pos: int, limit: int, stream: int | None) -> int:
    """Offset of the next header from ``pos`` (before ``limit``) that is followed by another
    header of the same stream — two in a row rule out sync bytes inside audio data; -1 if none."""
    while True:
        pos = data.find(b"\xff", pos, limit)
        if pos < 0:
            return -1
        size, _, _, bits = _frame_at(data, pos)
        if size and (stream is None or bits == stream):
            next_size, _, _, next_bits = _frame_at(data, pos + size)
            if next_size and next_bits == bits:
                return pos
        pos += 1


def _tag_frame(data: mmap.mmap, pos: int, sr: int) -> tuple[bool, int | None]:
    """(is a Xing/Info/VBRI frame, audio frames it announces or None) for the frame at ``pos``."""
    mono = (data[pos + 3] >> 6) == 3
    side_info = (17 if mono else 32) if sr >= 32000 else (9 if mono else 17)
    xing = pos + 4 + side_info
    if data[xing : xing + 4] in (b"Xing", b"Info"):
        flags = int.from_bytes(data[xing + 4 : xing + 8], "big")
        return True, int.from_bytes(data[xing + 8 : xing + 12], "big") if flags & 1 else None
    if data[pos + 36 : pos + 40] == b"VBRI":
        return True, int.from_bytes(data[pos + 50 : pos + 54], "big")
    return False, None


def scan_mpeg(path: str | Path) -> MpegStream | None:
    """Walk the frames of an MPEG audio file; None when no MPEG audio stream is found in it."""
    with open(path, "rb") as fh:
        try:
            data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file cannot be mapped
            return None
    with data:
        return _walk(data)


def _walk(data: mmap.mmap) -> MpegStream | None:
    """Count the frames from the first synced header to the trailing tags, resyncing over junk."""
    start, end = _audio_start(data), _audio_end(data)
    pos = _synced_frame(data, start, min(start + _FIRST_FRAME_SEARCH, end), None)
    if pos < 0:
        return None
    _, spf, sr, stream = _frame_at(data, pos)
    is_tag, announced = _tag_frame(data, pos, sr)
    if is_tag:
        pos += _frame_at(data, pos)[0]
    n_frames, cut = 0, False
    while pos < end:
        size, _, _, bits = _frame_at(data, pos)
        if size == 0 or bits != stream:
            pos = _synced_frame(data, pos + 1, end, stream)
            if pos < 0:
                break
            continue
        if pos + size > end:
            cut = True
            break
        n_frames += 1
        pos += size
    return MpegStream(sr, spf, n_frames, announced, cut)
