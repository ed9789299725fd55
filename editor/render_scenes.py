"""The skeleton view's rendered scenes: how they are rendered, in the editor or in its render
child (:mod:`editor.render_process`), and how scenes and the session state they are rendered
from travel between the two.

A message is one JSON header line followed by the raw bytes of the arrays it lists, in order
(no pickle); the analysis, phrases and placements travel exactly (floats as JSON's round-trip
text or as their bytes), so the child renders bit for bit what the editor would.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import IO, TYPE_CHECKING, Any

import numpy as np
from choreo_studio.core.progress import ProgressFn, no_progress

if TYPE_CHECKING:
    from choreo_studio.core.analysis.music_analysis import MusicAnalysis
    from choreo_studio.core.choreography.engine import Engine
    from choreo_studio.core.motion.motion import Motion
    from choreo_studio.core.project.session import Segmentation

PREVIEW_FPS = 30.0

Arrays = dict[str, np.ndarray]


@dataclass
class RenderedScene:
    """The rendered dance as joint positions for the skeleton view, plus its metrics and the
    columns of ``positions`` that are foot points (for the contacts the view shows)."""

    positions: np.ndarray
    parents: np.ndarray
    fps: float
    metrics: Any = None
    feet: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


# ============================================================================ wire format
def write_message(stream: IO[bytes], header: dict[str, Any], arrays: Arrays | None = None
                  ) -> None:
    """One header line (``header`` plus the arrays' names, dtypes and shapes), then each
    array's bytes in that order."""
    arrays = {k: np.ascontiguousarray(v) for k, v in (arrays or {}).items()}
    header = dict(header, arrays=[[k, v.dtype.str, list(v.shape)] for k, v in arrays.items()])
    stream.write(json.dumps(header).encode() + b"\n")
    for value in arrays.values():
        stream.write(value.reshape(-1).view(np.uint8).data)
    stream.flush()


def read_message(stream: IO[bytes]) -> tuple[dict[str, Any], Arrays] | None:
    """The next message written by :func:`write_message`; None at the end of the stream."""
    line = stream.readline()
    if not line:
        return None
    header = json.loads(line)
    arrays = {}
    for name, dtype, shape in header.pop("arrays", []):
        value = np.empty(shape, dtype=np.dtype(dtype))
        view, got = memoryview(value.reshape(-1).view(np.uint8)), 0
        while got < view.nbytes:
            n = stream.readinto(view[got:])
            if not n:
                return None
            got += n
        arrays[name] = value
    return header, arrays


# ============================================================================ session state
def analysis_message(analysis: MusicAnalysis, prefix: str = "analysis.") -> tuple[dict, Arrays]:
    """The analysis exactly (arrays as raw bytes, the rest as JSON)."""
    meta, arrays = {}, {}
    for f in fields(analysis):
        value = getattr(analysis, f.name)
        if isinstance(value, np.ndarray):
            arrays[prefix + f.name] = value
        elif f.name in ("sections", "alternatives"):
            meta[f.name] = [asdict(v) for v in value]
        else:
            meta[f.name] = value
    return meta, arrays


def analysis_from(meta: dict[str, Any], arrays: Arrays, prefix: str = "analysis."
                   ) -> MusicAnalysis:
    from choreo_studio.core.analysis.music_analysis import (
        MetricalAlternative,
        MusicAnalysis,
        Section,
    )

    values = dict(meta, sections=[Section(**s) for s in meta["sections"]],
                  alternatives=[MetricalAlternative(**a) for a in meta["alternatives"]])
    values.update({k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)})
    return MusicAnalysis(**values)


def state_message(engine: Engine, seg: Segmentation) -> tuple[dict[str, Any], Arrays]:
    """What the child needs to render ``seg`` as ``engine`` would: the library's path and
    fingerprint, the engine's plain settings (stage radius…), the analysis, phrases,
    placements and P(d | u_t) the metrics use."""
    chor = seg.choreography
    analysis, arrays = analysis_message(seg.analysis)
    settings = {f.name: getattr(engine, f.name) for f in fields(engine)
                if isinstance(getattr(engine, f.name), (bool, int, float, str, type(None)))}
    header = {
        "library": {"path": engine.library_path, "fingerprint": engine.library.fingerprint},
        "engine": settings,
        "scorer": engine.scorer_name,
        "analysis": analysis,
        "phrases": [asdict(p) for p in seg.phrases],
        "choreography": {"placements": [asdict(p) for p in chor], "scorer": chor.scorer,
                         "decoder": chor.decoder, "notes": dict(chor.notes)},
    }
    arrays["scores"] = np.asarray(seg.scores)
    arrays["probabilities"] = np.asarray(engine.probabilities(seg.song))
    return header, arrays


def scene_message(scenes: list[RenderedScene]) -> tuple[dict[str, Any], Arrays]:
    """Rendered scenes as a ``done`` message."""
    arrays: Arrays = {}
    metas = []
    for i, s in enumerate(scenes):
        arrays.update({f"{i}.positions": s.positions, f"{i}.parents": s.parents,
                       f"{i}.feet": s.feet})
        metas.append({"fps": s.fps, "metrics": None if s.metrics is None else asdict(s.metrics)})
    return {"kind": "done", "scenes": metas}, arrays


def scenes_from(header: dict[str, Any], arrays: Arrays) -> list[RenderedScene]:
    """The scenes of a ``done`` message."""
    from choreo_studio.core.choreography.metrics import Metrics

    return [RenderedScene(arrays[f"{i}.positions"], arrays[f"{i}.parents"], float(m["fps"]),
                          None if m["metrics"] is None else Metrics(**m["metrics"]),
                          arrays[f"{i}.feet"])
            for i, m in enumerate(header["scenes"])]


# ============================================================================ rendering
def scene_of(motion: Motion, metrics: Any = None) -> RenderedScene:
    """A rendered motion as the skeleton view draws it."""
    from choreo_studio.core.motion.contacts import foot_point_indices

    positions, parents = motion.fk_with_end_sites()
    feet, _legs = foot_point_indices(motion.skeleton)
    return RenderedScene(positions.astype(np.float32), parents, motion.fps, metrics, feet)


def render_in_process(engine: Engine, seg: Segmentation, progress: ProgressFn = no_progress
                      ) -> RenderedScene:
    """Render the whole dance and measure it (beat hit rate…) for the view and status bar."""
    from choreo_studio.core.progress import sub_progress
    from choreo_studio.core.project import session

    motion = session.render(engine, seg, PREVIEW_FPS, sub_progress(progress, 0.0, 0.6))
    progress(0.7, "measuring")
    metrics = engine.metrics(seg.song, seg.choreography, motion)
    progress(1.0, "rendered")
    return scene_of(motion, metrics)


def audition_in_process(engine: Engine, seg: Segmentation, t: int, dance_id: str,
                        preroll_bars: int = 1) -> RenderedScene:
    """Phrase ``t`` danced with ``dance_id`` from ``preroll_bars`` bars before it (see
    :func:`core.project.session.audition`)."""
    from choreo_studio.core.project import session

    return scene_of(session.audition(engine, seg, t, dance_id, PREVIEW_FPS, preroll_bars))
