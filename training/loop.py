"""The parts every training stage shares: one optimizer step over micro-batches, one epoch,
and the epoch loop with logging, checkpoints and resume.

An optimizer step runs this rank's ``accum_steps`` micro-batches, skipping DDP's all-reduce on
all but the last, and averages the micro-batch losses; the epoch's reported values are the mean
over steps averaged over ranks. With equal micro-batch sizes this equals what one process sees
on the whole global batch split the same way, so logged losses match across world sizes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.progress import ProgressFn, no_progress
from choreo_studio.training.checkpoints import (
    CHECKPOINT_SUFFIX,
    StageState,
    load_checkpoint,
    save_checkpoint,
)
from choreo_studio.training.config import TrainConfig
from choreo_studio.training.datasets import PhraseSet, micro_batch_loader
from choreo_studio.training.distributed import Amp, DistContext, no_sync_unless
from choreo_studio.training.run_log import RunLog, progress_bar
from choreo_studio.training.samplers import StepSampler
from torch import nn

LossFn = Callable[[nn.Module, dict[str, torch.Tensor]], dict[str, torch.Tensor]]
"""Maps (model, batch on device) to named loss tensors; ``"loss"`` is the one optimised."""

Plan = list[list[np.ndarray]]
"""One epoch of this rank's micro-batch index arrays, one list per optimizer step."""


@dataclass
class StageRunner:
    """Where and how a stage runs: run folder, process context, log, progress and resume policy.

    ``stop_after_epoch`` ends the stage early after that many epochs (with a checkpoint), as an
    interrupted run would; a later call with ``resume=True`` continues from there.
    """

    run_dir: Path
    ctx: DistContext
    log: RunLog
    progress: ProgressFn = no_progress
    checkpoint_every: int = 1
    resume: bool = False
    show_bars: bool = True
    stop_after_epoch: int | None = None

    @classmethod
    def create(
        cls,
        run_dir: str | os.PathLike[str],
        ctx: DistContext,
        **kwargs: object,
    ) -> StageRunner:
        """A runner logging to ``run_dir/log.csv`` (rank 0 only)."""
        run_dir = Path(run_dir)
        if ctx.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
        ctx.barrier()
        return cls(run_dir, ctx, RunLog(run_dir / "log.csv", ctx.is_main), **kwargs)

    def checkpoint_path(self, stage: str) -> Path:
        return self.run_dir / "checkpoints" / f"{stage}{CHECKPOINT_SUFFIX}"

    def run(
        self,
        stage: str,
        n_epochs: int,
        *,
        modules: dict[str, nn.Module],
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler | None,
        amp: Amp,
        epoch_fn: Callable[[int, StageState], dict[str, float]],
        state: StageState | None = None,
        done: Callable[[StageState], bool] | None = None,
    ) -> StageState:
        """Run epochs ``state.epoch … n_epochs-1`` of ``stage`` (resuming from its checkpoint).

        ``done(state)``, checked before each epoch, ends the stage early (co-ascent stops once
        every unlabeled phrase has a confident pseudo-label).
        """
        state = state or StageState()
        path = self.checkpoint_path(stage)
        legacy = path.with_suffix(".pt")
        if self.resume and legacy.exists() and not path.exists():
            raise ChoreoError(f"{legacy}: a checkpoint of an older version (a pickle, which is "
                              "never loaded) — delete it and run the stage without --resume")
        if self.resume and path.exists():
            state = load_checkpoint(
                path, modules=modules, optimizer=optimizer, scheduler=scheduler, scaler=amp.scaler
            )
        self.log.drop_from(stage, state.epoch)  # rows of epochs about to be (re-)run
        last = n_epochs if self.stop_after_epoch is None else min(n_epochs, self.stop_after_epoch)
        for epoch in range(state.epoch, last):
            if done is not None and done(state):
                break
            values = epoch_fn(epoch, state)
            values["lr"] = float(optimizer.param_groups[0]["lr"])
            if scheduler is not None:
                scheduler.step()
            state.epoch = epoch + 1
            state.history.append(dict(values))
            self.log.write(stage, epoch, values)
            self.progress(state.epoch / max(n_epochs, 1), _summary(stage, state.epoch, n_epochs,
                                                                   values))
            due = state.epoch % max(self.checkpoint_every, 1) == 0 or state.epoch == last
            if self.ctx.is_main and due:
                path.parent.mkdir(parents=True, exist_ok=True)
                save_checkpoint(path, modules=modules, optimizer=optimizer, scheduler=scheduler,
                                scaler=amp.scaler, state=state)
            self.ctx.barrier()
        return state

    def run_sampled(
        self,
        stage: str,
        n_epochs: int,
        *,
        module: nn.Module,
        model: nn.Module,
        sampler: StepSampler,
        batches: Callable[[Plan], Iterable[dict[str, torch.Tensor]]],
        loss_fn: LossFn,
        optimizer: torch.optim.Optimizer,
        amp: Amp,
        scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
        after_epoch: Callable[[int], None] | None = None,
    ) -> StageState:
        """Run a stage whose every epoch is one :func:`train_epoch` over ``sampler``'s plan.

        ``module`` is what the checkpoint holds, ``model`` what trains (it, or its DDP wrapper);
        ``batches(plan)`` yields the plan's micro-batches in order; ``after_epoch(n)`` is
        called after the n-th epoch (n from 1), e.g. to judge held-out songs.
        """

        def run_epoch(epoch: int, state: StageState) -> dict[str, float]:
            plan = sampler.steps(epoch)
            values = train_epoch(
                model,
                plan,
                batches(plan),
                loss_fn,
                optimizer,
                amp,
                self.ctx,
                desc=f"{stage} {epoch + 1}/{n_epochs}",
                show_bar=self.show_bars,
            )
            if after_epoch is not None:
                after_epoch(epoch + 1)
            return values

        return self.run(
            stage,
            n_epochs,
            modules={stage: module},
            optimizer=optimizer,
            scheduler=scheduler,
            amp=amp,
            epoch_fn=run_epoch,
        )


