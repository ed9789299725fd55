"""Training stages on tiny tensors: losses fall, Algorithm 1's M update, top-k, split by song,
2-process DDP = 1 process, resume = uninterrupted run."""

from __future__ import annotations

import json
import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from choreo_studio.core.retrieval.networks import RetrievalNetwork
from choreo_studio.core.retrieval.presets import get_preset
from choreo_studio.training.coascent import (
    coascent,
    initial_transition,
    labeled_transitions,
    rescaled_pseudo_labels,
    updated_transition,
)
from choreo_studio.training.config import CoascentConfig, TrainConfig, preset_config
from choreo_studio.training.datasets import PhraseSet, SongShard, split_by_song
from choreo_studio.training.distributed import DistContext, init_distributed
from choreo_studio.training.evaluate import accuracy_report, most_frequent_topk, topk_accuracy
from choreo_studio.training.finetune import (
    EncoderClassifier,
    embed_phrases,
    finetune,
    train_end_to_end,
)
from choreo_studio.training.loop import StageRunner, seed_everything
from choreo_studio.training.pretrain import pretrain
from choreo_studio.training.samplers import StepSampler, epoch_order

K = 5


def make_phrases(n_songs: int, n_phrases: int, *, labeled: bool = True, seed: int = 0) -> PhraseSet:
    """Songs whose mel brightness, melody and rhythm density depend on the class (learnable)."""
    rng = np.random.default_rng(seed)
    songs = []
    for s in range(n_songs):
        labels = rng.integers(0, K, n_phrases)
        level = (labels + 1) / (K + 1)
        mel = (rng.random((n_phrases, 128, 128), dtype=np.float32) * 0.2
               + level[:, None, None].astype(np.float32) * 0.8)
        melody = np.repeat(level[:, None], 128, axis=1).astype(np.float32)
        rhythm = (rng.random((n_phrases, 128)) < level[:, None]).astype(np.float32)
        songs.append(SongShard(f"song{seed}-{s}", f"hash{seed}-{s}", mel, melody, rhythm,
                               labels if labeled else np.full(n_phrases, -1)))
    return PhraseSet(songs)


def tiny_network() -> RetrievalNetwork:
    return RetrievalNetwork(get_preset("tiny").network, K, with_decoders=True)


def runner(tmp_path, **kwargs) -> StageRunner:
    return StageRunner.create(tmp_path, DistContext(), show_bars=False, **kwargs)


def test_pretrain_loss_decreases(tmp_path):
    seed_everything(0)
    config = preset_config("tiny").with_overrides(
        {"pretrain.epochs": 3, "pretrain.lr_step_epochs": 50})
    state = pretrain(tiny_network(), make_phrases(2, 4), config, runner(tmp_path))
    losses = [h["loss"] for h in state.history]
    assert losses[-1] < losses[0]
    for part in ("spe", "mld", "rym"):
        assert state.history[-1][part] < state.history[0][part], part
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert rows[0] == "stage,epoch,name,value,elapsed_s" and any(",spe," in r for r in rows)


def test_finetune_loss_decreases_on_fixed_embeddings(tmp_path):
    seed_everything(0)
    labels = np.arange(40) % K
    embeddings = torch.randn(40, 128) * 0.1 + torch.nn.functional.one_hot(
        torch.from_numpy(labels), 128).float()
    net = tiny_network()
    config = preset_config("tiny").with_overrides({"finetune.epochs": 6})
    state = finetune(net.predictor, embeddings, labels, config, runner(tmp_path))
    assert state.history[-1]["loss"] < 0.85 * state.history[0]["loss"]


def test_end_to_end_classifier_loss_decreases(tmp_path):
    seed_everything(0)
    phrases = make_phrases(2, 4)
    net = tiny_network()
    config = preset_config("tiny").with_overrides(
        {"finetune.end_to_end_epochs": 4, "finetune.lr": 1e-3})
    state = train_end_to_end(EncoderClassifier(net.encoder, K), phrases, config, runner(tmp_path),
                             stage="group1")
    assert state.history[-1]["loss"] < state.history[0]["loss"]


