"""Co-ascent learning of the predictor T and the transition matrix M (paper §3.4, Algorithm 1).

Each round k (every ``refresh_epochs`` epochs):

1. Run E and T_k on the unlabeled set D_u: P = softmax(T_k(u)).
2. Walk each song in order: P(d_t) ← P(d_t)·M_k(d_{t-1} → d_t) (Eq. 6), where d_{t-1} is the
   pseudo-label just chosen for the previous phrase; the pseudo-label is the arg-max of the
   rescaled P and its confidence the rescaled value (not renormalised, as in Algorithm 1).
3. D'_u = phrases whose confidence exceeds τ; fine-tune T_k on D_l + D'_u → T_{k+1}
   (SGD with the fine-tuning settings, learning rate 1e-5, class balancing as configured).
4. M_{k+1} (Eq. 7 and the lines after fine-tuning). For every adjacent pair of D_u with
   pseudo-labels (a, b) and top-1 confidences (p, q) the round's evidence is
   C(a→b) = Σ p·q (Eq. 7's increment, summed over pairs with the same labels like N-gram
   counts; Algorithm 1 starts this accumulator at zero each round). Our reading of
   "M_{k+1} = M_k + P·P": the evidence updates a prior row by row, as counts update a
   Dirichlet prior — M'(a, ·) ∝ S · M_0(a, ·)/Σ_b M_0(a, b) + C(a, ·), with S = PRIOR_STRENGTH
   pseudo-transitions — and each row is rescaled so its maximum stays M_0's (M lives in
   [m_min, m_max], it is not row-stochastic). Then M_{k+1} ← α·M_k + (1−α)·M' and the clip
   (§3.5). The prior is M_0, not M_k: the same pseudo-labels come back every round, and adding
   them to M_k again counted them again — the literal reading (M' = M_k + C on seen pairs, 0
   elsewhere, then the momentum) halves every unseen transition each round until it sits at
   the clip floor or M_0/4 (the bundled model: 97.6 % of entries), and saturates every seen
   one at 1.0 (a nearly binary M). Here a row without evidence keeps M_0, unseen transitions
   keep M_0's shape scaled by S/(S + n_a) (n_a the row's evidence), and seen ones rank by their
   evidence, at most the row's prior maximum; repeated rounds with the same labels converge
   instead of decaying.

The loop ends after the configured epochs, or after a round that labeled every phrase of D_u
("while not all samples in D_u are labeled"). E stays frozen, so T works on fixed embeddings.
M_0 is the library's transition prior (style similarity + pose continuity) with every
transition the experts used in D_l set to the maximum. Runs as ``python -m training.coascent``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from choreo_studio.training.checkpoints import StageState
from choreo_studio.training.config import CoascentConfig, TrainConfig
from choreo_studio.training.distributed import Amp, wrap_ddp
from choreo_studio.training.finetune import (
    DanceSets,
    classification_losses,
    embedding_batches,
    sgd,
)
from choreo_studio.training.loop import StageRunner, stage_sampler, train_epoch
from torch import nn

STAGE = "coascent"
PRIOR_STRENGTH = 8.0  # pseudo-transitions per row that the prior M_0 is worth (step 4)


def initial_transition(
    prior: np.ndarray | None,
    labeled_pairs: np.ndarray,
    n_dances: int,
    config: CoascentConfig,
) -> np.ndarray:
    """M_0: the library prior (uniform at ``m_max`` without one) with labeled transitions at max.

    ``labeled_pairs`` is [P, 2] class indices (d_{t-1}, d_t) of adjacent labeled phrases.
    """
    if prior is None:
        m0 = np.full((n_dances, n_dances), config.m_max, dtype=np.float64)
    else:
        m0 = np.array(prior, dtype=np.float64)
        if m0.shape != (n_dances, n_dances):
            raise ValueError(f"transition prior is {m0.shape}, expected K×K with K={n_dances}")
    pairs = np.asarray(labeled_pairs, dtype=np.int64).reshape(-1, 2)
    m0[pairs[:, 0], pairs[:, 1]] = config.m_max
    return np.clip(m0, config.m_min, config.m_max)


def rescaled_pseudo_labels(
    probs: np.ndarray, predecessor: np.ndarray, transition: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy Eq. 6 along each song: pseudo-labels and their rescaled confidences.

    ``probs`` [N, K] are P(d | u) in song order, ``predecessor`` [N] the index of each phrase's
    previous phrase (-1 at a song's start). Phrases are processed by position in their song so
    every song advances together.
    """
    probs = np.asarray(probs, dtype=np.float64)
    n = probs.shape[0]
    labels = np.zeros(n, dtype=np.int64)
    confidence = np.zeros(n, dtype=np.float64)
    position = np.zeros(n, dtype=np.int64)
    for i in range(n):
        position[i] = 0 if predecessor[i] < 0 else position[predecessor[i]] + 1
    for pos in range(int(position.max(initial=-1)) + 1):
        rows = np.flatnonzero(position == pos)
        rescaled = probs[rows]
        if pos > 0:
            rescaled = rescaled * transition[labels[predecessor[rows]]]
        labels[rows] = rescaled.argmax(axis=1)
        confidence[rows] = rescaled[np.arange(rows.size), labels[rows]]
    return labels, confidence


