"""Fuzz targets and hypothesis strategies shared by tests/test_fuzz_loaders.py (a few seconds per
loader in CI) and benchmarks/fuzz_loaders.py (the long run).

Each target feeds one hostile input to a loader; the property is that it returns a value or
raises a one-line ChoreoError, never any other exception.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from choreo_studio.core.errors import ChoreoError
from hypothesis import strategies as st

EVIL_TOKENS = ["nan", "NaN", "inf", "-inf", "1e308", "-1e308", "1e309", "0", "-0", "1e-9", "abc",
               "{", "}", "", "9" * 30, "JOINT", "End", "Site", "CHANNELS", "7", "ROOT", "MOTION",
               "Frames:", "Frame Time:", "OFFSET", "\t", "é", "\x00", "-1", "3.5", "[", "]", ":"]
EVIL_JSON: list[Any] = [None, True, False, 0, -1, 1, 10**20, 1e308, -1e308, 0.0, 0.5, "", "x",
                        "ten", "no", "a" * 5000, [], {}, [[[[[]]]]], {"a": {"b": {}}}, [1, "x"]]


def expect_value_or_choreo_error(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn``; a ChoreoError must be one line; any other exception fails the property."""
    try:
        return fn(*args)
    except ChoreoError as exc:
        assert "\n" not in str(exc), f"ChoreoError over several lines: {str(exc)[:300]!r}"
        return exc


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Arbitrary JSON values, biased towards the ones that break typed readers."""
    leaves = (st.sampled_from(EVIL_JSON) | st.none() | st.booleans() | st.integers()
              | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                        max_leaves=max_leaves)


def _slots(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) position of a JSON document, found without recursion."""
    slots: list[tuple[Any, Any]] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            slots.append((node, key))
            if isinstance(value, (dict, list)):
                stack.append(value)
    return slots


@st.composite
def mutated_json(draw: st.DrawFn, base: Any, max_edits: int = 3) -> Any:
    """``base`` with 1..max_edits fields replaced by hostile values or removed."""
    doc = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, max_edits))):
        slots = _slots(doc)
        if not slots:
            break
        node, key = slots[draw(st.integers(0, len(slots) - 1))]
        if isinstance(node, dict) and draw(st.booleans()) and draw(st.booleans()):
            del node[key]
        else:
            node[key] = json.loads(json.dumps(draw(json_values())))  # never share EVIL_JSON
    return doc


@st.composite
def mutated_text(draw: st.DrawFn, base: str, max_edits: int = 4) -> str:
    """``base`` with lines deleted, duplicated, inserted, tokens replaced or the text cut."""
    lines = base.split("\n")
    for _ in range(draw(st.integers(1, max_edits))):
        op = draw(st.sampled_from(["delete", "duplicate", "token", "insert", "cut", "extend"]))
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        if not lines:
            lines = [""]
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "token":
            parts = lines[i].split() or [""]
            parts[draw(st.integers(0, len(parts) - 1))] = draw(
                st.sampled_from(EVIL_TOKENS) | st.text(max_size=6))
            lines[i] = " ".join(parts)
        elif op == "insert":
            lines.insert(i, " ".join(draw(st.lists(st.sampled_from(EVIL_TOKENS), max_size=5))))
        elif op == "extend":
            lines[i] += " " + " ".join(draw(st.lists(st.sampled_from(["0", "1.5", "nan"]),
                                                     min_size=1, max_size=4)))
        else:
            lines = "\n".join(lines)[: draw(st.integers(0, len(base)))].split("\n")
    return "\n".join(lines)


# ---- the BVH reader -------------------------------------------------------------------------

