"""Calibrate a model bundle's temperature by maximum likelihood on songs it never saw.

    python benchmarks/calibrate_model_temperature.py [--songs 32] [--first 480] [--write]

The bundled demo model (``resources/models/demo.choreomodel``) is over-confident: on its held-out
songs its top-1 is 3 %, yet its largest P(d | u_t) averages about 0.5 on real songs, so "half
the best fit" (the decoder's fit floor) admits a median of one dance per phrase and the music
fit alone decides the dance, reuse and all. Temperature scaling (Guo et al. 2017, "On
calibration of modern neural networks") keeps the network's ranking and fixes its confidence:

    P_τ(d | u) ∝ P(d | u)^(1/τ)      (= softmax(logits / τ))

τ is the maximum-likelihood temperature of the demo expert's dance on ``--songs`` fresh demo
songs: the generator's (``training.demo_data``) songs ``--first``, ``--first`` + 1, … of seed 0
— the bundle trained on songs 0–479 (160 labelled, 320 unlabelled), so these were never seen,
labelled by the same expert rules. The mean log-likelihood is maximised over log τ (a grid,
then golden-section refinement); its curve, top-k (unchanged by τ) and the mean largest P per
phrase before and after are printed. ``--write`` records τ in the bundle's ``model.json``
(``info.calibration``), which ``NetworkScorer`` applies (``scoring.calibrate``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from choreo_studio.core.choreography.engine import load_engine
from choreo_studio.core.phrases.song import open_song
from choreo_studio.core.retrieval.network_scoring import NetworkScorer
from choreo_studio.resources.demo_song import render_demo_song
from choreo_studio.training.demo_data import arrange, song_spec

TRAINING_SONGS = 480  # the demo set the bundle trained on: 160 labelled + 320 unlabelled


def log_likelihood(logits: np.ndarray, labels: np.ndarray, tau: float) -> float:
    """Mean log softmax(logits / τ)[label] (float64)."""
    z = logits / tau
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(log_p[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """argmax_τ of :func:`log_likelihood`: a grid over log τ, then golden-section search."""
    grid = np.exp(np.linspace(np.log(0.1), np.log(100.0), 61))
    values = [log_likelihood(logits, labels, t) for t in grid]
    i = int(np.argmax(values))
    lo, hi = np.log(grid[max(i - 1, 0)]), np.log(grid[min(i + 1, len(grid) - 1)])
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    for _ in range(40):
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        if log_likelihood(logits, labels, np.exp(a)) >= log_likelihood(logits, labels, np.exp(b)):
            hi = b
        else:
            lo = a
    return float(np.exp(0.5 * (lo + hi)))


@torch.no_grad()
def song_logits(scorer: NetworkScorer, song) -> np.ndarray:
    """The network's logits [T, K] for every phrase of ``song`` (before any temperature)."""
    network = scorer.network
    mel = torch.from_numpy(np.ascontiguousarray(song.features.mel)).float()
    _, u = network.encoder(mel)
    music = scorer._music(song)
    x = u if music is None else torch.cat([u, torch.from_numpy(music)], 1)
    return network.predictor(x).double().numpy()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--songs", type=int, default=32, help="fresh demo songs to judge on")
    parser.add_argument("--first", type=int, default=TRAINING_SONGS,
                        help=f"index of the first fresh song (default {TRAINING_SONGS})")
    parser.add_argument("--write", action="store_true",
                        help="record the temperature in the bundle's model.json")
    args = parser.parse_args()
    if args.first < TRAINING_SONGS:
        parser.error(f"songs below {TRAINING_SONGS} are the bundle's training set")
    engine = load_engine()
    if not isinstance(engine.scorer, NetworkScorer):
        print("no bundled model for the demo library", file=sys.stderr)
        return 1
    library, scorer = engine.library, engine.scorer
    work = Path(tempfile.mkdtemp(prefix="calibrate_"))
    logits, labels = [], []
    for index in range(args.first, args.first + args.songs):
        spec = song_spec(index, 0)
        demo = render_demo_song(spec)
        song = open_song(demo.write_wav(work / f"demo-{index}.wav"))
        ids = arrange(demo, [(p.start_s, p.end_s) for p in song.phrases], library, 0)
        logits.append(song_logits(scorer, song))
        labels.extend(library.index_of(d) for d in ids)
        print(f"song {index} ({spec.style}, {spec.tempo_bpm:g} BPM): {len(ids)} phrases",
              flush=True)
    z, y = np.concatenate(logits), np.asarray(labels, dtype=np.int64)
    tau = fit_temperature(z, y)
    rank = (z > z[np.arange(len(y)), y][:, None]).sum(axis=1)
    print(f"\n{len(y)} phrases of {args.songs} songs; top-1 {np.mean(rank < 1):.3f}, "
          f"top-5 {np.mean(rank < 5):.3f}, top-10 {np.mean(rank < 10):.3f} (any τ)")
    for t in (1.0, 2.0, 5.0, tau, 20.0, 50.0):
        p = np.exp(z / t - (z / t).max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        print(f"tau {t:7.3f}: mean log-likelihood {log_likelihood(z, y, t):8.4f} "
              f"(uniform {-np.log(z.shape[1]):.4f}), mean largest P {p.max(axis=1).mean():.3f}")
    print(f"maximum-likelihood temperature: {tau:.3f}")
    if args.write:
        path = Path(scorer.bundle.path) / "model.json"
        text = path.read_text()
        config = json.loads(text)
        config.setdefault("info", {})["calibration"] = {
            "temperature": round(tau, 4),
            "method": "maximum likelihood of the demo expert's dance, "
                      f"demo songs {args.first}-{args.first + args.songs - 1} of seed 0 "
                      "(never trained on)",
            "phrases": int(len(y)),
            "log_likelihood": [round(log_likelihood(z, y, 1.0), 4),
                               round(log_likelihood(z, y, tau), 4)],
        }
        path.write_text(json.dumps(config, indent=1) + "\n" * text.endswith("\n"))
        print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