def stage_sampler(
    n_items: int,
    batch_size: int,
    config: TrainConfig,
    ctx: DistContext,
    *,
    labels: np.ndarray | None = None,
    balance: bool = False,
) -> StepSampler:
    """This rank's sampler over ``n_items`` with the run's seed and gradient accumulation."""
    return StepSampler(
        n_items,
        batch_size,
        seed=config.seed,
        rank=ctx.rank,
        world_size=ctx.world_size,
        accum_steps=config.accum_steps,
        labels=labels,
        balance=balance,
    )


def phrase_batches(
    phrases: PhraseSet, plan: Plan, config: TrainConfig, ctx: DistContext
) -> torch.utils.data.DataLoader:
    """The plan's micro-batches of ``phrases``, loaded in order (pinned memory on CUDA)."""
    return micro_batch_loader(
        phrases,
        [micro for step in plan for micro in step],
        num_workers=config.num_workers,
        pin_memory=ctx.device.type == "cuda",
    )


def _summary(stage: str, epoch: int, n_epochs: int, values: dict[str, float]) -> str:
    shown = ", ".join(f"{k} {v:.4g}" for k, v in values.items() if k != "lr")
    return f"{stage} epoch {epoch}/{n_epochs}: {shown}"


def train_epoch(
    model: nn.Module,
    plan: Plan,
    batches: Iterable[dict[str, torch.Tensor]],
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    amp: Amp,
    ctx: DistContext,
    *,
    desc: str = "",
    show_bar: bool = True,
) -> dict[str, float]:
    """One epoch of optimizer steps; ``batches`` yields the plan's micro-batches in order.

    Returns the mean of every named loss over the epoch's steps, averaged over ranks.
    """
    model.train()
    totals: dict[str, torch.Tensor] = {}
    batch_iter = iter(batches)
    bar = progress_bar(len(plan), desc, ctx.is_main and show_bar)
    for micro_batches in plan:
        n_micro = len(micro_batches)
        step_values: dict[str, torch.Tensor] = {}
        for a in range(n_micro):
            batch = {k: v.to(ctx.device, non_blocking=True) for k, v in next(batch_iter).items()}
            with no_sync_unless(model, a == n_micro - 1):
                losses = loss_fn(model, batch)
                amp.backward(losses["loss"] / n_micro)
            for name, value in losses.items():
                step_values[name] = step_values.get(name, 0.0) + value.detach().float() / n_micro
        amp.step(optimizer)
        for name, value in step_values.items():
            totals[name] = totals.get(name, 0.0) + value
        bar.set_postfix(loss=f"{float(step_values['loss']):.4f}")
        bar.update(1)
    bar.close()
    n_steps = max(len(plan), 1)
    return {
        name: float(ctx.all_reduce_mean(total / n_steps)) for name, total in sorted(totals.items())
    }


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA) and numpy's legacy global generator."""
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))
