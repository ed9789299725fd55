"""Deterministic generator of the demo dance library: 8 styles × 3 energy levels × N phrases.

Each 8-count phrase is composed from its style's vocabulary (leg patterns, arm cycles, groove,
head accents, easing) with seeded choices, so phrases of one style share a feel but differ in
content. Steps land and arm shapes hit on counts; the poser keeps planted feet on the floor.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cache

import numpy as np
from choreo_studio.core.library.importing import assemble_library, make_phrase
from choreo_studio.core.library.library import DancePhrase, Library
from choreo_studio.core.progress import ProgressFn, no_progress
from choreo_studio.resources.demo_library import moves
from choreo_studio.resources.demo_library.poser import (
    demo_skeleton,
    limit_pelvis_height,
    solve_pose,
)
from choreo_studio.resources.demo_library.tracks import PhraseBuilder

GENERATOR_VERSION = 4  # cache key and fingerprint: bump whenever the output changes
# Seeds of the phrase compositions; kept at 3 when v4 changed only the arm solver, so each
# phrase id keeps its moves across that fix.
COMPOSITION_SEED_VERSION = 3
FPS = 30.0
N_COUNTS = 8
PHRASES_PER_LEVEL = 10
ENERGY_AMP = {1: 0.5, 2: 0.75, 3: 1.0}


@dataclass(frozen=True)
class StyleSpec:
    """A style's vocabulary and feel."""

    bpm: float
    legs: dict[str, float]
    arms: dict[str, float]
    arm_ease: str
    leg_ease: str
    bounce_cm: float
    rock_rad: float
    sway_cm: float
    head: str  # nod | tilt | snap | still
    torso: tuple[str, ...] = ()  # torso accents the style uses (see moves.torso_pattern)


STYLES: dict[str, StyleSpec] = {
    "hip-hop": StyleSpec(95, {"groove": 3, "step_touch": 2, "rock_step": 2, "march": 1,
                              "kick_step": 1, "jump": 1},
                         {"pump": 3, "punch": 2, "swing": 2, "point_seq": 1, "punch_up": 1},
                         "sharp", "smooth", 5.0, 0.10, 0.0, "nod", ("twist", "body_roll")),
    "urban": StyleSpec(100, {"step_touch": 2, "grapevine": 2, "lunge": 1, "turn": 1, "groove": 2,
                             "v_step": 1},
                       {"swing": 2, "wave": 2, "jazz_sweep": 1, "point_seq": 1, "hips": 1},
                       "smooth", "smooth", 3.0, 0.06, 5.0, "nod", ("body_roll", "hip_isolation")),
    "jazz": StyleSpec(110, {"v_step": 2, "kick_step": 2, "turn": 2, "lunge": 1, "grapevine": 1},
                      {"jazz_sweep": 3, "overhead_sway": 2, "wave": 1, "hips": 1},
                      "smooth", "smooth", 0.0, 0.05, 3.0, "tilt", ("contraction", "hip_isolation")),
    "popping": StyleSpec(100, {"hit_stand": 3, "fresno": 3, "step_touch": 1},
                         {"box_hits": 4, "point_seq": 1, "lock_point": 1},
                         "hit", "hit", 0.0, 0.0, 0.0, "snap", ("twist",)),
    "locking": StyleSpec(105, {"kick_step": 2, "knee_drop": 2, "rock_step": 1, "step_touch": 1},
                         {"lock_point": 3, "clap": 2, "point_seq": 1, "punch": 1},
                         "sharp", "sharp", 2.0, 0.08, 0.0, "snap"),
    "breaking": StyleSpec(110, {"toprock": 4, "get_down": 2, "turn": 1, "jump": 1},
                          {"toprock_arms": 4, "swing": 1, "punch_up": 1},
                          "sharp", "smooth", 2.0, 0.0, 0.0, "nod", ("twist",)),
    "k-pop": StyleSpec(120, {"step_touch": 2, "v_step": 2, "rock_step": 1, "jump": 1, "turn": 1,
                             "march": 1},
                       {"kpop_seq": 3, "point_seq": 2, "clap": 1, "punch_up": 1},
                       "late", "smooth", 2.0, 0.04, 2.0, "snap", ("hip_isolation", "body_roll")),
    "ACGN": StyleSpec(130, {"march": 2, "step_touch": 2, "jump": 1, "v_step": 1},
                      {"cute": 4, "wave": 2, "clap": 1},
                      "smooth", "smooth", 3.0, 0.0, 4.0, "tilt", ("hip_isolation",)),
}
_PARTITIONS = ([4, 4], [2, 2, 4], [4, 2, 2], [2, 2, 2, 2], [2, 4, 2], [4, 4])
_NEEDS_ENERGY = {"jump": 2, "turn": 2, "get_down": 1, "kick_step": 1}


def _pick(rng: np.random.Generator, weights: dict[str, float], energy: int) -> str:
    names = [n for n in weights if _NEEDS_ENERGY.get(n, 1) <= energy]
    w = np.array([weights[n] for n in names], dtype=float)
    return str(names[int(rng.choice(len(names), p=w / w.sum()))])


