"""Synthetic songs and dance libraries with known beats, shared by the engine tests.

A dance phrase here swings one arm between two poses, easing in and out so the arm stops
exactly on every count: its kinematic beats are its counts by construction.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from choreo_studio.core.library.library import DancePhrase, Library
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.skeleton import Skeleton
from choreo_studio.core.phrases.segmentation import MusicPhrase


def skeleton() -> Skeleton:
    """Hips → spine → left/right shoulder → elbow → hand (8 joints, cm, Y up)."""
    names = ["Hips", "Spine", "LeftShoulder", "LeftElbow", "LeftHand",
             "RightShoulder", "RightElbow", "RightHand"]
    parents = [-1, 0, 1, 2, 3, 1, 5, 6]
    offsets = [[0, 95, 0], [0, 30, 0], [15, 20, 0], [25, 0, 0], [25, 0, 0],
               [-15, 20, 0], [-25, 0, 0], [-25, 0, 0]]
    return Skeleton(names, parents, offsets)


def swing_phrase(
    dance_id: str, *, n_counts: int = 8, bpm: float = 100.0, fps: float = 30.0,
    amplitude_rad: float = 1.2, style: str = "urban", energy: int = 2, walk_cm: float = 0.0,
    right_arm_rad: float = 0.0, bounce_cm: float = 0.0,
) -> DancePhrase:
    """A phrase whose left arm eases between two poses, stopping on every count; the right
    arm is held raised by ``right_arm_rad`` (so phrases differ in pose at their boundaries), and
    the body bounces straight down and up by ``bounce_cm``, also stopping on every count."""
    skel = skeleton()
    frames_per_count = fps * 60.0 / bpm
    n_frames = int(round(n_counts * frames_per_count))
    count_frames = np.round(np.arange(n_counts) * frames_per_count).astype(np.int64)
    t = np.arange(n_frames) / frames_per_count
    k, u = np.floor(t).astype(int), t - np.floor(t)
    ease = (1 - np.cos(np.pi * u)) / 2
    angle = amplitude_rad * np.where(k % 2 == 0, ease, 1 - ease)
    rot = np.tile(quat.identity(), (n_frames, skel.n_joints, 1))
    rot[:, 2] = quat.about_axis("Z", angle)
    rot[:, 3] = quat.about_axis("Y", 0.5 * angle)
    rot[:, 5] = quat.about_axis("Z", np.full(n_frames, -right_arm_rad))
    root = np.zeros((n_frames, 3))
    root[:, 1] = 95.0 - bounce_cm * np.where(k % 2 == 0, ease, 1 - ease)
    root[:, 2] = np.linspace(0, walk_cm, n_frames)
    motion = Motion(skel, fps, rot, root)
    return DancePhrase(
        id=dance_id, name=f"Swing {dance_id}", style=style, energy=energy, tags=[],
        n_counts=n_counts, bpm=bpm, count_frames=count_frames, motion=motion,
        descriptors={"beats_per_count": 1.0, "strength_m_s2": 1.0 + energy},
    )


def bounce_library(k: int = 3) -> Library:
    """``k`` phrases that only bounce straight down and up (clean for Lee et al.'s detector,
    which also fires where an arm's arc crosses its direction bins)."""
    phrases = [swing_phrase(f"d{i}", amplitude_rad=0.0, bounce_cm=6.0 + 2.0 * i)
               for i in range(k)]
    return Library("bounce", skeleton(), phrases, np.full((k, k), 0.5, np.float32))


def library(k: int = 3, *, pose_jumps: bool = True, **kwargs) -> Library:
    """A library of ``k`` swing phrases with different amplitudes and a flat prior; with
    ``pose_jumps`` every other phrase holds the right arm raised."""
    phrases = [swing_phrase(f"d{i}", amplitude_rad=0.8 + 0.3 * i, energy=1 + i % 3,
                            right_arm_rad=0.6 * (i % 2) * pose_jumps, **kwargs)
               for i in range(k)]
    return Library("synthetic", skeleton(), phrases, np.full((k, k), 0.5, np.float32))


def click_song(bars: list[int], *, bpm: float = 120.0, jitter_s: float = 0.02, seed: int = 0):
    """Beat times of a click track (4/4, slightly uneven) and phrases of ``bars`` bars each.

    Returns ``(analysis, phrases)``; ``analysis`` has the fields the engine reads.
    """
    rng = np.random.default_rng(seed)
    n_beats = 4 * sum(bars)
    period = 60.0 / bpm
    beats = 0.5 + np.cumsum(np.r_[0.0, period + rng.uniform(-jitter_s, jitter_s, n_beats - 1)])
    duration = float(beats[-1] + period + 0.5)
    phrases, start = [], 0
    for i, n in enumerate(bars):
        end = start + 4 * n
        end_s = float(beats[end]) if end < n_beats else float(beats[-1] + period)
        phrases.append(MusicPhrase(i, start, end, float(beats[start]), end_s, n, "A"))
        start = end
    analysis = SimpleNamespace(
        song_hash="click", duration_s=duration, tempo_bpm=bpm, beats_s=beats,
        downbeats=np.arange(0, n_beats, 4), beats_per_bar=4,
    )
    return analysis, phrases


def synthetic_song(bars: list[int], *, bpm: float = 120.0, labels: list[str] | None = None,
                   loudness: list[float] | None = None, seed: int = 0):
    """A Song-shaped object for engine tests: click-track timing, onsets on every beat,
    per-phrase mel features filled with ``loudness`` (0–1), section ``labels``."""
    analysis, phrases = click_song(bars, bpm=bpm, seed=seed)
    if labels is not None:
        phrases = [MusicPhrase(p.index, p.start_beat, p.end_beat, p.start_s, p.end_s, p.n_bars,
                               label) for p, label in zip(phrases, labels, strict=True)]
    onset_fps = 100.0
    env = np.zeros(int(analysis.duration_s * onset_fps) + 1, np.float32)
    env[np.round(analysis.beats_s * onset_fps).astype(int)] = 1.0
    analysis.onsets_s = analysis.beats_s.copy()
    analysis.onset_env = env
    analysis.onset_fps = onset_fps
    levels = loudness if loudness is not None else [0.5] * len(phrases)
    mel = np.stack([np.full((128, 128), v, np.float32) for v in levels])
    features = SimpleNamespace(mel=mel, melody=np.zeros((len(phrases), 128), np.float32),
                               rhythm=np.zeros((len(phrases), 128), np.float32))
    return SimpleNamespace(analysis=analysis, phrases=phrases, features=features)
