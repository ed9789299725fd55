"""The demo humanoid and the pose solver that turns body-level curves into joint rotations.

The skeleton has 22 joints with Mixamo-style names (Y up, centimetres, facing +Z, T-pose
rest), so it exports to BVH and glTF and retargets in engines. :func:`solve_pose` takes
per-frame body parameters (feet on the floor, pelvis, spine, head, hand targets) and solves
legs and arms with analytic two-bone IK, so planted feet stay exactly where they were put.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.skeleton import Skeleton

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

    Angles in radians; positions in cm. ``*_hand`` targets are in the chest (Spine2) frame:
    x = the dancer's left, y = up, z = forward. ``*_swivel`` is the elbow's swivel angle about
    the shoulder→hand axis (see :func:`elbow_pole`). Feet are world ankle floor positions
    ``[F, 3]`` (y = lift above the floor), their heading and heel raise.
    """

    facing: np.ndarray
    pelvis: np.ndarray  # [F, 3] world pelvis position (y = hips joint height)
    hip: np.ndarray  # [F, 3] yaw, pitch, roll of the pelvis relative to facing
    spine: np.ndarray  # [F, 3] yaw (twist), pitch (lean forward +), roll (side bend)
    chest_pitch: np.ndarray  # [F] extra chest isolation (popping chest pops)
    head: np.ndarray  # [F, 3] yaw, pitch (nod down +), roll
    l_hand: np.ndarray
    r_hand: np.ndarray
    l_swivel: np.ndarray  # [F] rad
    r_swivel: np.ndarray
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


_SHOULDER_OFF = np.array(_JOINTS[6][2])  # LeftShoulder in the chest frame
_ARM_OFF = np.array(_JOINTS[7][2])  # LeftArm (the shoulder ball) from LeftShoulder
# Reference elbow-pole field (left arm, chest frame). It is tangent to the sphere of arm
# directions and vanishes only at POLE_SINGULAR (back and across the body, where a hand never
# goes), so the elbow's bend direction is a continuous function of the arm direction
# everywhere a dance reaches; _POLE_E points the elbow out and back for a hanging arm.
POLE_SINGULAR = np.array([-1.0, 0.0, -1.0]) / np.sqrt(2.0)
_POLE_E = np.array([2.12, -1.0, -2.12]) / np.linalg.norm([2.12, -1.0, -2.12])
# Hand paths stay out of a ball of HAND_KEEP_OUT_CM around a point HAND_KEEP_OUT_SHIFT_CM
# behind-inside the shoulder (towards POLE_SINGULAR): a wrist ≥ 20 cm from its shoulder in
# front (elbow flexed ≤ ~135°), ≥ 36 cm behind it, so a hand never passes through the
# shoulder or the neck, where the arm direction — and the elbow — would turn in a frame.
HAND_KEEP_OUT_CM = 28.0
HAND_KEEP_OUT_SHIFT_CM = 8.0
# Shoulder→wrist reach eased into [12 cm, 99 % of the arm]: beyond ~99 % the elbow position
# is ill-conditioned (dh/dd → ∞), under 12 cm the arm would fold through itself.
_REACH_LO = (12.0, 18.0)  # reaches under 18 cm ease towards 12 cm, never below
_REACH_HI = (0.85 * (UPPER_ARM_CM + FOREARM_CM), 0.99 * (UPPER_ARM_CM + FOREARM_CM))


def shoulder_raise(hand_y: np.ndarray) -> np.ndarray:
    """Shoulder (clavicle) raise in rad for chest-frame hand heights: up to 0.25 overhead."""
    return np.clip((np.asarray(hand_y) - 10.0) / 50.0, 0.0, 1.0) * 0.25


def arm_root_in_chest(hand: np.ndarray) -> np.ndarray:
    """Left shoulder-ball position in the chest frame for left-hand targets ``[..., 3]``."""
    r = shoulder_raise(hand[..., 1])
    return _SHOULDER_OFF + np.stack(
        [_ARM_OFF[0] * np.cos(r), _ARM_OFF[0] * np.sin(r), np.zeros_like(r)], -1)


