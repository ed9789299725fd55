"""glTF export: bind pose in the nodes, animation in the channels (FK equal to ours through an
independent matrix FK), the floor-level root bone, the mesh over head/hands/feet, named clips,
the Khronos validator, and reading glTF animations back (library import's reader)."""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from choreo_studio.core.export.gltf import (
    GltfAnimation,
    bone_boxes,
    glb_bytes,
    root_motion_split,
    write_clips_glb,
    write_glb,
)
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.gltf_read import read_gltf_clips
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.skeleton import Skeleton
from gltf_fk import accessor, parse_glb, world_positions


def _dancer() -> Skeleton:
    names = ["Hips", "Spine", "Head", "LeftArm", "LeftHand", "RightArm", "RightHand",
             "LeftUpLeg", "LeftFoot", "RightUpLeg", "RightFoot"]
    parents = [-1, 0, 1, 1, 3, 1, 5, 0, 7, 0, 9]
    offsets = [[0, 95, 0], [0, 40, 0], [0, 20, 0], [15, 15, 0], [50, 0, 0], [-15, 15, 0],
               [-50, 0, 0], [9, -5, 0], [0, -85, 0], [-9, -5, 0], [0, -85, 0]]
    ends = {2: [0, 18, 0], 4: [15, 0, 0], 6: [-15, 0, 0], 8: [0, -5, 14], 10: [0, -5, 14]}
    return Skeleton(names, parents, offsets, ends)


@pytest.fixture(scope="module")
def turning():
    """A dancer walking a curve while turning, tilting and swinging the arms (30 fps)."""
    sk = _dancer()
    n = 40
    t = np.arange(n) / 30.0
    rot = np.tile(quat.identity(), (n, sk.n_joints, 1))
    yaw = 2.5 * t
    tilt = quat.about_axis("X", 0.3 * np.sin(3 * t))
    rot[:, 0] = quat.mul(quat.about_axis("Y", yaw), tilt)
    rot[:, 3] = quat.about_axis("Z", 1.1 * np.sin(4 * t))
    rot[:, 6] = quat.about_axis("Y", 0.8 * np.cos(2 * t))
    rot[:, 8] = quat.about_axis("X", 0.5 * t)
    root = np.stack([60 * np.sin(t), 95 - 5 * np.sin(6 * t), 40 * t], axis=1)
    return Motion(sk, 30.0, rot, root)


def _node(doc, name):
    return next(n for n in doc["nodes"] if n["name"] == name)


@pytest.mark.parametrize("root_bone", [True, False])
def test_nodes_hold_the_bind_pose(turning, root_bone):
    doc, _ = parse_glb(glb_bytes(turning, root_bone=root_bone))
    sk = turning.skeleton
    for j, name in enumerate(sk.joint_names):
        node = _node(doc, name)
        assert "rotation" not in node  # identity: the bind pose, not the first dance frame
        np.testing.assert_allclose(node["translation"], sk.offsets_cm[j] / 100.0)
    assert any(n["name"] == "Root" for n in doc["nodes"]) == root_bone


@pytest.mark.parametrize("root_bone", [True, False])
def test_channels_give_our_fk(turning, root_bone):
    doc, binary = parse_glb(glb_bytes(turning, root_bone=root_bone))
    frames = [0, 7, 19, 31, 39]
    world = world_positions(doc, binary, 0, frames)
    fk = turning.fk()[frames]
    for j, name in enumerate(turning.skeleton.joint_names):
        np.testing.assert_allclose(world[name], fk[:, j], atol=1e-3)
    times = accessor(doc, binary, doc["animations"][0]["samplers"][0]["input"])[:, 0]
    np.testing.assert_allclose(times, np.arange(turning.n_frames) / 30.0, atol=1e-6)


def test_root_bone_carries_floor_travel_and_facing(turning):
    doc, binary = parse_glb(glb_bytes(turning))
    world = world_positions(doc, binary, 0, range(turning.n_frames))
    np.testing.assert_allclose(world["Root"][:, 1], 0.0, atol=1e-6)
    np.testing.assert_allclose(world["Root"][:, [0, 2]], turning.root_pos_cm[:, [0, 2]],
                               atol=1e-3)
    floor, facing, hips_pos, hips_rot = root_motion_split(turning)
    np.testing.assert_allclose(quat.yaw_of(facing), quat.yaw_of(turning.rotations[:, 0]),
                               atol=1e-6)
    np.testing.assert_allclose(hips_pos[:, [0, 2]], 0.0, atol=1e-4)  # hips stay above the root
    np.testing.assert_allclose(quat.yaw_of(hips_rot), 0.0, atol=1e-6)  # and keep no heading


