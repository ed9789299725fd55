"""Real-data training on synthetic known answers: pairs aligned on drifting beats, the
protocol's own-dance removal and song split, and co-ascent adding correct pseudo-labels."""

from __future__ import annotations

import json

import numpy as np
import torch
from choreo_studio.training.crossval import RealData, fold_data
from choreo_studio.training.datasets import SongShard
from choreo_studio.training.evaluate import (
    cluster_bootstrap,
    genre_chance,
    genre_precision,
    own_dance_mask,
    protocol_report,
    song_folds,
)
from choreo_studio.training.real_pairs import PhrasePair, is_octave_error, pair_phrases

DRIFT = 1.0125


def _tang_take_on_drifting_clock(root, tmp_path):
    """A waltz whose motion clock runs 1.25 % fast against its song (span = 1.0125 x length)."""
    import soundfile as sf

    from tests.audio_fixtures import click_track
    from tests.test_library_import import _stepping_on, _tang_points

    samples, clicks, _ = click_track(90.0, beats_per_bar=3, n_bars=16, lead_in_s=1.0)
    fps, start, n = 25.0, 25, 620
    beats_motion_s = (clicks - start / fps) / DRIFT
    beats_motion_s = beats_motion_s[(beats_motion_s >= 0) & (beats_motion_s < n / fps)]
    points = _tang_points(_stepping_on(beats_motion_s, n, fps))
    folder = root / "DANCE_W_1"
    folder.mkdir(parents=True)
    centre = points[:, 2]
    (folder / "skeletons.json").write_text(json.dumps({
        "length": n, "center": centre.round(2).tolist(),
        "skeletons": (points - centre[:, None]).round(2).tolist()}))
    (folder / "config.json").write_text(json.dumps({
        "start_position": start, "end_position": start + int(round(n * DRIFT))}))
    sf.write(folder / "audio.ogg", samples, 22050)
    return clicks, fps, start


def test_pairs_land_on_music_beats_that_drift_by_1_25_percent(tmp_path, monkeypatch):
    monkeypatch.setenv("CHOREO_CACHE_DIR", str(tmp_path / "cache"))
    from choreo_studio.core.library.importing import import_library
    from choreo_studio.training.real_pairs import danced_songs

    clicks, fps, start = _tang_take_on_drifting_clock(tmp_path / "tang", tmp_path)
    library, _ = import_library(tmp_path / "tang")
    (song,) = danced_songs(tmp_path / "tang", library)
    assert song.take == "DANCE_W_1" and song.style == "waltz" and len(song.pairs) >= 4
    counts = np.concatenate([p.counts_s for p in song.pairs])
    nearest = np.min(np.abs(counts[:, None] - clicks[None, :]), axis=1)
    assert np.median(nearest) <= 1.0 / fps and nearest.max() <= 2.0 / fps
    # the frame index alone (song = start + frame / fps) misses the late beats by > 0.1 s
    naive = np.concatenate([(p.source["start_frame"] + p.count_frames) / fps + start / fps
                            for p in library.phrases])
    naive_err = np.min(np.abs(naive[:, None] - clicks[None, :]), axis=1)
    assert naive_err.max() > 0.1
    phrases, residuals = pair_phrases(song.pairs, clicks, float(clicks[-1] + 1))
    assert max(residuals) <= 2.0 / fps
    for phrase, pair in zip(phrases, song.pairs, strict=True):
        assert phrase.n_beats == len(pair.counts_s) == 6
        assert abs(phrase.start_s - pair.counts_s[0]) <= 2.0 / fps
    assert abs(song.dance_bpm - 90.0) < 2.0 and not is_octave_error(90.0, song.dance_bpm)
    assert is_octave_error(180.0, song.dance_bpm)


def test_pair_spans_snap_to_the_nearest_analysed_beats():
    beats = np.arange(0, 20, 0.5)
    pair = PhrasePair("d#01", np.array([2.02, 2.49, 3.01, 3.52]), 4.03)
    (phrase,), (residual,) = pair_phrases([pair], beats, 20.0)
    assert (phrase.start_beat, phrase.end_beat) == (4, 8) and residual < 0.03


def _library_of(groups, styles):
    return np.array(groups), np.array(styles)


def test_genre_judging_removes_the_test_songs_own_dance():
    lib_groups, lib_styles = _library_of(["A", "A", "B", "C", "C", "C"],
                                         ["waltz", "waltz", "waltz", "rumba", "rumba", "rumba"])
    # a test phrase of song A: its own phrases score highest, then the rumbas, then B
    scores = np.array([[9.0, 8.0, 1.0, 5.0, 4.0, 3.0]])
    exclude = own_dance_mask(["A"], lib_groups)
    assert exclude.tolist() == [[True, True, False, False, False, False]]
    with_own = genre_precision(scores, np.zeros_like(exclude), lib_styles, ["waltz"], (1, 2))
    judged = genre_precision(scores, exclude, lib_styles, ["waltz"], (1, 2, 4))
    assert with_own[0].tolist() == [1.0, 1.0]
    assert judged[0].tolist() == [0.0, 0.0, 0.25]  # rumbas first, B only fourth
    assert genre_chance(exclude, lib_styles, ["waltz"]).tolist() == [0.25]
    report = protocol_report({"m": scores}, np.array([0]), ["A"], ["waltz"], lib_styles,
                             lib_groups, np.array([False]), (1,), n_boot=20)
    m = report["methods"]["m"]["all"]
    assert m["genre_balanced"]["top1"][0] == 0.0 and m["own_recall"]["top1"][0] == 1.0
    assert report["methods"]["chance"]["all"]["genre_balanced"]["top1"][0] == 0.25


