"""Per-dance clips and timeline format 2: each used dance as its own animation at the library's
tempo, the arrangement's plays (in-point, rate, warp map, blends, mirror) landing counts on
beats, sections/files/clips in the timeline, version-1 migration, and `choreo export-clips`."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from choreo_studio.core.choreography.placements import Choreography, Placement
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.export.clips import ClipFiles, clip_loops, clip_names, clip_writers
from choreo_studio.core.export.files import write_exports
from choreo_studio.core.export.timeline import (
    migrate_timeline,
    read_timeline,
    timeline_to_dict,
    validate_timeline,
)
from choreo_studio.core.motion.bvh import read_bvh
from choreo_studio.core.motion.gltf_read import read_gltf_clips
from engine_synthetic import click_song, library
from gltf_fk import parse_glb


@pytest.fixture(scope="module")
def arranged():
    analysis, phrases = click_song([2, 4, 2])
    analysis.sections = []
    lib = library(3)
    choreo = Choreography([Placement(0, "d1", blend_s=0.3),
                           Placement(1, "d0", mirror=True, beats_per_count=2.0),
                           Placement(2, "d1", blend_s=0.5)])
    return analysis, phrases, lib, choreo


def test_plays_land_every_count_on_its_beat(arranged):
    analysis, phrases, lib, choreo = arranged
    doc = timeline_to_dict(choreo, analysis, phrases, lib)
    validate_timeline(doc)
    rows = doc["phrases"]
    assert [r["clip"] for r in rows] == ["d1", "d0", "d1"]
    dance = lib.phrase("d0")
    (play,) = rows[1]["plays"]  # 16 beats at 2 beats per count = the dance's 8 counts once
    counts = list(dance.count_times_s) + [dance.duration_s]
    beats = analysis.beats_s[phrases[1].start_beat:phrases[1].end_beat:2]
    np.testing.assert_allclose([k[0] for k in play["warp"]][:8], beats, atol=1e-6)
    np.testing.assert_allclose([k[1] for k in play["warp"]], counts, atol=1e-6)
    assert play["clip_in_s"] == 0.0 and play["mirror"] is True
    # 8 counts of a 100 BPM dance over 16 beats of a ~120 BPM song: rate ~ 0.6
    assert play["play_rate"] == pytest.approx(0.6, rel=0.03)
    first = rows[0]["plays"]
    assert len(first) == 1 and first[0]["play_rate"] == pytest.approx(1.2, rel=0.03)
    assert [(r["blend_in_s"], r["blend_out_s"]) for r in rows] == [(0.0, 0.25), (0.25, 0.5),
                                                                   (0.5, 0.0)]
    assert rows[0]["style"] == "urban" and rows[0]["energy"] == 2 and rows[0]["tags"] == []


def test_timeline_lists_clips_sections_beat_grid_and_files(arranged):
    analysis, phrases, lib, choreo = arranged
    analysis.tempo_map = np.array([[0.5, 120.0], [6.0, 118.0]])
    try:
        doc = timeline_to_dict(choreo, analysis, phrases, lib, files={"glb": "dance.glb"},
                               clip_files=ClipFiles(glb="each", unit="m"))
    finally:
        del analysis.tempo_map
    assert [c["name"] for c in doc["clips"]] == ["d1", "d0"]
    clip = doc["clips"][1]
    assert clip["n_frames"] == lib.phrase("d0").motion.n_frames and clip["fps"] == 30.0
    assert clip["files"] == {"glb": "clip-d0.glb", "glb_animation": "d0", "bvh": "clip-d0.bvh",
                             "bvh_unit": "m"}
    assert doc["files"] == {"arrangement": {"glb": "dance.glb", "glb_animation": "arrangement"},
                            "clips": {"glb": None, "bvh_unit": "m"}}
    assert doc["song"]["tempo_map"] == [{"start_s": 0.5, "bpm": 120.0},
                                        {"start_s": 6.0, "bpm": 118.0}]
    assert doc["song"]["downbeats_s"][1] == pytest.approx(analysis.beats_s[4], abs=1e-6)
    assert [(s["label"], s["start_s"], s["end_s"]) for s in doc["sections"]] == [
        ("A", phrases[0].start_s, phrases[2].end_s)]


def test_version_1_timeline_is_migrated(arranged, tmp_path):
    analysis, phrases, lib, choreo = arranged
    doc = timeline_to_dict(choreo, analysis, phrases, lib)
    v1 = {k: v for k, v in doc.items() if k not in ("sections", "files", "clips")}
    v1["format_version"] = 1
    v1["phrases"] = [{k: v for k, v in r.items() if k not in (
        "clip", "style", "energy", "tags", "plays", "blend_in_s", "blend_out_s")}
        for r in doc["phrases"]]
    migrated = migrate_timeline(v1)
    assert migrated["format_version"] == 2 and migrated["clips"] == []
    path = tmp_path / "old.json"
    path.write_text(json.dumps(v1))
    timeline = read_timeline(path)
    assert timeline.choreography.dance_ids == ["d1", "d0", "d1"]
    assert timeline.sections == [(phrases[0].start_s, phrases[2].end_s, "A")]
    path.write_text(json.dumps(dict(v1, format_version=3)))
    with pytest.raises(ChoreoError, match="reads 1, 2"):
        read_timeline(path)


def test_clip_names_are_engine_safe_and_unique():
    names = clip_names(["urban/take 1:003", "urban_take_1_003", "[x]"])
    assert names == {"urban/take 1:003": "urban_take_1_003",
                     "urban_take_1_003": "urban_take_1_003-2", "[x]": "x"}


def test_clip_loops_only_when_the_pose_returns():
    lib = library(1)
    motion = lib.phrases[0].motion  # the arm swings up on count 1 and back on count 2 ...
    assert clip_loops(motion.trim(0, 2 * 18)) is True  # two counts: back where it began
    assert clip_loops(motion.trim(0, 18)) is False  # one count: the arm is up


def test_clip_files_reimport_with_names_and_frame_counts(arranged, tmp_path):
    analysis, phrases, lib, choreo = arranged
    song = SimpleNamespace(analysis=analysis, phrases=phrases)
    files = write_exports(song, choreo, None, lib, tmp_path, kinds=("timeline",), fps=30.0,
                          clips=ClipFiles(glb="both", unit="m"))
    assert {p.name for p in files.values()} == {
        "timeline.json", "clips.glb", "clip-d0.glb", "clip-d1.glb", "clip-d0.bvh",
        "clip-d1.bvh"}
    clips = read_gltf_clips(tmp_path / "clips.glb")
    assert [c.name for c in clips] == ["d1", "d0"]
    for clip in clips:
        dance = lib.phrase(clip.name)
        assert clip.motion.n_frames == dance.motion.n_frames
        np.testing.assert_allclose(clip.motion.fk(), dance.motion.aligned().fk(), atol=1e-3)
        bvh = read_bvh(tmp_path / f"clip-{clip.name}.bvh", unit="m")
        assert bvh.n_frames == dance.motion.n_frames and bvh.fps == 30.0
    doc, _ = parse_glb((tmp_path / "clip-d0.glb").read_bytes())
    assert [a["name"] for a in doc["animations"]] == ["d0"]
    timeline = json.loads((tmp_path / "timeline.json").read_text())
    assert {c["files"]["glb"] for c in timeline["clips"]} == {"clip-d0.glb", "clip-d1.glb"}
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest["files"]) == {p.name for p in files.values()}


def test_clip_writers_skip_what_is_not_asked(arranged):
    _, _, lib, _ = arranged
    assert set(clip_writers(lib, ["d0"], ClipFiles(glb=None, bvh=True))) == {"clip-d0.bvh"}
    assert set(clip_writers(lib, ["d0"], ClipFiles(glb="one", bvh=False))) == {"clips.glb"}


@pytest.fixture(scope="module")
def short_song(tmp_path_factory):
    """A short demo song analysed into a private cache and a small demo library on disk."""
    from choreo_studio.resources.demo_library.generate import build_demo_library
    from choreo_studio.resources.demo_song import DemoSongSpec, render_demo_song

    root = tmp_path_factory.mktemp("clips")
    patch = pytest.MonkeyPatch()
    patch.setenv("CHOREO_CACHE_DIR", str(root / "cache"))
    song = render_demo_song(DemoSongSpec(tempo_bpm=124.0, seed=3,
                                         structure=(("verse", 2), ("chorus", 2))))
    wav = song.write_wav(root / "short.wav")
    lib_dir = build_demo_library(phrases_per_level=1, styles=["hip-hop", "jazz"]).save(
        root / "lib")
    yield root, wav, lib_dir
    patch.undo()


def test_cli_export_clips_writes_clips_and_their_timeline(short_song, capsys):
    from choreo_studio.core.cli import main

    root, wav, lib_dir = short_song
    out = root / "out"
    assert main(["export-clips", str(wav), "--library", str(lib_dir), "--no-model", "-o",
                 str(out), "--unit", "m"]) == 0
    timeline = json.loads((out / "timeline.json").read_text())
    assert timeline["format_version"] == 2
    names = [c["name"] for c in timeline["clips"]]
    assert sorted(c.name for c in read_gltf_clips(out / "clips.glb")) == sorted(names)
    for clip in timeline["clips"]:
        assert read_bvh(out / clip["files"]["bvh"], unit="m").n_frames == clip["n_frames"]
    used = {r["clip"] for r in timeline["phrases"]}
    assert used == set(names) and all(r["plays"] for r in timeline["phrases"])
    assert not (out / "dance.glb").exists()  # the arrangement only with --arrangement
    assert "wrote clip" in capsys.readouterr().out
    read_timeline(out / "timeline.json")


def test_cli_fbx_without_blender_is_one_line(short_song, monkeypatch, capsys):
    from choreo_studio.core.cli import main

    root, wav, lib_dir = short_song
    monkeypatch.setenv("CHOREO_BLENDER_PYTHON", str(root / "no-python"))
    assert main(["export-clips", str(wav), "--library", str(lib_dir), "-o", str(root / "f"),
                 "--fbx"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'choreo-studio[fbx]'" in err[0]


def test_fbx_clips_are_named_in_the_timeline(arranged):
    analysis, phrases, lib, choreo = arranged
    doc = timeline_to_dict(choreo, analysis, phrases, lib, clip_files=ClipFiles(fbx=True))
    validate_timeline(doc)
    assert doc["files"]["clips"]["fbx"] == "clips.fbx"
    assert doc["clips"][0]["files"]["fbx_take"] == "Skeleton|d1"
    with pytest.raises(ValueError, match="layout"):
        ClipFiles(glb="many")
