"""The one session model without Qt: open, swap, lock, re-solve, vary, ties, boundary edits,
tempo, save/restore and export, as the editor's commands and `choreo auto` drive it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from choreo_studio.core.choreography.engine import load_engine
from choreo_studio.core.choreography.placements import ScoreParts
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.export.output_set import MANIFEST, write_output_set
from choreo_studio.core.export.timeline import read_timeline
from choreo_studio.core.phrases.song import open_song
from choreo_studio.core.project import session
from choreo_studio.core.project.project_file import read_project, save_project
from choreo_studio.resources.demo_song import DemoSongSpec, render_demo_song

from tests import engine_synthetic

SHORT_SONG = DemoSongSpec(
    tempo_bpm=132.0,
    structure=(("intro", 2), ("verse", 4), ("chorus", 4), ("verse", 4), ("chorus", 4)),
    seed=3,
)


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    """A short demo song (analysed once into a private cache) and a 12-dance library."""
    root = tmp_path_factory.mktemp("session")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHOREO_CACHE_DIR", str(root / "cache"))
        path = render_demo_song(SHORT_SONG).write_wav(root / "short song.wav")
        engine_synthetic.library(k=12).save(root / "library")
        open_song(path)  # fills the analysis cache the tests then read
    return {"song": path, "library": root / "library", "cache": root / "cache"}


@pytest.fixture(autouse=True)
def _cache(monkeypatch, assets):
    monkeypatch.setenv("CHOREO_CACHE_DIR", str(assets["cache"]))


@pytest.fixture()
def engine(assets):
    return load_engine(str(assets["library"]))


@pytest.fixture()
def opened(engine, assets):
    return session.start(engine, open_song(assets["song"]))


def test_start_decodes_every_phrase_and_parts_come_from_the_model(engine, opened):
    chor = opened.choreography
    assert len(chor) == len(opened.phrases) >= 4
    assert chor.scorer == "descriptor matcher" and chor.decoder == "viterbi"
    parts = session.score_parts(engine, opened)
    m, lib = engine.transition, engine.library
    idx = [lib.index_of(p.dance_id) for p in chor]
    for t, part in enumerate(parts):
        assert part.music_fit == pytest.approx(float(opened.scores[t, idx[t]]))
        assert part.transition_in == (None if t == 0 else pytest.approx(float(m[idx[t - 1],
                                                                                  idx[t]])))
    assert parts[-1].transition_out is None


def test_swap_changes_the_neighbours_parts_without_touching_placements(engine, opened):
    other = next(d.id for d in engine.library.phrases if d.id != opened.choreography[1].dance_id)
    after = session.swap(opened, 1, other)
    assert after[1].dance_id == other and after[0] == opened.choreography[0]
    parts = session.score_parts(engine, opened.with_choreography(after))
    lib = engine.library
    assert parts[2].transition_in == pytest.approx(
        float(engine.transition[lib.index_of(other), lib.index_of(after[2].dance_id)]))


def test_vary_keeps_mirror_blend_and_locks_and_is_labelled_like_the_cli(engine, opened):
    """Regression: the editor's vary dropped an unlocked phrase's mirror and said "vary"."""
    chor = opened.choreography
    locked = chor[0].with_changes(locked=True)
    mirrored = chor[1].with_changes(mirror=True, blend_s=0.6, beats_per_count=2.0)
    state = opened.with_choreography(chor.with_placement(locked).with_placement(mirrored))
    results = [session.solve(engine, state, temperature=3.0, seed=s) for s in range(6)]
    assert len({tuple(r.dance_ids) for r in results}) > 1
    for varied in results:
        assert varied.decoder == "viterbi (vary)"
        assert varied[0] == locked
        assert varied[1].mirror and varied[1].blend_s == 0.6
        assert varied[1].beats_per_count == 2.0
    again = session.solve(engine, state)
    assert again.decoder == "viterbi" and again[1].mirror and again[0] == locked


def test_same_as_section_copies_to_the_unlocked_repeats(engine, opened):
    labels = [p.section_label for p in opened.phrases]
    t = labels.index("B")
    chor = opened.choreography  # the solve may already agree on repeats: make them differ
    other = next(d for d in engine.library.ids if d != chor[t].dance_id)
    for i, label in enumerate(labels):
        if label == "B" and i != t:
            chor = chor.with_placement(chor[i].with_changes(dance_id=other))
    changed_chor, changed = session.same_as_section(opened.with_choreography(chor), t)
    assert changed and all(labels[i] == "B" for i in changed)
    assert all(changed_chor[i].dance_id == changed_chor[t].dance_id for i in changed)


def test_split_and_merge_keep_the_untouched_phrases(engine, opened):
    first = opened.phrases[0]
    inside = float(opened.analysis.beats_s[first.start_beat + first.n_beats // 2])
    chor = opened.choreography.with_placement(opened.choreography[-1].with_changes(
        mirror=True, locked=True))
    state = opened.with_choreography(chor)
    split = session.resegment(engine, state, state.constraints.pin(inside))
    assert len(split.phrases) == len(opened.phrases) + 1
    assert split.choreography[-1] == chor[-1].with_changes(phrase_index=len(split.phrases) - 1)
    assert split.choreography.decoder == "viterbi"
    merged = session.resegment(engine, split, split.constraints.remove(inside))
    assert [p.start_s for p in merged.phrases] == [p.start_s for p in opened.phrases]
    assert merged.choreography[-1].locked and merged.choreography[-1].mirror


def test_retime_re_tracks_the_beats_and_keeps_a_choreography(engine, opened):
    after = session.retime(engine, opened, tempo_bpm=SHORT_SONG.tempo_bpm / 2)
    assert after.analysis.tempo_bpm == pytest.approx(SHORT_SONG.tempo_bpm / 2, rel=0.05)
    assert len(after.choreography) == len(after.phrases)


def test_project_round_trip_restores_without_re_segmenting(engine, opened, assets, tmp_path,
                                                          monkeypatch):
    """Regression: restore re-ran the segmenter under synthetic pins; a placement's
    beats_per_count = 0.5 came back as None."""
    chor = opened.choreography.with_placement(
        opened.choreography[1].with_changes(beats_per_count=0.5, mirror=True, locked=True))
    state = opened.with_choreography(chor)
    path = save_project(session.to_project(engine, state, str(assets["song"]), {"top_k": 5}),
                        tmp_path / "song.choreo")
    project = read_project(path)
    import choreo_studio.core.phrases.segmentation as segmentation
    import choreo_studio.core.phrases.song as song_module

    def no_dp(*_args, **_kwargs):
        raise AssertionError("a restore must not re-run the segmentation")

    monkeypatch.setattr(segmentation, "segment", no_dp)
    monkeypatch.setattr(song_module, "segment", no_dp)
    back, warning = session.restore(engine, project, opened.song.audio)
    assert warning == ""
    assert back.phrases == opened.phrases
    assert back.choreography.placements == chor.placements
    assert back.choreography[1].beats_per_count == 0.5
    np.testing.assert_allclose(back.scores, opened.scores)


def test_restore_refuses_bounds_that_do_not_cover_the_beats(engine, opened, assets):
    project = session.to_project(engine, opened, str(assets["song"]))
    project.phrase_bounds[-1] = (project.phrase_bounds[-1][0], project.phrase_bounds[-1][1] + 7)
    with pytest.raises(ChoreoError, match="do not cover the song"):
        session.restore(engine, project, opened.song.audio)


def test_restore_with_another_library_re_solves_only_the_missing_dances(engine, opened, assets,
                                                                        tmp_path):
    chor = opened.choreography
    project = session.to_project(engine, opened.with_choreography(chor.with_placement(
        chor[1].with_changes(dance_id="gone", mirror=True, locked=True))), str(assets["song"]))
    back, warning = session.restore(engine, project, opened.song.audio)
    assert "missing" in warning
    assert engine.dance(back.choreography[1].dance_id) is not None
    assert back.choreography[1].mirror  # the one carry-over policy: settings stay
    assert not back.choreography[1].locked  # but not a lock on a dance that is gone
    assert [p.dance_id for p in back.choreography][2:] == chor.dance_ids[2:]


def test_export_writes_the_cli_names_as_one_set(engine, opened, tmp_path):
    out = tmp_path / "out"
    files = session.export(engine, opened, out, song_name="short song.wav")
    assert {p.name for p in files.values()} == {"timeline.json", "timeline.csv", "dance.bvh",
                                                "dance.glb"}
    timeline = read_timeline(files["timeline"])
    assert timeline.choreography.placements == opened.choreography.placements
    parts = session.score_parts(engine, opened)
    rows = json.loads(files["timeline"].read_text())["phrases"]
    assert [r["scores"]["music_fit"] for r in rows] == pytest.approx(
        [p.music_fit for p in parts])
    glb = files["glb"].read_bytes()
    assert b'"name":"short song.wav"' in glb or b'"name": "short song.wav"' in glb
    manifest = json.loads((out / MANIFEST).read_text())
    assert set(manifest["files"]) == {p.name for p in files.values()}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.partial-")]
    assert not list(out.glob("*.tmp"))


def test_a_failed_export_leaves_the_previous_set_untouched(tmp_path):
    out = tmp_path / "out"
    write_output_set(out, {"a.txt": lambda p: p.write_text("old a"),
                           "b.txt": lambda p: p.write_text("old b")})

    def broken(path: Path) -> None:
        path.write_text("half")
        raise ChoreoError("disk trouble")

    with pytest.raises(ChoreoError):
        write_output_set(out, {"a.txt": lambda p: p.write_text("new a"), "b.txt": broken})
    assert (out / "a.txt").read_text() == "old a" and (out / "b.txt").read_text() == "old b"
    assert json.loads((out / MANIFEST).read_text())["files"]["a.txt"]["bytes"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


KILLED_EXPORT = """
import sys, time
from pathlib import Path
from choreo_studio.core.export.output_set import write_output_set

