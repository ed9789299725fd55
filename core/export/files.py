"""The four files a finished choreography is exported as: timeline.json, CSV, BVH and glb.

Here rather than on the engine so that ``choreography`` never imports ``export`` (the export
formats read a choreography; a choreography never needs to know how it is written).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from choreo_studio.core.atomic_io import write_json_atomic
from choreo_studio.core.export.bvh_file import write_performance_bvh
from choreo_studio.core.export.csv_table import write_timeline_csv
from choreo_studio.core.export.gltf import write_glb
from choreo_studio.core.export.timeline import timeline_to_dict, validate_timeline

if TYPE_CHECKING:
    from choreo_studio.core.choreography.placements import Choreography
    from choreo_studio.core.library.library import Library
    from choreo_studio.core.motion.motion import Motion
    from choreo_studio.core.phrases.song import Song


def write_exports(song: Song, choreography: Choreography, motion: Motion, library: Library,
                  outdir: str | os.PathLike[str], *, song_name: str = "") -> dict[str, Path]:
    """Write timeline.json, timeline.csv, dance.bvh and dance.glb into ``outdir``."""
    folder = Path(outdir)
    timeline = timeline_to_dict(choreography, song.analysis, song.phrases, library,
                                fps=motion.fps, song_name=song_name)
    validate_timeline(timeline, str(folder / "timeline.json"))
    return {
        "timeline": write_json_atomic(folder / "timeline.json", timeline),
        "csv": write_timeline_csv(folder / "timeline.csv", timeline),
        "bvh": write_performance_bvh(folder / "dance.bvh", motion),
        "glb": write_glb(folder / "dance.glb", motion, name=song_name or "Dance"),
    }
