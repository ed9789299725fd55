"""Background jobs for the editor: long work off the GUI thread, with progress and cancel.

A :class:`Job` wraps ``fn(progress) -> result``; the progress callback comes from
:class:`core.progress.CancelToken` so Cancel raises :class:`core.errors.Cancelled` inside the
stage. Results, errors and progress come back to the GUI thread as Qt signals.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from choreo_studio.core.errors import Cancelled, ChoreoError
from choreo_studio.core.progress import CancelToken, ProgressFn
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

PROGRESS_MIN_INTERVAL_S = 0.05
"""Progress signals are throttled to at most ~20 per second to keep the GUI thread free."""


class JobSignals(QObject):
    """Signals a job emits from its worker thread (delivered queued on the GUI thread)."""

    progress = Signal(float, str)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()


class Job(QRunnable):
    """One unit of background work: ``fn(progress)``; emits finished / failed / cancelled."""

    def __init__(self, label: str, fn: Callable[[ProgressFn], Any]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.label = label
        self.fn = fn
        self.token = CancelToken()
        self.signals = JobSignals()
        self._last_emit = 0.0

    def cancel(self) -> None:
        self.token.cancel()

    def _progress(self, fraction: float, message: str) -> None:
        now = time.perf_counter()
        if fraction >= 1.0 or now - self._last_emit >= PROGRESS_MIN_INTERVAL_S:
            self._last_emit = now
            self.signals.progress.emit(float(fraction), message)

    def run(self) -> None:
        try:
            result = self.fn(self.token.wrap(self._progress))
        except Cancelled:
            self.signals.cancelled.emit()
        except ChoreoError as exc:
            self.signals.failed.emit(str(exc))
        except MemoryError:
            self.signals.failed.emit(
                f"{self.label}: out of memory — close other programs or use a shorter song"
            )
        except Exception as exc:  # noqa: BLE001 - shown to the user, never crashes the editor
            traceback.print_exc(file=sys.stderr)
            self.signals.failed.emit(f"{self.label}: internal error ({type(exc).__name__}: {exc})")
        else:
            if self.token.cancelled:
                self.signals.cancelled.emit()
            else:
                self.signals.finished.emit(result)


class JobRunner(QObject):
    """Runs jobs on a small private thread pool and keeps them alive until they report back."""

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, *, threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._jobs: set[Job] = set()

    def start(
        self,
        label: str,
        fn: Callable[[ProgressFn], Any],
        *,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        on_cancel: Callable[[], None] | None = None,
    ) -> Job:
        """Queue ``fn`` and connect the callbacks (all called on the GUI thread)."""
        job = Job(label, fn)
        if on_done is not None:
            job.signals.finished.connect(on_done)
        if on_error is not None:
            job.signals.failed.connect(on_error)
        if on_progress is not None:
            job.signals.progress.connect(on_progress)
        if on_cancel is not None:
            job.signals.cancelled.connect(on_cancel)
        for sig in (job.signals.finished, job.signals.failed, job.signals.cancelled):
            sig.connect(lambda *_a, j=job: self._release(j))
        self._jobs.add(job)
        self.busy_changed.emit(True)
        self._pool.start(job)
        return job

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def cancel_all(self) -> None:
        for job in list(self._jobs):
            job.cancel()

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until every queued job ran (used on quit and in tests)."""
        return self._pool.waitForDone(timeout_ms)

    def _release(self, job: Job) -> None:
        self._jobs.discard(job)
        if not self._jobs:
            self.busy_changed.emit(False)
