"""The generated demo library: structure, determinism, feet on the floor, variety, beats on
counts, caching and clean BVH export. Built once per session on one phrase per style/energy."""

import choreo_studio.resources.demo_library as demo
import numpy as np
import pytest
from choreo_studio.core.library.library import Library, arrays_path
from choreo_studio.core.motion.bvh import bvh_text, parse_bvh
from choreo_studio.core.motion.kinematic_beats import beat_hit_rate, velocity_minima_beats
from choreo_studio.resources.demo_library.generate import STYLES, build_demo_library, build_phrase

PAPER_STYLES = {"urban", "jazz", "hip-hop", "popping", "k-pop", "locking", "breaking", "ACGN"}


@pytest.fixture(scope="session")
def subset() -> Library:
    return build_demo_library(phrases_per_level=1)


def test_styles_energies_counts_and_skeleton(subset):
    assert set(STYLES) == PAPER_STYLES
    assert len(subset) == 24
    assert {(p.style, p.energy) for p in subset.phrases} == {
        (s, e) for s in PAPER_STYLES for e in (1, 2, 3)}
    sk = subset.skeleton
    assert 20 <= sk.n_joints <= 25
    assert 160 <= sk.height_cm() <= 180
    assert len(set(sk.mirror_indices())) == sk.n_joints
    for p in subset.phrases:
        assert p.n_counts == 8 and p.count_frames[0] == 0
        assert p.motion.n_frames == pytest.approx(8 * 60 / p.bpm * p.motion.fps, abs=1)
    assert len(demo.generate.STYLES) * 3 * demo.generate.PHRASES_PER_LEVEL >= 240


def test_generation_is_deterministic():
    a = build_phrase("locking", 2, 4)
    b = build_phrase("locking", 2, 4)
    assert a.id == b.id == "locking-e2-05"
    np.testing.assert_array_equal(a.motion.rotations, b.motion.rotations)


def _tips(phrase):
    pts, parents = phrase.motion.fk_with_end_sites()
    sk = phrase.motion.skeleton
    toe_tips = [sk.n_joints + k for k, (j, _) in enumerate(sorted(sk.end_sites_cm.items()))
                if "Toe" in sk.joint_names[j]]
    return pts, pts[:, toe_tips]


def test_feet_never_go_through_the_floor_and_planted_feet_do_not_slide(subset):
    for p in subset.phrases:
        pts, toes = _tips(p)
        assert pts[:, :, 1].min() > -0.05, p.id
        on_floor = toes[:, :, 1] < 0.3
        if "jump" not in p.tags:
            assert np.mean(on_floor.any(axis=1)) > 0.95, p.id  # always on a foot
        planted = on_floor[1:] & on_floor[:-1]
        slide = np.linalg.norm(np.diff(toes[:, :, [0, 2]], axis=0), axis=-1)
        assert slide[planted].max(initial=0.0) < 1.6, p.id  # cm per frame


def test_phrases_of_one_style_differ(subset):
    a = build_phrase("hip-hop", 2, 0)
    b = build_phrase("hip-hop", 2, 1)
    n = min(a.motion.n_frames, b.motion.n_frames)
    diff = np.linalg.norm(a.motion.fk()[:n] - b.motion.fk()[:n], axis=-1).mean()
    assert diff > 5.0  # cm, averaged over joints and frames
    assert a.name != b.name


def test_kinematic_beats_fall_on_counts(subset):
    rates = []
    for p in subset.phrases:
        fps = p.motion.fps
        counts_s = np.arange(p.n_counts + 1) * (p.motion.n_frames / p.n_counts) / fps
        beats_s = velocity_minima_beats(p.motion.fk(), fps) / fps
        rates.append(beat_hit_rate(beats_s, counts_s, 2.5 / fps))
        assert p.descriptors["beats_per_count"] > 0.5, p.id
    print(f"demo subset: velocity-minima kinematic beats on counts (±2.5 frames): "
          f"{np.nanmean(rates):.0%}")
    assert np.nanmean(rates) >= 0.8


def test_transition_prior_prefers_same_style(subset):
    m0 = subset.transition_prior
    styles = np.array([p.style for p in subset.phrases])
    same = styles[:, None] == styles[None, :]
    assert m0.min() >= 0.01 and m0.max() <= 1.0
    assert m0[same].mean() > 2 * m0[~same].mean()


def test_demo_exports_to_bvh_and_reads_back(subset):
    p = subset.phrases[0]
    back = parse_bvh(bvh_text(p.motion)).motion
    np.testing.assert_allclose(back.fk(), p.motion.fk(), atol=1e-2)


def test_load_demo_library_generates_once_then_loads_from_cache(tmp_path, monkeypatch, subset):
    calls = []

    def fake_build(progress=None):
        calls.append(1)
        return subset

    monkeypatch.setattr(demo, "build_demo_library", fake_build)
    monkeypatch.setattr(demo, "_LOADED", {})
    first = demo.load_demo_library(cache_dir=tmp_path)
    assert calls == [1] and (demo.demo_library_path(tmp_path) / "library.json").is_file()
    monkeypatch.setattr(demo, "_LOADED", {})
    second = demo.load_demo_library(cache_dir=tmp_path)
    assert calls == [1]
    assert second is not first and second.fingerprint == subset.fingerprint
    # a damaged cache is rebuilt instead of failing
    arrays_path(demo.demo_library_path(tmp_path)).write_bytes(b"broken")
    monkeypatch.setattr(demo, "_LOADED", {})
    demo.load_demo_library(cache_dir=tmp_path)
    assert calls == [1, 1]
