"""The library browser: every dance phrase, filtered by style, energy and name.

Shows where each phrase is used in the current choreography; preview plays a phrase on the
skeleton, and "place on selected" swaps it onto the selected music phrase (an undoable edit).
Long dance names are cut at the end with "…" (their style, energy and number come first) and
read whole in the row's tooltip; the short columns take what their contents need and the
name gets the rest. Names sort as a reader counts (#2 before #10).
A model/view table: filtering and usage updates never rebuild widgets, so they stay instant
with libraries of a thousand phrases.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from choreo_studio.editor.style import style_color
from choreo_studio.editor.tables import (
    CELL_PAD_PX,
    HEADER_PAD_PX,
    RowListModel,
    fit_columns,
    set_up_row_table,
)
from PySide6.QtCore import QMimeData, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

ALL = "all"
COLUMNS = ("dance", "style", "energy", "counts", "bpm", "used at")
USED_COLUMN = 5
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


USED_WIDTH_PX = (60, 140)
"""The "used at" column's width follows its longest list within these bounds."""
DANCE_MIME = "application/x-choreo-dance-id"
"""The drag payload of a library row: the dance id as UTF-8 (the timeline accepts it)."""


def natural_key(name: str) -> str:
    """``name`` lower-cased with its numbers zero-padded, so "#2" sorts before "#10"."""
    return re.sub(r"\d+", lambda m: m.group().zfill(8), name.lower())


def tooltip(phrase, used: Sequence[int]) -> str:
    """A library row's tooltip: the full name, then style, energy, counts, id, tags, usage."""
    lines = [phrase.name,
             f"{phrase.style} · {phrase.energy_label} energy · {phrase.n_counts} counts · "
             f"{phrase.bpm:.0f} BPM",
             f"id {phrase.id}" + (f" · tags: {', '.join(phrase.tags)}" if phrase.tags else "")]
    if used:
        lines.append("placed on phrase" + ("s " if len(used) > 1 else " ")
                     + ", ".join(map(str, used)))
    return "\n".join(lines)


class LibraryModel(RowListModel):
    """The library's phrases as table rows; ``UserRole`` of any cell is the phrase id."""

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        return super().flags(index) | Qt.ItemFlag.ItemIsDragEnabled

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt API
        return [DANCE_MIME]

    def mimeData(self, indexes) -> QMimeData:  # noqa: N802 - Qt API
        """The dragged row's dance id, for a drop onto a timeline phrase."""
        data = QMimeData()
        if indexes:
            data.setData(DANCE_MIME, self.rows[indexes[0].row()].id.encode("utf-8"))
        return data

    def __init__(self) -> None:
        super().__init__(COLUMNS)
        self.used: dict[str, list[int]] = {}
        self._row_of: dict[str, int] = {}

    def set_rows(self, rows: Sequence) -> None:
        """A new library: always one reset (phrases hold arrays, so rows are never compared)."""
        self.beginResetModel()
        self.rows = list(rows)
        self._row_of = {p.id: r for r, p in enumerate(self.rows)}
        self.endResetModel()

    def set_used(self, used: dict[str, list[int]]) -> None:
        """Where each dance is placed; only the rows whose usage changed are repainted."""
        old, self.used = self.used, used
        for dance_id in {*old, *used}:
            row = self._row_of.get(dance_id)
            if row is not None and old.get(dance_id) != used.get(dance_id):
                cell = self.index(row, USED_COLUMN)
                self.dataChanged.emit(cell, cell)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        p = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.UserRole:
            return p.id
        if role == Qt.ItemDataRole.DisplayRole:
            used = self.used.get(p.id, [])
            return (
                p.name,
                p.style,
                p.energy_label,
                str(p.n_counts),
                f"{p.bpm:.0f}",
                ", ".join(map(str, used)),
            )[col]
        if role == SORT_ROLE:
            return (natural_key(p.name), p.style, p.energy, p.n_counts, p.bpm,
                    len(self.used.get(p.id, [])))[col]
        if role == Qt.ItemDataRole.ForegroundRole and col == 1:
            return QBrush(style_color(p.style))
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(p, self.used.get(p.id, []))
        return None


