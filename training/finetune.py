"""Supervised fine-tuning of the predictor T with the encoder E frozen (paper §3.3, Eq. 5).

E is frozen and in eval mode, so its embedding u of each phrase is fixed: it is computed once
(:func:`embed_phrases`, sharded over ranks) and T trains on those vectors — exactly the same
optimisation as running E in every step, at a fraction of the cost. Cross-entropy over the K
library phrases; SGD 1e-2, momentum 0.9, weight decay 5e-4; optional class-balanced sampling
(the paper's Group IV). :func:`train_end_to_end` trains E with a linear classifier instead
(ablation Groups I and II, "no attention").
Runs as ``python -m choreo_studio.training.finetune`` (see ``choreo train finetune --help``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from choreo_studio.core.retrieval.networks import MUSIC_CUES, DanceHead, Encoder, PairCues
from choreo_studio.training.checkpoints import StageState
from choreo_studio.training.config import FinetuneConfig, TrainConfig
from choreo_studio.training.datasets import PhraseSet, micro_batch_loader
from choreo_studio.training.distributed import Amp, DistContext, wrap_ddp
from choreo_studio.training.loop import Plan, StageRunner, phrase_batches, stage_sampler
from torch import nn

STAGE = "finetune"


@torch.no_grad()
def embed_phrases(
    encoder: Encoder,
    phrases: PhraseSet,
    ctx: DistContext,
    *,
    batch_size: int = 128,
    amp: Amp | None = None,
) -> torch.Tensor:
    """u = E(mel) of every phrase, [N, C] float32 on the CPU, identical on every rank.

    Rank r embeds phrases r, r+W, …; the rows are gathered back into phrase order.
    """
    encoder.eval()
    mine = np.arange(ctx.rank, len(phrases), ctx.world_size)
    chunks = [mine[i : i + batch_size] for i in range(0, mine.size, batch_size)]
    rows = []
    loader = micro_batch_loader(phrases, chunks, pin_memory=ctx.device.type == "cuda")
    for batch in loader:
        mel = batch["mel"].to(ctx.device, non_blocking=True)
        if amp is not None:
            with amp.autocast():
                _, u = encoder(mel)
        else:
            _, u = encoder(mel)
        rows.append(u.float())
    dim = encoder.conv6.out_channels
    mine_rows = torch.cat(rows) if rows else torch.zeros((0, dim), device=ctx.device)
    return ctx.all_gather_rows(mine_rows, len(phrases)).cpu()


def phrase_vectors(encoder: Encoder, phrases: PhraseSet, ctx: DistContext,
                   n_music: int = 0) -> torch.Tensor:
    """T's input for every phrase: u = E(mel), followed by its ``n_music`` music-side inputs
    (``SongShard.music``) when there are any, [N, C + M]."""
    u = embed_phrases(encoder, phrases, ctx)
    if not n_music:
        return u
    music = phrases.music_inputs()
    if music is None:
        music = np.zeros((len(phrases), n_music), np.float32)
    return torch.cat([u, torch.from_numpy(music)], dim=1)


@dataclass(frozen=True)
class DanceSets:
    """Each library phrase's dance (take) and genre as integers [K], for :func:`genre_loss`."""

    dance: torch.Tensor
    genre: torch.Tensor
    weight: float = 1.0

    @classmethod
    def of(cls, dances: Sequence[str], genres: Sequence[str], weight: float = 1.0) -> DanceSets:
        """From the library phrases' dance and genre names."""
        def ids(names: Sequence[str]) -> torch.Tensor:
            index = {n: i for i, n in enumerate(sorted(set(names)))}
            return torch.tensor([index[n] for n in names], dtype=torch.int64)

        return cls(ids(dances), ids(genres), weight)


def genre_loss(logits: torch.Tensor, labels: torch.Tensor, sets: DanceSets) -> torch.Tensor:
    """−log P(the label's genre) with the label's own dance removed: the leave-own-dance-out
    question the genre@k evaluation asks (Eq. 5 only asks for the one phrase). Rows whose
    genre has no other candidate dance add nothing."""
    dance, genre = sets.dance.to(labels.device), sets.genre.to(labels.device)
    own = dance[labels][:, None] == dance[None, :]
    same = genre[labels][:, None] == genre[None, :]
    masked = logits.masked_fill(own, DanceHead.MASKED)
    usable = (same & (masked > DanceHead.MASKED / 2)).any(dim=1)
    if not usable.any():
        return logits.sum() * 0.0
    right = masked.masked_fill(~same, DanceHead.MASKED).logsumexp(dim=1)
    return (masked.logsumexp(dim=1) - right)[usable].mean()


def classification_losses(
    model: nn.Module, batch: dict[str, torch.Tensor], amp: Amp, key: str = "u",
    sets: DanceSets | None = None,
) -> dict[str, torch.Tensor]:
    """Cross-entropy over K (Eq. 5) and the batch's top-1 accuracy; a mel batch brings its
    music-side inputs along when it has them. With ``sets`` the :func:`genre_loss` is added
    (times its weight)."""
    extra = (batch["music"],) if key == "mel" and "music" in batch else ()
    with amp.autocast():
        logits = model(batch[key], *extra)
    with amp.full_precision():
        loss = F.cross_entropy(logits.float(), batch["label"])
        out = {"train_top1": (logits.argmax(dim=-1) == batch["label"]).float().mean()}
        if sets is not None:
            out["genre_loss"] = genre_loss(logits.float(), batch["label"], sets)
            loss = loss + sets.weight * out["genre_loss"]
    return {"loss": loss, **out}


