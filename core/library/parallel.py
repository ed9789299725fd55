"""Running independent jobs (one take each) in worker processes, results in the jobs' order.

Workers are *spawned* (a fresh interpreter each, the same on Linux, macOS and Windows; a fork
of a process holding GUI or BLAS threads is unsafe), at most ``MAX_JOBS`` of them, each busy
with one job at a time, so memory is bounded by the number of workers, not of jobs. The job
function and its arguments must be module-level and plain data (paths, arrays, dataclasses):
they and the results travel over the pool's pipe between our own processes; nothing is
written to disk. Results come back in the order of the jobs whatever order they finish in,
so the output never depends on the scheduling. As with any spawned pool, a script that calls
this must guard its top level with ``if __name__ == "__main__":`` (a worker imports the main
module); the ``choreo`` command, the editor and the benchmarks do.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.progress import ProgressFn, no_progress

MAX_JOBS = 8
"""At most this many worker processes (each holds one take and its song: a few hundred MB)."""

POOL_MIN_WORK_S = 10.0
"""Below this many CPU seconds of work in all, workers are not started unless asked for: a
spawned worker first imports numpy, scipy and the importer (about 2 CPU seconds, measured),
and two workers save half the work, so under about 5 s a pool does not pay; 10 leaves a margin.
The output is the same either way."""

Job = TypeVar("Job")
Result = TypeVar("Result")


def available_cores() -> int:
    """CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def worker_count(jobs: int | None, n_items: int, seconds_each: float | None = None) -> int:
    """Workers for ``n_items`` jobs: ``jobs``, or with None one per available core unless the
    jobs look shorter in all (``seconds_each`` CPU seconds each) than ``POOL_MIN_WORK_S``; at most
    ``MAX_JOBS`` and never more than the jobs; 1 means run in this process."""
    if jobs is None and seconds_each is not None and seconds_each * n_items < POOL_MIN_WORK_S:
        return 1
    wanted = available_cores() if jobs is None else int(jobs)
    if wanted < 1:
        raise ChoreoError(f"--jobs {wanted}: give 1 or more worker processes")
    return max(1, min(wanted, MAX_JOBS, n_items))


def ordered_map(fn: Callable[[Job], Result], items: Sequence[Job], workers: int,
                progress: ProgressFn = no_progress, label: str = "job") -> list[Result]:
    """``[fn(item) for item in items]``, in ``workers`` spawned processes when more than one;
    ``progress(fraction, message)`` after each finished item (it may raise to cancel: the
    items not started are dropped, the running ones finish)."""
    if workers <= 1 or len(items) < 2:
        out = []
        for k, item in enumerate(items):
            out.append(fn(item))
            progress((k + 1) / len(items), f"{label} {k + 1}/{len(items)}")
        return out
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = [pool.submit(fn, item) for item in items]
        pending, done = set(futures), 0
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            done += len(finished)
            progress(done / len(items), f"{label} {done}/{len(items)} ({workers} processes)")
        return [f.result() for f in futures]
    except BrokenProcessPool:
        raise ChoreoError(f"a worker process died during the {label}s (out of memory?) — run "
                          "again with fewer processes (--jobs 1 runs in one)") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
