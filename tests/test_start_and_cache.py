"""Streamed decode and warm songs: stream_audio gives load_audio's analysis signal without the
native samples, and a cached song file opens by its fingerprint without decoding."""

import os

import numpy as np
import pytest
import soundfile as sf
from audio_fixtures import drum_track
from choreo_studio.core.audio import decode
from choreo_studio.core.audio.envelope import WaveEnvelope
from choreo_studio.core.audio.load import load_audio, stream_audio
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.phrases.feature_cache import FeatureCache, cached_audio
from choreo_studio.core.phrases.song import open_song


def _stereo_44k(path, n_bars=16):
    """A drum track at 44.1 kHz, stereo (right channel quieter): resampled and down-mixed."""
    y22, _, _ = drum_track(120.0, n_bars=n_bars)
    y = np.repeat(y22, 2)  # 44.1 kHz (sample-and-hold: still a real drum track)
    sf.write(path, np.stack([y, 0.5 * y], axis=1), 44100, subtype="FLOAT")
    return path


@pytest.fixture(scope="module")
def song_file(tmp_path_factory):
    return _stereo_44k(tmp_path_factory.mktemp("song") / "drums.wav")


def _refuse_decoding(monkeypatch):
    def no_decode(*args, **kwargs):
        raise AssertionError("the song was decoded")

    monkeypatch.setattr(decode, "open_decoder", no_decode)
    monkeypatch.setattr(decode, "decode_all", no_decode)


def test_stream_audio_is_load_audio_without_the_samples(song_file):
    full, streamed = load_audio(song_file), stream_audio(song_file)
    assert not streamed.decoded and full.decoded
    assert (streamed.sr, streamed.n_channels, streamed.n_frames) == (44100, 2, full.n_frames)
    assert streamed.content_hash == full.content_hash
    np.testing.assert_array_equal(streamed.mono(), full.mono())
    want = WaveEnvelope.of_samples(full.samples, full.sr)
    np.testing.assert_array_equal(streamed.envelope.hi, want.hi)
    np.testing.assert_array_equal(streamed.envelope.lo, want.lo)
    assert want.hi.size == full.n_frames // 256
    np.testing.assert_array_equal(streamed.samples, full.samples)  # decoded on first use
    assert streamed.decoded


def test_envelope_is_min_max_per_bucket_over_channels():
    samples = np.zeros((1000, 2), dtype=np.float32)
    samples[300, 1], samples[600, 0] = 0.75, -0.5
    env = WaveEnvelope.of_samples(samples, 8000)
    np.testing.assert_array_equal(env.hi, [0.0, 0.75, 0.0])  # 1000 // 256 whole buckets
    np.testing.assert_array_equal(env.lo, [0.0, 0.0, -0.5])
    assert env.bucket_s == 256 / 8000


def test_stream_audio_refuses_what_load_audio_refuses(tmp_path):
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(22050, dtype=np.float32), 22050)
    for loader in (load_audio, stream_audio):
        with pytest.raises(ChoreoError, match="all silence"):
            loader(silent)
    cut = tmp_path / "cut.wav"
    _stereo_44k(tmp_path / "whole.wav", n_bars=4)
    cut.write_bytes((tmp_path / "whole.wav").read_bytes()[:-200_000])
    for loader in (load_audio, stream_audio):
        with pytest.raises(ChoreoError, match="truncated"):
            loader(cut)
    with pytest.raises(ChoreoError, match="min long"):
        stream_audio(tmp_path / "whole.wav", max_duration_s=3.0)


def test_a_cached_song_opens_without_decoding(song_file, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    cold = open_song(song_file, cache_dir=cache_dir)
    assert not cold.from_cache and not cold.audio.decoded
    _refuse_decoding(monkeypatch)
    warm = open_song(song_file, cache_dir=cache_dir)
    assert warm.from_cache and not warm.audio.decoded
    assert warm.content_hash == cold.content_hash
    assert (warm.audio.sr, warm.audio.n_channels, warm.audio.n_frames) == (
        cold.audio.sr, cold.audio.n_channels, cold.audio.n_frames)
    assert warm.analysis.to_dict() == cold.analysis.to_dict()
    assert [p.to_dict() for p in warm.phrases] == [p.to_dict() for p in cold.phrases]
    for name, array in cold.features.arrays().items():
        np.testing.assert_array_equal(warm.features.arrays()[name], array)
    np.testing.assert_array_equal(warm.audio.envelope.hi,
                                  cold.audio.envelope.hi.astype(np.float16))


def test_a_touched_song_is_decoded_once_then_warm_again(song_file, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    open_song(song_file, cache_dir=cache_dir)
    stat = os.stat(song_file)
    os.utime(song_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert cached_audio(song_file, cache_dir) is None  # a new fingerprint: not trusted blindly
    again = open_song(song_file, cache_dir=cache_dir)  # decodes to hash it, analysis cached
    assert again.from_cache
    _refuse_decoding(monkeypatch)
    assert open_song(song_file, cache_dir=cache_dir).from_cache


def test_cached_analysis_round_trips_its_saved_form(song_file, tmp_path):
    song = open_song(song_file, cache_dir=tmp_path / "cache")
    cache = FeatureCache(song.content_hash, tmp_path / "cache")
    assert (cache.folder / "analysis-arrays.npz").is_file()
    assert cache.load_analysis().to_dict() == song.analysis.to_dict()
    (cache.folder / "analysis-arrays.npz").write_bytes(b"PK\x03\x04 damaged")
    assert cache.load_analysis() is None
    assert cached_audio(song_file, tmp_path / "cache") is not None  # analysis.json still there
    assert open_song(song_file, cache_dir=tmp_path / "cache").analysis.to_dict() == (
        song.analysis.to_dict())
