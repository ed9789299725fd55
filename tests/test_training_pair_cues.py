"""Pair cues, the genre loss and song genre pooling on known answers: T starts as the
descriptor matcher, the precise tempo and position cues single out the dance danced to the
music, the genre loss asks for the genre with the own dance removed, and a song's phrases
vote on its genre."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from choreo_studio.core.retrieval.network_scoring import dance_cues
from choreo_studio.core.retrieval.networks import (
    DANCE_CUES,
    MATCHER_TEMPERATURE,
    MUSIC_CUES,
    PAIR_CUES,
    PairCues,
)
from choreo_studio.training.evaluate import song_genre_pooling
from choreo_studio.training.finetune import DanceSets, genre_loss
from choreo_studio.training.real_pairs import cue_columns


def _music(tempo=120.0, energy=0.5, onsets=1.0, strength=0.4, bar=4, beats=8, index=0, frac=0.0):
    return torch.tensor([[tempo, energy, onsets, strength, bar, beats, index, frac]])


def _dance(tempo=120.0, energy=0.5, per_count=1.0, strength=0.4, bar=4, counts=8, song_bpm=None,
           index=0, frac=0.0):
    return [tempo, energy, per_count, strength, bar, counts,
            tempo if song_bpm is None else song_bpm, index, frac]


def test_pair_cues_start_as_the_descriptor_matcher():
    dances = torch.tensor([
        _dance(tempo=60.0),  # half the music's tempo: double time, 0.35 octave of cost
        _dance(energy=0.1, bar=3, counts=3),  # 1.5 × 0.4 energy, meter 0.3, tiling 0.4
        _dance(per_count=2.0, strength=0.9),  # density 0.3 × 1, strength 0.8 × 0.5
    ])
    cues = PairCues(dances)
    feats = cues.features(_music())
    assert feats.shape == (1, 3, len(PAIR_CUES)) and len(MUSIC_CUES) == 8
    assert len(DANCE_CUES) == dances.shape[1]
    matcher = torch.tensor([0.35, 0.6 + 0.3 + 0.4, 0.3 + 0.4])
    start = feats[..., :6] @ cues.weight[:6]
    assert torch.allclose(start[0], -matcher / MATCHER_TEMPERATURE, atol=1e-5)
    assert torch.all(cues.weight[6:] == 0)  # the tie cues start switched off


def test_precise_tempo_and_position_single_out_the_dance_danced_to_the_music():
    dances = torch.tensor([
        _dance(tempo=86.0, song_bpm=86.0, index=3, frac=0.5),  # its own dance, same place
        _dance(tempo=86.0, song_bpm=87.5, index=5, frac=0.9),  # 1.7 % faster, elsewhere
        _dance(tempo=172.0, song_bpm=172.0, index=3, frac=0.5),  # double time, same place
    ])
    feats = PairCues(dances).features(_music(tempo=86.0, index=3, frac=0.5))[0]
    tempo_1pc, position, same_index = (PAIR_CUES.index(n) for n in
                                       ("tempo_1pc", "position", "same_index"))
    assert feats[0, tempo_1pc] > 0.99 and feats[1, tempo_1pc] < 0.06
    assert feats[2, tempo_1pc] > 0.99  # an exact octave is the same music
    assert feats[0, position] == 0 and math.isclose(float(feats[1, position]), 0.4, abs_tol=1e-6)
    assert feats[0, same_index] == 1 and math.isclose(float(feats[1, same_index]), math.exp(-2),
                                                      rel_tol=1e-5)


class _Library:
    def __init__(self, phrases):
        self.phrases = phrases

    def __len__(self):
        return len(self.phrases)


def _phrase(take, start, bpm, scale):
    source = {"take": take, "start_frame": start, "time_map": {"offset_s": 0.0, "scale": scale}}
    return SimpleNamespace(bpm=bpm, n_counts=8, energy=2, descriptors={}, source=source)


def test_dance_cues_read_each_take_in_order_and_its_time_map():
    library = _Library([_phrase("B", 0, 100.0, 1.0), _phrase("A", 300, 90.0, 1.0125),
                        _phrase("A", 0, 90.0, 1.0125), _phrase("A", 150, 90.0, 1.0125)])
    cues = dance_cues(library)
    song_bpm, index, frac = (DANCE_CUES.index(n) for n in ("song_bpm", "index", "fraction"))
    assert np.allclose(cues[:, song_bpm], [100.0, 90 / 1.0125, 90 / 1.0125, 90 / 1.0125])
    assert cues[:, index].tolist() == [0, 2, 0, 1]  # by start frame inside take A
    assert cues[:, frac].tolist() == [0.0, 1.0, 0.0, 0.5]


def test_cue_columns_add_each_phrases_index_and_fraction():
    cols = cue_columns(np.ones((5, 6)))
    assert cols.shape == (5, len(MUSIC_CUES))
    assert cols[:, 6].tolist() == [0, 1, 2, 3, 4] and cols[:, 7].tolist() == [0, .25, .5, .75, 1]


def test_genre_loss_asks_for_the_genre_with_the_own_dance_removed():
    sets = DanceSets.of(["A", "A", "B", "C", "T"], ["waltz", "waltz", "waltz", "rumba", "tango"])
    logits = torch.tensor([[5.0, 5.0, 0.0, 0.0, -30.0],  # own dance A removed: B vs C evenly
                           [5.0, 5.0, 3.0, 0.0, -30.0],  # B well ahead of the rumba
                           [0.0, 0.0, 0.0, 0.0, 9.0]])   # the only tango: no other tango dance
    assert math.isclose(float(genre_loss(logits[:1], torch.tensor([0]), sets)), math.log(2),
                        rel_tol=1e-5)
    assert math.isclose(float(genre_loss(logits[1:2], torch.tensor([1]), sets)),
                        math.log1p(math.exp(-3)), rel_tol=1e-4)
    both = genre_loss(logits, torch.tensor([0, 1, 4]), sets)  # the tango row adds nothing
    assert math.isclose(float(both), (math.log(2) + math.log1p(math.exp(-3))) / 2, rel_tol=1e-4)


def test_a_songs_phrases_vote_on_its_genre():
    styles = ["waltz", "waltz", "rumba", "rumba"]
    probs = np.array([[0.45, 0.45, 0.05, 0.05],
                      [0.40, 0.40, 0.10, 0.10],
                      [0.20, 0.20, 0.35, 0.25]])  # alone, this phrase's best is a rumba
    songs = ["s", "s", "s"]
    none = np.zeros((3, 4), bool)
    plain = song_genre_pooling(probs, none, songs, styles, beta=0.0)
    assert plain.argmax(axis=1).tolist() == [0, 0, 2]
    assert np.allclose(np.exp(plain).sum(axis=1), 1.0)
    pooled = song_genre_pooling(probs, none, songs, styles, beta=1.0)
    assert pooled.argmax(axis=1).tolist() == [0, 0, 0]
    exclude = np.array([[True, True, False, False]] * 3)  # the song's own dance removed
    judged = song_genre_pooling(probs, exclude, songs, styles, beta=1.0)
    assert np.isneginf(judged[:, :2]).all() and np.isfinite(judged[:, 2:]).all()
    other = song_genre_pooling(probs, none, ["s", "s", "t"], styles, beta=1.0)
    assert other[2].argmax() == 2  # another song's phrases do not vote


def test_cross_validation_trains_every_group_with_pair_cues_and_the_genre_loss(tmp_path):
    from choreo_studio.training.config import preset_config
    from choreo_studio.training.crossval import RealData, cross_validate, final_model
    from choreo_studio.training.datasets import SongShard
    from choreo_studio.training.distributed import DistContext

    rng = np.random.default_rng(0)
    names, styles, tempi = ["A", "B", "C", "D"], ["waltz", "waltz", "rumba", "rumba"], \
        [84.0, 88.0, 100.0, 104.0]

    def song(name, n, label0, tempo):
        mel = rng.random((n, 128, 128), dtype=np.float32)
        rhythm = rng.random((n, 128), dtype=np.float32)
        labels = np.arange(label0, label0 + n) if label0 >= 0 else np.full(n, -1)
        cues = np.tile([tempo, 0.5, 1.0, 0.5, 4, 8], (n, 1))
        music = np.concatenate([rng.random((n, 3), dtype=np.float32), cue_columns(cues)], 1)
        return SongShard(name, f"h-{name}", mel, rhythm, rhythm, labels, music)

    songs = [song(n, 3, 3 * i, t) for i, (n, t) in enumerate(zip(names, tempi, strict=True))]
    entries = [{"group": n, "style": s} for n, s in zip(names, styles, strict=True)]
    lib_groups = [g for g in names for _ in range(3)]
    lib_styles = [styles[names.index(g)] for g in lib_groups]
    cues = np.array([_dance(tempo=t, index=i, frac=i / 2) for t in tempi for i in range(3)],
                    np.float32)
    real = RealData(songs, entries, [np.zeros((3, 12))] * 4, [song("game", 4, -1, 90.0)],
                    [None], 12, rng.normal(size=(12, 5)).astype(np.float32), lib_groups,
                    cues, DanceSets.of(lib_groups, lib_styles, 3.0))
    library = SimpleNamespace(transition_prior=np.full((12, 12), 1 / 12), name="toy",
                              fingerprint="fp-toy", phrases=[
        SimpleNamespace(id=f"{g}#{i}", style=s, source={"take": g})
        for i, (g, s) in enumerate(zip(lib_groups, lib_styles, strict=True))])
    config = preset_config("tiny").with_overrides(
        {"pretrain.epochs": 1, "finetune.epochs": 2, "finetune.end_to_end_epochs": 1,
         "coascent.epochs": 1, "coascent.tau": 0.0, "checkpoint_every": 100})
    report = cross_validate(real, library, config, tmp_path / "all", DistContext(), n_folds=2,
                            groups=("I", "IV", "V"), n_boot=20)  # the linear head; co-ascent
    for name in ("Group I", "Group IV", "model (Group V)"):
        assert 0.0 <= report["methods"][name]["all"]["genre_phrase"]["top1"] <= 1.0
    # epochs chosen per fold on set-aside training songs, within the budget (V: 1 + 1)
    assert len(report["chosen_epochs"]) == 2
    for chosen in report["chosen_epochs"]:
        assert set(chosen) == {"IV", "V"} and 0 <= chosen["IV"][0] <= 2
        assert chosen["V"][0] <= 1 and chosen["V"][1] <= 1
    assert set(report["differences"]) == {"model (Group V) - matcher",
                                          "model (Group V) - Group IV"}
    top1 = {n: report["methods"][n]["all"]["genre_balanced"]["top1"][0]
            for n in ("model (Group V)", "matcher")}
    diff = report["differences"]["model (Group V) - matcher"]["genre_balanced"]["top1"]
    assert diff[0] == pytest.approx(top1["model (Group V)"] - top1["matcher"], abs=1e-3)
    assert diff[1] <= diff[0] <= diff[2]
    bundle = final_model(real, library, config, tmp_path / "all", DistContext())
    assert bundle.head is not None and bundle.head.n_music == songs[0].music.shape[1]
    probs = bundle.build_network()(torch.from_numpy(np.asarray(songs[0].mel)),
                                   torch.from_numpy(songs[0].music))
    assert probs.shape == (3, 12) and torch.allclose(probs.sum(dim=1), torch.ones(3))
    longer = config.with_overrides({"finetune.epochs": 15, "finetune.lr": 0.1})
    report = cross_validate(real, library, longer, tmp_path / "iv", DistContext(), n_folds=2,
                            groups=("IV",), n_boot=20, select=False)
    # held-out songs: their dances were never a training target, yet each phrase's own
    # tempo and position pick its own phrase out of the 12 (chance 1/12)
    assert report["methods"]["Group IV"]["all"]["own_recall"]["top1"][0] >= 0.5
