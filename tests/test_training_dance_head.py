"""The dance head on known answers: phrases never trained on are still retrieved from their
inputs, masked phrases get no probability in training, a fold hides its test dances, and the
library's dance inputs are standardised with one style column each."""

from __future__ import annotations

import numpy as np
import torch
from choreo_studio.core.retrieval.networks import (
    DanceHead,
    DanceMatchPredictor,
    restrict_candidates,
)
from choreo_studio.core.retrieval.presets import get_preset
from choreo_studio.training.coascent import predict_probabilities
from choreo_studio.training.config import preset_config
from choreo_studio.training.crossval import RealData, fold_data
from choreo_studio.training.datasets import SongShard
from choreo_studio.training.distributed import DistContext
from choreo_studio.training.finetune import finetune
from choreo_studio.training.loop import StageRunner, seed_everything


def _toy(k: int = 40, n_inputs: int = 3, per_phrase: int = 3, seed: int = 0):
    """Phrase inputs x_k, and music u = A·x_k + noise danced to each (a learnable map)."""
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(k, n_inputs)).astype(np.float32)
    mix = rng.normal(size=(n_inputs, 128)).astype(np.float32)
    labels = np.repeat(np.arange(k), per_phrase)
    music = inputs[labels] @ mix + 0.05 * rng.normal(size=(labels.size, 128)).astype(np.float32)
    return inputs, torch.from_numpy(music), labels


def test_phrases_never_trained_on_are_retrieved_from_their_inputs(tmp_path):
    seed_everything(0)
    inputs, music, labels = _toy()
    train = labels < 30  # phrases 30..39 are never a training target (a held-out song's dance)
    candidates = torch.from_numpy(np.arange(40) < 30)
    predictor = DanceMatchPredictor(get_preset("tiny").network, torch.from_numpy(inputs))
    restrict_candidates(predictor, candidates)
    config = preset_config("tiny").with_overrides(
        {"finetune.epochs": 60, "finetune.lr": 0.05, "finetune.batch_size": 16,
         "finetune.balance": False})
    runner = StageRunner.create(tmp_path, DistContext(), show_bars=False)
    finetune(predictor, music[train], labels[train], config, runner)
    restrict_candidates(predictor, None)
    probs = predict_probabilities(predictor, music[~train], torch.device("cpu"))
    top5 = np.argsort(-probs, axis=1)[:, :5]
    recall5 = (top5 == labels[~train][:, None]).any(axis=1).mean()
    assert recall5 >= 0.6  # chance is 5 / 40; a K-way output layer scores these rows ~never


def test_masked_phrases_get_no_probability_until_opened():
    torch.manual_seed(0)
    head = DanceHead(8, torch.randn(6, 3), 8, 16)
    allowed = torch.tensor([True, True, False, True, False, True])
    head.restrict(allowed)
    probs = torch.softmax(head(torch.randn(5, 8)), dim=-1)
    assert probs[:, ~allowed].max() < 1e-30
    assert torch.allclose(probs[:, allowed].sum(dim=1), torch.ones(5))
    head.restrict(None)
    # opened: at the initial scale 10 a cosine of -1 still keeps e^-20 of the best's share
    assert torch.softmax(head(torch.randn(5, 8)), dim=-1)[:, ~allowed].min() > 1e-12


def _shard(name, n, label0):
    z = np.zeros((n, 2, 2), np.float32)
    return SongShard(name, f"h-{name}", z, z[:, 0], z[:, 0], np.arange(label0, label0 + n))


def test_a_fold_hides_its_test_dances_from_the_training_candidates():
    names = ["A", "B", "C"]
    songs = [_shard(n, 2, 2 * i) for i, n in enumerate(names)]
    entries = [{"group": n, "style": "waltz"} for n in names]
    lib_groups = ["A", "A", "B", "B", "C", "C"]
    real = RealData(songs, entries, [np.zeros((2, 6))] * 3, [], [], 6,
                    np.zeros((6, 2), np.float32), lib_groups)
    data = fold_data(real, [1])
    assert data.candidates.tolist() == [True, True, False, False, True, True]
    assert not data.candidates[data.test.labels].any()
    assert data.candidates[data.train.labels].all()


