"""The phrase timeline lane under the waveform: one block per placement.

Each block shows its dance in a colour of its style (lighter or darker, and hatched, per dance
within the style, so two dances of one style never look alike), a lock mark, a warning mark
when a locked phrase's span changed, and a label that adapts to the room it has: the full
name, then the short name, then the style glyph with the dance's index, then (a block a few
pixels wide) the style's initial alone, its colour and hatch telling the dances apart. The
label stays in the
visible part of a block that runs off screen; the tooltip has the full description. Bar ticks
along the lane thin out with the zoom. Click selects (Shift: a run, Ctrl: add / drop), a
right click asks for the block's menu, a dance dragged from the library drops onto a phrase
(outlined while the drag is over it).
Blocks are painted by one item, so a refresh costs one repaint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from choreo_studio.editor.library_browser import DANCE_MIME
from choreo_studio.editor.style import BACKGROUND, style_color
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen

MIN_TICK_SPACING_PX = 6
"""Bar ticks closer than this on screen are thinned to every 2nd, 4th … bar."""

DROP_COLOR = "#3fd0ff"
"""The outline of the block a dragged library dance would be placed on."""
_PATTERNS = (Qt.BrushStyle.NoBrush, Qt.BrushStyle.BDiagPattern, Qt.BrushStyle.FDiagPattern,
             Qt.BrushStyle.DiagCrossPattern)
_SHADES = (100, 125, 80, 145, 65)


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
    short: str = ""
    variant: int = 0
    """The dance's index among the placed dances of its style (colour shade and pattern)."""
    description: str = ""
    flagged: bool = False

    @property
    def glyph(self) -> str:
        """Style initial and dance index, the label of a block too narrow for a name."""
        return f"{(self.style[:1] or '?').upper()}{self.variant + 1}"

    def labels(self) -> tuple[str, ...]:
        """The label candidates, longest first (the last: the style's initial)."""
        return tuple(dict.fromkeys(t for t in (self.title, self.short, self.glyph,
                                               self.glyph[:1]) if t))


def block_fill(block: Block) -> QColor:
    """The block's colour: its style's, shaded by the dance's index within the style."""
    return style_color(block.style).lighter(_SHADES[block.variant % len(_SHADES)])