def _reference_pole(u: np.ndarray) -> np.ndarray:
    """Unit reference elbow direction ⟂ ``u`` for left-arm directions ``u`` [..., 3]: the
    pull-back of a constant plane field under stereographic projection from POLE_SINGULAR."""
    s, e = POLE_SINGULAR, _POLE_E
    v = (1.0 - u @ s)[..., None] * e + (u @ e)[..., None] * (s - u)
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _arm_axes(hand: np.ndarray, sx: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left-arm coordinates of a hand target: shoulder→hand unit ``u``, reference pole ``v0``
    and ``u × v0`` (the right arm is mirrored in x first)."""
    h = np.asarray(hand, float) * np.array([sx, 1.0, 1.0])
    d = h - arm_root_in_chest(h)
    u = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-9)
    v0 = _reference_pole(u)
    return u, v0, np.cross(u, v0)


def swivel_of(hand: np.ndarray, pole: np.ndarray, sx: float) -> float:
    """Swivel angle (rad) that bends the elbow towards chest-frame ``pole`` when the hand is
    at ``hand`` (``sx`` = 1 left arm, −1 right arm); keys store this, not the pole."""
    u, v0, w0 = _arm_axes(hand, sx)
    p = np.asarray(pole, float) * np.array([sx, 1.0, 1.0])
    p = p - (p @ u) * u
    return float(np.arctan2(p @ w0, p @ v0))


def elbow_pole(hand: np.ndarray, swivel: np.ndarray, sx: float) -> np.ndarray:
    """Chest-frame unit elbow directions ``[F, 3]`` (⟂ the arm) for hand targets and swivel
    angles: the reference pole turned by ``swivel`` about the shoulder→hand axis. Continuous
    in both, so an elbow never flips while the hand and the swivel move smoothly."""
    _, v0, w0 = _arm_axes(hand, sx)
    phi = np.asarray(swivel, float)[..., None]
    return (np.cos(phi) * v0 + np.sin(phi) * w0) * np.array([sx, 1.0, 1.0])


def _soft_reach(d: np.ndarray) -> np.ndarray:
    """Shoulder→wrist distances eased into [12, 0.99·arm length] (identity in between, C¹)."""
    lo_min, lo_knee = _REACH_LO
    hi_knee, hi_max = _REACH_HI
    d = np.asarray(d, float)
    low = lo_knee - (lo_knee - lo_min) * np.tanh((lo_knee - d) / (lo_knee - lo_min))
    high = hi_knee + (hi_max - hi_knee) * np.tanh((d - hi_knee) / (hi_max - hi_knee))
    return np.where(d < lo_knee, low, np.where(d > hi_knee, high, d))


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

    arms = (("Left", c.l_hand, c.l_swivel, 1.0), ("Right", c.r_hand, c.r_swivel, -1.0))
    for side, hand, swivel, sx in arms:
        sh_i, arm_i = idx[f"{side}Shoulder"], idx[f"{side}Arm"]
        sh_local = quat.about_axis("Z", sx * shoulder_raise(hand[:, 1]))
        rot[:, sh_i] = sh_local
        g_sh = quat.mul(g_chest, sh_local)
        sh_pos = chest_pos + quat.rotate(g_chest, off[sh_i])
        arm_pos = sh_pos + quat.rotate(g_sh, off[arm_i])
        # reach eased short of full stretch and of a fully folded arm, direction unchanged
        root_c = off[sh_i] + quat.rotate(sh_local, off[arm_i])
        d_vec = hand - root_c
        d = np.linalg.norm(d_vec, axis=-1, keepdims=True)
        hand_c = root_c + d_vec / np.maximum(d, 1e-9) * _soft_reach(d)
        target = chest_pos + quat.rotate(g_chest, hand_c)
        pole_w = quat.rotate(g_chest, elbow_pole(hand, swivel, sx))
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


# Longest hip→ankle distance the pelvis limit allows: knees keep a soft bend (~28°), because
# near full extension the knee position is ill-conditioned and a foot lifting off would
# snap the knee forward in one frame.
LEG_REACH_FRACTION = 0.97


def max_pelvis_height(c: BodyCurves, skeleton: Skeleton) -> np.ndarray:
    """Highest pelvis height per frame at which both legs still reach their ankle targets."""
    idx = {name: i for i, name in enumerate(skeleton.joint_names)}
    reach = (THIGH_CM + SHIN_CM) * LEG_REACH_FRACTION
    g_hips = quat.mul(quat.about_axis("Y", c.facing), _ypr(c.hip))
    limit = np.full(len(c.facing), np.inf)
    for side, foot, heel in (("Left", c.l_foot, c.l_heel), ("Right", c.r_foot, c.r_heel)):
        hip_off = quat.rotate(g_hips, skeleton.offsets_cm[idx[f"{side}UpLeg"]])
        ankle = foot[:, 1] + contact_height(heel)
        dxz = np.linalg.norm((c.pelvis + hip_off - foot)[:, [0, 2]], axis=-1)
        top = ankle + np.sqrt(np.maximum(reach * reach - dxz * dxz, 1.0))
        limit = np.minimum(limit, top - hip_off[:, 1])
    return limit


def limit_pelvis_height(c: BodyCurves, skeleton: Skeleton, softness_cm: float = 1.5) -> None:
    """Lower the pelvis (in place) where a leg could not reach its foot: a smooth minimum of
    the wanted height and :func:`max_pelvis_height` (never above either), so the hips ease
    into the limit instead of stopping on it with a kink."""
    want, limit = c.pelvis[:, 1], max_pelvis_height(c, skeleton)
    gap = np.abs(limit - want) / softness_cm
    c.pelvis[:, 1] = np.minimum(want, limit) - softness_cm * np.log1p(np.exp(-gap))
