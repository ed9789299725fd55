"""The library browser: every dance phrase, filtered by style, energy and name.

Shows where each phrase is used in the current choreography; preview plays a phrase on the
skeleton, and "place on selected" swaps it onto the selected music phrase (an undoable edit).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from editor.style import style_color

ALL = "all"
COLUMNS = ("dance", "style", "energy", "counts", "bpm", "used at")


class LibraryBrowser(QWidget):
    """Filterable table of the library; emits ``preview_requested`` and ``place_requested``."""

    preview_requested = Signal(str)
    place_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._phrases: list = []
        self._used: dict[str, list[int]] = {}
        self.style_combo = QComboBox()
        self.energy_combo = QComboBox()
        self.search = QLineEdit()
        self.search.setPlaceholderText("filter by name or tag")
        self.search.setClearButtonEnabled(True)
        for widget in (self.style_combo, self.energy_combo):
            widget.currentIndexChanged.connect(self._refilter)
        self.search.textChanged.connect(self._refilter)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.cellDoubleClicked.connect(lambda *_: self._emit(self.preview_requested))
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
        self._phrases = list(phrases)
        for combo, values in (
            (self.style_combo, sorted({p.style for p in self._phrases})),
            (self.energy_combo, sorted({p.energy_label for p in self._phrases})),
        ):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(ALL)
            combo.addItems(values)
            combo.blockSignals(False)
        self._refilter()

    def set_usage(self, dance_ids: Sequence[str]) -> None:
        """Where each dance is used: ``dance_ids[i]`` is placed on music phrase ``i``."""
        used: dict[str, list[int]] = {}
        for i, dance_id in enumerate(dance_ids):
            used.setdefault(dance_id, []).append(i + 1)
        if used == self._used:
            return
        self._used = used
        table = self.table
        for r in range(table.rowCount()):
            dance_id = table.item(r, 0).data(Qt.ItemDataRole.UserRole)
            table.item(r, 5).setText(", ".join(map(str, used.get(dance_id, []))))

    def visible_ids(self) -> list[str]:
        return [
            self.table.item(r, 0).data(Qt.ItemDataRole.UserRole)
            for r in range(self.table.rowCount())
        ]

    def selected_id(self) -> str | None:
        row = self.table.currentRow()
        if row < 0:
            return None
        return self.table.item(row, 0).data(Qt.ItemDataRole.UserRole)

    def _emit(self, signal) -> None:
        dance_id = self.selected_id()
        if dance_id is not None:
            signal.emit(dance_id)

    def _matches(self, phrase) -> bool:
        style, energy = self.style_combo.currentText(), self.energy_combo.currentText()
        text = self.search.text().strip().lower()
        return (
            (style in ("", ALL) or phrase.style == style)
            and (energy in ("", ALL) or phrase.energy_label == energy)
            and (
                not text
                or text in phrase.name.lower()
                or any(text in t.lower() for t in phrase.tags)
            )
        )

    def _refilter(self) -> None:
        shown = [p for p in self._phrases if self._matches(p)]
        table = self.table
        table.setSortingEnabled(False)
        table.setUpdatesEnabled(False)
        table.setRowCount(len(shown))
        for r, p in enumerate(shown):
            used = self._used.get(p.id, [])
            values = (
                p.name,
                p.style,
                p.energy_label,
                str(p.n_counts),
                f"{p.bpm:.0f}",
                ", ".join(map(str, used)),
            )
            for c, text in enumerate(values):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setData(Qt.ItemDataRole.UserRole, p.id)
                    item.setToolTip(f"{p.id} · tags: {', '.join(p.tags)}")
                if c == 1:
                    item.setForeground(QBrush(style_color(p.style)))
                table.setItem(r, c, item)
        table.setUpdatesEnabled(True)
        table.setSortingEnabled(True)
        header = table.horizontalHeader()
        table.sortByColumn(header.sortIndicatorSection(), header.sortIndicatorOrder())