def test_coascent_loss_decreases_and_uses_pseudo_labels(tmp_path):
    seed_everything(0)
    labels = np.arange(30) % K
    base = torch.nn.functional.one_hot(torch.arange(K), 128).float()
    labeled = base[labels] + torch.randn(30, 128) * 0.05
    unlabeled = base[np.arange(20) % K] + torch.randn(20, 128) * 0.05
    predecessor = np.array([-1] + list(range(9)) + [-1] + list(range(10, 19)))
    net = tiny_network()
    config = preset_config("tiny").with_overrides(
        {"coascent.epochs": 4, "coascent.refresh_epochs": 2, "coascent.lr": 0.05,
         "coascent.tau": 0.0})
    m0 = initial_transition(None, labeled_transitions(labels, np.arange(30) - 1), K,
                            config.coascent)
    state, m = coascent(net.predictor, labeled, labels, unlabeled, predecessor, m0, config,
                        runner(tmp_path))
    assert state.history[0]["pseudo_labeled"] == 20
    assert state.history[-1]["loss"] < state.history[0]["loss"]
    assert m.shape == (K, K) and m.min() >= 0.01 and m.max() <= 1.0


def test_transition_update_matches_algorithm_1_by_hand():
    config = CoascentConfig(alpha=0.5, m_min=0.01, m_max=1.0)
    m_k = np.array([[0.2, 0.4, 0.6], [0.3, 0.5, 0.9], [0.1, 0.9, 0.015]])
    # one song of four phrases pseudo-labeled 0, 1, 1, 2 and one of two labeled 0, 1
    labels = np.array([0, 1, 1, 2, 0, 1])
    conf = np.array([0.9, 0.5, 0.4, 0.8, 0.6, 0.3])
    pairs = np.array([[0, 1], [1, 2], [2, 3], [4, 5]])
    got = updated_transition(m_k, labels, conf, pairs, config)
    # evidence: C(0→1) = 0.9·0.5 + 0.6·0.3 = 0.63, C(1→1) = 0.5·0.4 = 0.2, C(1→2) = 0.4·0.8
    # row 0: 8·[0.2, 0.4, 0.6]/1.2 + [0, 0.63, 0] = [1.333, 3.297, 4.0], × 0.6/4.0
    row0 = np.array([8 * 0.2 / 1.2, 8 * 0.4 / 1.2 + 0.63, 8 * 0.6 / 1.2]) * 0.6 / 4.0
    row1 = np.array([8 * 0.3 / 1.7, 8 * 0.5 / 1.7 + 0.2, 8 * 0.9 / 1.7 + 0.32])
    row1 *= 0.9 / row1[2]
    expected = 0.5 * m_k + 0.5 * np.stack([row0, row1, m_k[2]])  # row 2 saw nothing
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got[0, 1] > m_k[0, 1] and got[0, 2] == m_k[0, 2]  # seen rises, the max stays


def test_transition_update_neither_decays_unseen_nor_saturates_seen():
    """Twenty rounds with the same pseudo-labels: unseen transitions keep the prior's shape
    (distinct values above the floor), seen ones rank by evidence and stay below 1."""
    config = CoascentConfig(alpha=0.5, m_min=0.01, m_max=1.0)
    rng = np.random.default_rng(0)
    prior = rng.uniform(0.05, 0.6, (6, 6))
    labels = np.array([0, 1, 0, 1, 0, 2, 3, 4])
    conf = np.full(8, 0.95)
    pairs = np.array([[i, i + 1] for i in range(7)])
    m = prior.copy()
    for _ in range(20):
        m = updated_transition(m, labels, conf, pairs, config, prior=prior)
    again = updated_transition(m, labels, conf, pairs, config, prior=prior)
    np.testing.assert_allclose(again, m, rtol=1e-4)  # converged, not decaying
    unseen = np.ones((6, 6), bool)
    unseen[labels[pairs[:, 0]], labels[pairs[:, 1]]] = False
    assert np.unique(np.round(m[unseen], 6)).size == unseen.sum()
    assert m[unseen].min() > 0.01 and m.max() < 1.0
    order = np.argsort(prior[0, [3, 4, 5]])  # unseen from 0
    np.testing.assert_array_equal(np.argsort(m[0, [3, 4, 5]]), order)  # the prior shape
    assert m[0, 1] > m[0, 2:].max() and m[1, 0] > m[1, 2:].max()


