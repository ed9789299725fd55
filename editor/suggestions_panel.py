"""The suggestions panel: top-K dance phrases for the selected music phrase, with score parts.

Rows show rank, name, style, energy, music fit P(d|u_t), transition in M(prev→d), transition out
M(d→next) and the combined score; the current placement is marked. A click auditions the row,
Enter / double-click / a number key (1–9) swaps it in. K is adjustable.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from editor.style import style_color

COLUMNS = ("#", "dance", "style", "energy", "fit", "in", "out", "score")


@dataclass(frozen=True)
class SuggestionRow:
    """One suggestion as the panel shows it."""

    dance_id: str
    name: str
    style: str
    energy: str
    music_fit: float
    transition_in: float | None
    transition_out: float | None
    score: float
    current: bool = False


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


class _Table(QTableWidget):
    """Table that turns Enter and number keys into swap requests."""

    swap_key = Signal(int)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentRow() >= 0:
            self.swap_key.emit(self.currentRow())
            return
        if Qt.Key.Key_1 <= key <= Qt.Key.Key_9 and not event.modifiers():
            self.swap_key.emit(key - Qt.Key.Key_1)
            return
        super().keyPressEvent(event)


class SuggestionsPanel(QWidget):
    """Top-K list; emits ``audition_requested(row)``, ``swap_requested(row)``, ``k_changed``."""

    audition_requested = Signal(int)
    swap_requested = Signal(int)
    k_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None, k: int = 10) -> None:
        super().__init__(parent)
        self.rows: list[SuggestionRow] = []
        self.title = QLabel("no phrase selected")
        self.title.setWordWrap(True)
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 100)
        self.k_spin.setValue(k)
        self.k_spin.setPrefix("top ")
        self.k_spin.setToolTip("how many suggestions to list (K)")
        self.k_spin.valueChanged.connect(self.k_changed)
        self.table = _Table(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.cellClicked.connect(lambda r, _c: self.audition_requested.emit(r))
        self.table.cellDoubleClicked.connect(lambda r, _c: self.swap_requested.emit(r))
        self.table.swap_key.connect(self._swap_row)
        self.table.setToolTip("click: audition · Enter / double-click / 1–9: swap in")
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.k_spin)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.table)

    @property
    def k(self) -> int:
        return self.k_spin.value()

    def _swap_row(self, row: int) -> None:
        if 0 <= row < len(self.rows):
            self.swap_requested.emit(row)

    def set_rows(self, title: str, rows: list[SuggestionRow]) -> None:
        """Show ``rows`` (best first); keeps the table's current row where it can."""
        self.title.setText(title)
        keep = self.table.currentRow()
        self.rows = rows
        table = self.table
        table.setUpdatesEnabled(False)
        table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            values = (
                str(r + 1),
                ("● " if row.current else "") + row.name,
                row.style,
                row.energy,
                _fmt(row.music_fit),
                _fmt(row.transition_in),
                _fmt(row.transition_out),
                f"{row.score:.2e}",
            )
            for c, text in enumerate(values):
                item = table.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    table.setItem(r, c, item)
                item.setText(text)
                item.setToolTip(row.dance_id if c == 1 else "")
                if c == 2:
                    item.setForeground(QBrush(style_color(row.style)))
                elif c == 1:
                    item.setForeground(
                        QBrush(QColor("#ffd23f") if row.current else self.palette().text().color())
                    )
        if 0 <= keep < len(rows):
            table.setCurrentCell(keep, 0)
        table.setUpdatesEnabled(True)

    def clear(self, title: str = "no phrase selected") -> None:
        self.set_rows(title, [])
