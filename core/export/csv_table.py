"""The phrase timeline as CSV (one row per music phrase) for spreadsheets and engine importers.

Columns are the timeline JSON's phrase fields (see :mod:`core.export.timeline`), so both exports
always agree.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from choreo_studio.core.atomic_io import write_bytes_atomic

COLUMNS = (
    "index", "start_s", "end_s", "start_frame", "end_frame", "start_beat", "end_beat", "n_bars",
    "section_label", "dance_id", "dance_name", "locked", "mirror", "mirror_on_repeat", "repeats",
    "beats_per_count", "beats_per_count_auto", "blend_s", "music_fit", "transition_in",
    "transition_out",
)
_SCORES = ("music_fit", "transition_in", "transition_out")


def timeline_csv_text(timeline: dict[str, Any]) -> str:
    """CSV text for a timeline JSON object (as made by ``timeline_to_dict``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in timeline["phrases"]:
        values = {**row, **row.get("scores", {})}
        cells = []
        for name in COLUMNS:
            value = values.get(name)
            if isinstance(value, bool):
                cells.append("yes" if value else "no")
            elif name == "beats_per_count":
                cells.append(f"{value:g}")  # 0.5, 1, 2: as the timeline JSON has them
            elif isinstance(value, float):
                cells.append(f"{value:.6g}" if name in _SCORES else f"{value:.4f}")
            else:
                cells.append("" if value is None else str(value))
        writer.writerow(cells)
    return out.getvalue()


def write_timeline_csv(path: str | os.PathLike[str], timeline: dict[str, Any]) -> Path:
    """Atomically write the CSV of ``timeline`` to ``path``."""
    return write_bytes_atomic(path, timeline_csv_text(timeline).encode("utf-8"))