def test_rescaled_pseudo_labels_follow_eq6_greedily():
    transition = np.array([[1.0, 0.1], [0.1, 1.0]])
    probs = np.array([[0.8, 0.2], [0.45, 0.55], [0.3, 0.7]])
    predecessor = np.array([-1, 0, -1])  # songs: [0, 1] and [2]
    labels, conf = rescaled_pseudo_labels(probs, predecessor, transition)
    # phrase 1 prefers class 1 alone, but 0 → 0 is likely and 0 → 1 is not: 0.45 > 0.055
    np.testing.assert_array_equal(labels, [0, 0, 1])
    np.testing.assert_allclose(conf, [0.8, 0.45, 0.7])


def test_initial_transition_keeps_prior_and_marks_expert_transitions():
    config = CoascentConfig()
    prior = np.full((3, 3), 0.005)
    m0 = initial_transition(prior, np.array([[0, 2]]), 3, config)
    assert m0[0, 2] == 1.0 and m0[1, 1] == 0.01


def test_topk_accuracy_on_known_predictions():
    scores = np.array([[0.1, 0.5, 0.4], [0.7, 0.2, 0.1], [0.2, 0.3, 0.5], [0.3, 0.3, 0.4]])
    labels = np.array([2, 0, 0, 1])
    acc = topk_accuracy(scores, labels, (1, 2, 3))
    # rankings: [1,2,0] [0,1,2] [2,1,0] [2,0,1] (tie 0.3/0.3: class 0 before class 1)
    assert acc == {1: 0.25, 2: 0.5, 3: 1.0}
    mf = most_frequent_topk(np.array([1, 1, 1, 0, 0, 2]), np.array([1, 0, 2, 2]), 3, (1, 2))
    assert mf == {1: 0.25, 2: 0.5}
    report = accuracy_report(scores, labels, np.array([0, 0, 1]), 3, (1, 2))
    assert report["chance"] == {"top1": 1 / 3, "top2": 2 / 3}
    assert report["most_frequent"]["top1"] == 0.5


def test_split_keeps_every_song_on_one_side():
    keys = [f"song-{i:03d}" for i in range(50)]
    train, test = split_by_song(keys, 0.2, seed=3)
    assert not set(train) & set(test) and sorted(train + test) == list(range(50))
    assert len(test) == 10
    # a song's side does not depend on the other songs listed
    train2, test2 = split_by_song(keys[:25], 0.2, seed=3)
    held = {keys[i] for i in test}
    assert all((keys[i] in held) for i in test2) or held.isdisjoint(keys[i] for i in train2)
    phrases = make_phrases(6, 3)
    tr, te = split_by_song(phrases.song_hashes, 0.34)
    train_set, test_set = phrases.subset(tr), phrases.subset(te)
    assert set(train_set.song_hashes).isdisjoint(test_set.song_hashes)
    assert len(train_set) + len(test_set) == len(phrases)


def test_balanced_sampler_equalises_classes_and_splits_ranks():
    labels = np.array([0] * 90 + [1] * 10)
    order = epoch_order(100, 0, 0, labels=labels, balance=True)
    share = (labels[order] == 1).mean()
    assert 0.35 < share < 0.65
    one = StepSampler(10, 4, seed=1, accum_steps=2).steps(0)
    ranks = [StepSampler(10, 4, seed=1, rank=r, world_size=2).steps(0) for r in range(2)]
    for s, step in enumerate(one):
        assert [m.tolist() for m in step] == [ranks[0][s][0].tolist(), ranks[1][s][0].tolist()]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    ctx = init_distributed("cpu")
    try:
        history, params = _ddp_run(ctx, out_dir, accum_steps=1)
        if ctx.is_main:
            with open(os.path.join(out_dir, "ddp.json"), "w") as fh:
                json.dump({"history": history, "params": params}, fh)
    finally:
        ctx.shutdown()


def _ddp_run(ctx: DistContext, out_dir: str, accum_steps: int) -> tuple[list, list]:
    seed_everything(0)
    net = tiny_network()
    config = preset_config("tiny").with_overrides(
        {"pretrain.epochs": 2, "accum_steps": accum_steps})
    run = StageRunner.create(os.path.join(out_dir, f"run{accum_steps}"), ctx, show_bars=False)
    state = pretrain(net, make_phrases(2, 2), config, run)
    params = torch.cat([p.detach().flatten() for p in net.encoder.parameters()]).tolist()
    return [h["loss"] for h in state.history], params


