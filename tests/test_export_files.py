"""Exports: .glb is structurally valid glTF 2.0 whose animation decodes back to the motion
(and Khronos-validator clean when node + gltf-validator are available), BVH round trip, CSV."""

import csv
import io
import json
import os
import shutil
import struct
import subprocess

import numpy as np
import pytest
from choreo_studio.core.choreography.placements import Choreography, Placement, ScoreParts
from choreo_studio.core.choreography.render import render
from choreo_studio.core.export.bvh_file import write_performance_bvh
from choreo_studio.core.export.csv_table import COLUMNS, timeline_csv_text
from choreo_studio.core.export.gltf import glb_bytes, write_glb
from choreo_studio.core.export.timeline import timeline_to_dict
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.bvh import read_bvh
from engine_synthetic import click_song, library


@pytest.fixture(scope="module")
def performance():
    analysis, phrases = click_song([2, 3])
    lib = library(2)
    choreo = Choreography([Placement(0, "d0", locked=True),
                           Placement(1, "d1", beats_per_count=0.5)])
    return analysis, phrases, lib, choreo, render(choreo, analysis, phrases, lib, fps=30)


def _parse_glb(data):
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


def _read_accessor(doc, binary, index):
    acc = doc["accessors"][index]
    view = doc["bufferViews"][acc["bufferView"]]
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}[acc["type"]]
    dtype = {5126: np.float32, 5123: np.uint16, 5121: np.uint8}[acc["componentType"]]
    raw = binary[view["byteOffset"] : view["byteOffset"] + view["byteLength"]]
    return np.frombuffer(raw, dtype).reshape(acc["count"], width)


@pytest.mark.parametrize("skinned", [True, False])
def test_glb_structure_and_animation_round_trip(performance, skinned):
    *_, motion = performance
    doc, binary = _parse_glb(glb_bytes(motion, skinned_mesh=skinned))
    assert doc["asset"]["version"] == "2.0"
    n_joints = motion.skeleton.n_joints
    assert [n["name"] for n in doc["nodes"][:n_joints]] == motion.skeleton.joint_names
    anim = doc["animations"][0]
    assert len(anim["channels"]) == n_joints + 1
    times = _read_accessor(doc, binary, anim["samplers"][0]["input"])[:, 0]
    np.testing.assert_allclose(times, np.arange(motion.n_frames) / 30.0, atol=1e-5)
    root = _read_accessor(doc, binary, anim["samplers"][0]["output"])
    np.testing.assert_allclose(root * 100.0, motion.root_pos_cm, atol=1e-3)
    for channel in anim["channels"][1:]:
        j = channel["target"]["node"]
        xyzw = _read_accessor(doc, binary, anim["samplers"][channel["sampler"]]["output"])
        wxyz = xyzw[:, [3, 0, 1, 2]].astype(np.float64)
        angle = quat.angle_between(wxyz, motion.rotations[:, j].astype(np.float64))
        assert angle.max() < 1e-3
    assert ("skins" in doc) == skinned


def _validator_command():
    folder = os.environ.get("CHOREO_GLTF_VALIDATOR")  # a folder whose node_modules has it
    if not folder or not shutil.which("node"):
        return None
    return folder


def test_glb_passes_the_khronos_validator(performance, tmp_path):
    folder = _validator_command()
    if folder is None:
        pytest.skip("set CHOREO_GLTF_VALIDATOR to a folder with `npm install gltf-validator`")
    *_, motion = performance
    path = write_glb(tmp_path / "dance.glb", motion)
    script = (
        "const v=require('gltf-validator');const fs=require('fs');"
        "v.validateBytes(new Uint8Array(fs.readFileSync(process.argv[1])))"
        ".then(r=>{console.log(JSON.stringify(r.issues));process.exit(0)})"
        ".catch(e=>{console.error(e);process.exit(2)});"
    )
    out = subprocess.run(["node", "-e", script, str(path)], cwd=folder, capture_output=True,
                         text=True, timeout=60, check=True)
    issues = json.loads(out.stdout)
    assert issues["numErrors"] == 0 and issues["numWarnings"] == 0, issues["messages"]


def test_bvh_export_reads_back(performance, tmp_path):
    *_, motion = performance
    back = read_bvh(write_performance_bvh(tmp_path / "dance.bvh", motion))
    assert back.n_frames == motion.n_frames and back.fps == pytest.approx(30.0)
    np.testing.assert_allclose(back.fk(), motion.fk(), atol=0.05)


def test_csv_has_one_row_per_phrase(performance):
    analysis, phrases, lib, choreo, _ = performance
    parts = [ScoreParts(), ScoreParts(0.25, 0.5, None)]
    rows = list(csv.DictReader(io.StringIO(timeline_csv_text(
        timeline_to_dict(choreo, analysis, phrases, lib, parts=parts)))))
    assert tuple(rows[0]) == COLUMNS
    assert [r["dance_id"] for r in rows] == ["d0", "d1"]
    assert rows[0]["locked"] == "yes" and rows[1]["locked"] == "no"
    assert rows[1]["music_fit"] == "0.25" and rows[0]["music_fit"] == ""
    assert rows[1]["transition_in"] == "0.5"
    assert rows[1]["beats_per_count"] == "0.5" and rows[1]["beats_per_count_auto"] == "no"
    assert rows[0]["beats_per_count_auto"] == "yes"
    assert float(rows[1]["start_s"]) == pytest.approx(phrases[1].start_s, abs=1e-4)
