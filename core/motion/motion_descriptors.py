"""Motion descriptors a choreographer recognises, and pose features for phrase transitions.

Descriptors (floats, units in the key): average speed, amplitude (how far limbs reach and
travel around the body), strength (acceleration peaks), level range (how much the body goes
up and down), travel, turning, and kinematic-beat density per count and per second.
"""

from __future__ import annotations

import numpy as np
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.kinematic_beats import mean_joint_speed, velocity_minima_beats
from choreo_studio.core.motion.motion import Motion
from scipy.ndimage import gaussian_filter1d


def body_frame_positions(motion: Motion, positions_cm: np.ndarray | None = None) -> np.ndarray:
    """Joint positions ``[F, J, 3]`` relative to the root's floor point, heading removed
    (root-aligned: the root is above the origin facing +Z; heights stay absolute)."""
    pos = motion.fk() if positions_cm is None else np.asarray(positions_cm, dtype=np.float64)
    root = motion.root_pos_cm.astype(np.float64) * np.array([1.0, 0.0, 1.0])
    unturn = quat.about_axis("Y", -motion.facing_yaw_rad())
    return quat.rotate(unturn[:, None, :], pos - root[:, None, :])


def pose_features(motion: Motion, frame: int) -> np.ndarray:
    """Root-aligned joint positions of one frame, flattened ``[J*3]`` float32 (cm)."""
    single = motion.trim(frame, frame + 1) if frame >= 0 else motion.trim(
        motion.n_frames + frame, motion.n_frames + frame + 1
    )
    return body_frame_positions(single)[0].reshape(-1).astype(np.float32)


def describe(motion: Motion, count_frames: np.ndarray | None = None,
             positions_cm: np.ndarray | None = None) -> dict[str, float]:
    """Descriptors of a clip (see module docstring); ``count_frames`` enables per-count density;
    ``positions_cm``: the clip's forward kinematics when the caller has it already."""
    pos = motion.fk() if positions_cm is None else np.asarray(positions_cm, dtype=np.float64)
    fps = motion.fps
    speed = mean_joint_speed(pos, fps) if motion.n_frames > 1 else np.zeros(1)
    body = body_frame_positions(motion, pos)
    extent = np.linalg.norm(body.max(axis=0) - body.min(axis=0), axis=-1).mean()
    if motion.n_frames > 3:
        smooth = gaussian_filter1d(pos, max(fps / 30.0, 0.5), axis=0)
        acc = np.linalg.norm(np.diff(smooth, 2, axis=0), axis=-1).mean(axis=1) * fps * fps
        top = np.sort(acc)[-max(1, len(acc) // 10) :]
        strength = float(top.mean()) / 100.0
    else:
        strength = 0.0
    floor = motion.root_pos_cm[:, [0, 2]].astype(np.float64)
    travel = float(np.linalg.norm(np.diff(floor, axis=0), axis=-1).sum())
    yaw = np.unwrap(motion.facing_yaw_rad())
    beats = velocity_minima_beats(pos, fps)
    duration = max(motion.duration_s, 1e-9)
    out = {
        "speed_cm_s": float(speed.mean()),
        "extent_cm": float(extent),
        "strength_m_s2": strength,
        "level_range_cm": float(np.ptp(motion.root_pos_cm[:, 1])),
        "travel_cm": travel,
        "turn_deg": float(np.degrees(np.abs(np.diff(yaw)).sum())) if len(yaw) > 1 else 0.0,
        "beats_per_s": float(len(beats) / duration),
    }
    if count_frames is not None and len(count_frames):
        out["beats_per_count"] = float(len(beats) / len(count_frames))
    return out
