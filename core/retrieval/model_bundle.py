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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from choreo_studio.core.atomic_io import give_default_mode, sync_folder
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.json_files import (
    Where,
    check_number,
    check_str,
    read_json_file,
    require_dict,
    require_int,
    require_list,
    require_object,
    require_str,
    short_repr,
)
from choreo_studio.core.retrieval.model_files import (
    BUNDLE_SUFFIX,
    CONFIG_NAME,
    FORMAT_VERSION,
    WEIGHTS_NAME,
)
from choreo_studio.core.retrieval.networks import DanceHeadSpec, RetrievalNetwork
from choreo_studio.core.retrieval.presets import Preset
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

if TYPE_CHECKING:
    from choreo_studio.core.library.library import Library

TRANSITION_KEY = "transition_matrix"
MAX_CONFIG_BYTES = 64 * 1024 * 1024
MAX_DANCES = 1_000_000


def state_mismatch(expected: Mapping[str, torch.Tensor], given: Mapping[str, torch.Tensor]) -> str:
    """What keeps ``given`` from loading into a module whose state is ``expected`` ("" if fits).

    Compared before ``load_state_dict`` so a wrong file is one line, not torch's size-mismatch
    dump.
    """
    unexpected = sorted(set(given) - set(expected))
    missing = sorted(set(expected) - set(given))
    wrong = [(k, tuple(given[k].shape), tuple(expected[k].shape))
             for k in sorted(set(given) & set(expected)) if given[k].shape != expected[k].shape]
    if wrong:
        name, got, want = wrong[0]
        return (f"{len(wrong)} tensors of the wrong shape, e.g. {short_repr(name)} is "
                f"{list(got)}, the network needs {list(want)}")
    if missing:
        return f"{len(missing)} tensors missing, e.g. {short_repr(missing[0])}"
    if unexpected:
        return f"{len(unexpected)} unknown tensors, e.g. {short_repr(unexpected[0])}"
    return ""


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
    head: DanceHeadSpec | None = None  # T is the dance-head predictor (real libraries)

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
        net = RetrievalNetwork(self.preset.network, self.n_dances, with_decoders=with_decoders,
                               head=self.head)
        where = self.path or "model bundle"
        problem = state_mismatch(net.state_dict(), self.weights)
        if problem:
            raise ChoreoError(f"{where}: weights do not fit preset {self.preset.name!r} "
                              f"({problem}) — retrain or re-export the bundle")
        net.load_state_dict(self.weights)
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
        **({"head": bundle.head.to_dict()} if bundle.head is not None else {}),
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
        head=network.head,
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
        sync_folder(tmp)  # the two files' names in the new folder
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(tmp, target)
        sync_folder(target.parent)  # the rename: a power cut now cannot bring the old one back
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    bundle.path = target
    return target


def _network_shape(network: dict[str, Any], where: Where) -> dict[str, Any]:
    """The preset's network sizes, each an integer in a range that can be built (no 1e9 widths)."""
    limits = {"base_width": 256, "embed_dim": 4096, "predictor_hidden": 8192, "se_dim": 1024,
              "n_res_att": 32}  # input_size/f_t_length of older bundles: retired, skipped
    shape: dict[str, Any] = {
        key: require_int(network, key, where, lo=1, hi=hi) for key, hi in limits.items()
        if key in network
    }
    blocks = require_list(network, "blocks", where, min_len=4, max_len=4)
    shape["blocks"] = [int(check_number(b, where.at("blocks").at(i), lo=1, hi=64, integer=True))
                       for i, b in enumerate(blocks)]
    return shape


