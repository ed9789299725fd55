"""Synthetic humanoid rigs of the common naming schemes, all dancing one known dance.

``dance_positions()`` is the known answer: world positions of the canonical joints of a
T-posed template stepping and swinging its arms on a beat grid while travelling. ``rig(scheme)``
builds a skeleton named like CMU (3ds Max style), Mixamo, Bandai (static world root, a bind
pose lying on its side), ``_JNT`` rigs or 3ds Max Biped (static ``Bip01`` root); ``scheme_motion``
poses that skeleton on the known positions (rotations fitted to them).
"""

from __future__ import annotations

import numpy as np
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.rig_fit import fit_rotations
from choreo_studio.core.motion.skeleton import Skeleton

# canonical name, parent, T-pose offset (cm, Y up, facing +Z: the left side is +X)
TEMPLATE = (
    ("Hips", None, (0, 95, 0)), ("Spine", "Hips", (0, 12, 0)), ("Chest", "Spine", (0, 22, 0)),
    ("Neck", "Chest", (0, 18, 0)), ("Head", "Neck", (0, 10, 0)),
    ("LeftShoulder", "Chest", (4, 14, 0)), ("LeftArm", "LeftShoulder", (14, 0, 0)),
    ("LeftForeArm", "LeftArm", (28, 0, 0)), ("LeftHand", "LeftForeArm", (25, 0, 0)),
    ("RightShoulder", "Chest", (-4, 14, 0)), ("RightArm", "RightShoulder", (-14, 0, 0)),
    ("RightForeArm", "RightArm", (-28, 0, 0)), ("RightHand", "RightForeArm", (-25, 0, 0)),
    ("LeftUpLeg", "Hips", (9, -6, 0)), ("LeftLeg", "LeftUpLeg", (0, -42, 0)),
    ("LeftFoot", "LeftLeg", (0, -41, 0)), ("LeftToeBase", "LeftFoot", (0, -6, 13)),
    ("RightUpLeg", "Hips", (-9, -6, 0)), ("RightLeg", "RightUpLeg", (0, -42, 0)),
    ("RightFoot", "RightLeg", (0, -41, 0)), ("RightToeBase", "RightFoot", (0, -6, 13)),
)  # fmt: skip
HEAD_TOP_CM = 22.0  # end site above the head joint
TEMPLATE_HEIGHT_CM = 95 + 12 + 22 + 18 + 10 + HEAD_TOP_CM  # hips to head top, feet at 0

