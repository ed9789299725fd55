"""What the editor's read-only list tables share: a model with one row per item under fixed
column titles, and the view settings for picking whole rows in compact single-line tables.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QAbstractItemModel, QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QTableView

CELL_PAD_PX = 14
"""Room around a cell's text (Qt's margins and the grid line)."""
HEADER_PAD_PX = 12
"""Room beside a header's title for the sort arrow."""


class RowListModel(QAbstractTableModel):
    """One table row per item of ``rows`` under the titles ``columns``; subclasses give ``data``.

    ``set_rows`` replaces the items; when their number is unchanged only the rows that
    differ are reported changed (no model reset, so views keep their layout and repaint
    just those rows).
    """

    def __init__(self, columns: Sequence[str]) -> None:
        super().__init__()
        self.columns = tuple(columns)
        self.rows: list = []

    def set_rows(self, rows: Sequence) -> None:
        rows = list(rows)
        if len(rows) != len(self.rows) or not rows:
            self.beginResetModel()
            self.rows = rows
            self.endResetModel()
            return
        old, self.rows = self.rows, rows
        last = len(self.columns) - 1
        for r, (a, b) in enumerate(zip(old, rows, strict=True)):
            if a != b:
                self.dataChanged.emit(self.index(r, 0), self.index(r, last))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section]
        return None


def set_up_row_table(table: QTableView, model: QAbstractItemModel) -> None:
    """Show ``model`` in ``table``: whole rows, one at a time, read-only, single-line 22 px rows.

    The row numbers are hidden.
    """
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.setWordWrap(False)
    table.verticalHeader().setDefaultSectionSize(22)


def fit_columns(table: QTableView, columns: Sequence[int], *, most_rows: int = 5000) -> None:
    """Size ``columns`` to their title and their widest cell (of the first ``most_rows``), once:
    short columns (style, bpm…) take what they need and the stretched one gets the rest."""
    model = table.model()
    cells, titles = table.fontMetrics(), table.horizontalHeader().fontMetrics()
    rows = min(model.rowCount(), most_rows)
    for c in columns:
        title = str(model.headerData(c, Qt.Orientation.Horizontal) or "")
        widest = titles.horizontalAdvance(title) + HEADER_PAD_PX
        texts = {str(model.index(r, c).data() or "") for r in range(rows)}
        widest = max([widest, *(cells.horizontalAdvance(t) + CELL_PAD_PX for t in texts)])
        table.setColumnWidth(c, widest)
