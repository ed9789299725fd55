"""Cache keys: an entry made by other code, or with other model weights, is never reused."""

from choreo_studio.core.phrases.feature_cache import analysis_version
from choreo_studio.core.user_cache import code_hash


def test_the_hash_follows_the_bytes_of_the_data_files(tmp_path):
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    a.write_bytes(b"weights one")
    b.write_bytes(b"weights two")
    module = "choreo_studio.core.numeric"
    assert code_hash(module, data=(a,)) != code_hash(module, data=(b,))
    assert code_hash(module, data=(a,)) != code_hash(module)
    assert code_hash(module, data=(tmp_path / "missing",)) != code_hash(module, data=(a,))


def test_other_beat_network_weights_make_another_analysis_version(tmp_path):
    a, b, same = (tmp_path / f"{n}.safetensors" for n in ("a", "b", "same"))
    a.write_bytes(b"weights one")
    b.write_bytes(b"weights two")
    same.write_bytes(b"weights one")
    assert analysis_version(a) != analysis_version(b)
    assert analysis_version(a) == analysis_version(same)  # keyed by the bytes, not the path
