"""Background jobs for the editor: long work off the GUI thread, with progress and cancel.

A :class:`Job` wraps ``fn(progress) -> result``; the progress callback comes from
:class:`core.progress.CancelToken` so Cancel raises :class:`core.errors.Cancelled` inside the
stage. Results, errors and progress come back to the GUI thread, where the runner's signals
and the job's callbacks fire.

Jobs have a *kind* ("open", "edit", "export", "render", …). A new job replaces (cancels) a
running job of its own kind only, so an MP4 export keeps running while the user varies or
swaps.

No Qt object is made, used or freed on a worker thread. A job is a plain Python object run
on a Python thread pool; what it reports goes into a thread-safe :class:`_Mailbox` (a queue,
plus one byte on a socket pair to wake the GUI thread at once), which a
:class:`~PySide6.QtCore.QSocketNotifier` owned by the runner drains on the GUI thread. (Jobs
were QRunnables emitting a QObject's signals: the GUI thread could free both when the result
arrived, while the worker thread was still returning from them.) When the runner (or the
window above it) is destroyed its mailbox closes, so a job that outlives its window reports to
nobody instead of into a deleted object.

Jobs run beside the GUI thread on a machine the user shares, so the editor's BLAS runs one
thread, as its child processes' math libraries do: OpenBLAS's spinning helper threads took
the core the GUI thread needed and, on a loaded two-core machine, made a small SVD take
0.5–3.5 s instead of 0.14 s. A thread count the user set in the environment is kept.
"""

from __future__ import annotations

import concurrent.futures
import os
import queue
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from choreo_studio.core.errors import Cancelled, ChoreoError
from choreo_studio.core.progress import CancelToken, ProgressFn
from choreo_studio.editor.analysis_process import SINGLE_THREADED
from choreo_studio.editor.gui_thread_gc import collect_on_gui_thread
from PySide6.QtCore import QObject, QSocketNotifier, Signal, Slot

PROGRESS_MIN_INTERVAL_S = 0.05
"""Progress reports are throttled to at most ~20 per second and job to keep the GUI free."""

WORKER_THREADS = 3
"""Room for an export, an edit and a render side by side (analysis runs in a child process)."""

_WAKE_READ_BYTES = 4096


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


