"""Exports from the editor: one motion render shared by every format the user ticked.

JSON timeline, BVH, glTF and CSV are written by ``core``'s exporters; the MP4 is drawn and
encoded by :mod:`choreo_studio.editor.video_export`. Each file is written atomically by its writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from choreo_studio.core.audio.load import Audio
from choreo_studio.core.choreography.placements import Choreography
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.progress import ProgressFn, no_progress, sub_progress

if TYPE_CHECKING:
    from choreo_studio.editor.document import Segmentation
    from choreo_studio.editor.session_ops import EngineState

KNOWN_FORMATS = ("json", "bvh", "glb", "csv", "mp4")


def export_all(
    engine: EngineState,
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
    from choreo_studio.editor.session_ops import ensure_dir, render_motion

    unknown = [f for f in formats if f not in KNOWN_FORMATS]
    if unknown or not formats:
        raise ChoreoError(
            f"export: formats {unknown or 'none'} — choose from {', '.join(KNOWN_FORMATS)}"
        )
    folder = ensure_dir(out_dir)
    stem = Path(song_path).stem or "choreography"
    song_name = Path(song_path).name
    written: list[Path] = []
    if "json" in formats or "csv" in formats:
        from choreo_studio.core.export.timeline import (
            timeline_to_dict,
            validate_timeline,
            write_timeline,
        )

        timeline = timeline_to_dict(
            chor, seg.analysis, seg.phrases, engine.library, fps=fps, song_name=song_name
        )
        validate_timeline(timeline, "export")
    if "json" in formats:
        written.append(
            write_timeline(
                folder / f"{stem}.timeline.json",
                chor,
                seg.analysis,
                seg.phrases,
                engine.library,
                fps=fps,
                song_name=song_name,
            )
        )
    if "csv" in formats:
        from choreo_studio.core.export.csv_table import write_timeline_csv

        written.append(write_timeline_csv(folder / f"{stem}.timeline.csv", timeline))
    motion_formats = [f for f in formats if f in ("bvh", "glb", "mp4")]
    if not motion_formats:
        progress(1.0, "exported")
        return written
    motion = render_motion(engine, seg, chor, fps, sub_progress(progress, 0.0, 0.3))
    if "bvh" in formats:
        from choreo_studio.core.export.bvh_file import write_performance_bvh

        written.append(write_performance_bvh(folder / f"{stem}.bvh", motion))
    if "glb" in formats:
        from choreo_studio.core.export.gltf import write_glb

        written.append(write_glb(folder / f"{stem}.glb", motion))
    progress(0.4, "motion files written")
    if "mp4" in formats:
        from choreo_studio.editor.video_export import write_mp4

        positions, parents = motion.fk_with_end_sites()
        captions = [
            (p.start_s, p.end_s, f"phrase {p.index + 1} · {_dance_name(engine, c.dance_id)}")
            for p, c in zip(seg.phrases, chor.placements, strict=True)
        ]
        written.append(
            write_mp4(
                folder / f"{stem}.mp4",
                positions,
                parents,
                motion.fps,
                audio.samples,
                audio.sr,
                captions,
                size=video_size,
                progress=sub_progress(progress, 0.4, 1.0),
            )
        )
    progress(1.0, "exported")
    return written


def _dance_name(engine: EngineState, dance_id: str) -> str:
    dance = engine.dance(dance_id)
    return dance.name if dance is not None else dance_id
