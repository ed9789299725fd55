"""`choreo library import` reads glTF/glb takes: the same dance as a BVH and as a glb (with and
without a root-motion bone, in another rig's names) imports to the same phrases; a glb without
animation, or not glTF at all, is one line and the other takes still import."""

import numpy as np
import pytest
from choreo_studio.core.export.gltf import write_glb
from choreo_studio.core.library.importing import import_library
from choreo_studio.core.motion.bvh import write_bvh

from tests.rig_fixtures import dance_positions, scheme_motion

FPS = 30.0


@pytest.fixture(scope="module")
def dance():
    return scheme_motion("mixamo", dance_positions(240, FPS), FPS)


@pytest.mark.parametrize("root_bone", [True, False])
def test_glb_take_imports_like_its_bvh(dance, tmp_path, root_bone):
    write_bvh(tmp_path / "bvh" / "pop" / "take.bvh", dance)
    write_glb(tmp_path / "glb" / "pop" / "take.glb", dance, root_bone=root_bone)
    from_bvh, _ = import_library(tmp_path / "bvh")
    from_glb, report = import_library(tmp_path / "glb")
    assert report.skipped == []
    assert from_glb.skeleton.joint_names == from_bvh.skeleton.joint_names
    assert [p.n_counts for p in from_glb.phrases] == [p.n_counts for p in from_bvh.phrases]
    assert {p.style for p in from_glb.phrases} == {"pop"}
    for a, b in zip(from_glb.phrases, from_bvh.phrases, strict=True):
        np.testing.assert_allclose(a.motion.fk(), b.motion.fk(), atol=0.05)


def test_bad_glb_takes_are_one_line_each(dance, tmp_path):
    write_glb(tmp_path / "pop" / "good.glb", dance)
    (tmp_path / "pop" / "junk.glb").write_bytes(b"glTF\x02\x00\x00\x00garbage")
    (tmp_path / "pop" / "empty.gltf").write_text('{"asset": {"version": "2.0"}}')
    library, report = import_library(tmp_path)
    assert len(library) >= 1
    assert len(report.skipped) == 2
    assert all("\n" not in line and "re-export it" in line for line in report.skipped)


def test_fbx_take_imports_through_blender_or_says_how(dance, tmp_path, monkeypatch):
    from choreo_studio.core.blender import blender_python
    from choreo_studio.core.export.fbx import write_fbx_from_glb
    from choreo_studio.core.export.gltf import glb_bytes

    write_bvh(tmp_path / "bvh" / "pop" / "take.bvh", dance)
    if blender_python() is None:  # no bpy: the take is one line naming the extra
        (tmp_path / "fbx" / "pop").mkdir(parents=True)
        (tmp_path / "fbx" / "pop" / "take.fbx").write_bytes(b"Kaydara FBX Binary")
        (tmp_path / "fbx" / "pop" / "good.bvh").write_bytes(
            (tmp_path / "bvh" / "pop" / "take.bvh").read_bytes())
        _, report = import_library(tmp_path / "fbx")
        assert len(report.skipped) == 1 and "pip install 'choreo-studio[fbx]'" in \
            report.skipped[0]
        return
    (tmp_path / "fbx" / "pop").mkdir(parents=True)
    write_fbx_from_glb(tmp_path / "fbx" / "pop" / "take.fbx", glb_bytes(dance), dance.fps)
    from_bvh, _ = import_library(tmp_path / "bvh")
    from_fbx, report = import_library(tmp_path / "fbx")
    assert report.skipped == []
    assert [p.n_counts for p in from_fbx.phrases] == [p.n_counts for p in from_bvh.phrases]
    for a, b in zip(from_fbx.phrases, from_bvh.phrases, strict=True):
        np.testing.assert_allclose(a.motion.fk(), b.motion.fk(), atol=0.05)
