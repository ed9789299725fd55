"""The phrase timeline lane under the waveform: one block per placement.

Each block shows the dance name in its style colour, a lock mark and the confidence (the
scorer's music fit P(d|u) of the placed dance). Click selects; the time axis is linked to the
waveform so both zoom and scroll together. Blocks are painted by one item, so a refresh costs
one repaint.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from choreo_studio.editor.style import BACKGROUND, style_color
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen


@dataclass(frozen=True)
class Block:
    """What the lane draws for one placement."""

    start_s: float
    end_s: float
    title: str
    style: str
    locked: bool
    confidence: float | None
    section_label: str


class _BlocksItem(pg.GraphicsObject):
    """Paints every block in one pass; text is drawn in device pixels so it never stretches."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[Block] = []
        self.selected = -1
        self.playing = -1
        self._font = QFont()
        self._font.setPointSize(8)

    def set_blocks(self, blocks: list[Block]) -> None:
        self.prepareGeometryChange()
        self.blocks = blocks
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        end = self.blocks[-1].end_s if self.blocks else 1.0
        return QRectF(0.0, 0.0, end, 1.0)

    def paint(self, painter: QPainter, *_args) -> None:
        transform = painter.transform()
        painter.resetTransform()
        painter.setFont(self._font)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for i, block in enumerate(self.blocks):
            rect = transform.mapRect(QRectF(block.start_s, 0.06, block.end_s - block.start_s, 0.88))
            color = style_color(block.style)
            fill = QColor(color)
            fill.setAlpha(210 if i == self.selected else 140)
            painter.fillRect(rect, fill)
            pen = QPen(QColor("#ffffff") if i == self.selected else color.darker(160))
            pen.setWidth(3 if i == self.selected else 1)
            painter.setPen(pen)
            painter.drawRect(rect.adjusted(1, 1, -1, -1))
            if i == self.playing:
                painter.fillRect(
                    QRectF(rect.left(), rect.bottom() - 4, rect.width(), 4), QColor("#ff5050")
                )
            if rect.width() < 18:
                continue
            painter.setPen(QColor("#101010"))
            conf = "" if block.confidence is None else f"{100 * block.confidence:.0f}%"
            inner = rect.adjusted(4, 2, -4, -2)
            if block.locked:
                _draw_lock(painter, inner.left(), inner.top() + 2)
                painter.setPen(QColor("#101010"))
                inner = inner.adjusted(13, 0, 0, 0)
            metrics = painter.fontMetrics()
            width = int(inner.width())
            top = metrics.elidedText(block.title, Qt.TextElideMode.ElideRight, width)
            bottom = metrics.elidedText(
                f"{conf} {block.style} · {block.section_label}".strip(),
                Qt.TextElideMode.ElideRight,
                width,
            )
            align_top = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
            align_bottom = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom
            painter.drawText(inner, int(align_top), top)
            painter.drawText(inner, int(align_bottom), bottom)


def _draw_lock(painter: QPainter, x: float, y: float) -> None:
    """A small padlock (body and shackle) at (x, y), drawn so no font glyph is needed."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setPen(QPen(QColor("#101010"), 1.6))
    painter.drawArc(QRectF(x + 2, y, 6, 8), 0, 180 * 16)
    painter.fillRect(QRectF(x, y + 4, 10, 7), QColor("#101010"))
    painter.restore()


class TimelineView(pg.PlotWidget):
    """The lane of placements; emits ``phrase_clicked(index)`` and ``phrase_activated(index)``."""

    phrase_clicked = Signal(int)
    phrase_activated = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background=BACKGROUND)
        self.setFixedHeight(74)
        self.hideAxis("left")
        self.hideAxis("bottom")
        self.setMenuEnabled(False)
        self.hideButtons()
        vb = self.getViewBox()
        vb.setMouseEnabled(x=True, y=False)
        vb.setYRange(0.0, 1.0, padding=0)
        self._item = _BlocksItem()
        self.addItem(self._item)
        self.scene().sigMouseClicked.connect(self._on_click)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    @property
    def blocks(self) -> list[Block]:
        return self._item.blocks

    def set_blocks(self, blocks: list[Block]) -> None:
        self._item.set_blocks(blocks)

    def set_selected(self, index: int) -> None:
        self._item.selected = index
        self._item.update()

    def set_playing(self, index: int) -> None:
        if index != self._item.playing:
            self._item.playing = index
            self._item.update()

    def index_at(self, time_s: float) -> int:
        for i, block in enumerate(self._item.blocks):
            if block.start_s <= time_s < block.end_s:
                return i
        return -1

    def _on_click(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        vb = self.getViewBox()
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        index = self.index_at(float(vb.mapSceneToView(event.scenePos()).x()))
        if index < 0:
            return
        if event.double():
            self.phrase_activated.emit(index)
        else:
            self.phrase_clicked.emit(index)
