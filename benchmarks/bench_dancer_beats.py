"""Are real dancers on the beat? Kinematic beats of the Tang dancers against their songs' beats.

    python benchmarks/bench_dancer_beats.py [--data ../shared/data] [--tang N]

For every Tang dance (joint positions at 25 fps plus the song) and four kinematic-beat
definitions — Lee et al.'s offsets, the AIST++ Beat Align velocity minima, foot plants
(:func:`kinematic_beats.contact_onset_beats`) and the root's bounce (local minima of the
centre's height: a waltz's fall, a cha-cha's settle) — prints the beat hit rate against the
analysed music beats (±0.1 s) as (hit − chance) / (1 − chance), chance being the same beats at
random phase (:func:`metrics.chance_hit_rate`), under two clocks:

* ``src``: the source's own map (start frame, span / length scale, as ``bench_quality``);
* ``fit``: a map fitted on one half of the dance and scored on the other (offset within
  ±0.5 s, scale 0.97–1.04, the Beat-Align-style score of ``library.music_cut``), both ways,
  averaged: a dancer locked to the beat under a clock the capture got slightly wrong shows
  there, and fitting cannot inflate it (the scored half was not fitted).

Then the mean per style and how many dances are clearly above chance (> 0.1). Our beat-warped
renders from the demo library score 0.66–0.84 (offsets) and 0.78–0.97 (foot plants) on the
same scale on the demo and Tang songs (``bench_quality``), so the detectors see locking where
there is some.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from choreo_studio.core.choreography.metrics import HIT_TOLERANCE_S, above_chance, chance_hit_rate
from choreo_studio.core.motion.kinematic_beats import (
    beat_hit_rate,
    contact_onset_beats,
    offset_beats,
    velocity_minima_beats,
)
from choreo_studio.core.phrases.song import open_song
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

FPS = 25.0
FEET = np.array([9, 10, 11, 18, 19, 20])  # Tang's ankle, heel and toe points of both legs
OWNER = np.array([0, 0, 0, 1, 1, 1])
BOUNCE_CM = 1.0  # prominence of a root-height minimum
SIGMA_S = 0.06  # the time-map score's tolerance (library.music_cut)
OFFSETS_S = np.arange(-0.5, 0.5001, 0.01)
SCALES = np.arange(0.97, 1.04, 0.0005)


def events(pos: np.ndarray, centre: np.ndarray) -> dict[str, np.ndarray]:
    """Kinematic beat frames of one dance by each definition."""
    bounce, _ = find_peaks(-gaussian_filter1d(centre[:, 1], 1.5), prominence=BOUNCE_CM)
    return {"offsets": offset_beats(pos, FPS), "vel-min": velocity_minima_beats(pos, FPS),
            "plants": contact_onset_beats(pos[:, FEET], OWNER, FPS),
            "bounce": bounce.astype(np.float64)}


def above(times_s: np.ndarray, beats_s: np.ndarray) -> float:
    """(hit − chance) / (1 − chance) against the beats spanning ``times_s``."""
    if times_s.size == 0:
        return float("nan")
    inside = beats_s[(beats_s >= times_s.min() - 0.5) & (beats_s <= times_s.max() + 0.5)]
    return above_chance(beat_hit_rate(times_s, inside, HIT_TOLERANCE_S),
                        chance_hit_rate(times_s, inside, HIT_TOLERANCE_S))


def fitted_map(frames: np.ndarray, beats_s: np.ndarray, t0: float) -> tuple[float, float]:
    """(offset, scale) of song_s = offset + scale · frame / fps that best puts ``frames`` on
    beats (mean Gaussian closeness)."""
    mapped = (t0 + OFFSETS_S)[:, None, None] + SCALES[None, :, None] * frames / FPS
    idx = np.clip(np.searchsorted(beats_s, mapped), 1, len(beats_s) - 1)
    d = np.minimum(np.abs(mapped - beats_s[idx]), np.abs(mapped - beats_s[idx - 1]))
    i, k = np.unravel_index(np.argmax(np.exp(-(d**2) / (2 * SIGMA_S**2)).mean(-1)),
                            (len(OFFSETS_S), len(SCALES)))
    return t0 + float(OFFSETS_S[i]), float(SCALES[k])


def held_out(frames: np.ndarray, beats_s: np.ndarray, t0: float, n_frames: int) -> float:
    """Above chance on each half under the map fitted on the other half, averaged."""
    first = frames < n_frames / 2
    scores = []
    for fit, test in ((first, ~first), (~first, first)):
        if fit.sum() < 4 or test.sum() < 4:
            continue
        offset, scale = fitted_map(frames[fit], beats_s, t0)
        scores.append(above(offset + scale * frames[test] / FPS, beats_s))
    return float(np.mean(scores)) if scores else float("nan")


def dance(folder: Path) -> tuple[str, dict[str, tuple[float, float]]]:
    """Style letter and, per definition, (above chance under the source clock, held out)."""
    data = json.loads((folder / "skeletons.json").read_text())
    config = json.loads((folder / "config.json").read_text())
    centre = np.asarray(data["center"], np.float64)
    pos = np.asarray(data["skeletons"], np.float64) + centre[:, None, :]
    t0 = config["start_position"] / FPS
    scale = (config["end_position"] - config["start_position"]) / len(pos)
    beats = open_song(next(folder.glob("audio.*"))).analysis.beats_s
    out = {}
    for name, frames in events(pos, centre).items():
        out[name] = (above(t0 + scale * frames / FPS, beats),
                     held_out(frames, beats, t0, len(pos)))
    return folder.name.split("_")[1], out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--tang", type=int, default=0, help="first N dances only (0: all)")
    args = parser.parse_args()
    folders = sorted((args.data / "tang2018").glob("DANCE_*"))
    folders = folders[: args.tang] if args.tang else folders
    names = ("offsets", "vel-min", "plants", "bounce")
    print("above chance (hit - chance) / (1 - chance), src clock / held-out fitted clock")
    print(f"{'dance':<11} " + " ".join(f"{n:>13}" for n in names))
    results = []
    for folder in folders:
        style, figures = dance(folder)
        results.append((style, figures))
        print(f"{folder.name:<11} " + " ".join(
            f"{figures[n][0]:>+6.2f}/{figures[n][1]:>+6.2f}" for n in names), flush=True)
    print(f"\n{'style':<5} {'n':>3} " + " ".join(f"{n + ' src/fit':>21}" for n in names))
    for style in sorted({s for s, _ in results}):
        rows = [f for s, f in results if s == style]
        cells = []
        for n in names:
            src = np.array([r[n][0] for r in rows])
            fit = np.array([r[n][1] for r in rows])
            cells.append(f"{np.nanmean(src):>+6.2f}/{np.nanmean(fit):>+6.2f} "
                         f"(>0.1: {int((fit > 0.1).sum()):>2})")
        print(f"{style:<5} {len(rows):>3} " + " ".join(f"{c:>21}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
