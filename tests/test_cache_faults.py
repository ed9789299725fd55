"""The analysis cache degrades gracefully: damaged entries are rebuilt, an unwritable cache warns
once and the work goes on without it."""

import numpy as np
import pytest
from choreo_studio.core.phrases import feature_cache
from choreo_studio.core.phrases.feature_cache import FeatureCache


def _saved_cache(tmp_path):
    cache = FeatureCache("abc", tmp_path / "cache")
    cache.save_logmel(np.ones((4, 8), dtype=np.float32), 50.0)
    return cache


@pytest.mark.parametrize("keep", [0, 10, 0.5, -1])
def test_truncated_logmel_is_a_miss_and_removed(tmp_path, keep):
    cache = _saved_cache(tmp_path)
    path = cache.folder / "logmel.npz"
    data = path.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else (len(data) + keep if keep < 0
                                                                 else keep)
    path.write_bytes(data[:cut])
    assert cache.load_logmel() is None
    assert not path.exists()
    cache.save_logmel(np.ones((4, 8), dtype=np.float32), 50.0)
    assert cache.load_logmel()[1] == 50.0


def test_garbage_analysis_json_is_a_miss(tmp_path):
    cache = FeatureCache("abc", tmp_path / "cache")
    cache.folder.mkdir(parents=True)
    (cache.folder / "analysis.json").write_text("[" * 100_000)
    assert cache.load_analysis() is None


def test_cache_path_under_a_file_warns_once(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(feature_cache, "_WARNED", False)
    blocker = tmp_path / "cache"
    blocker.write_text("not a folder")
    cache = FeatureCache("abc", blocker)
    assert cache.load_logmel() is None
    cache.save_logmel(np.ones((4, 8), dtype=np.float32), 50.0)
    cache.save_logmel(np.ones((4, 8), dtype=np.float32), 50.0)
    err = capsys.readouterr().err
    assert err.count("warning: not caching") == 1 and str(blocker) in err
    assert blocker.read_text() == "not a folder"


def test_cached_analysis_without_beats_is_a_miss(tmp_path, monkeypatch):
    from choreo_studio.core.analysis.music_analysis import MusicAnalysis

    cache = FeatureCache("abc", tmp_path / "cache")
    cache.folder.mkdir(parents=True)
    (cache.folder / "analysis.json").write_text("{}")
    fake = type("A", (), {"beats_s": np.array([])})()
    monkeypatch.setattr(MusicAnalysis, "from_dict",
                        classmethod(lambda cls, data, source="analysis": fake))
    assert cache.load_analysis() is None
    fake.beats_s = np.array([1.0, 0.5])
    assert cache.load_analysis() is None
    fake.beats_s = np.array([0.5, 1.0])
    assert cache.load_analysis() is fake
