"""What the editor asks of ``core``, composed from core's public functions (no Qt here).

Each function is one user-level operation (open a song, re-segment after a boundary drag,
re-solve the unlocked phrases, swap a suggestion in, render the dance, export…) expressed as
calls into analysis, scoring, decoding, suggestions, rendering and export. Functions that take
time accept ``progress`` so the editor can run them in a worker with a progress bar and cancel.
Keeping this layer free of Qt makes it testable and lets the benchmark time it directly.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from choreo_studio.core.analysis.music_analysis import MusicAnalysis
from choreo_studio.core.audio.load import Audio, file_content_hash, load_audio
from choreo_studio.core.choreography.placements import Choreography, Placement
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.phrases.segmentation import MusicPhrase, SegmentConstraints
from choreo_studio.core.progress import ProgressFn, no_progress, sub_progress
from choreo_studio.core.project.project_file import (
    LibraryRef,
    ModelRef,
    Project,
    check_library,
    relocate_song,
    save_project,
)
from choreo_studio.core.retrieval.decoding import (
    DecodeOptions,
    TransitionScores,
    decode,
    section_ties,
)
from choreo_studio.core.retrieval.suggestions import suggest
from choreo_studio.core.user_cache import cache_root, code_hash
from choreo_studio.editor.document import Segmentation
from choreo_studio.editor.suggestions_panel import SuggestionRow

if TYPE_CHECKING:
    from choreo_studio.core.library.library import DancePhrase, Library
    from choreo_studio.core.retrieval.scoring import Scorer
    from choreo_studio.editor.document import Document

PREVIEW_FPS = 30.0


@dataclass(frozen=True)
class EngineSpec:
    """Which library and model to use ('' = the bundled defaults)."""

    library_path: str = ""
    model_path: str = ""


@dataclass
class EngineState:
    """The library, its scorer and the decoding set-up for one open song."""

    library: Library
    scorer: Scorer
    library_ref: LibraryRef
    model_ref: ModelRef
    options: DecodeOptions = field(default_factory=DecodeOptions)
    trans: TransitionScores | None = None
    by_id: dict[str, DancePhrase] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.trans = TransitionScores(self.transition, self.options)
        self.by_id = {p.id: p for p in self.library.phrases}

    @property
    def transition(self) -> np.ndarray:
        return self.scorer.transition

    @property
    def scorer_name(self) -> str:
        return self.scorer.name

    def dance(self, dance_id: str) -> DancePhrase | None:
        return self.by_id.get(dance_id)


@dataclass
class Opened:
    """What a background open hands to the window."""

    engine: EngineState
    segmentation: Segmentation
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warning: str = ""


# ============================================================================ engine set-up
def load_engine(spec: EngineSpec, progress: ProgressFn = no_progress) -> EngineState:
    """The dance library and the best scorer for it (a matching model, else the matcher)."""
    from choreo_studio.core.choreography.engine import load_library, load_scorer
    from choreo_studio.core.retrieval.model_files import find_model_for_library

    library = load_library(spec.library_path or None, sub_progress(progress, 0.0, 0.7))
    scorer = load_scorer(library, spec.model_path or None)
    model_path = spec.model_path or (
        str(find_model_for_library(library) or "") if scorer.name != "descriptor matcher" else ""
    )
    progress(1.0, f"scorer: {scorer.name}")
    return EngineState(
        library,
        scorer,
        LibraryRef(library.name, library.fingerprint, spec.library_path),
        ModelRef(scorer.name, model_path),
    )


# ============================================================================ songs
def demo_song_path() -> Path:
    """The demo song as a WAV file in the user's cache (written once), so projects can save it."""
    import choreo_studio.resources.demo_song as generator

    path = cache_root() / f"demo_song-{code_hash(generator.__name__)}.wav"
    if not path.exists():
        generator.render_demo_song().write_wav(path)  # first run, or the generator changed
    return path


def load_song_audio(path: str, progress: ProgressFn = no_progress) -> Audio:
    """Decode the song for the waveform and playback (analysis follows separately)."""
    progress(0.0, "decoding audio")
    audio = load_audio(path)
    progress(1.0, "decoded")
    return audio