def test_mesh_covers_head_hands_and_feet_with_normals_and_material(turning):
    doc, binary = parse_glb(glb_bytes(turning))
    prim = doc["meshes"][0]["primitives"][0]
    assert doc["materials"][prim["material"]]["pbrMetallicRoughness"]["metallicFactor"] == 0.0
    pos = accessor(doc, binary, prim["attributes"]["POSITION"]) * 100.0
    normals = accessor(doc, binary, prim["attributes"]["NORMAL"])
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-6)
    sk = turning.skeleton
    rest = sk.rest_positions_cm()
    for j, end in sk.end_sites_cm.items():  # a face reaches every tip (head top, hands, toes)
        tip = rest[j] + end
        assert np.min(np.linalg.norm(pos - tip, axis=1)) < 8.0, sk.joint_names[j]
    p, n, _, index = bone_boxes(sk)
    tri = p[index.reshape(-1, 3)]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    assert np.all(np.sum(face_n * n[index.reshape(-1, 3)[:, 0]], axis=1) > 0)  # outward winding


def test_animation_is_named_and_the_song_is_in_extras(turning):
    doc, _ = parse_glb(glb_bytes(turning, name="a/b [c].wav", extras={"song": "a/b [c].wav"}))
    anim = doc["animations"][0]
    assert anim["name"] == "arrangement"
    assert anim["extras"]["song"] == "a/b [c].wav" and anim["extras"]["fps"] == 30.0
    assert doc["scenes"][0]["name"] == "a/b [c].wav"


@pytest.mark.parametrize("root_bone", [True, False])
def test_gltf_reader_round_trips_our_exports(turning, tmp_path, root_bone):
    path = write_glb(tmp_path / "dance.glb", turning, root_bone=root_bone)
    (clip,) = read_gltf_clips(path)
    assert clip.name == "arrangement" and clip.motion.fps == 30.0
    assert clip.motion.skeleton.joint_names == turning.skeleton.joint_names
    assert clip.motion.n_frames == turning.n_frames
    np.testing.assert_allclose(clip.motion.fk(), turning.fk(), atol=1e-3)


def test_clips_glb_holds_one_named_animation_per_clip(turning, tmp_path):
    short = turning.trim(0, 12)
    path = write_clips_glb(tmp_path / "clips.glb", turning.skeleton,
                           [GltfAnimation("spin", turning), GltfAnimation("step", short)])
    doc, binary = parse_glb(path.read_bytes())
    assert [a["name"] for a in doc["animations"]] == ["spin", "step"]
    clips = read_gltf_clips(path)
    assert [c.motion.n_frames for c in clips] == [40, 12]
    np.testing.assert_allclose(clips[1].motion.fk(), short.fk(), atol=1e-3)


def _validate(path):
    folder = os.environ.get("CHOREO_GLTF_VALIDATOR")  # a folder whose node_modules has it
    if not folder or not shutil.which("node"):
        pytest.skip("set CHOREO_GLTF_VALIDATOR to a folder with `npm install gltf-validator`")
    script = (
        "const v=require('gltf-validator');const fs=require('fs');"
        "v.validateBytes(new Uint8Array(fs.readFileSync(process.argv[1])))"
        ".then(r=>{console.log(JSON.stringify(r.issues));process.exit(0)})"
        ".catch(e=>{console.error(e);process.exit(2)});"
    )
    out = subprocess.run(["node", "-e", script, str(path)], cwd=folder, capture_output=True,
                         text=True, timeout=60, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("root_bone", [True, False])
def test_khronos_validator_is_clean(turning, tmp_path, root_bone):
    single = write_glb(tmp_path / "dance.glb", turning, root_bone=root_bone)
    clips = write_clips_glb(tmp_path / "clips.glb", turning.skeleton,
                            [GltfAnimation("a", turning), GltfAnimation("b", turning.trim(3, 9))],
                            root_bone=root_bone)
    for path in (single, clips):
        issues = _validate(path)
        assert issues["numErrors"] == 0 and issues["numWarnings"] == 0, issues["messages"]
