"""Demo-library motion quality: no joint moves faster, accelerates harder or jerks more than a
fast human dancer can, so no elbow or knee "pops" (a joint flipping to another solution for a
frame or two) reach rendered performances or exports.

Bounds, in physical units so they hold at any frame rate:

* speed — wrists ≤ 10 m/s (fast hip-hop / popping arm hits peak around 5–8 m/s; a
  boxer's punch reaches ~10 m/s), every other joint, elbows included, ≤ 6 m/s (an elbow
  is half way down the arm, so it moves at most about half as fast as the wrist in a swing);
* acceleration (second difference) ≤ 150 m/s² (~15 g) for every joint; the arm hits of the
  generator peak near 110 m/s², an elbow flip is 250–850 m/s²;
* jerk (third difference) ≤ 3000 m/s³ for every joint: a joint that jumps d cm for a single
  frame makes a third difference of 2–3·d per frame³, so at 30 fps this catches any one-frame
  pop bigger than about 5 cm riding on otherwise smooth motion (v3 elbows: up to 144 cm/frame³
  = 39 000 m/s³; knees snapping straight as a foot lifted: 15 cm/frame³ = 4000 m/s³).

Checked on one phrase per style and energy plus every phrase that popped in generator v3.
"""

import numpy as np
import pytest
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.motion import Motion
from choreo_studio.resources.demo_library.generate import build_demo_library, build_phrase

MAX_WRIST_SPEED_M_S = 10.0
MAX_JOINT_SPEED_M_S = 6.0
MAX_ACCEL_M_S2 = 150.0
MAX_JERK_M_S3 = 3000.0

# Phrases whose elbows (ForeArm joints) or knees (Leg joints) popped in generator v3, worst
# one-frame displacement 15–55 cm (e.g. jazz-e3-10 RightForeArm at frame 102).
POPPED_IN_V3 = [
    "jazz-e3-10", "jazz-e1-09", "urban-e3-10", "jazz-e1-04", "jazz-e1-08", "ACGN-e1-06",
    "ACGN-e2-09", "ACGN-e2-04", "k-pop-e2-05", "ACGN-e3-10", "k-pop-e2-06", "ACGN-e3-03",
    "urban-e3-01", "hip-hop-e2-04",
]


@pytest.fixture(scope="module")
def one_per_style_and_energy():
    return build_demo_library(phrases_per_level=1).phrases


def _phrase(phrase_id: str):
    style, energy, variant = phrase_id.rsplit("-", 2)
    return build_phrase(style, int(energy[1:]), int(variant) - 1)


def _violations(name: str, motion: Motion) -> list[str]:
    """Human-readable list of the bounds a motion breaks (empty when it moves plausibly)."""
    pos_m = motion.fk() / 100.0
    fps = motion.fps
    names = motion.skeleton.joint_names
    speed_limit = np.array([MAX_WRIST_SPEED_M_S if n.endswith("Hand") else MAX_JOINT_SPEED_M_S
                            for n in names])
    checks = (
        ("speed m/s", 1, speed_limit),
        ("acceleration m/s²", 2, np.full(len(names), MAX_ACCEL_M_S2)),
        ("jerk m/s³", 3, np.full(len(names), MAX_JERK_M_S3)),
    )
    found = []
    for label, order, limit in checks:
        size = np.linalg.norm(np.diff(pos_m, order, axis=0), axis=-1) * fps**order  # [F-k, J]
        frame, joint = np.unravel_index(np.argmax(size / limit), size.shape)
        if size[frame, joint] > limit[joint]:
            found.append(f"{name} {names[joint]} frame {frame + 1}: {label} "
                         f"{size[frame, joint]:.0f} > {limit[joint]:.0f}")
    return found


def test_one_phrase_per_style_and_energy_moves_like_a_dancer(one_per_style_and_energy):
    problems = [v for p in one_per_style_and_energy for v in _violations(p.id, p.motion)]
    assert not problems, "\n".join(problems)


def test_phrases_whose_elbows_or_knees_popped_in_v3_are_smooth():
    problems = [v for pid in POPPED_IN_V3 for v in _violations(pid, _phrase(pid).motion)]
    assert not problems, "\n".join(problems)


def test_the_checks_catch_a_one_frame_elbow_pop(one_per_style_and_energy):
    motion = one_per_style_and_energy[0].motion
    assert not _violations("original", motion)
    names = motion.skeleton.joint_names
    rot = motion.rotations.copy()
    frame, arm = motion.n_frames // 2, names.index("LeftArm")
    # the upper arm swings 0.5 rad for one frame: the elbow jumps ~13 cm and comes back
    rot[frame, arm] = quat.mul(rot[frame, arm], quat.about_axis("Z", 0.5))
    popped = Motion(motion.skeleton, motion.fps, rot, motion.root_pos_cm)
    problems = _violations("popped", popped)
    assert {v.split(": ")[1].split()[0] for v in problems} == {"acceleration", "jerk"}, problems
    assert all(f"frame {frame - 1}" in v or f"frame {frame}" in v for v in problems), problems
