"""The skeleton a motion is defined on: joint names, parent indices and rest offsets (cm, Y-up).

Joints are stored so that every parent comes before its children (index order is a valid
FK order). Left/right pairs for mirroring are found from the joint names, so CMU
(``LHipJoint``, ``lhumerus``), Mixamo (``mixamorig:LeftArm``), 3ds Max (``Bip01 L Thigh``) and
Blender (``hand.L``) naming all work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from choreo_studio.core.errors import ChoreoError


@dataclass
class Skeleton:
    """A joint hierarchy with rest offsets in centimetres.

    ``parents[j]`` is the parent index of joint ``j`` (-1 for the root, which must be joint 0);
    ``offsets_cm[j]`` is the rest translation of joint ``j`` in its parent's frame (for the
    root: its rest position in the world). ``end_sites_cm`` maps a joint index to the offset of
    its BVH ``End Site`` (tip of head, fingers, toes), which drawing and export keep.
    """

    joint_names: list[str]
    parents: np.ndarray
    offsets_cm: np.ndarray
    end_sites_cm: dict[int, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.joint_names = [str(n) for n in self.joint_names]
        self.parents = np.asarray(self.parents, dtype=np.int64).reshape(-1)
        self.offsets_cm = np.asarray(self.offsets_cm, dtype=np.float64).reshape(-1, 3)
        self.end_sites_cm = {
            int(k): np.asarray(v, dtype=np.float64).reshape(3) for k, v in self.end_sites_cm.items()
        }
        n = len(self.joint_names)
        if n == 0:
            raise ChoreoError("skeleton: no joints — a skeleton needs at least a root joint")
        if self.parents.shape != (n,) or self.offsets_cm.shape != (n, 3):
            raise ChoreoError(
                f"skeleton: {n} joint names but {self.parents.shape[0]} parents and "
                f"{self.offsets_cm.shape[0]} offsets — the three lists must have the same length"
            )
        if self.parents[0] != -1 or np.any(self.parents[1:] < 0):
            raise ChoreoError("skeleton: joint 0 must be the only root (parent -1)")
        if np.any(self.parents[1:] >= np.arange(1, n)):
            raise ChoreoError("skeleton: every joint's parent must come before it in the list")
        if len(set(self.joint_names)) != n:
            raise ChoreoError("skeleton: joint names must be unique")

    @property
    def n_joints(self) -> int:
        """Number of joints J."""
        return len(self.joint_names)

    def index(self, name: str) -> int:
        """Index of the joint called ``name`` (ChoreoError if there is none)."""
        try:
            return self.joint_names.index(name)
        except ValueError:
            raise ChoreoError(f"skeleton: no joint named {name!r}") from None

    def children(self, joint: int) -> list[int]:
        """Indices of the direct children of ``joint``."""
        return [int(c) for c in np.nonzero(self.parents == joint)[0]]

    def rest_positions_cm(self) -> np.ndarray:
        """World positions ``[J, 3]`` of the joints in the rest pose."""
        pos = np.zeros((self.n_joints, 3))
        pos[0] = self.offsets_cm[0]
        for j in range(1, self.n_joints):
            pos[j] = pos[self.parents[j]] + self.offsets_cm[j]
        return pos

    def height_cm(self) -> float:
        """Vertical extent of the rest pose including end sites (a standing height estimate)."""
        pos = self.rest_positions_cm()
        ends = [pos[j] + off for j, off in self.end_sites_cm.items()]
        ys = np.concatenate([pos[:, 1], [e[1] for e in ends]]) if ends else pos[:, 1]
        return float(ys.max() - ys.min())

    def mirror_indices(self) -> np.ndarray:
        """Permutation mapping each joint to its left/right counterpart (itself if unpaired)."""
        names = self.joint_names
        lookup = {n: i for i, n in enumerate(names)}
        perm = np.arange(self.n_joints)
        for i, name in enumerate(names):
            for cand in _counterpart_names(name):
                j = lookup.get(cand)
                if j is not None and j != i:
                    perm[i] = j
                    break
        if np.any(perm[perm] != np.arange(self.n_joints)):
            raise ChoreoError("skeleton: left/right joint names do not pair up one-to-one")
        return perm

    def scaled(self, factor: float) -> Skeleton:
        """The same hierarchy with all offsets multiplied by ``factor`` (unit conversion)."""
        return Skeleton(
            list(self.joint_names),
            self.parents.copy(),
            self.offsets_cm * factor,
            {k: v * factor for k, v in self.end_sites_cm.items()},
        )

    def same_hierarchy(self, other: Skeleton) -> bool:
        """True when names and parents match (offsets may differ slightly)."""
        return self.joint_names == other.joint_names and np.array_equal(
            self.parents, other.parents
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (names, parents, offsets, end sites)."""
        return {
            "joint_names": list(self.joint_names),
            "parents": [int(p) for p in self.parents],
            "offsets_cm": [[float(v) for v in row] for row in self.offsets_cm],
            "end_sites_cm": {
                self.joint_names[k]: [float(v) for v in off]
                for k, off in sorted(self.end_sites_cm.items())
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Skeleton:
        """Inverse of :meth:`to_dict` (ChoreoError on missing keys)."""
        try:
            names = list(data["joint_names"])
            ends = {names.index(k): v for k, v in data.get("end_sites_cm", {}).items()}
            return cls(names, data["parents"], data["offsets_cm"], ends)
        except (KeyError, ValueError, TypeError) as exc:
            raise ChoreoError(f"skeleton description is incomplete or malformed ({exc})") from None


_SIDE_WORDS = (("Left", "Right"), ("left", "right"), ("LEFT", "RIGHT"))
_SIDE_TOKEN = re.compile(r"(?<![A-Za-z])([LlRr])(?![a-z])")
_SWAP = {"L": "R", "R": "L", "l": "r", "r": "l"}


def _counterpart_names(name: str) -> list[str]:
    """Candidate names of the mirror joint of ``name``, most specific first."""
    cands: list[str] = []
    for a, b in _SIDE_WORDS:
        if a in name:
            cands.append(name.replace(a, b))
        if b in name:
            cands.append(name.replace(b, a))
    for m in _SIDE_TOKEN.finditer(name):
        s = m.start(1)
        cands.append(name[:s] + _SWAP[name[s]] + name[s + 1 :])
    base = name.split(":")[-1]
    prefix = name[: len(name) - len(base)]
    if base and base[0] in _SWAP:
        cands.append(prefix + _SWAP[base[0]] + base[1:])
    if base and base[-1] in _SWAP:
        cands.append(prefix + base[:-1] + _SWAP[base[-1]])
    return cands