def _song(
    audio: Audio, analysis: MusicAnalysis, constraints: SegmentConstraints, progress: ProgressFn
):
    """A core Song cut under ``constraints`` (log-mel and features from core's cache)."""
    from choreo_studio.core.phrases.feature_cache import FeatureCache
    from choreo_studio.core.phrases.song import resegment

    cache = FeatureCache(audio.content_hash)
    return resegment(audio, analysis, constraints, progress, cache, cache.load_logmel())


def open_new_song(
    audio: Audio, path: str, spec: EngineSpec, progress: ProgressFn = no_progress
) -> Opened:
    """Analyse, segment, score and decode a freshly opened song."""
    from choreo_studio.core.phrases.feature_cache import FeatureCache
    from choreo_studio.core.phrases.song import open_song

    engine = load_engine(spec, sub_progress(progress, 0.0, 0.15))
    if audio.path and FeatureCache(audio.content_hash).load_analysis() is None:
        from choreo_studio.editor.analysis_process import analyze_in_child

        analyze_in_child(audio.path, sub_progress(progress, 0.15, 0.8))
    song = open_song(audio, sub_progress(progress, 0.8, 0.85))
    scores = engine.scorer.probabilities(song, sub_progress(progress, 0.85, 0.95))
    chor = _decode_full(engine, scores, song.phrases, {}, tie=False)
    progress(1.0, "choreography ready")
    seg = Segmentation(
        song.analysis,
        song.constraints,
        list(song.phrases),
        song.features,
        scores,
        chor,
        {"song": song},
    )
    return Opened(
        engine, seg, notes=[f"{len(song.phrases)} phrases · scorer: {engine.scorer_name}"]
    )


def relocate(project: Project, song_path: str) -> Project:
    """Point a project at a located song (its content must be the same)."""
    return relocate_song(project, song_path, file_content_hash(song_path))


def restore_project(project: Project, audio: Audio, progress: ProgressFn = no_progress) -> Opened:
    """Rebuild a saved project: its analysis, its exact phrases, placements and locks.

    A project made with another library keeps the placements whose dances still exist (their
    locks too) and re-solves the others; the window then says so.
    """
    if audio.content_hash != project.song_hash:
        raise ChoreoError(
            f"{Path(project.song_path).name}: the song's content changed since the project was "
            "saved — locate the original song file"
        )
    spec = EngineSpec(project.library.path, project.model.path if project.model.path else "")
    try:
        engine = load_engine(spec, sub_progress(progress, 0.0, 0.2))
    except ChoreoError:
        engine = load_engine(EngineSpec(), sub_progress(progress, 0.0, 0.2))
    warning = ""
    try:
        check_library(project, engine.library.name, engine.library.fingerprint)
    except ChoreoError as exc:
        warning = str(exc)
    analysis = (
        MusicAnalysis.from_dict(project.analysis, project.song_path) if project.analysis else None
    )
    if analysis is None:
        from choreo_studio.core.phrases.song import open_song

        analysis = open_song(project.song_path, sub_progress(progress, 0.2, 0.7)).analysis
    constraints = constraints_from_dict(project.segmentation)
    song = _song(
        audio,
        analysis,
        exact_cut(analysis, project.phrase_bounds, constraints),
        sub_progress(progress, 0.2, 0.8),
    )
    phrases = song.phrases
    if [(p.start_beat, p.end_beat) for p in phrases] != [tuple(b) for b in project.phrase_bounds]:
        raise ChoreoError(
            f"{Path(project.song_path).name}: the project's phrases do not fit the "
            "song's beats — open the song itself and choreograph it again"
        )
    scores = engine.scorer.probabilities(song, sub_progress(progress, 0.8, 0.9))
    kept = project.choreography
    missing = [p.phrase_index for p in kept if engine.dance(p.dance_id) is None]
    chor = kept
    if missing:
        locks = {
            p.phrase_index: engine.library.index_of(p.dance_id)
            for p in kept
            if engine.dance(p.dance_id) is not None
        }
        solved = _decode_full(engine, scores, phrases, locks, tie=False)
        chor = Choreography(
            [solved[i] if i in missing else kept[i] for i in range(len(kept))],
            kept.scorer,
            kept.decoder,
            dict(kept.notes),
        )
        warning = warning or f"{len(missing)} placements named dances missing from the library"
    chor = rescore(engine, scores, chor)
    progress(1.0, "project restored")
    seg = Segmentation(analysis, constraints, phrases, song.features, scores, chor, {"song": song})
    return Opened(engine, seg, settings=dict(project.settings), warning=warning)