_PARTS = ("Shoulder", "Arm", "ForeArm", "Hand", "UpLeg", "Leg", "Foot", "ToeBase")
_SCHEMES = {
    "cmu": {"Hips": "Hips", "Spine": "lowerback", "Chest": "Chest", "Neck": "Neck",
            "Head": "Head", **{f"{s}{p}": f"{s}{q}" for s in ("Left", "Right") for p, q in zip(
                _PARTS, ("Collar", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Toe"),
                strict=True)}},
    "mixamo": {n: f"mixamorig3:{n}" for n, _, _ in TEMPLATE},
    "bandai": {"Hips": "Hips", "Spine": "Spine", "Chest": "Chest", "Neck": "Neck", "Head": "Head",
               **{f"{s}{p}": f"{q}_{s[0]}" for s in ("Left", "Right") for p, q in zip(
                   _PARTS, ("Shoulder", "UpperArm", "LowerArm", "Hand", "UpperLeg", "LowerLeg",
                            "Foot", "Toes"), strict=True)}},
    "jnt": {"Hips": "hips_JNT", "Spine": "spine_JNT", "Chest": "spine1_JNT", "Neck": "neck_JNT",
            "Head": "head_JNT", **{f"{s}{p}": f"{s[0].lower()}_{q}_JNT" for s in ("Left", "Right")
                                   for p, q in zip(_PARTS, ("clavicle", "upperarm", "forearm",
                                                            "hand", "upleg", "leg", "foot",
                                                            "toebase"), strict=True)}},
    "biped": {"Hips": "Bip01 Pelvis", "Spine": "Bip01 Spine", "Chest": "Bip01 Spine1",
              "Neck": "Bip01 Neck", "Head": "Bip01 Head",
              **{f"{s}{p}": f"Bip01 {s[0]} {q}" for s in ("Left", "Right") for p, q in zip(
                  _PARTS, ("Clavicle", "UpperArm", "Forearm", "Hand", "Thigh", "Calf", "Foot",
                           "Toe0"), strict=True)}},
}
WORLD_ROOTS = {"bandai": "joint_Root", "biped": "Bip01"}
SCHEMES = tuple(_SCHEMES)


def template() -> Skeleton:
    """The T-posed canonical humanoid the known dance is defined on."""
    names = [r[0] for r in TEMPLATE]
    parents = [-1 if r[1] is None else names.index(r[1]) for r in TEMPLATE]
    return Skeleton(names, parents, [r[2] for r in TEMPLATE],
                    {names.index("Head"): [0, HEAD_TOP_CM, 0]})


def dance_positions(n_frames: int = 240, fps: float = 30.0, bpm: float = 120.0) -> np.ndarray:
    """World positions ``[F, J, 3]`` of the template's joints dancing (the known answer)."""
    sk = template()
    t = np.arange(n_frames) / fps
    beat = 2 * np.pi * t * bpm / 60.0
    rot = quat.identity((n_frames, sk.n_joints))

    def put(name: str, axis: str, angle: np.ndarray) -> None:
        j = sk.index(name)
        rot[:, j] = quat.mul(rot[:, j], quat.about_axis(axis, angle))

    put("LeftArm", "Z", -1.1 + 0.6 * np.sin(beat / 2))
    put("RightArm", "Z", 1.1 - 0.6 * np.sin(beat / 2 + 1.0))
    put("LeftForeArm", "Y", 0.9 + 0.5 * np.sin(beat))
    put("RightForeArm", "Y", -0.9 - 0.5 * np.sin(beat + 0.5))
    put("LeftUpLeg", "X", -0.4 * np.maximum(np.sin(beat / 2), 0))
    put("LeftLeg", "X", 0.8 * np.maximum(np.sin(beat / 2), 0))
    put("RightUpLeg", "X", -0.4 * np.maximum(-np.sin(beat / 2), 0))
    put("RightLeg", "X", 0.8 * np.maximum(-np.sin(beat / 2), 0))
    put("Spine", "Y", 0.3 * np.sin(beat / 4))
    put("Head", "X", 0.2 * np.sin(beat))
    rot[:, 0] = quat.about_axis("Y", 0.4 * t)
    root = np.stack([20 * np.sin(0.5 * t), 95 - 3 * np.abs(np.sin(beat / 2)), 30 * t], -1)
    return Motion(sk, fps, rot, root).fk()


def rig(scheme: str) -> tuple[Skeleton, dict[str, str]]:
    """The scheme's skeleton (template proportions) and its canonical -> joint name map."""
    names = _SCHEMES[scheme]
    rows = [(names[n], None if p is None else names[p], np.array(o, float))
            for n, p, o in TEMPLATE]
    if scheme == "cmu":  # CMU's LHipJoint between the hips and the thigh
        rows = [r if r[0] not in ("LeftHip", "RightHip") else (r[0], r[0][0] + "HipJoint", r[2])
                for r in rows]
        for side in "LR":  # kept in depth-first order, as BVH files list joints
            at = [r[0] for r in rows].index(("Left" if side == "L" else "Right") + "Hip")
            rows.insert(at, (side + "HipJoint", "Hips", np.zeros(3)))
    if scheme == "bandai":  # a bind pose lying on its side: the spine along +X
        rows = [(n, p, o if p is None else np.array([o[1], -o[0], o[2]])) for n, p, o in rows]
    if scheme in WORLD_ROOTS:
        rows = [(WORLD_ROOTS[scheme], None, np.zeros(3))] + [
            (n, WORLD_ROOTS[scheme] if p is None else p, o) for n, p, o in rows]
    order = [r[0] for r in rows]
    parents = [-1 if p is None else order.index(p) for _, p, _ in rows]
    head = order.index(names["Head"])
    return Skeleton(order, parents, [r[2] for r in rows], {head: [0, HEAD_TOP_CM, 0]}), names


def scheme_motion(scheme: str, positions: np.ndarray, fps: float = 30.0) -> Motion:
    """The scheme's skeleton posed on the known positions (world roots stay at the origin)."""
    sk, names = rig(scheme)
    tpl = template()
    root_name = WORLD_ROOTS.get(scheme)
    body = sk if root_name is None else _without_root(sk)
    targets = {body.index(names[n]): positions[:, tpl.index(n)] for n in names}
    hints = {body.index(names[n]): np.array(v) for n, v in (
        ("LeftUpLeg", (0, 0, -1.0)), ("RightUpLeg", (0, 0, -1.0)), ("LeftArm", (0, 0, 1.0)),
        ("RightArm", (0, 0, 1.0)))}
    fitted = fit_rotations(body, targets, fps, hints, chase=True)
    if root_name is None:
        return fitted
    n = fitted.n_frames
    rot = np.concatenate([quat.identity((n, 1)), fitted.rotations], axis=1)
    local = np.broadcast_to(sk.offsets_cm, (n, sk.n_joints, 3)).copy()
    local[:, 0] = 0.0
    local[:, 1] = fitted.root_pos_cm
    return Motion(sk, fps, rot, np.zeros((n, 3)), local)


def _without_root(sk: Skeleton) -> Skeleton:
    """The skeleton below its world root (the hips become joint 0)."""
    offsets = sk.offsets_cm[1:].copy()
    ends = {k - 1: v for k, v in sk.end_sites_cm.items()}
    return Skeleton(sk.joint_names[1:], [-1] + [int(p) - 1 for p in sk.parents[2:]], offsets,
                    ends)
