"""Training data end to end on a few short demo songs: demo set rules and determinism, the
feature cache (timeline boundaries, resume, memory maps), split by song, and `choreo train`
writing a bundle the engine loads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from choreo_studio.core.cli import main
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.export.timeline import read_timeline
from choreo_studio.core.library.library import DancePhrase, Library
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.skeleton import Skeleton
from choreo_studio.core.retrieval.model_bundle import load_bundle
from choreo_studio.training.config import preset_config
from choreo_studio.training.data_cache import (
    find_labeled_songs,
    find_unlabeled_songs,
    prepare_dataset,
    read_manifest,
    write_manifest,
)
from choreo_studio.training.demo_data import STYLE_AFFINITY, write_demo_set
from choreo_studio.training.pipeline import load_training_data

SHORT = ((("verse", 4), ("chorus", 4)),)  # 8-bar songs: quick to synthesize and analyse
STYLES = ["urban", "jazz", "hip-hop", "popping", "k-pop", "locking", "breaking", "ACGN"]


def make_library(folder: Path) -> Library:
    """48 phrases: every style × energy 1–3 × two nominal tempi, on a two-joint skeleton."""
    skeleton = Skeleton(["Hips", "Spine"], np.array([-1, 0]), np.array([[0, 90, 0], [0, 10, 0]],
                                                                       float))
    phrases = []
    for style in STYLES:
        for energy in (1, 2, 3):
            for j, bpm in enumerate((95.0, 140.0)):
                rotations = np.zeros((16, 2, 4))
                rotations[..., 0] = 1.0
                root = np.c_[np.zeros(16), 90 + np.arange(16) * 0.1 * (j + 1), np.zeros(16)]
                motion = Motion(skeleton, 30.0, rotations, root)
                phrases.append(DancePhrase(f"{style}-{energy}-{j}", f"{style} {energy} {j}",
                                           style, energy, [], 8, bpm, np.arange(8) * 2, motion))
    prior = np.array([[1.0 if a.style == b.style else 0.05 for b in phrases] for a in phrases])
    library = Library("test library", skeleton, phrases, prior)
    library.save(folder)
    return Library.load(folder)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    library = make_library(root / "library")
    labeled, unlabeled = write_demo_set(root / "data", library, n_labeled=3, n_unlabeled=1,
                                        structures=SHORT, song_cache_dir=root / "songs")
    cache = root / "cache"
    entries = prepare_dataset(cache, find_labeled_songs(labeled), find_unlabeled_songs(unlabeled))
    write_manifest(cache, entries, library.name, library.fingerprint)
    return {"root": root, "library": library, "labeled": labeled, "unlabeled": unlabeled,
            "cache": cache}


def _norm(style: str) -> str:
    return re.sub(r"[^a-z0-9]", "", style.lower())


def test_demo_set_follows_the_style_rules_and_is_deterministic(demo, tmp_path):
    library = demo["library"]
    timelines = sorted(demo["labeled"].glob("*.timeline.json"))
    assert len(timelines) == 3 and len(list(demo["unlabeled"].glob("*.wav"))) == 1
    for path in timelines:
        music_style = path.name.split("-")[2]
        allowed = {_norm(s) for s, _ in STYLE_AFFINITY[music_style]}
        timeline = read_timeline(path)  # validates against the shipped schema
        assert timeline.library_fingerprint == library.fingerprint
        for row in timeline.phrases:
            assert _norm(library.phrase(row.dance_id).style) in allowed
    again_l, _ = write_demo_set(tmp_path, library, n_labeled=1, n_unlabeled=0, structures=SHORT)
    first = sorted(again_l.iterdir())
    assert [p.read_bytes() for p in first] == [demo["labeled"].joinpath(p.name).read_bytes()
                                               for p in first]


def test_cache_holds_memory_mapped_phrases_in_song_order(demo):
    manifest = read_manifest(demo["cache"])
    songs = manifest["songs"]
    assert [s["labeled"] for s in songs] == [True] * 3 + [False]
    data = load_training_data(demo["cache"], demo["library"], preset_config("tiny"))
    labeled_songs = data.train.songs + data.test.songs
    assert data.test.songs and data.train.songs
    assert set(data.train.song_hashes).isdisjoint(data.test.song_hashes)
    shard = labeled_songs[0]
    assert isinstance(shard.mel, np.memmap) and shard.mel.dtype == np.float16
    assert shard.mel.shape[1:] == (128, 128) and shard.melody.shape[1:] == (128,)
    assert 0.0 <= float(shard.mel.min()) and float(shard.mel.max()) <= 1.0
    by_hash = {s["song_hash"]: s for s in songs}
    for shard in labeled_songs:
        ids = by_hash[shard.song_hash]["dance_ids"]
        assert [demo["library"].ids[c] for c in shard.labels] == ids
    assert (data.unlabeled.labels == -1).all()
    pairs = data.unlabeled.adjacent_pairs()
    assert all(data.unlabeled.song_of[a] == data.unlabeled.song_of[b] for a, b in pairs)


def test_prepare_resumes_and_uses_the_timelines_boundaries(demo, tmp_path):
    cache = demo["cache"]
    shards = sorted(cache.glob("shards/*/*/meta.json"))
    stamps = [p.stat().st_mtime_ns for p in shards]
    prepare_dataset(cache, find_labeled_songs(demo["labeled"]), [])
    assert [p.stat().st_mtime_ns for p in shards] == stamps  # nothing recomputed
    # a choreographer merged the first two phrases of a song: its features follow the edit
    folder = tmp_path / "edited"
    folder.mkdir()
    source = sorted(demo["labeled"].glob("*.timeline.json"))[0]
    wav = source.with_name(source.name.replace(".timeline.json", ".wav"))
    (folder / wav.name).write_bytes(wav.read_bytes())
    obj = json.loads(source.read_text())
    first, second = obj["phrases"][0], obj["phrases"].pop(1)
    for key in ("end_s", "end_frame", "end_beat"):
        first[key] = second[key]
    first["n_bars"] += second["n_bars"]
    for i, row in enumerate(obj["phrases"]):
        row["index"] = i
    (folder / source.name).write_text(json.dumps(obj))
    entries = prepare_dataset(tmp_path / "cache", find_labeled_songs(folder), [])
    assert entries[0]["n_phrases"] == len(obj["phrases"])
    assert entries[0]["dance_ids"] == [r["dance_id"] for r in obj["phrases"]]


def test_labels_the_library_lacks_are_a_clear_error(demo, tmp_path):
    cache = tmp_path / "cache"
    manifest = read_manifest(demo["cache"])
    for entry in manifest["songs"]:
        if entry["labeled"]:
            entry["dance_ids"][0] = "no-such-dance"
    cache.mkdir()
    (cache / "shards").symlink_to(demo["cache"] / "shards")
    (cache / "dataset.json").write_text(json.dumps(manifest))
    with pytest.raises(ChoreoError, match="no-such-dance"):
        load_training_data(cache, demo["library"], preset_config("tiny"))


def test_timeline_without_its_song_is_a_clear_error(demo, tmp_path):
    source = sorted(demo["labeled"].glob("*.timeline.json"))[0]
    (tmp_path / source.name).write_bytes(source.read_bytes())
    with pytest.raises(ChoreoError, match="no audio file"):
        find_labeled_songs(tmp_path)


def test_choreo_train_writes_a_bundle_the_engine_loads(demo, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "coascent", "--cache", str(demo["cache"]), "--run-dir", str(run),
            "--library", str(demo["root"] / "library"), "--preset", "tiny", "--device", "cpu",
            "--set", "pretrain.epochs=1", "--set", "finetune.epochs=2",
            "--set", "coascent.epochs=2"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "top1" in out and "most_frequent" in out and "chance" in out
    bundle = load_bundle(run / "model.choreomodel")
    bundle.check_library(demo["library"])
    assert bundle.transition.shape == (48, 48)
    assert 0.01 <= bundle.transition.min() and bundle.transition.max() <= 1.0
    assert bundle.info["training_config"]["preset"] == "tiny"
    assert json.loads((run / "config.json").read_text())["pretrain"]["epochs"] == 1
    stages = {line.split(",")[0] for line in (run / "log.csv").read_text().splitlines()[1:]}
    assert stages == {"pretrain", "finetune", "coascent"}
    assert main(["train", "evaluate", "--cache", str(demo["cache"]), "--model",
                 str(run / "model.choreomodel"), "--library", str(demo["root"] / "library"),
                 "--device", "cpu"]) == 0
    assert "top10" in capsys.readouterr().out


def test_choreo_train_user_mistakes_are_one_line(demo, tmp_path, capsys):
    assert main(["train", "finetune", "--cache", str(tmp_path), "--run-dir",
                 str(tmp_path / "r"), "--library", str(demo["root"] / "library")]) == 2
    assert "choreo train prepare" in capsys.readouterr().err
    assert main(["train", "finetune", "--cache", str(demo["cache"]), "--run-dir",
                 str(tmp_path / "r"), "--library", str(demo["root"] / "library"),
                 "--set", "pretrain.epochz=3"]) == 2
    assert "pretrain.epochz" in capsys.readouterr().err


def test_ablation_runs_groups_i_to_v_and_prints_table_1(demo, tmp_path, capsys):
    args = ["train", "ablation", "--cache", str(demo["cache"]), "--run-dir",
            str(tmp_path / "abl"), "--library", str(demo["root"] / "library"), "--preset", "tiny",
            "--device", "cpu",
            "--set", "pretrain.epochs=1", "--set", "finetune.epochs=1",
            "--set", "finetune.end_to_end_epochs=1", "--set", "coascent.epochs=1"]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["Group", "Self-Sup", "Attention", "Balance", "Co-Ascent",
                                "Top1", "Top5", "Top10"]
    assert [line.split()[0] for line in lines[1:6]] == ["I", "II", "III", "IV", "V"]
    assert lines[1].split()[1:5] == ["×", "×", "×", "×"]
    assert lines[5].split()[1:5] == ["✓", "✓", "✓", "✓"]
    assert any("random weights" in line for line in lines)
    saved = json.loads((tmp_path / "abl" / "ablation.json").read_text())
    assert set(saved["groups"]) == {"I", "II", "III", "IV", "V"}
    chance = saved["groups"]["I"]["chance"]["top10"]
    assert chance == pytest.approx(10 / 48)