def updated_transition(
    transition: np.ndarray,
    labels: np.ndarray,
    confidence: np.ndarray,
    pairs: np.ndarray,
    config: CoascentConfig,
    prior: np.ndarray | None = None,
) -> np.ndarray:
    """M_{k+1} from M_k, one round's pseudo-labels and the prior M_0 (module docstring, step 4;
    ``prior`` defaults to M_k)."""
    transition = np.asarray(transition, dtype=np.float64)
    prior = transition if prior is None else np.asarray(prior, dtype=np.float64)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    a, b = labels[pairs[:, 0]], labels[pairs[:, 1]]
    evidence = np.zeros_like(transition)
    np.add.at(evidence, (a, b), confidence[pairs[:, 0]] * confidence[pairs[:, 1]])
    row_total = np.maximum(prior.sum(axis=1, keepdims=True), 1e-12)
    posterior = PRIOR_STRENGTH * prior / row_total + evidence
    row_max = np.maximum(posterior.max(axis=1, keepdims=True), 1e-12)
    updated = posterior * (prior.max(axis=1, keepdims=True) / row_max)
    blended = config.alpha * transition + (1.0 - config.alpha) * updated
    return np.clip(blended, config.m_min, config.m_max)


def labeled_transitions(labels: np.ndarray, predecessor: np.ndarray) -> np.ndarray:
    """[P, 2] class pairs (d_{t-1}, d_t) of adjacent phrases that both carry a label."""
    labels = np.asarray(labels, dtype=np.int64)
    current = np.flatnonzero(np.asarray(predecessor) >= 0)
    previous = np.asarray(predecessor)[current]
    keep = (labels[current] >= 0) & (labels[previous] >= 0)
    return np.stack([labels[previous[keep]], labels[current[keep]]], axis=1)


@torch.no_grad()
def predict_probabilities(predictor: nn.Module, embeddings: torch.Tensor, device: torch.device,
                          batch_size: int = 4096) -> np.ndarray:
    """P(d | u) = softmax(T(u)) for every row, as float64 numpy [N, K]."""
    predictor.eval()
    out = [
        torch.softmax(predictor(embeddings[i : i + batch_size].to(device)).float(), dim=-1).cpu()
        for i in range(0, embeddings.shape[0], batch_size)
    ]
    return torch.cat(out).double().numpy() if out else np.zeros((0, 0))


