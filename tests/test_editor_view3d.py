"""The 3D view's characters and floor contacts: capsule geometry, the QPainter fallback drawing
capsules and contacts (offscreen, no OpenGL), and the capsule toggle in the main window."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from choreo_studio.editor.app import make_app  # noqa: E402
from choreo_studio.editor.capsules import (  # noqa: E402
    bone_matrices,
    bone_radii,
    joint_radii,
    sphere_matrices,
)
from choreo_studio.editor.skeleton_view import FlatSkeletonView, make_skeleton_view  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QWheelEvent  # noqa: E402

from tests import test_editor as editor_tests  # noqa: E402

assets, _quiet, opened = editor_tests.assets, editor_tests._quiet, editor_tests.opened
_window = editor_tests._window

# a pelvis, two legs (hip -> knee -> foot) and a spine, cm, Y up
PARENTS = np.array([-1, 0, 1, 2, 0, 4, 5, 0])
POSE = np.array([[0, 95, 0], [10, 90, 0], [10, 50, 0], [10, 1, 0],
                 [-10, 90, 0], [-10, 50, 0], [-10, 30, 20], [0, 150, 0]], dtype=np.float32)
FEET = np.array([3, 6])


def _motion() -> np.ndarray:
    """Frame 0: the right foot on the floor; frame 1: both feet in the air."""
    lifted = POSE.copy()
    lifted[:, 1] += 25.0
    return np.stack([POSE, lifted])


def _rgb(image) -> np.ndarray:
    ptr = image.convertToFormat(image.Format.Format_RGB32)
    arr = np.frombuffer(ptr.constBits(), np.uint8).reshape(ptr.height(), ptr.width(), 4)
    return arr[..., [2, 1, 0]].astype(int)


def _count(image, color: str, tolerance: int = 40) -> int:
    rgb = np.array(QColor(color).getRgb()[:3])
    return int((np.abs(_rgb(image) - rgb).sum(axis=2) < tolerance).sum())


def _green(image) -> int:
    """Pixels of the contact discs: clearly greener than red and blue."""
    r, g, b = np.moveaxis(_rgb(image), 2, 0)
    return int(((g > r + 30) & (g > b + 30)).sum())


def test_capsule_matrices_put_a_unit_cylinder_on_each_bone():
    pairs = np.array([[[0, 0, 0], [0, 0, 10]], [[1, 2, 3], [4, 6, 3]]], dtype=np.float32)
    radii = np.array([2.0, 0.5])
    m = bone_matrices(pairs, radii)
    for b in range(2):
        base, top = m[b] @ [0, 0, 0, 1], m[b] @ [0, 0, 1, 1]
        np.testing.assert_allclose(base[:3], pairs[b, 0], atol=1e-6)
        np.testing.assert_allclose(top[:3], pairs[b, 1], atol=1e-6)
        rim = (m[b] @ [1, 0, 0, 1])[:3] - pairs[b, 0]
        assert np.linalg.norm(rim) == pytest.approx(radii[b])
        assert abs(np.dot(rim, pairs[b, 1] - pairs[b, 0])) < 1e-5  # across the bone
    s = sphere_matrices(pairs[:, 1], radii)
    np.testing.assert_allclose((s[1] @ [0, 1, 0, 1])[:3], pairs[1, 1] + [0, 0.5, 0])
    assert bone_radii(np.array([[[0, 0, 0], [0, 200, 0]], [[0, 0, 0], [0, 1, 0]]])).tolist() == [
        9.0, 3.0]
    np.testing.assert_allclose(joint_radii(3, np.array([-1, 0, 1]), np.array([4.0, 6.0])),
                               [4.0, 6.0, 6.0])


def test_fallback_draws_capsules_and_contacts_and_zooms_without_errors(qtbot):
    make_app()
    view = FlatSkeletonView()
    qtbot.addWidget(view)
    view.resize(400, 400)
    view.set_motion(_motion(), PARENTS, 30.0, feet=FEET)
    assert view.scene.contacts.tolist() == [[True, False], [False, False]]
    np.testing.assert_array_equal(view.scene.contact_points(0), POSE[[3]])
    view.set_time(0.0)
    touching = view.grab().toImage()
    view.set_time(1 / 30)
    lifted = view.grab().toImage()
    assert _green(touching) > 50 and _green(lifted) == 0
    view.set_time(0.0)
    stick = _count(view.grab().toImage(), "#f4f1de", 60)
    view.set_character("capsule")
    capsules = view.grab().toImage()
    assert _count(capsules, "#f4f1de", 120) > 2 * stick  # thick bodies, not lines
    assert _count(capsules, "#e07a5f", 40) == 0  # no stick-figure joint dots
    assert _green(capsules) > 20  # the contact disc shows around the foot
    with pytest.raises(ValueError):
        view.set_character("mesh")
    zoom = view.camera.zoom
    view.wheelEvent(QWheelEvent(QPointF(200, 200), QPointF(200, 200), QPoint(0, 0),
                                QPoint(0, 120), Qt.MouseButton.NoButton,
                                Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                                False))
    assert view.camera.zoom > zoom
    view.grab()


def test_offscreen_picks_the_fallback_with_the_same_api(qtbot):
    make_app()
    view = make_skeleton_view()
    qtbot.addWidget(view)
    assert not view.is_gl
    view.set_motion(_motion(), PARENTS, 30.0)  # no feet given: no contacts, no error
    assert view.scene.contact_points(0).shape == (0, 3)
    view.set_character("capsule")
    view.grab()


def test_capsule_toggle_is_an_action_and_is_remembered(opened, qtbot, tmp_path, assets):
    assert opened.skeleton.character == "stick" and not opened.action("capsule").isChecked()
    opened.action("capsule").trigger()
    assert opened.skeleton.character == "capsule"
    assert opened.settings.value("character") == "capsule"
    opened.settings.sync()
    again = _window(qtbot, tmp_path, assets)
    assert again.skeleton.character == "capsule" and again.action("capsule").isChecked()
    opened.action("capsule").trigger()
    assert opened.skeleton.character == "stick"


def test_opengl_view_capsules_follow_the_bones_where_opengl_runs(qtbot):
    """Runs under a real display (e.g. Xvfb with Mesa); offscreen it is skipped."""
    from choreo_studio.editor.skeleton_view import _gl_view_class, opengl_usable

    make_app()
    if not opengl_usable():
        pytest.skip("no OpenGL on this platform")
    view = _gl_view_class()()
    qtbot.addWidget(view)
    view.resize(300, 300)
    view.show()
    view.set_motion(_motion(), PARENTS, 30.0, feet=FEET)
    np.testing.assert_allclose(view._contacts.pos[:, :2], POSE[[3]][:, [0, 2]])
    view.set_character("capsule")
    assert len(view._capsules) == 7 and len(view._caps) == 8
    assert not view._bones.visible() and all(c.visible() for c in view._capsules)
    top = np.array(view._capsules[2].transform().data()).reshape(4, 4).T @ [0, 0, 1, 1]
    np.testing.assert_allclose(top[:3], POSE[3][[0, 2, 1]], atol=1e-3)  # Z-up scene
    view.set_time(1 / 30)
    assert view._contacts.pos.shape == (0, 3)
    view.set_character("stick")
    assert view._bones.visible() and not any(c.visible() for c in view._capsules)
    view.grabFramebuffer()


def test_mp4_frames_show_the_contacts_too():
    from choreo_studio.editor.skeleton_view import OrbitCamera
    from choreo_studio.editor.video_export import _draw_frame
    from PySide6.QtGui import QFont, QImage

    make_app()
    image = QImage(320, 240, QImage.Format.Format_RGB888)
    _draw_frame(image, POSE, PARENTS, OrbitCamera(), QFont(), 0.0, (), POSE[[3]])
    assert _green(image) > 20
    _draw_frame(image, POSE, PARENTS, OrbitCamera(), QFont(), 0.0, (), POSE[[]])
    assert _green(image) == 0