def block_pattern(block: Block) -> Qt.BrushStyle:
    """The hatch over the block (dances 1, 5 … plain; 2, 6 … hatched one way …)."""
    return _PATTERNS[(block.variant // len(_SHADES) + block.variant) % len(_PATTERNS)]


def fit_label(block: Block, width_px: float, advance) -> str:
    """The longest of the block's labels that fits ``width_px`` (``advance(text)`` measures
    it); "" when not even the glyph fits."""
    return next((t for t in block.labels() if advance(t) <= width_px), "")


def fit_detail(block: Block, width_px: float, advance) -> str:
    """The block's second line: "61% · A" (fit and section), else "61%", else "" — never a
    number cut short ("20…" read as a fit of 20)."""
    conf = "" if block.confidence is None else f"{100 * block.confidence:.0f}%"
    texts = (f"{conf} · {block.section_label}".strip(" ·"), conf)
    return next((t for t in texts if t and advance(t) <= width_px), "")


class _BlocksItem(pg.GraphicsObject):
    """Paints every block in one pass; text is drawn in device pixels so it never stretches.

    A change repaints only the blocks it touches (a swap: one block; a selection or playing
    change: the old and new blocks), and each paint skips the blocks outside the exposed
    rectangle; fitted labels are cached by their room, so a repaint measures no text.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setFlag(self.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.blocks: list[Block] = []
        self.selected: set[int] = set()
        self.current = -1
        self.playing = -1
        self.drop_target = -1
        """The block a library dance being dragged would land on (-1: none)."""
        self.downbeats_s = np.zeros(0)
        self._font = QFont()
        self._font.setPointSize(8)
        self.drawn_labels: list[str] = []
        self._layout: dict[tuple, str] = {}

    def set_blocks(self, blocks: list[Block]) -> None:
        """Show ``blocks``; when only some changed (same count and span), repaint just those."""
        old = self.blocks
        if len(old) == len(blocks) and old and old[-1].end_s == blocks[-1].end_s:
            self.blocks = blocks
            for i, (a, b) in enumerate(zip(old, blocks, strict=True)):
                if a != b:
                    self.update_block(i)
            return
        self.prepareGeometryChange()
        self.blocks = blocks
        self.drawn_labels = [""] * len(blocks)
        self.update()

    def update_block(self, i: int) -> None:
        """Schedule a repaint of block ``i``'s rectangle only (-1 or out of range: nothing)."""
        if 0 <= i < len(self.blocks):
            block = self.blocks[i]
            self.update(QRectF(block.start_s, 0.0, block.end_s - block.start_s, 1.12))

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        end = self.blocks[-1].end_s if self.blocks else 1.0
        return QRectF(0.0, 0.0, end, 1.12)

    def _fitted(self, key: tuple, make) -> str:
        """``make()`` once per ``key`` (label text by the room it has)."""
        text = self._layout.get(key)
        if text is None:
            if len(self._layout) > 4096:
                self._layout.clear()
            text = self._layout[key] = make()
        return text

    def paint(self, painter: QPainter, option, *_args) -> None:
        transform = painter.transform()
        exposed = transform.mapRect(option.exposedRect)
        painter.resetTransform()
        view = self.getViewBox()  # the lane's visible span (the viewport also holds margins)
        visible = transform.mapRect(view.viewRect()) if view is not None else QRectF(
            painter.viewport())
        painter.setFont(self._font)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        metrics = painter.fontMetrics()
        if len(self.drawn_labels) != len(self.blocks):
            self.drawn_labels = [""] * len(self.blocks)
        for i, block in enumerate(self.blocks):
            rect = transform.mapRect(QRectF(block.start_s, 0.06, block.end_s - block.start_s, 0.88))
            if rect.right() < visible.left() or rect.left() > visible.right():
                self.drawn_labels[i] = ""
                continue
            if rect.right() < exposed.left() or rect.left() > exposed.right():
                continue  # on screen but not repainted now: its label stays as drawn
            self._paint_block(painter, i, block, rect)
            shown = rect.intersected(visible.adjusted(0, -1e6, 0, 1e6))  # the part on screen
            pad = 4 if shown.width() > 40 else 2  # a narrow block keeps room for its initial
            inner = shown.adjusted(pad, 2, -pad, -2)
            if block.locked and inner.width() > 30:
                _draw_lock(painter, inner.left(), inner.top() + 2)
                inner = inner.adjusted(13, 0, 0, 0)
            if block.flagged and inner.width() > 30:
                _draw_warning(painter, inner.left(), inner.top() + 1)
                inner = inner.adjusted(13, 0, 0, 0)
            room = int(inner.width())
            title = self._fitted((block.labels(), room), lambda b=block, r=room: fit_label(
                b, r, metrics.horizontalAdvance))
            self.drawn_labels[i] = title
            if not title:
                continue
            painter.setPen(QColor("#101010"))
            align_top = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
            painter.drawText(inner, int(align_top), title)
            detail = self._fitted(("detail", block.confidence, block.section_label, room),
                                  lambda b=block, r=room: fit_detail(b, r,
                                                                     metrics.horizontalAdvance))
            if detail:
                align_bottom = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom
                painter.drawText(inner, int(align_bottom), detail)
        self._paint_ticks(painter, transform, exposed)

    def _paint_block(self, painter: QPainter, i: int, block: Block, rect: QRectF) -> None:
        fill = block_fill(block)
        fill.setAlpha(225 if i in self.selected else 165)
        painter.fillRect(rect, fill)
        pattern = block_pattern(block)
        if pattern != Qt.BrushStyle.NoBrush:
            painter.fillRect(rect, QBrush(QColor(0, 0, 0, 60), pattern))
        chosen = i in self.selected
        pen = QPen(QColor("#ffffff") if chosen else fill.darker(170))
        pen.setWidth(3 if i == self.current else 2 if chosen else 1)
        painter.setPen(pen)
        painter.drawRect(rect.adjusted(1, 1, -1, -1))
        if i == self.playing:
            painter.fillRect(QRectF(rect.left(), rect.bottom() - 4, rect.width(), 4),
                             QColor("#ff5050"))
        if i == self.drop_target:  # where a dragged library dance would land
            painter.setPen(QPen(QColor(DROP_COLOR), 3))
            painter.drawRect(rect.adjusted(2, 2, -2, -2))

    def _paint_ticks(self, painter: QPainter, transform, visible: QRectF) -> None:
        """Bar ticks along the bottom of the lane, thinned so they stay ≥ 6 px apart (only
        those inside ``visible``, the repainted part)."""
        db = self.downbeats_s
        if db.size < 2:
            return
        xs = np.array([transform.map(QPointF(float(t), 0.0)).x() for t in (db[0], db[-1])])
        px_per_bar = (xs[1] - xs[0]) / (db.size - 1)
        step = 1
        while step * px_per_bar < MIN_TICK_SPACING_PX:
            step *= 2
        bottom = transform.map(QPointF(0.0, 1.0)).y()
        painter.setPen(QPen(QColor(255, 255, 255, 90), 1))
        x0, scale = xs[0], (xs[1] - xs[0]) / max(float(db[-1] - db[0]), 1e-9)
        first, last = np.searchsorted(db, [db[0] + (visible.left() - x0 - 1) / scale,
                                           db[0] + (visible.right() - x0 + 1) / scale])
        for k in range(int(first) - int(first) % step, int(last), step):
            x = x0 + (float(db[k]) - db[0]) * scale
            painter.drawLine(QPointF(x, bottom), QPointF(x, bottom + (5 if k % 4 else 8)))


def _draw_lock(painter: QPainter, x: float, y: float) -> None:
    """A small padlock (body and shackle) at (x, y), drawn so no font glyph is needed."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setPen(QPen(QColor("#101010"), 1.6))
    painter.drawArc(QRectF(x + 2, y, 6, 8), 0, 180 * 16)
    painter.fillRect(QRectF(x, y + 4, 10, 7), QColor("#101010"))
    painter.restore()


def _draw_warning(painter: QPainter, x: float, y: float) -> None:
    """A small warning triangle: a locked phrase whose span changed."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setPen(QPen(QColor("#101010"), 1))
    painter.setBrush(QColor("#ffd23f"))
    painter.drawPolygon([QPointF(x + 5, y), QPointF(x + 11, y + 11), QPointF(x - 1, y + 11)])
    painter.drawLine(QPointF(x + 5, y + 4), QPointF(x + 5, y + 7.5))
    painter.restore()


class TimelineView(pg.PlotWidget):
    """The lane of placements. Emits ``phrase_clicked(index, mode)`` (mode "", "range",
    "toggle"), ``phrase_activated(index)``, ``context_requested(index, global_pos)`` and
    ``dance_dropped(index, dance_id)``."""

    phrase_clicked = Signal(int, str)
    phrase_activated = Signal(int)
    context_requested = Signal(int, QPoint)
    dance_dropped = Signal(int, str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background=BACKGROUND)
        self.setFixedHeight(78)
        self.hideAxis("left")
        self.hideAxis("bottom")
        self.setMenuEnabled(False)
        self.hideButtons()
        vb = self.getViewBox()
        vb.setMouseEnabled(x=True, y=False)
        vb.setYRange(0.0, 1.12, padding=0)
        self._item = _BlocksItem()
        self.addItem(self._item)
        self.scene().sigMouseClicked.connect(self._on_click)
        self.scene().sigMouseMoved.connect(self._on_hover)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(True)

    @property
    def blocks(self) -> list[Block]:
        return self._item.blocks

    @property
    def drawn_labels(self) -> list[str]:
        """The label each block showed at the last paint ("" for none or off screen)."""
        return list(self._item.drawn_labels)

    def set_blocks(self, blocks: list[Block]) -> None:
        self._item.set_blocks(blocks)

    def set_bars(self, downbeats_s: np.ndarray) -> None:
        """The bar lines the lane ticks."""
        self._item.downbeats_s = np.asarray(downbeats_s, dtype=float)
        self._item.update()

    def set_selected(self, index: int, selection: list[int] | None = None) -> None:
        """Highlight ``selection`` (default: just ``index``) with ``index`` as the current one;
        only the blocks whose highlight changes are repainted."""
        item = self._item
        chosen = set(selection if selection is not None else [index]) - {-1}
        touched = (item.selected ^ chosen) | ({item.current, index} if item.current != index
                                              else set())
        item.current, item.selected = index, chosen
        for i in touched:
            item.update_block(i)

    def set_playing(self, index: int) -> None:
        """Mark the block under the playhead (repaints the old and the new one only)."""
        item = self._item
        if index != item.playing:
            item.update_block(item.playing)
            item.playing = index
            item.update_block(index)

    def index_at(self, time_s: float) -> int:
        for i, block in enumerate(self._item.blocks):
            if block.start_s <= time_s < block.end_s:
                return i
        return -1

    def index_at_widget(self, pos: QPointF) -> int:
        """The block under a point in widget coordinates (-1: none)."""
        vb = self.getViewBox()
        return self.index_at(float(vb.mapSceneToView(self.mapToScene(pos.toPoint())).x()))

    def _index_at_scene(self, scene_pos) -> int:
        vb = self.getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return -1
        return self.index_at(float(vb.mapSceneToView(scene_pos).x()))

    def _on_hover(self, scene_pos) -> None:
        index = self._index_at_scene(scene_pos)
        self.setToolTip(self._item.blocks[index].description if index >= 0 else "")

    def _on_click(self, event) -> None:
        index = self._index_at_scene(event.scenePos())
        if index < 0:
            return
        if event.button() == Qt.MouseButton.RightButton:
            self.context_requested.emit(index, event.screenPos().toPoint())
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if event.double():
            self.phrase_activated.emit(index)
            return
        mods = event.modifiers()
        mode = ("range" if mods & Qt.KeyboardModifier.ShiftModifier else
                "toggle" if mods & Qt.KeyboardModifier.ControlModifier else "")
        self.phrase_clicked.emit(index, mode)

    # -- drops from the library -------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasFormat(DANCE_MIME):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        index = self.index_at_widget(event.position()) if event.mimeData().hasFormat(
            DANCE_MIME) else -1
        self._set_drop_target(index)
        if index >= 0:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._set_drop_target(-1)
        super().dragLeaveEvent(event)

    def _set_drop_target(self, index: int) -> None:
        """Outline the block a drop would land on (repainting the old and the new one)."""
        item = self._item
        if index != item.drop_target:
            item.update_block(item.drop_target)
            item.drop_target = index
            item.update_block(index)

    @property
    def drop_target(self) -> int:
        """The block outlined as the drop target (-1: none)."""
        return self._item.drop_target

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._set_drop_target(-1)
        index = self.index_at_widget(event.position())
        if not event.mimeData().hasFormat(DANCE_MIME) or index < 0:
            event.ignore()
            return
        dance_id = bytes(event.mimeData().data(DANCE_MIME)).decode("utf-8")
        event.acceptProposedAction()
        self.dance_dropped.emit(index, dance_id)
