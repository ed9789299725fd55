"""Training throughput on this machine: phrases per second for each stage and network preset.

Measures, in one run: a pre-training step (E + D1/D2/D3 forward and backward), encoder
inference (the embedding pass before fine-tuning), a fine-tuning step of T on embeddings,
and reading a micro-batch from memory-mapped float16 shards versus in-memory float32 arrays.
Prints a table; nothing is asserted. Usage: ``python benchmarks/bench_training.py [presets…]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from choreo_studio.core.retrieval.networks import RetrievalNetwork
from choreo_studio.core.retrieval.presets import get_preset
from choreo_studio.training.config import PretrainConfig
from choreo_studio.training.datasets import PhraseSet, SongShard
from choreo_studio.training.distributed import Amp, DistContext
from choreo_studio.training.finetune import classification_losses
from choreo_studio.training.pretrain import PretrainModel, pretrain_losses

K = 240
BATCH = 32


def _rate(fn, n_items: int, repeats: int = 3) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return n_items * repeats / (time.perf_counter() - start)


def bench_preset(name: str) -> dict[str, float]:
    torch.manual_seed(0)
    preset = get_preset(name)
    net = RetrievalNetwork(preset.network, K, with_decoders=True)
    amp = Amp(DistContext(), enabled=False)
    batch = {"mel": torch.rand(BATCH, 128, 128), "melody": torch.rand(BATCH, 128),
             "rhythm": (torch.rand(BATCH, 128) > 0.8).float()}
    model = PretrainModel(net).train()
    opt = torch.optim.Adam(model.parameters(), 1e-4)

    def pretrain_step() -> None:
        pretrain_losses(model, batch, PretrainConfig(), amp)["loss"].backward()
        opt.step()
        opt.zero_grad()

    encoder = net.encoder.eval()

    def embed() -> None:
        with torch.no_grad():
            encoder(batch["mel"])

    predictor = net.predictor.train()
    sgd = torch.optim.SGD(predictor.parameters(), 1e-2, momentum=0.9)
    emb = {"u": torch.randn(256, preset.network.embed_dim), "label": torch.randint(0, K, (256,))}

    def finetune_step() -> None:
        classification_losses(predictor, emb, amp)["loss"].backward()
        sgd.step()
        sgd.zero_grad()

    return {
        "pretrain phrases/s": _rate(pretrain_step, BATCH),
        "embed phrases/s": _rate(embed, BATCH),
        "finetune phrases/s": _rate(finetune_step, 256, repeats=20),
    }


def bench_reading() -> dict[str, float]:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        shards_mem, shards_map = [], []
        for s in range(40):
            arrays = {k: rng.random(shape, dtype=np.float32)
                      for k, shape in (("mel", (8, 128, 128)), ("melody", (8, 128)),
                                       ("rhythm", (8, 128)))}
            maps = {}
            for k, a in arrays.items():
                path = Path(tmp) / f"{s}-{k}.npy"
                np.save(path, a.astype(np.float16))
                maps[k] = np.load(path, mmap_mode="r")
            labels = np.zeros(8, np.int64)
            shards_mem.append(SongShard(str(s), str(s), arrays["mel"], arrays["melody"],
                                        arrays["rhythm"], labels))
            shards_map.append(SongShard(str(s), str(s), maps["mel"], maps["melody"],
                                        maps["rhythm"], labels))
        mem, mapped = PhraseSet(shards_mem), PhraseSet(shards_map)
        idx = rng.permutation(len(mem))[:BATCH]
        return {
            "gather in-memory phrases/s": _rate(lambda: mem.gather(idx), BATCH, 20),
            "gather memmap fp16 phrases/s": _rate(lambda: mapped.gather(idx), BATCH, 20),
        }


def main(presets: list[str]) -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}, K {K}")
    for name in presets:
        for key, value in bench_preset(name).items():
            print(f"{name:6} {key:28} {value:10.1f}")
    for key, value in bench_reading().items():
        print(f"{'data':6} {key:28} {value:10.1f}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["tiny", "small"])
