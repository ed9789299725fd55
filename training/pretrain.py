"""Self-supervised pre-training of the encoder E with the decoders D1, D2, D3 (paper §3.2).

L = β1·L_spe + β2·L_mld + β3·L_rym (Eq. 4) with L_spe = |D1(E(mel)) − mel|₁ (Eq. 1),
L_mld = |D2(E(mel)) − melody|₁ (Eq. 2) and L_rym = BCE(D3(E(mel)), rhythm) (Eq. 3); the
means over elements are used. BCE is computed from D3's logits (the same loss as BCE after
its sigmoid, numerically safe). Adam, learning rate ×γ every ``lr_step_epochs`` epochs.
Runs as ``python -m choreo_studio.training.pretrain`` (see ``choreo train pretrain --help``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from choreo_studio.core.retrieval.networks import RetrievalNetwork
from choreo_studio.training.checkpoints import StageState
from choreo_studio.training.config import PretrainConfig, TrainConfig
from choreo_studio.training.datasets import PhraseSet
from choreo_studio.training.distributed import Amp, wrap_ddp
from choreo_studio.training.loop import StageRunner, phrase_batches, stage_sampler
from torch import nn

STAGE = "pretrain"


class PretrainModel(nn.Module):
    """E with the three pretext decoders: mel → (mel₁, melody, rhythm logits)."""

    def __init__(self, network: RetrievalNetwork) -> None:
        super().__init__()
        if not hasattr(network, "d1"):
            raise ValueError("pre-training needs a RetrievalNetwork built with_decoders=True")
        self.encoder = network.encoder
        self.d1 = network.d1
        self.d2 = network.d2
        self.d3 = network.d3

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        f_t, u = self.encoder(mel)
        return self.d1(u), self.d2(f_t), self.d3.logits(f_t)


def pretrain_losses(
    model: nn.Module, batch: dict[str, torch.Tensor], config: PretrainConfig, amp: Amp
) -> dict[str, torch.Tensor]:
    """The three pretext losses and their weighted sum ``loss`` (Eq. 1–4) on one batch."""
    with amp.autocast():
        mel_hat, melody_hat, rhythm_logits = model(batch["mel"])
    with amp.full_precision():
        spe = F.l1_loss(mel_hat.float(), batch["mel"])
        mld = F.l1_loss(melody_hat.float(), batch["melody"])
        rym = F.binary_cross_entropy_with_logits(rhythm_logits.float(), batch["rhythm"])
        loss = config.beta_spe * spe + config.beta_mld * mld + config.beta_rym * rym
    return {"loss": loss, "spe": spe, "mld": mld, "rym": rym}


def pretrain(
    network: RetrievalNetwork,
    phrases: PhraseSet,
    config: TrainConfig,
    runner: StageRunner,
) -> StageState:
    """Pre-train ``network``'s encoder (and decoders) in place on every phrase of ``phrases``."""
    ctx = runner.ctx
    stage_config = config.pretrain
    model = PretrainModel(network)
    ddp_model = wrap_ddp(model, ctx, sync_batchnorm=config.sync_batchnorm)
    optimizer = torch.optim.Adam(model.parameters(), lr=stage_config.lr)
    scheduler = torch.optim.lr_scheduler.StepLR(
        optimizer, step_size=max(stage_config.lr_step_epochs, 1), gamma=stage_config.lr_gamma
    )
    amp = Amp(ctx, config.amp)
    return runner.run_sampled(
        STAGE,
        stage_config.epochs,
        module=model,
        model=ddp_model,
        sampler=stage_sampler(len(phrases), stage_config.batch_size, config, ctx),
        batches=lambda plan: phrase_batches(phrases, plan, config, ctx),
        loss_fn=lambda m, b: pretrain_losses(m, b, stage_config, amp),
        optimizer=optimizer,
        amp=amp,
        scheduler=scheduler,
    )


if __name__ == "__main__":
    import sys

    from choreo_studio.training.commands.train import main_stage

    sys.exit(main_stage(STAGE))
