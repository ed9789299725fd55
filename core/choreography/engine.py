"""The retrieval engine as one object: a library and a scorer turn a song into a choreography.

:class:`Engine` ties the pieces together for the CLI (``choreo auto``/``choreo eval``) and any
other front end: score every phrase (cached), decode with locks/ties/repetition limits, vary,
suggest alternatives, render the motion and measure the result (``export.files`` writes
the files).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from choreo_studio.core.choreography.placements import DEFAULT_BLEND_S, Choreography, Placement
from choreo_studio.core.library.library import DancePhrase, Library
from choreo_studio.core.progress import ProgressFn, no_progress, sub_progress
from choreo_studio.core.retrieval.decoding import (
    DecodeOptions,
    TransitionScores,
    decode,
    section_ties,
)
from choreo_studio.core.retrieval.model_files import find_model_for_library
from choreo_studio.core.retrieval.scoring import DescriptorMatcher, Scorer
from choreo_studio.core.retrieval.suggestions import Suggestion, suggest

if TYPE_CHECKING:
    from choreo_studio.core.choreography.metrics import Metrics
    from choreo_studio.core.motion.motion import Motion
    from choreo_studio.core.phrases.song import Song

DECODERS = ("viterbi", "greedy")


def load_library(path: str | os.PathLike[str] | None, progress: ProgressFn = no_progress
                 ) -> Library:
    """The library folder at ``path``, or the bundled demo library when ``path`` is None."""
    if path:
        return Library.load(path, progress)
    from choreo_studio.resources.demo_library import load_demo_library

    return load_demo_library(progress)


def load_scorer(library: Library, model: str | os.PathLike[str] | None = None, *,
                use_model: bool = True) -> Scorer:
    """The scorer for ``library``: the model bundle at ``model``, else a shipped bundle trained
    for this library, else the descriptor matcher (also when ``use_model`` is False)."""
    path = Path(model) if model else (find_model_for_library(library) if use_model else None)
    if path is None:
        return DescriptorMatcher(library)
    from choreo_studio.core.retrieval.model_bundle import load_bundle
    from choreo_studio.core.retrieval.network_scoring import NetworkScorer

    return NetworkScorer(load_bundle(path), library)


@dataclass
class Engine:
    """A library + scorer with decoding settings; stateless about songs except its caches."""

    library: Library
    scorer: Scorer
    options: DecodeOptions = field(default_factory=DecodeOptions)
    blend_s: float = DEFAULT_BLEND_S

    def __post_init__(self) -> None:
        self._transitions: dict[tuple, TransitionScores] = {}

    @property
    def scorer_name(self) -> str:
        """What scores music against dance (printed by the CLI, shown in the UI)."""
        return self.scorer.name

    @property
    def transition(self) -> np.ndarray:
        """M [K, K] used for decoding and suggestions."""
        return self.scorer.transition

    def _transition_scores(self, options: DecodeOptions) -> TransitionScores:
        key = (options.transition_weight, options.no_back_to_back, options.repeat_penalty)
        if key not in self._transitions:
            self._transitions[key] = TransitionScores(self.transition, options)
        return self._transitions[key]

    def probabilities(self, song: Song, progress: ProgressFn = no_progress) -> np.ndarray:
        """P(d | u_t) [T, K] for ``song`` (cached by the scorer)."""
        return self.scorer.probabilities(song, progress)

    def solve(
        self,
        song: Song,
        *,
        decoder: str = "viterbi",
        current: Choreography | None = None,
        options: DecodeOptions | None = None,
        progress: ProgressFn = no_progress,
    ) -> Choreography:
        """Decode the whole song. Locked placements of ``current`` stay as they are; its other
        per-phrase settings (mirror, blend) are kept for the phrases that are re-solved."""
        options = options or self.options
        probs = self.probabilities(song, sub_progress(progress, 0.0, 0.8))
        if current is not None and len(current) != len(song.phrases):
            current = None  # the phrases changed: nothing to keep
        locks = {}
        if current is not None:
            locks = {p.phrase_index: self.library.index_of(p.dance_id) for p in current
                     if p.locked}
        ties = section_ties([p.section_label for p in song.phrases])
        progress(0.85, f"decoding ({decoder})")
        indices = decode(probs, self._transition_scores(options), method=decoder, locks=locks,
                         ties=ties, options=options)
        name = decoder if options.temperature <= 0 else f"{decoder} (vary)"
        result = self._placements(indices, probs, current, name)
        progress(1.0, "decoded")
        return result

    def vary(self, song: Song, current: Choreography, *, temperature: float = 1.0,
             seed: int | None = None) -> Choreography:
        """A different but still well-fitting choreography; locked phrases stay."""
        options = replace(self.options, temperature=temperature, seed=seed)
        return self.solve(song, current=current, options=options)

    def _placements(self, indices: np.ndarray, probs: np.ndarray,
                    current: Choreography | None, decoder: str) -> Choreography:
        m = self.transition
        ids = self.library.ids
        placements = []
        for t, d in enumerate(indices):
            base = current[t] if current is not None else Placement(t, ids[d],
                                                                    blend_s=self.blend_s)
            placements.append(base.with_changes(
                dance_id=ids[d],
                music_fit=float(probs[t, d]),
                transition_in=float(m[indices[t - 1], d]) if t > 0 else None,
                transition_out=float(m[d, indices[t + 1]]) if t + 1 < len(indices) else None,
            ))
        return Choreography(placements, self.scorer_name, decoder)

    def suggestions(self, song: Song, choreography: Choreography, phrase_index: int,
                    top_k: int = 10) -> list[tuple[DancePhrase, Suggestion]]:
        """Top-K alternatives for one phrase given its current neighbours."""
        probs = self.probabilities(song)
        t = phrase_index
        prev = self.library.index_of(choreography[t - 1].dance_id) if t > 0 else None
        nxt = (self.library.index_of(choreography[t + 1].dance_id)
               if t + 1 < len(choreography) else None)
        ranked = suggest(probs[t], self.transition, prev=prev, nxt=nxt, top_k=top_k,
                         transition_weight=self.options.transition_weight)
        return [(self.library.phrases[s.dance_index], s) for s in ranked]

    def render(self, song: Song, choreography: Choreography, *, fps: float = 30.0,
               progress: ProgressFn = no_progress) -> Motion:
        """The whole performance as one Motion."""
        from choreo_studio.core.choreography.render import render

        return render(choreography, song.analysis, song.phrases, self.library, fps=fps,
                      progress=progress)

    def metrics(self, song: Song, choreography: Choreography, motion: Motion) -> Metrics:
        """Beat and arrangement metrics of a rendered choreography."""
        from choreo_studio.core.choreography.metrics import evaluate

        return evaluate(choreography, motion, song.analysis.beats_s, song.phrases)
