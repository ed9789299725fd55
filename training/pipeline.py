"""The whole training run on a prepared data set: split by song, pre-train, fine-tune,
co-ascent, evaluate, and write a model bundle the engine loads.

Each stage checkpoints into the run folder, so asking for a later stage (or ``--resume``)
reuses every finished one. Ablation Groups I–V (``training.ablation``) reuse these pieces.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from choreo_studio.core.atomic_io import write_json_atomic
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.library.library import Library
from choreo_studio.core.retrieval.model_bundle import make_bundle, save_bundle
from choreo_studio.core.retrieval.networks import (
    DanceMatchPredictor,
    Predictor,
    RetrievalNetwork,
    restrict_candidates,
)
from choreo_studio.core.retrieval.presets import Preset, get_preset
from choreo_studio.training.coascent import (
    coascent,
    initial_transition,
    labeled_transitions,
    predict_probabilities,
)
from choreo_studio.training.config import TrainConfig
from choreo_studio.training.data_cache import load_shard_arrays, read_manifest
from choreo_studio.training.datasets import UNLABELED, PhraseSet, SongShard, split_by_song
from choreo_studio.training.evaluate import accuracy_report
from choreo_studio.training.finetune import DanceSets, embed_phrases, finetune
from choreo_studio.training.loop import StageRunner, seed_everything
from choreo_studio.training.pretrain import pretrain
from torch import nn

STAGES = ("pretrain", "finetune", "coascent")


@dataclass
class TrainingData:
    """The labeled songs split by song, and the unlabeled songs; labels are library indices.

    ``dance_inputs`` [K, F] (real libraries) selects T with the dance head
    (``networks.DanceHead``); ``candidates`` (bool [K]) are the phrases training may score —
    the dances of held-out songs are left out, and opened again only to judge the test songs.
    """

    train: PhraseSet
    test: PhraseSet
    unlabeled: PhraseSet
    n_dances: int
    dance_inputs: np.ndarray | None = None
    candidates: np.ndarray | None = None
    dance_cues: np.ndarray | None = None  # [K, len(DANCE_CUES)]: T adds networks.PairCues
    sets: DanceSets | None = None  # each phrase's dance and genre: the genre loss is added

    @property
    def n_music(self) -> int:
        """Music-side inputs per phrase that T reads beside u (``SongShard.music``)."""
        return int(self.train.songs[0].music.shape[1]) if self.train.has_music else 0

    def summary(self) -> dict[str, int]:
        return {
            "labeled_train_songs": len(self.train.songs),
            "labeled_train_phrases": len(self.train),
            "held_out_songs": len(self.test.songs),
            "held_out_phrases": len(self.test),
            "unlabeled_songs": len(self.unlabeled.songs),
            "unlabeled_phrases": len(self.unlabeled),
            "n_dances": self.n_dances,
        }


def load_training_data(
    cache_dir: str | os.PathLike[str], library: Library, config: TrainConfig
) -> TrainingData:
    """Memory-map the prepared shards, map dance ids to class indices and split by song."""
    manifest = read_manifest(cache_dir)
    labeled, unlabeled = [], []
    for entry in manifest["songs"]:
        arrays = load_shard_arrays(cache_dir, entry["key"])
        if entry["labeled"]:
            labels = np.array([_class_of(library, d, entry) for d in entry["dance_ids"]])
        else:
            labels = np.full(int(entry["n_phrases"]), UNLABELED, dtype=np.int64)
        shard = SongShard(entry["name"], entry["song_hash"], arrays["mel"], arrays["melody"],
                          arrays["rhythm"], labels)
        (labeled if entry["labeled"] else unlabeled).append(shard)
    if len(labeled) < 2:
        raise ChoreoError(f"{cache_dir}: {len(labeled)} labeled song(s) — training and a held-out "
                          "evaluation need at least 2; add timelines to the labeled folder")
    everything = PhraseSet(labeled)
    train_idx, test_idx = split_by_song(everything.song_hashes, config.held_out_fraction,
                                        config.seed)
    return TrainingData(everything.subset(train_idx), everything.subset(test_idx),
                        PhraseSet(unlabeled), len(library))


def _class_of(library: Library, dance_id: str, entry: dict[str, Any]) -> int:
    try:
        return library.index_of(dance_id)
    except ChoreoError:
        raise ChoreoError(
            f"{entry['name']}: its timeline uses dance {dance_id!r}, which library "
            f"{library.name!r} does not have — train with the library the timelines were made "
            "with (--library)"
        ) from None


def fresh_predictor(preset: Preset, data: TrainingData, seed: int) -> nn.Module:
    """T with seeded initial weights, so every group starts from the same T: the paper's
    K-way output layer, or the dance head when ``data`` has dance inputs (restricted to its
    candidates)."""
    torch.manual_seed(seed + 1)
    if data.dance_inputs is None:
        return Predictor(preset.network, data.n_dances)
    cues = None if data.dance_cues is None else torch.from_numpy(data.dance_cues)
    predictor = DanceMatchPredictor(preset.network, torch.from_numpy(data.dance_inputs),
                                    data.n_music, cues)
    restrict_candidates(predictor, candidate_mask(data))
    return predictor


def candidate_mask(data: TrainingData) -> torch.Tensor | None:
    """The phrases training may score, as a bool tensor (None: every phrase)."""
    return None if data.candidates is None else torch.from_numpy(np.asarray(data.candidates,
                                                                              bool))


@dataclass
class RunResult:
    """What a training run produced."""

    network: RetrievalNetwork
    transition: np.ndarray
    metrics: dict[str, Any]
    bundle_path: Path | None


def pretrained_network(
    data: TrainingData, config: TrainConfig, runner: StageRunner
) -> RetrievalNetwork:
    """E + decoders pre-trained on the training songs (labeled train + unlabeled, no test)."""
    preset = get_preset(config.network_preset)
    seed_everything(config.seed)
    network = RetrievalNetwork(preset.network, data.n_dances, with_decoders=True)
    pretrain_set = PhraseSet(data.train.songs + data.unlabeled.songs)
    if config.pretrain.epochs > 0:
        pretrain(network, pretrain_set, config, runner)
    return network.to(runner.ctx.device)


def train_model(
    data: TrainingData,
    library: Library,
    config: TrainConfig,
    runner: StageRunner,
    *,
    until: str = "coascent",
    bundle_path: str | os.PathLike[str] | None = None,
) -> RunResult:
    """Pre-train → fine-tune (balanced as configured) → co-ascent, evaluating after each of the
    last two; write the bundle (E + T + M) when ``bundle_path`` is given and ``until`` is the
    last stage."""
    if until not in STAGES:
        raise ChoreoError(f"unknown stage {until!r} — choose one of {', '.join(STAGES)}")
    ctx = runner.ctx
    started = time.monotonic()
    if ctx.is_main:
        config.save(runner.run_dir / "config.json")
    preset = get_preset(config.network_preset)
    network = pretrained_network(data, config, runner)
    metrics: dict[str, Any] = {"data": data.summary(), "preset": config.preset}
    transition = initial_transition(
        library.transition_prior,
        labeled_transitions(data.train.labels, data.train.predecessor()),
        data.n_dances,
        config.coascent,
    )
    if until != "pretrain":
        embeddings = {
            name: embed_phrases(network.encoder, phrases, ctx)
            for name, phrases in (("train", data.train), ("test", data.test),
                                  ("unlabeled", data.unlabeled))
        }
        network.predictor = fresh_predictor(preset, data, config.seed).to(ctx.device)
        finetune(network.predictor, embeddings["train"], data.train.labels, config, runner)
        metrics["finetune"] = evaluate_predictor(network.predictor, embeddings["test"], data,
                                                 config)
        if until == "coascent" and config.coascent.epochs > 0 and len(data.unlabeled):
            _, transition = coascent(
                network.predictor, embeddings["train"], data.train.labels,
                embeddings["unlabeled"], data.unlabeled.predecessor(), transition, config,
                runner,
            )
            metrics["coascent"] = evaluate_predictor(network.predictor, embeddings["test"], data,
                                                     config)
    metrics["wall_s"] = round(time.monotonic() - started, 1)
    written = None
    if ctx.is_main:
        write_json_atomic(runner.run_dir / "metrics.json", metrics)
        if bundle_path is not None and until == "coascent":
            written = write_model_bundle(network, preset, transition, library, config, metrics,
                                         bundle_path)
    ctx.barrier()
    return RunResult(network, transition, metrics, written)


def evaluate_predictor(
    predictor: torch.nn.Module,
    test_embeddings: torch.Tensor,
    data: TrainingData,
    config: TrainConfig,
) -> dict[str, dict[str, float]]:
    """Top-k of T on the held-out songs next to chance and the most-frequent baseline."""
    device = next(predictor.parameters()).device
    restrict_candidates(predictor, None)  # the test songs are judged against every phrase
    scores = predict_probabilities(predictor, test_embeddings, device)
    restrict_candidates(predictor, candidate_mask(data))
    return accuracy_report(scores, data.test.labels, data.train.labels, data.n_dances,
                           config.topk)


def write_model_bundle(
    network: RetrievalNetwork,
    preset: Preset,
    transition: np.ndarray,
    library: Library,
    config: TrainConfig,
    metrics: dict[str, Any],
    path: str | os.PathLike[str],
) -> Path:
    """Save E + T + M as a model bundle for ``library`` (decoders left out)."""
    network = network.cpu().eval()
    bundle = make_bundle(
        network, preset, np.asarray(transition, np.float32), library,
        info={"training_config": config.to_dict(), "metrics": metrics},
    )
    return save_bundle(bundle, path)
