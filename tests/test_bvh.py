"""BVH reading/writing on hand-written files in the styles of CMU, Mixamo and Truebones/3ds Max."""

import numpy as np
import pytest
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.motion.bvh import bvh_text, parse_bvh, read_bvh, read_bvh_file, write_bvh

from tests.motion_fixtures import random_motion

CMU = """HIERARCHY
ROOT Hips
{
\tOFFSET 0.000000 0.000000 0.000000
\tCHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
\tJOINT LHipJoint
\t{
\t\tOFFSET 0 0 0
\t\tCHANNELS 0
\t\tJOINT LeftUpLeg
\t\t{
\t\t\tOFFSET 1.363060 -1.794630 0.839290
\t\t\tCHANNELS 3 Zrotation Yrotation Xrotation
\t\t\tEnd Site
\t\t\t{
\t\t\t\tOFFSET 0.000000 -7.0 0.000000
\t\t\t}
\t\t}
\t}
\tJOINT RHipJoint
\t{
\t\tOFFSET 0 0 0
\t\tCHANNELS 0
\t\tJOINT RightUpLeg
\t\t{
\t\t\tOFFSET -1.363060 -1.794630 0.839290
\t\t\tCHANNELS 3 Zrotation Yrotation Xrotation
\t\t\tEnd Site
\t\t\t{
\t\t\t\tOFFSET 0.000000 -7.0 0.000000
\t\t\t}
\t\t}
\t}
}
MOTION
Frames: 3
Frame Time: .0083333
9.3722 17.8693 -17.3198 -3.3616 -5.1980 -2.0000 10.0 20.0 -30.0 -10.0 5.0 12.0
9.4722 17.9693 -17.4198 -3.2616 -5.0980 -2.1000 11.0 21.0 -31.0 -11.0 6.0 13.0
9.5722 18.0693 -17.5198 -3.1616 -4.9980 -2.2000 12.0 22.0 -32.0 -12.0 7.0 14.0
"""

MIXAMO = (
    "HIERARCHY\r\nROOT mixamorig:Hips\r\n{\r\n  OFFSET 0.0 104.0 0.0\r\n"
    "  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\r\n"
    "  JOINT mixamorig:LeftArm\r\n  {\r\n    OFFSET 18.0 40.0 0.0\r\n"
    "    CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\r\n"
    "    End Site\r\n    {\r\n      OFFSET 28.0 0.0 0.0\r\n    }\r\n  }\r\n"
    "  JOINT mixamorig:RightArm\r\n  {\r\n    OFFSET -18.0 40.0 0.0\r\n"
    "    CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\r\n"
    "    End Site\r\n    {\r\n      OFFSET -28.0 0.0 0.0\r\n    }\r\n  }\r\n}\r\n"
    "MOTION\r\nFrames: 2\r\nFrame Time: 0.0333333\r\n"
    "1.0 104.0 2.0 10.0 20.0 30.0 18.0 40.0 0.0 -45.0 0.0 10.0 -18.0 40.0 0.0 45.0 5.0 -10.0\r\n"
    "1.5 103.0 2.5 11.0 21.0 31.0 18.0 40.0 0.0 -40.0 0.0 12.0 -18.0 41.0 0.0 40.0 5.0 -12.0\r\n"
)

TRUEBONES = """HIERARCHY
ROOT Bip01
{
    OFFSET 0 0 0
    CHANNELS 6 Xrotation Yrotation Zrotation Xposition Yposition Zposition
    JOINT Bip01 L Thigh {
        OFFSET 9 -5 0
        CHANNELS 3 Xrotation Yrotation Zrotation
        JOINT Bip01 L Calf
        {
            OFFSET 0 -42 0
            CHANNELS 3 Yrotation Xrotation Zrotation
            End Site { OFFSET 0 -40 0 }
        }
    }
    JOINT Bip01 R Thigh {
        OFFSET -9 -5 0
        CHANNELS 3 Xrotation Yrotation Zrotation
        End Site { OFFSET 0 -82 0 }
    }
}
MOTION
Frames: 2
Frame Time: 0.0166667
5 10 15 1 95 2 30 0 0 0 45 10 -30 0 0
6 11 16 2 96 3 31 0 0 0 46 11 -31 0 0
"""


@pytest.mark.parametrize("text", [CMU, MIXAMO, TRUEBONES.replace("\n", "\r")],
                         ids=["cmu", "mixamo-crlf", "truebones-cr"])
def test_round_trip_keeps_channels_and_pose(text):
    first = parse_bvh(text)
    again = parse_bvh(bvh_text(first.motion, first.channels))
    assert again.channels == first.channels
    assert again.motion.skeleton.joint_names == first.motion.skeleton.joint_names
    assert again.motion.fps == pytest.approx(first.motion.fps)
    np.testing.assert_allclose(again.motion.fk(), first.motion.fk(), atol=1e-3)
    # and the channel numbers themselves survive (angles in degrees)
    a = np.array([r.split() for r in bvh_text(first.motion, first.channels).split("Frame Time")[1]
                  .splitlines()[1:] if r.strip()], float)
    b = np.array([r.split() for r in text.replace("\r\n", "\n").replace("\r", "\n")
                  .split("Frame Time")[1].splitlines()[1:] if r.strip()], float)
    np.testing.assert_allclose(a, b, atol=2e-4)


