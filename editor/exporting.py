"""Exports from the editor: core's session export (the CLI's file names, one atomic set) plus
the MP4, which the editor draws (:mod:`choreo_studio.editor.video_export`) into the same set."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from choreo_studio.core.audio.load import Audio
from choreo_studio.core.choreography.placements import Choreography
from choreo_studio.core.errors import Cancelled, ChoreoError
from choreo_studio.core.progress import ProgressFn, no_progress, sub_progress
from choreo_studio.core.project import session

if TYPE_CHECKING:
    from choreo_studio.core.choreography.engine import Engine
    from choreo_studio.core.export.output_set import Writer
    from choreo_studio.core.motion.motion import Motion
    from choreo_studio.core.project.session import Segmentation

KNOWN_FORMATS = ("json", "bvh", "glb", "csv", "mp4", "clips", "fbx")
_KINDS = {"json": "timeline", "csv": "csv", "bvh": "bvh", "glb": "glb", "fbx": "fbx"}
"""The export dialog's format → core's export kind (the MP4 is the editor's own)."""


def export_all(
    engine: Engine,
    seg: Segmentation,
    chor: Choreography,
    audio: Audio,
    song_path: str,
    out_dir: str,
    formats: Sequence[str],
    *,
    fps: float = 30.0,
    video_size: tuple[int, int] = (960, 540),
    progress: ProgressFn = no_progress,
) -> list[Path]:
    """Write ``formats`` for this choreography into ``out_dir``; returns the written paths."""
    unknown = [f for f in formats if f not in KNOWN_FORMATS]
    if unknown or not formats:
        raise ChoreoError(
            f"export: formats {unknown or 'none'} — choose from {', '.join(KNOWN_FORMATS)}"
        )
    seg = seg if seg.choreography is chor else seg.with_choreography(chor)
    kinds = [_KINDS[f] for f in formats if f in _KINDS]

    def mp4(motion: Motion) -> dict[str, Writer]:
        from choreo_studio.core.motion.contacts import foot_point_indices
        from choreo_studio.editor.video_export import write_mp4

        positions, parents = motion.fk_with_end_sites()
        captions = [
            (p.start_s, p.end_s, f"phrase {p.index + 1} · {_dance_name(engine, c.dance_id)}")
            for p, c in zip(seg.phrases, chor.placements, strict=True)
        ]
        feet, _legs = foot_point_indices(motion.skeleton)
        return {"mp4": lambda path: write_mp4(path, positions, parents, motion.fps,
                                              audio.samples, audio.sr, captions, size=video_size,
                                              feet=feet,
                                              progress=sub_progress(progress, 0.4, 0.95))}

    clips = None
    if "clips" in formats:  # every used dance as its own clip, named in the timeline
        from choreo_studio.core.export.clips import ClipFiles

        clips = ClipFiles(fbx="fbx" in formats)
    files = session.export(engine, seg, out_dir, kinds=kinds, fps=fps,
                           song_name=Path(song_path).name,
                           extra=mp4 if "mp4" in formats else None,
                           progress=_written_is_final(progress), clips=clips)
    return list(files.values())


def _written_is_final(progress: ProgressFn) -> ProgressFn:
    """``progress`` whose last report (1.0: the set is in place) cannot cancel. Cancel while
    the motion renders or the MP4 encodes stops the export before any file of the set is
    put in place; once the set is written it is too late, and the files are reported (they
    were reported cancelled while the export had written them)."""

    def report(fraction: float, message: str) -> None:
        if fraction < 1.0:
            progress(fraction, message)
            return
        with contextlib.suppress(Cancelled):
            progress(fraction, message)

    return report


def _dance_name(engine: Engine, dance_id: str) -> str:
    dance = engine.dance(dance_id)
    return dance.name if dance is not None else dance_id
