"""Synthetic skeletons, motions, phrases and libraries for tests (known answers, made here).

Other helpers' tests may reuse these: ``small_skeleton()``, ``beat_motion()`` (an arm that
stops on known beats), ``random_motion()``, ``make_phrase_for_test()``, ``small_library()``.
"""

from __future__ import annotations

import numpy as np
from choreo_studio.core.library.importing import assemble_library, make_phrase
from choreo_studio.core.library.library import Library
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.skeleton import Skeleton


def small_skeleton() -> Skeleton:
    """A 9-joint humanoid (Y up, cm): hips, spine, head, both arms (2 bones), both legs."""
    return Skeleton(
        ["Hips", "Spine", "Head", "LeftArm", "LeftForeArm", "RightArm", "RightForeArm",
         "LeftUpLeg", "RightUpLeg"],
        [-1, 0, 1, 1, 3, 1, 5, 0, 0],
        [[0, 90, 0], [0, 30, 0], [0, 20, 0], [15, 15, 0], [28, 0, 0], [-15, 15, 0], [-28, 0, 0],
         [9, -5, 0], [-9, -5, 0]],
        {2: [0, 15, 0], 4: [25, 0, 0], 6: [-25, 0, 0], 7: [0, -85, 0], 8: [0, -85, 0]},
    )


def beat_motion(fps: float = 30.0, bpm: float = 120.0, n_beats: int = 8,
                skeleton: Skeleton | None = None) -> tuple[Motion, np.ndarray]:
    """Arms swing between two poses, easing to a stop exactly on every beat.

    Returns the motion and the beat times in seconds (beat 0 at t = 0).
    """
    sk = skeleton or small_skeleton()
    beat_s = 60.0 / bpm
    n = int(round(n_beats * beat_s * fps)) + 1
    t = np.arange(n) / fps
    phase = t / beat_s
    k = np.floor(phase)
    s = phase - k
    ease = s * s * (3 - 2 * s)
    angle = np.where(k % 2 == 0, -0.8 + 1.6 * ease, 0.8 - 1.6 * ease)
    rot = quat.identity((n, sk.n_joints))
    rot[:, sk.index("LeftArm")] = quat.about_axis("Z", angle)
    rot[:, sk.index("RightArm")] = quat.about_axis("Z", -angle)
    rot[:, sk.index("LeftForeArm")] = quat.about_axis("Y", 0.5 * angle)
    root = np.tile([0.0, 90.0, 0.0], (n, 1))
    return Motion(sk, fps, rot, root), np.arange(n_beats + 1) * beat_s


def random_motion(n_frames: int = 40, fps: float = 30.0, seed: int = 0,
                  skeleton: Skeleton | None = None) -> Motion:
    """Smooth random rotations and root path (for round-trip and invariance tests)."""
    sk = skeleton or small_skeleton()
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n_frames)[:, None, None]
    a = rng.uniform(-1.0, 1.0, (1, sk.n_joints, 3))
    b = rng.uniform(-1.0, 1.0, (1, sk.n_joints, 3))
    eul = a * np.sin(2 * np.pi * t) + b * t
    rot = quat.from_euler(eul, "ZXY")
    root = np.stack([30 * np.sin(3 * t[:, 0, 0]), 90 + 5 * np.cos(5 * t[:, 0, 0]),
                     20 * t[:, 0, 0]], -1)
    return Motion(sk, fps, rot, root)


def make_phrase_for_test(phrase_id: str, style: str, seed: int, energy: int = 2,
                         n_counts: int = 4, bpm: float = 120.0, fps: float = 30.0):
    """A DancePhrase with counts on its beats, built from :func:`random_motion`."""
    frames_per_count = fps * 60.0 / bpm
    n = int(round(n_counts * frames_per_count))
    motion = random_motion(n, fps, seed)
    counts = np.round(np.arange(n_counts) * frames_per_count).astype(int)
    return make_phrase(phrase_id, f"test {phrase_id}", style, energy, motion, counts, bpm,
                       ["test"])


def small_library(styles: tuple[str, ...] = ("hip-hop", "jazz"), per_style: int = 3) -> Library:
    """A tiny library of random phrases over ``styles``."""
    phrases = [
        make_phrase_for_test(f"{s}-{i}", s, seed=10 * j + i)
        for j, s in enumerate(styles)
        for i in range(per_style)
    ]
    return assemble_library("test", phrases)