def test_two_process_ddp_matches_one_process(tmp_path):
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    ddp = json.loads((tmp_path / "ddp.json").read_text())
    single_history, single_params = _ddp_run(DistContext(), str(tmp_path), accum_steps=2)
    np.testing.assert_allclose(ddp["history"], single_history, rtol=1e-5)
    # Adam turns the all-reduce's float rounding on near-zero gradients into steps of up to lr
    # (1e-3 here), so weights agree to a few steps' worth; the loss agrees to 1e-5.
    diff = np.abs(np.array(ddp["params"]) - np.array(single_params))
    print("DDP vs single: max |Δloss|", np.abs(np.subtract(ddp["history"], single_history)).max(),
          "max |Δw|", diff.max(), "median |Δw|", np.median(diff))
    assert diff.max() < 4 * 1e-3 and np.median(diff) < 1e-5


def test_resume_reproduces_the_uninterrupted_run(tmp_path):
    phrases = make_phrases(2, 3)
    config = preset_config("tiny").with_overrides({"pretrain.epochs": 3})

    seed_everything(0)
    whole = tiny_network()
    full = pretrain(whole, phrases, config, runner(tmp_path / "whole"))

    seed_everything(0)
    pretrain(tiny_network(), phrases, config, runner(tmp_path / "cut", stop_after_epoch=1))
    seed_everything(123)  # a fresh process would start from other weights and RNG state
    resumed_net = tiny_network()
    resumed = pretrain(resumed_net, phrases, config, runner(tmp_path / "cut", resume=True))

    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in full.history]
    for a, b in zip(whole.encoder.parameters(), resumed_net.encoder.parameters(), strict=True):
        assert torch.equal(a, b)
    log_epochs = [r.split(",")[1] for r in (tmp_path / "cut" / "log.csv").read_text().split()[1:]
                  if r.startswith("pretrain,") and ",loss," in r]
    assert log_epochs == ["0", "1", "2"]


def test_coascent_resume_restores_m_and_pseudo_labels(tmp_path):
    labels = np.arange(20) % K
    base = torch.nn.functional.one_hot(torch.arange(K), 128).float()
    labeled = base[labels] + 0.05
    unlabeled = base[np.arange(10) % K] + 0.05
    predecessor = np.arange(10) - 1
    config = preset_config("tiny").with_overrides(
        {"coascent.epochs": 4, "coascent.refresh_epochs": 2, "coascent.tau": 0.0,
         "coascent.lr": 0.05})
    m0 = initial_transition(None, np.zeros((0, 2)), K, config.coascent)

    def run(path, **kwargs):
        seed_everything(0)
        net = tiny_network()
        return coascent(net.predictor, labeled, labels, unlabeled, predecessor, m0, config,
                        runner(path, **kwargs)), net

    (full, m_full), _ = run(tmp_path / "a")
    run(tmp_path / "b", stop_after_epoch=3)
    (resumed, m_resumed), _ = run(tmp_path / "b", resume=True)
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in full.history]
    np.testing.assert_array_equal(m_full, m_resumed)


def test_embeddings_are_in_phrase_order(tmp_path):
    seed_everything(0)
    net = tiny_network().eval()
    phrases = make_phrases(2, 3)
    emb = embed_phrases(net.encoder, phrases, DistContext())
    with torch.no_grad():
        _, u = net.encoder(torch.from_numpy(phrases.gather(np.array([4]))["mel"]))
    torch.testing.assert_close(emb[4:5], u)


def test_config_round_trips_and_rejects_unknown_keys(tmp_path):
    config = preset_config("paper")
    assert config.pretrain.beta_rym == 10.0 and config.coascent.tau == 0.9
    assert config.finetune.lr == 1e-2 and config.coascent.lr == 1e-5
    path = config.save(tmp_path / "config.json")
    assert TrainConfig.load(path) == config
    with pytest.raises(Exception, match="no setting"):
        config.with_overrides({"pretrain.nope": 1})


def test_a_fresh_run_in_an_old_folder_replaces_its_log_rows(tmp_path):
    config = preset_config("tiny").with_overrides({"pretrain.epochs": 1})
    for _ in range(2):
        seed_everything(0)
        pretrain(tiny_network(), make_phrases(1, 2), config, runner(tmp_path))
    rows = [r for r in (tmp_path / "log.csv").read_text().split() if ",loss," in r]
    assert len(rows) == 1
