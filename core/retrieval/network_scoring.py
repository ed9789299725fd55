"""The trained scorer: E + T of a model bundle give P(d | u_t) for every phrase, in batches."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.progress import ProgressFn
from choreo_studio.core.retrieval.model_bundle import ModelBundle
from choreo_studio.core.retrieval.networks import DANCE_CUES
from choreo_studio.core.retrieval.scoring import Scorer, calibrate, calibration_temperature

if TYPE_CHECKING:
    from choreo_studio.core.library.library import Library
    from choreo_studio.core.phrases.song import Song

BATCH_SIZE = 32
MOTION_DESCRIPTORS = ("speed_cm_s", "extent_cm", "strength_m_s2", "level_range_cm", "travel_cm",
                      "turn_deg", "beats_per_s", "beats_per_count")
"""The motion descriptors (``motion.motion_descriptors.describe``) a dance head reads."""


def dance_inputs(library: Library) -> np.ndarray:
    """The dance head's x_k [K, F]: style one-hot, then counts per phrase, log2 tempo, energy
    and the log1p motion descriptors, each standardised over the library (a phrase's own
    values only, so a new library gives its phrases' inputs without training)."""
    styles = library.styles
    onehot = np.array([[p.style == s for s in styles] for p in library.phrases], np.float64)
    numeric = np.array([[p.n_counts, np.log2(max(p.bpm, 1.0)), p.energy]
                        + [np.log1p(max(float(p.descriptors.get(k, 0.0)), 0.0))
                           for k in MOTION_DESCRIPTORS] for p in library.phrases], np.float64)
    spread = numeric.std(axis=0)
    numeric = (numeric - numeric.mean(axis=0)) / np.where(spread > 1e-9, spread, 1.0)
    return np.concatenate([onehot, numeric], axis=1).astype(np.float32)


def dance_cues(library: Library) -> np.ndarray:
    """:class:`networks.PairCues`' dance side [K, len(DANCE_CUES)]: the matcher's dance
    descriptors, the counts, the count rate in the phrase's own song (its bpm over the take's
    time-map scale; the bpm itself without a time map) and its index and fraction inside its
    take (by start frame; 0 and 0 for a phrase of no take)."""
    from choreo_studio.core.retrieval.scoring import dance_descriptors

    out = np.zeros((len(library), len(DANCE_CUES)))
    out[:, :5] = dance_descriptors(library)
    takes: dict[str, list[tuple[int, int]]] = {}
    for k, p in enumerate(library.phrases):
        tm = p.source.get("time_map")
        scale = float(tm.get("scale", 1.0)) if isinstance(tm, dict) else 1.0
        out[k, 5:7] = max(int(p.n_counts), 1), float(p.bpm) / (scale if scale > 0 else 1.0)
        if "take" in p.source:
            takes.setdefault(str(p.source["take"]), []).append(
                (int(p.source.get("start_frame", 0)), k))
    for members in takes.values():
        for i, (_, k) in enumerate(sorted(members)):
            out[k, 7:] = i, i / max(len(members) - 1, 1)
    return out.astype(np.float32)


class NetworkScorer(Scorer):
    """P(d | u_t) = softmax(T(E(mel_t)) / τ) with the bundle's learned transition matrix M
    (τ: the bundle's calibration temperature, ``scoring.calibration_temperature``)."""

    def __init__(self, bundle: ModelBundle, library: Library) -> None:
        super().__init__()
        bundle.check_library(library)
        self.bundle = bundle
        self.name = bundle.name
        self.transition = bundle.transition
        self.network = bundle.build_network()
        self.temperature = calibration_temperature(bundle.info)

    def _music(self, song: Song) -> np.ndarray | None:
        """The music-side inputs a dance-head T reads (None for the paper's T)."""
        head = self.bundle.head
        if head is None:
            return None
        from choreo_studio.core.retrieval.music_inputs import music_inputs

        music = music_inputs(song)
        if music.shape[1] != head.n_music:
            raise ChoreoError(f"{self.bundle.path or self.name}: the model reads {head.n_music} "
                              f"music inputs per phrase, this version makes {music.shape[1]} — "
                              "retrain the model with this version (choreo train)")
        return music

    @torch.no_grad()
    def _compute(self, song: Song, progress: ProgressFn) -> np.ndarray:
        mel = song.features.mel
        music = self._music(song)
        out = np.zeros((mel.shape[0], self.bundle.n_dances), dtype=np.float32)
        for start in range(0, mel.shape[0], BATCH_SIZE):
            progress(start / max(mel.shape[0], 1), f"{self.name}: scoring phrases")
            batch = torch.from_numpy(np.ascontiguousarray(mel[start : start + BATCH_SIZE]))
            extra = (None if music is None
                     else torch.from_numpy(music[start : start + BATCH_SIZE]))
            out[start : start + BATCH_SIZE] = self.network(batch.float(), extra).numpy()
        if not np.isfinite(out).all():
            raise ChoreoError(f"{self.bundle.path or self.name}: the model gives NaN or infinite "
                              "scores (overflowing weights) — retrain it, or run without it "
                              "(--no-model)")
        progress(1.0, f"{self.name}: scored")
        return calibrate(out, self.temperature)
