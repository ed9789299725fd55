"""The skeleton preview: the rendered dance following the playhead, with an orbit camera.

Two characters: a stick figure (bones as lines, joints as dots) or capsules (one per bone, see
:mod:`editor.capsules`). The floor is drawn, and every foot point on it (within
core.motion.contacts' contact height) is marked by a green disc under it.
:class:`GLSkeletonView` uses pyqtgraph.opengl (meshes, lines, floor). Where OpenGL is
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
from choreo_studio.core.motion.contacts import contact_mask
from choreo_studio.editor.capsules import bone_radii, joint_radii
from choreo_studio.editor.style import BACKGROUND
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

FLOOR_HALF_CM = 200.0
FLOOR_STEP_CM = 50.0
CONTACT_DISC_CM = 14.0
CHARACTERS = ("stick", "capsule")
"""The character options of both views."""
CONTACT_COLOR = "#81e979"
BONE_COLOR = "#f4f1de"
JOINT_COLOR = "#e07a5f"


class SkeletonScene:
    """Joint positions ``[F, N, 3]`` (cm, Y up) at ``fps`` with ``parents[N]``; picks frames."""

    def __init__(self) -> None:
        self.positions = np.zeros((0, 0, 3), dtype=np.float32)
        self.parents = np.zeros(0, dtype=np.int64)
        self.fps = 30.0
        self.start_s = 0.0
        self.frame = -1
        self.feet = np.zeros(0, dtype=np.int64)
        self.contacts = np.zeros((0, 0), dtype=bool)

    def set_motion(
        self, positions: np.ndarray, parents: np.ndarray, fps: float, start_s: float = 0.0,
        feet: np.ndarray | None = None,
    ) -> None:
        """A new motion; ``feet`` are the columns of ``positions`` that are foot points, whose
        floor contacts ``[F, len(feet)]`` are found once here (the floor is y = 0)."""
        self.positions = np.asarray(positions, dtype=np.float32)
        self.parents = np.asarray(parents, dtype=np.int64)
        self.fps = float(fps)
        self.start_s = float(start_s)
        self.frame = -1
        self.feet = np.zeros(0, dtype=np.int64) if feet is None else np.asarray(feet, np.int64)
        self.contacts = contact_mask(self.positions[:, self.feet])

    def contact_points(self, frame: int) -> np.ndarray:
        """Positions ``[n, 3]`` of the foot points touching the floor at ``frame``."""
        if frame < 0 or self.feet.size == 0:
            return np.zeros((0, 3), dtype=np.float32)
        return self.positions[frame, self.feet[self.contacts[frame]]]

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

    def scale(self, width: int, height: int) -> float:
        """Pixels per centimetre on a width×height canvas."""
        return self.zoom * min(width, height) / 260.0

    def project(
        self, points: np.ndarray, center: np.ndarray, width: int, height: int
    ) -> np.ndarray:
        """Pixel coordinates ``[n, 2]`` of world points (cm, Y up) on a width×height canvas."""
        yaw, pitch = math.radians(self.yaw_deg), math.radians(self.pitch_deg)
        p = points - center
        x = p[:, 0] * math.cos(yaw) - p[:, 2] * math.sin(yaw)
        z = p[:, 0] * math.sin(yaw) + p[:, 2] * math.cos(yaw)
        y = p[:, 1] * math.cos(pitch) - z * math.sin(pitch)
        scale = self.scale(width, height)
        return np.stack([width / 2 + x * scale, height * 0.55 - y * scale], axis=1)

    def nearness(self, points: np.ndarray) -> np.ndarray:
        """How near the viewer each point is (larger is nearer): the painter's draw order."""
        yaw, pitch = math.radians(self.yaw_deg), math.radians(self.pitch_deg)
        z = points[:, 0] * math.sin(yaw) + points[:, 2] * math.cos(yaw)
        return z * math.cos(pitch) + points[:, 1] * math.sin(pitch)


def paint_pose(
    painter: QPainter,
    width: int,
    height: int,
    pose: np.ndarray | None,
    parents: np.ndarray,
    camera: OrbitCamera,
    character: str = "stick",
    contacts: np.ndarray | None = None,
) -> None:
    """Draw the floor, the foot ``contacts`` ``[n, 3]`` on it and one pose (``[N, 3]`` cm, or
    None for the floor only) as a stick figure or as capsules."""
    painter.fillRect(0, 0, width, height, QColor(BACKGROUND))
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    root = pose[0] if pose is not None else np.zeros(3, dtype=np.float32)
    center = np.array([root[0], 90.0, root[2]], dtype=np.float32)
    _paint_floor(painter, width, height, center, camera)
    if contacts is not None and len(contacts):
        _paint_contacts(painter, width, height, center, camera, contacts)
    if pose is None:
        return
    if character == "capsule":
        _paint_capsules(painter, width, height, center, camera, pose, parents)
        return
    pairs = camera.project(bone_pairs(pose, parents), center, width, height)
    painter.setPen(QPen(QColor(BONE_COLOR), max(2.0, height / 160)))
    for a, b in pairs.reshape(-1, 2, 2):
        painter.drawLine(QPointF(*a), QPointF(*b))
    painter.setPen(QPen(QColor(JOINT_COLOR), max(4.0, height / 90)))
    for x, y in camera.project(pose, center, width, height):
        painter.drawPoint(QPointF(x, y))


