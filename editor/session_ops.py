"""The editor's adapter over core's session model (:mod:`core.project.session`), no Qt here.

Each function is one user-level operation in the editor's terms (the document's segmentation
and choreography, an engine spec from the settings, rows for the suggestions panel, joint
positions for the skeleton view) and does its work by calling the session model, the same
code `choreo auto` runs. Functions that take time accept ``progress`` so the editor can run
them in a worker with a progress bar and cancel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from choreo_studio.core.audio.load import Audio, file_content_hash, load_audio, probe_audio
from choreo_studio.core.choreography.engine import Engine
from choreo_studio.core.choreography.engine import load_engine as load_core_engine
from choreo_studio.core.choreography.placements import Choreography, ScoreParts
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.phrases.segmentation import SegmentConstraints
from choreo_studio.core.progress import ProgressFn, no_progress, sub_progress
from choreo_studio.core.project import session
from choreo_studio.core.project.project_file import Project, relocate_song, save_project
from choreo_studio.core.project.session import Segmentation
from choreo_studio.core.user_cache import cache_root, code_hash
from choreo_studio.editor import render_process, render_scenes
from choreo_studio.editor.render_scenes import RenderedScene
from choreo_studio.editor.suggestions_panel import SuggestionRow

if TYPE_CHECKING:
    from choreo_studio.core.analysis.music_analysis import MetricalAlternative, MusicAnalysis
    from choreo_studio.core.retrieval.decoding import DecodeOptions
    from choreo_studio.editor.document import Document

EngineState = Engine
"""The editor's engine is core's (library, scorer, decoding settings, where they came from)."""


@dataclass(frozen=True)
class EngineSpec:
    """Which library and model to use ('' = the bundled defaults)."""

    library_path: str = ""
    model_path: str = ""


@dataclass
class Opened:
    """What a background open hands to the window."""

    engine: Engine
    segmentation: Segmentation
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warning: str = ""


# ============================================================================ engine, songs
def load_engine(spec: EngineSpec, progress: ProgressFn = no_progress) -> Engine:
    """The dance library and the best scorer for it (a matching model, else the matcher)."""
    return load_core_engine(spec.library_path, spec.model_path, progress=progress)


def demo_song_path() -> Path:
    """The demo song as a WAV file in the user's cache (written once), so projects can save it."""
    import choreo_studio.resources.demo_song as generator

    path = cache_root() / f"demo-song-{code_hash(generator.__name__)}" / "demo_song.wav"
    if not path.exists():
        generator.render_demo_song().write_wav(path)  # first run, or the generator changed
    return path


def load_song_audio(path: str, progress: ProgressFn = no_progress) -> Audio:
    """Decode the song for the waveform and playback (analysis follows separately); the
    progress names its length as the header states it, marked when only an estimate."""
    progress(0.0, decoding_text(path))
    audio = load_audio(path)
    progress(1.0, "decoded")
    return audio


def playback_samples(audio: Audio) -> np.ndarray:
    """What the transport plays: the song's samples, or silence of its length while a song
    opened from the cache (not decoded) decodes in the background."""
    if audio.decoded:
        return audio.samples
    return np.zeros((audio.n_frames, audio.n_channels), dtype=np.float32)  # pages untouched


def opened_audio(path: str, progress: ProgressFn = no_progress) -> Audio:
    """The song for the editor: from core's cache without decoding when its analysis is
    cached (found by the file's fingerprint), else decoded once."""
    from choreo_studio.core.phrases.feature_cache import cached_audio
    from choreo_studio.editor.analysis_process import prepare_spare

    audio = cached_audio(path)
    if audio is not None:
        return audio
    prepare_spare()  # the analysis child imports while the song decodes here
    return load_song_audio(path, progress)


def decoding_text(path: str) -> str:
    """``decoding song.ogg (3:12)`` / ``(about 3:12 (estimated))`` before a byte is decoded;
    just ``decoding song.ogg`` when the file cannot be probed (decoding then says why)."""
    name = Path(path).name
    try:
        info = probe_audio(path)
    except ChoreoError:
        return f"decoding {name}"
    return f"decoding {name} ({info.duration_text()})"