def _read_config(folder: Path, fix: str
                 ) -> tuple[Preset, list[str], dict[str, str], int, dict, DanceHeadSpec | None]:
    """The checked fields of ``model.json``: preset, dance ids, library identity, K, info."""
    path = folder / CONFIG_NAME
    where = Where(str(path), fix)
    config = require_object(read_json_file(path, fix=fix, max_bytes=MAX_CONFIG_BYTES), where)
    version = config.get("format_version")
    if isinstance(version, bool) or version != FORMAT_VERSION:
        raise ChoreoError(f"{path}: model format_version {short_repr(version)} is not supported "
                          f"(this version reads {FORMAT_VERSION}) — {fix}")
    k = require_int(config, "n_dances", where, lo=1, hi=MAX_DANCES)
    ids = require_list(config, "dance_ids", where, min_len=k, max_len=k)
    dance_ids = [check_str(d, where.at("dance_ids").at(i), max_len=1024)
                 for i, d in enumerate(ids)]
    library = require_dict(config, "library", where)
    identity = {key: require_str(library, key, where.at("library"), default="")
                for key in ("name", "fingerprint")}
    info = require_dict(config, "info", where, default={})
    preset_dict = require_dict(config, "preset", where)
    shape = _network_shape(require_dict(preset_dict, "network", where.at("preset")),
                           where.at("preset").at("network"))
    try:
        preset = Preset.from_dict({**preset_dict, "network": shape})
    except ChoreoError as exc:
        raise ChoreoError(f"{path}: {exc}") from None
    return preset, dance_ids, identity, k, info, _head(config, where)


def _head(config: dict[str, Any], where: Where) -> DanceHeadSpec | None:
    """The dance-head spec of ``model.json`` (absent: the paper's K-way T)."""
    if "head" not in config:
        return None
    head = require_dict(config, "head", where)
    if require_str(head, "kind", where.at("head")) != "dance":
        raise ChoreoError(f"{where.file}: head kind {short_repr(head.get('kind'))} is not "
                          f"'dance' — {where.fix}")
    pair_cues = head.get("pair_cues")
    if not isinstance(pair_cues, bool):
        raise ChoreoError(f"{where.file}: head pair_cues must be true or false — {where.fix}")
    return DanceHeadSpec(require_int(head, "n_inputs", where.at("head"), lo=1, hi=4096),
                         require_int(head, "n_music", where.at("head"), lo=0, hi=4096),
                         pair_cues)


def _check_finite(tensors: dict[str, torch.Tensor], path: Path, fix: str) -> None:
    """Refuse weights holding NaN/inf (they would give the same dance on every phrase)."""
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ChoreoError(f"{path}: tensor {short_repr(name)} holds NaN or infinite values "
                              f"— {fix}")


def load_bundle(path: str | os.PathLike[str]) -> ModelBundle:
    """Read a bundle folder; anything wrong with it is a one-line ChoreoError."""
    folder = Path(path)
    fix = "point --model at a .choreomodel folder written by choreo train"
    if not (folder / CONFIG_NAME).is_file() or not (folder / WEIGHTS_NAME).is_file():
        raise ChoreoError(f"{folder}: not a model bundle (needs {CONFIG_NAME} and "
                          f"{WEIGHTS_NAME}) — {fix}")
    preset, dance_ids, library, k, info, head = _read_config(folder, fix)
    try:
        tensors = load_file(str(folder / WEIGHTS_NAME))
    except (SafetensorError, OSError) as exc:
        raise ChoreoError(f"{folder / WEIGHTS_NAME}: cannot read weights "
                          f"({short_repr(str(exc), 120)}) — {fix}") from None
    _check_finite(tensors, folder / WEIGHTS_NAME, fix)
    if TRANSITION_KEY not in tensors:
        raise ChoreoError(f"{folder / WEIGHTS_NAME}: no {TRANSITION_KEY} — {fix}")
    transition = tensors.pop(TRANSITION_KEY).numpy().astype(np.float32)
    if transition.shape != (k, k):
        raise ChoreoError(f"{folder}: K={k} but a {transition.shape} transition matrix — {fix}")
    if (transition < 0).any():
        raise ChoreoError(f"{folder / WEIGHTS_NAME}: the transition matrix has negative "
                          f"entries — {fix}")
    return ModelBundle(
        preset=preset,
        dance_ids=dance_ids,
        library_name=library["name"],
        library_fingerprint=library["fingerprint"],
        transition=transition,
        weights=tensors,
        info=dict(info),
        path=folder,
        head=head,
    )
