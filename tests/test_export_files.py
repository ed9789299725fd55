"""Exports: .glb is structurally valid glTF 2.0 whose animation decodes back to the motion
(and Khronos-validator clean when node + gltf-validator are available), BVH round trip, CSV."""

import csv
import io
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from choreo_studio.core.choreography.placements import Choreography, Placement, ScoreParts
from choreo_studio.core.choreography.render import render
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.export.bvh_file import write_performance_bvh
from choreo_studio.core.export.csv_table import COLUMNS, timeline_csv_text
from choreo_studio.core.export.gltf import glb_bytes, write_glb
from choreo_studio.core.export.timeline import timeline_to_dict
from choreo_studio.core.motion.bvh import read_bvh
from engine_synthetic import click_song, library
from gltf_fk import accessor, parse_glb, world_positions


@pytest.fixture(scope="module")
def performance():
    analysis, phrases = click_song([2, 3])
    lib = library(2)
    choreo = Choreography([Placement(0, "d0", locked=True),
                           Placement(1, "d1", beats_per_count=0.5)])
    return analysis, phrases, lib, choreo, render(choreo, analysis, phrases, lib, fps=30)


@pytest.mark.parametrize("skinned", [True, False])
def test_glb_structure_and_animation_round_trip(performance, skinned):
    *_, motion = performance
    doc, binary = parse_glb(glb_bytes(motion, skinned_mesh=skinned))
    assert doc["asset"]["version"] == "2.0"
    n_joints = motion.skeleton.n_joints
    assert [n["name"] for n in doc["nodes"][:n_joints]] == motion.skeleton.joint_names
    anim = doc["animations"][0]
    assert len(anim["channels"]) == n_joints + 3  # rotations, hips and root-bone translation
    times = accessor(doc, binary, anim["samplers"][0]["input"])[:, 0]
    np.testing.assert_allclose(times, np.arange(motion.n_frames) / 30.0, atol=1e-5)
    frames = [0, 40, 150, 300, motion.n_frames - 1]
    world = world_positions(doc, binary, 0, frames)
    fk = motion.fk()[frames]
    for j, name in enumerate(motion.skeleton.joint_names):
        np.testing.assert_allclose(world[name], fk[:, j], atol=1e-3)
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


@pytest.mark.parametrize("unit", ["cm", "m"])
def test_bvh_export_reads_back(performance, tmp_path, unit):
    *_, motion = performance
    back = read_bvh(write_performance_bvh(tmp_path / "dance.bvh", motion, unit=unit), unit=unit)
    assert back.n_frames == motion.n_frames and back.fps == 30.0
    np.testing.assert_allclose(back.fk(), motion.fk(), atol=0.05)


@pytest.mark.parametrize("fps", [24.0, 30.0, 60.0, 120.0])
def test_bvh_frame_time_reads_as_the_exact_rate(performance, tmp_path, fps):
    *_, motion = performance
    text = write_performance_bvh(tmp_path / "dance.bvh", motion.resample(fps)).read_text()
    frame_time = next(line for line in text.splitlines() if line.startswith("Frame Time:"))
    assert 1.0 / float(frame_time.split(":")[1]) == fps  # what Blender shows as the scene rate


def test_bvh_in_metres_is_a_human_height(performance, tmp_path):
    *_, motion = performance
    text = write_performance_bvh(tmp_path / "dance.bvh", motion, unit="m").read_text()
    offsets = [line.split()[1:] for line in text.splitlines() if "OFFSET" in line]
    assert float(offsets[0][1]) == pytest.approx(0.95)  # hips 95 cm above the floor
    with pytest.raises(ChoreoError, match="unit 'mm'"):
        write_performance_bvh(tmp_path / "x.bvh", motion, unit="mm")


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
