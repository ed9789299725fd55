"""The library's cut features are built once per loaded library, not once per opened song:
every open makes its own Engine (its decode options are the song's) on the same library, and
the first decode of each spent ~2 s building them again."""

import numpy as np
from choreo_studio.core.choreography.engine import Engine, library_cut_features
from choreo_studio.core.library.library import Library
from choreo_studio.core.retrieval.scoring import DescriptorMatcher
from engine_synthetic import skeleton, swing_phrase, synthetic_song


def _library(right_arm_rad: float = 0.0) -> Library:
    phrases = [swing_phrase(f"d{i}", bpm=bpm, right_arm_rad=right_arm_rad + 0.3 * i)
               for i, bpm in enumerate((90, 120, 120, 150))]
    return Library("cuts", skeleton(), phrases, np.full((4, 4), 0.5, np.float32))


def test_engines_on_one_library_share_its_cut_features_and_decode_as_before():
    library = _library()
    first, second = Engine(library, DescriptorMatcher(library)), Engine(
        library, DescriptorMatcher(library))
    first.prepare_decoding()
    assert library_cut_features(library) is library_cut_features(library)
    song = synthetic_song([2, 2, 2, 2], bpm=120.0)
    fresh = _library()  # an equal library loaded again: its features are its own, the same
    alone = Engine(fresh, DescriptorMatcher(fresh)).solve(song).dance_ids
    assert first.solve(song).dance_ids == second.solve(song).dance_ids == alone


def test_a_library_with_the_same_ids_but_other_motion_gets_its_own_features():
    """The fingerprint leaves the motion's values out, so it cannot be the key."""
    one, other = _library(), _library(right_arm_rad=0.8)
    assert one.fingerprint == other.fingerprint
    a, b = library_cut_features(one), library_cut_features(other)
    assert a is not b and not np.allclose(a.start, b.start)