def _floor_square(cx: float, cz: float, half: float) -> np.ndarray:
    return np.array([[cx - half, 0, cz - half], [cx + half, 0, cz - half],
                     [cx + half, 0, cz + half], [cx - half, 0, cz + half]], dtype=np.float32)


def _paint_floor(painter: QPainter, width: int, height: int, center: np.ndarray,
                 camera: OrbitCamera) -> None:
    """A filled floor square with a grid, following the dancer in whole grid steps."""
    step = FLOOR_STEP_CM
    cx, cz = round(center[0] / step) * step, round(center[2] / step) * step
    h = FLOOR_HALF_CM
    corners = camera.project(_floor_square(cx, cz, h), center, width, height)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(255, 255, 255, 14))
    painter.drawPolygon(QPolygonF([QPointF(*c) for c in corners]))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(QColor(255, 255, 255, 45), 1))
    for t in np.arange(-h, h + 1, step):
        seg = np.array(
            [[cx + t, 0, cz - h], [cx + t, 0, cz + h], [cx - h, 0, cz + t], [cx + h, 0, cz + t]],
            dtype=np.float32,
        )
        p = camera.project(seg, center, width, height)
        painter.drawLine(QPointF(*p[0]), QPointF(*p[1]))
        painter.drawLine(QPointF(*p[2]), QPointF(*p[3]))


def _paint_contacts(painter: QPainter, width: int, height: int, center: np.ndarray,
                    camera: OrbitCamera, contacts: np.ndarray) -> None:
    """A green disc on the floor under each foot point that touches it."""
    angles = np.linspace(0.0, 2 * np.pi, 16, endpoint=False)
    ring = np.stack([np.cos(angles), np.zeros_like(angles), np.sin(angles)], 1) * CONTACT_DISC_CM
    color = QColor(CONTACT_COLOR)
    color.setAlpha(150)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    for point in contacts:
        disc = ring + np.array([point[0], 0.0, point[2]], dtype=np.float32)
        pixels = camera.project(disc, center, width, height)
        painter.drawPolygon(QPolygonF([QPointF(*p) for p in pixels]))
    painter.setBrush(Qt.BrushStyle.NoBrush)


def _paint_capsules(painter: QPainter, width: int, height: int, center: np.ndarray,
                    camera: OrbitCamera, pose: np.ndarray, parents: np.ndarray) -> None:
    """One round-capped stroke per bone, as wide as its capsule, far ones first and darker."""
    pairs = bone_pairs(pose, parents).reshape(-1, 2, 3)
    if not len(pairs):
        return
    radii = bone_radii(pairs)
    near = camera.nearness(pairs.mean(axis=1) - center)
    shade = (near - near.min()) / max(float(np.ptp(near)), 1e-6)
    pixels = camera.project(pairs.reshape(-1, 3), center, width, height).reshape(-1, 2, 2)
    scale = camera.scale(width, height)
    base = QColor(BONE_COLOR)
    for b in np.argsort(near):
        color = base.darker(int(175 - 75 * shade[b]))
        pen = QPen(color, max(2.0, 2 * radii[b] * scale))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.drawLine(QPointF(*pixels[b, 0]), QPointF(*pixels[b, 1]))