class LibraryFilter(QSortFilterProxyModel):
    """Keeps the phrases matching the style, energy and text filters."""

    def __init__(self) -> None:
        super().__init__()
        self.style = ALL
        self.energy = ALL
        self.text = ""
        self.setSortRole(SORT_ROLE)

    def set_filters(self, style: str, energy: str, text: str) -> None:
        self.beginFilterChange()
        self.style, self.energy, self.text = style or ALL, energy or ALL, text.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, _parent: QModelIndex) -> bool:  # noqa: N802
        p = self.sourceModel().rows[row]
        return (
            (self.style == ALL or p.style == self.style)
            and (self.energy == ALL or p.energy_label == self.energy)
            and (
                not self.text
                or self.text in p.name.lower()
                or any(self.text in t.lower() for t in p.tags)
            )
        )


class LibraryBrowser(QWidget):
    """Filterable table of the library; emits ``preview_requested`` and ``place_requested``."""

    preview_requested = Signal(str)
    place_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = LibraryModel()
        self.proxy = LibraryFilter()
        self.proxy.setSourceModel(self.model)
        self.style_combo = QComboBox()
        self.energy_combo = QComboBox()
        self.search = QLineEdit()
        self.search.setPlaceholderText("filter by name or tag")
        self.search.setClearButtonEnabled(True)
        for widget in (self.style_combo, self.energy_combo):
            widget.currentIndexChanged.connect(self._refilter)
        self.search.textChanged.connect(self._refilter)
        self.table = QTableView()
        set_up_row_table(self.table, self.proxy)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setSortingEnabled(True)
        self.table.setDragEnabled(True)
        self.table.setDragDropMode(QTableView.DragDropMode.DragOnly)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        self.table.doubleClicked.connect(lambda *_: self._emit(self.preview_requested))
        preview = QPushButton("Preview")
        preview.clicked.connect(lambda: self._emit(self.preview_requested))
        place = QPushButton("Place on selected phrase")
        place.clicked.connect(lambda: self._emit(self.place_requested))
        filters = QHBoxLayout()
        filters.addWidget(self.style_combo)
        filters.addWidget(self.energy_combo)
        filters.addWidget(self.search, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(preview)
        buttons.addWidget(place)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(filters)
        layout.addWidget(self.table)
        layout.addLayout(buttons)

    def set_library(self, phrases: Sequence) -> None:
        """Fill the filters and the table from a library's dance phrases."""
        self.model.set_rows(phrases)
        for combo, values in (
            (self.style_combo, sorted({p.style for p in phrases})),
            (self.energy_combo, sorted({p.energy_label for p in phrases})),
        ):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(ALL)
            combo.addItems(values)
            combo.blockSignals(False)
        self._refilter()
        fit_columns(self.table, (1, 2, 3, 4))
        self._fit_used_column()

    def set_usage(self, dance_ids: Sequence[str]) -> None:
        """Where each dance is used: ``dance_ids[i]`` is placed on music phrase ``i``."""
        used: dict[str, list[int]] = {}
        for i, dance_id in enumerate(dance_ids):
            used.setdefault(dance_id, []).append(i + 1)
        if used != self.model.used:
            self.model.set_used(used)
            self._fit_used_column()

    def _fit_used_column(self) -> None:
        """The "used at" column as wide as its longest list (within :data:`USED_WIDTH_PX`)."""
        cells = self.table.fontMetrics()
        texts = [", ".join(map(str, u)) for u in self.model.used.values()]
        title = self.table.horizontalHeader().fontMetrics().horizontalAdvance(COLUMNS[USED_COLUMN])
        widest = max([cells.horizontalAdvance(t) + CELL_PAD_PX for t in texts]
                     + [title + HEADER_PAD_PX])
        self.table.setColumnWidth(USED_COLUMN, min(max(widest, USED_WIDTH_PX[0]),
                                                   USED_WIDTH_PX[1]))

    def usage_of(self, dance_id: str) -> list[int]:
        """Music phrases (1-based) where ``dance_id`` is placed."""
        return list(self.model.used.get(dance_id, []))

    def visible_ids(self) -> list[str]:
        proxy = self.proxy
        return [proxy.index(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(proxy.rowCount())]

    def select_id(self, dance_id: str) -> None:
        for r in range(self.proxy.rowCount()):
            if self.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole) == dance_id:
                self.table.selectRow(r)
                return

    def selected_id(self) -> str | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.proxy.index(index.row(), 0).data(Qt.ItemDataRole.UserRole)

    def _emit(self, signal) -> None:
        dance_id = self.selected_id()
        if dance_id is not None:
            signal.emit(dance_id)

    def _refilter(self) -> None:
        self.proxy.set_filters(
            self.style_combo.currentText(), self.energy_combo.currentText(), self.search.text()
        )
