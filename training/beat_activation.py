"""Train the beat/downbeat activation TCN on generated MMA pieces; write its safetensors file.

The data comes from ``training/beat_activation_data.py`` (MMA accompaniments rendered with
several soundfonts; exact beat and downbeat frames). The network is the one
``core/analysis/learned_activations.py`` runs in numpy: a 1×1 projection of the log-mel and
its positive difference, residual layers of dilated 'same' convolutions (ELU, dropout, 1×1
mix) and two sigmoid heads (beat, downbeat), trained with binary cross-entropy on targets
widened to ±1 frame (0.5, as Böck & Davies 2019). CPU, one thread by default, seeded.

    python -m choreo_studio.training.beat_activation DATADIR \
        --out resources/models/beat_activation.safetensors
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from choreo_studio.core.analysis.learned_activations import input_features
from torch import nn

DILATIONS = (1, 2, 4, 8, 16, 32, 64, 128)
KERNEL = 5
CHANNELS = 24
N_MELS = 128
DROPOUT = 0.2
WIDEN = 0.5  # target value of the frames next to a beat


class BeatTCN(nn.Module):
    """Multi-task dilated TCN: features [B, 2·mels, T] → (beat, downbeat) logits [B, 2, T]."""

    def __init__(self, channels: int = CHANNELS, dilations: tuple[int, ...] = DILATIONS,
                 kernel: int = KERNEL, n_in: int = 2 * N_MELS) -> None:
        super().__init__()
        self.dilations = tuple(dilations)
        self.kernel = kernel
        self.inp = nn.Conv1d(n_in, channels, 1)
        self.layers = nn.ModuleList(_Residual(channels, kernel, d) for d in self.dilations)
        self.head = nn.Conv1d(channels, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inp(x)
        for layer in self.layers:
            x = layer(x)
        return self.head(nn.functional.elu(x))


class _Residual(nn.Module):
    """x + mix(dropout(elu(dilated conv(x))))."""

    def __init__(self, channels: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel, dilation=dilation,
                              padding=dilation * (kernel - 1) // 2)
        self.drop = nn.Dropout(DROPOUT)
        self.mix = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mix(self.drop(nn.functional.elu(self.conv(x))))


def load_pieces(folder: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(features [2·mels, T] float32, targets [2, T] float32)] of every piece in ``folder``."""
    out = []
    for path in sorted(folder.glob("piece*.npz")):
        if path.name.endswith(".tmp.npz"):
            continue
        with np.load(path, allow_pickle=False) as d:
            feats = input_features(d["logmel"].astype(np.float32))
            targets = np.stack([_widen(d["beat"]), _widen(d["downbeat"])])
        out.append((feats, targets))
    return out


def _widen(marks: np.ndarray) -> np.ndarray:
    """1 at marked frames, WIDEN beside them."""
    m = marks.astype(np.float32)
    side = np.maximum(np.roll(m, 1), np.roll(m, -1))
    side[0] = m[1] if m.size > 1 else 0.0
    side[-1] = m[-2] if m.size > 1 else 0.0
    return np.maximum(m, WIDEN * side)


def batches(pieces: list, rng: np.random.Generator, size: int, frames: int):
    """Random crops of ``frames`` frames (shorter pieces zero-padded, masked), ±2 band shifts."""
    order = rng.permutation(len(pieces))
    for k in range(0, len(order) - size + 1, size):
        x = np.zeros((size, pieces[0][0].shape[0], frames), dtype=np.float32)
        y = np.zeros((size, 2, frames), dtype=np.float32)
        mask = np.zeros((size, 1, frames), dtype=np.float32)
        for b, i in enumerate(order[k : k + size]):
            feats, targets = pieces[i]
            start = int(rng.integers(0, max(feats.shape[1] - frames, 0) + 1))
            n = min(frames, feats.shape[1] - start)
            shift = int(rng.integers(-2, 3))
            crop = feats[:, start : start + n]
            x[b, :, :n] = _band_shift(crop, shift)
            y[b, :, :n] = targets[:, start : start + n]
            mask[b, :, :n] = 1.0
        yield torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(mask)


def _band_shift(feats: np.ndarray, shift: int) -> np.ndarray:
    """Shift both halves (log-mel, flux) by ``shift`` mel bands, edge bands repeated."""
    if shift == 0:
        return feats
    half = feats.shape[0] // 2
    out = np.empty_like(feats)
    for part in (slice(0, half), slice(half, 2 * half)):
        block = feats[part]
        idx = np.clip(np.arange(half) - shift, 0, half - 1)
        out[part] = block[idx]
    return out


def masked_bce(logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy over the unmasked frames of both heads."""
    loss = nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
    return (loss * mask).sum() / (mask.sum() * logits.shape[1])


def train(pieces: list, epochs: int, seed: int, batch: int, frames: int, lr: float,
          val: list) -> BeatTCN:
    """Adam with the learning rate cosine-decayed over ``epochs``; logs the validation loss."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = BeatTCN()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * (len(pieces) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(steps, 1),
                                                pct_start=0.1)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        total = count = 0.0
        for x, y, mask in batches(pieces, rng, batch, frames):
            loss = masked_bce(model(x), y, mask)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total, count = total + loss.item(), count + 1
        print(f"epoch {epoch + 1}/{epochs}: train {total / max(count, 1):.4f}, "
              f"val {validation_loss(model, val):.4f}, {time.perf_counter() - t0:.0f} s",
              flush=True)
    return model.eval()


@torch.no_grad()
def validation_loss(model: BeatTCN, val: list) -> float:
    """Mean BCE over whole validation pieces (eval mode)."""
    if not val:
        return float("nan")
    model.eval()
    losses = []
    for feats, targets in val:
        logits = model(torch.from_numpy(feats)[None])
        y = torch.from_numpy(targets)[None]
        losses.append(float(masked_bce(logits, y, torch.ones_like(y[:, :1]))))
    model.train()
    return float(np.mean(losses))


def save(model: BeatTCN, path: Path, info: dict) -> None:
    """Write the weights (float32) with the layout and training notes as metadata."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().contiguous().float() for k, v in model.state_dict().items()}
    meta = {"dilations": json.dumps(list(model.dilations)), "kernel": str(model.kernel),
            "info": json.dumps(info)}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=meta)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--frames", type=int, default=1024)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--val-share", type=float, default=0.08)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    pieces = load_pieces(args.data)
    if len(pieces) < 2 * args.batch:
        print(f"{args.data}: only {len(pieces)} pieces — generate more with "
              "beat_activation_data", file=sys.stderr)
        return 2
    n_val = max(int(args.val_share * len(pieces)), 1)
    val, train_set = pieces[:n_val], pieces[n_val:]
    print(f"{len(train_set)} training pieces, {n_val} validation", flush=True)
    model = train(train_set, args.epochs, args.seed, args.batch, args.frames, args.lr, val)
    info = {"pieces": len(train_set), "epochs": args.epochs, "seed": args.seed,
            "val_loss": round(validation_loss(model, val), 5),
            "parameters": sum(p.numel() for p in model.parameters())}
    save(model, args.out, info)
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
