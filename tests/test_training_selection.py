"""T's epochs chosen on set-aside training songs (training.selection): T starts exactly as the
descriptor matcher, the set-aside songs are training songs only, dealt inside each genre,
and the choice keeps the earlier count on a tie and splits Group V's count into fine-tuning
and co-ascent epochs."""

from __future__ import annotations

import numpy as np
import torch
from choreo_studio.core.retrieval.networks import (
    DANCE_CUES,
    MUSIC_CUES,
    DanceMatchPredictor,
    PairCues,
)
from choreo_studio.core.retrieval.presets import get_preset
from choreo_studio.training.selection import (
    EpochJudge,
    chosen_epochs_line,
    inner_songs,
    judged_value,
    schedule_of,
)


def test_t_with_pair_cues_starts_as_the_matcher_term_alone():
    rng = np.random.default_rng(1)
    k = 6
    cues = torch.from_numpy(np.abs(rng.normal(size=(k, len(DANCE_CUES)))).astype(np.float32)
                            * 50 + 1)
    shape = get_preset("tiny").network
    t = DanceMatchPredictor(shape, torch.randn(k, 4), n_music=len(MUSIC_CUES) + 2,
                            dance_cues=cues).eval()
    u = torch.cat([torch.randn(3, shape.embed_dim + 2),
                   torch.from_numpy(np.abs(rng.normal(size=(3, len(MUSIC_CUES))))
                                    .astype(np.float32) * 50 + 1)], 1)
    expected = PairCues(cues)(u[:, -len(MUSIC_CUES):])
    assert torch.allclose(t(u), expected, atol=1e-5)  # the head's cosine is gated off
    plain = DanceMatchPredictor(shape, torch.randn(k, 4), n_music=2).eval()
    assert float(plain.out.gate.detach()) == 1.0  # without cues the head alone scores


def test_set_aside_songs_are_training_songs_of_every_genre():
    groups = [f"s{i}" for i in range(16)]
    styles = ["waltz"] * 8 + ["rumba"] * 4 + ["cha-cha"] * 4
    train = [i for i in range(16) if i not in (0, 8, 12)]  # three test songs
    aside = inner_songs(groups, styles, train, seed=0)
    assert set(aside) <= set(train) and aside
    assert {styles[i] for i in aside} == {"waltz", "rumba", "cha-cha"}
    assert len(aside) < len(train) / 2


def test_judged_value_adds_genre_at_1_and_own_at_10():
    lib_styles = ["waltz"] * 12 + ["rumba"] * 12
    lib_groups = ["A"] * 6 + ["B"] * 6 + ["C"] * 6 + ["D"] * 6
    probs = np.full((2, 24), 1e-3)
    probs[0, 0] = probs[0, 6] = 0.5  # song A: its own phrase and a waltz of B
    probs[1, 18] = 0.9  # song C (rumba): a rumba phrase of D, not its own (12)
    value = judged_value(probs, np.array([0, 12]), ["A", "C"], ["waltz", "rumba"], lib_styles,
                         lib_groups)
    assert np.isclose(value, 1.0 + 1.0)  # both genres right; both own phrases in the top 10
    wrong = probs.copy()
    wrong[1, 18], wrong[1, 0] = 1e-3, 0.9  # the rumba song now retrieves waltz, and its
    # pooled waltz posterior pushes its own (rumba) phrase out of the top 10
    assert np.isclose(judged_value(wrong, np.array([0, 12]), ["A", "C"], ["waltz", "rumba"],
                                   lib_styles, lib_groups), 0.5 + 0.5)


def test_the_choice_keeps_the_earlier_count_and_splits_group_v():
    judge = EpochJudge(None, torch.zeros(0), [], [], [], [])  # values set by hand below
    judge.values = {"IV": {0: 1.5, 4: 1.7, 9: 1.7, 20: 1.6},
                    "V": {0: 1.2, 15: 1.4, 18: 1.9, 20: 1.8}}
    assert judge.best("IV") == 4
    assert schedule_of(judge, 15) == {"IV": (4, 0), "V": (15, 3)}
    judge.values["V"] = {0: 2.0, 15: 1.4, 20: 1.8}
    assert schedule_of(judge, 15)["V"] == (0, 0)
    line = chosen_epochs_line([{"IV": (4, 0), "V": (15, 3)}, {"IV": (0, 0), "V": (0, 0)}])
    assert "IV median 2 epochs, 1/2 folds kept the start" in line
    assert "1/2 kept co-ascent epochs" in line