def slow(path):
    path.write_text("new b")
    Path(sys.argv[2]).write_text("writing")
    time.sleep(120)

write_output_set(sys.argv[1], {"a.txt": lambda p: p.write_text("new a"), "b.txt": slow})
"""


def test_an_export_killed_while_writing_leaves_the_old_set_and_no_strays(tmp_path):
    out, marker = tmp_path / "out", tmp_path / "marker"
    write_output_set(out, {"a.txt": lambda p: p.write_text("old a"),
                           "b.txt": lambda p: p.write_text("old b")})
    child = subprocess.Popen([sys.executable, "-c", KILLED_EXPORT, str(out), str(marker)])
    try:
        while not marker.exists() and child.poll() is None:
            time.sleep(0.05)  # waiting for the child to reach its second file, not timing it
    finally:
        child.kill()
        child.wait()
    assert marker.exists(), "the child export never reached its second file"
    assert (out / "a.txt").read_text() == "old a" and (out / "b.txt").read_text() == "old b"
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".out.partial-")]
    write_output_set(out, {"a.txt": lambda p: p.write_text("next a")})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["marker", "out"]
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt", MANIFEST]
    assert set(json.loads((out / MANIFEST).read_text())["files"]) == {"a.txt"}


def test_score_parts_multiply_to_the_score():
    assert ScoreParts(0.5, 0.5, None).score == pytest.approx(0.25)
    assert ScoreParts().score is None


def test_an_export_into_a_folder_whose_parent_is_read_only_stages_inside_it(tmp_path,
                                                                            monkeypatch):
    import choreo_studio.core.export.output_set as output_set

    out = tmp_path / "out"
    out.mkdir()
    real_access = os.access
    monkeypatch.setattr(output_set.os, "access",
                        lambda path, mode: Path(path) != tmp_path and real_access(path, mode))
    seen = []
    write_output_set(out, {"a.txt": lambda p: seen.append(p.parent.parent) or p.write_text("a")})
    assert seen == [out]  # the partial folder sat inside the output folder
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", MANIFEST]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def _bounds(seg):
    return [(p.start_beat, p.end_beat) for p in seg.phrases]


def test_split_adds_exactly_one_boundary_at_the_nearest_downbeat(engine, opened):
    a = opened.analysis
    t = max(range(len(opened.phrases)), key=lambda i: opened.phrases[i].n_bars)
    p = opened.phrases[t]
    assert p.n_bars >= 2
    target = next(int(b) for b in a.downbeats if p.start_beat < b < p.end_beat)
    other = (t + 2) % len(opened.phrases)
    chor = opened.choreography.with_placement(opened.choreography[other].with_changes(
        locked=True, dance_id=engine.library.ids[0]))
    state = opened.with_choreography(chor)
    after = session.split(engine, state, float(a.beats_s[target + 1]) - 0.01)  # one beat late
    before = _bounds(opened)
    assert len(after.phrases) == len(before) + 1
    assert _bounds(after) == before[:t] + [(p.start_beat, target), (target, p.end_beat)] + \
        before[t + 1:]
    shift = [i if i < t else i + 1 for i in range(len(before)) if i != t]
    for old_i, new_i in zip([i for i in range(len(before)) if i != t], shift, strict=True):
        assert after.choreography[new_i].dance_id == chor[old_i].dance_id
        assert np.array_equal(after.scores[new_i], opened.scores[old_i])
    assert after.choreography[other + (other > t)].locked
    assert after.flagged == ()
    assert float(a.beats_s[target]) in after.constraints.pinned_s


def test_split_of_a_locked_phrase_is_flagged_and_a_one_bar_phrase_refuses(engine, opened):
    p = max(opened.phrases, key=lambda q: q.n_bars)
    chor = opened.choreography.with_placement(opened.choreography[p.index].with_changes(
        locked=True))
    after = session.split(engine, opened.with_choreography(chor), p.start_s + p.duration_s / 2)
    assert after.flagged == (p.index, p.index + 1)
    assert after.choreography[p.index].dance_id == chor[p.index].dance_id
    one_bar = session.split(engine, after, after.phrases[p.index].start_s)
    while all(q.n_bars > 1 for q in one_bar.phrases):
        q = max(one_bar.phrases, key=lambda r: r.n_bars)
        one_bar = session.split(engine, one_bar, q.start_s + q.duration_s / 2)
    single = next(q for q in one_bar.phrases if q.n_bars == 1)
    with pytest.raises(ChoreoError, match="one bar long"):
        session.split(engine, one_bar, single.start_s + single.duration_s / 2)


def test_merge_joins_exactly_the_selected_phrases(engine, opened):
    n = len(opened.phrases)
    assert n >= 4
    after = session.merge(engine, opened, 1, 3)
    before = _bounds(opened)
    assert _bounds(after) == [before[0], (before[1][0], before[3][1]), *before[4:]]
    assert after.choreography[0] == opened.choreography[0]
    for old_i in range(4, n):
        assert after.choreography[old_i - 2].dance_id == opened.choreography[old_i].dance_id
    assert opened.phrases[2].start_s in after.constraints.removed_s
    with pytest.raises(ChoreoError, match="two or more"):
        session.merge(engine, opened, 2, 2)


def test_move_boundary_moves_exactly_one(engine, opened):
    a = opened.analysis
    i = next(k for k in range(1, len(opened.phrases)) if opened.phrases[k].n_bars >= 2)
    p = opened.phrases[i]
    target = next(int(b) for b in a.downbeats if p.start_beat < b < p.end_beat)
    after = session.move_boundary(engine, opened, i, float(a.beats_s[target]) + 0.05)
    before = _bounds(opened)
    expected = list(before)
    expected[i - 1] = (before[i - 1][0], target)
    expected[i] = (target, before[i][1])
    assert _bounds(after) == expected
    for k in set(range(len(before))) - {i - 1, i}:
        assert after.choreography[k] == opened.choreography[k]
    assert session.move_boundary(engine, opened, i, p.start_s + 0.01) is opened


def test_unchanged_tempo_changes_nothing_and_pins_survive_a_new_grid(engine, opened):
    a = opened.analysis
    assert session.retime(engine, opened, tempo_bpm=a.tempo_bpm + 0.01) is opened
    assert session.retime(engine, opened, beats_per_bar=a.beats_per_bar) is opened
    assert session.retime(engine, opened, first_downbeat_s=float(a.beats_s[a.downbeats[1]])
                          ) is opened
    p = max(opened.phrases, key=lambda q: q.n_bars)
    split = session.split(engine, opened, p.start_s + p.duration_s / 2)
    pin = split.constraints.pinned_s[0]
    period = float(np.median(np.diff(a.beats_s)))
    kept = session.constraints_on_grid(
        split.constraints.pin(pin + 2 * period + 0.3 * period), a)  # mid-bar: dropped
    assert kept.pinned_s == (pin,)
    halved = session.retime(engine, split, beats_per_bar=2)
    assert halved.analysis.beats_per_bar == 2
    assert any(abs(q.start_s - pin) < 1e-3 for q in halved.phrases)


def test_solve_phrases_touches_only_the_chosen_unlocked_ones(engine, opened):
    worst = engine.library.ids[0]
    placements = [p.with_changes(dance_id=worst) for p in opened.choreography]
    placements[2] = placements[2].with_changes(locked=True)
    chor = opened.choreography.__class__(placements, opened.choreography.scorer)
    state = opened.with_choreography(chor)
    after = session.solve_phrases(engine, state, [1, 2])
    assert after[2] == chor[2]
    assert all(after[i] == chor[i] for i in range(len(chor)) if i not in (1, 2))
    assert engine.options.no_back_to_back
    assert after[1].dance_id != worst, "between two copies of `worst` it must change"
