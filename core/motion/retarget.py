"""Retargeting through the canonical humanoid: any recognised rig onto one target skeleton.

The source is played (forward kinematics, position channels included), its joints are
matched to the target's through the canonical humanoid (:mod:`rig_mapping`) plus joints of
the same name, and the target's rotations are fitted to the source's world bone *directions*
(:func:`rig_fit.fit_rotations`), so T-pose, A-pose, joint-orient and bones-along-local-axes
differences between the rest poses need no table: the rest-pose correction is implicit. The
root path is scaled by the leg-length ratio and the feet are put back on the floor.

:func:`standing_rig` makes a library skeleton from a clip: its own hierarchy and bone lengths,
re-rested in the dancer's most typical pose facing +Z (the library convention), with any
static world root above the hips dropped.
"""

from __future__ import annotations

import numpy as np
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.positions_rig import (
    BEND_HINTS,
    FitReport,
    PointRig,
    build_motion,
    floor_heights,
)
from choreo_studio.core.motion.rig_fit import fit_rotations
from choreo_studio.core.motion.skeleton import Skeleton

FOOT_PARTS = ("LeftFoot", "RightFoot", "LeftToeBase", "RightToeBase")


def subtree(skeleton: Skeleton, joint: int) -> list[int]:
    """``joint`` and its descendants in skeleton order."""
    keep = np.zeros(skeleton.n_joints, dtype=bool)
    keep[joint] = True
    for j in range(joint + 1, skeleton.n_joints):
        keep[j] = keep[skeleton.parents[j]]
    return [int(j) for j in np.nonzero(keep)[0]]


def leg_length_cm(skeleton: Skeleton, mapping: dict[str, int]) -> float:
    """Mean hip-to-ankle bone length of both legs (the retarget scale)."""
    lengths = []
    for side in ("Left", "Right"):
        hip, foot = mapping.get(side + "UpLeg"), mapping.get(side + "Foot")
        if hip is None or foot is None:
            continue
        total, j = 0.0, foot
        while j != hip and j > 0:
            total += float(np.linalg.norm(skeleton.offsets_cm[j]))
            j = int(skeleton.parents[j])
        lengths.append(total)
    if not lengths:
        raise ChoreoError("retarget: no legs mapped — the rig's legs were not recognised")
    return float(np.mean(lengths))


def correspondences(source: Skeleton, source_map: dict[str, int], target: Skeleton,
                    target_map: dict[str, int]) -> dict[int, int]:
    """Target joint -> source joint: canonical names both have, then identical names."""
    pairs = {target_map[n]: source_map[n] for n in target_map if n in source_map}
    used = set(pairs.values())
    lookup = {n: i for i, n in enumerate(source.joint_names)}
    for t, name in enumerate(target.joint_names):
        s = lookup.get(name)
        if t not in pairs and s is not None and s not in used:
            pairs[t] = s
    return pairs


def grounded(motion: Motion, foot_joints: list[int]) -> Motion:
    """The clip with its root lowered/raised so the feet stand on y = 0 (rolling floor)."""
    fk = motion.fk()
    lowest = fk[:, foot_joints, 1].min(axis=1) if foot_joints else fk[..., 1].min(axis=1)
    root = motion.root_pos_cm.astype(np.float64).copy()
    root[:, 1] -= floor_heights(lowest, motion.fps)
    return Motion(motion.skeleton, motion.fps, motion.rotations, root, motion.local_pos_cm)


def retarget(motion: Motion, source_map: dict[str, int], target: Skeleton,
             target_map: dict[str, int]) -> Motion:
    """``motion`` played on ``target`` (see the module docstring); target joint 0 is the hips."""
    if target_map.get("Hips") != 0:
        raise ChoreoError("retarget: the target skeleton's root must be its hips")
    pairs = correspondences(motion.skeleton, source_map, target, target_map)
    fk = motion.fk()
    ratio = leg_length_cm(target, target_map) / max(leg_length_cm(motion.skeleton, source_map),
                                                    1e-6)
    root_s = fk[:, source_map["Hips"]]
    positions = {t: root_s * ratio + (fk[:, s] - root_s) * ratio for t, s in pairs.items()}
    hints = {target_map[n]: np.array(v) for n, v in BEND_HINTS.items() if n in target_map}
    out = fit_rotations(target, positions, motion.fps, hints, chase=False)
    return grounded(out, [target_map[n] for n in FOOT_PARTS if n in target_map])


def standing_rig(motion: Motion, mapping: dict[str, int], source: str
                 ) -> tuple[Motion, dict[str, int], FitReport]:
    """The clip on its own hierarchy re-rested standing and facing +Z, hips as the root;
    returns the motion, its canonical mapping and the fit report (the re-rest's FK error)."""
    keep = subtree(motion.skeleton, mapping["Hips"])
    index = {j: i for i, j in enumerate(keep)}
    sk = motion.skeleton
    names = tuple(sk.joint_names[j] for j in keep)
    parents = tuple(-1 if i == 0 else index[int(sk.parents[j])] for i, j in enumerate(keep))
    canonical = {v: k for k, v in mapping.items()}
    rig = PointRig(names, parents, tuple((i,) for i in range(len(keep))),
                   tuple(canonical.get(j, "") for j in keep))
    points = motion.fk()[:, keep]
    new_map = {k: index[v] for k, v in mapping.items() if v in index}
    feet = tuple(names[new_map[n]] for n in FOOT_PARTS if n in new_map)
    hips = (names[new_map["LeftUpLeg"]], names[new_map["RightUpLeg"]])
    ends = {index[j]: v for j, v in sk.end_sites_cm.items() if j in index}
    out, report = build_motion(rig, points, motion.fps, source, feet, hips, ends)
    return out, new_map, report

