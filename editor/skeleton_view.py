"""The skeleton preview: the rendered dance following the playhead, with an orbit camera.

:class:`GLSkeletonView` uses pyqtgraph.opengl (bones, joints, floor grid). Where OpenGL is
missing (offscreen, remote desktops, broken drivers) :class:`FlatSkeletonView` draws the same
scene with QPainter under an orthographic orbit camera: drag to orbit, wheel to zoom.
:func:`make_skeleton_view` picks one. Both take FK positions precomputed for the whole song,
so following the playhead is an index into an array (nothing to compute per frame).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
from choreo_studio.editor.style import BACKGROUND
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPen
from PySide6.QtWidgets import QWidget

FLOOR_HALF_CM = 200.0
FLOOR_STEP_CM = 50.0


class SkeletonScene:
    """Joint positions ``[F, N, 3]`` (cm, Y up) at ``fps`` with ``parents[N]``; picks frames."""

    def __init__(self) -> None:
        self.positions = np.zeros((0, 0, 3), dtype=np.float32)
        self.parents = np.zeros(0, dtype=np.int64)
        self.fps = 30.0
        self.start_s = 0.0
        self.frame = -1

    def set_motion(
        self, positions: np.ndarray, parents: np.ndarray, fps: float, start_s: float = 0.0
    ) -> None:
        self.positions = np.asarray(positions, dtype=np.float32)
        self.parents = np.asarray(parents, dtype=np.int64)
        self.fps = float(fps)
        self.start_s = float(start_s)
        self.frame = -1

    def frame_at(self, time_s: float) -> int:
        if self.positions.shape[0] == 0:
            return -1
        f = int(round((time_s - self.start_s) * self.fps))
        return min(max(f, 0), self.positions.shape[0] - 1)

    def bone_pairs(self, frame: int) -> np.ndarray:
        """Start/end points of every bone at ``frame``: ``[2 * bones, 3]``."""
        return bone_pairs(self.positions[frame], self.parents)


def bone_pairs(positions: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """Start/end points of every bone of one pose ``positions[N, 3]``: ``[2 * bones, 3]``."""
    child = np.nonzero(parents >= 0)[0]
    return np.stack([positions[parents[child]], positions[child]], axis=1).reshape(-1, 3)


@dataclass
class OrbitCamera:
    """Orthographic camera orbiting the dancer: yaw/pitch in degrees and a zoom factor."""

    yaw_deg: float = 30.0
    pitch_deg: float = 15.0
    zoom: float = 1.0

    def project(
        self, points: np.ndarray, center: np.ndarray, width: int, height: int
    ) -> np.ndarray:
        """Pixel coordinates ``[n, 2]`` of world points (cm, Y up) on a width×height canvas."""
        yaw, pitch = math.radians(self.yaw_deg), math.radians(self.pitch_deg)
        p = points - center
        x = p[:, 0] * math.cos(yaw) - p[:, 2] * math.sin(yaw)
        z = p[:, 0] * math.sin(yaw) + p[:, 2] * math.cos(yaw)
        y = p[:, 1] * math.cos(pitch) - z * math.sin(pitch)
        scale = self.zoom * min(width, height) / 260.0
        return np.stack([width / 2 + x * scale, height * 0.55 - y * scale], axis=1)


def paint_pose(
    painter: QPainter,
    width: int,
    height: int,
    pose: np.ndarray | None,
    parents: np.ndarray,
    camera: OrbitCamera,
) -> None:
    """Draw the floor grid and one pose (``[N, 3]`` cm, or None for the floor only)."""
    painter.fillRect(0, 0, width, height, QColor(BACKGROUND))
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    root = pose[0] if pose is not None else np.zeros(3, dtype=np.float32)
    center = np.array([root[0], 90.0, root[2]], dtype=np.float32)
    painter.setPen(QPen(QColor(255, 255, 255, 45), 1))
    step = FLOOR_STEP_CM
    cx, cz = round(center[0] / step) * step, round(center[2] / step) * step
    h = FLOOR_HALF_CM
    for t in np.arange(-h, h + 1, step):
        seg = np.array(
            [[cx + t, 0, cz - h], [cx + t, 0, cz + h], [cx - h, 0, cz + t], [cx + h, 0, cz + t]],
            dtype=np.float32,
        )
        p = camera.project(seg, center, width, height)
        painter.drawLine(QPointF(*p[0]), QPointF(*p[1]))
        painter.drawLine(QPointF(*p[2]), QPointF(*p[3]))
    if pose is None:
        return
    pairs = camera.project(bone_pairs(pose, parents), center, width, height)
    painter.setPen(QPen(QColor("#f4f1de"), max(2.0, height / 160)))
    for a, b in pairs.reshape(-1, 2, 2):
        painter.drawLine(QPointF(*a), QPointF(*b))
    painter.setPen(QPen(QColor("#e07a5f"), max(4.0, height / 90)))
    for x, y in camera.project(pose, center, width, height):
        painter.drawPoint(QPointF(x, y))


class FlatSkeletonView(QWidget):
    """QPainter skeleton under an orthographic orbit camera (the no-OpenGL fallback)."""

    is_gl = False

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scene = SkeletonScene()
        self.camera = OrbitCamera()
        self._drag: QPointF | None = None
        self.setMinimumSize(200, 200)
        self.setToolTip("drag to orbit, wheel to zoom")

    def set_motion(
        self, positions: np.ndarray, parents: np.ndarray, fps: float, start_s: float = 0.0
    ) -> None:
        self.scene.set_motion(positions, parents, fps, start_s)
        self.update()

    def set_time(self, time_s: float) -> None:
        frame = self.scene.frame_at(time_s)
        if frame != self.scene.frame:
            self.scene.frame = frame
            self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        frame = self.scene.frame if self.scene.frame >= 0 else self.scene.frame_at(0.0)
        pose = self.scene.positions[frame] if frame >= 0 else None
        paint_pose(painter, self.width(), self.height(), pose, self.scene.parents, self.camera)
        painter.end()

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._drag = event.position()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._drag is None:
            return
        delta = event.position() - self._drag
        self._drag = event.position()
        cam = self.camera
        cam.yaw_deg = (cam.yaw_deg + 0.5 * delta.x()) % 360.0
        cam.pitch_deg = float(np.clip(cam.pitch_deg + 0.3 * delta.y(), -10.0, 80.0))
        self.update()

    def mouseReleaseEvent(self, _event) -> None:  # noqa: N802 - Qt API
        self._drag = None

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt API
        cam = self.camera
        cam.zoom = float(
            np.clip(cam.zoom * (1.15 if event.angleDelta().y() > 0 else 1 / 1.15), 0.3, 5.0)
        )
        self.update()


def _gl_view_class():
    """The OpenGL view class (imported lazily: PyOpenGL loads native libraries)."""
    import pyqtgraph.opengl as gl

    class GLSkeletonView(gl.GLViewWidget):
        """pyqtgraph.opengl skeleton: bones as lines, joints as points, a floor grid."""

        is_gl = True

        def __init__(self, parent: QWidget | None = None) -> None:
            super().__init__(parent)
            self.scene = SkeletonScene()
            self.setBackgroundColor(QColor(BACKGROUND))
            self.setCameraPosition(distance=330, elevation=10, azimuth=-60)
            grid = gl.GLGridItem()
            grid.setSize(2 * FLOOR_HALF_CM, 2 * FLOOR_HALF_CM)
            grid.setSpacing(FLOOR_STEP_CM, FLOOR_STEP_CM)
            self.addItem(grid)
            self._bones = gl.GLLinePlotItem(mode="lines", width=3, color=(0.95, 0.94, 0.87, 1.0))
            self._joints = gl.GLScatterPlotItem(size=7, color=(0.88, 0.48, 0.37, 1.0))
            self.addItem(self._bones)
            self.addItem(self._joints)
            self.setMinimumSize(200, 200)

        def set_motion(self, positions, parents, fps, start_s: float = 0.0) -> None:
            self.scene.set_motion(positions, parents, fps, start_s)
            self.set_time(start_s)

        def set_time(self, time_s: float) -> None:
            frame = self.scene.frame_at(time_s)
            if frame < 0 or frame == self.scene.frame:
                return
            self.scene.frame = frame
            # Y-up centimetres -> pyqtgraph's Z-up scene
            pairs = self.scene.bone_pairs(frame)[:, [0, 2, 1]]
            self._bones.setData(pos=pairs)
            self._joints.setData(pos=self.scene.positions[frame][:, [0, 2, 1]])
            root = self.scene.positions[frame, 0]
            self.opts["center"] = pg_vector(root[0], root[2], 90.0)
            self.update()

    def pg_vector(x: float, y: float, z: float):
        from PySide6.QtGui import QVector3D

        return QVector3D(float(x), float(y), float(z))

    return GLSkeletonView


def opengl_usable() -> bool:
    """False on offscreen/minimal platforms, with CHOREO_NO_GL set, or when PyOpenGL is absent."""
    if os.environ.get("CHOREO_NO_GL"):
        return False
    if QGuiApplication.platformName() in ("offscreen", "minimal", "vnc"):
        return False
    try:
        import OpenGL.GL  # noqa: F401
        import pyqtgraph.opengl  # noqa: F401
    except Exception:  # noqa: BLE001 - any import failure means no GL
        return False
    return True


def make_skeleton_view(parent: QWidget | None = None) -> QWidget:
    """The OpenGL view where it works, else the QPainter fallback."""
    if opengl_usable():
        try:
            return _gl_view_class()(parent)
        except Exception:  # noqa: BLE001 - context creation can fail at run time
            pass
    return FlatSkeletonView(parent)
