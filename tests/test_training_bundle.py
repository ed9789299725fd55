"""The model shipped in resources/models: it belongs to the demo library as generated today,
so `choreo auto` picks it by default, and it scores a song like any bundle."""

from __future__ import annotations

import json

import numpy as np
import torch
from choreo_studio.core.retrieval.model_bundle import load_bundle
from choreo_studio.core.retrieval.model_files import bundled_models_folder, find_model_for_library
from choreo_studio.resources.demo_library import load_demo_library


def test_shipped_model_matches_the_demo_library_and_is_small():
    library = load_demo_library()
    path = find_model_for_library(library)
    assert path is not None, (
        "no bundle in resources/models matches the demo library's fingerprint "
        f"{library.fingerprint} — retrain it with the command in resources/models/README.md"
    )
    bundle = load_bundle(path)
    bundle.check_library(library)
    size = sum(f.stat().st_size for f in path.iterdir())
    assert size < 8 * 2**20
    m = bundle.transition
    assert m.shape == (len(library), len(library)) and 0.01 <= m.min() and m.max() <= 1.0
    net = bundle.build_network()
    with torch.no_grad():
        probs = net(torch.rand(2, 128, 128))
    assert probs.shape == (2, len(library))
    np.testing.assert_allclose(probs.sum(-1).numpy(), 1.0, rtol=1e-5)
    readme = (bundled_models_folder() / "README.md").read_text(encoding="utf-8")
    metrics = bundle.info["metrics"]["coascent"]["model"]
    assert f"{100 * metrics['top10']:.1f}%" in readme  # the README reports this bundle
    assert json.dumps(bundle.info["training_config"]["preset"]) == '"cpu"'