BASE_BVH = (
    "HIERARCHY\nROOT Hips\n{\n\tOFFSET 0 0 0\n\tCHANNELS 6 Xposition Yposition Zposition "
    "Zrotation Xrotation Yrotation\n\tJOINT Chest\n\t{\n\t\tOFFSET 0 10 0\n\t\tCHANNELS 3 "
    "Zrotation Xrotation Yrotation\n\t\tJOINT Head\n\t\t{\n\t\t\tOFFSET 0 8 0\n\t\t\tCHANNELS 3 "
    "Zrotation Xrotation Yrotation\n\t\t\tEnd Site\n\t\t\t{\n\t\t\t\tOFFSET 0 4 0\n\t\t\t}\n"
    "\t\t}\n\t}\n}\nMOTION\nFrames: 4\nFrame Time: 0.0333333\n"
    + "\n".join(" ".join(str(v) for v in [i, 90, 0, 0, 10 * i, 0, 5, 0, 0, 0, 0, 3 * i])
                for i in range(4))
    + "\n"
)


def fuzz_bvh(text: str) -> Any:
    """Parse BVH text (the whole reader: hierarchy, motion block, channels to quaternions)."""
    from choreo_studio.core.motion.bvh import parse_bvh

    result = expect_value_or_choreo_error(parse_bvh, text, "fuzz.bvh")
    if not isinstance(result, ChoreoError):
        motion = result.motion
        assert np.isfinite(motion.rotations).all() and np.isfinite(motion.root_pos_cm).all()
    return result


# ---- projects ---------------------------------------------------------------------------------

BASE_PROJECT: dict[str, Any] = {
    "format_version": 1, "kind": "choreo-project", "generator": "choreo-studio fuzz",
    "song": {"path": "song.wav", "absolute_path": "/song.wav", "hash": "abc"},
    "analysis": None,
    "segmentation": {},
    "phrases": [[0, 8], [8, 16]],
    "choreography": {"scorer": "descriptor", "decoder": "viterbi", "notes": {},
                     "placements": [{"dance_id": "d0", "locked": True, "mirror": False,
                                     "blend_s": 0.3},
                                    {"dance_id": "d1", "locked": False, "mirror": True,
                                     "blend_s": 0.2}]},
    "library": {"name": "demo", "fingerprint": "fp", "path": ""},
    "model": {"scorer": "descriptor", "path": ""},
    "settings": {"top_k": 10, "project_path": ""},
}


def fuzz_project(doc: Any, folder: Path) -> Any:
    """Write ``doc`` as a .choreo file and read it back (the editor's project loading)."""
    from choreo_studio.core.project.project_file import read_project

    path = folder / "fuzz.choreo"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return expect_value_or_choreo_error(read_project, path)


# ---- timelines --------------------------------------------------------------------------------

