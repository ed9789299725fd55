"""A model bundle holds a dance-head T (real libraries): its phrase inputs and pair cues
travel as buffers in the safetensors file, its sizes in model.json, and the loaded network
scores mel + music-side inputs exactly as the one saved; a malformed head is one line."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.retrieval.model_bundle import ModelBundle, make_bundle, save_bundle
from choreo_studio.core.retrieval.networks import DANCE_CUES, DanceHeadSpec, RetrievalNetwork
from choreo_studio.core.retrieval.presets import get_preset

K, N_INPUTS, N_MUSIC = 6, 5, 11


def _network():
    torch.manual_seed(0)
    net = RetrievalNetwork(get_preset("tiny").network, K, head=DanceHeadSpec(N_INPUTS, N_MUSIC,
                                                                               True))
    net.predictor.out.dance_inputs.copy_(torch.randn(K, N_INPUTS))
    net.predictor.cues.dance_cues.copy_(torch.rand(K, len(DANCE_CUES)) * 100)
    with torch.no_grad():
        net.predictor.cues.weight.add_(torch.randn(net.predictor.cues.weight.shape))
    return net.eval()


def _library():
    phrases = [SimpleNamespace(id=f"d{i}", name=f"Dance {i}") for i in range(K)]
    return SimpleNamespace(name="real", fingerprint="fp-real", phrases=phrases)


@torch.no_grad()
def test_a_dance_head_bundle_round_trips_with_its_buffers(tmp_path):
    net = _network()
    path = save_bundle(make_bundle(net, get_preset("tiny"), np.ones((K, K)), _library()),
                       tmp_path / "real.choreomodel")
    config = json.loads((path / "model.json").read_text())
    assert config["head"] == {"kind": "dance", "n_inputs": N_INPUTS, "n_music": N_MUSIC,
                              "pair_cues": True}
    loaded = ModelBundle.load(path)
    assert loaded.head == DanceHeadSpec(N_INPUTS, N_MUSIC, True)
    mel, music = torch.randn(3, 128, 128), torch.rand(3, N_MUSIC) * 10
    rebuilt = loaded.build_network()
    torch.testing.assert_close(rebuilt.predictor.cues.dance_cues, net.predictor.cues.dance_cues)
    torch.testing.assert_close(rebuilt(mel, music), net(mel, music))


def test_a_malformed_head_is_a_one_line_error(tmp_path):
    path = save_bundle(make_bundle(_network(), get_preset("tiny"), np.ones((K, K)), _library()),
                       tmp_path / "real.choreomodel")
    config = json.loads((path / "model.json").read_text())
    for head in ({"kind": "dance", "n_inputs": 0, "n_music": 1, "pair_cues": True},
                 {"kind": "other", "n_inputs": 5, "n_music": 1, "pair_cues": True},
                 {"kind": "dance", "n_inputs": 5, "n_music": 1, "pair_cues": "yes"}):
        (path / "model.json").write_text(json.dumps({**config, "head": head}))
        with pytest.raises(ChoreoError) as err:
            ModelBundle.load(path)
        assert "\n" not in str(err.value) and "model.json" in str(err.value)
