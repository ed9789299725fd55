"""Hostile model bundles: wrong shapes, NaN weights, bad config fields are one ChoreoError line."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.retrieval.model_bundle import load_bundle, make_bundle, save_bundle
from choreo_studio.core.retrieval.model_files import CONFIG_NAME, WEIGHTS_NAME
from choreo_studio.core.retrieval.networks import RetrievalNetwork
from choreo_studio.core.retrieval.presets import get_preset
from safetensors.torch import load_file, save_file


def _library(k=4):
    phrases = [SimpleNamespace(id=f"d{i}") for i in range(k)]
    return SimpleNamespace(name="demo", fingerprint="fp", phrases=phrases)


@pytest.fixture(scope="module")
def bundle_path(tmp_path_factory):
    preset = get_preset("tiny")
    torch.manual_seed(0)
    net = RetrievalNetwork(preset.network, 4)
    bundle = make_bundle(net, preset, np.full((4, 4), 0.25), _library())
    return save_bundle(bundle, tmp_path_factory.mktemp("b") / "m.choreomodel")


def _copy(src, dst, *, config=None, tensors=None):
    dst.mkdir()
    cfg = json.loads((src / CONFIG_NAME).read_text())
    (dst / CONFIG_NAME).write_text(json.dumps(config(cfg) if config else cfg))
    weights = load_file(str(src / WEIGHTS_NAME))
    save_file(tensors(weights) if tensors else weights, str(dst / WEIGHTS_NAME))
    return dst


def _one_line_error(path, match):
    with pytest.raises(ChoreoError, match=match) as info:
        load_bundle(path).build_network()
    assert "\n" not in str(info.value)
    return str(info.value)


def test_wrong_predictor_shape_names_the_tensor(bundle_path, tmp_path):
    def shrink(w):
        key = next(k for k in w if k.startswith("predictor.") and w[k].ndim == 2)
        w[key] = w[key][:, :-1].contiguous()
        return w

    message = _one_line_error(_copy(bundle_path, tmp_path / "x", tensors=shrink), "wrong shape")
    assert "predictor." in message and "size mismatch" not in message


def test_missing_and_unknown_tensors(bundle_path, tmp_path):
    def drop(w):
        w.pop(next(k for k in w if k.startswith("encoder.")))
        return w

    _one_line_error(_copy(bundle_path, tmp_path / "a", tensors=drop), "tensors missing")

    def add(w):
        w["extra.weight"] = torch.zeros(2)
        return w

    _one_line_error(_copy(bundle_path, tmp_path / "b", tensors=add), "unknown tensors")


@pytest.mark.parametrize("key", ["predictor", "transition_matrix"])
def test_nan_weights_or_transitions_are_refused(bundle_path, tmp_path, key):
    def poison(w):
        name = next(k for k in w if k.startswith(key) and w[k].is_floating_point())
        w[name] = w[name].clone()
        w[name].view(-1)[0] = float("nan")
        return w

    _one_line_error(_copy(bundle_path, tmp_path / "x", tensors=poison), "NaN or infinite")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda c: {**c, "library": "demo"}, "field 'library' must be a JSON object"),
        (lambda c: {**c, "n_dances": "four"}, "field 'n_dances' must be an integer"),
        (lambda c: {**c, "n_dances": 5}, "field 'dance_ids' has 4 items"),
        (lambda c: {**c, "dance_ids": [1, 2, 3, 4]}, r"field 'dance_ids\[0\]' must be a string"),
        (lambda c: {**c, "format_version": True}, "format_version True is not supported"),
        (lambda c: {**c, "preset": {**c["preset"], "network": {
            **c["preset"]["network"], "base_width": 10**9}}},
         "field 'preset.network.base_width' must be between"),
        (lambda c: {**c, "preset": {**c["preset"], "network": {
            **c["preset"]["network"], "blocks": [1, 1]}}}, "field 'preset.network.blocks' has 2"),
        (lambda c: [c], "must be a JSON object"),
    ],
)
def test_bad_config_fields_name_the_field(bundle_path, tmp_path, change, match):
    _one_line_error(_copy(bundle_path, tmp_path / "x", config=change), match)


def test_deeply_nested_config(bundle_path, tmp_path):
    path = _copy(bundle_path, tmp_path / "x")
    (path / CONFIG_NAME).write_text("[" * 50_000 + "]" * 50_000)
    _one_line_error(path, "nested 50000 levels")


def test_truncated_weights(bundle_path, tmp_path):
    path = _copy(bundle_path, tmp_path / "x")
    data = (path / WEIGHTS_NAME).read_bytes()
    (path / WEIGHTS_NAME).write_bytes(data[: len(data) // 2])
    _one_line_error(path, "cannot read weights")


def test_overflowing_weights_give_a_one_line_error_not_nan_scores(bundle_path, tmp_path):
    from choreo_studio.core.progress import no_progress
    from choreo_studio.core.retrieval.network_scoring import NetworkScorer

    def blow_up(w):
        for k in w:
            if k.startswith("predictor.") and w[k].is_floating_point() and w[k].ndim == 2:
                w[k] = torch.full_like(w[k], 1e38)
        return w

    bundle = load_bundle(_copy(bundle_path, tmp_path / "x", tensors=blow_up))
    scorer = NetworkScorer(bundle, _library())
    song = SimpleNamespace(features=SimpleNamespace(
        mel=np.random.default_rng(0).random((2, 128, 128)).astype(np.float32)))
    with pytest.raises(ChoreoError, match="NaN or infinite scores"):
        scorer._compute(song, no_progress)