def test_cmu_structure_and_frame_rate():
    f = parse_bvh(CMU)
    sk = f.motion.skeleton
    assert sk.joint_names == ["Hips", "LHipJoint", "LeftUpLeg", "RHipJoint", "RightUpLeg"]
    assert list(sk.parents) == [-1, 0, 1, 0, 3]
    assert f.motion.fps == 120.0
    assert f.motion.n_frames == 3
    assert set(sk.end_sites_cm) == {2, 4}
    np.testing.assert_allclose(f.motion.root_pos_cm[0], [9.3722, 17.8693, -17.3198], atol=1e-4)
    assert list(sk.mirror_indices()) == [0, 3, 4, 1, 2]


def test_position_channels_on_joints_replace_offsets():
    f = parse_bvh(MIXAMO)
    m = f.motion
    assert m.skeleton.joint_names[0] == "mixamorig:Hips"
    assert m.fps == 30.0
    # the right arm's Y position changes between frames -> kept per frame
    assert m.local_pos_cm is not None
    assert m.local_pos_cm[1, 2, 1] == pytest.approx(41.0)


def test_units_scale_lengths_not_angles():
    cm = parse_bvh(TRUEBONES)
    m = parse_bvh(TRUEBONES, unit="m")
    np.testing.assert_allclose(m.motion.fk(), cm.motion.fk() * 100.0, atol=1e-3)
    np.testing.assert_allclose(m.motion.rotations, cm.motion.rotations, atol=1e-6)


def test_names_with_spaces_and_inline_braces():
    f = parse_bvh(TRUEBONES)
    assert f.motion.skeleton.joint_names == ["Bip01", "Bip01 L Thigh", "Bip01 L Calf",
                                             "Bip01 R Thigh"]
    assert f.motion.fps == 60.0


def test_write_and_read_file_with_default_layout(tmp_path):
    m = random_motion(12)
    path = write_bvh(tmp_path / "clip.bvh", m)
    back = read_bvh(path)
    np.testing.assert_allclose(back.fk(), m.fk(), atol=1e-3)
    f = read_bvh_file(path)
    assert f.channels[0][:3] == ["Xposition", "Yposition", "Zposition"]
    assert f.channels[1] == ["Zrotation", "Xrotation", "Yrotation"]


def _error(text):
    with pytest.raises(ChoreoError) as info:
        parse_bvh(text, "clip.bvh")
    return str(info.value)


@pytest.mark.parametrize(
    "broken,line,fragment",
    [
        (CMU.replace("CHANNELS 3 Zrotation Yrotation Xrotation", "CHANNELS 4 Zrotation Yrotation "
                     "Xrotation", 1), 13, "CHANNELS says 4"),
        (CMU.replace("\tJOINT LHipJoint\n\t{", "\tJOINT LHipJoint\n", 1), 8, "expected '{'"),
        (CMU.replace("Zrotation Yrotation Xrotation\n\t\t\tEnd", "Zrotation Yrotation Wrotation\n"
                     "\t\t\tEnd", 1), 13, "unknown channel"),
        (CMU.replace("10.0 20.0 -30.0 -10.0", "10.0 abc -30.0 -10.0", 1), 38, "not a finite"),
        (CMU.replace("-3.2616 -5.0980 -2.1000 11.0", "-3.2616 -5.0980 11.0", 1), 39,
         "has 11 values"),
        (CMU.replace("Frames: 3", "Frames: 5"), 36, "only 3 frame lines"),
        (CMU.replace("OFFSET 1.363060 -1.794630 0.839290", "OFFSET 1.36 x 0.83", 1), 12, "OFFSET"),
        (CMU.replace("Frame Time: .0083333", "Frame Time: 0"), 37, "positive"),
        ("HIERACHY\nROOT a\n", 1, "expected 'HIERARCHY'"),
    ],
    ids=["channel-count", "missing-brace", "bad-channel", "nan-value", "short-row",
         "missing-frames", "bad-offset", "zero-frame-time", "typo-header"],
)
def test_malformed_files_name_the_line(broken, line, fragment):
    msg = _error(broken)
    assert f"clip.bvh, line {line}:" in msg
    assert fragment in msg
    assert "\n" not in msg


def test_missing_motion_block_and_unreadable_file(tmp_path):
    assert "no MOTION block" in _error(CMU.split("MOTION")[0])
    with pytest.raises(ChoreoError, match="cannot read"):
        read_bvh(tmp_path / "missing.bvh")


def test_skeleton_not_listed_depth_first_round_trips(tmp_path):
    from choreo_studio.core.motion.skeleton import Skeleton

    # joint 3 hangs under joint 1 but comes after joint 2: the file's hierarchy (and so its
    # channel columns) runs 0, 1, 3, 2 — columns written in index order corrupted the take
    sk = Skeleton(["Hips", "Spine", "LeftUpLeg", "Head"], np.array([-1, 0, 0, 1]),
                  np.array([[0, 90, 0], [0, 10, 0], [10, -5, 0], [0, 20, 0]], float))
    m = random_motion(10, skeleton=sk)
    back = read_bvh(write_bvh(tmp_path / "clip.bvh", m))
    names = back.skeleton.joint_names
    assert names == ["Hips", "Spine", "Head", "LeftUpLeg"]
    np.testing.assert_allclose(back.fk()[:, [names.index(n) for n in sk.joint_names]],
                               m.fk(), atol=1e-3)


def test_a_deep_chain_exports_without_recursion(tmp_path):
    from choreo_studio.core.motion.skeleton import Skeleton

    n = 1500
    sk = Skeleton([f"j{i}" for i in range(n)], np.arange(-1, n - 1),
                  np.tile([0.0, 1.0, 0.0], (n, 1)))
    text = bvh_text(random_motion(2, skeleton=sk))
    assert text.count("JOINT") == n - 1 and text.count("End Site") == 1
