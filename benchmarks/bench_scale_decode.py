"""Transitions at studio scale: synthetic libraries of 1,101 / 10,000 / 100,000 phrases.

For each size: build the factored transition model (style × energy prior table, the learned M
kept for LEARNED_PER_PHRASE pairs per phrase, cut features K × d), then time top-10
suggestions for one phrase with both neighbours and a constrained re-solve of a T = 120 song
(12 locks, default variety costs, the log music fit kept between re-solves) with the candidate
decoder; at K = 1,101 also the dense decoder. Prints the table; nothing is asserted. Targets
(issue 17): K = 100,000 suggestions ≤ 2 ms, re-solve ≤ 100 ms, model memory ≤ 1 GB, build
≤ 60 s; K = 1,101 re-solve ≤ 30 ms.

The music fit is a softmax over Gaussian logits (standard deviation ``--spread``, larger is
more decisive, as a trained network is); an all-equal fit is the candidate decoder's worst
case (every dance stays a candidate) and is not run at large K.

Run: ``python benchmarks/bench_scale_decode.py [--sizes 1101 10000 100000] [--dims 24]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_engine import timed  # noqa: E402  (same folder: one timing helper for both)
from choreo_studio.core.library.transition_prior import CutFeatures  # noqa: E402
from choreo_studio.core.retrieval.candidate_decoding import CandidateTransitions  # noqa: E402
from choreo_studio.core.retrieval.decoding import (  # noqa: E402
    DecodeOptions,
    TransitionScores,
    decode,
    log_fit,
)
from choreo_studio.core.retrieval.suggestions import suggest  # noqa: E402
from choreo_studio.core.retrieval.transitions import LearnedM, TransitionModel  # noqa: E402

T = 120
N_STYLES, N_ENERGIES = 8, 3
LEARNED_PER_PHRASE = 16
DENSE_UP_TO = 2000


def synthetic_inputs(k: int, dims: int, seed: int = 0):
    """Per-phrase groups, a group table, learned pairs and raw cut features of a K library."""
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, N_STYLES * N_ENERGIES, k)
    style = np.arange(N_STYLES * N_ENERGIES) // N_ENERGIES
    energy = np.arange(N_STYLES * N_ENERGIES) % N_ENERGIES
    table = np.where(style[:, None] == style[None, :], 1.0, 0.15) * (
        1.0 - 0.1 * np.abs(energy[:, None] - energy[None, :]))
    n = k * LEARNED_PER_PHRASE
    pairs = (np.repeat(np.arange(k), LEARNED_PER_PHRASE), rng.integers(0, k, n),
             rng.uniform(0.05, 1.0, n).astype(np.float32))
    centres = rng.normal(0, 1, (64, dims)).astype(np.float32)  # poses cluster, as dances do
    ends = centres[rng.integers(0, 64, k)] + rng.normal(0, 0.5, (k, dims)).astype(np.float32)
    starts = centres[rng.integers(0, 64, k)] + rng.normal(0, 0.5, (k, dims)).astype(np.float32)
    return groups, table.astype(np.float32), pairs, ends, starts


def build_model(k: int, dims: int) -> tuple[TransitionModel, float]:
    """The factored model for a synthetic library and its build time in seconds."""
    groups, table, pairs, ends, starts = synthetic_inputs(k, dims)
    start = time.perf_counter()
    # cut features scaled so a median cut costs about 1 nat (as cut_features does)
    sample = np.random.default_rng(1).integers(0, k, (2, 4096))
    scale = 1.0 / np.sqrt(np.median(((ends[sample[0]] - starts[sample[1]]) ** 2).sum(1)))
    cut = CutFeatures(end=ends * scale, start=starts * scale)
    learned = LearnedM.factored(groups, table, pairs)
    model = TransitionModel(learned, cut, weight=DecodeOptions().transition_weight,
                            repeat_penalty=DecodeOptions().repeat_penalty)
    return model, time.perf_counter() - start


def music_fit(k: int, spread: float, seed: int = 2) -> np.ndarray:
    """P(d | u_t) [T, K]: softmax of Gaussian logits."""
    logits = np.random.default_rng(seed).normal(0, spread, (T, k)).astype(np.float32)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def bench_size(k: int, dims: int, spreads: list[float]) -> list[tuple[str, str]]:
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model, build_s = build_model(k, dims)
    rows = [(f"K={k:,}: build factored model", f"{build_s:.2f} s"),
            (f"K={k:,}: transition model memory", f"{model.nbytes() / 2**20:.1f} MB "
             f"({model.learned.n_pairs:,} learned pairs, d={dims})")]
    locks = {t: (t * 37) % k for t in range(0, T, 10)}
    for spread in spreads:
        p = music_fit(k, spread)
        sparse = CandidateTransitions(model)  # one song: its first solve finds the set size
        med, best = timed(lambda p=p: suggest(p[17], prev=3, nxt=9, top_k=10, model=model), 50)
        rows.append((f"K={k:,}: suggestions top-10, logit sd {spread:g}",
                     f"{med:.2f} ms (best {best:.2f})"))
        fit = log_fit(p)  # kept by the session between re-solves of one song
        for label, options in (("re-solve T=120, 12 locks", DecodeOptions()),
                               ("  same, no variety cost",
                                DecodeOptions(recency_window=0, reuse_penalty=0.0))):
            med, best = timed(lambda p=p, o=options, f=fit, s=sparse: decode(
                p, s, locks=locks, options=o, log_probabilities=f), 5)
            rows.append((f"K={k:,}: {label}, logit sd {spread:g}",
                         f"{med:.1f} ms (best {best:.1f}; {sparse.last_size} candidates)"))
    if k <= DENSE_UP_TO:
        dense_s = timed(lambda: TransitionScores(model=model), 3)[0] / 1000
        dense = TransitionScores(model=model)
        rows.append((f"K={k:,}: dense W build", f"{dense_s:.2f} s"))
        for spread in spreads:
            p = music_fit(k, spread)
            fit = log_fit(p)
            med, best = timed(lambda p=p, f=fit: decode(p, dense, locks=locks,
                                                         log_probabilities=f), 5)
            same = np.array_equal(decode(p, dense, locks=locks),
                                  decode(p, CandidateTransitions(model), locks=locks))
            rows.append((f"K={k:,}: dense re-solve, logit sd {spread:g}",
                         f"{med:.1f} ms (best {best:.1f}); same path as candidates: {same}"))
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows.append((f"K={k:,}: peak RSS growth", f"{(rss_after - rss_before) / 1024:.0f} MB"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1101, 10000, 100000])
    parser.add_argument("--dims", type=int, default=24,
                        help="cut feature size d (cut_features projects onto 24 directions)")
    parser.add_argument("--spreads", type=float, nargs="+", default=[2.0, 3.0, 4.0])
    args = parser.parse_args(argv)
    for k in args.sizes:
        for name, value in bench_size(k, args.dims, args.spreads):
            print(f"{name:<58} {value}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