def constraints_to_dict(c: SegmentConstraints) -> dict[str, Any]:
    return {
        "pinned_s": list(c.pinned_s),
        "removed_s": list(c.removed_s),
        "min_bars": c.min_bars,
        "max_bars": c.max_bars,
    }


def constraints_from_dict(data: dict[str, Any]) -> SegmentConstraints:
    base = SegmentConstraints()
    return SegmentConstraints(
        tuple(float(t) for t in data.get("pinned_s", ())),
        tuple(float(t) for t in data.get("removed_s", ())),
        int(data.get("min_bars", base.min_bars)),
        int(data.get("max_bars", base.max_bars)),
    )


def exact_cut(
    analysis: MusicAnalysis, bounds: Sequence[tuple[int, int]], constraints: SegmentConstraints
) -> SegmentConstraints:
    """Constraints under which core's segmenter reproduces the saved phrases exactly."""
    starts = tuple(float(analysis.beats_s[a]) for a, _b in bounds[1:])
    keep = {a for a, _b in bounds}
    others = tuple(float(analysis.beats_s[d]) for d in analysis.downbeats if int(d) not in keep)
    return replace(constraints, pinned_s=starts, removed_s=others, min_bars=1, max_bars=64)


# ============================================================================ decoding
def _decode_full(
    engine: EngineState,
    scores: np.ndarray,
    phrases: Sequence[MusicPhrase],
    locks: dict[int, int],
    *,
    tie: bool,
    temperature: float = 0.0,
    seed: int | None = None,
    prior: Choreography | None = None,
) -> Choreography:
    """Decode every phrase (``locks`` fixed) and return a scored choreography."""
    options = replace(engine.options, tie_sections=tie, temperature=temperature, seed=seed)
    ties = section_ties([p.section_label for p in phrases]) if tie else ()
    indices = decode(scores, engine.trans, locks=locks, ties=ties, options=options)
    ids = engine.library.ids
    old = prior.placements if prior is not None else [None] * len(indices)
    placements = []
    for t, d in enumerate(indices):
        base = old[t]
        if base is not None and base.dance_id == ids[d]:
            placements.append(base)
        else:
            kw = {} if base is None else {"blend_s": base.blend_s}
            placements.append(Placement(t, ids[d], **kw))
    decoder = "vary" if temperature > 0 else "viterbi"
    return rescore(engine, scores, Choreography(placements, engine.scorer_name, decoder))


def rescore(engine: EngineState, scores: np.ndarray, chor: Choreography) -> Choreography:
    """Fill every placement's score parts (music fit, transition in / out) from P and M."""
    m = engine.transition
    idx = [engine.library.index_of(p.dance_id) for p in chor.placements]
    out = []
    for t, p in enumerate(chor.placements):
        d = idx[t]
        out.append(
            p.with_changes(
                music_fit=float(scores[t, d]),
                transition_in=float(m[idx[t - 1], d]) if t > 0 else None,
                transition_out=float(m[d, idx[t + 1]]) if t + 1 < len(idx) else None,
            )
        )
    return Choreography(out, chor.scorer, chor.decoder, dict(chor.notes))


def solve(
    engine: EngineState,
    seg: Segmentation,
    chor: Choreography,
    *,
    temperature: float = 0.0,
    tie_sections: bool = False,
    seed: int | None = None,
    progress: ProgressFn = no_progress,
) -> Choreography:
    """Re-solve every unlocked phrase (constrained Viterbi), or sample one ("vary")."""
    progress(0.0, "solving")
    locks = {p.phrase_index: engine.library.index_of(p.dance_id) for p in chor if p.locked}
    result = _decode_full(
        engine,
        seg.scores,
        seg.phrases,
        locks,
        tie=tie_sections,
        temperature=temperature,
        seed=seed,
        prior=chor,
    )
    progress(1.0, "solved")
    return result


def swap(
    engine: EngineState, seg: Segmentation, chor: Choreography, t: int, dance_id: str
) -> Choreography:
    """``dance_id`` on phrase ``t``; the neighbours' transition parts are refreshed too."""
    placed = chor.with_placement(chor[t].with_changes(dance_id=dance_id))
    return rescore(engine, seg.scores, placed)


