"""The demo humanoid and the pose solver that turns body-level curves into joint rotations.

The skeleton has 22 joints with Mixamo-style names (Y up, centimetres, facing +Z, T-pose
rest), so it exports to BVH and glTF and retargets in engines. :func:`solve_pose` takes
per-frame body parameters (feet on the floor, pelvis, spine, head, hand targets) and solves
legs and arms with analytic two-bone IK, so planted feet stay exactly where they were put.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core import quaternions as quat
from core.motion import Motion
from core.skeleton import Skeleton

_JOINTS = [
    ("Hips", -1, (0.0, 95.0, 0.0)),
    ("Spine", 0, (0.0, 8.0, 0.0)),
    ("Spine1", 1, (0.0, 11.0, 0.0)),
    ("Spine2", 2, (0.0, 11.0, 0.0)),
    ("Neck", 3, (0.0, 15.0, 0.0)),
    ("Head", 4, (0.0, 9.0, 1.0)),
    ("LeftShoulder", 3, (3.0, 10.0, 0.0)),
    ("LeftArm", 6, (13.0, 0.0, 0.0)),
    ("LeftForeArm", 7, (27.0, 0.0, 0.0)),
    ("LeftHand", 8, (25.0, 0.0, 0.0)),
    ("RightShoulder", 3, (-3.0, 10.0, 0.0)),
    ("RightArm", 10, (-13.0, 0.0, 0.0)),
    ("RightForeArm", 11, (-27.0, 0.0, 0.0)),
    ("RightHand", 12, (-25.0, 0.0, 0.0)),
    ("LeftUpLeg", 0, (9.0, -5.0, 0.0)),
    ("LeftLeg", 14, (0.0, -42.0, 0.0)),
    ("LeftFoot", 15, (0.0, -40.0, 0.0)),
    ("LeftToeBase", 16, (0.0, -6.0, 12.0)),
    ("RightUpLeg", 0, (-9.0, -5.0, 0.0)),
    ("RightLeg", 18, (0.0, -42.0, 0.0)),
    ("RightFoot", 19, (0.0, -40.0, 0.0)),
    ("RightToeBase", 20, (0.0, -6.0, 12.0)),
]
_END_SITES = {"Head": (0.0, 18.0, 0.0), "LeftHand": (16.0, 0.0, 0.0),
              "RightHand": (-16.0, 0.0, 0.0), "LeftToeBase": (0.0, -2.0, 7.0),
              "RightToeBase": (0.0, -2.0, 7.0)}

ANKLE_HEIGHT_CM = 8.0
HIP_HEIGHT_CM = 95.0
THIGH_CM = 42.0
SHIN_CM = 40.0
UPPER_ARM_CM = 27.0
FOREARM_CM = 25.0
_HEEL = np.array([0.0, -8.0, -4.0])


def demo_skeleton() -> Skeleton:
    """The 22-joint demo humanoid (Y up, cm, facing +Z, T-pose rest)."""
    names = [n for n, _, _ in _JOINTS]
    return Skeleton(
        names,
        [p for _, p, _ in _JOINTS],
        [o for _, _, o in _JOINTS],
        {names.index(k): v for k, v in _END_SITES.items()},
    )


@dataclass
class BodyCurves:
    """Per-frame body parameters (F frames) the solver turns into a Motion.

    Angles in radians; positions in cm. ``*_hand`` targets and ``*_elbow`` pole directions are
    in the chest (Spine2) frame: x = the dancer's left, y = up, z = forward. Feet are world
    ankle floor positions ``[F, 3]`` (y = lift above the floor), their heading and heel raise.
    """

    facing: np.ndarray
    pelvis: np.ndarray  # [F, 3] world pelvis position (y = hips joint height)
    hip: np.ndarray  # [F, 3] yaw, pitch, roll of the pelvis relative to facing
    spine: np.ndarray  # [F, 3] yaw (twist), pitch (lean forward +), roll (side bend)
    chest_pitch: np.ndarray  # [F] extra chest isolation (popping chest pops)
    head: np.ndarray  # [F, 3] yaw, pitch (nod down +), roll
    l_hand: np.ndarray
    r_hand: np.ndarray
    l_elbow: np.ndarray
    r_elbow: np.ndarray
    l_foot: np.ndarray
    r_foot: np.ndarray
    l_foot_yaw: np.ndarray
    r_foot_yaw: np.ndarray
    l_heel: np.ndarray  # [F] heel raise (foot pitch, toes stay down)
    r_heel: np.ndarray


def contact_height(heel_pitch: np.ndarray) -> np.ndarray:
    """Ankle height above the floor for a foot pitched by ``heel_pitch`` (toes on the floor)."""
    p = np.asarray(heel_pitch, dtype=np.float64)
    heel = 8.0 * np.cos(p) - 4.0 * np.sin(p)
    toe = 6.0 * np.cos(p) + 12.0 * np.sin(p) + 2.0
    return np.maximum(heel, toe)


def _ypr(angles: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Quaternions from [yaw, pitch, roll] (Y, X, Z intrinsic)."""
    return quat.from_euler(np.asarray(angles) * scale, "YXZ")


