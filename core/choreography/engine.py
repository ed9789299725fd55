"""The retrieval engine: a library, a scorer and decoding settings turn phrases into dances.

:class:`Engine` is what every front end decodes with (``core.project.session`` drives it for
the CLI and the editor): score every phrase (cached), decode with locks/ties/repetition limits
under one carry-over policy and one decoder label, compute the score parts the views show,
suggest alternatives, render the motion and measure the result.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from choreo_studio.core.choreography.beat_warp import phrase_bpm
from choreo_studio.core.choreography.placements import (
    DEFAULT_BLEND_S,
    Choreography,
    Placement,
    ScoreParts,
)
from choreo_studio.core.library.library import DancePhrase, Library
from choreo_studio.core.library.tempo import BEATS_PER_COUNT_CHOICES, TIME_CHANGE_COST_OCTAVES
from choreo_studio.core.library.transition_prior import CutFeatures, cut_features
from choreo_studio.core.progress import ProgressFn, no_progress, sub_progress
from choreo_studio.core.retrieval.candidate_decoding import CandidateTransitions
from choreo_studio.core.retrieval.decoding import (
    DecodeOptions,
    TransitionScores,
    decode,
    library_transitions,
    section_ties,
)
from choreo_studio.core.retrieval.model_files import find_model_for_library
from choreo_studio.core.retrieval.scoring import DescriptorMatcher, Scorer
from choreo_studio.core.retrieval.suggestions import Suggestion, suggest

if TYPE_CHECKING:
    from choreo_studio.core.choreography.metrics import Metrics
    from choreo_studio.core.motion.motion import Motion
    from choreo_studio.core.phrases.segmentation import MusicPhrase
    from choreo_studio.core.phrases.song import Song


def load_library(path: str | os.PathLike[str] | None, progress: ProgressFn = no_progress
                 ) -> Library:
    """The library folder at ``path``, or the bundled demo library when ``path`` is None."""
    if path:
        return Library.load(path, progress)
    from choreo_studio.resources.demo_library import load_demo_library

    return load_demo_library(progress)


def scorer_path(library: Library, model: str | os.PathLike[str] | None = None, *,
                use_model: bool = True) -> Path | None:
    """The model bundle that scores ``library``: ``model``, else a shipped bundle trained for
    this library, else None (the descriptor matcher; also when ``use_model`` is False)."""
    if model:
        return Path(model)
    return find_model_for_library(library) if use_model else None


def load_scorer(library: Library, model: str | os.PathLike[str] | None = None, *,
                use_model: bool = True) -> Scorer:
    """The scorer for ``library`` (see :func:`scorer_path`)."""
    path = scorer_path(library, model, use_model=use_model)
    if path is None:
        return DescriptorMatcher(library)
    from choreo_studio.core.retrieval.model_bundle import load_bundle
    from choreo_studio.core.retrieval.network_scoring import NetworkScorer

    return NetworkScorer(load_bundle(path), library)


def cut_flips(library: Library, phrases: Sequence[MusicPhrase],
              settings: Sequence[Placement]) -> np.ndarray | None:
    """Which cuts join a plain and a mirrored play, as the renderer will play them: bool
    ``[T − 1, K]``, row t − 1 for the cut from each dance on phrase t − 1 into phrase t (None
    when no cut is mirrored). ``settings`` are the placements whose mirror, mirror-on-repeat
    and beats-per-count apply on each phrase; the last play of dance a on a phrase is mirrored
    when ``mirror`` differs from (mirror-on-repeat and an even number of plays), the first play
    of the next phrase when its ``mirror`` is set (``beat_warp.plan_segments``)."""
    if len(phrases) < 2 or not library.phrases:
        return None
    kinds = np.array([(max(int(d.n_counts), 1), float(d.bpm)) for d in library.phrases])
    unique, inverse = np.unique(kinds, axis=0, return_inverse=True)
    before = settings[:-1]
    n_beats = np.array([p.end_beat - p.start_beat for p in phrases[:-1]], dtype=np.float64)
    bpm = np.array([phrase_bpm(p) for p in phrases[:-1]])
    choices = np.array(BEATS_PER_COUNT_CHOICES, dtype=np.float64)
    # auto_beats_per_count for every (phrase, kind): the first choice of least mismatch
    rate = np.maximum(bpm, 1e-6)[:, None, None] / choices / np.maximum(unique[:, 1], 1e-6)[
        None, :, None]
    mismatch = np.abs(np.log2(rate)) + TIME_CHANGE_COST_OCTAVES * (choices != 1.0)
    per_count = choices[np.argmin(mismatch, axis=2)]
    fixed = np.array([np.nan if s.beats_per_count is None else float(s.beats_per_count)
                      for s in before])
    per_count = np.where(np.isnan(fixed)[:, None], per_count, fixed[:, None])
    plays = np.maximum(1, np.ceil(n_beats[:, None] / (unique[None, :, 0] * per_count) - 1e-9))
    odd_last = (plays - 1) % 2 == 1
    mirror = np.array([s.mirror for s in before])[:, None]
    on_repeat = np.array([s.mirror_on_repeat for s in before])[:, None]
    leaves = mirror != (on_repeat & odd_last)
    enters = np.array([s.mirror for s in settings[1:]])[:, None]
    by_kind = leaves != enters  # [T − 1, kinds]: judged before it is spread over K dances
    return by_kind[:, inverse.reshape(-1)] if by_kind.any() else None


DEFAULT_STAGE_RADIUS_CM = 125.0
"""How far the dancer may wander from where it started before plays are turned back (cm)."""


_CUT_CACHE: dict[int, tuple[weakref.ref, CutFeatures]] = {}
"""Cut features by library object (a weak reference: a library let go is not kept for this)."""


def library_cut_features(library: Library) -> CutFeatures:
    """The library's cut features (its poses at every phrase's start and end; ~1-2 s on
    K = 240), computed once per library object: every song opened makes its own Engine (its
    decode options are the song's) on the same loaded library, and the features depend on
    the library alone. (Keyed by identity: the fingerprint leaves the motion's values out.)"""
    entry = _CUT_CACHE.get(id(library))
    if entry is not None and entry[0]() is library:
        return entry[1]
    cut = cut_features(library.phrases, library.skeleton.mirror_indices())
    for key, (ref, _cut) in list(_CUT_CACHE.items()):  # (list: atomic beside other threads)
        if ref() is None:
            _CUT_CACHE.pop(key, None)
    _CUT_CACHE[id(library)] = (weakref.ref(library), cut)
    return cut


@dataclass
class Engine:
    """A library + scorer with decoding settings; stateless about songs except its caches.

    ``library_path`` / ``model_path`` say where they came from ('' = the bundled ones), so a
    project can name them; ``decoder`` is "viterbi" or "greedy".
    """

    library: Library
    scorer: Scorer
    options: DecodeOptions = field(default_factory=DecodeOptions)
    blend_s: float = DEFAULT_BLEND_S
    decoder: str = "viterbi"
    library_path: str = ""
    model_path: str = ""
    stage_radius_cm: float | None = DEFAULT_STAGE_RADIUS_CM

    def __post_init__(self) -> None:
        self._transitions: dict[tuple, TransitionScores | CandidateTransitions] = {}
        self._by_id = {p.id: p for p in self.library.phrases}

    @property
    def scorer_name(self) -> str:
        """What scores music against dance (printed by the CLI, shown in the UI)."""
        return self.scorer.name

    @property
    def transition(self) -> np.ndarray:
        """M [K, K] used for decoding and suggestions."""
        return self.scorer.transition

    def dance(self, dance_id: str) -> DancePhrase | None:
        """The library's dance phrase ``dance_id`` (None when the library has no such dance)."""
        return self._by_id.get(dance_id)

    def _transition_scores(self, options: DecodeOptions) -> TransitionScores | CandidateTransitions:
        """M and the kinematic cut cost at the weights of ``options`` (dense up to a few thousand
        dances, the candidate decoder's factored model above), built once per weight setting."""
        key = (options.transition_weight, options.no_back_to_back, options.repeat_penalty)
        if key not in self._transitions:
            self._transitions[key] = library_transitions(
                self.library, options, self.transition, cut=library_cut_features(self.library))
        return self._transitions[key]

    def prepare_decoding(self) -> None:
        """Build the decoding's song-independent transition model now (what the first decode
        of a library otherwise spends ~2 s on), e.g. while a song is still being analysed."""
        self._transition_scores(self.options)

    def probabilities(self, song: Song, progress: ProgressFn = no_progress) -> np.ndarray:
        """P(d | u_t) [T, K] for ``song`` (cached by the scorer)."""
        return self.scorer.probabilities(song, progress)

    def decoder_label(self, options: DecodeOptions) -> str:
        """The one name a decoding gets in timelines and projects ("viterbi (vary)" when
        sampled)."""
        return self.decoder if options.temperature <= 0 else f"{self.decoder} (vary)"

    def decode(
        self,
        scores: np.ndarray,
        phrases: Sequence[MusicPhrase],
        current: Choreography | None = None,
        *,
        kept: Mapping[int, Placement] | None = None,
        options: DecodeOptions | None = None,
    ) -> Choreography:
        """Decode every phrase from P [T, K]: the one carry-over policy.

        ``kept`` placements stay exactly as they are (default: the locked ones of ``current``);
        every other phrase gets the decoded dance and keeps its settings from ``current``
        (mirror, blend, mirror on repeat, beats per count), or the defaults without one.
        """
        options = options or self.options
        if current is not None and len(current) != len(phrases):
            current = None  # the phrases changed: nothing to carry over
        if kept is None:
            kept = {p.phrase_index: p for p in current or () if p.locked}
        locks = {t: self.library.index_of(p.dance_id) for t, p in kept.items()}
        ties = section_ties([p.section_label for p in phrases])
        ids = self.library.ids
        settings = [kept[t] if t in kept else current[t] if current is not None
                    else Placement(t, ids[0], blend_s=self.blend_s) for t in range(len(phrases))]
        trans = self._transition_scores(options)
        flips = cut_flips(self.library, phrases, settings)  # both decoders take mirrored cuts
        indices = decode(scores, trans, method=self.decoder, locks=locks, ties=ties,
                         options=options, flips=flips)
        placements = []
        for t, d in enumerate(indices):
            if t in kept:
                placements.append(kept[t].with_changes(phrase_index=t))
                continue
            base = current[t] if current is not None else Placement(t, ids[d],
                                                                    blend_s=self.blend_s)
            placements.append(base.with_changes(dance_id=ids[d]))
        return Choreography(placements, self.scorer_name, self.decoder_label(options))

    def solve(
        self,
        song: Song,
        *,
        current: Choreography | None = None,
        options: DecodeOptions | None = None,
        progress: ProgressFn = no_progress,
    ) -> Choreography:
        """Score and decode the whole song (see :meth:`decode`)."""
        probs = self.probabilities(song, sub_progress(progress, 0.0, 0.8))
        progress(0.85, f"decoding ({self.decoder})")
        result = self.decode(probs, song.phrases, current, options=options)
        progress(1.0, "decoded")
        return result

    def vary(self, song: Song, current: Choreography, *, temperature: float = 1.0,
             seed: int | None = None) -> Choreography:
        """A different but still well-fitting choreography; locked phrases stay."""
        options = replace(self.options, temperature=temperature, seed=seed)
        return self.solve(song, current=current, options=options)

    def score_parts(self, scores: np.ndarray, choreography: Choreography) -> list[ScoreParts]:
        """Music fit and transitions of every placement, from P [T, K] and M as they are now
        (never stored on placements, so no edit can leave them stale)."""
        m = self.transition
        idx = [self.library.index_of(p.dance_id) for p in choreography]
        last = len(idx) - 1
        return [
            ScoreParts(
                float(scores[t, d]),
                float(m[idx[t - 1], d]) if t > 0 else None,
                float(m[d, idx[t + 1]]) if t < last else None,
            )
            for t, d in enumerate(idx)
        ]

    def suggestions(self, scores: np.ndarray, choreography: Choreography, phrase_index: int,
                    top_k: int = 10, phrases: Sequence[MusicPhrase] | None = None
                    ) -> list[tuple[DancePhrase, Suggestion]]:
        """Top-K alternatives for one phrase given its current neighbours; with the song's
        ``phrases``, pose jumps into and out of mirrored plays use the mirrored poses."""
        t = phrase_index
        prev = self.library.index_of(choreography[t - 1].dance_id) if t > 0 else None
        nxt = (self.library.index_of(choreography[t + 1].dance_id)
               if t + 1 < len(choreography) else None)
        flip_in, flip_out = False, None
        if phrases is not None:
            lo = max(t - 1, 0)  # only the cuts into t and into t + 1
            flips = cut_flips(self.library, phrases[lo : t + 2],
                              choreography.placements[lo : t + 2])
            if flips is not None:
                flip_in = bool(prev is not None and flips[t - lo - 1, prev])
                flip_out = flips[t - lo] if nxt is not None else None
        ranked = suggest(scores[t], prev=prev, nxt=nxt, top_k=top_k,
                         model=self._transition_scores(self.options).model,
                         flip_in=flip_in, flip_out=flip_out)
        return [(self.library.phrases[s.dance_index], s) for s in ranked]

    def render(self, song: Song, choreography: Choreography, *, fps: float = 30.0,
               progress: ProgressFn = no_progress) -> Motion:
        """The whole performance as one Motion."""
        from choreo_studio.core.choreography.render import render

        return render(choreography, song.analysis, song.phrases, self.library, fps=fps,
                      stage_radius_cm=self.stage_radius_cm, progress=progress)

    def metrics(self, song: Song, choreography: Choreography, motion: Motion) -> Metrics:
        """Beat, arrangement, fit and cut metrics of a rendered choreography."""
        from choreo_studio.core.choreography.beat_warp import plan_segments
        from choreo_studio.core.choreography.metrics import evaluate

        segments = plan_segments(choreography, song.analysis.beats_s, song.phrases,
                                 self.library)
        return evaluate(choreography, motion, song.analysis.beats_s, song.phrases,
                        cuts_s=[s.start_s for s in segments[1:]],
                        scores=self.probabilities(song),
                        dance_indices=[self.library.index_of(d) for d in choreography.dance_ids])


def load_engine(
    library_path: str = "",
    model_path: str = "",
    *,
    use_model: bool = True,
    options: DecodeOptions | None = None,
    blend_s: float = DEFAULT_BLEND_S,
    decoder: str = "viterbi",
    progress: ProgressFn = no_progress,
) -> Engine:
    """The library at ``library_path`` ('' = the demo one) and the best scorer for it."""
    library = load_library(library_path or None, sub_progress(progress, 0.0, 0.7))
    path = scorer_path(library, model_path or None, use_model=use_model)
    scorer = load_scorer(library, path, use_model=use_model)
    progress(1.0, f"scorer: {scorer.name}")
    return Engine(library, scorer, options or DecodeOptions(), blend_s, decoder, library_path,
                  str(path or ""))