def same_as_section(
    engine: EngineState, seg: Segmentation, chor: Choreography, t: int
) -> tuple[Choreography, list[int]]:
    """Copy phrase ``t``'s dance to its tied phrases in the other repeats of its section."""
    group = next((g for g in section_ties([p.section_label for p in seg.phrases]) if t in g), [])
    dance_id = chor[t].dance_id
    changed = [i for i in group if i != t and not chor[i].locked and chor[i].dance_id != dance_id]
    placements = list(chor.placements)
    for i in changed:
        placements[i] = placements[i].with_changes(dance_id=dance_id)
    result = Choreography(placements, chor.scorer, chor.decoder, dict(chor.notes))
    return rescore(engine, seg.scores, result), changed


def suggestion_rows(
    engine: EngineState, seg: Segmentation, chor: Choreography, t: int, k: int
) -> list[SuggestionRow]:
    """Top-K for phrase ``t`` given its current neighbours, with the current dance marked."""
    lib = engine.library
    prev = lib.index_of(chor[t - 1].dance_id) if t > 0 else None
    nxt = lib.index_of(chor[t + 1].dance_id) if t + 1 < len(chor) else None
    current = chor[t].dance_id
    rows = []
    for s in suggest(
        seg.scores[t],
        engine.transition,
        prev=prev,
        nxt=nxt,
        top_k=k,
        transition_weight=engine.options.transition_weight,
    ):
        d = lib.phrases[s.dance_index]
        rows.append(
            SuggestionRow(
                d.id,
                d.name,
                d.style,
                d.energy_label,
                s.music_fit,
                s.transition_in if prev is not None else None,
                s.transition_out if nxt is not None else None,
                s.score,
                d.id == current,
            )
        )
    return rows


# ============================================================================ segmentation
def resegment(
    engine: EngineState,
    seg: Segmentation,
    constraints: SegmentConstraints,
    progress: ProgressFn = no_progress,
    analysis: MusicAnalysis | None = None,
) -> Segmentation:
    """Re-segment under new constraints and re-solve only the phrases that changed.

    Phrases whose span is unchanged keep their placement (and lock). A changed phrase that
    mostly covers a locked phrase's music keeps that locked dance. Only the remaining phrases
    are decoded, with every kept placement held fixed.
    """
    analysis = analysis or seg.analysis
    progress(0.0, "segmenting")
    song = _song(seg.extra["song"].audio, analysis, constraints, sub_progress(progress, 0.0, 0.7))
    phrases = song.phrases
    scores = engine.scorer.probabilities(song, sub_progress(progress, 0.7, 0.9))
    keep = _carried_over(seg, phrases) if seg.choreography is not None else {}
    locks = {t: engine.library.index_of(p.dance_id) for t, p in keep.items()}
    solved = _decode_full(engine, scores, phrases, locks, tie=False)
    placements = [
        keep[t].with_changes(phrase_index=t) if t in keep else solved[t]
        for t in range(len(phrases))
    ]
    chor = rescore(engine, scores, Choreography(placements, engine.scorer_name, "viterbi"))
    progress(1.0, "re-segmented")
    return Segmentation(analysis, constraints, phrases, song.features, scores, chor, {"song": song})


def _carried_over(seg: Segmentation, phrases: Sequence[MusicPhrase]) -> dict[int, Placement]:
    """Placements that survive a re-segmentation, by new phrase index (times in seconds)."""
    old = {_time_key(p): seg.choreography[p.index] for p in seg.phrases}
    keep: dict[int, Placement] = {}
    for p in phrases:
        key = _time_key(p)
        if key in old:
            keep[p.index] = old[key]
            continue
        overlaps = [
            (min(p.end_s, q.end_s) - max(p.start_s, q.start_s), q.index) for q in seg.phrases
        ]
        overlap, q = max(overlaps)
        if seg.choreography[q].locked and overlap > 0.5 * (p.end_s - p.start_s):
            keep[p.index] = seg.choreography[q]
    return keep


def _time_key(p: MusicPhrase) -> tuple[float, float]:
    return (round(p.start_s, 2), round(p.end_s, 2))


