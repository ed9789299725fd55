"""Binary glTF 2.0 (.glb) export: the skeleton in its bind pose, one or more named animations.

The skeleton is a node hierarchy (one node per joint, metres, Y up, +Z forward — glTF's own
conventions) whose default transforms are the bind pose: identity rotations over the
skeleton's rest offsets, so an engine's bone rest is the skeleton, not a dance frame. Each
animation has one LINEAR rotation channel per joint and the translation of the hips (and of
any joint whose clip moves it), sampled at the motion's frame rate. With ``root_bone`` a
floor-level ``Root`` node above the hips carries the horizontal travel and the facing (what
engines' root motion reads) and the hips keep the rest, relative to it. With
``skinned_mesh`` a rigid box-per-bone mesh (head, hands and feet included, flat normals, one
plain material) and a skin are added so engines import it as a skinned character.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from choreo_studio.core import __version__
from choreo_studio.core.atomic_io import write_bytes_atomic
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.skeleton import Skeleton

CM_PER_M = 100.0
FLOAT = 5126
UNSIGNED_INT = 5125
UNSIGNED_SHORT = 5123
UNSIGNED_BYTE = 5121
ARRAY_BUFFER = 34962
ELEMENT_ARRAY_BUFFER = 34963
SKIN_NAME = "Skeleton"
"""The skin's name (Blender names the armature after it, and FBX takes ARMATURE|ANIMATION)."""
ROOT_BONE = "Root"
"""Name of the floor-level root-motion node (a suffix is added if the skeleton has one)."""
BOX_WIDTH_FRACTION = 0.35
"""A bone's box is this fraction of its length wide, clamped to the range below (cm)."""
BOX_WIDTH_CM = (3.0, 14.0)
LEAF_BOX_CM = 4.0
"""Cube drawn around a leaf joint that has no end site."""
MATERIAL = {"name": "Plain", "pbrMetallicRoughness": {
    "baseColorFactor": [0.75, 0.75, 0.78, 1.0], "metallicFactor": 0.0, "roughnessFactor": 0.8}}


@dataclass(frozen=True)
class GltfAnimation:
    """One named animation of the skeleton (``extras`` go into the glTF animation's extras)."""

    name: str
    motion: Motion
    extras: dict[str, Any] = field(default_factory=dict)