def _head(b: PhraseBuilder, kind: str, amp: float, rng: np.random.Generator) -> None:
    """Head accents on counts: nods, tilts or sharp turns."""
    for k in range(1, N_COUNTS + 1):
        if kind == "nod":
            b.head.key(k, [0.0, 0.18 * amp if k % 2 else -0.05, 0.0], "sharp")
        elif kind == "tilt" and k % 2 == 0:
            b.head.key(k, [0.0, 0.0, 0.2 * amp * (1 if k % 4 else -1)], "smooth")
        elif kind == "snap" and k % 2 == 1:
            b.head.key(k, [float(rng.choice([-0.5, 0.0, 0.5])) * amp, 0.0, 0.0], "hit")


def compose(style: str, energy: int, seed: int) -> tuple[PhraseBuilder, list[str], float]:
    """Compose one phrase: its builder, the names of the moves used, and its BPM."""
    spec = STYLES[style]
    rng = np.random.default_rng(seed)
    amp = ENERGY_AMP[energy]
    b = PhraseBuilder(N_COUNTS, stance_cm=float(rng.uniform(9.0, 14.0)))
    b.spine.key(0, [0.0, float(rng.uniform(0.0, 0.12)), 0.0])
    b.bounce.key(0, spec.bounce_cm * amp)
    b.rock.key(0, spec.rock_rad * amp)
    b.sway.key(0, spec.sway_cm * amp)
    partition = _PARTITIONS[int(rng.integers(len(_PARTITIONS)))]
    used: list[str] = []
    t0 = 0
    for n in partition:
        b.set_anchor(t0)
        leg = _pick(rng, spec.legs, energy)
        arm = _pick(rng, spec.arms, energy)
        moves.LEGS[leg](b, t0, n, amp, rng, spec.leg_ease)
        every = 1 if energy >= 2 or spec.arm_ease == "hit" else 2
        moves.arm_pattern(b, t0, n, moves.ARM_CYCLES[arm], spec.arm_ease, rng, every=every,
                          mirror=bool(rng.integers(2)))
        if spec.torso and leg not in moves.LEGS_WITH_TORSO and rng.random() < 0.5:
            kind = str(spec.torso[int(rng.integers(len(spec.torso)))])
            moves.torso_pattern(b, t0, n, kind, amp, spec.leg_ease)
            arm = f"{arm} + {kind}"
        used += [leg, arm]
        t0 += n
    _head(b, spec.head, amp, rng)
    bpm = spec.bpm + 4.0 * (energy - 2)
    return b, used, bpm


@cache
def _variant_seeds(style: str, energy: int, n_variants: int) -> tuple[tuple[int, tuple], ...]:
    """Seeds (and move sequences) of the first ``n_variants`` phrases of a style and energy,
    each re-drawn until its sequence of moves differs from the earlier variants'."""
    earlier = _variant_seeds(style, energy, n_variants - 1) if n_variants > 1 else ()
    taken = {moves_used for _, moves_used in earlier}
    for attempt in range(32):
        key = f"{style}/{energy}/{n_variants - 1}/{attempt}/v{COMPOSITION_SEED_VERSION}"
        seed = zlib.crc32(key.encode())
        moves_used = tuple(compose(style, energy, seed)[1])
        if moves_used not in taken:
            break
    return (*earlier, (seed, moves_used))


def build_phrase(style: str, energy: int, variant: int) -> DancePhrase:
    """One demo phrase (deterministic for its style, energy and variant)."""
    seed = _variant_seeds(style, energy, variant + 1)[variant][0]
    skeleton = demo_skeleton()
    b, used, bpm = compose(style, energy, seed)
    frames_per_count = FPS * 60.0 / bpm
    n_frames = int(round(N_COUNTS * frames_per_count))
    curves = b.curves(FPS, frames_per_count, n_frames)
    limit_pelvis_height(curves, skeleton)
    motion = solve_pose(skeleton, FPS, curves)
    counts = np.round(np.arange(N_COUNTS) * frames_per_count).astype(np.int64)
    legs = " / ".join(dict.fromkeys(used[0::2]))
    arms = " / ".join(dict.fromkeys(used[1::2]))
    name = f"{style} {['low', 'medium', 'high'][energy - 1]} #{variant + 1}: {legs}; {arms}"
    tags = sorted({part for u in used for part in u.split(" + ")}) + [style]
    return make_phrase(f"{style}-e{energy}-{variant + 1:02d}", name, style, energy, motion,
                       counts, bpm, tags)


def build_demo_library(
    phrases_per_level: int = PHRASES_PER_LEVEL, styles: list[str] | None = None,
    progress: ProgressFn = no_progress,
) -> Library:
    """The whole demo library in memory (8 styles × 3 energies × ``phrases_per_level``)."""
    chosen = styles or list(STYLES)
    jobs = [(s, e, v) for s in chosen for e in (1, 2, 3) for v in range(phrases_per_level)]
    phrases = []
    for i, job in enumerate(jobs):
        if i % 8 == 0:
            progress(i / len(jobs), f"generating demo phrase {i + 1}/{len(jobs)}")
        phrases.append(build_phrase(*job))
    progress(1.0, "building transition prior")
    return assemble_library("demo", phrases)