def base_timeline() -> dict[str, Any]:
    """A valid timeline JSON object (three phrases, two dances)."""
    from choreo_studio.core.choreography.placements import Choreography, Placement
    from choreo_studio.core.export.timeline import timeline_to_dict

    analysis = SimpleNamespace(song_hash="abc", duration_s=16.0, tempo_bpm=120.0,
                               beats_per_bar=4, beats_s=np.arange(32) * 0.5,
                               downbeats=np.arange(0, 32, 4))
    phrases = [SimpleNamespace(index=i, start_beat=a, end_beat=b, start_s=a / 2, end_s=b / 2,
                               n_bars=(b - a) // 4, section_label="AB"[i % 2])
               for i, (a, b) in enumerate([(0, 16), (16, 24), (24, 32)])]
    dances = [SimpleNamespace(id="d0", name="Wave", n_counts=8, bpm=118.0),
              SimpleNamespace(id="d1", name="Step", n_counts=16, bpm=62.0)]
    library = SimpleNamespace(name="demo", fingerprint="fp", phrases=dances)
    choreography = Choreography([Placement(0, "d0"), Placement(1, "d1"), Placement(2, "d0")],
                                scorer="descriptor", decoder="viterbi")
    return timeline_to_dict(choreography, analysis, phrases, library, fps=30.0, song_name="s")


def fuzz_timeline(doc: Any, folder: Path) -> Any:
    """Write ``doc`` as timeline.json and read it back (what ``choreo eval`` does)."""
    from choreo_studio.core.export.timeline import read_timeline

    path = folder / "timeline.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return expect_value_or_choreo_error(read_timeline, path)


# ---- model bundles ----------------------------------------------------------------------------

def make_bundle_folder(folder: Path) -> Path:
    """A small valid bundle (tiny preset, K=4) to mutate."""
    import torch
    from choreo_studio.core.retrieval.model_bundle import make_bundle, save_bundle
    from choreo_studio.core.retrieval.networks import RetrievalNetwork
    from choreo_studio.core.retrieval.presets import get_preset

    preset = get_preset("tiny")
    torch.manual_seed(0)
    library = SimpleNamespace(name="demo", fingerprint="fp",
                              phrases=[SimpleNamespace(id=f"d{i}") for i in range(4)])
    bundle = make_bundle(RetrievalNetwork(preset.network, 4), preset, np.full((4, 4), 0.25),
                         library)
    return save_bundle(bundle, folder / "base.choreomodel")


def fuzz_bundle(config: Any, base: Path, folder: Path) -> Any:
    """A bundle with ``config`` as model.json and the base weights; load it and build E + T."""
    from choreo_studio.core.retrieval.model_bundle import load_bundle
    from choreo_studio.core.retrieval.model_files import CONFIG_NAME, WEIGHTS_NAME

    target = folder / "fuzz.choreomodel"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    (target / WEIGHTS_NAME).symlink_to(base / WEIGHTS_NAME)
    (target / CONFIG_NAME).write_text(json.dumps(config), encoding="utf-8")
    bundle = expect_value_or_choreo_error(load_bundle, target)
    if isinstance(bundle, ChoreoError):
        return bundle
    return expect_value_or_choreo_error(bundle.build_network)


# ---- BVH sidecars -----------------------------------------------------------------------------

BASE_SIDECAR: dict[str, Any] = {"style": "jazz", "energy": 2, "bpm": 120.0, "first_beat_s": 0.0,
                                "cut": True, "n_counts": 2, "name": "clip", "tags": ["a"],
                                "unit": "cm", "up": "y"}


def fuzz_sidecar(sidecar: Any, folder: Path) -> Any:
    """Import a folder of one clip whose sidecar JSON is ``sidecar``."""
    from choreo_studio.core.library.importing import ImportOptions, import_folder

    (folder / "clip.bvh").write_text(SIDECAR_CLIP, encoding="utf-8")
    (folder / "clip.json").write_text(json.dumps(sidecar), encoding="utf-8")
    return expect_value_or_choreo_error(import_folder, folder, "fuzz",
                                        ImportOptions(bpm=120.0, unit="cm"))


def _sidecar_clip() -> str:
    """A 2-second BVH clip (60 frames at 30 fps) in the shape of BASE_BVH."""
    head = BASE_BVH.split("MOTION")[0]
    rows = "\n".join(" ".join(str(v) for v in [0, 90, 0, 0, 3 * i, 0, 5, 0, 0, 0, 0, i])
                     for i in range(60))
    return f"{head}MOTION\nFrames: 60\nFrame Time: 0.0333333\n{rows}\n"


SIDECAR_CLIP = _sidecar_clip()


# ---- any JSON file ----------------------------------------------------------------------------

def fuzz_json_bytes(data: bytes) -> Any:
    """The bounded JSON reader on arbitrary bytes."""
    from choreo_studio.core.json_files import Where, parse_json_bytes

    return expect_value_or_choreo_error(parse_json_bytes, data, Where("fuzz.json"))


def scratch_folder() -> Path:
    """A fresh temporary folder (hypothesis examples cannot use pytest's per-test tmp_path)."""
    return Path(tempfile.mkdtemp(prefix="choreo-fuzz-"))
