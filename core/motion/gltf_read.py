"""Reading skeletal animations from glTF 2.0 files (.glb / .gltf) into :class:`Motion`.

The skeleton is the first skin's joints (or, without a skin, the nodes the animations move and
their ancestors), in parent-first order; its offsets are the nodes' rest translations in
centimetres (glTF is metres, Y up, +Z forward: the project's own axes). Each animation is
sampled at its own key rate onto whole frames (LINEAR: slerp / lerp, STEP: hold,
CUBICSPLINE: its values, lerped). A floor-level root-motion node above the hips (the layout
engines and our own exports use) is folded into the hips, so the hips are the root joint.
Node scale is read as a uniform length factor; files that animate scale are read without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.skeleton import Skeleton

CM_PER_M = 100.0
DEFAULT_FPS = 30.0
MAX_FRAMES = 500_000
_COMPONENTS = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32,
               5126: np.float32}
_NORMALISED_SCALE = {5120: 127.0, 5121: 255.0, 5122: 32767.0, 5123: 65535.0}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


@dataclass(frozen=True)
class GltfClip:
    """One animation of a glTF file, as a motion on the file's skeleton."""

    name: str
    motion: Motion


class _File:
    """A loaded glTF document with accessor decoding (binary from the GLB chunk or buffers)."""

    def __init__(self, path: Path) -> None:
        import pygltflib

        self.path = path
        try:
            self.gltf = pygltflib.GLTF2().load(str(path))
        except Exception as exc:  # pygltflib raises many types for broken files
            raise ChoreoError(f"{path}: not a readable glTF file ({type(exc).__name__}) — "
                              "re-export it as glTF 2.0 (.glb or .gltf)") from None
        if self.gltf is None:
            raise ChoreoError(f"{path}: not a readable glTF file — re-export it as glTF 2.0")

    def error(self, what: str) -> ChoreoError:
        return ChoreoError(f"{self.path}: {what} — re-export it as glTF 2.0 with its skeleton "
                           "and animation")

    def accessor(self, index: int) -> np.ndarray:
        """The accessor's values as float64 [count, width]."""
        g = self.gltf
        try:
            acc = g.accessors[index]
            view = g.bufferViews[acc.bufferView]
            data = g.get_data_from_buffer_uri(g.buffers[view.buffer].uri) \
                if g.buffers[view.buffer].uri else g.binary_blob()
            dtype = np.dtype(_COMPONENTS[acc.componentType])
            width = _WIDTH[acc.type]
        except (IndexError, KeyError, TypeError, AttributeError):
            raise self.error(f"accessor {index} is missing or malformed") from None
        if data is None:
            raise self.error(f"accessor {index} has no data")
        stride = view.byteStride or dtype.itemsize * width
        start = (view.byteOffset or 0) + (acc.byteOffset or 0)
        need = start + stride * (acc.count - 1) + dtype.itemsize * width if acc.count else start
        if need > len(data) or acc.count > MAX_FRAMES * 4:
            raise self.error(f"accessor {index} runs past its buffer")
        rows = np.lib.stride_tricks.as_strided(
            np.frombuffer(data, dtype=np.uint8, count=len(data) - start, offset=start),
            shape=(acc.count, dtype.itemsize * width), strides=(stride, 1))
        values = np.ascontiguousarray(rows).view(dtype).reshape(acc.count, width)
        out = values.astype(np.float64)
        if acc.normalized and acc.componentType in _NORMALISED_SCALE:
            out = np.maximum(out / _NORMALISED_SCALE[acc.componentType], -1.0)
        if not np.all(np.isfinite(out)):
            raise self.error(f"accessor {index} holds values that are not finite")
        return out


def _parents(gltf) -> dict[int, int]:
    parents: dict[int, int] = {}
    for i, node in enumerate(gltf.nodes):
        for c in node.children or []:
            parents[int(c)] = i
    return parents


def _joint_nodes(f: _File) -> list[int]:
    """The skeleton's nodes, parent first: the first skin's joints or the animated nodes."""
    g = f.gltf
    parents = _parents(g)
    if g.skins:
        nodes = set(int(j) for j in g.skins[0].joints)
    else:
        nodes = {int(c.target.node) for a in g.animations for c in a.channels
                 if c.target.node is not None}
        for n in list(nodes):  # add the ancestors between animated nodes
            while n in parents and parents[n] not in nodes:
                n = parents[n]
                nodes.add(n)
    tops = [n for n in nodes if parents.get(n) not in nodes]
    if len(tops) != 1:
        raise f.error(f"the skeleton has {len(tops)} top joints, expected one")
    order, stack = [], [tops[0]]
    while stack:
        n = stack.pop()
        order.append(n)
        stack.extend(reversed([int(c) for c in g.nodes[n].children or [] if int(c) in nodes]))
    if len(order) != len(nodes):
        raise f.error("the skeleton's joints are not one hierarchy")
    return order


