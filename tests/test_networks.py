"""Network shapes on the paper preset (Tables 3–6) and the structure of the smaller presets."""

import pytest
import torch
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.retrieval.networks import (
    Encoder,
    Predictor,
    RetrievalNetwork,
    SequenceDecoder,
    SpectrogramDecoder,
)
from choreo_studio.core.retrieval.presets import PRESETS, Preset, get_preset

PAPER = get_preset("paper").network


@torch.no_grad()
def test_f_t_is_temporal():
    """The image the encoder convolves has height = time, so f_t's 4 steps follow time."""
    encoder = Encoder(PRESETS["tiny"].network).eval()
    seen = []
    encoder.conv1.register_forward_hook(lambda module, inp, out: seen.append(inp[0]))
    mel = torch.randn(1, 128, 128)  # [mel band, time] as in SongFeatures.mel
    encoder(mel)
    torch.testing.assert_close(seen[0][0, 0], mel[0].T)


@torch.no_grad()
def test_paper_encoder_gives_u_512_and_f_t_512x4():
    encoder = Encoder(PAPER).eval()
    f_t, u = encoder(torch.randn(1, 128, 128))
    assert f_t.shape == (1, 512, 4)
    assert u.shape == (1, 512)
    # u is the average of f_t over time (embedding = AdaptiveAvgPool2d((1, None)) on f_t)
    torch.testing.assert_close(u, f_t.mean(dim=2))
    # ResNet50 3/4/6/3 bottlenecks; Conv_6 maps 2048 → 512 channels
    assert [len(s) for s in (encoder.conv2, encoder.conv3, encoder.conv4, encoder.conv5)] == [
        3, 4, 6, 3]
    assert encoder.conv6.in_channels == 2048 and encoder.conv6.out_channels == 512


@torch.no_grad()
def test_paper_decoders_and_predictor_shapes():
    d1 = SpectrogramDecoder(PAPER).eval()
    assert d1(torch.randn(1, 512)).shape == (1, 128, 128)
    assert sum(isinstance(m, torch.nn.ConvTranspose2d) for m in d1.modules()) == 8
    d2 = SequenceDecoder(PAPER).eval()
    d3 = SequenceDecoder(PAPER, sigmoid=True).eval()
    f_t = torch.randn(1, 512, 4)
    assert d2(f_t).shape == (1, 128)
    rhythm = d3(f_t)
    assert rhythm.shape == (1, 128) and rhythm.min() >= 0 and rhythm.max() <= 1
    t = Predictor(PAPER, 1101).eval()
    probs = t.probabilities(torch.randn(1, 512))
    assert probs.shape == (1, 1101)
    torch.testing.assert_close(probs.sum(), torch.tensor(1.0))
    fcs = [m for m in t.blocks[0].modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in fcs] == [
        (512, 1024), (1024, 512), (512, 16), (16, 512)]


@pytest.mark.parametrize("name", ["small", "tiny"])
@torch.no_grad()
def test_small_presets_keep_the_structure(name):
    shape = PRESETS[name].network
    net = RetrievalNetwork(shape, 7, with_decoders=True).eval()
    f_t, u = net.encoder(torch.randn(2, 128, 128))
    assert f_t.shape == (2, shape.embed_dim, 4) and u.shape == (2, shape.embed_dim)
    assert net.d1(u).shape == (2, 128, 128)
    assert net.d3(f_t).shape == (2, 128)
    assert net(torch.randn(2, 128, 128)).shape == (2, 7)


def test_preset_round_trip_and_unknown_name():
    for preset in PRESETS.values():
        assert Preset.from_dict(preset.to_dict()) == preset
    with pytest.raises(ChoreoError, match="choose one of: paper, small, tiny"):
        get_preset("huge")