class _Buffer:
    """Accumulates binary data with 4-byte alignment and creates views and accessors."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def add(
        self, array: np.ndarray, kind: str, component: int = FLOAT, *, target: int | None = None,
        with_bounds: bool = False,
    ) -> int:
        """Append ``array`` as its own bufferView + accessor; returns the accessor index."""
        while len(self.data) % 4:
            self.data.append(0)
        raw = np.ascontiguousarray(array).tobytes()
        view = {"buffer": 0, "byteOffset": len(self.data), "byteLength": len(raw)}
        if target is not None:
            view["target"] = target
        self.views.append(view)
        self.data.extend(raw)
        count = array.shape[0]
        accessor = {
            "bufferView": len(self.views) - 1,
            "componentType": component,
            "count": int(count),
            "type": kind,
        }
        if with_bounds:
            flat = array.reshape(count, -1)
            accessor["min"] = [_number(v) for v in flat.min(axis=0)]
            accessor["max"] = [_number(v) for v in flat.max(axis=0)]
        self.accessors.append(accessor)
        return len(self.accessors) - 1


def _number(value: np.generic) -> float | int:
    """A JSON number for a numpy scalar (ints stay ints: index bounds must be integers)."""
    return int(value) if np.issubdtype(type(value), np.integer) else float(value)


def _xyzw(q: np.ndarray) -> np.ndarray:
    """(w, x, y, z) → glTF's (x, y, z, w), normalised in float32."""
    q = np.asarray(q, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    out = np.ascontiguousarray(q[..., [1, 2, 3, 0]], dtype=np.float32)
    return out / np.linalg.norm(out, axis=-1, keepdims=True)


def root_motion_split(motion: Motion) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The hips' world motion as a floor-level root plus the hips relative to it (cm).

    Returns root translation [F, 3] (hips x, z; y = 0), root rotation [F, 4] (the hips'
    heading about +Y), hips translation [F, 3] and hips rotation [F, 4] in the root's frame.
    """
    hips_rot = motion.rotations[:, 0].astype(np.float64)
    hips_pos = motion.root_pos_cm.astype(np.float64)
    floor = hips_pos * np.array([1.0, 0.0, 1.0])
    facing = quat.about_axis("Y", quat.yaw_of(hips_rot))
    undo = quat.inverse(facing)
    return floor, facing, quat.rotate(undo, hips_pos - floor), quat.mul(undo, hips_rot)


def _root_bone_name(skeleton: Skeleton) -> str:
    name = ROOT_BONE
    while name in skeleton.joint_names:
        name += "_"
    return name


def _frame(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors orthogonal to unit vector ``u`` and to each other."""
    helper = np.array([0.0, 0.0, 1.0]) if abs(u[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    v = np.cross(u, helper)
    v /= np.linalg.norm(v)
    return v, np.cross(u, v)


def _box_codes() -> np.ndarray:
    """Corner codes [6 faces, 4 corners, 3] of a unit box along (u, v, w), face by face:
    the fixed axis at its sign, the other two going round (-1, -1), (1, -1), (1, 1), (-1, 1)."""
    around = ((-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0))
    faces = []
    for fixed in range(3):
        for sign in (-1.0, 1.0):
            quad = []
            for s, t in around:
                c = [s, t]
                c.insert(fixed, sign)
                quad.append(c)
            faces.append(quad)
    return np.array(faces)


_BOX_CODES = _box_codes()
_FACE_SIGNS = np.array([-1.0, 1.0, -1.0, 1.0, -1.0, 1.0])


def _box(a: np.ndarray, b: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """A box from ``a`` to ``b`` (cm) ``width`` wide: 24 vertices (4 per face, so each face
    has its own normal), counter-clockwise seen from outside, and their unit normals."""
    axis = b - a
    u = axis / np.linalg.norm(axis)
    v, w = _frame(u)
    h = width / 2.0
    c = _BOX_CODES
    quads = (a + ((c[..., 0] + 1.0) / 2.0)[..., None] * axis + (h * c[..., 1])[..., None] * v
             + (h * c[..., 2])[..., None] * w)  # [6, 4, 3]
    normal = _FACE_SIGNS[:, None] * np.repeat(np.stack([u, v, w]), 2, axis=0)
    inward = (np.cross(quads[:, 1] - quads[:, 0], quads[:, 2] - quads[:, 0]) * normal).sum(-1) < 0
    quads[inward] = quads[inward, ::-1]
    return quads.reshape(24, 3), np.repeat(normal, 4, axis=0)


def _width(length_cm: float) -> float:
    return float(np.clip(BOX_WIDTH_FRACTION * length_cm, *BOX_WIDTH_CM))


def bone_boxes(skeleton: Skeleton) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Boxes over every bone, from each joint to its end site (head top, finger and toe tips)
    and around leaf joints without one, in bind pose (cm, rigidly bound to one joint).

    Returns positions [V, 3], normals [V, 3], joint index per vertex [V] and triangle
    indices [I].
    """
    rest = skeleton.rest_positions_cm()
    segments: list[tuple[int, np.ndarray, np.ndarray, float]] = []
    for child in range(1, skeleton.n_joints):
        parent = int(skeleton.parents[child])
        length = float(np.linalg.norm(rest[child] - rest[parent]))
        if length > 1e-6:
            segments.append((parent, rest[parent], rest[child], _width(length)))
    for j in range(skeleton.n_joints):
        end = skeleton.end_sites_cm.get(j)
        if end is not None and np.linalg.norm(end) > 1e-6:
            segments.append((j, rest[j], rest[j] + end, _width(float(np.linalg.norm(end)))))
        elif not skeleton.children(j):
            lift = np.array([0.0, LEAF_BOX_CM / 2.0, 0.0])
            segments.append((j, rest[j] - lift, rest[j] + lift, LEAF_BOX_CM))
    positions, normals, joints = [], [], []
    for joint, a, b, width in segments:
        p, n = _box(a, b, width)
        positions.append(p)
        normals.append(n)
        joints.append(np.full(len(p), joint))
    quad = np.array([0, 1, 2, 0, 2, 3])
    index = (np.arange(6 * len(segments))[:, None] * 4 + quad).reshape(-1)
    return (np.concatenate(positions), np.concatenate(normals), np.concatenate(joints), index)


def _node_tracks(motion: Motion, root_bone: bool) -> list[tuple[int, str, np.ndarray]]:
    """(joint slot, path, glTF values) per animated property; slot J is the root bone."""
    sk = motion.skeleton
    rotations = quat.make_continuous(motion.rotations.astype(np.float64), axis=0)
    tracks: list[tuple[int, str, np.ndarray]] = []
    hips_rot, hips_pos = rotations[:, 0], motion.root_pos_cm.astype(np.float64)
    if root_bone:
        floor, facing, hips_pos, hips_rot = root_motion_split(motion)
        tracks.append((sk.n_joints, "translation", floor / CM_PER_M))
        tracks.append((sk.n_joints, "rotation",
                       quat.make_continuous(facing, axis=0)))
        hips_rot = quat.make_continuous(hips_rot, axis=0)
    tracks.append((0, "translation", hips_pos / CM_PER_M))
    tracks.append((0, "rotation", hips_rot))
    tracks = [(slot, path, _xyzw(v) if path == "rotation" else np.asarray(v, np.float32))
              for slot, path, v in tracks]
    joints = _xyzw(rotations[:, 1:])  # every joint's track in one pass (the same per value)
    for j in range(1, sk.n_joints):
        tracks.append((j, "rotation", joints[:, j - 1]))
        if motion.local_pos_cm is not None:
            tracks.append((j, "translation",
                           np.asarray(motion.local_pos_cm[:, j] / CM_PER_M, np.float32)))
    return tracks


def _animation(buf: _Buffer, anim: GltfAnimation, root_bone: bool) -> dict[str, Any]:
    motion = anim.motion
    times = (np.arange(motion.n_frames, dtype=np.float64) / motion.fps).astype(np.float32)
    time_acc = buf.add(times, "SCALAR", with_bounds=True)
    samplers, channels = [], []
    for slot, path, values in _node_tracks(motion, root_bone):
        acc = buf.add(values, "VEC4" if path == "rotation" else "VEC3")
        samplers.append({"input": time_acc, "output": acc, "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": slot, "path": path}})
    out: dict[str, Any] = {"name": anim.name, "samplers": samplers, "channels": channels}
    extras = {"fps": motion.fps, "n_frames": motion.n_frames, **anim.extras}
    out["extras"] = extras
    return out


def gltf_document(
    skeleton: Skeleton,
    animations: Sequence[GltfAnimation],
    *,
    scene_name: str = "Dance",
    skinned_mesh: bool = True,
    root_bone: bool = True,
    extras: dict[str, Any] | None = None,
) -> tuple[dict, bytes]:
    """The glTF JSON and binary buffer: ``skeleton`` in its bind pose and ``animations``."""
    for anim in animations:
        if not anim.motion.skeleton.same_hierarchy(skeleton):
            raise ValueError(f"animation {anim.name!r} is on another skeleton")
    n = skeleton.n_joints
    buf = _Buffer()
    nodes: list[dict[str, Any]] = []
    for j in range(n):
        node: dict[str, Any] = {"name": skeleton.joint_names[j],
                                "translation": [float(v) / CM_PER_M
                                                for v in skeleton.offsets_cm[j]]}
        children = skeleton.children(j)
        if children:
            node["children"] = children
        nodes.append(node)
    top = 0
    if root_bone:
        nodes.append({"name": _root_bone_name(skeleton), "children": [0]})
        top = n
    doc: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": f"Choreo Studio {__version__}"},
        "scene": 0,
        "nodes": nodes,
    }
    if extras:
        doc["asset"]["extras"] = dict(extras)
    if animations:
        doc["animations"] = [_animation(buf, anim, root_bone) for anim in animations]
    scene_nodes = [top]
    if skinned_mesh and n > 1:
        scene_nodes.append(_add_skin(doc, buf, skeleton, root_bone))
    doc["scenes"] = [{"name": scene_name, "nodes": scene_nodes}]
    while len(buf.data) % 4:
        buf.data.append(0)
    doc["accessors"] = buf.accessors
    doc["bufferViews"] = buf.views
    doc["buffers"] = [{"byteLength": len(buf.data)}]
    return doc, bytes(buf.data)


def _add_skin(doc: dict[str, Any], buf: _Buffer, skeleton: Skeleton, root_bone: bool) -> int:
    """Add the box mesh, its material and the skin; returns the mesh node's index."""
    n = skeleton.n_joints
    pos, normals, joint, index = bone_boxes(skeleton)
    slots = n + 1 if root_bone else n  # skin joints: the joints in order, then the root bone
    rest = skeleton.rest_positions_cm() / CM_PER_M
    inverse_bind = np.tile(np.eye(4, dtype=np.float32), (slots, 1, 1))
    inverse_bind[:n, :3, 3] = -rest  # bind pose: identity rotations at the rest offsets
    joint_type = UNSIGNED_BYTE if slots <= 256 else UNSIGNED_SHORT
    joints = np.zeros((len(pos), 4), np.uint8 if joint_type == UNSIGNED_BYTE else np.uint16)
    joints[:, 0] = joint
    weights = np.zeros((len(pos), 4), np.float32)
    weights[:, 0] = 1.0
    index_type = UNSIGNED_SHORT if len(pos) <= 65535 else UNSIGNED_INT
    attributes = {
        "POSITION": buf.add((pos / CM_PER_M).astype(np.float32), "VEC3", target=ARRAY_BUFFER,
                            with_bounds=True),
        "NORMAL": buf.add(normals.astype(np.float32), "VEC3", target=ARRAY_BUFFER),
        "JOINTS_0": buf.add(joints, "VEC4", joint_type, target=ARRAY_BUFFER),
        "WEIGHTS_0": buf.add(weights, "VEC4", target=ARRAY_BUFFER),
    }
    indices = buf.add(index.astype(np.uint16 if index_type == UNSIGNED_SHORT else np.uint32),
                      "SCALAR", index_type, target=ELEMENT_ARRAY_BUFFER)
    ibm = buf.add(inverse_bind.transpose(0, 2, 1).reshape(-1, 16), "MAT4")  # column-major
    doc["materials"] = [dict(MATERIAL)]
    doc["meshes"] = [{"name": "Bones", "primitives": [
        {"attributes": attributes, "indices": indices, "material": 0}]}]
    doc["skins"] = [{"name": SKIN_NAME, "joints": list(range(slots)),
                     "skeleton": n if root_bone else 0, "inverseBindMatrices": ibm}]
    doc["nodes"].append({"name": "BonesMesh", "mesh": 0, "skin": 0})
    return len(doc["nodes"]) - 1


def glb_container(doc: dict, binary: bytes) -> bytes:
    """The .glb container (header, JSON chunk, BIN chunk) of a document and its buffer."""
    text = json.dumps(doc, separators=(",", ":"), allow_nan=False).encode("utf-8")
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    return b"".join([
        struct.pack("<4sII", b"glTF", 2, total),
        struct.pack("<I4s", len(text), b"JSON"), text,
        struct.pack("<I4s", len(binary), b"BIN\0"), binary,
    ])


def glb_bytes(motion: Motion, *, name: str = "Dance", animation: str = "arrangement",
              skinned_mesh: bool = True, root_bone: bool = True,
              extras: dict[str, Any] | None = None) -> bytes:
    """A .glb of one performance: scene ``name`` (the song), one animation ``animation``."""
    doc, binary = gltf_document(
        motion.skeleton, [GltfAnimation(animation, motion, dict(extras or {}))],
        scene_name=name, skinned_mesh=skinned_mesh, root_bone=root_bone, extras=extras)
    return glb_container(doc, binary)


def write_glb(path: str | os.PathLike[str], motion: Motion, *, name: str = "Dance",
              animation: str = "arrangement", skinned_mesh: bool = True,
              root_bone: bool = True, extras: dict[str, Any] | None = None) -> Path:
    """Atomically write ``motion`` as a binary glTF file (see :func:`glb_bytes`)."""
    return write_bytes_atomic(path, glb_bytes(
        motion, name=name, animation=animation, skinned_mesh=skinned_mesh, root_bone=root_bone,
        extras=extras))


def write_clips_glb(path: str | os.PathLike[str], skeleton: Skeleton,
                    animations: Sequence[GltfAnimation], *, name: str = "Clips",
                    skinned_mesh: bool = True, root_bone: bool = True,
                    extras: dict[str, Any] | None = None) -> Path:
    """Atomically write one .glb holding several named animations of ``skeleton``."""
    doc, binary = gltf_document(skeleton, animations, scene_name=name,
                                skinned_mesh=skinned_mesh, root_bone=root_bone, extras=extras)
    return write_bytes_atomic(path, glb_container(doc, binary))
