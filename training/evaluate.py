"""Top-k accuracy of dance-phrase retrieval on held-out songs, with the two baselines.

The paper's index accuracy (Table 1): a music phrase counts as a hit at k when the expert's
dance phrase is among the k highest-scored of the K library phrases. Baselines: chance (k/K)
and the most-frequent classifier, which always proposes the k dance phrases used most often in
the training labels. Runs as ``python -m training.evaluate`` (``choreo train evaluate``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def topk_hits(scores: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Boolean [N]: is ``labels[i]`` among the ``k`` largest ``scores[i]``? (ties: lower index)"""
    scores = np.asarray(scores)
    labels = np.asarray(labels, dtype=np.int64)
    k = min(k, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return (top == labels[:, None]).any(axis=1)


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, ks: Sequence[int]) -> dict[int, float]:
    """Fraction of rows whose label is in the top k, for each k."""
    if len(labels) == 0:
        return {k: float("nan") for k in ks}
    return {k: float(topk_hits(scores, labels, k).mean()) for k in ks}


def chance_topk(n_dances: int, ks: Sequence[int]) -> dict[int, float]:
    """Expected top-k accuracy of a uniformly random ranking of K phrases."""
    return {k: min(k, n_dances) / n_dances for k in ks}


def most_frequent_topk(
    train_labels: np.ndarray, test_labels: np.ndarray, n_dances: int, ks: Sequence[int]
) -> dict[int, float]:
    """Top-k accuracy of always proposing the k most frequent training labels."""
    counts = np.bincount(np.asarray(train_labels, dtype=np.int64), minlength=n_dances)
    scores = np.broadcast_to(counts.astype(np.float64), (len(test_labels), n_dances))
    return topk_accuracy(scores, test_labels, ks)


def accuracy_report(
    scores: np.ndarray,
    test_labels: np.ndarray,
    train_labels: np.ndarray,
    n_dances: int,
    ks: Sequence[int] = (1, 5, 10),
) -> dict[str, dict[str, float]]:
    """Model, chance and most-frequent top-k on the held-out phrases, keyed ``top1`` …"""

    def named(values: dict[int, float]) -> dict[str, float]:
        return {f"top{k}": v for k, v in values.items()}

    return {
        "model": named(topk_accuracy(scores, test_labels, ks)),
        "chance": named(chance_topk(n_dances, ks)),
        "most_frequent": named(most_frequent_topk(train_labels, test_labels, n_dances, ks)),
        "n_test_phrases": {"count": float(len(test_labels))},
    }


def format_report(report: dict[str, dict[str, float]]) -> str:
    """A small fixed-width table of a report from :func:`accuracy_report`."""
    keys = [k for k in report["model"]]
    lines = [f"{'':16}" + "".join(f"{k:>9}" for k in keys)]
    for row in ("model", "most_frequent", "chance"):
        lines.append(f"{row:16}" + "".join(f"{100 * report[row][k]:8.1f}%" for k in keys))
    lines.append(f"held-out phrases: {int(report['n_test_phrases']['count'])}")
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    from choreo_studio.training.commands.train import main_stage

    sys.exit(main_stage("evaluate"))
