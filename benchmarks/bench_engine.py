"""Engine benchmark: suggestions and constrained Viterbi at K = 1,101 and T = 120, render +
export of a 4-minute song, encoder inference per phrase on CPU for each preset.

Run: ``python benchmarks/bench_engine.py`` (prints a table and the load average; nothing is
asserted). Targets from the issue: suggestions ≤ 2 ms, Viterbi ≤ 30 ms, render + export ≤ 1 s
(also shown with the engine's default stage radius, as ``choreo auto`` renders). The last
column is each median as a multiple of this run's "viterbi, 12 locks, logit sd 2" median: on a
shared machine the ratios hold where absolute times do not (render + export ≤ 1 s ≈ 33× a 30 ms
Viterbi).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from choreo_studio.core.choreography.placements import Choreography, Placement  # noqa: E402
from choreo_studio.core.phrases.segmentation import MusicPhrase  # noqa: E402
from choreo_studio.core.retrieval.decoding import (  # noqa: E402
    DecodeOptions,
    TransitionScores,
    decode,
    section_ties,
)
from choreo_studio.core.retrieval.suggestions import suggest  # noqa: E402

K, T = 1101, 120


def timed(fn, repeat: int) -> tuple[float, float]:
    """Median and best wall time of ``fn`` in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


def style_matrix(k: int, n_styles: int = 8, seed: int = 0) -> np.ndarray:
    """A transition matrix shaped like M0: high within a style, 0.01–0.3 across, clipped."""
    rng = np.random.default_rng(seed)
    style = rng.integers(0, n_styles, k)
    same = style[:, None] == style[None, :]
    m = np.where(same, rng.uniform(0.4, 1.0, (k, k)), rng.uniform(0.0, 0.3, (k, k)))
    return np.clip(m, 0.01, 1.0).astype(np.float32)


def music_fit(t: int, k: int, spread: float, seed: int = 1) -> np.ndarray:
    """Softmax of Gaussian logits with standard deviation ``spread`` (larger = more decisive)."""
    logits = np.random.default_rng(seed).normal(0, spread, (t, k))
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def bench_decoding() -> list[tuple[str, float, float]]:
    rows = []
    m = style_matrix(K)
    prep = timed(lambda: TransitionScores(m), 5)
    rows.append(("transition scores prepare (once per library/model)", *prep))
    trans = TransitionScores(m)
    labels = (["intro"] * 4 + ["verse"] * 8 + ["chorus"] * 8 + ["bridge"] * 4) * 5
    ties = section_ties(labels[:T])
    locks = {t: (t * 37) % K for t in range(0, T, 10)}
    for spread in (1.0, 2.0, 3.0):
        p = music_fit(T, K, spread)
        rows.append((f"viterbi, 12 locks, logit sd {spread:g}",
                     *timed(lambda p=p: decode(p, trans, locks=locks), 7)))
    p = music_fit(T, K, 2.0)
    rows.append(("greedy (Eq. 6), 12 locks", *timed(lambda: decode(
        p, trans, method="greedy", locks=locks), 7)))
    rows.append(("viterbi + reuse limit 2", *timed(lambda: decode(
        p, trans, locks=locks, options=DecodeOptions(max_uses=2)), 5)))
    rows.append((f"viterbi + section ties ({len(ties)} groups)", *timed(lambda: decode(
        p, trans, locks=locks, ties=ties, options=DecodeOptions(tie_sections=True)), 3)))
    rows.append(("vary (perturb-and-MAP, T=1)", *timed(lambda: decode(
        p, trans, locks=locks, options=DecodeOptions(temperature=1.0, seed=0)), 5)))
    flat = np.full((T, K), 1.0 / K)
    rows.append(("viterbi, all-equal music fit (worst case)",
                 *timed(lambda: decode(flat, trans), 3)))
    row = p[17]
    rows.append(("suggestions top-10 (one phrase, both neighbours)", *timed(
        lambda: suggest(row, m, prev=3, nxt=9, top_k=10), 200)))
    return rows


