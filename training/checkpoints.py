"""Stage checkpoints: everything needed to resume a run exactly where it stopped.

A checkpoint holds the modules' and optimizer's state, the learning-rate schedule, the gradient
scaler, the completed epoch count, the per-epoch history, any stage extras (the transition matrix
M, pseudo-labels) and the torch random-number state. Data order comes from ``(seed, epoch)``, so a
resumed run replays the uninterrupted one. Files are written atomically by rank 0 and read with
``torch.load(weights_only=True)``: loading never runs code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from choreo_studio.core.atomic_io import write_atomic
from choreo_studio.core.errors import ChoreoError


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
        "modules": {name: m.state_dict() for name, m in modules.items()},
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else {},
        "scaler": scaler.state_dict() if scaler is not None else {},
        "epoch": int(state.epoch),
        "history": [dict(h) for h in state.history],
        "extras": {k: v.detach().cpu() for k, v in state.extras.items()},
        "rng": _rng_state(),
    }
    return write_atomic(path, lambda fh: torch.save(payload, fh))


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    modules: dict[str, torch.nn.Module],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    scaler: torch.amp.GradScaler | None,
) -> StageState:
    """Restore a checkpoint into live objects; returns the stage state to continue from."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ChoreoError(f"{path}: no such checkpoint — run the stage without --resume") from None
    except (RuntimeError, OSError, EOFError) as exc:
        raise ChoreoError(
            f"{path}: not a readable checkpoint ({exc}) — delete it and run the stage again"
        ) from None
    missing = set(modules) - set(payload["modules"])
    if missing:
        raise ChoreoError(
            f"{path}: checkpoint has no weights for {', '.join(sorted(missing))} — it belongs "
            "to another stage or configuration; delete it or use another run folder"
        )
    try:
        for name, module in modules.items():
            module.load_state_dict(payload["modules"][name])
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ChoreoError(
            f"{path}: checkpoint does not fit this network ({first}) — it was written with "
            "another network preset or library; use another run folder"
        ) from None
    optimizer.load_state_dict(payload["optimizer"])
    if scheduler is not None and payload["scheduler"]:
        scheduler.load_state_dict(payload["scheduler"])
    if scaler is not None and payload["scaler"]:
        scaler.load_state_dict(payload["scaler"])
    _set_rng_state(payload["rng"])
    return StageState(
        epoch=int(payload["epoch"]),
        history=[dict(h) for h in payload["history"]],
        extras=dict(payload["extras"]),
    )
