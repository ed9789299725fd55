"""T's epochs chosen on held-out songs of the training fold (inner validation by song).

T starts as the descriptor matcher (``networks.PairCues``: the matcher's weights, the tie cues
and the dance head's gate at 0), and a fixed epoch count can train it away from that start on
a small library. So inside each fold a quarter of the *training* songs (dealt inside each
genre, like the outer folds) is set aside with their dances and undanced parts; each of
Groups III–V trains on the rest for the full budget, and after every epoch (and before the
first) T judges the set-aside songs by the protocol's two questions: balanced genre@1 with
the song's own dance removed, and own@10, after the same song genre pooling. The epoch count
with the best sum (ties: the earlier, closer to the start) is what the group then trains on
the fold's training songs — 0 keeps the start. For Group V the count runs through its
fine-tuning and then its co-ascent epochs, so co-ascent is kept only as far as the
set-aside songs say it helps. The fold's test songs are never seen by this choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from choreo_studio.core.retrieval.networks import restrict_candidates
from choreo_studio.training.evaluate import (
    balanced_mean,
    genre_precision,
    own_dance_mask,
    own_phrase_hits,
    song_folds,
    song_genre_pooling,
)
from choreo_studio.training.pipeline import TrainingData, candidate_mask

INNER_FOLDS = 4
"""A fold's training songs are dealt into this many parts inside each genre; the first part
is the set-aside (inner validation) songs."""
SELECTED_GROUPS = ("III", "IV", "V")
"""Groups whose epochs are chosen (T on the frozen encoder; Groups I/II train the encoder end
to end, twice their cost, and keep the fixed budget)."""


def inner_songs(groups: Sequence[str], styles: Sequence[str], train: Sequence[int],
                seed: int = 0) -> list[int]:
    """The training songs (indices into ``groups``) set aside to choose T's epochs."""
    train = sorted(int(i) for i in train)
    parts = song_folds([groups[i] for i in train], [styles[i] for i in train], INNER_FOLDS,
                       seed + 7)
    return sorted(train[j] for j in parts[0]) if parts else []


def judged_value(probs: np.ndarray, labels: np.ndarray, songs: Sequence[str],
                 styles: Sequence[str], library_styles: Sequence[str],
                 library_groups: Sequence[str]) -> float:
    """Balanced genre@1 (own dance removed) + own@10 of held-out phrases, both after song
    genre pooling, balanced over the genres with two or more dances in the library."""
    songs, styles = np.asarray(songs), np.asarray(styles)
    exclude = own_dance_mask(songs, library_groups)
    lib_styles, lib_groups = np.asarray(library_styles), np.asarray(library_groups)
    genres = [g for g in np.unique(styles)
              if np.unique(lib_groups[lib_styles == g]).size >= 2]
    if not genres:
        return float("nan")
    genre = genre_precision(song_genre_pooling(probs, exclude, songs, library_styles),
                            exclude, library_styles, styles, (1,))
    own = own_phrase_hits(song_genre_pooling(probs, np.zeros_like(exclude), songs,
                                             library_styles), labels, (10,))
    return float(balanced_mean(genre, styles, genres)[0] + balanced_mean(own, styles, genres)[0])


@dataclass
class EpochJudge:
    """Records :func:`judged_value` of T on the set-aside songs, per group and epoch count
    (``ablation.Judge``)."""

    data: TrainingData  # the inner split: train = the rest, test = the set-aside songs
    vectors: torch.Tensor  # T's inputs of the set-aside phrases
    songs: list[str]
    styles: list[str]
    library_styles: list[str]
    library_groups: list[str]
    values: dict[str, dict[int, float]] = field(default_factory=dict)

    def __call__(self, group: str, epochs: int, predictor: torch.nn.Module) -> None:
        from choreo_studio.training.coascent import predict_probabilities

        was_training = predictor.training
        restrict_candidates(predictor, None)  # judged against the whole library
        probs = predict_probabilities(predictor, self.vectors,
                                      next(predictor.parameters()).device)
        restrict_candidates(predictor, candidate_mask(self.data))
        predictor.train(was_training)
        self.values.setdefault(group, {})[epochs] = judged_value(
            probs, self.data.test.labels, self.songs, self.styles, self.library_styles,
            self.library_groups)

    def best(self, group: str) -> int:
        """The epoch count with the best value (ties: the earlier)."""
        seen = self.values[group]
        return max(sorted(seen), key=lambda n: (np.nan_to_num(seen[n], nan=-1.0), -n))


def schedule_of(judge: EpochJudge, before_coascent: int) -> dict[str, tuple[int, int]]:
    """(fine-tuning, co-ascent) epochs per group from the judge's best counts; Group V's
    count runs through ``before_coascent`` fine-tuning epochs, then co-ascent."""
    out = {}
    for group in judge.values:
        n = judge.best(group)
        out[group] = ((n, 0) if group != "V" or n <= before_coascent
                      else (before_coascent, n - before_coascent))
    return out


def chosen_epochs_line(chosen: Sequence[dict[str, Sequence[int]]]) -> str:
    """One line: per group, the median epochs chosen over the folds, how many folds kept the
    start (0 epochs) and, for Group V, how many kept co-ascent epochs."""
    parts = []
    for group in SELECTED_GROUPS:
        rows = [tuple(c[group]) for c in chosen if group in c]
        if not rows:
            continue
        total = [a + b for a, b in rows]
        text = (f"{group} median {float(np.median(total)):g} epochs, "
                f"{sum(t == 0 for t in total)}/{len(rows)} folds kept the start")
        if group == "V":
            text += f", {sum(b > 0 for _, b in rows)}/{len(rows)} kept co-ascent epochs"
        parts.append(text)
    return "T's epochs chosen on set-aside training songs: " + "; ".join(parts)