def test_genres_of_one_dance_are_reported_apart_from_balanced_accuracy():
    lib_groups = np.array(["A", "B", "T"])
    lib_styles = np.array(["waltz", "waltz", "tango"])
    scores = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 2.0], [0.0, 1.0, 2.0]])
    report = protocol_report({"m": scores}, np.array([0, 1, 2]), ["A", "B", "T"],
                             ["waltz", "waltz", "tango"], lib_styles, lib_groups,
                             np.zeros(3, bool), (1,), n_boot=20)
    assert report["genres"] == ["waltz"] and report["apart"] == ["tango"]
    m = report["methods"]["m"]["all"]
    assert m["genre_balanced"]["top1"][0] == 0.0  # both waltzes retrieve the tango first
    assert m["per_genre"]["tango"]["top1"] == 0.0  # its only other phrases are waltzes


def _shard(name, n, label0):
    z = np.zeros((n, 2, 2), np.float32)
    return SongShard(name, f"h-{name}", z, z[:, 0], z[:, 0], np.arange(label0, label0 + n))


def test_split_never_leaks_a_test_song_into_training():
    names = [f"S{i}" for i in range(7)]
    styles = ["waltz"] * 4 + ["rumba"] * 3
    songs = [_shard(n, 3, 3 * i) for i, n in enumerate(names)]
    entries = [{"group": n, "style": s} for n, s in zip(names, styles, strict=True)]
    unlabeled = [_shard(f"{n}:undanced", 2, 0) for n in names] + [_shard("game", 4, 0)]
    real = RealData(songs, entries, [np.zeros((3, 21))] * 7, unlabeled, names + [None], 21)
    for n_folds in (None, 3):
        folds = song_folds(real.groups, real.styles, n_folds)
        assert sorted(np.concatenate(folds).tolist()) == list(range(7))
        for test in folds:
            data = fold_data(real, test)
            test_names = {s.name for s in data.test.songs}
            train_names = {s.name for s in data.train.songs}
            assert test_names == {names[i] for i in test} and not test_names & train_names
            assert not {s.name for s in data.unlabeled.songs} & {f"{n}:undanced"
                                                                  for n in test_names}
            assert "game" in {s.name for s in data.unlabeled.songs}
            assert not set(data.test.labels) & set(data.train.labels)
    three = song_folds(real.groups, real.styles, 3)
    assert all({styles[i] for i in f} == {"waltz", "rumba"} for f in three[:2])


def test_cluster_bootstrap_moves_a_songs_phrases_together():
    values = np.array([[1.0]] * 5 + [[0.0]] * 5)
    songs = np.array(["a"] * 5 + ["b"] * 5)
    lo, hi = cluster_bootstrap(values, songs, np.array(["w"] * 10), ["w"], n_boot=200)
    assert lo[0] == 0.0 and hi[0] == 1.0  # two songs: a resample is all a, all b or both
    same = cluster_bootstrap(values, np.array([f"s{i}" for i in range(10)]),
                             np.array(["w"] * 10), ["w"], n_boot=200)
    assert 0.1 < same[0][0] < 0.5 < same[1][0] < 0.9


def test_coascent_adds_correct_pseudo_labels_on_a_toy_task(tmp_path):
    from choreo_studio.core.retrieval.networks import Predictor
    from choreo_studio.core.retrieval.presets import get_preset
    from choreo_studio.training.coascent import coascent, initial_transition, labeled_transitions
    from choreo_studio.training.config import preset_config
    from choreo_studio.training.distributed import DistContext
    from choreo_studio.training.finetune import finetune
    from choreo_studio.training.loop import StageRunner, seed_everything

    k = 4
    seed_everything(0)
    centres = torch.nn.functional.one_hot(torch.arange(k), 128).float() * 3
    labels = np.arange(8) % k  # two labelled phrases per class
    labeled = centres[labels] + torch.randn(8, 128) * 0.3
    truth = np.arange(60) % k  # unlabelled songs run 0,1,2,3,0,1,... (a learnable M)
    unlabeled = centres[truth] + torch.randn(60, 128) * 0.3
    predecessor = np.arange(60) - 1
    predecessor[::10] = -1
    config = preset_config("tiny").with_overrides(
        {"finetune.epochs": 40, "finetune.lr": 0.05, "finetune.batch_size": 4,
         "coascent.epochs": 4,
         "coascent.refresh_epochs": 2, "coascent.lr": 0.01, "coascent.tau": 0.5})
    predictor = Predictor(get_preset("tiny").network, k)
    runner = StageRunner.create(tmp_path, DistContext(), show_bars=False)
    finetune(predictor, labeled, labels, config, runner)
    m0 = initial_transition(None, labeled_transitions(labels, np.arange(8) - 1), k,
                            config.coascent)
    state, _ = coascent(predictor, labeled, labels, unlabeled, predecessor, m0, config, runner)
    pseudo = state.extras["pseudo_labels"].numpy()
    confident = state.extras["pseudo_confidence"].numpy() > config.coascent.tau
    assert confident.sum() >= 30  # co-ascent added many pseudo-labels ...
    assert (pseudo[confident] == truth[confident]).mean() >= 0.95  # ... and they are right
    assert state.history[-1]["pseudo_labeled"] >= 30
