"""The files a finished choreography is exported as, under the CLI's names, written as one set.

``timeline.json``, ``timeline.csv``, ``dance.bvh``, ``dance.glb`` (``dance.fbx`` through Blender
when asked, the editor's ``dance.mp4``) and the per-dance clips (:mod:`export.clips`) go into the
output folder together through :mod:`export.output_set`. Here
rather than on the engine so that ``choreography`` never imports ``export``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from choreo_studio.core.atomic_io import json_bytes
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.export.bvh_file import performance_bvh_bytes
from choreo_studio.core.export.clips import ClipFiles, clip_writers, used_dances
from choreo_studio.core.export.csv_table import timeline_csv_text
from choreo_studio.core.export.fbx import require_fbx, write_fbx_from_glb
from choreo_studio.core.export.gltf import glb_bytes
from choreo_studio.core.export.output_set import Contents, Writer, write_output_set
from choreo_studio.core.export.timeline import check_timeline_timing, timeline_to_dict

if TYPE_CHECKING:
    from choreo_studio.core.choreography.placements import Choreography, ScoreParts
    from choreo_studio.core.library.library import Library
    from choreo_studio.core.motion.motion import Motion
    from choreo_studio.core.phrases.song import Song

FILE_NAMES = {"timeline": "timeline.json", "csv": "timeline.csv", "bvh": "dance.bvh",
              "glb": "dance.glb", "fbx": "dance.fbx", "mp4": "dance.mp4"}
"""Export kind → file name in the output folder (the same from the CLI and the editor)."""
CORE_KINDS = ("timeline", "csv", "bvh", "glb")
"""What core writes itself (the MP4 is drawn by the editor and passed in as an extra writer)."""
MOTION_KINDS = ("bvh", "glb", "fbx", "mp4")
"""Kinds that need the rendered motion."""


def write_exports(
    song: Song,
    choreography: Choreography,
    motion: Motion | None,
    library: Library,
    outdir: str | os.PathLike[str],
    *,
    song_name: str = "",
    fps: float | None = None,
    parts: Sequence[ScoreParts] | None = None,
    kinds: Sequence[str] = CORE_KINDS,
    extra: Mapping[str, Writer] | None = None,
    bvh_unit: str = "cm",
    root_bone: bool = True,
    clips: ClipFiles | None = None,
) -> dict[str, Path]:
    """Write ``kinds`` (+ ``extra`` kind → writer) into ``outdir`` as one set; kind → path.

    ``motion`` is needed for bvh/glb; ``fps`` defaults to the motion's; ``parts`` are the score
    parts written into the timeline; the glb's scene is named after the song (also in the
    animation's extras), its animation ``arrangement``; ``bvh_unit`` is cm or m; ``root_bone``
    adds the glb's floor-level root-motion bone. ``clips`` also writes every used dance phrase
    as its own clip (see :mod:`export.clips`; paths under ``clip:FILE``) and names them in the
    timeline.
    """
    unknown = [k for k in [*kinds, *(extra or {})] if k not in FILE_NAMES]
    if unknown or not (kinds or extra):
        raise ChoreoError(f"export: formats {unknown or 'none'} — choose from "
                          f"{', '.join(FILE_NAMES)}")
    if motion is None and any(k in MOTION_KINDS for k in kinds):
        raise ValueError("bvh and glb exports need the rendered motion")
    fps = fps if fps is not None else motion.fps
    if "fbx" in kinds or (clips is not None and clips.fbx):
        require_fbx()  # before anything is written: the one-line hint
    writers: dict[str, Writer | Contents] = {}
    if "timeline" in kinds or "csv" in kinds:
        names = {k: FILE_NAMES[k] for k in [*kinds, *(extra or {})] if k in MOTION_KINDS}
        timeline = timeline_to_dict(choreography, song.analysis, song.phrases, library,
                                    fps=fps, song_name=song_name, parts=parts, files=names,
                                    clip_files=clips)
        # built here from typed values (the schema tests cover its shape): the timing check
        # only, not the ~50 ms schema walk every read still does
        check_timeline_timing(timeline, str(Path(outdir) / FILE_NAMES["timeline"]))
        if "timeline" in kinds:
            writers["timeline"] = Contents(partial(
                json_bytes, Path(outdir) / FILE_NAMES["timeline"], timeline))
        if "csv" in kinds:
            writers["csv"] = Contents(lambda: timeline_csv_text(timeline).encode("utf-8"))
    if "bvh" in kinds:
        writers["bvh"] = Contents(partial(performance_bvh_bytes, motion, unit=bvh_unit))
    if "glb" in kinds:
        writers["glb"] = Contents(partial(glb_bytes, motion, name=song_name or "Dance",
                                          root_bone=root_bone,
                                          extras={"song": song_name} if song_name else None))
    if "fbx" in kinds:
        glb = glb_bytes(motion, name=song_name or "Dance", root_bone=root_bone,
                        extras={"song": song_name} if song_name else None)
        writers["fbx"] = partial(write_fbx_from_glb, glb=glb, fps=motion.fps)
    writers.update(extra or {})
    files = {FILE_NAMES[k]: w for k, w in writers.items()}
    clip_files = {}
    if clips is not None:
        clip_files = clip_writers(library, used_dances(choreography), clips, song_name)
        files.update(clip_files)
    paths = write_output_set(outdir, files)
    out = {kind: paths[FILE_NAMES[kind]] for kind in writers}
    out.update({f"clip:{name}": paths[name] for name in clip_files})
    return out