def four_minute_song(bpm: float = 120.0, bars_per_phrase: int = 4):
    """Beat grid and 4-bar phrases of a 4-minute 4/4 song (A/B sections)."""
    period = 60.0 / bpm
    n_beats = int(240.0 / period)
    beats = 0.2 + np.arange(n_beats) * period
    per = 4 * bars_per_phrase
    phrases = []
    for i, start in enumerate(range(0, n_beats - per + 1, per)):
        end = start + per
        end_s = float(beats[end]) if end < n_beats else float(beats[-1] + period)
        phrases.append(MusicPhrase(i, start, end, float(beats[start]), end_s, bars_per_phrase,
                                   "AB"[(i // 4) % 2]))
    analysis = SimpleNamespace(song_hash="bench", duration_s=240.2, tempo_bpm=bpm,
                               beats_s=beats, downbeats=np.arange(0, n_beats, 4),
                               beats_per_bar=4)
    return analysis, phrases


def bench_render() -> list[tuple[str, float, float]]:
    from choreo_studio.core.choreography.engine import DEFAULT_STAGE_RADIUS_CM
    from choreo_studio.core.choreography.render import render
    from choreo_studio.core.export.files import write_exports
    from choreo_studio.resources.demo_library.generate import build_demo_library

    library = build_demo_library(phrases_per_level=2)
    analysis, phrases = four_minute_song()
    ids = library.ids
    choreo = Choreography([Placement(i, ids[(i * 7) % len(ids)]) for i in range(len(phrases))])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for fps in (30.0, 60.0):
            motion = render(choreo, analysis, phrases, library, fps=fps)

            def export(motion=motion):
                song = SimpleNamespace(analysis=analysis, phrases=phrases)
                write_exports(song, choreo, motion, library, out)

            def both(fps=fps, export=export):
                render(choreo, analysis, phrases, library, fps=fps)
                export()

            tag = f"{int(fps)} fps, {motion.n_frames} frames x {motion.skeleton.n_joints} joints"
            rows.append((f"render 4-min song ({tag})", *timed(
                lambda fps=fps: render(choreo, analysis, phrases, library, fps=fps), 3)))
            rows.append((f"export json+csv+bvh+glb ({int(fps)} fps)", *timed(export, 3)))
            rows.append((f"render + export ({int(fps)} fps)", *timed(both, 5)))
        radius = DEFAULT_STAGE_RADIUS_CM  # what choreo auto and the editor render with

        def staged():
            motion = render(choreo, analysis, phrases, library, stage_radius_cm=radius)
            write_exports(SimpleNamespace(analysis=analysis, phrases=phrases), choreo, motion,
                          library, out)

        rows.append((f"render + export (30 fps, stage radius {radius / 100:g} m)",
                     *timed(staged, 5)))
    return rows


def bench_encoder() -> list[tuple[str, float, float]]:
    import torch
    from choreo_studio.core.retrieval.networks import RetrievalNetwork
    from choreo_studio.core.retrieval.presets import PRESETS

    rows = []
    torch.set_grad_enabled(False)
    for name, preset in PRESETS.items():
        net = RetrievalNetwork(preset.network, K).eval()
        one = torch.randn(1, 128, 128)
        batch = torch.randn(32, 128, 128)
        net(one)
        single = timed(lambda net=net, one=one: net(one), 5)
        batched = timed(lambda net=net, batch=batch: net(batch), 2)
        rows.append((f"E+T {name}: one phrase (batch 1)", *single))
        rows.append((f"E+T {name}: per phrase in batches of 32",
                     batched[0] / 32, batched[1] / 32))
    return rows


def main() -> None:
    import torch

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"CPU threads: torch {torch.get_num_threads()}; K={K}, T={T}; load average {load}")
    print(f"{'benchmark':<62} {'median ms':>10} {'best ms':>9} {'x viterbi':>9}")
    yardstick = None
    for section in (bench_decoding, bench_render, bench_encoder):
        for name, median, best in section():
            if name == "viterbi, 12 locks, logit sd 2":
                yardstick = median
            ratio = f"{median / yardstick:>9.2f}" if yardstick else f"{'':>9}"
            print(f"{name:<62} {median:>10.2f} {best:>9.2f} {ratio}", flush=True)


if __name__ == "__main__":
    main()