def sgd(
    parameters: object, stage_config: FinetuneConfig, lr: float | None = None
) -> torch.optim.SGD:
    """The fine-tuning optimizer of §3.5."""
    return torch.optim.SGD(
        parameters,
        lr=stage_config.lr if lr is None else lr,
        momentum=stage_config.momentum,
        weight_decay=stage_config.weight_decay,
    )


def embedding_batches(
    embeddings: torch.Tensor, labels: torch.Tensor, plan: Plan
) -> list[dict[str, torch.Tensor]]:
    """The plan's micro-batches of in-memory embeddings and labels, in order."""
    return [
        {"u": embeddings[torch.from_numpy(idx)], "label": labels[torch.from_numpy(idx)]}
        for step in plan
        for idx in step
    ]


def finetune(
    predictor: nn.Module,
    embeddings: torch.Tensor,
    labels: np.ndarray,
    config: TrainConfig,
    runner: StageRunner,
    *,
    balance: bool | None = None,
    stage: str = STAGE,
    sets: DanceSets | None = None,
    epochs: int | None = None,
    after_epoch: Callable[[int], None] | None = None,
) -> StageState:
    """Train ``predictor`` in place on fixed embeddings ``[N, C]`` with class ``labels [N]``
    (and the genre loss when ``sets`` are given) for ``epochs`` (default the config's);
    ``after_epoch(n)`` runs after the n-th epoch."""
    ctx = runner.ctx
    stage_config = config.finetune
    balance = stage_config.balance if balance is None else balance
    model = wrap_ddp(predictor, ctx, sync_batchnorm=config.sync_batchnorm)
    optimizer = sgd(predictor.parameters(), stage_config)
    amp = Amp(ctx, config.amp)
    label_tensor = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
    sampler = stage_sampler(
        len(label_tensor),
        stage_config.batch_size,
        config,
        ctx,
        labels=np.asarray(labels),
        balance=balance,
    )
    return runner.run_sampled(
        stage,
        stage_config.epochs if epochs is None else epochs,
        module=predictor,
        model=model,
        sampler=sampler,
        batches=lambda plan: embedding_batches(embeddings, label_tensor, plan),
        loss_fn=lambda m, b: classification_losses(m, b, amp, sets=sets),
        optimizer=optimizer,
        amp=amp,
        after_epoch=after_epoch,
    )


class LinearDanceHead(nn.Module):
    """Groups I/II's "linear classifier" on real libraries: BN → :class:`DanceHead` with a
    linear music side, plus the :class:`PairCues` term when ``dance_cues`` are given (the
    last ``len(MUSIC_CUES)`` inputs are then the music cues), as T has for Groups III–V."""

    def __init__(self, in_dim: int, dance_inputs: torch.Tensor, embed_dim: int,
                 dance_cues: torch.Tensor | None = None) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(in_dim)
        self.dance = DanceHead(in_dim, dance_inputs, embed_dim, 2 * embed_dim,
                               gate=1.0 if dance_cues is None else 0.0)
        self.cues = None if dance_cues is None else PairCues(dance_cues)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bonus = None if self.cues is None else self.cues(x[:, -len(MUSIC_CUES):])
        return self.dance(self.norm(x), bonus)


class EncoderClassifier(nn.Module):
    """E followed by one linear layer over K: the "no attention" model of Groups I and II.

    With ``dance_inputs`` [K, F] the layer is the dance head instead (a linear music side on
    the BatchNorm of u, the K rows from the phrases' inputs), as T's is for Groups III–V.
    """

    def __init__(self, encoder: Encoder, n_dances: int,
                 dance_inputs: torch.Tensor | None = None, n_music: int = 0,
                 dance_cues: torch.Tensor | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        c = encoder.conv6.out_channels
        self.head: nn.Module = nn.Linear(c, n_dances)
        if dance_inputs is not None:
            self.head = LinearDanceHead(c + n_music, dance_inputs, c, dance_cues)

    def forward(self, mel: torch.Tensor, music: torch.Tensor | None = None) -> torch.Tensor:
        _, u = self.encoder(mel)
        return self.head(u if music is None else torch.cat([u, music], dim=1))


def train_end_to_end(
    classifier: EncoderClassifier,
    phrases: PhraseSet,
    config: TrainConfig,
    runner: StageRunner,
    *,
    stage: str,
    sets: DanceSets | None = None,
) -> StageState:
    """Train E and a linear head together on labeled phrases (SGD settings of §3.5)."""
    ctx = runner.ctx
    stage_config = config.finetune
    model = wrap_ddp(classifier, ctx, sync_batchnorm=config.sync_batchnorm)
    optimizer = sgd(classifier.parameters(), stage_config)
    amp = Amp(ctx, config.amp)
    return runner.run_sampled(
        stage,
        stage_config.end_to_end_epochs,
        module=classifier,
        model=model,
        sampler=stage_sampler(len(phrases), stage_config.batch_size, config, ctx),
        batches=lambda plan: phrase_batches(phrases, plan, config, ctx),
        loss_fn=lambda m, b: classification_losses(m, b, amp, key="mel", sets=sets),
        optimizer=optimizer,
        amp=amp,
    )


if __name__ == "__main__":
    import sys

    from choreo_studio.training.commands.train import main_stage

    sys.exit(main_stage(STAGE))
