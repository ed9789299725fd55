"""MP3s load to their full length whatever their tags or headers; only truly cut files are refused.

The files are written by libsndfile's MP3 encoder in the test, then made into what users' folders
hold: a 100 KB ID3v2 tag (embedded album art) in front and no Xing/Info frame (LAME's ``-t``,
many tag editors). libsndfile's own length for such a file is a guess from the file size.
"""

import numpy as np
import pytest
import soundfile as sf
from choreo_studio.core.audio.load import load_audio, probe_audio
from choreo_studio.core.audio.mpeg_frames import scan_mpeg
from choreo_studio.core.errors import ChoreoError

from tests.audio_fixtures import click_track

if "MP3" not in sf.available_formats():
    pytest.skip("this libsndfile cannot write MP3", allow_module_level=True)

SR = 44100
_MPEG1_L3_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)


def _song(kind: str) -> np.ndarray:
    """Stereo test music of a known length: clicks (CBR-like), or loud noise then near-silence
    (VBR frames that shrink, so a size-based guess from the first frames is far too short)."""
    y, _, _ = click_track(120, 4, n_bars=5, sr=SR)
    if kind == "vbr":
        noise = np.random.default_rng(0).standard_normal(y.size).astype(np.float32) * 0.3
        y = np.where(np.arange(y.size) < 3 * SR, noise, 0.05 * y).astype(np.float32)
    return np.stack([y, 0.5 * y], axis=1)


def _frames(mp3: bytes) -> list[bytes]:
    """The frames of a clean MPEG-1 Layer III stream at ``SR``, split by their headers."""
    frames, pos = [], 0
    while pos + 4 <= len(mp3):
        assert mp3[pos : pos + 2] == b"\xff\xfb"
        size = 144 * _MPEG1_L3_KBPS[mp3[pos + 2] >> 4] * 1000 // SR + ((mp3[pos + 2] >> 1) & 1)
        frames.append(mp3[pos : pos + size])
        pos += size
    return frames


def _encode(tmp_path, kind: str) -> tuple[list[bytes], float]:
    """libsndfile's MP3 of ``_song(kind)`` as frames (the first is its Xing/Info frame) and the
    true length in seconds."""
    samples = _song(kind)
    encoded = tmp_path / "encoded.mp3"
    mode = "VARIABLE" if kind == "vbr" else "CONSTANT"  # CBR: 160 kbit/s, 200 KB of frames
    sf.write(encoded, samples, SR, format="MP3", bitrate_mode=mode, compression_level=0.5)
    frames = _frames(encoded.read_bytes())
    assert frames[0][36:40] in (b"Xing", b"Info")  # MPEG-1 stereo: after 32 bytes of side info
    return frames, samples.shape[0] / SR


def _album_art_tag(n_bytes: int = 100_000) -> bytes:
    """An ID3v2.3 tag holding one APIC (picture) frame of random bytes, as embedded art is."""
    picture = np.random.default_rng(1).integers(0, 256, n_bytes, dtype=np.uint8).tobytes()
    body = b"\x00image/jpeg\x00\x03\x00" + picture
    frame = b"APIC" + len(body).to_bytes(4, "big") + b"\x00\x00" + body
    size = len(frame)
    syncsafe = bytes((size >> shift) & 0x7F for shift in (21, 14, 7, 0))
    return b"ID3\x03\x00\x00" + syncsafe + frame


def _write(tmp_path, kind: str, *, xing: bool = False, name: str = "song.mp3"):
    """An MP3 of ``_song(kind)`` with album art; returns (path, true length in seconds)."""
    frames, length_s = _encode(tmp_path, kind)
    path = tmp_path / name
    path.write_bytes(_album_art_tag() + b"".join(frames if xing else frames[1:]))
    return path, length_s


def _cut(path, fraction: float):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


@pytest.mark.parametrize("kind", ["cbr", "vbr"])
def test_tagged_mp3_without_xing_loads_its_full_length(tmp_path, kind):
    path, length_s = _write(tmp_path, kind)
    guess_s = sf.info(str(path)).frames / SR
    assert abs(guess_s - length_s) > 1.0  # libsndfile's own length is a wrong size-based guess
    audio = load_audio(path)
    assert audio.sr == SR and audio.n_channels == 2
    assert audio.duration_s == pytest.approx(length_s, abs=0.1)
    tail = audio.samples[int((length_s - 2.0) * SR) :]
    assert np.abs(tail).max() > 0.01  # the clicks of the last bars are there
    info = probe_audio(path)
    assert not info.estimated and info.duration_s == pytest.approx(length_s, abs=0.1)


def test_frame_walk_counts_the_frames(tmp_path):
    path, length_s = _write(tmp_path, "cbr", xing=True)
    stream = scan_mpeg(path)
    assert stream is not None and stream.sr == SR and stream.samples_per_frame == 1152
    assert stream.announced_frames == stream.n_frames and not stream.cut_frame
    assert stream.duration_s == pytest.approx(length_s, abs=3 * 1152 / SR)
    assert scan_mpeg(tmp_path / "encoded.mp3") == stream  # the ID3 tag in front changes nothing


@pytest.mark.parametrize("xing", [False, True], ids=["no-xing", "xing"])
def test_mp3_cut_at_60_percent_is_refused_in_one_line(tmp_path, xing):
    path, _ = _write(tmp_path, "cbr", xing=xing, name="cut.mp3")
    _cut(path, 0.6)
    with pytest.raises(ChoreoError, match="truncated") as err:
        load_audio(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith("cut.mp3: ") and "re-download" in message


def test_xing_frame_is_trusted_when_the_cut_falls_between_frames(tmp_path):
    frames, _ = _encode(tmp_path, "cbr")
    path = tmp_path / "cut.mp3"
    path.write_bytes(_album_art_tag() + b"".join(frames[: len(frames) // 2]))
    assert not scan_mpeg(path).cut_frame  # every frame is whole: only the Xing frame can tell
    with pytest.raises(ChoreoError, match="truncated.*its header announces"):
        load_audio(path)


def test_long_mp3_without_xing_is_refused_before_decoding(tmp_path):
    path, _ = _write(tmp_path, "cbr")
    with pytest.raises(ChoreoError, match="min long"):
        load_audio(path, max_duration_s=5.0)
