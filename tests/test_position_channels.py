"""Position channels on non-root joints are read, rendered, mirrored and exported."""

import numpy as np
from choreo_studio.core.choreography.placements import Choreography, Placement
from choreo_studio.core.choreography.render import render
from choreo_studio.core.library.library import Library
from choreo_studio.core.motion.bvh import read_bvh, write_bvh
from choreo_studio.core.motion.motion import Motion
from engine_synthetic import click_song, library


def _spine_stretching_library():
    """One swing phrase whose spine joint carries its own moving translation (bobbing 8 cm)."""
    lib = library(1)
    p = lib.phrases[0]
    m = p.motion
    local = m._translations().copy()  # noqa: SLF001
    local[:, 1, 1] += 8.0 * np.sin(np.arange(m.n_frames) / 4.0)
    p.motion = Motion(m.skeleton, m.fps, m.rotations, m.root_pos_cm, local)
    return Library(lib.name, lib.skeleton, [p], lib.transition_prior), local


def test_render_keeps_per_joint_translations_in_plain_and_mirrored_plays(tmp_path):
    lib, local = _spine_stretching_library()
    analysis, phrases = click_song([3])  # 12 beats over an 8-count phrase: a mirrored repeat
    out = render(Choreography([Placement(0, "d0", blend_s=0.0)]), analysis, phrases, lib)
    assert out.local_pos_cm is not None
    spine_above_hips = out.fk()[:, 1, 1] - out.root_pos_cm[:, 1]
    assert np.ptp(spine_above_hips) > 12.0  # the 8-cm bob is there (not pinned at the offset)
    assert np.all(spine_above_hips > 30.0 - 8.5)
    write_bvh(tmp_path / "dance.bvh", out)
    back = read_bvh(tmp_path / "dance.bvh")
    np.testing.assert_allclose(back.fk(), out.fk(), atol=1e-2)


def test_mirror_negates_per_joint_translations():
    lib, local = _spine_stretching_library()
    m = lib.phrases[0].motion
    mirrored = m.mirror()
    perm = m.skeleton.mirror_indices()
    np.testing.assert_allclose(mirrored.fk(), m.fk()[:, perm] * np.array([-1.0, 1.0, 1.0]),
                               atol=1e-3)
