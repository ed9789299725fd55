"""Transitions at studio scale: synthetic libraries of 1,101 / 10,000 / 100,000 phrases.

For each size: build the factored transition model (style × energy prior table, the learned M
kept for LEARNED_PER_PHRASE pairs per phrase, cut features K × d), then time top-10
suggestions for one phrase with both neighbours and a constrained re-solve of a T = 120 song
(12 locks, default options, the log music fit kept between re-solves) with the candidate
decoder, without the variety cost, with mirrored cuts, the Viterbi alone on the raw log fit
(no fit floor: the hard case) and, for every size, the ratio to the dense decoder's re-solve
at K = 1,101 timed alternately in the same loop (the machine is shared: ratios hold, absolute
times do not). At K ≤ 2,000 also the dense decoder (what the app uses there: issue 12's
limit) with and without the variety cost and whether both decoders give the same path, plain
and with mirrored cuts. Prints the table; nothing is asserted. Targets (issue 17):
K = 100,000 suggestions ≤ 2 ms, re-solve ≤ 100 ms, model memory ≤ 1 GB, build ≤ 60 s;
K = 1,101 re-solve ≤ 30 ms (issue 12, variety included).

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
    viterbi_decode,
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


def mirrored_cuts(k: int) -> np.ndarray:
    """flips [T − 1, K]: the cuts out of every third phrase mirrored for a third of the
    dances (as mirror-on-repeat makes them: it depends on the dance's number of plays)."""
    rng = np.random.default_rng(3)
    flips = np.zeros((T - 1, k), dtype=bool)
    flips[::3] = rng.random((len(flips[::3]), k)) < 1 / 3
    return flips


def alternating(fns: list, repeat: int) -> list[tuple[float, float]]:
    """Median and best ms of each of ``fns``, run in turn ``repeat`` times (one load for all)."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, out in zip(fns, times, strict=True):
            out.append(timed(fn, 1)[0])
    return [(float(np.median(t)), float(np.min(t))) for t in times]


class Reference:
    """The dense decoder's re-solve at K = 1,101: the yardstick every row is a ratio of."""

    def __init__(self, dims: int) -> None:
        self.k = 1101
        model, _ = build_model(self.k, dims)
        self.dense = TransitionScores(model=model)
        self.locks = {t: (t * 37) % self.k for t in range(0, T, 10)}

    def resolve(self, spread: float):
        """A timed function: one constrained re-solve at this spread."""
        p = music_fit(self.k, spread)
        fit = log_fit(p)
        return lambda: decode(p, self.dense, locks=self.locks, log_probabilities=fit)


def bench_size(k: int, dims: int, spreads: list[float], ref: Reference) -> list[tuple[str, str]]:
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model, build_s = build_model(k, dims)
    rows = [(f"K={k:,}: build factored model", f"{build_s:.2f} s"),
            (f"K={k:,}: transition model memory", f"{model.nbytes() / 2**20:.1f} MB "
             f"({model.learned.n_pairs:,} learned pairs, d={dims})")]
    locks = {t: (t * 37) % k for t in range(0, T, 10)}
    plain = DecodeOptions(recency_window=0, reuse_penalty=0.0, use_limit=0)
    for spread in spreads:
        p = music_fit(k, spread)
        fit = log_fit(p)  # kept by the session between re-solves of one song
        sparse = CandidateTransitions(model)  # one song: its first solve finds the set size
        raw = CandidateTransitions(model)
        decode(p, sparse, locks=locks, log_probabilities=fit)
        viterbi_decode(fit, raw, locks)
        reference = ref.resolve(spread)
        flips = mirrored_cuts(k)
        decode(p, sparse, locks=locks, log_probabilities=fit, flips=flips)
        ((r_med, r_best), (s_med, s_best), (re_med, re_best), (v_med, v_best), (q_med, q_best),
         (f_med, f_best)) = alternating([
                reference,
                lambda p=p: suggest(p[17], prev=3, nxt=9, top_k=10, model=model),
                lambda p=p, f=fit, s=sparse: decode(p, s, locks=locks, log_probabilities=f),
                lambda f=fit, s=raw: viterbi_decode(f, s, locks),
                lambda p=p, f=fit, s=sparse: decode(p, s, locks=locks, options=plain,
                                                    log_probabilities=f),
                lambda p=p, f=fit, s=sparse, m=flips: decode(p, s, locks=locks,
                                                             log_probabilities=f, flips=m),
            ], 5)
        tag = f"logit sd {spread:g}"
        rows += [
            (f"K={k:,}: dense K=1,101 re-solve (yardstick), {tag}",
             f"{r_med:.1f} ms (best {r_best:.1f})"),
            (f"K={k:,}: suggestions top-10, {tag}", f"{s_med:.2f} ms (best {s_best:.2f})"),
            (f"K={k:,}: re-solve T=120, 12 locks, {tag}",
             f"{re_med:.1f} ms (best {re_best:.1f}) = {re_med / r_med:.2f}x yardstick; "
             f"{sparse.last_size} candidates"),
            (f"K={k:,}:   same, no variety cost, {tag}",
             f"{q_med:.1f} ms (best {q_best:.1f}) = {q_med / r_med:.2f}x yardstick"),
            (f"K={k:,}:   same, mirrored cuts (every 3rd phrase), {tag}",
             f"{f_med:.1f} ms (best {f_best:.1f}) = {f_med / r_med:.2f}x yardstick"),
            (f"K={k:,}:   Viterbi alone, raw fit (no floor), {tag}",
             f"{v_med:.1f} ms (best {v_best:.1f}) = {v_med / r_med:.2f}x yardstick; "
             f"{raw.last_size} candidates, {raw.last_rounds} solve(s)"),
        ]
    if k <= DENSE_UP_TO:
        dense_s = timed(lambda: TransitionScores(model=model), 3)[0] / 1000
        dense = TransitionScores(model=model)
        rows.append((f"K={k:,}: dense W build", f"{dense_s:.2f} s"))
        for spread in spreads:
            p = music_fit(k, spread)
            fit = log_fit(p)
            flips = mirrored_cuts(k)
            (med, best), (q_med, q_best) = alternating([
                lambda p=p, f=fit: decode(p, dense, locks=locks, log_probabilities=f),
                lambda p=p, f=fit: decode(p, dense, locks=locks, options=plain,
                                          log_probabilities=f)], 5)
            same = all(np.array_equal(viterbi_decode(f, dense, locks),
                                      viterbi_decode(f, CandidateTransitions(model), locks))
                       for f in (fit, fit * np.float32(0.5)))
            same &= np.array_equal(decode(p, dense, locks=locks),
                                   decode(p, CandidateTransitions(model), locks=locks))
            same &= np.array_equal(decode(p, dense, locks=locks, flips=flips),
                                   decode(p, CandidateTransitions(model), locks=locks,
                                          flips=flips))
            rows.append((f"K={k:,}: dense re-solve incl. variety (issue 12: <= 30 ms), "
                         f"sd {spread:g}",
                         f"{med:.1f} ms (best {best:.1f}); no variety {q_med:.1f} ms; "
                         f"same path as candidates (plain, mirrored): {same}"))
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
    ref = Reference(args.dims)
    for k in args.sizes:
        for name, value in bench_size(k, args.dims, args.spreads, ref):
            print(f"{name:<58} {value}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