def _rest(node) -> tuple[np.ndarray, np.ndarray, float]:
    """Rest translation (m), rotation (w, x, y, z) and uniform scale of a node."""
    if node.matrix and any(v != m for v, m in zip(node.matrix, np.eye(4).T.reshape(-1),
                                                  strict=False)):
        m = np.asarray(node.matrix, dtype=np.float64).reshape(4, 4).T
        scale = float(np.cbrt(abs(np.linalg.det(m[:3, :3]))))
        return m[:3, 3].copy(), quat.from_matrix(m[:3, :3] / max(scale, 1e-12)), scale
    t = np.asarray(node.translation or [0.0, 0.0, 0.0], dtype=np.float64)
    r = np.asarray(node.rotation or [0.0, 0.0, 0.0, 1.0], dtype=np.float64)[[3, 0, 1, 2]]
    s = np.asarray(node.scale or [1.0, 1.0, 1.0], dtype=np.float64)
    return t, quat.normalize(r), float(np.cbrt(abs(np.prod(s))))


def _world_above(f: _File, node: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Translation, rotation and scale of the non-joint ancestors of ``node`` (identity if
    none)."""
    parents = _parents(f.gltf)
    chain = []
    while node in parents:
        node = parents[node]
        chain.append(node)
    t, r, s = np.zeros(3), quat.identity(), 1.0
    for n in reversed(chain):
        nt, nr, ns = _rest(f.gltf.nodes[n])
        t = t + s * quat.rotate(r, nt)
        r = quat.mul(r, nr)
        s *= ns
    return t, r, s


def _sample(times: np.ndarray, values: np.ndarray, interpolation: str, at: np.ndarray,
            rotation: bool) -> np.ndarray:
    """Values of one sampler at times ``at`` (rotations as (w, x, y, z))."""
    if interpolation == "CUBICSPLINE":
        values = values.reshape(len(times), 3, -1)[:, 1]
    if rotation:
        values = quat.make_continuous(quat.normalize(values[:, [3, 0, 1, 2]]), axis=0)
    if len(times) == 1:
        return np.repeat(values, len(at), axis=0)
    i1 = np.clip(np.searchsorted(times, at, side="right"), 1, len(times) - 1)
    i0 = i1 - 1
    span = np.maximum(times[i1] - times[i0], 1e-12)
    w = np.clip((at - times[i0]) / span, 0.0, 1.0)
    if interpolation == "STEP":
        w = (at >= times[i1]).astype(np.float64)
    if rotation:
        return quat.slerp(values[i0], values[i1], w)
    return (1.0 - w)[:, None] * values[i0] + w[:, None] * values[i1]


def _key_rate(times: list[np.ndarray]) -> float:
    """Frames per second of the animation's keys (whole numbers snapped; 30 for a pose)."""
    steps = np.concatenate([np.diff(t) for t in times if len(t) > 1] or [np.zeros(0)])
    steps = steps[steps > 1e-6]
    if steps.size == 0:
        return DEFAULT_FPS
    fps = 1.0 / float(np.median(steps))
    return float(round(fps)) if abs(fps - round(fps)) < 2e-3 * fps else fps


def _clip(f: _File, index: int, nodes: list[int], skeleton: Skeleton, rest_t: np.ndarray,
          rest_r: np.ndarray, scales: np.ndarray) -> GltfClip:
    """Animation ``index`` sampled on the skeleton (before folding a root-motion node)."""
    anim = f.gltf.animations[index]
    slot = {n: j for j, n in enumerate(nodes)}
    tracks: dict[tuple[int, str], tuple[np.ndarray, np.ndarray, str]] = {}
    for ch in anim.channels:
        if ch.target.node not in slot or ch.target.path not in ("translation", "rotation"):
            continue
        try:
            sampler = anim.samplers[ch.sampler]
        except (IndexError, TypeError):
            raise f.error(f"animation {index} names a missing sampler") from None
        times = f.accessor(sampler.input)[:, 0]
        values = f.accessor(sampler.output)
        if len(times) == 0 or np.any(np.diff(times) < 0):
            raise f.error(f"animation {index} has key times that do not increase")
        tracks[(slot[ch.target.node], ch.target.path)] = (times, values,
                                                          sampler.interpolation or "LINEAR")
    if not tracks:
        raise f.error(f"animation {index} moves none of the skeleton's joints")
    fps = _key_rate([t for t, _, _ in tracks.values()])
    start = min(float(t[0]) for t, _, _ in tracks.values())
    end = max(float(t[-1]) for t, _, _ in tracks.values())
    n = int(round((end - start) * fps)) + 1
    if n > MAX_FRAMES:
        raise f.error(f"animation {index} is {n} frames long, more than {MAX_FRAMES}")
    at = start + np.arange(n) / fps
    j = len(nodes)
    rot = np.broadcast_to(rest_r, (n, j, 4)).copy()
    trans = np.broadcast_to(rest_t, (n, j, 3)).copy()
    for (joint, path), (times, values, interp) in tracks.items():
        if path == "rotation":
            rot[:, joint] = _sample(times, values, interp, at, True)
        else:
            trans[:, joint] = _sample(times, values, interp, at, False) * scales[joint]
    moved = bool(np.abs(trans[:, 1:] - rest_t[1:]).max(initial=0.0) > 1e-7)
    motion = Motion(skeleton, fps, quat.normalize(rot), trans[:, 0] * CM_PER_M,
                    trans * CM_PER_M if moved else None)
    return GltfClip(anim.name or f"animation {index}", motion)


def _fold_root(clip: GltfClip) -> GltfClip:
    """A floor-level root joint (within 1 cm of the floor) with one child standing above it
    (the hips), folded into that child: the hips become the root joint, world motion unchanged."""
    m = clip.motion
    sk = m.skeleton
    children = sk.children(0)
    if (children != [1] or np.abs(m.root_pos_cm[:, 1]).max() > 1.0
            or sk.rest_positions_cm()[1, 1] < 10.0):
        return clip
    g_rot, g_pos = m.global_transforms()
    keep = np.arange(1, sk.n_joints)
    parents = np.where(sk.parents[keep] <= 0, -1, sk.parents[keep] - 1)
    parents[0] = -1
    ends = {k - 1: v for k, v in sk.end_sites_cm.items() if k > 0}
    rest_world = sk.rest_positions_cm()[1]
    offsets = sk.offsets_cm[keep].copy()
    offsets[0] = rest_world
    skeleton = Skeleton([sk.joint_names[k] for k in keep], parents, offsets, ends)
    rot = m.rotations[:, keep].astype(np.float64).copy()
    rot[:, 0] = g_rot[:, 1]
    local = m._translations()[:, keep]  # noqa: SLF001
    inner_moves = np.ptp(local[:, 1:], axis=0).max(initial=0.0) > 1e-4
    local[:, 0] = g_pos[:, 1]
    motion = Motion(skeleton, m.fps, quat.normalize(rot), g_pos[:, 1],
                    local if inner_moves else None)
    return GltfClip(clip.name, motion)


def read_gltf_clips(path: str | Path) -> list[GltfClip]:
    """Every animation of a .glb / .gltf file as a motion (cm, Y up) on its skeleton."""
    path = Path(path)
    if not path.is_file():
        raise ChoreoError(f"{path}: no such file — check the path")
    f = _File(path)
    if not f.gltf.animations:
        raise f.error("it holds no animation")
    nodes = _joint_nodes(f)
    rests = [_rest(f.gltf.nodes[n]) for n in nodes]
    above_t, above_r, above_s = _world_above(f, nodes[0])
    slot = {n: j for j, n in enumerate(nodes)}
    parents = _parents(f.gltf)
    scales = np.ones(len(nodes))  # metres per unit of the joint's parent frame (root: local)
    cumulative = np.ones(len(nodes))
    for j, n in enumerate(nodes):
        parent = slot.get(parents.get(n, -1))
        scales[j] = 1.0 if parent is None else cumulative[parent]
        cumulative[j] = (above_s if parent is None else cumulative[parent]) * rests[j][2]
    rest_t = np.array([r[0] for r in rests]) * scales[:, None]
    rest_r = np.array([r[1] for r in rests])
    names = [f.gltf.nodes[n].name or f"joint{j}" for j, n in enumerate(nodes)]
    if len(set(names)) != len(names):
        names = [f"{name}_{j}" for j, name in enumerate(names)]
    parent_index = [-1] + [slot[parents[n]] for n in nodes[1:]]
    offsets = rest_t.copy()
    offsets[0] = above_t + above_s * quat.rotate(above_r, rest_t[0])
    skeleton = Skeleton(names, parent_index, offsets * CM_PER_M)
    clips = []
    for i in range(len(f.gltf.animations)):
        clip = _clip(f, i, nodes, skeleton, rest_t, rest_r, scales)
        m = clip.motion  # the top joint is still in its parent's frame: put it in the world
        root = above_t * CM_PER_M + above_s * quat.rotate(above_r, m.root_pos_cm.astype(float))
        rot = m.rotations.astype(np.float64).copy()
        rot[:, 0] = quat.mul(above_r, rot[:, 0])
        local = None if m.local_pos_cm is None else m.local_pos_cm.astype(np.float64)
        if local is not None:
            local[:, 0] = root
        clips.append(_fold_root(GltfClip(clip.name, Motion(skeleton, m.fps, rot, root, local))))
    return clips


def read_gltf(path: str | Path) -> Motion:
    """The first animation of a glTF file as a motion (see :func:`read_gltf_clips`)."""
    return read_gltf_clips(path)[0].motion
