"""Epoch orders and their split into optimizer steps, micro-batches and ranks.

Every process draws the same global order from ``(seed, epoch)`` — shuffled, or class-balanced
(each class equally likely, drawn with replacement: the paper's Group IV) — and cuts it into
global batches of ``batch_size``. A global batch is split round-robin into ``world × accum``
equal parts; rank ``r`` runs parts ``a·world + r`` for its ``accum`` micro-steps. So a 2-process
run and a 1-process run with ``accum_steps = 2`` see the same samples in every optimizer step.
"""

from __future__ import annotations

import math

import numpy as np
from choreo_studio.core.errors import ChoreoError


def class_balanced_weights(labels: np.ndarray) -> np.ndarray:
    """Sampling probability per item, inversely proportional to its class's frequency."""
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size == 0:
        return np.zeros(0)
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    weights = 1.0 / counts[inverse]
    return weights / weights.sum()


def epoch_order(
    n_items: int,
    epoch: int,
    seed: int,
    *,
    labels: np.ndarray | None = None,
    balance: bool = False,
) -> np.ndarray:
    """The order items are visited in one epoch, identical on every process.

    Without balancing it is a permutation; with it, ``n_items`` draws with replacement where every
    class present in ``labels`` has the same total probability.
    """
    rng = np.random.default_rng([int(seed), int(epoch), 0x5EED])
    if balance:
        if labels is None or len(labels) != n_items:
            raise ValueError("class balancing needs one label per item")
        return rng.choice(n_items, size=n_items, replace=True, p=class_balanced_weights(labels))
    return rng.permutation(n_items)


class StepSampler:
    """The micro-batches of one process for each epoch (a distributed, optionally balanced sampler).

    ``steps(epoch)`` returns one list per optimizer step holding this rank's ``accum_steps``
    index arrays. The last global batch wraps around to the start of the order, so every step
    has exactly ``batch_size`` items and every part has ``batch_size / (world · accum)``.
    """

    def __init__(
        self,
        n_items: int,
        batch_size: int,
        *,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        accum_steps: int = 1,
        labels: np.ndarray | None = None,
        balance: bool = False,
    ) -> None:
        parts = world_size * accum_steps
        if n_items <= 0:
            raise ChoreoError("no training items — check the data set (is it empty?)")
        if batch_size % parts:
            raise ChoreoError(
                f"batch size {batch_size} does not split into {world_size} processes × "
                f"{accum_steps} accumulation steps — use a multiple of {parts}"
            )
        self.n_items = n_items
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.accum_steps = accum_steps
        self.labels = None if labels is None else np.asarray(labels)
        self.balance = balance

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps in one epoch."""
        return math.ceil(self.n_items / self.batch_size)

    def steps(self, epoch: int) -> list[list[np.ndarray]]:
        """This rank's micro-batches for every optimizer step of ``epoch``."""
        order = epoch_order(
            self.n_items, epoch, self.seed, labels=self.labels, balance=self.balance
        )
        order = np.resize(order, self.steps_per_epoch * self.batch_size)
        parts = self.world_size * self.accum_steps
        plan = []
        for s in range(self.steps_per_epoch):
            batch = order[s * self.batch_size : (s + 1) * self.batch_size]
            plan.append(
                [batch[a * self.world_size + self.rank :: parts] for a in range(self.accum_steps)]
            )
        return plan
