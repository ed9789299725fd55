"""The run's CSV log and progress bars (written and shown by rank 0 only).

``log.csv`` is long-form — ``stage, epoch, name, value, elapsed_s`` — so every stage can log
its own quantities (loss parts, learning rate, pseudo-label coverage, accuracies) in one file
that a spreadsheet or pandas pivots directly. On resume the rows of epochs that are about to be
replayed are dropped, so the log reads like the uninterrupted run.
"""

from __future__ import annotations

import csv
import io
import os
import sys
import time
from pathlib import Path

from choreo_studio.core.atomic_io import write_bytes_atomic
from choreo_studio.core.progress import is_terminal
from tqdm import tqdm

FIELDS = ("stage", "epoch", "name", "value", "elapsed_s")


class RunLog:
    """Appends per-epoch values to ``log.csv``; does nothing on ranks other than 0."""

    def __init__(self, path: str | os.PathLike[str], enabled: bool = True) -> None:
        self.path = Path(path)
        self.enabled = enabled
        self.started = time.monotonic()
        if enabled and not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(self.path, (",".join(FIELDS) + "\n").encode())

    def write(self, stage: str, epoch: int, values: dict[str, float]) -> None:
        """Append one row per value for ``epoch`` (0-based) of ``stage``."""
        if not self.enabled:
            return
        elapsed = round(time.monotonic() - self.started, 3)
        with open(self.path, "a", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            for name, value in values.items():
                writer.writerow([stage, epoch, name, f"{float(value):.6g}", elapsed])

    def drop_from(self, stage: str, epoch: int) -> None:
        """Remove the rows of ``stage`` at ``epoch`` and later (they are about to be re-run)."""
        if not self.enabled or not self.path.exists():
            return
        with open(self.path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        kept = [rows[0]] + [r for r in rows[1:] if not (r[0] == stage and int(r[1]) >= epoch)]
        buffer = io.StringIO()
        csv.writer(buffer).writerows(kept)
        write_bytes_atomic(self.path, buffer.getvalue().encode("utf-8"))

    def read(self, stage: str | None = None) -> list[dict[str, str]]:
        """The logged rows (optionally of one stage) as dicts."""
        with open(self.path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        return [r for r in rows if stage is None or r["stage"] == stage]


def progress_bar(total: int, desc: str, enabled: bool) -> tqdm:
    """A tqdm bar on stderr, hidden on ranks other than 0, when ``enabled`` is False and when
    stderr is not a terminal (a log gets the per-epoch lines, not ``\r`` redraws)."""
    return tqdm(total=total, desc=desc, disable=not (enabled and is_terminal(sys.stderr)),
                file=sys.stderr, leave=False, dynamic_ncols=True)
