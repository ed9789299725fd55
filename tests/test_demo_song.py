"""The demo-song generator: deterministic, fast, and its ground truth is self-consistent."""


import numpy as np
import pytest
from choreo_studio.resources.demo_song import STYLES, DemoSongSpec, render_demo_song


def test_deterministic_and_seed_dependent():
    a, b = render_demo_song(), render_demo_song()
    np.testing.assert_array_equal(a.samples, b.samples)
    assert a.audio().content_hash == b.audio().content_hash
    c = render_demo_song(DemoSongSpec(seed=1))
    assert not np.array_equal(a.samples, c.samples)


@pytest.mark.parametrize("style", STYLES)
def test_styles_render_with_consistent_ground_truth(style):
    spec = DemoSongSpec(tempo_bpm=110, beats_per_bar=3 if style == "waltz" else 4, style=style,
                        structure=(("intro", 2), ("verse", 4), ("chorus", 4)))
    song = render_demo_song(spec)
    bpb = spec.beats_per_bar
    assert song.beats_s.size == 10 * bpb
    np.testing.assert_allclose(np.diff(song.beats_s), 60 / 110)
    np.testing.assert_array_equal(song.downbeats, np.arange(0, 10 * bpb, bpb))
    assert [s.label for s in song.sections] == ["intro", "verse", "chorus"]
    assert song.sections[-1].end_s == pytest.approx(song.duration_s, abs=1e-3)
    assert np.abs(song.samples).max() == pytest.approx(0.9, abs=1e-3)


def test_three_minute_song_renders_with_its_structure():
    structure = (("intro", 4),) + (("verse", 8), ("chorus", 8)) * 5 + (("outro", 4),)
    song = render_demo_song(DemoSongSpec(structure=structure))
    assert song.duration_s > 170
    assert [s.label for s in song.sections] == [name for name, _ in structure]


def test_bad_spec_is_refused():
    with pytest.raises(ValueError):
        DemoSongSpec(style="polka")
    with pytest.raises(ValueError):
        DemoSongSpec(beats_per_bar=5)
