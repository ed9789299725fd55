"""Skeleton validation, rest pose and left/right pairing by joint names."""

import numpy as np
import pytest
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.motion.skeleton import Skeleton

from tests.motion_fixtures import small_skeleton


def _chain(names):
    return Skeleton(names, [-1] + [0] * (len(names) - 1), np.zeros((len(names), 3)))


@pytest.mark.parametrize(
    "left,right",
    [
        ("LeftArm", "RightArm"),
        ("mixamorig:LeftHand", "mixamorig:RightHand"),
        ("LHipJoint", "RHipJoint"),
        ("lhumerus", "rhumerus"),
        ("Bip01 L Thigh", "Bip01 R Thigh"),
        ("hand.L", "hand.R"),
        ("l_shoulder", "r_shoulder"),
        ("Arm_Left", "Arm_Right"),
    ],
)
def test_mirror_pairs_from_common_naming_schemes(left, right):
    sk = _chain(["Hips", left, right, "Spine"])
    assert list(sk.mirror_indices()) == [0, 2, 1, 3]


def test_unpaired_names_map_to_themselves():
    sk = _chain(["Hips", "Spine", "LowerBack", "Head"])
    assert list(sk.mirror_indices()) == [0, 1, 2, 3]


def test_rest_positions_and_height():
    sk = small_skeleton()
    pos = sk.rest_positions_cm()
    np.testing.assert_allclose(pos[sk.index("Head")], [0, 140, 0])
    np.testing.assert_allclose(pos[sk.index("LeftForeArm")], [43, 135, 0])
    assert sk.height_cm() == pytest.approx(155 - 0)  # head tip 155, feet (end sites) at 0


def test_dict_round_trip():
    sk = small_skeleton()
    back = Skeleton.from_dict(sk.to_dict())
    assert back.same_hierarchy(sk)
    np.testing.assert_allclose(back.offsets_cm, sk.offsets_cm)
    assert set(back.end_sites_cm) == set(sk.end_sites_cm)


@pytest.mark.parametrize(
    "names,parents",
    [(["a", "b"], [0, -1]), (["a", "b"], [-1, 1]), (["a", "a"], [-1, 0]), (["a"], [-1, 0])],
)
def test_invalid_hierarchies_are_user_errors(names, parents):
    with pytest.raises(ChoreoError):
        Skeleton(names, parents, np.zeros((len(parents), 3)))
