"""Model bundles: trained E + T weights, their preset, K and the learned transition matrix M,
tied to the library (fingerprint and dance ids) they were trained for.

A bundle is a folder ``NAME.choreomodel/`` holding ``model.json`` (format_version, preset, K,
library identity, dance ids, training notes) and ``weights.safetensors`` (network parameters
and ``transition_matrix``). Loading never runs code (JSON + safetensors). Saving writes a
sibling temporary folder and renames it into place, so a crash never leaves half a bundle.
A bundle that does not match the loaded library is a one-line :class:`ChoreoError`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from choreo_studio.core.atomic_io import give_default_mode
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.retrieval.model_files import (
    BUNDLE_SUFFIX,
    CONFIG_NAME,
    FORMAT_VERSION,
    WEIGHTS_NAME,
)
from choreo_studio.core.retrieval.networks import RetrievalNetwork
from choreo_studio.core.retrieval.presets import Preset
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

if TYPE_CHECKING:
    from choreo_studio.core.library.library import Library

TRANSITION_KEY = "transition_matrix"


@dataclass
class ModelBundle:
    """A loaded bundle: what network to build, its weights, M and the library it belongs to."""

    preset: Preset
    dance_ids: list[str]
    library_name: str
    library_fingerprint: str
    transition: np.ndarray
    weights: dict[str, torch.Tensor]
    info: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def n_dances(self) -> int:
        """K, the number of dance phrases the predictor scores."""
        return len(self.dance_ids)

    @property
    def name(self) -> str:
        """How the CLI and UI name this model (bundle folder name and preset)."""
        stem = self.path.name.removesuffix(BUNDLE_SUFFIX) if self.path else "unsaved"
        return f"model {stem} ({self.preset.name})"

    def build_network(self) -> RetrievalNetwork:
        """The network with the bundle's weights loaded, in eval mode."""
        with_decoders = any(k.startswith("d1.") for k in self.weights)
        net = RetrievalNetwork(self.preset.network, self.n_dances, with_decoders=with_decoders)
        missing, unexpected = net.load_state_dict(self.weights, strict=False)
        if missing or unexpected:
            where = self.path or "model bundle"
            raise ChoreoError(
                f"{where}: weights do not fit preset {self.preset.name!r} "
                f"({len(missing)} missing, {len(unexpected)} unexpected) — retrain or re-export "
                "the bundle"
            )
        return net.eval()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ModelBundle:
        """Read a bundle folder (see :func:`load_bundle`)."""
        return load_bundle(path)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Atomically write this bundle as the folder ``path`` (see :func:`save_bundle`)."""
        return save_bundle(self, path)

    def check_library(self, library: Library) -> None:
        """Raise a one-line ChoreoError unless this bundle was trained for ``library``."""
        where = self.path or "model bundle"
        if self.library_fingerprint != library.fingerprint:
            raise ChoreoError(
                f"{where}: trained for library {self.library_name!r} "
                f"(fingerprint {self.library_fingerprint[:12]}), but the loaded library "
                f"{library.name!r} has fingerprint {str(library.fingerprint)[:12]} — load the "
                "library it was trained for, or train a model for this one (choreo train)"
            )
        ids = [str(d.id) for d in library.phrases]
        if ids != self.dance_ids:
            raise ChoreoError(
                f"{where}: its {self.n_dances} dance ids do not match the library's {len(ids)} "
                "— train a model for this library (choreo train)"
            )


def _config(bundle: ModelBundle) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "kind": "choreo-model",
        "preset": bundle.preset.to_dict(),
        "n_dances": bundle.n_dances,
        "dance_ids": bundle.dance_ids,
        "library": {"name": bundle.library_name, "fingerprint": bundle.library_fingerprint},
        "info": bundle.info,
    }


def make_bundle(
    network: RetrievalNetwork,
    preset: Preset,
    transition: np.ndarray,
    library: Library,
    *,
    info: dict[str, Any] | None = None,
    include_decoders: bool = False,
) -> ModelBundle:
    """A bundle of ``network`` (E + T, decoders only if asked) and M for ``library``."""
    k = len(library.phrases)
    transition = np.asarray(transition, dtype=np.float32)
    if transition.shape != (k, k):
        raise ValueError(f"transition matrix is {transition.shape}, library has K={k}")
    if network.n_dances != k:
        raise ValueError(f"network predicts {network.n_dances} dances, library has K={k}")
    weights = {
        name: t.detach().cpu().contiguous()
        for name, t in network.state_dict().items()
        if include_decoders or name.split(".", 1)[0] in ("encoder", "predictor")
    }
    return ModelBundle(
        preset=preset,
        dance_ids=[str(d.id) for d in library.phrases],
        library_name=str(library.name),
        library_fingerprint=str(library.fingerprint),
        transition=transition,
        weights=weights,
        info=dict(info or {}),
    )


def save_bundle(bundle: ModelBundle, path: str | os.PathLike[str]) -> Path:
    """Atomically write ``bundle`` as the folder ``path`` (replacing an existing bundle there)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        give_default_mode(tmp, folder=True)
        tensors = dict(bundle.weights)
        tensors[TRANSITION_KEY] = torch.from_numpy(np.ascontiguousarray(bundle.transition))
        save_file(tensors, str(tmp / WEIGHTS_NAME))
        text = json.dumps(_config(bundle), indent=1, allow_nan=False)
        (tmp / CONFIG_NAME).write_text(text + "\n", encoding="utf-8")
        for name in (WEIGHTS_NAME, CONFIG_NAME):
            give_default_mode(tmp / name)
            with open(tmp / name, "rb") as fh:
                os.fsync(fh.fileno())
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    bundle.path = target
    return target


