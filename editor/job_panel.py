"""The status bar's view of running jobs: one progress bar and Cancel button per visible job.

Jobs of different kinds run side by side (an export while the user varies), so each gets its
own bar; the panel only listens to the :class:`~editor.workers.JobRunner`'s signals.
"""

from __future__ import annotations

from choreo_studio.editor.workers import Job, JobRunner
from PySide6.QtCore import Slot
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QSizePolicy, QWidget

BAR_WIDTH = 200


class _JobRow(QWidget):
    """A labelled progress bar with its Cancel button."""

    def __init__(self, job: Job, parent: QWidget) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setFixedWidth(BAR_WIDTH)
        self.bar.setRange(0, 1000)
        self.bar.setFormat(job.label)
        self.bar.setValue(0)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip(f"cancel {job.label.lower()}")
        self.cancel_button.clicked.connect(job.cancel)
        self.cancel_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)

    def show_progress(self, job: Job) -> None:
        self.bar.setValue(int(1000 * job.fraction))
        self.bar.setFormat(f"{job.message} %p%")


class JobPanel(QWidget):
    """Shows every visible running job; rows appear and go as the runner reports."""

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: dict[int, _JobRow] = {}
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        runner.job_started.connect(self._on_started)
        runner.job_progress.connect(self._on_progress)
        runner.job_ended.connect(self._on_ended)
        self.hide()

    def labels(self) -> list[str]:
        """What the bars say, oldest first (for tests and the status line)."""
        return [row.bar.format() for row in self._rows.values()]

    @Slot(object)
    def _on_started(self, job: Job) -> None:
        if not job.visible:
            return
        row = _JobRow(job, self)
        self._rows[id(job)] = row
        self._layout.addWidget(row)
        self.show()

    @Slot(object)
    def _on_progress(self, job: Job) -> None:
        row = self._rows.get(id(job))
        if row is not None:
            row.show_progress(job)

    @Slot(object)
    def _on_ended(self, job: Job) -> None:
        row = self._rows.pop(id(job), None)
        if row is not None:
            self._layout.removeWidget(row)
            row.deleteLater()
        self.setVisible(bool(self._rows))
