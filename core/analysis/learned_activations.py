"""Learned beat and downbeat activations: a small dilated TCN run in numpy (no torch needed).

The network (Böck & Davies 2019's multi-task TCN, reduced: one 1×1 projection of the log-mel
and its positive difference, residual layers of dilated 1-D convolutions with ELU, two sigmoid
heads) was trained offline on rendered MMA accompaniments with exact beat labels, see
``training/beat_activation.py``. Its weights ship as ``resources/models/beat_activation
.safetensors``; they are read here with a minimal reader of the safetensors format (the
``safetensors`` package is no core dependency). Without the file the analysis falls back to
the onset-based activations alone. The analysis uses the network by default
(``analyze_audio(..., learned_beats=False)`` leaves it out: the benchmark's onsets-only row).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

WEIGHTS_NAME = "beat_activation.safetensors"
_BLOCK = 8192  # frames per block of the input projection
_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64}


@dataclass(frozen=True)
class TCNWeights:
    """The network's parameters (float32) and its layout."""

    tensors: dict[str, np.ndarray]
    dilations: tuple[int, ...]
    kernel: int


def input_features(logmel_db: np.ndarray) -> np.ndarray:
    """float32 [2 * mels, frames]: the log-mel scaled to [0, 1] and its positive difference."""
    x = (np.asarray(logmel_db, dtype=np.float32) + 80.0) / 80.0
    flux = np.maximum(np.diff(x, axis=1, prepend=x[:, :1]), 0.0)
    return np.concatenate([x, 4.0 * flux], axis=0)


def read_safetensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(tensors, metadata) of a safetensors file, without the safetensors package."""
    raw = Path(path).read_bytes()
    if len(raw) < 8:
        raise ValueError(f"{path}: not a safetensors file (too short)")
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    body = memoryview(raw)[8 + size :]
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
        tensors[name] = np.frombuffer(body[start:end], dtype=dtype).reshape(info["shape"])
    return tensors, meta


def load_weights(path: Path) -> TCNWeights:
    """The network stored at ``path`` (a ValueError names what is wrong with the file)."""
    tensors, meta = read_safetensors(path)
    try:
        dilations = tuple(int(d) for d in json.loads(meta["dilations"]))
        kernel = int(meta["kernel"])
    except (KeyError, ValueError) as exc:
        raise ValueError(f"{path}: no network layout in its metadata ({exc})") from exc
    return TCNWeights({k: v.astype(np.float32) for k, v in tensors.items()}, dilations, kernel)


def weights_path() -> Path:
    """Where the shipped network's file lies (it may be missing: then the onsets alone count)."""
    from importlib.resources import files

    return Path(str(files("choreo_studio.resources") / "models" / WEIGHTS_NAME))


@lru_cache(maxsize=1)
def shipped_weights() -> TCNWeights | None:
    """The shipped network, or None when its file is missing or unreadable (fallback)."""
    path = weights_path()
    if not path.is_file():
        return None
    try:
        return load_weights(path)
    except (ValueError, KeyError, OSError):
        return None


def run_tcn(weights: TCNWeights, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(beat, downbeat) probabilities [frames] of ``features`` [channels, frames]."""
    w = weights.tensors
    return _trunk(weights, w["inp.weight"][:, :, 0] @ features + w["inp.bias"][:, None])


def _projected_input(weights: TCNWeights, logmel_db: np.ndarray) -> np.ndarray:
    """The input projection of ``input_features(logmel_db)``, computed in blocks of frames so
    the full feature matrix (160 MB on a 60-minute song) is never held at once."""
    w, b = weights.tensors["inp.weight"][:, :, 0], weights.tensors["inp.bias"][:, None]
    n = logmel_db.shape[1]
    out = np.empty((w.shape[0], n), dtype=np.float32)
    for start in range(0, n, _BLOCK):
        lo = max(start - 1, 0)  # one frame before: the block's first difference is exact
        feats = input_features(logmel_db[:, lo : start + _BLOCK])[:, start - lo :]
        out[:, start : start + _BLOCK] = w @ feats + b
    return out


def _trunk(weights: TCNWeights, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Residual dilated layers and the two sigmoid heads on the projected input ``x``."""
    w = weights.tensors
    for k, d in enumerate(weights.dilations):
        h = _dilated_conv(x, w[f"layers.{k}.conv.weight"], w[f"layers.{k}.conv.bias"], d)
        h = np.where(h > 0, h, np.expm1(np.minimum(h, 0.0)))  # ELU
        x = x + w[f"layers.{k}.mix.weight"][:, :, 0] @ h + w[f"layers.{k}.mix.bias"][:, None]
    x = np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))
    logits = w["head.weight"][:, :, 0] @ x + w["head.bias"][:, None]
    prob = 1.0 / (1.0 + np.exp(-logits))
    return prob[0].astype(np.float64), prob[1].astype(np.float64)


def _dilated_conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, dilation: int
                  ) -> np.ndarray:
    """'Same'-padded dilated 1-D convolution (torch's Conv1d cross-correlation) of [C, T]."""
    c_out, _, kernel = weight.shape
    half = dilation * (kernel - 1) // 2
    n = x.shape[1]
    padded = np.zeros((x.shape[0], n + 2 * half), dtype=np.float32)
    padded[:, half : half + n] = x
    out = np.broadcast_to(bias[:, None], (c_out, n)).copy()
    for j in range(kernel):
        out += weight[:, :, j] @ padded[:, j * dilation : j * dilation + n]
    return out


def learned_activations(logmel_db: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(beat, downbeat) probabilities per spectra frame, or None without the shipped weights."""
    weights = shipped_weights()
    if weights is None or logmel_db.shape[1] == 0:
        return None
    return _trunk(weights, _projected_input(weights, logmel_db))