def open_new_song(
    audio: Audio, path: str, spec: EngineSpec, progress: ProgressFn = no_progress
) -> Opened:
    """Analyse (in a child process, so the GUI stays responsive), segment, score and decode.

    The child is handed the samples decoded already (the song is decoded once) and starts
    first, so its imports and analysis overlap the loading of the dance library here and the
    building of the library's transition model (the first decode's ~2 s).
    """
    from choreo_studio.core.phrases.feature_cache import FeatureCache
    from choreo_studio.core.phrases.song import open_song

    child = None
    if audio.path and FeatureCache(audio.content_hash).load_analysis() is None:
        from choreo_studio.editor.analysis_process import ChildAnalysis

        child = ChildAnalysis.start(audio.path, audio)
    try:
        engine = load_engine(spec, sub_progress(progress, 0.0, 0.15))
        if child is not None:
            engine.prepare_decoding()  # the library's half of the first decode, beside the child
    except BaseException:
        if child is not None:
            child.kill()
        raise
    if child is not None:
        child.wait(sub_progress(progress, 0.15, 0.8))
    prepare_render(engine)  # its start-up overlaps the scoring here and the views' build
    song = open_song(audio, sub_progress(progress, 0.8, 0.85))
    seg = session.start(engine, song, sub_progress(progress, 0.85, 1.0))
    return Opened(engine, seg, notes=[unsure_note(song.analysis) + f"{len(song.phrases)} "
                                      f"phrases · scorer: {engine.scorer_name}"])


def unsure_note(analysis: MusicAnalysis) -> str:
    """What the status bar says first when the beat grid is a best guess (else "")."""
    if not analysis.grid_unsure:
        return ""
    return (f"beat grid is a best guess ({100 * analysis.beat_confidence:.0f}% sure): check "
            "it, or take another in Tempo ▸ Other readings · ")


def relocate(project: Project, song_path: str) -> Project:
    """Point a project at a located song (its content must be the same)."""
    return relocate_song(project, song_path, file_content_hash(song_path))


def restore_project(project: Project, audio: Audio, progress: ProgressFn = no_progress) -> Opened:
    """Reopen a saved project exactly (see :func:`core.project.session.restore`); when its
    library or model cannot be loaded the bundled ones are used and the window says so."""
    spec = EngineSpec(project.library.path, project.model.path)
    try:
        engine = load_engine(spec, sub_progress(progress, 0.0, 0.2))
    except ChoreoError:
        engine = load_engine(EngineSpec(), sub_progress(progress, 0.0, 0.2))
    weights = ""
    try:
        engine.options = session.with_decode_settings(engine.options,
                                                      project.settings.get("decoding"))
    except ChoreoError as exc:  # the placements still open as saved
        weights = f"{exc} (the default decoder weights are used)"
    prepare_render(engine)
    seg, warning = session.restore(engine, project, audio, sub_progress(progress, 0.2, 1.0))
    return Opened(engine, seg, settings=dict(project.settings), warning=warning or weights)


# ============================================================================ placements
def _at(seg: Segmentation, chor: Choreography) -> Segmentation:
    """``seg`` carrying ``chor`` (the window passes the document's two separately)."""
    return seg if seg.choreography is chor else seg.with_choreography(chor)


def solve(
    engine: Engine,
    seg: Segmentation,
    chor: Choreography,
    *,
    temperature: float = 0.0,
    tie_sections: bool = False,
    seed: int | None = None,
    options: DecodeOptions | None = None,
    progress: ProgressFn = no_progress,
) -> Choreography:
    """Re-solve every unlocked phrase (constrained Viterbi), or sample one ("vary"), under
    ``options`` (default the engine's decoder weights)."""
    return session.solve(engine, _at(seg, chor), temperature=temperature, seed=seed,
                         tie_sections=tie_sections, options=options, progress=progress)


