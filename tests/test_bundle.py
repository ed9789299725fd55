"""Model bundles: save/load round trip, library mismatch errors, discovery by fingerprint."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.retrieval.model_bundle import (
    ModelBundle,
    load_bundle,
    make_bundle,
    save_bundle,
)
from choreo_studio.core.retrieval.model_files import find_model_for_library
from choreo_studio.core.retrieval.networks import RetrievalNetwork
from choreo_studio.core.retrieval.presets import get_preset


def _library(fingerprint="fp-demo", k=5):
    phrases = [SimpleNamespace(id=f"d{i}", name=f"Dance {i}") for i in range(k)]
    return SimpleNamespace(name="demo", fingerprint=fingerprint, phrases=phrases)


@torch.no_grad()
def test_round_trip_gives_the_same_predictions(tmp_path):
    preset = get_preset("tiny")
    torch.manual_seed(0)
    net = RetrievalNetwork(preset.network, 5).eval()
    library = _library()
    m = np.random.default_rng(0).random((5, 5)).astype(np.float32)
    bundle = make_bundle(net, preset, m, library, info={"epochs": 3})
    path = save_bundle(bundle, tmp_path / "models" / "demo.choreomodel")
    bundle.save(path)  # replacing an existing bundle works
    loaded = ModelBundle.load(path)
    loaded.check_library(library)
    assert loaded.preset == preset and loaded.dance_ids == [f"d{i}" for i in range(5)]
    assert loaded.info == {"epochs": 3}
    np.testing.assert_array_equal(loaded.transition, m)
    mel = torch.randn(2, 128, 128)
    torch.testing.assert_close(loaded.build_network()(mel), net(mel))
    assert "demo" in loaded.name and "tiny" in loaded.name
    assert find_model_for_library(library, [tmp_path / "models"]) == path
    assert find_model_for_library(_library("other"), [tmp_path / "models"]) is None


def test_save_syncs_the_new_folder_and_then_the_rename(tmp_path, monkeypatch):
    from choreo_studio.core.retrieval import model_bundle

    synced = []
    monkeypatch.setattr(model_bundle, "sync_folder",
                        lambda folder: synced.append((Path(folder), sorted(
                            p.name for p in Path(folder).iterdir()))))
    preset = get_preset("tiny")
    bundle = make_bundle(RetrievalNetwork(preset.network, 5), preset, np.ones((5, 5)), _library())
    target = save_bundle(bundle, tmp_path / "m.choreomodel")
    (new, files), (parent, names) = synced
    assert new.parent == tmp_path and files == sorted(p.name for p in target.iterdir())
    assert parent == tmp_path and "m.choreomodel" in names  # synced after the rename


def test_mismatched_library_is_a_one_line_error(tmp_path):
    preset = get_preset("tiny")
    bundle = make_bundle(RetrievalNetwork(preset.network, 5), preset, np.ones((5, 5)), _library())
    path = save_bundle(bundle, tmp_path / "m.choreomodel")
    loaded = load_bundle(path)
    with pytest.raises(ChoreoError, match="trained for library 'demo'") as info:
        loaded.check_library(_library("fp-other"))
    assert "\n" not in str(info.value)
    renamed = _library()
    renamed.phrases[0].id = "x"
    with pytest.raises(ChoreoError, match="dance ids do not match"):
        loaded.check_library(renamed)


def test_broken_bundles_are_one_line_errors(tmp_path):
    with pytest.raises(ChoreoError, match="not a model bundle"):
        load_bundle(tmp_path)
    preset = get_preset("tiny")
    bundle = make_bundle(RetrievalNetwork(preset.network, 5), preset, np.ones((5, 5)), _library())
    path = save_bundle(bundle, tmp_path / "m.choreomodel")
    config = json.loads((path / "model.json").read_text())
    config["format_version"] = 99
    (path / "model.json").write_text(json.dumps(config))
    with pytest.raises(ChoreoError, match="format_version 99"):
        load_bundle(path)
    config["format_version"] = 1
    (path / "model.json").write_text(json.dumps(config))
    (path / "weights.safetensors").write_bytes(b"garbage")
    with pytest.raises(ChoreoError, match="cannot read weights"):
        load_bundle(path)