def _frame(bone_dir: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Orthonormal frame [..., 3, 3]: columns bone direction, bend-plane normal, their cross."""
    b1 = bone_dir / np.maximum(np.linalg.norm(bone_dir, axis=-1, keepdims=True), 1e-9)
    n = normal - np.sum(normal * b1, -1, keepdims=True) * b1
    n = n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-9)
    return np.stack([b1, n, np.cross(b1, n)], axis=-1)


def two_bone_ik(
    root: np.ndarray, target: np.ndarray, pole: np.ndarray, l1: float, l2: float
) -> np.ndarray:
    """Middle-joint positions [F, 3] of a two-bone chain reaching ``target`` (clamped to reach),
    bending towards ``pole``."""
    d_vec = target - root
    d = np.linalg.norm(d_vec, axis=-1, keepdims=True)
    u = d_vec / np.maximum(d, 1e-9)
    d = np.clip(d, abs(l1 - l2) + 1e-3, (l1 + l2) * 0.9995)
    x = (l1 * l1 - l2 * l2 + d * d) / (2 * d)
    h = np.sqrt(np.maximum(l1 * l1 - x * x, 0.0))
    v = pole - np.sum(pole * u, -1, keepdims=True) * u
    v = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)
    return root + u * x + v * h


def _chain_rotations(
    g_parent: np.ndarray, root: np.ndarray, mid: np.ndarray, end: np.ndarray, pole: np.ndarray,
    rest_dir: np.ndarray, rest_pole: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local rotations of the two bones of a solved chain, and the lower bone's world rotation.

    Both bones lie in the plane spanned by root→end and the pole, so the plane normal
    ``(end − root) × pole`` fixes their twist (as ``rest_dir × rest_pole`` does at rest).
    """
    rest = _frame(rest_dir[None], np.cross(rest_dir, rest_pole)[None])
    normal = np.cross(end - root, pole)
    g_upper = quat.make_continuous(quat.from_basis_change(rest, _frame(mid - root, normal)))
    g_lower = quat.make_continuous(quat.from_basis_change(rest, _frame(end - mid, normal)))
    local_upper = quat.mul(quat.inverse(g_parent), g_upper)
    local_lower = quat.mul(quat.inverse(g_upper), g_lower)
    return local_upper, local_lower, g_lower


def solve_pose(skeleton: Skeleton, fps: float, c: BodyCurves) -> Motion:
    """Joint rotations for the body curves: FK down the spine, IK on both arms and legs."""
    n = len(c.facing)
    J = skeleton.n_joints
    idx = {name: i for i, name in enumerate(skeleton.joint_names)}
    off = skeleton.offsets_cm
    rot = quat.identity((n, J))
    up = np.array([0.0, 1.0, 0.0])

    face_q = quat.about_axis("Y", c.facing)
    g_hips = quat.mul(face_q, _ypr(c.hip))
    rot[:, 0] = g_hips
    spine_q = _ypr(c.spine, 1.0 / 3.0)
    g = g_hips
    pos = c.pelvis.astype(np.float64)
    for name in ("Spine", "Spine1", "Spine2"):
        local = spine_q
        if name == "Spine2":
            local = quat.mul(spine_q, quat.about_axis("X", c.chest_pitch))
        pos = pos + quat.rotate(g, off[idx[name]])
        g = quat.mul(g, local)
        rot[:, idx[name]] = local
    g_chest, chest_pos = g, pos
    head_q = _ypr(c.head, 0.5)
    rot[:, idx["Neck"]] = head_q
    rot[:, idx["Head"]] = head_q

    arms = (("Left", c.l_hand, c.l_elbow, 1.0), ("Right", c.r_hand, c.r_elbow, -1.0))
    for side, hand, elbow_pole, sx in arms:
        sh_i, arm_i = idx[f"{side}Shoulder"], idx[f"{side}Arm"]
        raise_amt = np.clip((hand[:, 1] - 10.0) / 50.0, 0.0, 1.0) * 0.25
        sh_local = quat.about_axis("Z", sx * raise_amt)
        rot[:, sh_i] = sh_local
        g_sh = quat.mul(g_chest, sh_local)
        sh_pos = chest_pos + quat.rotate(g_chest, off[sh_i])
        arm_pos = sh_pos + quat.rotate(g_sh, off[arm_i])
        target = chest_pos + quat.rotate(g_chest, hand)
        pole_w = quat.rotate(g_chest, elbow_pole)
        elbow = two_bone_ik(arm_pos, target, pole_w, UPPER_ARM_CM, FOREARM_CM)
        wrist = elbow + FOREARM_CM * (target - elbow) / np.maximum(
            np.linalg.norm(target - elbow, axis=-1, keepdims=True), 1e-9
        )
        lu, ll, _ = _chain_rotations(g_sh, arm_pos, elbow, wrist, pole_w,
                                        np.array([sx, 0.0, 0.0]), np.array([0.0, 0.0, -1.0]))
        rot[:, arm_i] = lu
        rot[:, idx[f"{side}ForeArm"]] = ll

    legs = (("Left", c.l_foot, c.l_foot_yaw, c.l_heel, 1.0),
            ("Right", c.r_foot, c.r_foot_yaw, c.r_heel, -1.0))
    for side, foot, yaw, heel, sx in legs:
        up_i = idx[f"{side}UpLeg"]
        hip_pos = c.pelvis + quat.rotate(g_hips, off[up_i])
        ankle = foot + up * contact_height(heel)[:, None]
        fwd = np.stack([np.sin(yaw), np.zeros_like(yaw), np.cos(yaw)], -1)
        out = np.stack([np.cos(yaw), np.zeros_like(yaw), -np.sin(yaw)], -1) * sx
        pole = fwd + 0.25 * out
        knee = two_bone_ik(hip_pos, ankle, pole, THIGH_CM, SHIN_CM)
        ankle_reached = knee + SHIN_CM * (ankle - knee) / np.maximum(
            np.linalg.norm(ankle - knee, axis=-1, keepdims=True), 1e-9
        )
        lu, ll, g_low = _chain_rotations(g_hips, hip_pos, knee, ankle_reached, pole,
                                            np.array([0.0, -1.0, 0.0]), np.array([0.0, 0.0, 1.0]))
        rot[:, up_i] = lu
        rot[:, idx[f"{side}Leg"]] = ll
        g_foot = quat.mul(quat.about_axis("Y", yaw), quat.about_axis("X", heel))
        rot[:, idx[f"{side}Foot"]] = quat.mul(quat.inverse(g_low), g_foot)
        rot[:, idx[f"{side}ToeBase"]] = quat.about_axis("X", -heel)
    rot = quat.make_continuous(quat.normalize(rot), axis=0)
    return Motion(skeleton, fps, rot, c.pelvis)


def max_pelvis_height(c: BodyCurves, skeleton: Skeleton) -> np.ndarray:
    """Highest pelvis height per frame at which both legs still reach their ankle targets."""
    idx = {name: i for i, name in enumerate(skeleton.joint_names)}
    reach = (THIGH_CM + SHIN_CM) * 0.995
    g_hips = quat.mul(quat.about_axis("Y", c.facing), _ypr(c.hip))
    limit = np.full(len(c.facing), np.inf)
    for side, foot, heel in (("Left", c.l_foot, c.l_heel), ("Right", c.r_foot, c.r_heel)):
        hip_off = quat.rotate(g_hips, skeleton.offsets_cm[idx[f"{side}UpLeg"]])
        ankle = foot[:, 1] + contact_height(heel)
        dxz = np.linalg.norm((c.pelvis + hip_off - foot)[:, [0, 2]], axis=-1)
        top = ankle + np.sqrt(np.maximum(reach * reach - dxz * dxz, 1.0))
        limit = np.minimum(limit, top - hip_off[:, 1])
    return limit