def swap(engine: Engine, seg: Segmentation, chor: Choreography, t: int, dance_id: str
         ) -> Choreography:
    """``dance_id`` on phrase ``t`` (the views recompute the neighbours' transitions)."""
    return session.swap(_at(seg, chor), t, dance_id)


def same_as_section(
    engine: Engine, seg: Segmentation, chor: Choreography, t: int
) -> tuple[Choreography, list[int]]:
    """Copy phrase ``t``'s dance to its tied phrases in the other repeats of its section."""
    return session.same_as_section(_at(seg, chor), t)


def score_parts(engine: Engine, seg: Segmentation, chor: Choreography | None = None
                ) -> list[ScoreParts]:
    """Fit / in / out of every placement, from the model (what the timeline blocks show)."""
    return session.score_parts(engine, seg if chor is None else _at(seg, chor))


def suggestion_rows(
    engine: Engine, seg: Segmentation, chor: Choreography, t: int, k: int
) -> list[SuggestionRow]:
    """Top-K for phrase ``t`` given its current neighbours, with the current dance marked."""
    has_prev, has_next = t > 0, t + 1 < len(chor)
    current = chor[t].dance_id
    return [
        SuggestionRow(d.id, d.name, d.style, d.energy_label, s.music_fit,
                      s.transition_in if has_prev else None,
                      s.transition_out if has_next else None, s.score, d.id == current)
        for d, s in session.suggestions(engine, _at(seg, chor), t, k)
    ]


# ============================================================================ segmentation
def resegment(
    engine: Engine,
    seg: Segmentation,
    constraints: SegmentConstraints,
    progress: ProgressFn = no_progress,
    analysis: MusicAnalysis | None = None,
) -> Segmentation:
    """Re-segment under new constraints and re-solve only the phrases that changed."""
    return session.resegment(engine, seg, constraints, progress, analysis)


def split(engine: Engine, seg: Segmentation, at_s: float, progress: ProgressFn = no_progress
          ) -> Segmentation:
    """One new boundary at the downbeat nearest ``at_s``; only the two halves re-solved."""
    return session.split(engine, seg, at_s, progress)


def merge(engine: Engine, seg: Segmentation, first: int, last: int,
          progress: ProgressFn = no_progress) -> Segmentation:
    """Phrases ``first``..``last`` joined into one; only it is re-solved."""
    return session.merge(engine, seg, first, last, progress)


def move_boundary(engine: Engine, seg: Segmentation, index: int, to_s: float,
                  progress: ProgressFn = no_progress) -> Segmentation:
    """The start of phrase ``index`` moved to the downbeat nearest ``to_s`` (it alone)."""
    return session.move_boundary(engine, seg, index, to_s, progress)


def solve_phrases(engine: Engine, seg: Segmentation, chor: Choreography, indices: list[int],
                  progress: ProgressFn = no_progress) -> Choreography:
    """Re-decode only the unlocked phrases among ``indices``, the rest held."""
    return session.solve_phrases(engine, _at(seg, chor), indices, progress)


def retime_unchanged(seg: Segmentation, **change: Any) -> bool:
    """Whether a tempo-tool request leaves the beat grid as it is (nothing to re-analyse)."""
    return session.retime_unchanged(seg, **change)


def retime(
    engine: Engine,
    seg: Segmentation,
    audio: Audio,
    progress: ProgressFn,
    *,
    tempo_bpm: float | None = None,
    first_downbeat_s: float | None = None,
    beats_per_bar: int | None = None,
    meter_text: str | None = None,
    beat_step: float | None = None,
) -> Segmentation:
    """Tempo tools: re-track beats / downbeats / meter in core, then re-segment."""
    return session.retime(engine, seg, progress, tempo_bpm=tempo_bpm,
                          first_downbeat_s=first_downbeat_s, beats_per_bar=beats_per_bar,
                          meter_text=meter_text, beat_step=beat_step)


def reading_request(seg: Segmentation, reading: MetricalAlternative) -> dict[str, Any]:
    """The retime arguments that take ``reading``, one of the song's metrical alternatives."""
    return session.reading_request(seg.analysis, reading)


