"""The one session model: what `choreo auto` runs through once and the editor edits step by step.

load song → analyse → segment (with the user's constraints) → score → decode (locks, ties,
vary, reuse) → suggestions → render → export. A :class:`Segmentation` is one immutable state
of a song's session (its cut, the scores on that cut and the choreography placed on it); every
operation here takes a state and returns a new one, so the editor's undo keeps the old one and
the CLI simply runs them in order. Qt-free; the editor's commands are thin adapters over it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from choreo_studio.core.analysis.music_analysis import MetricalAlternative, MusicAnalysis
from choreo_studio.core.choreography.engine import Engine
from choreo_studio.core.choreography.placements import Choreography, Placement, ScoreParts
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.phrases.feature_cache import FeatureCache
from choreo_studio.core.phrases.segmentation import (
    MusicPhrase,
    SegmentConstraints,
    phrase_span_key,
    phrases_from_bounds,
)
from choreo_studio.core.phrases.song import Song, song_with_phrases
from choreo_studio.core.phrases.song import resegment as cut_song
from choreo_studio.core.progress import ProgressFn, no_progress, sub_progress
from choreo_studio.core.project.project_file import (
    LibraryRef,
    ModelRef,
    Project,
    check_library,
)
from choreo_studio.core.retrieval.decoding import DecodeOptions, section_ties

if TYPE_CHECKING:
    from choreo_studio.core.audio.load import Audio
    from choreo_studio.core.export.clips import ClipFiles
    from choreo_studio.core.export.output_set import Writer
    from choreo_studio.core.library.library import DancePhrase
    from choreo_studio.core.motion.motion import Motion
    from choreo_studio.core.retrieval.suggestions import Suggestion


@dataclass(frozen=True)
class Segmentation:
    """One consistent state of a session: the song cut into phrases (with its analysis, the
    user's constraints and the phrase features), P(d | u_t) on that cut, and the choreography
    placed on it (one placement per phrase)."""

    song: Song
    scores: np.ndarray
    choreography: Choreography
    flagged: tuple[int, ...] = ()
    """Locked phrases whose span the last structure edit changed (their dance may not fit)."""

    def __post_init__(self) -> None:
        if len(self.choreography) != len(self.song.phrases):
            raise ValueError(f"{len(self.choreography)} placements for "
                             f"{len(self.song.phrases)} phrases")

    @property
    def analysis(self) -> MusicAnalysis:
        """The beat grid, meter and sections this cut was made on."""
        return self.song.analysis

    @property
    def constraints(self) -> SegmentConstraints:
        """The user's segmentation edits that produced this cut."""
        return self.song.constraints

    @property
    def phrases(self) -> list[MusicPhrase]:
        """The music phrases, one per placement."""
        return self.song.phrases

    def with_choreography(self, choreography: Choreography) -> Segmentation:
        """This cut with another choreography on it (placement edits)."""
        return replace(self, choreography=choreography)


# ---------------------------------------------------------------------------- opening
def start(engine: Engine, song: Song, progress: ProgressFn = no_progress) -> Segmentation:
    """Score and decode a freshly opened song under the engine's settings."""
    scores = engine.probabilities(song, sub_progress(progress, 0.0, 0.8))
    progress(0.85, f"decoding ({engine.decoder})")
    choreography = engine.decode(scores, song.phrases)
    progress(1.0, "choreography ready")
    return Segmentation(song, scores, choreography)


def feature_cut(audio: Audio, analysis: MusicAnalysis, constraints: SegmentConstraints,
                progress: ProgressFn = no_progress,
                phrases: list[MusicPhrase] | None = None) -> Song:
    """The song cut under ``constraints`` (or into the given ``phrases``), features from the
    user cache."""
    cache = FeatureCache(audio.content_hash)
    logmel = cache.load_logmel()
    if phrases is None:
        return cut_song(audio, analysis, constraints, progress, cache, logmel)
    return song_with_phrases(audio, analysis, phrases, constraints, progress, cache, logmel)


def restore(engine: Engine, project: Project, audio: Audio, progress: ProgressFn = no_progress
            ) -> tuple[Segmentation, str]:
    """A saved project reopened exactly: its analysis, its saved phrases (no re-segmentation),
    placements and locks; returns the state and a warning for the user ('' when none).

    Placements whose dance the engine's library lacks are re-decoded around the others (which
    are held as they are), under the one carry-over policy.
    """
    name = Path(project.song_path).name
    if audio.content_hash != project.song_hash:
        raise ChoreoError(f"{name}: the song's content changed since the project was saved — "
                          "locate the original song file")
    if project.analysis:
        analysis = MusicAnalysis.from_dict(project.analysis, project.song_path)
    else:  # saved before its analysis was ready: analyse it again
        from choreo_studio.core.phrases.song import open_song

        analysis = open_song(audio, sub_progress(progress, 0.0, 0.5)).analysis
    warning = ""
    try:
        check_library(project, engine.library.name, engine.library.fingerprint)
    except ChoreoError as exc:
        warning = str(exc)
    try:
        phrases = phrases_from_bounds(analysis, project.phrase_bounds)
    except ChoreoError as exc:
        raise ChoreoError(f"{name}: {exc} — open the song itself and choreograph it again"
                          ) from None
    song = feature_cut(audio, analysis, project.segmentation, sub_progress(progress, 0.5, 0.8),
                       phrases)
    scores = engine.probabilities(song, sub_progress(progress, 0.8, 0.95))
    saved = project.choreography
    missing = [p.phrase_index for p in saved if engine.dance(p.dance_id) is None]
    choreography = saved
    if missing:
        kept = {p.phrase_index: p for p in saved if p.phrase_index not in missing}
        unlocked = Choreography([p if p.phrase_index in kept else p.with_changes(locked=False)
                                 for p in saved])  # a lock on a dance that is gone is void
        solved = engine.decode(scores, phrases, unlocked, kept=kept)
        choreography = Choreography(solved.placements, saved.scorer, saved.decoder,
                                    dict(saved.notes))
        warning = warning or f"{len(missing)} placements named dances missing from the library"
    progress(1.0, "project restored")
    return Segmentation(song, scores, choreography), warning


def to_project(engine: Engine, seg: Segmentation, song_path: str,
               settings: Mapping[str, object] | None = None) -> Project:
    """The project file's view of a session state."""
    return Project(
        song_path=song_path,
        song_hash=seg.song.content_hash,
        analysis=seg.analysis.to_dict(),
        phrase_bounds=[(p.start_beat, p.end_beat) for p in seg.phrases],
        choreography=seg.choreography,
        library=LibraryRef(engine.library.name, engine.library.fingerprint, engine.library_path),
        model=ModelRef(engine.scorer_name, engine.model_path),
        segmentation=seg.constraints,
        settings=dict(settings or {}),
    )


# ---------------------------------------------------------------------------- placements
def solve(engine: Engine, seg: Segmentation, *, temperature: float = 0.0,
          seed: int | None = None, tie_sections: bool | None = None,
          options: DecodeOptions | None = None,
          progress: ProgressFn = no_progress) -> Choreography:
    """Re-decode every unlocked phrase, or sample a varied one (``temperature`` > 0); each
    phrase keeps its settings (mirror, blend …), locked phrases everything. ``options``
    (default the engine's) are the decoder weights to solve under."""
    progress(0.0, "solving")
    options = replace(options or engine.options, temperature=temperature, seed=seed)
    if tie_sections is not None:
        options = replace(options, tie_sections=tie_sections)
    result = engine.decode(seg.scores, seg.phrases, seg.choreography, options=options)
    progress(1.0, "solved")
    return result


DECODE_SETTINGS: dict[str, str] = {
    "transition_weight": "Transition weight",
    "recency_window": "Recency",
    "reuse_penalty": "Reuse cost",
    "fit_floor": "Fit floor",
}
"""The decoder weights a user sets (``choreo auto`` flags, the editor's Choreography panel),
saved with a project as ``settings["decoding"]``, with the name History gives each."""


def decode_settings(options: DecodeOptions) -> dict[str, float | int]:
    """The user's decoder weights in ``options``, as a project saves them."""
    return {name: getattr(options, name) for name in DECODE_SETTINGS}


def with_decode_settings(options: DecodeOptions, settings: Mapping[str, object] | None
                         ) -> DecodeOptions:
    """``options`` with the weights named in ``settings`` (the others kept, so a project saved
    before they existed opens under the defaults); one out of range is a ChoreoError."""
    changes: dict[str, float | int] = {}
    for name, value in (settings or {}).items():
        if name not in DECODE_SETTINGS:
            raise ChoreoError(f"decoder setting {name!r} is unknown — use one of "
                              f"{', '.join(DECODE_SETTINGS)}")
        changes[name] = checked_decode_setting(name, value)
    return replace(options, **changes)


def checked_decode_setting(name: str, value: object, label: str = "") -> float | int:
    """``value`` as the decoder takes weight ``name``; one out of range is a ChoreoError that
    names it ``label`` (a CLI flag) or, by default, as History does."""
    label = label or DECODE_SETTINGS[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(
            value) or value < 0:
        raise ChoreoError(f"{label} {value!r}: must be a number, not negative — set it again")
    if name == "fit_floor" and value >= 1:
        raise ChoreoError(f"{label} {value}: must be below 1 (a share of the best fit)")
    if name == "recency_window" and value != int(value):
        raise ChoreoError(f"{label} {value}: must be a whole number of phrases")
    return int(value) if name == "recency_window" else float(value)


def setting_change_text(name: str, before: DecodeOptions, after: DecodeOptions) -> str:
    """What History says of one decoder weight changed: "Transition weight 0.50 → 0.30"."""
    old, new = getattr(before, name), getattr(after, name)
    if name == "recency_window":
        return f"{DECODE_SETTINGS[name]} {old} → {new} phrases"
    return f"{DECODE_SETTINGS[name]} {old:.2f} → {new:.2f}"


def solve_phrases(engine: Engine, seg: Segmentation, indices: Sequence[int],
                  progress: ProgressFn = no_progress) -> Choreography:
    """Re-decode only the phrases ``indices`` (the unlocked ones among them), every other
    placement held exactly as it is."""
    progress(0.0, "solving")
    chosen = set(indices)
    chor = seg.choreography
    kept = {p.phrase_index: p for p in chor if p.phrase_index not in chosen or p.locked}
    options = replace(engine.options, temperature=0.0, seed=None)
    result = engine.decode(seg.scores, seg.phrases, chor, kept=kept, options=options)
    progress(1.0, "solved")
    return result


def swap(seg: Segmentation, t: int, dance_id: str) -> Choreography:
    """``dance_id`` on phrase ``t`` (its other settings stay)."""
    chor = seg.choreography
    return chor.with_placement(chor[t].with_changes(dance_id=dance_id))


def same_as_section(seg: Segmentation, t: int) -> tuple[Choreography, list[int]]:
    """Copy phrase ``t``'s dance to its tied phrases in the other repeats of its section;
    returns the choreography and the phrases that changed (locked ones never do)."""
    chor = seg.choreography
    group = next((g for g in section_ties([p.section_label for p in seg.phrases]) if t in g), [])
    dance_id = chor[t].dance_id
    changed = [i for i in group if i != t and not chor[i].locked and chor[i].dance_id != dance_id]
    placements = list(chor.placements)
    for i in changed:
        placements[i] = placements[i].with_changes(dance_id=dance_id)
    return Choreography(placements, chor.scorer, chor.decoder, dict(chor.notes)), changed


def score_parts(engine: Engine, seg: Segmentation) -> list[ScoreParts]:
    """Music fit and transitions of every placement as the model sees them now."""
    return engine.score_parts(seg.scores, seg.choreography)


def suggestions(engine: Engine, seg: Segmentation, t: int, top_k: int = 10
                ) -> list[tuple[DancePhrase, Suggestion]]:
    """Top-K alternatives for phrase ``t`` given its current neighbours."""
    return engine.suggestions(seg.scores, seg.choreography, t, top_k, seg.song.phrases)


# ---------------------------------------------------------------------------- segmentation
def resegment(engine: Engine, seg: Segmentation, constraints: SegmentConstraints,
              progress: ProgressFn = no_progress, analysis: MusicAnalysis | None = None
              ) -> Segmentation:
    """Re-segment under new constraints and re-decode only the phrases that changed.

    Phrases whose span is unchanged keep their placement (and lock). A changed phrase that
    mostly covers a locked phrase's music keeps that locked placement. Only the remaining
    phrases are decoded, with every kept placement held fixed.
    """
    progress(0.0, "segmenting")
    song = feature_cut(seg.song.audio, analysis or seg.analysis, constraints,
                       sub_progress(progress, 0.0, 0.7))
    scores = engine.probabilities(song, sub_progress(progress, 0.7, 0.9))
    kept = carried_over(seg, song.phrases)
    old = {phrase_span_key(p) for p in seg.phrases}
    flagged = tuple(t for t, placement in sorted(kept.items())
                    if placement.locked and phrase_span_key(song.phrases[t]) not in old)
    options = replace(engine.options, temperature=0.0, seed=None)
    chor = engine.decode(scores, song.phrases, kept=kept, options=options)
    progress(1.0, "re-segmented")
    return Segmentation(song, scores, chor, flagged)


def carried_over(seg: Segmentation, phrases: Sequence[MusicPhrase]) -> dict[int, Placement]:
    """Placements that survive a re-segmentation, by new phrase index (times in seconds)."""
    old = {phrase_span_key(p): seg.choreography[p.index] for p in seg.phrases}
    keep: dict[int, Placement] = {}
    for p in phrases:
        key = phrase_span_key(p)
        if key in old:
            keep[p.index] = old[key]
            continue
        overlap, q = max((min(p.end_s, q.end_s) - max(p.start_s, q.start_s), q.index)
                         for q in seg.phrases)
        if seg.choreography[q].locked and overlap > 0.5 * (p.end_s - p.start_s):
            keep[p.index] = seg.choreography[q]
    return keep


def retime_unchanged(seg: Segmentation, *, tempo_bpm: float | None = None,
                     first_downbeat_s: float | None = None,
                     beats_per_bar: int | None = None, meter_text: str | None = None,
                     beat_step: float | None = None) -> bool:
    """True when a tempo-tool request would leave the beat grid as it is (the same tempo to
    0.05 BPM, the same meter, a first downbeat on a beat that already starts a bar)."""
    from choreo_studio.core.analysis.meter import parse_meter, time_signature

    a = seg.analysis
    if beat_step is not None and beat_step != 1.0:
        return False
    if tempo_bpm is not None and abs(tempo_bpm - a.tempo_bpm) >= TEMPO_TOLERANCE_BPM:
        return False
    if beats_per_bar is not None and beats_per_bar != a.beats_per_bar:
        return False
    if meter_text is not None:
        spec = parse_meter(meter_text)
        if time_signature(spec.beats_per_bar, spec.compound) != a.meter:
            return False
    if first_downbeat_s is not None:
        return a.beat_at(first_downbeat_s) in set(a.downbeats.tolist())
    return True


TEMPO_TOLERANCE_BPM = 0.05
"""A tempo closer than this to the current one is the current one (tap tempo's 2 decimals)."""


def retime(engine: Engine, seg: Segmentation, progress: ProgressFn = no_progress, *,
           tempo_bpm: float | None = None, first_downbeat_s: float | None = None,
           beats_per_bar: int | None = None, meter_text: str | None = None,
           beat_step: float | None = None) -> Segmentation:
    """Tempo tools: re-track beats / downbeats / meter, then re-segment, keeping the user's
    pinned and removed boundaries where they still fall on a bar line of the new grid.

    A request that changes nothing (:func:`retime_unchanged`) returns ``seg`` itself: nothing
    is re-analysed or re-cut.
    """
    from choreo_studio.core.analysis.analyzer import reanalyze_beats

    change = {"tempo_bpm": tempo_bpm, "first_downbeat_s": first_downbeat_s,
              "beats_per_bar": beats_per_bar, "meter_text": meter_text, "beat_step": beat_step}
    if retime_unchanged(seg, **change):
        return seg
    analysis = reanalyze_beats(seg.song.audio, seg.analysis, **change,
                               progress=sub_progress(progress, 0.0, 0.3))
    constraints = constraints_on_grid(seg.constraints, analysis)
    return resegment(engine, seg, constraints, sub_progress(progress, 0.3, 1.0), analysis)


def reading_request(analysis: MusicAnalysis, reading: MetricalAlternative) -> dict[str, Any]:
    """The :func:`retime` arguments that take ``reading``, one of ``analysis``' alternatives:
    the beat step of a tempo reading (the grid it was scored as, its tempo map kept; 1 for
    shifted bar lines on the same beats), its meter when it differs (another meter's beats
    are decoded anew), and always its first downbeat."""
    from choreo_studio.core.analysis.meter import READING_STEPS

    change: dict[str, Any] = {"first_downbeat_s": reading.first_downbeat_s}
    if reading.kind in READING_STEPS:
        change["beat_step"] = READING_STEPS[reading.kind]
    elif reading.meter == analysis.meter:
        change["beat_step"] = 1.0
    if reading.meter != analysis.meter:
        change["meter_text"] = reading.meter
    return change


def constraints_on_grid(constraints: SegmentConstraints, analysis: MusicAnalysis
                        ) -> SegmentConstraints:
    """The user's pins and removals that fall within a fifth of a beat of a bar line of
    ``analysis``, snapped onto it; the others are dropped (they were placed on another grid)."""
    beats = analysis.beats_s
    downbeats = analysis.downbeats[(analysis.downbeats >= 0) & (analysis.downbeats < beats.size)]
    bar_s = beats[downbeats]
    period = float(np.median(np.diff(beats))) if beats.size > 1 else 0.5

    def on_grid(times: tuple[float, ...]) -> tuple[float, ...]:
        kept = set()
        for t in times:
            if bar_s.size:
                k = int(np.argmin(np.abs(bar_s - t)))
                if abs(float(bar_s[k]) - t) <= 0.2 * period:
                    kept.add(float(bar_s[k]))
        return tuple(sorted(kept))

    return replace(constraints, pinned_s=on_grid(constraints.pinned_s),
                   removed_s=on_grid(constraints.removed_s))


# ---------------------------------------------------------------------------- local edits
def split(engine: Engine, seg: Segmentation, at_s: float, progress: ProgressFn = no_progress
          ) -> Segmentation:
    """Exactly one new boundary, on the downbeat nearest ``at_s`` inside the phrase there;
    only the two halves are re-scored and re-decoded (every other placement is kept)."""
    a = seg.analysis
    t = phrase_index_at(seg, at_s)
    p = seg.phrases[t]
    inside = [int(b) for b in a.downbeats if p.start_beat < b < p.end_beat]
    if not inside:
        raise ChoreoError(f"phrase {t + 1} is one bar long — there is no bar line inside it "
                          "to split at")
    beat = min(inside, key=lambda b: abs(float(a.beats_s[b]) - at_s))
    edges = sorted({*_edges(seg), beat})
    return _recut(engine, seg, edges, _pinned(seg.constraints, float(a.beats_s[beat])),
                  progress)


def merge(engine: Engine, seg: Segmentation, first: int, last: int,
          progress: ProgressFn = no_progress) -> Segmentation:
    """Phrases ``first``..``last`` (inclusive, at least two) joined into one, nothing else
    re-cut; only the joined phrase is re-scored and re-decoded."""
    if not 0 <= first < last < len(seg.phrases):
        raise ChoreoError(f"merge needs two or more adjacent phrases, got {first + 1}–{last + 1}"
                          " — select the phrases to join")
    inner = [seg.phrases[i].start_s for i in range(first + 1, last + 1)]
    constraints = seg.constraints
    for t in inner:
        constraints = constraints.remove(t)
    drop = {seg.phrases[i].start_beat for i in range(first + 1, last + 1)}
    edges = [e for e in _edges(seg) if e not in drop]
    return _recut(engine, seg, edges, constraints, progress)


def move_boundary(engine: Engine, seg: Segmentation, index: int, to_s: float,
                  progress: ProgressFn = no_progress) -> Segmentation:
    """The start of phrase ``index`` moved to the downbeat nearest ``to_s`` between its
    neighbours' other ends: exactly one boundary moves, only the two phrases beside it are
    re-scored and re-decoded."""
    if not 0 < index < len(seg.phrases):
        raise ChoreoError(f"phrase {index + 1} has no boundary before it to move")
    a = seg.analysis
    lo, hi = seg.phrases[index - 1].start_beat, seg.phrases[index].end_beat
    room = [int(b) for b in a.downbeats if lo < b < hi]
    if not room:
        raise ChoreoError(f"no bar line between phrases {index} and {index + 1} to move the "
                          "boundary to")
    beat = min(room, key=lambda b: abs(float(a.beats_s[b]) - to_s))
    old = seg.phrases[index].start_beat
    if beat == old:
        return seg
    edges = sorted({*(e for e in _edges(seg) if e != old), beat})
    from_s = seg.phrases[index].start_s
    constraints = _pinned(seg.constraints.remove(from_s), float(a.beats_s[beat]))
    return _recut(engine, seg, edges, constraints, progress)


def phrase_index_at(seg: Segmentation, time_s: float) -> int:
    """The phrase playing at ``time_s`` (the first or last one outside the song)."""
    starts = [p.start_s for p in seg.phrases]
    return max(0, min(int(np.searchsorted(starts, time_s, side="right")) - 1,
                      len(seg.phrases) - 1))


def _edges(seg: Segmentation) -> list[int]:
    return [p.start_beat for p in seg.phrases] + [seg.phrases[-1].end_beat]


def _pinned(constraints: SegmentConstraints, time_s: float) -> SegmentConstraints:
    """``constraints`` with a boundary pinned at ``time_s`` (no longer removed there)."""
    removed = tuple(t for t in constraints.removed_s if abs(t - time_s) > 1e-3)
    return replace(constraints, removed_s=removed).pin(time_s)


def _recut(engine: Engine, seg: Segmentation, edges: Sequence[int],
           constraints: SegmentConstraints, progress: ProgressFn) -> Segmentation:
    """``seg`` cut at exactly ``edges`` (beat indices): phrases whose span is unchanged keep
    their scores and placements; only the changed ones are scored and decoded (a locked
    phrase over a changed span keeps its dance and is flagged)."""
    progress(0.0, "cutting")
    bounds = list(zip(edges[:-1], edges[1:], strict=True))
    phrases = phrases_from_bounds(seg.analysis, bounds)
    song = feature_cut(seg.song.audio, seg.analysis, constraints, sub_progress(progress, 0.0, 0.6),
                       phrases)
    fresh = engine.probabilities(song, sub_progress(progress, 0.6, 0.8))
    old = {phrase_span_key(p): p.index for p in seg.phrases}
    scores = np.array(fresh, copy=True)
    for p in phrases:
        if phrase_span_key(p) in old:
            scores[p.index] = seg.scores[old[phrase_span_key(p)]]
    scores.setflags(write=False)
    kept = carried_over(seg, phrases)
    flagged = tuple(t for t, placement in sorted(kept.items())
                    if placement.locked and phrase_span_key(phrases[t]) not in old)
    options = replace(engine.options, temperature=0.0, seed=None)
    chor = engine.decode(scores, phrases, kept=kept, options=options)
    progress(1.0, "re-cut")
    return Segmentation(song, scores, chor, flagged)


# ---------------------------------------------------------------------------- motion, files
def render(engine: Engine, seg: Segmentation, fps: float = 30.0,
           progress: ProgressFn = no_progress) -> Motion:
    """The beat-warped, blended motion of the whole song."""
    return engine.render(seg.song, seg.choreography, fps=fps, progress=progress)


def audition_span(seg: Segmentation, t: int, preroll_bars: int = 1) -> tuple[float, float]:
    """Where an audition of phrase ``t`` plays: from the bar line ``preroll_bars`` bars
    before the phrase (the song's start at most) to the phrase's end."""
    a, phrase = seg.analysis, seg.phrases[t]
    bars = a.beats_s[a.downbeats[(a.downbeats >= 0) & (a.downbeats < a.beats_s.size)]]
    before = bars[bars < phrase.start_s - 1e-6]
    start = float(before[-preroll_bars]) if preroll_bars and before.size >= preroll_bars else (
        0.0 if preroll_bars else phrase.start_s)
    return start, phrase.end_s


def audition(engine: Engine, seg: Segmentation, t: int, dance_id: str, fps: float = 30.0,
             preroll_bars: int = 0) -> Motion:
    """Phrase ``t`` danced with ``dance_id``, beat-warped to the song; with ``preroll_bars``
    it starts that many bars earlier on the previous placement, so the transition into the
    candidate is seen (the motion starts at :func:`audition_span`'s start)."""
    from choreo_studio.core.choreography.render import render as render_choreography

    start_s, end_s = audition_span(seg, t, preroll_bars)
    first = t - 1 if preroll_bars and t > 0 else t
    chor = seg.choreography
    placements = [chor[i].with_changes(phrase_index=i - first) for i in range(first, t)]
    placements.append(chor[t].with_changes(phrase_index=t - first, dance_id=dance_id))
    phrases = [replace(seg.phrases[i], index=i - first) for i in range(first, t + 1)]
    motion = render_choreography(Choreography(placements, chor.scorer, "audition"),
                                 seg.analysis, phrases, engine.library, fps=fps)
    start_frame = min(int(round(start_s * fps)), motion.n_frames - 1)
    end_frame = min(int(round(end_s * fps)) + 1, motion.n_frames)
    return motion.trim(start_frame, max(end_frame, start_frame + 1))


def export(
    engine: Engine,
    seg: Segmentation,
    outdir: str | os.PathLike[str],
    *,
    kinds: Sequence[str] | None = None,
    fps: float = 30.0,
    song_name: str = "",
    motion: Motion | None = None,
    extra: Callable[[Motion], Mapping[str, Writer]] | None = None,
    progress: ProgressFn = no_progress,
    bvh_unit: str = "cm",
    root_bone: bool = True,
    clips: ClipFiles | None = None,
) -> dict[str, Path]:
    """Write the session's files (``kinds``, default all four of core's) into ``outdir`` as one
    set, rendering the motion first when a motion file is asked for and ``motion`` is None.

    ``extra(motion)`` gives more writers by kind (the editor's MP4), written into the same set;
    ``bvh_unit``, ``root_bone`` and ``clips`` (per-dance clip files) as in
    :func:`export.files.write_exports`.
    """
    from choreo_studio.core.export.files import CORE_KINDS, MOTION_KINDS, write_exports

    kinds = tuple(CORE_KINDS if kinds is None else kinds)
    needs_motion = extra is not None or any(k in MOTION_KINDS for k in kinds)
    if motion is None and needs_motion:
        motion = render(engine, seg, fps, sub_progress(progress, 0.0, 0.3))
    progress(0.3, "writing files")
    files = write_exports(seg.song, seg.choreography, motion, engine.library, outdir,
                          song_name=song_name, fps=fps, parts=score_parts(engine, seg),
                          kinds=kinds, extra=extra(motion) if extra is not None else None,
                          bvh_unit=bvh_unit, root_bone=root_bone, clips=clips)
    progress(1.0, "exported")
    return files
