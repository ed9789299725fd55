"""Per-phrase features (paper §3.5 sizes and documented ranges) and the content-hash cache."""


import numpy as np
import pytest
from choreo_studio.core.phrases.features import FEATURE_SIZE, resize_time
from choreo_studio.core.phrases.song import open_song
from choreo_studio.resources.demo_song import DemoSongSpec, render_demo_song


@pytest.fixture(scope="module")
def song_and_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    spec = DemoSongSpec(tempo_bpm=140, style="edm", seed=9,
                        structure=(("verse", 8), ("chorus", 8), ("verse", 4)))
    audio = render_demo_song(spec).audio()
    return audio, cache, open_song(audio, cache_dir=cache)


def test_feature_shapes_and_ranges(song_and_cache):
    _, _, song = song_and_cache
    f, n = song.features, len(song.phrases)
    assert f.mel.shape == (n, 128, 128) and f.mel.dtype == np.float32
    assert f.melody.shape == (n, 128) and f.rhythm.shape == (n, 128)
    assert f.mel.min() >= 0.0 and f.mel.max() <= 1.0 and f.mel.max() > 0.5
    assert f.melody.min() >= 0.0 and f.melody.max() <= 1.0 and f.melody.max() > 0.0
    assert set(np.unique(f.rhythm)) <= {0.0, 1.0}
    for t, p in enumerate(song.phrases):  # at least one rhythm event per beat of the phrase
        assert f.rhythm[t].sum() >= p.n_beats * 0.9


def test_second_open_is_served_by_the_cache(song_and_cache, monkeypatch):
    audio, cache, first = song_and_cache

    def not_again(*args, **kwargs):
        raise AssertionError("a cached song was analysed again")

    import choreo_studio.core.audio.spectral as spectral
    import choreo_studio.core.phrases.song as song_module

    monkeypatch.setattr(spectral, "compute_spectra", not_again)
    monkeypatch.setattr(song_module, "phrase_features", not_again)
    again = open_song(audio, cache_dir=cache)
    assert again.from_cache
    np.testing.assert_array_equal(again.features.mel, first.features.mel)
    assert again.phrases == first.phrases


def test_resize_time_averages_and_stretches():
    x = np.arange(256, dtype=np.float32)[None, :]
    shrunk = resize_time(x, 0, 256)
    np.testing.assert_allclose(shrunk[0], np.arange(128) * 2 + 0.5, atol=1e-4)
    stretched = resize_time(x, 10, 42)
    assert stretched.shape == (1, FEATURE_SIZE)
    assert stretched[0, 0] == pytest.approx(10.0) and stretched[0, -1] == pytest.approx(41.0)


def test_resize_time_is_exact_late_in_a_long_song():
    x = np.random.default_rng(0).random((4, 160_000)).astype(np.float32)  # ~62 min of frames
    start = x.shape[1] - 128 * 3
    got = resize_time(x, start, x.shape[1])
    want = x[:, start:].astype(np.float64).reshape(4, 128, 3).mean(axis=-1)
    np.testing.assert_allclose(got, want, atol=1e-6)  # a whole-song float32 cumsum is off ~4e-3
