"""Cyclic garbage is collected on the GUI thread only, never in a worker thread.

Python's collector runs in whichever thread happens to allocate. When it frees a Qt object
there (a closed window's widget held in a reference cycle), Qt's destructor takes a Qt lock
and then waits for the GIL, while the GUI thread holds the GIL and waits for that lock: the
editor hangs. (Seen in the suite: a decode job's thread freed a closed window's library
browser.) pyqtgraph's ``GarbageCollector`` turns automatic collection off and collects, by
the same generation thresholds, from a timer on the GUI thread.
"""

from __future__ import annotations

import gc

from pyqtgraph.util.garbage_collector import GarbageCollector

INTERVAL_S = 0.5
"""How often the GUI thread collects (cyclic garbage waits at most this long)."""

_collector: GarbageCollector | None = None


def collect_on_gui_thread() -> None:
    """Turn automatic collection off and collect from a GUI-thread timer (once per process;
    call it on the GUI thread, with the QApplication made)."""
    global _collector
    if _collector is None:
        _collector = GarbageCollector(interval=INTERVAL_S)


def collecting_on_gui_thread() -> bool:
    """Whether :func:`collect_on_gui_thread` is in force."""
    return _collector is not None


def collect_anywhere_again() -> None:
    """Collect now on this (GUI) thread, then give automatic collection back: for a process
    that goes on without windows or jobs (the test suite, after an editor test)."""
    global _collector
    if _collector is None:
        return
    _collector.timer.stop()
    _collector = None
    gc.collect()
    gc.enable()
