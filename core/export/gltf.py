"""Binary glTF 2.0 (.glb) export of a rendered performance: the skeleton and its animation.

The skeleton is a node hierarchy (one node per joint, rest offsets as translations, metres,
Y up, +Z forward — glTF's own conventions), and the animation has one LINEAR rotation channel
per joint plus the root's translation, sampled at the motion's frame rate. With
``skinned_mesh`` a simple rigid mesh (one box per bone, each vertex bound to one joint) and a
skin are added so engines import it as a skinned character.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np
from choreo_studio.core import __version__
from choreo_studio.core.atomic_io import write_bytes_atomic
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.motion import Motion

CM_PER_M = 100.0
FLOAT = 5126
UNSIGNED_SHORT = 5123
UNSIGNED_BYTE = 5121
ARRAY_BUFFER = 34962
ELEMENT_ARRAY_BUFFER = 34963
BONE_BOX_CM = 3.0


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
            accessor["min"] = [float(v) for v in flat.min(axis=0)]
            accessor["max"] = [float(v) for v in flat.max(axis=0)]
        self.accessors.append(accessor)
        return len(self.accessors) - 1


def _xyzw(q: np.ndarray) -> np.ndarray:
    """(w, x, y, z) → glTF's (x, y, z, w), normalised, float32."""
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return np.ascontiguousarray(q[..., [1, 2, 3, 0]], dtype=np.float32)


def _bone_boxes(motion: Motion) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A box around each bone (parent joint → child joint) in bind pose, metres.

    Returns positions [V, 3], joint index per vertex [V, 4] (u8), weights [V, 4] and triangle
    indices [I] (u16).
    """
    sk = motion.skeleton
    rest = sk.rest_positions_cm()
    corners = np.array([[x, y, z] for x in (0, 1) for y in (-1, 1) for z in (-1, 1)], float)
    faces = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                      [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    positions, joints, indices = [], [], []
    for child in range(1, sk.n_joints):
        parent = int(sk.parents[child])
        a, b = rest[parent], rest[child]
        axis = b - a
        length = np.linalg.norm(axis)
        if length < 1e-6:
            continue
        u = axis / length
        helper = np.array([0.0, 0.0, 1.0]) if abs(u[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
        v = np.cross(u, helper)
        v /= np.linalg.norm(v)
        w = np.cross(u, v)
        half = BONE_BOX_CM / 2
        box = a + corners[:, :1] * axis + corners[:, 1:2] * half * v + corners[:, 2:3] * half * w
        indices.append(faces + 8 * len(positions))
        positions.append(box)
        joints.append(np.full(8, parent))
    pos = np.concatenate(positions) / CM_PER_M
    joint = np.zeros((len(pos), 4), np.uint8)
    joint[:, 0] = np.concatenate(joints)
    weight = np.zeros((len(pos), 4), np.float32)
    weight[:, 0] = 1.0
    index = np.concatenate(indices).reshape(-1).astype(np.uint16)
    return pos.astype(np.float32), joint, weight, index


def gltf_document(motion: Motion, *, name: str = "Dance", skinned_mesh: bool = True
                  ) -> tuple[dict, bytes]:
    """The glTF JSON and binary buffer for ``motion``."""
    sk = motion.skeleton
    buf = _Buffer()
    nodes = []
    for j in range(sk.n_joints):
        children = [int(c) for c in np.flatnonzero(sk.parents == j)]
        node = {"name": sk.joint_names[j],
                "translation": [float(v) / CM_PER_M for v in sk.offsets_cm[j]],
                "rotation": [float(v) for v in _xyzw(motion.rotations[0, j].astype(np.float64))]}
        if j == 0:
            node["translation"] = [float(v) / CM_PER_M for v in motion.root_pos_cm[0]]
        if children:
            node["children"] = children
        nodes.append(node)
    times = (np.arange(motion.n_frames) / motion.fps).astype(np.float32)
    time_acc = buf.add(times, "SCALAR", with_bounds=True)
    samplers, channels = [], []
    root_acc = buf.add((motion.root_pos_cm / CM_PER_M).astype(np.float32), "VEC3")
    samplers.append({"input": time_acc, "output": root_acc, "interpolation": "LINEAR"})
    channels.append({"sampler": 0, "target": {"node": 0, "path": "translation"}})
    rotations = _xyzw(quat.make_continuous(motion.rotations.astype(np.float64), axis=0))
    for j in range(sk.n_joints):
        acc = buf.add(rotations[:, j], "VEC4")
        samplers.append({"input": time_acc, "output": acc, "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": j, "path": "rotation"}})
    scene_nodes = [0]
    doc: dict = {
        "asset": {"version": "2.0", "generator": f"Choreo Studio {__version__}"},
        "scene": 0,
        "nodes": nodes,
        "animations": [{"name": name, "samplers": samplers, "channels": channels}],
    }
    if skinned_mesh and sk.n_joints > 1:
        pos, joint, weight, index = _bone_boxes(motion)
        rest = sk.rest_positions_cm() / CM_PER_M
        inverse_bind = np.tile(np.eye(4, dtype=np.float32), (sk.n_joints, 1, 1))
        inverse_bind[:, :3, 3] = -rest  # bind pose: identity rotations at the rest offsets
        attributes = {
            "POSITION": buf.add(pos, "VEC3", target=ARRAY_BUFFER, with_bounds=True),
            "JOINTS_0": buf.add(joint, "VEC4", UNSIGNED_BYTE, target=ARRAY_BUFFER),
            "WEIGHTS_0": buf.add(weight, "VEC4", target=ARRAY_BUFFER),
        }
        indices = buf.add(index, "SCALAR", UNSIGNED_SHORT, target=ELEMENT_ARRAY_BUFFER)
        ibm = buf.add(inverse_bind.transpose(0, 2, 1).reshape(-1, 16), "MAT4")  # column-major
        doc["meshes"] = [{"name": "Bones", "primitives": [
            {"attributes": attributes, "indices": indices}]}]
        doc["skins"] = [{"joints": list(range(sk.n_joints)), "skeleton": 0,
                         "inverseBindMatrices": ibm}]
        nodes.append({"name": "BonesMesh", "mesh": 0, "skin": 0})
        scene_nodes.append(len(nodes) - 1)
    doc["scenes"] = [{"name": name, "nodes": scene_nodes}]
    while len(buf.data) % 4:
        buf.data.append(0)
    doc["accessors"] = buf.accessors
    doc["bufferViews"] = buf.views
    doc["buffers"] = [{"byteLength": len(buf.data)}]
    return doc, bytes(buf.data)


def glb_bytes(motion: Motion, *, name: str = "Dance", skinned_mesh: bool = True) -> bytes:
    """The .glb container (header, JSON chunk, BIN chunk) for ``motion``."""
    doc, binary = gltf_document(motion, name=name, skinned_mesh=skinned_mesh)
    text = json.dumps(doc, separators=(",", ":"), allow_nan=False).encode("utf-8")
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    return b"".join([
        struct.pack("<4sII", b"glTF", 2, total),
        struct.pack("<I4s", len(text), b"JSON"), text,
        struct.pack("<I4s", len(binary), b"BIN\0"), binary,
    ])


def write_glb(path: str | os.PathLike[str], motion: Motion, *, name: str = "Dance",
              skinned_mesh: bool = True) -> Path:
    """Atomically write ``motion`` as a binary glTF file."""
    return write_bytes_atomic(path, glb_bytes(motion, name=name, skinned_mesh=skinned_mesh))
