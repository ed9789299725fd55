"""Rendering: beats of the rendered dance land on the song's beats; repeats, mirror, blends."""

import numpy as np
import pytest
from choreo_studio.core.choreography.beat_warp import plan_segments
from choreo_studio.core.choreography.placements import Choreography, Placement
from choreo_studio.core.choreography.render import render
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.library.library import Library
from choreo_studio.core.motion.kinematic_beats import velocity_minima_beats
from engine_synthetic import click_song, library, skeleton, swing_phrase


def _hand_speed_minima_s(motion):
    pos = motion.fk()[:, [4, 7]]  # the hands (one swings; mirrored repeats swap them)
    return velocity_minima_beats(pos, motion.fps) / motion.fps


@pytest.mark.parametrize("fps", [30.0, 60.0])
def test_rendered_kinematic_beats_land_on_the_click_track(fps):
    analysis, phrases = click_song([2, 3, 2], bpm=126.0, jitter_s=0.03)
    lib = library(3, pose_jumps=False)
    choreo = Choreography([Placement(i, f"d{i}", blend_s=0.0) for i in range(3)])
    motion = render(choreo, analysis, phrases, lib, fps=fps)
    assert motion.fps == fps
    assert motion.n_frames == int(np.ceil(analysis.duration_s * fps))
    kin = _hand_speed_minima_s(motion)
    inside = kin[(kin > analysis.beats_s[0] + 0.1) & (kin < analysis.beats_s[-1] - 0.1)]
    dist = np.abs(inside[:, None] - analysis.beats_s[None, :]).min(axis=1)
    assert len(inside) >= 0.8 * (len(analysis.beats_s) - 2)  # a beat on (nearly) every beat
    assert np.all(dist <= 1.0 / fps + 0.02)  # a frame + 20 ms (velocity minima are smoothed)
    assert dist.mean() <= 0.5 / fps + 0.01


def test_longer_phrase_repeats_mirrored_and_cuts_the_last_play():
    analysis, phrases = click_song([3])  # 12 beats, dance has 8 counts
    lib = library(1)
    choreo = Choreography([Placement(0, "d0")])
    segs = plan_segments(choreo, analysis.beats_s, phrases, lib)
    assert [(s.play, s.mirror) for s in segs] == [(0, False), (1, True)]
    assert segs[1].start_s == pytest.approx(analysis.beats_s[8])
    assert segs[1].end_s == pytest.approx(phrases[0].end_s)
    assert segs[1].knot_frames[-1] == lib.phrases[0].count_frames[4]
    choreo = Choreography([Placement(0, "d0", mirror=True, mirror_on_repeat=False)])
    assert [s.mirror for s in plan_segments(choreo, analysis.beats_s, phrases, lib)] == [
        True, True]


def test_root_is_continuous_across_boundaries_and_blends_smooth_poses():
    analysis, phrases = click_song([2, 2, 2])
    lib = library(3, walk_cm=60.0)  # each phrase walks forward 60 cm
    hard = render(Choreography([Placement(i, f"d{i}", blend_s=0.0) for i in range(3)]),
                  analysis, phrases, lib)
    soft = render(Choreography([Placement(i, f"d{i}", blend_s=0.4) for i in range(3)]),
                  analysis, phrases, lib)
    step = np.linalg.norm(np.diff(hard.root_pos_cm[:, [0, 2]], axis=0), axis=1)
    assert step.max() < 5.0  # no jump back to the origin at a boundary
    assert hard.root_pos_cm[-1, 2] > 150.0  # the walks add up
    # the right arm changes pose between phrases: a jump without a blend, a ramp with one
    jump_hard = np.linalg.norm(np.diff(hard.fk()[:, 7], axis=0), axis=1).max()
    jump_soft = np.linalg.norm(np.diff(soft.fk()[:, 7], axis=0), axis=1).max()
    assert jump_hard > 20.0
    assert jump_soft < jump_hard / 4


def test_bad_frame_rate_is_a_user_error():
    analysis, phrases = click_song([2])
    with pytest.raises(ChoreoError, match="fps is not offered"):
        render(Choreography([Placement(0, "d0")]), analysis, phrases, library(1), fps=17)


@pytest.mark.parametrize(("dance_bpm", "per_count"), [(60.0, 2.0), (240.0, 0.5), (118.0, 1.0)])
def test_far_tempi_go_half_or_double_time(dance_bpm, per_count):
    analysis, phrases = click_song([4], bpm=120.0, jitter_s=0.0)
    lib = Library("t", skeleton(), [swing_phrase("d", bpm=dance_bpm)], np.ones((1, 1)))
    seg = plan_segments(Choreography([Placement(0, "d")]), analysis.beats_s, phrases, lib)[0]
    beats = analysis.beats_s
    expected = np.interp(np.arange(8) * per_count, np.arange(beats.size), beats)
    np.testing.assert_allclose(seg.knot_times_s[:8], expected)
    forced = plan_segments(Choreography([Placement(0, "d", beats_per_count=1.0)]), beats,
                           phrases, lib)[0]
    np.testing.assert_allclose(forced.knot_times_s[:8], beats[:8])


def test_whole_pipeline_on_a_click_track_dances_on_its_clicks():
    """Audio in: the analysed beats drive the warp, and the dance's beats hit the true clicks."""
    from audio_fixtures import click_track
    from choreo_studio.core.audio.load import Audio
    from choreo_studio.core.choreography.engine import Engine
    from choreo_studio.core.choreography.metrics import evaluate
    from choreo_studio.core.phrases.song import open_song
    from choreo_studio.core.retrieval.scoring import DescriptorMatcher
    from engine_synthetic import bounce_library

    samples, true_beats, _ = click_track(112.0, n_bars=8)
    song = open_song(Audio.from_array(samples, 22050, path=None), use_cache=False)
    lib = bounce_library(3)
    engine = Engine(lib, DescriptorMatcher(lib))
    choreo = engine.solve(song)
    motion = engine.render(song, choreo, fps=60)
    metrics = evaluate(choreo, motion, true_beats, song.phrases)
    assert metrics.beat_hit_rate >= 0.85
    assert metrics.beat_align_score >= 0.7


def test_batched_fk_equals_fk_run_by_run():
    """The render's one-pass FK of several runs and its foot points from transforms at hand
    give exactly the per-run values (FK is per frame)."""
    from choreo_studio.core.choreography.render import _fk, _fk_many, _foot_points
    from choreo_studio.core.motion import contacts
    from choreo_studio.core.motion import quaternions as quat
    from choreo_studio.core.motion.motion import Motion
    from choreo_studio.resources.demo_library.generate import build_demo_library

    sk = build_demo_library(phrases_per_level=1).skeleton
    rng = np.random.default_rng(0)
    runs = [(quat.normalize(rng.normal(size=(n, sk.n_joints, 4))), rng.normal(size=(n, 3)), None)
            for n in (1, 3, 7)]
    for (rot, root, _), (g_rot, g_pos) in zip(runs, _fk_many(sk, runs), strict=True):
        want_rot, want_pos = _fk(sk, rot, root, None)
        np.testing.assert_array_equal(g_rot, want_rot)
        np.testing.assert_array_equal(g_pos, want_pos)
        motion = Motion(sk, 30.0, rot, root)
        points, owner = _foot_points(motion, motion.global_transforms())
        want_points, want_owner = contacts.foot_positions(motion)
        np.testing.assert_array_equal(points, want_points)
        np.testing.assert_array_equal(owner, want_owner)