class FlatSkeletonView(QWidget):
    """QPainter skeleton under an orthographic orbit camera (the no-OpenGL fallback)."""

    is_gl = False

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scene = SkeletonScene()
        self.camera = OrbitCamera()
        self.character = "stick"
        self._drag: QPointF | None = None
        self.setMinimumSize(200, 200)
        self.setToolTip("drag to orbit, wheel to zoom")

    def set_motion(
        self, positions: np.ndarray, parents: np.ndarray, fps: float, start_s: float = 0.0,
        feet: np.ndarray | None = None,
    ) -> None:
        self.scene.set_motion(positions, parents, fps, start_s, feet)
        self.update()

    def set_character(self, character: str) -> None:
        """Draw the dancer as ``"stick"`` or ``"capsule"`` (see :data:`CHARACTERS`)."""
        if character not in CHARACTERS:
            raise ValueError(f"unknown character {character!r}")
        self.character = character
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
        paint_pose(painter, self.width(), self.height(), pose, self.scene.parents, self.camera,
                   self.character, self.scene.contact_points(frame))
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
    import pyqtgraph as pg
    import pyqtgraph.opengl as gl
    from choreo_studio.editor.capsules import bone_matrices, sphere_matrices

    bone_rgba, joint_rgba = (0.95, 0.94, 0.87, 1.0), (0.88, 0.48, 0.37, 1.0)

    class GLSkeletonView(gl.GLViewWidget):
        """pyqtgraph.opengl skeleton: a stick figure (lines and points) or capsules (a
        cylinder and two spheres per bone), a floor with its grid, green foot contacts."""

        is_gl = True

        def __init__(self, parent: QWidget | None = None) -> None:
            super().__init__(parent)
            self.scene = SkeletonScene()
            self.character = "stick"
            self.setBackgroundColor(QColor(BACKGROUND))
            self.setCameraPosition(distance=330, elevation=10, azimuth=-60)
            h = FLOOR_HALF_CM
            floor = gl.MeshData(vertexes=np.array([[-h, -h, 0], [h, -h, 0], [h, h, 0],
                                                   [-h, h, 0]], dtype=np.float32),
                                faces=np.array([[0, 1, 2], [0, 2, 3]]))
            self._floor = gl.GLMeshItem(meshdata=floor, color=(1, 1, 1, 0.06),
                                        glOptions="translucent")
            self.addItem(self._floor)
            grid = gl.GLGridItem()
            grid.setSize(2 * FLOOR_HALF_CM, 2 * FLOOR_HALF_CM)
            grid.setSpacing(FLOOR_STEP_CM, FLOOR_STEP_CM)
            self.addItem(grid)
            self._bones = gl.GLLinePlotItem(mode="lines", width=3, color=bone_rgba)
            self._joints = gl.GLScatterPlotItem(size=7, color=joint_rgba)
            self._contacts = gl.GLScatterPlotItem(size=26, color=(0.5, 0.91, 0.47, 0.8))
            for item in (self._bones, self._joints, self._contacts):
                self.addItem(item)
            self._cylinder = gl.MeshData.cylinder(rows=1, cols=14)
            self._sphere = gl.MeshData.sphere(rows=6, cols=12)
            self._capsules: list = []
            self._caps: list = []
            self.setMinimumSize(200, 200)

        def set_motion(self, positions, parents, fps, start_s: float = 0.0,
                       feet: np.ndarray | None = None) -> None:
            self.scene.set_motion(positions, parents, fps, start_s, feet)
            self._make_capsules()
            self.set_time(start_s)

        def set_character(self, character: str) -> None:
            """Draw the dancer as ``"stick"`` or ``"capsule"`` (see :data:`CHARACTERS`)."""
            if character not in CHARACTERS:
                raise ValueError(f"unknown character {character!r}")
            self.character = character
            self._make_capsules()
            frame, self.scene.frame = self.scene.frame, -1
            if frame >= 0:
                self._show_frame(frame)

        def _make_capsules(self) -> None:
            """One cylinder per bone and one sphere per point, made once per skeleton."""
            n_bones = int((self.scene.parents >= 0).sum())
            n_points = len(self.scene.parents)
            if self.character != "capsule" or (
                    len(self._capsules) == n_bones and len(self._caps) == n_points):
                return
            for item in self._capsules + self._caps:
                self.removeItem(item)
            self._capsules = [gl.GLMeshItem(meshdata=self._cylinder, smooth=True,
                                            shader="shaded", color=bone_rgba)
                              for _ in range(n_bones)]
            self._caps = [gl.GLMeshItem(meshdata=self._sphere, smooth=True, shader="shaded",
                                        color=bone_rgba) for _ in range(n_points)]
            for item in self._capsules + self._caps:
                self.addItem(item)

        def set_time(self, time_s: float) -> None:
            frame = self.scene.frame_at(time_s)
            if frame >= 0 and frame != self.scene.frame:
                self._show_frame(frame)

        def _show_frame(self, frame: int) -> None:
            self.scene.frame = frame
            # Y-up centimetres -> pyqtgraph's Z-up scene
            pose = self.scene.positions[frame][:, [0, 2, 1]]
            pairs = self.scene.bone_pairs(frame)[:, [0, 2, 1]]
            capsule = self.character == "capsule"
            self._bones.setVisible(not capsule)
            self._joints.setVisible(not capsule)
            for item in self._capsules + self._caps:
                item.setVisible(capsule)
            if capsule:
                bones = pairs.reshape(-1, 2, 3)
                radii = bone_radii(bones)
                for item, m in zip(self._capsules, bone_matrices(bones, radii), strict=True):
                    item.setTransform(pg.Transform3D(m))
                caps = sphere_matrices(pose, joint_radii(len(pose), self.scene.parents, radii))
                for item, m in zip(self._caps, caps, strict=True):
                    item.setTransform(pg.Transform3D(m))
            else:
                self._bones.setData(pos=pairs)
                self._joints.setData(pos=pose)
            feet = self.scene.contact_points(frame)[:, [0, 2, 1]] * np.array([1, 1, 0])
            self._contacts.setData(pos=feet + np.array([0, 0, 0.5]))
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
