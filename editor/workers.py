"""Background jobs for the editor: long work off the GUI thread, with progress and cancel.

A :class:`Job` wraps ``fn(progress) -> result``; the progress callback comes from
:class:`core.progress.CancelToken` so Cancel raises :class:`core.errors.Cancelled` inside the
stage. Results, errors and progress come back to the GUI thread as Qt signals.

Jobs have a *kind* ("open", "edit", "export", "render", …). A new job replaces (cancels) a
running job of its own kind only, so an MP4 export keeps running while the user varies or
swaps. Every job's signals are delivered to a :class:`_Relay` owned by the runner: when the
runner (or the window above it) is destroyed, Qt drops the connections with it, so a job that
outlives its window reports to nobody instead of into a deleted object.

Jobs run beside the GUI thread on a machine the user shares, so the editor's BLAS runs one
thread, as its child processes' math libraries do: OpenBLAS's spinning helper threads took
the core the GUI thread needed and, on a loaded two-core machine, made a small SVD take
0.5–3.5 s instead of 0.14 s. A thread count the user set in the environment is kept.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from choreo_studio.core.errors import Cancelled, ChoreoError
from choreo_studio.core.progress import CancelToken, ProgressFn
from choreo_studio.editor.analysis_process import SINGLE_THREADED
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

PROGRESS_MIN_INTERVAL_S = 0.05
"""Progress signals are throttled to at most ~20 per second to keep the GUI thread free."""

WORKER_THREADS = 3
"""Room for an export, an edit and a render side by side (analysis runs in a child process)."""


_math_threads_limited = False


def limit_math_threads() -> None:
    """One thread for the process's BLAS (once; not when the user chose a count)."""
    global _math_threads_limited
    if _math_threads_limited or any(name in os.environ for name in SINGLE_THREADED):
        return
    _math_threads_limited = True
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # comes with librosa (scikit-learn); without it the default stays
        return
    threadpool_limits(1, user_api="blas")


class JobSignals(QObject):
    """Signals a job emits from its worker thread (delivered queued on the GUI thread)."""

    progress = Signal(float, str)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()


class Job(QRunnable):
    """One unit of background work: ``fn(progress)``; emits finished / failed / cancelled."""

    def __init__(
        self, label: str, fn: Callable[[ProgressFn], Any], kind: str = "", visible: bool = False
    ) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.label = label
        self.kind = kind
        self.visible = visible
        self.fn = fn
        self.token = CancelToken()
        self.signals = JobSignals()
        self.fraction = 0.0
        self.message = label
        self._last_emit = 0.0

    def cancel(self) -> None:
        self.token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

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


class _Relay(QObject):
    """Receives one job's signals on the GUI thread and hands them to the runner and callbacks.

    Its slots are bound methods of a QObject parented to the runner, so Qt disconnects them
    when the runner goes; a result that arrives after a job was replaced counts as cancelled.
    """

    def __init__(self, runner: JobRunner, job: Job, callbacks: dict[str, Callable | None]) -> None:
        super().__init__(runner)
        self._runner = runner
        self._job = job
        self._callbacks = callbacks
        job.signals.progress.connect(self._on_progress)
        job.signals.finished.connect(self._on_finished)
        job.signals.failed.connect(self._on_failed)
        job.signals.cancelled.connect(self._on_cancelled)

    def _call(self, name: str, *args: Any) -> None:
        callback = self._callbacks.get(name)
        if callback is not None:
            callback(*args)

    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        self._job.fraction, self._job.message = fraction, message
        self._runner.job_progress.emit(self._job)
        self._call("progress", fraction, message)

    @Slot(object)
    def _on_finished(self, result: Any) -> None:
        if self._job.cancelled:
            self._end("cancel")
        else:
            self._end("done", result)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._end("error", message)

    @Slot()
    def _on_cancelled(self) -> None:
        self._end("cancel")

    def _end(self, name: str, *args: Any) -> None:
        self._runner._release(self._job)
        self.deleteLater()
        self._call(name, *args)


class JobRunner(QObject):
    """Runs jobs on a small private thread pool; one running job per kind replaces the last."""

    busy_changed = Signal(bool)
    job_started = Signal(object)
    job_progress = Signal(object)
    job_ended = Signal(object)

    def __init__(self, parent: QObject | None = None, *, threads: int = WORKER_THREADS) -> None:
        super().__init__(parent)
        limit_math_threads()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._jobs: list[Job] = []

    def start(
        self,
        label: str,
        fn: Callable[[ProgressFn], Any],
        *,
        kind: str = "",
        visible: bool = False,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        on_cancel: Callable[[], None] | None = None,
    ) -> Job:
        """Queue ``fn``, cancelling a running job of the same ``kind`` (callbacks on the GUI
        thread; ``visible`` jobs are the ones a progress panel shows)."""
        if kind:
            for old in self.running(kind):
                old.cancel()
        job = Job(label, fn, kind, visible)
        callbacks = {"done": on_done, "error": on_error, "progress": on_progress}
        callbacks["cancel"] = on_cancel
        _Relay(self, job, callbacks)
        self._jobs.append(job)
        if len(self._jobs) == 1:
            self.busy_changed.emit(True)
        self.job_started.emit(job)
        self._pool.start(job)
        return job

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def running(self, kind: str | None = None) -> list[Job]:
        """Jobs not yet reported back (of ``kind`` when given), oldest first."""
        return [j for j in self._jobs if kind is None or j.kind == kind]

    def latest_visible(self) -> Job | None:
        """The most recently started job a progress panel shows (what Esc cancels)."""
        visible = [j for j in self._jobs if j.visible and not j.cancelled]
        return visible[-1] if visible else None

    def cancel_all(self) -> None:
        for job in list(self._jobs):
            job.cancel()

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until every queued job ran (used on quit and in tests)."""
        return self._pool.waitForDone(timeout_ms)

    def _release(self, job: Job) -> None:
        if job in self._jobs:
            self._jobs.remove(job)
            self.job_ended.emit(job)
            if not self._jobs:
                self.busy_changed.emit(False)
