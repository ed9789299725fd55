"""Train the beat/downbeat activation TCN on rendered, labelled mixes; write its safetensors file.

The data comes from ``training/beat_activation_data.py`` (MMA accompaniments rendered with
several soundfonts and mixed several ways; exact beat and downbeat frames) and
``training/beat_activation_scores.py`` (composed music: scores and game MIDI files, rendered
and mixed the same way); pass one folder or several. The network is the
one ``core/analysis/learned_activations.py`` runs in numpy: a 1×1 projection of the log-mel
and its positive difference, residual layers of dilated 'same' convolutions (ELU, dropout, 1×1
mix) and two sigmoid heads (beat, downbeat), trained with binary cross-entropy on targets
widened to ±1 frame (0.5, as Böck & Davies 2019). Crops are augmented on the fly: tempo
stretch (×0.8–1.25 by interpolating log-mel frames, the targets moved with them), pitch shift
(±2 mel bands) and level (±6 dB). A share of the *songs* (all their mixes) is held out; the
weights of the pass with the lowest held-out loss are kept. CPU, one thread by default, seeded.

    python -m choreo_studio.training.beat_activation DATADIR [DATADIR ...] \
        --out resources/models/beat_activation.safetensors
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Piece:
    """One generated mix: its log-mel (dB) and the frames of its beats and downbeats."""

    name: str
    logmel: np.ndarray  # float16 [mels, frames]
    beats: np.ndarray  # int64 frame indices
    downbeats: np.ndarray


def load_pieces(folder: Path) -> list[Piece]:
    """Every generated mix in ``folder`` (``NAME.npz`` with logmel, beat and downbeat marks)."""
    out = []
    for path in sorted(folder.glob("*.npz")):
        if path.name.endswith(".tmp.npz"):
            continue
        with np.load(path, allow_pickle=False) as d:
            out.append(Piece(path.stem, d["logmel"], np.flatnonzero(d["beat"]),
                             np.flatnonzero(d["downbeat"])))
    return out


def song_of(piece: Piece) -> str:
    """The song a mix was made from (``songNNNNN-M`` -> ``songNNNNN``): mixes of one song
    share their notes, so the validation split is made by song."""
    return piece.name.rsplit("-", 1)[0]


def split_by_song(pieces: list[Piece], share: float, seed: int) -> tuple[list[Piece],
                                                                          list[Piece]]:
    """(training, validation) with about ``share`` of the songs, all their mixes, held out."""
    songs = sorted({song_of(p) for p in pieces})
    rng = np.random.default_rng(seed)
    held = set(rng.permutation(songs)[: max(int(round(share * len(songs))), 1)].tolist())
    return ([p for p in pieces if song_of(p) not in held],
            [p for p in pieces if song_of(p) in held])


def targets(beats: np.ndarray, downbeats: np.ndarray, n: int) -> np.ndarray:
    """float32 [2, n]: 1 at the beat (downbeat) frames, WIDEN beside them."""
    out = np.zeros((2, n), dtype=np.float32)
    for row, marks in enumerate((beats, downbeats)):
        marks = marks[(marks >= 0) & (marks < n)]
        for side in (-1, 1):
            near = marks + side
            near = near[(near >= 0) & (near < n)]
            out[row, near] = np.maximum(out[row, near], WIDEN)
        out[row, marks] = 1.0
    return out


def crop(piece: Piece, rng: np.random.Generator, frames: int, stretch: float, shift: int,
         offset_db: float) -> tuple[np.ndarray, np.ndarray, int]:
    """(features [2·mels, frames], targets [2, frames], valid frames) of a random crop.

    ``stretch`` > 1 plays the crop faster (more source frames per output frame, by linear
    interpolation of the log-mel, so the tempo is ``stretch`` times the song's); ``shift``
    moves the log-mel by whole mel bands (a pitch change), ``offset_db`` its level (clipped to
    the 80 dB floor). The positive difference is taken after all three, as at inference.
    """
    n_src = piece.logmel.shape[1]
    span = frames * stretch
    start = int(rng.integers(0, max(int(n_src - span), 0) + 1))  # whole frames: no blur at x1
    pos = start + stretch * np.arange(frames)
    n = int(np.sum(pos <= n_src - 1))
    pos = pos[:n]
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n_src - 1)
    frac = (pos - lo).astype(np.float32)
    mel = piece.logmel.astype(np.float32)
    if shift:
        mel = mel[np.clip(np.arange(mel.shape[0]) - shift, 0, mel.shape[0] - 1)]
    seg = mel[:, lo] * (1.0 - frac) + mel[:, hi] * frac
    seg = np.maximum(seg + offset_db, -80.0)
    feats = np.zeros((2 * mel.shape[0], frames), dtype=np.float32)
    feats[:, :n] = input_features(seg)
    marks = [np.round((m - start) / stretch).astype(np.int64) for m in (piece.beats,
                                                                        piece.downbeats)]
    y = targets(marks[0], marks[1], frames)
    y[:, n:] = 0.0
    return feats, y, n


def batches(pieces: list[Piece], rng: np.random.Generator, size: int, frames: int,
            augment: bool = True):
    """Batches of random crops (features, targets, mask of the valid frames), each piece once
    per pass; with ``augment`` a random tempo stretch (x0.8 to x1.25 on 70 % of crops), a
    pitch shift of -2 to +2 mel bands and a level offset of -6 to +6 dB."""
    order = rng.permutation(len(pieces))
    n_in = 2 * pieces[0].logmel.shape[0]
    for k in range(0, len(order) - size + 1, size):
        x = np.zeros((size, n_in, frames), dtype=np.float32)
        y = np.zeros((size, 2, frames), dtype=np.float32)
        mask = np.zeros((size, 1, frames), dtype=np.float32)
        for b, i in enumerate(order[k : k + size]):
            stretch, shift, offset = 1.0, 0, 0.0
            if augment:
                if rng.random() < 0.7:
                    stretch = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
                shift, offset = int(rng.integers(-2, 3)), float(rng.uniform(-6.0, 6.0))
            x[b], y[b], n = crop(pieces[i], rng, frames, stretch, shift, offset)
            mask[b, :, :n] = 1.0
        yield torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(mask)


def masked_bce(logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy over the unmasked frames of both heads."""
    loss = nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
    return (loss * mask).sum() / (mask.sum() * logits.shape[1])


def train(pieces: list[Piece], epochs: int, seed: int, batch: int, frames: int, lr: float,
          val: list[Piece], channels: int = CHANNELS, keep: Path | None = None,
          info: dict | None = None) -> BeatTCN:
    """Adam under a one-cycle learning rate over ``epochs`` passes of augmented crops.

    After each pass the validation loss is measured on the held-out songs' whole mixes; the
    weights of the best pass are returned (and written to ``keep`` when given, so a run cut
    short still leaves its best network)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = BeatTCN(channels=channels)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * (len(pieces) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(steps, 1),
                                                pct_start=max(0.1, 2.0 / max(steps, 1)))
    best, best_state = float("inf"), None
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
        score = validate(model, val)
        mark = ""
        if score["loss"] < best:
            best, mark = score["loss"], " *"
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if keep is not None:
                save(model, keep, {**(info or {}), "epoch": epoch + 1, **score})
        print(f"epoch {epoch + 1}/{epochs}: train {total / max(count, 1):.4f}, val "
              + ", ".join(f"{k} {v:.4f}" for k, v in score.items())
              + f", {time.perf_counter() - t0:.0f} s{mark}", flush=True)
    if best_state is not None:
        model.load_state_dict(best_state)
    return model.eval()


@torch.no_grad()
def validate(model: BeatTCN, val: list[Piece]) -> dict[str, float]:
    """Mean BCE over whole validation mixes (eval mode) and the F-measure (±70 ms) of the
    activations' peaks against the beats and the downbeats."""
    if not val:
        return {"loss": float("nan")}
    model.eval()
    losses, f_beat, f_down = [], [], []
    for piece in val:
        feats = input_features(piece.logmel.astype(np.float32))
        y = torch.from_numpy(targets(piece.beats, piece.downbeats, feats.shape[1]))[None]
        logits = model(torch.from_numpy(feats)[None])
        losses.append(float(masked_bce(logits, y, torch.ones_like(y[:, :1]))))
        prob = torch.sigmoid(logits)[0].numpy()
        f_beat.append(peak_f_measure(prob[0], piece.beats))
        f_down.append(peak_f_measure(prob[1], piece.downbeats))
    model.train()
    return {"loss": float(np.mean(losses)), "beat_f": float(np.mean(f_beat)),
            "down_f": float(np.mean(f_down))}


def peak_f_measure(activation: np.ndarray, marks: np.ndarray, threshold: float = 0.3,
                   tolerance: int = 3) -> float:
    """F-measure of the activation's local maxima above ``threshold`` (one per ±``tolerance``
    frames, ±3 frames ≈ ±70 ms at 43 fps) against the marked frames, each matched once."""
    a = np.asarray(activation)
    pad = np.pad(a, tolerance, constant_values=-1.0)
    window = np.lib.stride_tricks.sliding_window_view(pad, 2 * tolerance + 1)
    peaks = np.flatnonzero((a >= threshold) & (a >= window.max(axis=1)))
    if peaks.size:  # plateaus: keep the first frame of equal neighbours
        peaks = peaks[np.concatenate([[True], np.diff(peaks) > tolerance])]
    if not peaks.size and not marks.size:
        return 1.0
    if not peaks.size or not marks.size:
        return 0.0
    used = np.zeros(peaks.size, dtype=bool)
    hits = 0
    for m in marks:
        near = np.flatnonzero(~used & (np.abs(peaks - m) <= tolerance))
        if near.size:
            used[near[np.argmin(np.abs(peaks[near] - m))]] = True
            hits += 1
    precision, recall = hits / peaks.size, hits / marks.size
    return 0.0 if hits == 0 else 2 * precision * recall / (precision + recall)


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
    parser.add_argument("data", type=Path, nargs="+",
                        help="folders of generated mixes (beat_activation_data, _scores)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--frames", type=int, default=1024)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--channels", type=int, default=CHANNELS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--val-share", type=float, default=0.08,
                        help="share of the songs held out for validation")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    pieces = [p for folder in args.data for p in load_pieces(folder)]
    train_set, val = split_by_song(pieces, args.val_share, args.seed)
    if len(train_set) < 2 * args.batch or not val:
        print(f"{' '.join(map(str, args.data))}: only {len(pieces)} mixes — generate more "
              "with beat_activation_data", file=sys.stderr)
        return 2
    print(f"{len(train_set)} training mixes, {len(val)} validation mixes "
          f"({len({song_of(p) for p in val})} held-out songs)", flush=True)
    info = {"mixes": len(train_set), "songs": len({song_of(p) for p in train_set}),
            "validation_mixes": len(val), "epochs": args.epochs, "seed": args.seed}
    model = train(train_set, args.epochs, args.seed, args.batch, args.frames, args.lr, val,
                  channels=args.channels, keep=args.out, info=info)
    info.update(validate(model, val))
    info["parameters"] = sum(p.numel() for p in model.parameters())
    save(model, args.out, info)
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
