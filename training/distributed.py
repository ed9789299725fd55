"""Process-group plumbing for one process or a ``torchrun`` DistributedDataParallel job.

One :class:`DistContext` says who this process is (rank, world size, device). Under ``torchrun``
it reads ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` and joins a NCCL group on CUDA or a gloo group
on CPU; alone, it is rank 0 of 1 and every collective is a no-op. Rank 0 alone logs, writes
checkpoints and writes outputs. AMP (bf16, or fp16 with a gradient scaler) is used on CUDA only.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass
class DistContext:
    """This process's place in the job: rank, world size, local rank and torch device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    initialized_here: bool = False

    @property
    def is_main(self) -> bool:
        """True on the one process that logs, checkpoints and writes outputs."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when gradients and metrics must be reduced across processes."""
        return self.world_size > 1

    def barrier(self) -> None:
        """Wait for every process (no-op alone)."""
        if self.distributed:
            dist.barrier()

    def all_reduce_mean(self, value: torch.Tensor) -> torch.Tensor:
        """The mean of ``value`` over processes (a copy; the input is unchanged)."""
        out = value.detach().clone().to(self.device)
        if self.distributed:
            dist.all_reduce(out, op=dist.ReduceOp.SUM)
            out /= self.world_size
        return out

    def all_gather_rows(self, rows: torch.Tensor, n_total: int) -> torch.Tensor:
        """Reassemble rows computed round-robin (rank r held items r, r+W, …) into item order."""
        if not self.distributed:
            return rows[:n_total]
        per_rank = (n_total + self.world_size - 1) // self.world_size
        padded = torch.zeros((per_rank, *rows.shape[1:]), dtype=rows.dtype, device=self.device)
        padded[: rows.shape[0]] = rows.to(self.device)
        gathered = [torch.empty_like(padded) for _ in range(self.world_size)]
        dist.all_gather(gathered, padded)
        interleaved = torch.stack(gathered, dim=1).reshape(-1, *rows.shape[1:])
        return interleaved[:n_total]

    def shutdown(self) -> None:
        """Leave the process group if this context joined it."""
        if self.initialized_here and dist.is_initialized():
            dist.destroy_process_group()


def init_distributed(device: str = "auto") -> DistContext:
    """Join the ``torchrun`` process group when launched by it; otherwise a single process.

    ``device`` is ``auto`` (CUDA when available), ``cpu`` or ``cuda``. Each process drives the
    GPU of its ``LOCAL_RANK``; the backend is NCCL on CUDA and gloo on CPU.
    """
    use_cuda = torch.cuda.is_available() if device == "auto" else device.startswith("cuda")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        torch.cuda.set_device(local_rank)
        torch_device = torch.device("cuda", local_rank)
    else:
        torch_device = torch.device("cpu")
    initialized_here = False
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
        initialized_here = True
    return DistContext(rank, world_size, local_rank, torch_device, initialized_here)


def wrap_ddp(model: nn.Module, ctx: DistContext, *, sync_batchnorm: bool = True) -> nn.Module:
    """Wrap ``model`` for data-parallel training (unchanged in a single process).

    On CUDA, BatchNorm layers become SyncBatchNorm when asked, so statistics span the global
    batch; torch supports SyncBatchNorm on GPUs only, so on CPU each process normalises its own
    micro-batch (exactly what a single process does with ``accum_steps = world_size``).
    """
    model = model.to(ctx.device)
    if not ctx.distributed:
        return model
    if sync_batchnorm and ctx.device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)


class Amp:
    """Mixed precision on CUDA (bf16 where supported, else fp16 with loss scaling); off on CPU."""

    def __init__(self, ctx: DistContext, enabled: bool) -> None:
        self.enabled = bool(enabled) and ctx.device.type == "cuda"
        self.device_type = ctx.device.type
        self.dtype = torch.float32
        if self.enabled:
            self.dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler(
            "cuda", enabled=self.enabled and self.dtype == torch.float16
        )

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        """Run the forward pass in reduced precision when enabled."""
        if self.enabled:
            with torch.autocast(device_type=self.device_type, dtype=self.dtype):
                yield
        else:
            yield

    @contextlib.contextmanager
    def full_precision(self) -> Iterator[None]:
        """Compute losses in float32 even inside :meth:`autocast` (BCE is unsafe in fp16)."""
        if self.enabled:
            with torch.autocast(device_type=self.device_type, enabled=False):
                yield
        else:
            yield

    def backward(self, loss: torch.Tensor) -> None:
        """Backpropagate, scaled when fp16 needs it."""
        self.scaler.scale(loss).backward()

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """Apply the accumulated gradients (unscaling first) and clear them."""
        self.scaler.step(optimizer)
        self.scaler.update()
        optimizer.zero_grad(set_to_none=True)


@contextlib.contextmanager
def no_sync_unless(model: nn.Module, sync: bool) -> Iterator[None]:
    """Skip DDP's gradient all-reduce on accumulation micro-steps that are not the last."""
    if not sync and isinstance(model, nn.parallel.DistributedDataParallel):
        with model.no_sync():
            yield
    else:
        yield