def test_dance_inputs_are_one_style_column_each_then_standardised(tmp_path):
    from choreo_studio.core.retrieval.network_scoring import MOTION_DESCRIPTORS, dance_inputs

    from tests.test_training_data import STYLES, make_library

    library = make_library(tmp_path / "library")
    x = dance_inputs(library)
    n_styles = len(library.styles)
    assert n_styles == len(STYLES) and x.shape == (len(library), n_styles + 3
                                                   + len(MOTION_DESCRIPTORS))
    onehot = x[:, :n_styles]
    assert (onehot.sum(axis=1) == 1).all()
    for i, phrase in enumerate(library.phrases):
        assert onehot[i, library.styles.index(phrase.style)] == 1
    numeric = x[:, n_styles:]
    varying = numeric.std(axis=0) > 0
    assert np.allclose(numeric.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(numeric.std(axis=0)[varying], 1, atol=1e-4)
    tempo = numeric[:, 1]  # log2 BPM: the 140 BPM phrases sit above the 95 BPM ones
    bpm = np.array([p.bpm for p in library.phrases])
    assert tempo[bpm == 140].min() > tempo[bpm == 95].max()


def test_music_side_inputs_follow_the_phrases_into_batches():
    from choreo_studio.training.datasets import PhraseSet
    from choreo_studio.training.real_pairs import music_side

    mel = np.zeros((4, 2, 128), np.float32)
    mel[:, 0, :] = np.array([0.4, 0.0, 0.8, 0.2])[:, None]  # levels 0.2, 0, 0.4, 0.1
    frames = np.arange(128)
    rhythm = np.stack([np.cos(2 * np.pi * p * frames / 128) for p in (6, 8, 6, 8)])
    music = music_side(mel, rhythm, 120.0)
    assert np.allclose(music[:, 0], np.log2(120.0))
    assert np.allclose(music[:, 2], [2 / 3, 0.0, 1.0, 1 / 3])  # level rank inside the song
    pulses = music[:, 3:18].argmax(axis=1) + 2
    assert pulses.tolist() == [6, 8, 6, 8]  # 3/4 and 4/4 phrases of 2 bars
    a = SongShard("a", "ha", mel, mel[:, 0], rhythm, np.arange(4), music)
    b = SongShard("b", "hb", mel[:2], mel[:2, 0], rhythm[:2], np.arange(2), music[:2] + 1)
    batch = PhraseSet([a, b]).gather(np.array([5, 0, 2]))
    assert np.allclose(batch["music"], np.stack([music[1] + 1, music[0], music[2]]))
    assert PhraseSet([a, _shard("c", 2, 0)]).music_inputs() is None  # not every song has them


def test_shared_vectors_are_cut_per_fold_in_the_folds_phrase_order():
    from choreo_studio.training.crossval import fold_vectors

    names = ["A", "B", "C", "D"]
    songs = [_shard(n, 3, 3 * i) for i, n in enumerate(names)]  # label = global row
    entries = [{"group": n, "style": "waltz"} for n in names]
    unlabeled = [_shard("B:undanced", 2, 100), _shard("game", 2, 102)]
    real = RealData(songs, entries, [np.zeros((3, 12))] * 4, unlabeled, ["B", None], 12)
    labeled = torch.arange(12, dtype=torch.float32)[:, None]
    outside = torch.arange(100, 104, dtype=torch.float32)[:, None]
    for test in ([1], [0, 3]):
        data = fold_data(real, test)
        vectors = fold_vectors(real, test, labeled, outside)
        assert vectors["train"][:, 0].long().tolist() == data.train.labels.tolist()
        assert vectors["test"][:, 0].long().tolist() == data.test.labels.tolist()
        assert vectors["unlabeled"][:, 0].long().tolist() == data.unlabeled.labels.tolist()
    assert fold_vectors(real, [1], labeled, outside)["unlabeled"][:, 0].tolist() == [102, 103]


def test_cross_validation_runs_every_group_with_the_dance_head(tmp_path):
    from types import SimpleNamespace

    from choreo_studio.training.crossval import cross_validate
    from choreo_studio.training.real_pairs import music_side

    rng = np.random.default_rng(0)

    def song(name, n, label0):
        mel = rng.random((n, 128, 128), dtype=np.float32)
        rhythm = rng.random((n, 128), dtype=np.float32)
        labels = np.arange(label0, label0 + n) if label0 >= 0 else np.full(n, -1)
        return SongShard(name, f"h-{name}", mel, rhythm, rhythm, labels,
                         music_side(mel, rhythm, 90.0 + label0))

    names, styles = ["A", "B", "C", "D"], ["waltz", "waltz", "rumba", "rumba"]
    songs = [song(n, 3, 3 * i) for i, n in enumerate(names)]
    entries = [{"group": n, "style": s} for n, s in zip(names, styles, strict=True)]
    unlabeled = [song("game", 4, -1), song("A:undanced", 2, -1)]
    lib_groups = [g for g in names for _ in range(3)]
    real = RealData(songs, entries, [np.zeros((3, 12))] * 4, unlabeled, [None, "A"], 12,
                    rng.normal(size=(12, 5)).astype(np.float32), lib_groups)
    library = SimpleNamespace(transition_prior=None, phrases=[
        SimpleNamespace(id=f"{g}#{i}", style=styles[names.index(g)], source={"take": g})
        for i, g in enumerate(lib_groups)])
    config = preset_config("tiny").with_overrides(
        {"pretrain.epochs": 1, "finetune.epochs": 2, "coascent.epochs": 1,
         "coascent.tau": 0.0, "checkpoint_every": 100})
    report = cross_validate(real, library, config, tmp_path, DistContext(), n_folds=2,
                            groups=("I", "II", "III", "IV", "V"), n_boot=20)
    assert report["config"]["pretraining"].startswith("shared")
    assert (tmp_path / "pretrain_shared" / "checkpoints").is_dir()
    for name in ("Group I", "Group II", "Group III", "Group IV", "model (Group V)"):
        own = report["methods"][name]["all"]["own_recall"]["top10"][0]
        assert 0.0 <= own <= 1.0
    assert report["n_phrases"] == 12
