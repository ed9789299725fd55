"""An independent reader of our .glb files for tests: chunks, accessors and node-matrix FK.

Written from the glTF 2.0 spec with plain 4x4 matrices (no project quaternion code), so a
test comparing its world positions with ``Motion.fk`` checks the exporter against the spec.
"""

from __future__ import annotations

import json
import struct

import numpy as np

WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}
DTYPE = {5126: np.float32, 5125: np.uint32, 5123: np.uint16, 5121: np.uint8}


def parse_glb(data: bytes) -> tuple[dict, bytes]:
    """The JSON document and BIN chunk of a .glb, checking the container's framing."""
    magic, version, length = struct.unpack_from("<4sII", data, 0)
    assert (magic, version, length) == (b"glTF", 2, len(data))
    json_len, json_type = struct.unpack_from("<I4s", data, 12)
    assert json_type == b"JSON" and json_len % 4 == 0
    doc = json.loads(data[20 : 20 + json_len])
    bin_len, bin_type = struct.unpack_from("<I4s", data, 20 + json_len)
    assert bin_type == b"BIN\0" and bin_len % 4 == 0
    binary = data[28 + json_len : 28 + json_len + bin_len]
    assert doc["buffers"][0]["byteLength"] == len(binary)
    return doc, binary


def accessor(doc: dict, binary: bytes, index: int) -> np.ndarray:
    """Accessor ``index`` as [count, width] (tightly packed views, as our exporter writes)."""
    acc = doc["accessors"][index]
    view = doc["bufferViews"][acc["bufferView"]]
    raw = binary[view["byteOffset"] : view["byteOffset"] + view["byteLength"]]
    return np.frombuffer(raw, DTYPE[acc["componentType"]]).reshape(acc["count"],
                                                                   WIDTH[acc["type"]])


def _matrix(t, r) -> np.ndarray:
    x, y, z, w = (float(v) for v in r)
    m = np.eye(4)
    m[:3, :3] = [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                 [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                 [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]
    m[:3, 3] = t
    return m


def world_positions(doc: dict, binary: bytes, animation: int, frames) -> dict[str, np.ndarray]:
    """Node name → world position [len(frames), 3] in cm at the animation's key ``frames``."""
    anim = doc["animations"][animation]
    nodes = doc["nodes"]
    tracks = {}
    for ch in anim["channels"]:
        sampler = anim["samplers"][ch["sampler"]]
        tracks[(ch["target"]["node"], ch["target"]["path"])] = accessor(doc, binary,
                                                                        sampler["output"])
    parent = {c: i for i, n in enumerate(nodes) for c in n.get("children", [])}
    out = {n["name"]: np.zeros((len(frames), 3)) for n in nodes}
    for k, f in enumerate(frames):
        cache: dict[int, np.ndarray] = {}

        def world(i: int, f: int = f, cache: dict = cache) -> np.ndarray:
            if i not in cache:
                node = nodes[i]
                t = tracks.get((i, "translation"), [node.get("translation", [0, 0, 0])] * (f + 1))
                r = tracks.get((i, "rotation"), [node.get("rotation", [0, 0, 0, 1])] * (f + 1))
                local = _matrix(t[f], r[f])
                cache[i] = world(parent[i]) @ local if i in parent else local
            return cache[i]

        for i, node in enumerate(nodes):
            out[node["name"]][k] = world(i)[:3, 3] * 100.0
    return out
