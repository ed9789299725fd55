"""The learned beat/downbeat activations: numpy inference equals the torch network, the shipped
weights load without torch, a hand-made safetensors file reads back, the analysis uses the
network by default and falls back to the onset evidence when the weights are missing."""

import json
import struct
import subprocess
import sys
from pathlib import Path

import mir_eval
import numpy as np
import pytest
from choreo_studio.core.analysis import learned_activations as la
from choreo_studio.core.analysis.activations import compute_activations
from choreo_studio.core.analysis.analyzer import analyze_audio
from choreo_studio.core.analysis.beat_tracking import beat_envelope
from choreo_studio.core.audio.load import Audio
from choreo_studio.core.audio.spectral import compute_spectra

from tests.audio_fixtures import SR, drum_track


def _write_safetensors(path: Path, tensors: dict[str, np.ndarray], meta: dict[str, str]) -> None:
    """A safetensors file written by hand from the format's description (little-endian)."""
    header, body, offset = {"__metadata__": meta}, b"", 0
    for name, array in tensors.items():
        raw = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        body, offset = body + raw, offset + len(raw)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + body)


def test_reader_returns_the_tensors_and_metadata_written(tmp_path):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.array([-1.5, 2.25], dtype=np.float32)
    _write_safetensors(tmp_path / "x.safetensors", {"a": a, "b": b}, {"kernel": "3"})
    tensors, meta = la.read_safetensors(tmp_path / "x.safetensors")
    assert meta == {"kernel": "3"}
    np.testing.assert_array_equal(tensors["a"], a)
    np.testing.assert_array_equal(tensors["b"], b)


def test_a_file_without_the_layout_is_refused_with_its_name(tmp_path):
    _write_safetensors(tmp_path / "bad.safetensors", {"a": np.zeros(2)}, {})
    with pytest.raises(ValueError, match="bad.safetensors"):
        la.load_weights(tmp_path / "bad.safetensors")


def test_numpy_inference_equals_the_torch_network(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("safetensors")
    from choreo_studio.training.beat_activation import BeatTCN, save

    torch.manual_seed(3)
    model = BeatTCN(channels=8, dilations=(1, 2, 4, 8), kernel=5).eval()
    save(model, tmp_path / "m.safetensors", {"test": True})
    weights = la.load_weights(tmp_path / "m.safetensors")
    x = np.random.default_rng(0).standard_normal((2 * 128, 700)).astype(np.float32)
    beat, down = la.run_tcn(weights, x)
    with torch.no_grad():
        expected = torch.sigmoid(model(torch.from_numpy(x)[None]))[0].numpy()
    np.testing.assert_allclose(beat, expected[0], atol=1e-5)
    np.testing.assert_allclose(down, expected[1], atol=1e-5)


def test_shipped_weights_load_and_run_without_torch():
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['safetensors'] = None\n"
        "import numpy as np\n"
        "from choreo_studio.core.analysis import learned_activations as la\n"
        "w = la.shipped_weights(); assert w is not None\n"
        "b, d = la.learned_activations(np.full((128, 300), -40.0, dtype=np.float32))\n"
        "assert b.shape == d.shape == (300,) and 0 <= b.min() and b.max() <= 1\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_shipped_weights_are_small():
    from importlib.resources import files

    path = Path(str(files("choreo_studio.resources") / "models" / la.WEIGHTS_NAME))
    assert path.stat().st_size <= 5 * 1024 * 1024


def test_without_the_weights_the_onset_evidence_alone_tracks_the_beat(monkeypatch):
    y, _, _ = drum_track(120, 4, n_bars=12)
    monkeypatch.setattr(la, "shipped_weights", lambda: None)
    spectra = compute_spectra(y)
    act = compute_activations(spectra, beat_envelope(spectra), learned=True)
    assert act.learned_beat is None and act.learned_down is None
    analysis, _ = analyze_audio(Audio.from_array(y, SR))
    assert analysis.beat_tracker == "choreo-barpointer-1"
    assert analysis.tempo_bpm == pytest.approx(120.0, rel=0.02)
    assert analysis.beats_per_bar == 4


def test_learned_evidence_only_when_asked_and_then_on_every_frame():
    y, _, _ = drum_track(100, 3, n_bars=8)
    spectra = compute_spectra(y)
    plain = compute_activations(spectra, beat_envelope(spectra))
    assert plain.learned_beat is None
    act = compute_activations(spectra, beat_envelope(spectra), learned=True)
    assert act.learned_beat is not None and act.learned_beat.shape == act.beat.shape
    assert act.learned_down.shape == act.beat.shape


def test_the_analysis_reads_the_network_unless_told_not_to(monkeypatch):
    y, _, _ = drum_track(110, 4, n_bars=8)
    calls = []
    real = la.learned_activations
    monkeypatch.setattr(la, "learned_activations", lambda m: calls.append(m.shape) or real(m))
    assert analyze_audio(Audio.from_array(y, SR))[0].beat_tracker == "choreo-barpointer-1+tcn"
    assert len(calls) == 1
    plain, _ = analyze_audio(Audio.from_array(y, SR), learned_beats=False)
    assert len(calls) == 1 and plain.beat_tracker == "choreo-barpointer-1"


def test_a_drum_groove_is_tracked_with_the_learned_evidence():
    y, beats, downbeats = drum_track(100, 4, n_bars=12)
    analysis, _ = analyze_audio(Audio.from_array(y, SR))
    assert analysis.tempo_bpm == pytest.approx(100.0, rel=0.02)
    assert mir_eval.beat.f_measure(beats, analysis.beats_s, f_measure_threshold=0.07) >= 0.95
    assert analysis.beats_per_bar == 4


def test_blockwise_input_projection_equals_the_whole_one(monkeypatch):
    rng = np.random.default_rng(1)
    tensors = {"inp.weight": rng.standard_normal((3, 8, 1)).astype(np.float32),
               "inp.bias": rng.standard_normal(3).astype(np.float32)}
    weights = la.TCNWeights(tensors, (), 5)
    logmel = rng.uniform(-80, 0, (4, 50)).astype(np.float32)
    monkeypatch.setattr(la, "_BLOCK", 7)
    w, b = tensors["inp.weight"][:, :, 0], tensors["inp.bias"][:, None]
    whole = w @ la.input_features(logmel) + b
    np.testing.assert_allclose(la._projected_input(weights, logmel), whole, rtol=1e-6, atol=1e-6)


def test_the_network_is_trusted_on_music_not_on_bare_clicks():
    from tests.audio_fixtures import click_track

    clicks, _, _ = click_track(120, 3, n_bars=8)
    drums, _, _ = drum_track(120, 3, n_bars=8)
    trust = []
    for y in (clicks, drums):
        spectra = compute_spectra(y)
        act = compute_activations(spectra, beat_envelope(spectra), learned=True)
        assert act.learned_trust.shape == act.beat.shape
        trust.append(act.learned_trust)
    assert trust[0].max() == 0.0  # clicks: the onset evidence alone
    assert np.median(trust[1]) == 1.0  # sound on every frame: the network in full

