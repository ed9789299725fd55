"""End to end: `choreo auto` on a short demo song writes valid files and prints the scorer,
the phrase table and the metrics; `choreo eval` reads them back; mismatches are one line."""

import json

import numpy as np
import pytest
import torch
from choreo_studio.core.cli import main
from choreo_studio.core.export.timeline import read_timeline
from choreo_studio.core.library.library import Library
from choreo_studio.core.phrases.song import open_song
from choreo_studio.core.retrieval.model_bundle import make_bundle, save_bundle
from choreo_studio.core.retrieval.networks import RetrievalNetwork
from choreo_studio.core.retrieval.presets import get_preset
from choreo_studio.resources.demo_library.generate import build_demo_library
from choreo_studio.resources.demo_song import DemoSongSpec, render_demo_song

SHORT = (("verse", 4), ("chorus", 4), ("verse", 4), ("chorus", 4))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A short demo song analysed once into a private cache, and a small demo library."""
    root = tmp_path_factory.mktemp("auto")
    patch = pytest.MonkeyPatch()
    patch.setenv("CHOREO_CACHE_DIR", str(root / "cache"))
    song = render_demo_song(DemoSongSpec(tempo_bpm=124.0, structure=SHORT, seed=3))
    wav = song.write_wav(root / "short.wav")
    open_song(wav)
    library = build_demo_library(phrases_per_level=1, styles=["hip-hop", "urban", "jazz"])
    lib_dir = library.save(root / "lib")
    yield root, wav, Library.load(lib_dir), lib_dir
    patch.undo()


def test_auto_then_eval(setup, capsys):
    root, wav, library, lib_dir = setup
    out = root / "out"
    assert main(["auto", str(wav), "--library", str(lib_dir), "-o", str(out),
                 "--fps", "60"]) == 0
    printed = capsys.readouterr().out
    assert "scorer: descriptor matcher" in printed and "decoder: viterbi" in printed
    assert "beat hit rate" in printed and "beat align score" in printed
    timeline = read_timeline(out / "timeline.json")
    assert timeline.library_fingerprint == library.fingerprint and timeline.fps == 60
    assert len(timeline.phrases) >= 4
    assert all(p.dance_name in printed for p in timeline.phrases)
    ids = [p.dance_id for p in timeline.phrases]
    assert all(a != b for a, b in zip(ids, ids[1:], strict=False))  # no back-to-back repeats
    assert (out / "dance.glb").read_bytes()[:4] == b"glTF"
    assert (out / "dance.bvh").read_text().startswith("HIERARCHY")
    assert len((out / "timeline.csv").read_text().splitlines()) == len(ids) + 1
    assert main(["eval", str(wav), str(out / "timeline.json"), "--library", str(lib_dir),
                 "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert 0.0 <= metrics["beat_hit_rate"] <= 1.0 and metrics["distinct_dances"] >= 2


def test_auto_uses_a_model_bundle_and_ties_sections(setup, capsys):
    root, wav, library, lib_dir = setup
    preset = get_preset("tiny")
    torch.manual_seed(0)
    net = RetrievalNetwork(preset.network, len(library))
    model = save_bundle(make_bundle(net, preset, library.transition_prior, library),
                        root / "m.choreomodel")
    out = root / "out_model"
    assert main(["auto", str(wav), "--library", str(lib_dir), "--model", str(model),
                 "-o", str(out), "--tie-sections", "--decoder", "viterbi"]) == 0
    printed = capsys.readouterr().out
    assert "scorer: model m (tiny)" in printed
    timeline = read_timeline(out / "timeline.json")
    assert timeline.choreography.scorer == "model m (tiny)"
    labels = [p.section_label for p in timeline.phrases]
    from choreo_studio.core.retrieval.decoding import section_ties
    for group in section_ties(labels):
        assert len({timeline.phrases[t].dance_id for t in group}) == 1


def test_auto_without_a_song_uses_the_demo_song_and_eval_reads_it(setup, capsys, monkeypatch):
    root, _, _, lib_dir = setup
    import choreo_studio.resources.demo_song as demo_song

    short = render_demo_song(DemoSongSpec(tempo_bpm=124.0, structure=SHORT, seed=3))
    monkeypatch.setattr(demo_song, "render_demo_song", lambda spec=None: short)
    out = root / "demo_out"
    assert main(["auto", "--library", str(lib_dir), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote song     {out / 'song.wav'}" in printed
    auto_metrics = [line for line in printed.splitlines() if line.startswith("beat hit rate")]
    assert main(["eval", str(out / "song.wav"), str(out / "timeline.json"),
                 "--library", str(lib_dir)]) == 0
    assert auto_metrics[0] in capsys.readouterr().out  # same fps, same numbers


def test_mismatches_are_one_line_errors(setup, tmp_path, capsys):
    root, wav, library, lib_dir = setup
    other = build_demo_library(phrases_per_level=1, styles=["popping"]).save(tmp_path / "o")
    out = root / "out"
    if not (out / "timeline.json").exists():
        main(["auto", str(wav), "--library", str(lib_dir), "-o", str(out)])
    capsys.readouterr()
    code = main(["eval", str(wav), str(out / "timeline.json"), "--library", str(other),
                 ])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "made with library" in err and "\n" not in err
    preset = get_preset("tiny")
    model = save_bundle(make_bundle(RetrievalNetwork(preset.network, len(library)), preset,
                                    np.ones((len(library),) * 2), library), tmp_path / "m")
    code = main(["auto", str(wav), "--library", str(other), "--model", str(model),
                 "-o", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "trained for library" in err and "\n" not in err