def load_bundle(path: str | os.PathLike[str]) -> ModelBundle:
    """Read a bundle folder; anything wrong with it is a one-line ChoreoError."""
    folder = Path(path)
    fix = "point --model at a .choreomodel folder written by choreo train"
    if not (folder / CONFIG_NAME).is_file() or not (folder / WEIGHTS_NAME).is_file():
        raise ChoreoError(f"{folder}: not a model bundle (needs {CONFIG_NAME} and "
                          f"{WEIGHTS_NAME}) — {fix}")
    try:
        config = json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ChoreoError(f"{folder / CONFIG_NAME}: not valid JSON ({exc}) — {fix}") from None
    if not isinstance(config, dict) or config.get("format_version") != FORMAT_VERSION:
        version = config.get("format_version") if isinstance(config, dict) else None
        raise ChoreoError(
            f"{folder / CONFIG_NAME}: model format_version {version!r} is not supported "
            f"(this version reads {FORMAT_VERSION}) — {fix}"
        )
    try:
        tensors = load_file(str(folder / WEIGHTS_NAME))
    except (SafetensorError, OSError) as exc:
        raise ChoreoError(f"{folder / WEIGHTS_NAME}: cannot read weights ({exc}) — {fix}") from None
    try:
        preset = Preset.from_dict(config["preset"])
        dance_ids = [str(i) for i in config["dance_ids"]]
        library = config["library"]
        transition = tensors.pop(TRANSITION_KEY).numpy().astype(np.float32)
        k = int(config["n_dances"])
    except (KeyError, TypeError, ChoreoError) as exc:
        raise ChoreoError(f"{folder}: incomplete model bundle ({exc}) — {fix}") from None
    if len(dance_ids) != k or transition.shape != (k, k):
        raise ChoreoError(
            f"{folder}: K={k} but {len(dance_ids)} dance ids and a {transition.shape} "
            f"transition matrix — {fix}"
        )
    return ModelBundle(
        preset=preset,
        dance_ids=dance_ids,
        library_name=str(library.get("name", "")),
        library_fingerprint=str(library.get("fingerprint", "")),
        transition=transition,
        weights=tensors,
        info=dict(config.get("info", {})),
        path=folder,
    )
