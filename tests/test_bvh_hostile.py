"""Hostile BVH files: strict frame lines, no recursion, limits on size and values — each one
clear ChoreoError line, never a traceback, a hang or silently shifted frames."""

import numpy as np
import pytest
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.motion.bvh import MAX_JOINTS, parse_bvh


def _bvh(frames, *, frame_time="0.033333", n_frames=None, offset="0 10 0", extra=""):
    head = (
        "HIERARCHY\nROOT Hips\n{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition Zposition "
        f"Zrotation Xrotation Yrotation\n JOINT Chest\n {{\n  OFFSET {offset}\n  CHANNELS 3 "
        "Zrotation Xrotation Yrotation\n  End Site\n  {\n   OFFSET 0 5 0\n  }\n }\n}\n"
        f"{extra}MOTION\nFrames: {len(frames) if n_frames is None else n_frames}\n"
        f"Frame Time: {frame_time}\n"
    )
    return head + "\n".join(frames) + "\n"


GOOD = [" ".join(str(v) for v in [i, 90, 0, 0, 10 * i, 0, 5, 0, 0]) for i in range(4)]
FIRST_FRAME_LINE = 19


def _error(text):
    with pytest.raises(ChoreoError) as info:
        parse_bvh(text, "clip.bvh")
    message = str(info.value)
    assert "\n" not in message and message.startswith("clip.bvh")
    return message


def test_good_file_reads():
    motion = parse_bvh(_bvh(GOOD), "clip.bvh").motion
    assert motion.n_frames == 4 and motion.fps == 30.0
    np.testing.assert_allclose(motion.root_pos_cm[:, 0], [0, 1, 2, 3])


def test_one_line_with_extra_values_is_refused_with_its_line_number():
    frames = list(GOOD)
    frames[1] += " 1 2 3"  # same total as one more frame when another line is short
    frames[2] = " ".join(frames[2].split()[:6])
    assert "frame 2 has 12 values, expected 9" in _error(_bvh(frames))
    assert f"line {FIRST_FRAME_LINE + 1}:" in _error(_bvh(frames))


def test_values_split_over_lines_are_refused():
    frames = [" ".join(GOOD[0].split()[:4]), " ".join(GOOD[0].split()[4:])] + GOOD[1:]
    assert "frame 1 has 4 values" in _error(_bvh(frames, n_frames=4))


@pytest.mark.parametrize("n_joints", [2_000, 20_000])
def test_long_joint_chains_are_refused_without_recursion(n_joints):
    body = "".join(f"JOINT j{i}\n{{\nOFFSET 0 1 0\nCHANNELS 3 Zrotation Xrotation Yrotation\n"
                   for i in range(n_joints))
    text = ("HIERARCHY\nROOT r\n{\nOFFSET 0 0 0\nCHANNELS 3 Zrotation Xrotation Yrotation\n"
            + body + "}\n" * (n_joints + 1) + "MOTION\nFrames: 1\nFrame Time: 0.03\n0 0 0\n")
    assert f"more than {MAX_JOINTS} joints" in _error(text)


def test_a_chain_within_the_limit_reads():
    n = 600
    body = "".join(f"JOINT j{i}\n{{\nOFFSET 0 1 0\nCHANNELS 3 Zrotation Xrotation Yrotation\n"
                   for i in range(n))
    text = ("HIERARCHY\nROOT r\n{\nOFFSET 0 0 0\nCHANNELS 3 Zrotation Xrotation Yrotation\n"
            + body + "}\n" * (n + 1) + "MOTION\nFrames: 1\nFrame Time: 0.03\n"
            + " ".join(["0"] * 3 * (n + 1)) + "\n")
    assert parse_bvh(text, "clip.bvh").motion.skeleton.n_joints == n + 1


@pytest.mark.parametrize(
    ("value", "needle"),
    [("1e308", "not a finite number below"), ("nan", "not a finite number below"),
     ("-inf", "not a finite number below"), ("2e6", "not a finite number below"),
     ("abc", "not a finite number: 'abc'")],
)
def test_huge_or_non_finite_values(value, needle):
    frames = list(GOOD)
    parts = frames[2].split()
    parts[4] = value
    frames[2] = " ".join(parts)
    message = _error(_bvh(frames))
    assert needle in message and f"line {FIRST_FRAME_LINE + 2}:" in message


def test_huge_offset():
    assert "OFFSET values must be finite" in _error(_bvh(GOOD, offset="0 1e308 0"))
    assert "OFFSET values must be finite" in _error(_bvh(GOOD, offset="0 nan 0"))


@pytest.mark.parametrize("frame_time", ["1e-9", "0", "-0.1", "1e9", "nan"])
def test_frame_time_limits(frame_time):
    assert "must be positive, between 0.0001 and 10 seconds" in _error(
        _bvh(GOOD, frame_time=frame_time))


def test_frame_count_limits():
    assert "more than 500000" in _error(_bvh(GOOD, n_frames=10**12))
    assert "only 4 frame lines follow" in _error(_bvh(GOOD, n_frames=5))
    assert "no frames" in _error(_bvh(GOOD, n_frames=0))


def test_extra_lines_after_the_frames_are_ignored_as_before():
    assert parse_bvh(_bvh(GOOD + GOOD[:1], n_frames=4), "clip.bvh").motion.n_frames == 4


def test_a_second_root_is_refused():
    extra = "ROOT Other\n{\n OFFSET 0 0 0\n CHANNELS 0\n}\n"
    assert "after the root joint" in _error(_bvh(GOOD, extra=extra))
