"""Progress reporting and cancellation shared by the CLI, the GUI and training.

Long stages take a ``progress`` callable: ``progress(fraction, message)`` with fraction in [0, 1].
Raising :class:`choreo_studio.core.errors.Cancelled` from the callable cancels the stage cleanly.
Every CLI command shows its stages through :func:`cli_stage`: a bar on a terminal, and in a log
(stderr not a terminal) one plain line per stage that runs longer than a second, never ``\r``
redraws.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from choreo_studio.core.errors import Cancelled

ProgressFn = Callable[[float, str], None]

STAGE_LINE_AFTER_S = 1.0
"""A stage still running after this many seconds gets its one line in a log."""
BAR_STEPS = 1000
BAR_MESSAGE_CHARS = 48


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


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal (where a redrawn bar belongs)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


@contextmanager
def cli_stage(desc: str, stream: TextIO | None = None, *,
              line_after_s: float = STAGE_LINE_AFTER_S) -> Iterator[ProgressFn]:
    """Show one CLI stage's progress on ``stream`` (stderr): a bar on a terminal, else a line."""
    stream = sys.stderr if stream is None else stream
    if is_terminal(stream):
        with _terminal_bar(desc, stream) as report:
            yield report
    else:
        with _stage_line(desc, stream, line_after_s) as report:
            yield report


@contextmanager
def _terminal_bar(desc: str, stream: TextIO) -> Iterator[ProgressFn]:
    """A tqdm bar redrawn in place, removed when the stage ends."""
    from tqdm import tqdm

    with tqdm(total=BAR_STEPS, desc=desc, file=stream, leave=False, dynamic_ncols=True,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}") as bar:

        def report(fraction: float, message: str) -> None:
            bar.n = int(round(BAR_STEPS * min(max(fraction, 0.0), 1.0)))
            bar.set_postfix_str(message[-BAR_MESSAGE_CHARS:], refresh=False)
            bar.refresh()

        yield report


@contextmanager
def _stage_line(desc: str, stream: TextIO, line_after_s: float) -> Iterator[ProgressFn]:
    """``desc: message`` written once, when the stage has run ``line_after_s`` (a log line)."""
    lock = threading.Lock()
    state = {"message": "", "written": False}

    def write_line() -> None:
        with lock:
            if not state["written"]:
                state["written"] = True
                stream.write(f"{desc}: {state['message'] or 'working'} …\n")
                stream.flush()

    def report(fraction: float, message: str) -> None:
        with lock:
            state["message"] = message

    started = time.monotonic()
    timer = threading.Timer(line_after_s, write_line)
    timer.daemon = True
    timer.start()
    try:
        yield report
    finally:
        timer.cancel()
        timer.join()
        if time.monotonic() - started >= line_after_s:
            write_line()  # the stage ran long but the timer had no chance to write
