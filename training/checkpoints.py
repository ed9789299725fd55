"""Stage checkpoints: everything needed to resume a run exactly where it stopped.

A checkpoint holds the modules' and optimizer's state, the learning-rate schedule, the gradient
scaler, the completed epoch count, the per-epoch history, any stage extras (the transition matrix
M, pseudo-labels) and the torch random-number state. Data order comes from ``(seed, epoch)``, so a
resumed run replays the uninterrupted one.

The file is safetensors, like the model bundles: every tensor by a flat name, and the rest of the
state (numbers, lists, the optimizer's param groups) as JSON in the safetensors header, where each
tensor is written as ``{"__tensor__": name}``. Loading never runs code (no pickle); the JSON goes
through the bounded reader, shapes are compared before ``load_state_dict`` and NaN weights are
refused, each in one ChoreoError line. Files are written atomically by rank 0.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from choreo_studio.core.atomic_io import write_bytes_atomic
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.json_files import Where, parse_json_bytes, require_object
from choreo_studio.core.retrieval.model_bundle import state_mismatch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

CHECKPOINT_SUFFIX = ".safetensors"
FORMAT = "choreo-checkpoint-1"
_STATE_KEY = "choreo_state"
_FIX = "delete it (or use another run folder) and run the stage again"


@dataclass
class StageState:
    """Where a stage stands: epochs done, the history so far and stage-specific tensors."""

    epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    extras: dict[str, torch.Tensor] = field(default_factory=dict)


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _encode(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """``value`` as JSON-ready data; tensors go to ``tensors`` under a fresh flat name."""
    if isinstance(value, torch.Tensor):
        name = f"t{len(tensors)}"
        tensors[name] = value.detach().cpu().contiguous().clone()
        return {"__tensor__": name}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {"__dict__": {k: _encode(v, tensors) for k, v in value.items()}}
        return {"__items__": [[_encode(k, tensors), _encode(v, tensors)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        kind = "__tuple__" if isinstance(value, tuple) else "__list__"
        return {kind: [_encode(v, tensors) for v in value]}
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot checkpoint a {type(value).__name__}")


def _decode(data: Any, tensors: dict[str, torch.Tensor], where: Where) -> Any:
    """The inverse of :func:`_encode`; anything else in the file is a one-line ChoreoError."""
    if not isinstance(data, dict):
        if data is None or isinstance(data, (bool, int, float, str)):
            return data
        raise where.error("holds a value of an unknown kind")
    if len(data) != 1:
        raise where.error("holds an object that is not a checkpoint value")
    (kind, body), = data.items()
    if kind == "__tensor__" and isinstance(body, str) and body in tensors:
        return tensors[body]
    if kind == "__dict__" and isinstance(body, dict):
        return {k: _decode(v, tensors, where.at(k)) for k, v in body.items()}
    if kind == "__items__" and isinstance(body, list) and all(
            isinstance(p, list) and len(p) == 2 for p in body):
        return {_decode(k, tensors, where): _decode(v, tensors, where) for k, v in body}
    if kind in ("__list__", "__tuple__") and isinstance(body, list):
        items = [_decode(v, tensors, where.at(i)) for i, v in enumerate(body)]
        return tuple(items) if kind == "__tuple__" else items
    if kind == "__float__" and body in ("inf", "-inf", "nan"):
        return float(body)
    raise where.error(f"holds an unknown entry {kind[:30]!r}")


def save_checkpoint(
    path: str | os.PathLike[str],
    *,
    modules: dict[str, torch.nn.Module],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    scaler: torch.amp.GradScaler | None,
    state: StageState,
) -> Path:
    """Atomically write a checkpoint of a stage after ``state.epoch`` completed epochs."""
    payload = {
        "format": FORMAT,
        "modules": {name: m.state_dict() for name, m in modules.items()},
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else {},
        "scaler": scaler.state_dict() if scaler is not None else {},
        "epoch": int(state.epoch),
        "history": [dict(h) for h in state.history],
        "extras": dict(state.extras),
        "rng": _rng_state(),
    }
    tensors: dict[str, torch.Tensor] = {}
    text = json.dumps(_encode(payload, tensors), allow_nan=False)
    return write_bytes_atomic(path, save(tensors, metadata={_STATE_KEY: text}))


def _read(path: Path) -> dict[str, Any]:
    """The decoded payload of a checkpoint file (no code runs; bad files are one line)."""
    where = Where(str(path), _FIX)
    try:
        with safe_open(str(path), framework="pt") as fh:
            metadata = fh.metadata() or {}
            tensors = {name: fh.get_tensor(name) for name in fh.keys()}
    except FileNotFoundError:
        raise ChoreoError(f"{path}: no such checkpoint — run the stage without --resume") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise ChoreoError(f"{path}: not a Choreo Studio checkpoint (an old pickle checkpoint or "
                          f"a damaged file: {str(exc)[:80]}) — {_FIX}") from None
    if _STATE_KEY not in metadata:
        raise where.error("has no checkpoint state (a safetensors file of something else?)")
    payload = require_object(_decode(parse_json_bytes(metadata[_STATE_KEY].encode(), where),
                                     tensors, where), where)
    if payload.get("format") != FORMAT:
        raise where.error(f"format {str(payload.get('format'))[:30]!r} is not {FORMAT}")
    return payload


def _restore_modules(path: Path, modules: dict[str, torch.nn.Module], saved: Any) -> None:
    """Load the saved module states after comparing names, shapes and finiteness."""
    if not isinstance(saved, dict) or set(modules) - set(saved):
        missing = sorted(set(modules) - set(saved if isinstance(saved, dict) else {}))
        raise ChoreoError(
            f"{path}: checkpoint has no weights for {', '.join(missing)} — it belongs to another "
            "stage or configuration; delete it or use another run folder"
        )
    for name, module in modules.items():
        state = saved[name]
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                                  for v in state.values()):
            raise ChoreoError(f"{path}: the state of {name} is not a set of tensors — {_FIX}")
        problem = state_mismatch(module.state_dict(), state)
        if problem:
            raise ChoreoError(
                f"{path}: checkpoint does not fit this {name} ({problem}) — it was written with "
                "another network preset or library; use another run folder"
            )
        bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
        if bad:
            raise ChoreoError(f"{path}: {name} weight {bad[0][:60]!r} holds NaN or infinite "
                              f"values — {_FIX}")
        module.load_state_dict(state)


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    modules: dict[str, torch.nn.Module],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    scaler: torch.amp.GradScaler | None,
) -> StageState:
    """Restore a checkpoint into live objects; returns the stage state to continue from."""
    path = Path(path)
    payload = _read(path)
    _restore_modules(path, modules, payload.get("modules"))
    try:
        optimizer.load_state_dict(payload["optimizer"])
        if scheduler is not None and payload["scheduler"]:
            scheduler.load_state_dict(payload["scheduler"])
        if scaler is not None and payload["scaler"]:
            scaler.load_state_dict(payload["scaler"])
        _set_rng_state(payload["rng"])
        history = [dict(h) for h in payload["history"]]
        extras = dict(payload["extras"])
        epoch = int(payload["epoch"])
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
        raise ChoreoError(f"{path}: the optimizer or training state does not fit this run "
                          f"({str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__})"
                          f" — {_FIX}") from None
    if not all(isinstance(v, torch.Tensor) for v in extras.values()) or epoch < 0:
        raise ChoreoError(f"{path}: damaged stage state — {_FIX}")
    return StageState(epoch=epoch, history=history, extras=extras)
