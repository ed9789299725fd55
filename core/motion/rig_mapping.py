"""Recognising a rig: which joint of a skeleton is which joint of the canonical humanoid.

By name first: a joint name is stripped of namespaces (``mixamorig7:``), rig prefixes
(``Bip01``, ``Character1_``) and suffixes (``_JNT``), split into words (camelCase, ``_``, ``.``,
spaces), its side read (``Left``/``Right``, ``L``/``R``, ``l``/``r`` prefixes, ``_L``/``.R``
suffixes) and its body part looked up in a table of the common schemes: CMU/Daz (``hip``,
``abdomen``, ``lShldr``, ``rThigh``), CMU 3ds Max style (``LHipJoint``, ``LeftHip``,
``LeftKnee``, ``LeftCollar``), Mixamo and HumanIK (``LeftUpLeg``, ``LeftForeArm``), Bandai
(``UpperArm_L``, ``LowerLeg_R``), ``_JNT`` rigs (``l_upperarm_JNT``), 3ds Max Biped (``Bip01 L
Thigh``, ``Bip01 L Calf``) and generic ``Left…``/``Right…`` names. Then by topology where names
fail or are ambiguous: the pelvis is the first joint with three or more children, a limb
joint missing between two recognised ones is the recognised child's parent (``LeftShoulder``
is the upper arm in CMU's files, where ``LeftCollar`` is the clavicle). An editable map
(``{"joint name": "Canonical"}``, ``null`` to unmap) overrides everything. A rig without the
required joints is refused with one line naming what is missing.
"""

from __future__ import annotations

import re

import numpy as np
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.motion.skeleton import Skeleton

SIDES = ("Left", "Right")
LIMB_PARTS = ("Shoulder", "Arm", "ForeArm", "Hand", "UpLeg", "Leg", "Foot", "ToeBase")
CANONICAL = ("Hips", "Spine", "Chest", "Neck", "Head") + tuple(
    s + p for s in SIDES for p in LIMB_PARTS
)
CANONICAL_PARENT = {
    "Spine": "Hips", "Chest": "Spine", "Neck": "Chest", "Head": "Neck",
    **{f"{s}Shoulder": "Chest" for s in SIDES}, **{f"{s}UpLeg": "Hips" for s in SIDES},
    **{f"{s}{p}": f"{s}{q}" for s in SIDES for q, p in zip(LIMB_PARTS, LIMB_PARTS[1:], strict=False)
       if p != "UpLeg"},
}
REQUIRED = ("Hips", "Head") + tuple(
    s + p for s in SIDES for p in ("Arm", "ForeArm", "Hand", "UpLeg", "Leg", "Foot")
)

_NOISE = {"jnt", "bip", "character", "mixamorig", "def", "bone", "bn", "jt", "mch",
          "org", "j", "b"}
# sided parts, most specific first (substring match on the joined words)
_SIDED = (
    (("hipjoint", "buttock", "pelvisside"), None),
    (("thumb", "index", "middle", "ring", "pinky", "finger", "carpal", "metacarpal"), None),
    (("collar", "clavicle", "clav"), "Shoulder"),
    (("forearm", "lowerarm", "elbow", "radius", "ulna", "lowarm"), "ForeArm"),
    (("upperarm", "uparm", "shldr", "humerus"), "Arm"),
    (("shoulder",), "Shoulder"),
    (("hand", "wrist", "palm"), "Hand"),
    (("upleg", "upperleg", "thigh", "femur"), "UpLeg"),
    (("lowerleg", "calf", "shin", "knee", "tibia"), "Leg"),
    (("toebase", "toes", "toe", "ball"), "ToeBase"),
    (("foot", "ankle", "heel"), "Foot"),
    (("arm",), "Arm"),
    (("hip",), "UpLeg"),
    (("leg",), "Leg"),
)
_CENTRE = (
    (("root", "world", "reference", "trajectory"), None),
    (("jaw", "eye", "nose", "ear", "tongue", "teeth"), None),
    (("hips", "hip", "pelvis"), "Hips"),
    (("neck",), "Neck"),
    (("head",), "Head"),
    (("spine", "abdomen", "lowerback", "upperback", "back", "chest", "torso", "waist",
      "belly"), "Spine"),
)
_END = re.compile(r"(end|nub|top|tip|site)$")
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def name_words(name: str) -> list[str]:
    """Lower-case words of a joint name without namespace and rig prefixes."""
    base = name.split(":")[-1].split("|")[-1]
    words = [w.lower() for w in _WORDS.findall(base)]
    return [w for w in words if not w.isdigit()]


def side_and_key(name: str) -> tuple[str | None, str]:
    """The side (``Left``/``Right``/None) and the joined body-part words of a joint name."""
    words = name_words(name)
    side = None
    rest = []
    for w in words:
        if side is None and w in ("left", "l"):
            side = "Left"
        elif side is None and w in ("right", "r"):
            side = "Right"
        elif w not in _NOISE:
            rest.append(w)
    key = "".join(rest)
    if side is None and len(rest) == 1 and len(key) > 3 and key[0] in "lr":
        tail = key[1:]
        if classify_key(tail, True) is not None or _is_extra(tail):
            side, key = ("Left" if key[0] == "l" else "Right"), tail
    return side, key