def retime(
    engine: EngineState,
    seg: Segmentation,
    audio: Audio,
    progress: ProgressFn,
    *,
    tempo_bpm: float | None = None,
    first_downbeat_s: float | None = None,
    beats_per_bar: int | None = None,
) -> Segmentation:
    """Tempo tools: re-track beats / downbeats / meter in core, then re-segment."""
    from choreo_studio.core.analysis.analyzer import reanalyze_beats

    analysis = reanalyze_beats(
        audio,
        seg.analysis,
        tempo_bpm=tempo_bpm,
        first_downbeat_s=first_downbeat_s,
        beats_per_bar=beats_per_bar,
        progress=sub_progress(progress, 0.0, 0.3),
    )
    constraints = SegmentConstraints(
        min_bars=seg.constraints.min_bars, max_bars=seg.constraints.max_bars
    )
    return resegment(engine, seg, constraints, sub_progress(progress, 0.3, 1.0), analysis)


# ============================================================================ motion
def render_motion(
    engine: EngineState,
    seg: Segmentation,
    chor: Choreography,
    fps: float,
    progress: ProgressFn = no_progress,
):
    """The beat-warped, blended Motion of the whole song (core's renderer)."""
    from choreo_studio.core.choreography.render import render

    return render(chor, seg.analysis, seg.phrases, engine.library, fps=fps, progress=progress)


def _scene(motion) -> tuple[np.ndarray, np.ndarray, float]:
    positions, parents = motion.fk_with_end_sites()
    return positions.astype(np.float32), parents, motion.fps


@dataclass
class RenderedScene:
    """The rendered dance as joint positions for the skeleton view, plus its metrics."""

    positions: np.ndarray
    parents: np.ndarray
    fps: float
    metrics: Any = None


def render_scene(
    engine: EngineState, seg: Segmentation, chor: Choreography, progress: ProgressFn = no_progress
) -> RenderedScene:
    """Render the whole dance and measure it (beat hit rate…) for the view and status bar."""
    from choreo_studio.core.choreography.metrics import evaluate

    motion = render_motion(engine, seg, chor, PREVIEW_FPS, sub_progress(progress, 0.0, 0.6))
    positions, parents, fps = _scene(motion)
    progress(0.7, "measuring")
    metrics = evaluate(chor, motion, seg.analysis.beats_s, seg.phrases)
    progress(1.0, "rendered")
    return RenderedScene(positions, parents, fps, metrics)


def audition_scene(
    engine: EngineState, seg: Segmentation, chor: Choreography, t: int, dance_id: str
) -> tuple[np.ndarray, np.ndarray, float]:
    """Phrase ``t`` danced with ``dance_id``, beat-warped to the song, from the phrase start."""
    from choreo_studio.core.choreography.render import render

    phrase = seg.phrases[t]
    single = Choreography(
        [chor[t].with_changes(phrase_index=0, dance_id=dance_id)], chor.scorer, "audition"
    )
    motion = render(
        single, seg.analysis, [replace(phrase, index=0)], engine.library, fps=PREVIEW_FPS
    )
    start = min(int(round(phrase.start_s * PREVIEW_FPS)), motion.n_frames - 1)
    end = min(int(round(phrase.end_s * PREVIEW_FPS)) + 1, motion.n_frames)
    return _scene(motion.trim(start, max(end, start + 1)))


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


# ============================================================================ saving / export
def make_project(engine: EngineState, doc: Document, top_k: int) -> Project:
    seg, chor = doc.segmentation, doc.choreography
    return Project(
        song_path=doc.song_path,
        song_hash=doc.audio.content_hash,
        analysis=seg.analysis.to_dict(),
        phrase_bounds=[(p.start_beat, p.end_beat) for p in seg.phrases],
        choreography=chor,
        library=engine.library_ref,
        model=engine.model_ref,
        segmentation=constraints_to_dict(seg.constraints),
        settings={"top_k": int(top_k), "project_path": doc.project_path},
    )


def save_project_file(project: Project, path: str) -> Path:
    return save_project(project, path)


def ensure_dir(path: str) -> Path:
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ChoreoError(f"{path}: cannot create the folder ({exc}) — choose another") from None
    if not os.access(folder, os.W_OK):
        raise ChoreoError(f"{path}: folder is not writable — choose another")
    return folder