def coascent(
    predictor: nn.Module,
    labeled_embeddings: torch.Tensor,
    labeled_classes: np.ndarray,
    unlabeled_embeddings: torch.Tensor,
    unlabeled_predecessor: np.ndarray,
    initial_m: np.ndarray,
    config: TrainConfig,
    runner: StageRunner,
    *,
    balance: bool | None = None,
    sets: DanceSets | None = None,
    epochs: int | None = None,
    after_epoch: Callable[[int], None] | None = None,
) -> tuple[StageState, np.ndarray]:
    """Algorithm 1: refine ``predictor`` in place and return the stage state and the final M
    (``sets``: the fine-tuning's genre loss on the labelled and pseudo-labelled batches) after
    ``epochs`` (default the config's); ``after_epoch(n)`` runs after the n-th epoch."""
    ctx = runner.ctx
    stage_config = config.coascent
    balance = config.finetune.balance if balance is None else balance
    model = wrap_ddp(predictor, ctx, sync_batchnorm=config.sync_batchnorm)
    optimizer = sgd(predictor.parameters(), config.finetune, lr=stage_config.lr)
    amp = Amp(ctx, config.amp)
    refresh = max(stage_config.refresh_epochs, 1)
    n_epochs = stage_config.epochs if epochs is None else epochs
    unlabeled_predecessor = np.asarray(unlabeled_predecessor, dtype=np.int64)
    current = np.flatnonzero(unlabeled_predecessor >= 0)
    pairs = np.stack([unlabeled_predecessor[current], current], axis=1)
    labeled_classes = np.asarray(labeled_classes, dtype=np.int64)
    all_embeddings = torch.cat([labeled_embeddings, unlabeled_embeddings])
    n_labeled = labeled_embeddings.shape[0]
    state = StageState(extras={"transition": torch.from_numpy(np.asarray(initial_m, np.float64))})

    def run_epoch(epoch: int, state: StageState) -> dict[str, float]:
        m_k = state.extras["transition"].numpy()
        if epoch % refresh == 0:
            probs = predict_probabilities(predictor, unlabeled_embeddings, ctx.device)
            labels, confidence = rescaled_pseudo_labels(probs, unlabeled_predecessor, m_k)
            state.extras["pseudo_labels"] = torch.from_numpy(labels)
            state.extras["pseudo_confidence"] = torch.from_numpy(confidence)
        labels = state.extras["pseudo_labels"].numpy()
        confidence = state.extras["pseudo_confidence"].numpy()
        confident = np.flatnonzero(confidence > stage_config.tau)
        items = np.concatenate([np.arange(n_labeled), n_labeled + confident])
        item_labels = np.concatenate([labeled_classes, labels[confident]])
        sampler = stage_sampler(
            items.size, stage_config.batch_size, config, ctx, labels=item_labels, balance=balance
        )
        plan = sampler.steps(epoch)
        values = train_epoch(
            model,
            plan,
            embedding_batches(
                all_embeddings[torch.from_numpy(items)], torch.from_numpy(item_labels), plan
            ),
            lambda m, b: classification_losses(m, b, amp, sets=sets),
            optimizer,
            amp,
            ctx,
            desc=f"{STAGE} {epoch + 1}/{n_epochs}",
            show_bar=runner.show_bars,
        )
        round_ends = epoch % refresh == refresh - 1 or epoch == n_epochs - 1
        if round_ends:
            m_next = updated_transition(m_k, labels, confidence, pairs, stage_config,
                                        prior=initial_m)
            state.extras["transition"] = torch.from_numpy(m_next)
            state.extras["round_coverage"] = torch.tensor(confident.size / max(labels.size, 1))
        values["pseudo_labeled"] = float(confident.size)
        values["coverage"] = confident.size / max(labels.size, 1)
        values["m_mean"] = float(state.extras["transition"].mean())
        if after_epoch is not None:
            after_epoch(epoch + 1)
        return values

    def all_labeled(state: StageState) -> bool:
        coverage = state.extras.get("round_coverage")
        return coverage is not None and float(coverage) >= 1.0

    state = runner.run(
        STAGE,
        n_epochs,
        modules={STAGE: predictor},
        optimizer=optimizer,
        scheduler=None,
        amp=amp,
        epoch_fn=run_epoch,
        state=state,
        done=all_labeled,
    )
    return state, state.extras["transition"].numpy().astype(np.float32)


if __name__ == "__main__":
    import sys

    from choreo_studio.training.commands.train import main_stage

    sys.exit(main_stage(STAGE))