def _is_extra(key: str) -> bool:
    return any(w in key for w in _SIDED[0][0] + _SIDED[1][0])


def classify_key(key: str, sided: bool) -> str | None:
    """The body part of joined words (None: not a humanoid body joint)."""
    if not key or _END.search(key):
        return None
    for words, part in _SIDED if sided else _CENTRE:
        if any(w in key for w in words):
            return part
    return None


def _depths(skeleton: Skeleton) -> np.ndarray:
    depth = np.zeros(skeleton.n_joints, dtype=np.int64)
    for j in range(1, skeleton.n_joints):
        depth[j] = depth[skeleton.parents[j]] + 1
    return depth


def _by_name(skeleton: Skeleton) -> dict[str, list[int]]:
    """Candidate joints for each canonical slot (spine-like joints collected in one list)."""
    found: dict[str, list[int]] = {}
    for j, name in enumerate(skeleton.joint_names):
        side, key = side_and_key(name)
        part = classify_key(key, side is not None)
        if part is not None:
            found.setdefault((side or "") + part, []).append(j)
    return found


def _ancestors(skeleton: Skeleton, j: int) -> list[int]:
    out = []
    while j >= 0:
        out.append(j)
        j = int(skeleton.parents[j])
    return out


def map_rig(skeleton: Skeleton, overrides: dict[str, str | None] | None = None) -> dict[str, int]:
    """Canonical name -> joint index for ``skeleton`` (names, topology, then ``overrides``)."""
    depth = _depths(skeleton)
    found = _by_name(skeleton)
    mapping: dict[str, int] = {}
    for slot, joints in found.items():
        if slot != "Spine":
            mapping[slot] = min(joints, key=lambda j: depth[j])
    if "Hips" not in mapping:
        branching = [j for j in range(skeleton.n_joints) if len(skeleton.children(j)) >= 3]
        if branching:
            mapping["Hips"] = branching[0]
    _spine_chain(skeleton, found.get("Spine", []), mapping)
    _fill_limb_gaps(skeleton, mapping)
    for name, target in (overrides or {}).items():
        if name not in skeleton.joint_names:
            continue
        j = skeleton.joint_names.index(name)
        for k in [k for k, v in mapping.items() if v == j]:
            del mapping[k]
        if target:
            if target not in CANONICAL:
                raise ChoreoError(f"joint map: {target!r} is not a canonical joint — use one "
                                  f"of {', '.join(CANONICAL)}")
            mapping[target] = j
    return mapping


def _spine_chain(skeleton: Skeleton, spine: list[int], mapping: dict[str, int]) -> None:
    """Spine = lowest spine-like joint above the hips, Chest = highest (when distinct)."""
    hips = mapping.get("Hips")
    top = mapping.get("Neck", mapping.get("Head"))
    if hips is None:
        return
    if top is not None:
        chain = [j for j in _ancestors(skeleton, top) if j != top]
        chain = chain[: chain.index(hips)] if hips in chain else []
        chain = [j for j in chain if j in spine or j not in mapping.values()][::-1]
    else:
        chain = sorted(spine)
    if chain:
        mapping["Spine"] = chain[0]
        if len(chain) > 1:
            mapping["Chest"] = chain[-1]


def _fill_limb_gaps(skeleton: Skeleton, mapping: dict[str, int]) -> None:
    """A missing limb joint whose child is recognised is that child's parent (topology); a
    "shoulder" that turns out to be the upper arm (no clavicle) moves to ``Arm``."""
    for side in SIDES:
        for parent, child in (("Leg", "Foot"), ("UpLeg", "Leg"), ("ForeArm", "Hand"),
                              ("Arm", "ForeArm")):
            c = mapping.get(side + child)
            if c is None or side + parent in mapping:
                continue
            p = int(skeleton.parents[c])
            owner = [k for k, v in mapping.items() if v == p]
            if p >= 0 and (not owner or owner == [side + "Shoulder"]):
                for k in owner:
                    del mapping[k]
                mapping[side + parent] = p


def missing_joints(mapping: dict[str, int]) -> list[str]:
    """Required canonical joints the mapping lacks."""
    return [n for n in REQUIRED if n not in mapping]


def require_humanoid(skeleton: Skeleton, source: str,
                     overrides: dict[str, str | None] | None = None) -> dict[str, int]:
    """The mapping, or one ChoreoError naming the unmapped joints and how to map them."""
    mapping = map_rig(skeleton, overrides)
    missing = missing_joints(mapping)
    if missing:
        unused = [n for j, n in enumerate(skeleton.joint_names) if j not in mapping.values()]
        raise ChoreoError(
            f"{source}: not recognised as a humanoid — no joint for {', '.join(missing)} "
            f"(unmapped joints: {', '.join(unused[:8]) or 'none'}) — map them in "
            "rig_map.json beside it, e.g. {\"" + (unused[0] if unused else "Joint")
            + "\": \"" + missing[0] + "\"}"
        )
    return mapping
