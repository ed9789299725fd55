"""Progress reporting and cancellation shared by the CLI (tqdm), the GUI and training.

Long stages take a ``progress`` callable: ``progress(fraction, message)`` with fraction in [0, 1].
Raising :class:`choreo_studio.core.errors.Cancelled` from the callable cancels the stage cleanly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from choreo_studio.core.errors import Cancelled

ProgressFn = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    """A progress sink that ignores everything (the default for library calls)."""


class CancelToken:
    """A thread-safe flag the GUI sets; :meth:`progress_fn` turns it into a cancelling callback."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wrap(self, progress: ProgressFn) -> ProgressFn:
        """Return a progress callback that forwards to ``progress`` and raises once cancelled."""

        def _report(fraction: float, message: str) -> None:
            if self._event.is_set():
                raise Cancelled(message)
            progress(fraction, message)

        return _report


def sub_progress(progress: ProgressFn, start: float, end: float) -> ProgressFn:
    """Map a stage's own [0, 1] progress into the [start, end] slice of a parent's progress."""

    def _report(fraction: float, message: str) -> None:
        progress(start + (end - start) * min(max(fraction, 0.0), 1.0), message)

    return _report