class _Mailbox:
    """What worker threads hand to the GUI thread: ``(job, event, args)`` in arrival order.

    Posting puts the event on a queue and writes one byte to a socket pair; the GUI thread
    watches the reading end (a socket, so the same on every platform) and drains the queue.
    A lock keeps a post from racing :meth:`close` (a write into a closed, reused descriptor).
    """

    def __init__(self) -> None:
        self._events: queue.SimpleQueue[tuple[Job, str, tuple]] = queue.SimpleQueue()
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._lock = threading.Lock()
        self._closed = False

    def fileno(self) -> int:
        """The descriptor the GUI thread watches for reads."""
        return self._reader.fileno()

    def post(self, job: Job, event: str, *args: Any) -> None:
        """Queue an event (any thread); dropped once the mailbox is closed."""
        with self._lock:
            if self._closed:
                return
            self._events.put((job, event, args))
            self._ring()

    def clear_wakeups(self) -> None:
        """Read the pending wake-up bytes (GUI thread, before draining the queue, so an event
        posted after the drain leaves a byte behind and wakes the GUI thread again)."""
        try:
            while self._reader.recv(_WAKE_READ_BYTES):
                pass
        except (BlockingIOError, InterruptedError, OSError):
            pass

    def wake(self) -> None:
        """Make the GUI thread drain again (events left after a callback raised)."""
        with self._lock:
            if not self._closed:
                self._ring()

    def _ring(self) -> None:
        """Write one wake-up byte (caller holds the lock, mailbox open)."""
        try:
            self._writer.send(b"\0")
        except (BlockingIOError, InterruptedError):
            pass  # the socket is full of unread wake-ups: the GUI thread will drain anyway

    def next_event(self) -> tuple[Job, str, tuple] | None:
        """The oldest queued event, or None."""
        try:
            return self._events.get_nowait()
        except queue.Empty:
            return None

    def close(self) -> None:
        """Drop every later post and free the sockets (the runner is gone)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._reader.close()
            self._writer.close()


class Job:
    """One unit of background work: ``fn(progress)``; reports done / error / cancel once."""

    def __init__(
        self,
        label: str,
        fn: Callable[[ProgressFn], Any],
        kind: str = "",
        visible: bool = False,
        *,
        mailbox: _Mailbox,
        keep_result: bool = False,
    ) -> None:
        self.label = label
        self.kind = kind
        self.visible = visible
        self.keep_result = keep_result
        self.fn = fn
        self.token = CancelToken()
        self.fraction = 0.0
        self.message = label
        self._mailbox = mailbox
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
            self._mailbox.post(self, "progress", float(fraction), message)

    def run(self) -> None:
        """Worker thread: run ``fn`` and post exactly one of done / error / cancel."""
        post = self._mailbox.post
        try:
            result = self.fn(self.token.wrap(self._progress))
        except Cancelled:
            post(self, "cancel")
        except ChoreoError as exc:
            post(self, "error", str(exc))
        except MemoryError:
            post(self, "error",
                 f"{self.label}: out of memory — close other programs or use a shorter song")
        except Exception as exc:  # noqa: BLE001 - shown to the user, never crashes the editor
            traceback.print_exc(file=sys.stderr)
            post(self, "error", f"{self.label}: internal error ({type(exc).__name__}: {exc})")
        else:
            post(self, "done", result)


class JobRunner(QObject):
    """Runs jobs on a small private thread pool; one running job per kind replaces the last."""

    busy_changed = Signal(bool)
    job_started = Signal(object)
    job_progress = Signal(object)
    job_ended = Signal(object)

    def __init__(self, parent: QObject | None = None, *, threads: int = WORKER_THREADS) -> None:
        super().__init__(parent)
        limit_math_threads()
        collect_on_gui_thread()  # the jobs' threads must never free a Qt object
        self._pool = concurrent.futures.ThreadPoolExecutor(threads, "choreo-job")
        self._mailbox = _Mailbox()
        self.destroyed.connect(self._mailbox.close)
        self._notifier = QSocketNotifier(self._mailbox.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)
        self._jobs: list[Job] = []
        self._callbacks: dict[int, dict[str, Callable | None]] = {}
        self._futures: list[concurrent.futures.Future] = []

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
        keep_result: bool = False,
    ) -> Job:
        """Queue ``fn``, cancelling a running job of the same ``kind`` (callbacks on the GUI
        thread; ``visible`` jobs are the ones a progress panel shows). A result ``fn``
        returns after a Cancel came too late to stop it counts as cancelled, unless
        ``keep_result`` (what it did stands: an export whose files are written)."""
        if kind:
            for old in self.running(kind):
                old.cancel()
        job = Job(label, fn, kind, visible, mailbox=self._mailbox, keep_result=keep_result)
        self._callbacks[id(job)] = {
            "done": on_done, "error": on_error, "progress": on_progress, "cancel": on_cancel
        }
        self._jobs.append(job)
        if len(self._jobs) == 1:
            self.busy_changed.emit(True)
        self.job_started.emit(job)
        self._futures = [f for f in self._futures if not f.done()]
        self._futures.append(self._pool.submit(job.run))
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
        """Block until every queued job ran (used on quit and in tests); their reports are
        delivered by the event loop afterwards."""
        _done, pending = concurrent.futures.wait(self._futures, timeout_ms / 1000)
        return not pending

    @Slot()
    def _drain(self) -> None:
        """GUI thread: deliver what the workers posted, oldest first, one event at a time (a
        callback that runs a nested event loop drains the rest there, never twice)."""
        mailbox = self._mailbox
        mailbox.clear_wakeups()
        while (item := mailbox.next_event()) is not None:
            try:
                self._deliver(*item)
            except BaseException:
                mailbox.wake()  # the events behind the one that raised still arrive
                raise

    def _deliver(self, job: Job, event: str, args: tuple) -> None:
        callbacks = self._callbacks.get(id(job))
        if callbacks is None or job not in self._jobs:
            return
        if event == "progress":
            job.fraction, job.message = args
            self.job_progress.emit(job)
        else:
            if event == "done" and job.cancelled and not job.keep_result:  # too late a cancel
                event, args = "cancel", ()
            del self._callbacks[id(job)]
            self._jobs.remove(job)
            self.job_ended.emit(job)
            if not self._jobs:
                self.busy_changed.emit(False)
        callback = callbacks.get(event)
        if callback is not None:
            callback(*args)
