"""Cuts without artefacts: a planted foot stays planted across a blend, no toe under the floor,
blends scale with the pose jump, and a stage radius keeps a walking dancer on stage."""

import numpy as np
import pytest
from choreo_studio.core.choreography.placements import Choreography, Placement
from choreo_studio.core.choreography.render import blend_frames, render
from choreo_studio.core.library.library import DancePhrase, Library
from choreo_studio.core.motion import contacts
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.skeleton import Skeleton
from engine_synthetic import click_song, library


def legged() -> Skeleton:
    """Hips, spine and two legs down to toes with toe-tip end sites (cm, Y up, facing +Z)."""
    names = ["Hips", "Spine", "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToeBase",
             "RightUpLeg", "RightLeg", "RightFoot", "RightToeBase"]
    parents = [-1, 0, 0, 2, 3, 4, 0, 6, 7, 8]
    offsets = [[0, 90, 0], [0, 30, 0], [9, -5, 0], [0, -42, 0], [0, -40, 0], [0, -6, 12],
               [-9, -5, 0], [0, -42, 0], [0, -40, 0], [0, -6, 12]]
    return Skeleton(names, parents, offsets, {5: np.array([0, -2.0, 7.0]),
                                              9: np.array([0, -2.0, 7.0])})


def pose_phrase(dance_id: str, *, crouch_rad: float = 0.0, lift_right_rad: float = 0.0,
                sink_cm: float = 0.0, spread_rad: float = 0.0,
                n_frames: int = 144) -> DancePhrase:
    """A held pose: the left leg bent by ``crouch_rad`` at hip and knee (foot kept flat), the
    right thigh raised by ``lift_right_rad``, both legs spread sideways by ``spread_rad`` (feet
    flat); grounded so the lowest left-foot point is on the floor, then sunk by ``sink_cm``
    (a clip whose toes go under the floor)."""
    sk = legged()
    rot = np.tile(quat.identity(), (n_frames, sk.n_joints, 1))
    rot[:, 2] = quat.about_axis("X", np.full(n_frames, -crouch_rad))
    rot[:, 3] = quat.about_axis("X", np.full(n_frames, 2.0 * crouch_rad))
    rot[:, 4] = quat.about_axis("X", np.full(n_frames, -crouch_rad))
    rot[:, 6] = quat.about_axis("X", np.full(n_frames, -lift_right_rad))
    rot[:, 7] = quat.about_axis("X", np.full(n_frames, lift_right_rad))
    for hip, ankle, side in ((2, 4, 1.0), (6, 8, -1.0)):
        spread = quat.about_axis("Z", np.full(n_frames, side * spread_rad))
        rot[:, hip] = quat.mul(spread, rot[:, hip])
        rot[:, ankle] = quat.mul(quat.inverse(spread), rot[:, ankle])
    root = np.tile([0.0, 90.0, 0.0], (n_frames, 1))
    motion = Motion(sk, 30.0, rot, root)
    points, owner = contacts.foot_positions(motion)
    root[:, 1] -= points[0, owner == 0, 1].min() + sink_cm
    motion = Motion(sk, 30.0, rot, root)
    counts = np.arange(8) * (n_frames // 8)
    return DancePhrase(id=dance_id, name=dance_id, style="urban", energy=1, tags=[], n_counts=8,
                       bpm=100.0, count_frames=counts, motion=motion, descriptors={})


def _lib(*phrases: DancePhrase) -> Library:
    k = len(phrases)
    return Library("legs", legged(), list(phrases), np.full((k, k), 0.5, np.float32))


def test_a_foot_planted_on_both_sides_stays_put_across_the_blend():
    stand = pose_phrase("stand")
    crouch = pose_phrase("crouch", crouch_rad=0.5, lift_right_rad=0.9)
    lib = _lib(stand, crouch)
    # the pose jump is real: root-relative, the left ankle moves by several cm between them
    rel = [p.motion.fk()[0, 4] - p.motion.root_pos_cm[0] for p in (stand, crouch)]
    assert np.linalg.norm(rel[0] - rel[1]) > 8.0
    analysis, phrases = click_song([2, 2, 2])
    choreo = Choreography([Placement(i, d, blend_s=0.4)
                           for i, d in enumerate(["stand", "crouch", "stand"])])
    motion = render(choreo, analysis, phrases, lib)
    ankle = motion.fk()[:, 4]
    travel = np.linalg.norm(ankle[:, [0, 2]] - ankle[0, [0, 2]], axis=1)
    assert travel.max() < 1.0  # cm: the planted left foot never slides
    assert np.abs(ankle[:, 1] - ankle[0, 1]).max() < 1.0
    # the body did change pose around it (the right thigh rises and falls)
    knee = motion.fk()[:, 7] - motion.root_pos_cm
    assert np.ptp(knee[:, 1]) > 10.0


def test_no_foot_point_goes_under_the_floor():
    lib = _lib(pose_phrase("stand"), pose_phrase("sunk", crouch_rad=0.3, sink_cm=4.0))
    analysis, phrases = click_song([2, 2])
    raw = contacts.foot_positions(lib.phrases[1].motion)[0]
    assert raw[..., 1].min() < -3.0  # the clip itself goes 4 cm under
    choreo = Choreography([Placement(0, "stand"), Placement(1, "sunk")])
    points, _owner = contacts.foot_positions(render(choreo, analysis, phrases, lib))
    assert points[..., 1].min() > -0.01


def test_blend_length_grows_with_the_pose_jump_within_a_beat():
    from choreo_studio.core.choreography.beat_warp import plan_segments

    analysis, phrases = click_song([2, 2], bpm=100.0, jitter_s=0.0)
    lib = library(2)
    seg = plan_segments(Choreography([Placement(0, "d0", blend_s=0.3),
                                      Placement(1, "d1", blend_s=0.3)]),
                        analysis.beats_s, phrases, lib)[-1]
    small, medium, huge = (blend_frames(seg, d, 30.0) for d in (1.0, 30.0, 500.0))
    assert small < medium < huge
    assert medium == round(0.3 * 30)
    assert huge == round(0.6 * 30)  # one beat at 100 BPM caps it


@pytest.mark.parametrize("radius_cm", [120.0, 200.0])
def test_a_stage_radius_keeps_a_walking_dancer_on_stage(radius_cm):
    analysis, phrases = click_song([2] * 10)
    lib = library(3, walk_cm=60.0)  # every phrase walks 60 cm forward
    choreo = Choreography([Placement(i, f"d{i % 3}", mirror_on_repeat=False)
                           for i in range(10)])
    free = render(choreo, analysis, phrases, lib)
    held = render(choreo, analysis, phrases, lib, stage_radius_cm=radius_cm)
    dist = lambda m: np.linalg.norm(m.root_pos_cm[:, [0, 2]], axis=1)  # noqa: E731
    assert dist(free).max() > 500.0
    assert dist(held).max() <= radius_cm
    # turns happen at the cuts only: inside a play the path stays straight (no skating)
    step = np.diff(held.root_pos_cm[:, [0, 2]], axis=0)
    speed = np.linalg.norm(step, axis=1)
    assert speed.max() < 3.0


def test_feet_planted_in_a_new_stance_do_not_slide_at_the_cut():
    """Both feet planted on both sides but 2 x 12 cm apart: no pivot can match both, so the
    feet stay locked through the blend and ease into the new stance slowly afterwards."""
    lib = _lib(pose_phrase("narrow"), pose_phrase("wide", spread_rad=0.15))
    ankles = [p.motion.fk()[0, [4, 8], 0] for p in lib.phrases]
    assert np.ptp(ankles[1]) - np.ptp(ankles[0]) > 20.0  # the stance widens by > 20 cm
    analysis, phrases = click_song([2, 2])
    choreo = Choreography([Placement(0, "narrow", blend_s=0.4), Placement(1, "wide", blend_s=0.4)])
    motion = render(choreo, analysis, phrases, lib)
    points, _owner = contacts.foot_positions(motion)
    speed = contacts.horizontal_speed(points, motion.fps)
    assert speed.max() < 1.6 * 8.0 + 1.0  # the release speed (x smoothstep's peak slope)
    final = motion.fk()[-1, [4, 8], 0]
    assert np.ptp(final) == pytest.approx(np.ptp(ankles[1]), abs=1.0)  # the new stance is reached


@pytest.mark.parametrize("mirrored", [False, True])
def test_the_decoder_judges_a_cut_into_a_mirrored_play_by_its_mirrored_pose(mirrored):
    from choreo_studio.core.choreography.engine import Engine
    from choreo_studio.core.retrieval.scoring import DescriptorMatcher

    # "lifted" ends with the right thigh raised; "same" starts so, "plain" stands on both feet.
    # Played mirrored, "same" raises the left thigh: a jump in both legs, "plain" only in one
    lib = _lib(pose_phrase("lifted", lift_right_rad=0.8), pose_phrase("same", lift_right_rad=0.8),
               pose_phrase("plain"))
    analysis, phrases = click_song([2, 2], bpm=100.0)
    current = Choreography([Placement(0, "lifted", locked=True),
                            Placement(1, "same", mirror=mirrored)])
    scores = np.array([[0.98, 0.01, 0.01], [0.02, 0.49, 0.49]])
    got = Engine(lib, DescriptorMatcher(lib)).decode(scores, phrases, current)
    assert got[1].dance_id == ("plain" if mirrored else "same")
    assert got[1].mirror == mirrored