# ============================================================================ motion
def render_scene(
    engine: Engine, seg: Segmentation, chor: Choreography, progress: ProgressFn = no_progress
) -> RenderedScene:
    """Render the whole dance and measure it (beat hit rate…) for the view and status bar: in
    the render child (the GUI keeps the interpreter), in this thread when it cannot serve; a
    dance rendered a moment ago (undo, redo) comes from the recent scenes at once."""
    seg = _at(seg, chor)
    key = render_process.recent_scenes.key(engine, seg)
    scene = render_process.recent_scenes.get(key)
    if scene is not None:
        progress(1.0, "rendered")
        return scene
    try:
        scene = render_process.render_scene(engine, seg, progress)
    except render_process.Unservable:
        scene = render_scenes.render_in_process(engine, seg, progress)
    render_process.recent_scenes.put(key, scene)
    return scene


def audition_scenes(
    engine: Engine, seg: Segmentation, chor: Choreography, t: int, dance_ids: list[str],
    preroll_bars: int = 1, progress: ProgressFn = no_progress,
) -> tuple[RenderedScene, ...]:
    """Phrase ``t`` danced with each of ``dance_ids`` in context: from ``preroll_bars`` bars
    before it on the previous placement, through the transition (see
    :func:`session.audition_span`); rendered as :func:`render_scene` is."""
    seg = _at(seg, chor)
    try:
        return tuple(render_process.audition_scenes(engine, seg, t, dance_ids, preroll_bars,
                                                    progress))
    except render_process.Unservable:
        return tuple(render_scenes.audition_in_process(engine, seg, t, d, preroll_bars)
                     for d in dance_ids)


def prepare_render(engine: Engine) -> None:
    """Start the render child on ``engine``'s library while the user looks at the new song
    (a child that cannot start is reported by the first render instead)."""
    try:
        render_process.shared_child().prepare(engine)
    except ChoreoError:
        pass


# ============================================================================ metrics
def quick_metrics(chor: Choreography, measured: Any = None) -> str:
    """Status-bar text: the choreography's counts at once, and the rendered motion's beat hit
    rate and beat align score once ``measured`` (core.choreography.metrics.Metrics) is known."""
    ids = chor.dance_ids
    repeats = sum(1 for a, b in zip(ids, ids[1:], strict=False) if a == b)
    parts = [
        f"phrases {len(ids)}",
        f"distinct {len(set(ids))}",
        f"back-to-back {repeats}",
        f"locked {len(chor.locked_indices)}",
    ]
    if measured is not None:
        parts.append(f"beat hit {_pct(measured.beat_hit_rate)}")
        parts.append(f"align {measured.beat_align_score:.2f}")
    return " · ".join(parts)


def _pct(value: float) -> str:
    return "n/a" if value != value else f"{100 * value:.0f}%"


# ============================================================================ saving
def make_project(engine: Engine, doc: Document, top_k: int,
                 view: dict[str, Any] | None = None) -> Project:
    """The open document as a project (its song, cut, placements, engine and settings, and
    the ``view`` the user was looking at: zoom and selection)."""
    return project_maker(engine, doc, top_k, view)()


def project_maker(engine: Engine, doc: Document, top_k: int,
                  view: dict[str, Any] | None = None) -> Callable[[], Project]:
    """:func:`make_project` for later, on any thread: it holds the document's (immutable)
    segmentation and choreography as they are now, so the GUI may edit on meanwhile."""
    seg = _at(doc.segmentation, doc.choreography)
    settings: dict[str, Any] = {"top_k": int(top_k), "project_path": doc.project_path,
                                "decoding": session.decode_settings(engine.options)}
    if view is not None:
        settings["view"] = view
    song_path = doc.song_path
    return lambda: session.to_project(engine, seg, song_path, settings)


def save_project_file(project: Project, path: str) -> Path:
    """Atomically write ``project`` to ``path``."""
    return save_project(project, path)
