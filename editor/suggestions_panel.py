"""The suggestions panel: top-K dance phrases for the selected music phrase, with score parts.

Rows show rank, name, style, energy, music fit P(d|u_t), transition in M(prev→d), transition out
M(d→next) and the combined score; the current placement is marked. A click auditions the row,
Enter / double-click swaps it in (the number keys 1–9 are window shortcuts). K is adjustable.
On a narrow panel the style and energy columns step aside so the dance's name stays readable
(they are in its tooltip, and the name is tinted by its style).
"""

from __future__ import annotations

from dataclasses import dataclass

from choreo_studio.editor.style import style_color
from choreo_studio.editor.tables import RowListModel, set_up_row_table
from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

COLUMNS = ("#", "dance", "style", "energy", "fit", "in · out", "score")
WIDEST = ("100", "", "breaking", "medium", "0.00", "0.00 · 0.00", "0.0e+00")
"""The widest text each column shows; the widths are set once from these (measuring every
row on every refresh, as ResizeToContents does, cost a swap tens of milliseconds); two
decimals, one column for both transitions and a two-digit score leave the dance's name the
room on a 1400-px window."""
MIN_NAME_PX = 200
"""Below this much room for the dance's name, the style and energy columns are hidden."""
OPTIONAL_COLUMNS = (2, 3)
HEADER_TIPS = ("rank", "the dance (● the placed one)", "its style", "its energy",
               "how well it fits this phrase's music (0–1)",
               "how well it follows the previous dance · leads into the next one (0–1)",
               "the combined score the suggestions are ranked by")


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
    return "—" if value is None else f"{value:.2f}"


class SuggestionsModel(RowListModel):
    """The :class:`SuggestionRow` s of the panel (a refresh repaints only the cells that
    changed); each row's texts are made once, so a repaint only looks them up."""

    rows: list[SuggestionRow]

    def __init__(self, text_color: QColor) -> None:
        super().__init__(COLUMNS)
        self._text = QBrush(text_color)
        self._current = QBrush(QColor("#ffd23f"))
        self._cells: list[tuple[str, ...]] = []
        self.tint_names = False
        """Names in their style's colour (while the style column is hidden)."""

    def set_rows(self, rows) -> None:
        old = self._cells
        self._cells = [_texts(r, row) for r, row in enumerate(rows)]
        if len(old) != len(self._cells) or not old:
            super().set_rows(rows)
            return
        self.rows = list(rows)
        for r, (before, after) in enumerate(zip(old, self._cells, strict=True)):
            for c, (x, y) in enumerate(zip(before, after, strict=True)):
                if x != y:  # a row's colours follow its texts (style, ● current)
                    cell = self.index(r, c)
                    self.dataChanged.emit(cell, cell)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS[section]
        return super().headerData(section, orientation, role)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cells[index.row()][index.column()]
        c = index.column()
        if role == Qt.ItemDataRole.ForegroundRole and c in (1, 2):
            row = self.rows[index.row()]
            if c == 2 or (self.tint_names and not row.current):
                return QBrush(style_color(row.style))
            return self._current if row.current else self._text
        if role == Qt.ItemDataRole.ToolTipRole and c == 1:
            row = self.rows[index.row()]
            return f"{row.name} ({row.dance_id})\n{row.style} · {row.energy} energy"
        return None


def _texts(r: int, row: SuggestionRow) -> tuple[str, ...]:
    """What the columns of suggestion ``r`` read."""
    return (str(r + 1), ("● " if row.current else "") + row.name, row.style, row.energy,
            _fmt(row.music_fit), f"{_fmt(row.transition_in)} · {_fmt(row.transition_out)}",
            f"{row.score:.1e}")


class _Table(QTableView):
    """Table that turns Enter into a swap request (number keys are window shortcuts)."""

    swap_key = Signal(int)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        row = self.currentIndex().row()
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and row >= 0:
            self.swap_key.emit(row)
            return
        super().keyPressEvent(event)


class SuggestionsPanel(QWidget):
    """Top-K list; emits ``audition_requested(row)``, ``swap_requested(row)``, ``k_changed``."""

    audition_requested = Signal(int)
    swap_requested = Signal(int)
    k_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None, k: int = 10) -> None:
        super().__init__(parent)
        self.title = QLabel("no phrase selected")
        self.title.setWordWrap(True)
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 100)
        self.k_spin.setValue(k)
        self.k_spin.setPrefix("top ")
        self.k_spin.setToolTip("how many suggestions to list (K)")
        self.k_spin.valueChanged.connect(self.k_changed)
        self.model = SuggestionsModel(self.palette().text().color())
        self.table = _Table()
        set_up_row_table(self.table, self.model)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        metrics = self.table.fontMetrics()
        for column, text in enumerate(WIDEST):
            title = metrics.horizontalAdvance(COLUMNS[column])
            header.resizeSection(column, max(metrics.horizontalAdvance(text), title) + 14)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        header.setHighlightSections(False)  # a new highlight repaints its row only
        self.table.clicked.connect(lambda index: self.audition_requested.emit(index.row()))
        self.table.doubleClicked.connect(lambda index: self.swap_requested.emit(index.row()))
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
    def rows(self) -> list[SuggestionRow]:
        return self.model.rows

    @property
    def k(self) -> int:
        return self.k_spin.value()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Hide the style and energy columns when the name would get under MIN_NAME_PX."""
        header = self.table.horizontalHeader()
        fixed = sum(header.sectionSize(c) for c in range(len(COLUMNS))
                    if c != 1 and c not in OPTIONAL_COLUMNS)
        optional = sum(header.sectionSize(c) for c in OPTIONAL_COLUMNS)
        narrow = self.table.viewport().width() - fixed - optional < MIN_NAME_PX
        self.model.tint_names = narrow
        for c in OPTIONAL_COLUMNS:
            if self.table.isColumnHidden(c) != narrow:
                self.table.setColumnHidden(c, narrow)

    def _swap_row(self, row: int) -> None:
        if 0 <= row < len(self.rows):
            self.swap_requested.emit(row)

    def set_rows(self, title: str, rows: list[SuggestionRow]) -> None:
        """Show ``rows`` (best first) with the placed one (●) highlighted, so what the user
        sees selected is what Enter acts on."""
        if title != self.title.text():
            self.title.setText(title)
        self.model.set_rows(rows)
        placed = next((i for i, r in enumerate(rows) if r.current), -1)
        if placed == self.highlighted and (placed < 0 or self.table.selectionModel()
                                           .isRowSelected(placed)):
            return  # the highlight is already right: nothing to repaint
        selection = self.table.selectionModel()
        if placed >= 0:
            flags = (selection.SelectionFlag.ClearAndSelect | selection.SelectionFlag.Rows
                     | selection.SelectionFlag.Current)
            selection.setCurrentIndex(self.model.index(placed, 0), flags)
        else:
            selection.clear()
            selection.setCurrentIndex(self.model.index(-1, -1),
                                      selection.SelectionFlag.NoUpdate)

    @property
    def highlighted(self) -> int:
        """The row the user sees selected (-1: none)."""
        return self.table.currentIndex().row()

    def clear(self, title: str = "no phrase selected") -> None:
        self.set_rows(title, [])
