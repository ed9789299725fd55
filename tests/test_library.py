"""Library folder format, fingerprint stability, loading errors, BVH import and the CLI."""

import json

import numpy as np
import pytest
from choreo_studio.core.cli import main
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.library.importing import ImportOptions, import_folder
from choreo_studio.core.library.library import METADATA_FILE, Library, arrays_path
from choreo_studio.core.motion.bvh import write_bvh
from choreo_studio.core.motion.skeleton import Skeleton

from tests.motion_fixtures import beat_motion, random_motion, small_library


def test_save_load_round_trip_and_stable_fingerprint(tmp_path):
    lib = small_library()
    lib.save(tmp_path / "lib")
    back = Library.load(tmp_path / "lib")
    assert back.fingerprint == lib.fingerprint
    assert back.ids == lib.ids
    assert back.skeleton.same_hierarchy(lib.skeleton)
    np.testing.assert_array_equal(back.transition_prior, lib.transition_prior)
    for a, b in zip(lib.phrases, back.phrases, strict=True):
        assert (a.name, a.style, a.energy, a.tags, a.n_counts, a.bpm) == (
            b.name, b.style, b.energy, b.tags, b.n_counts, b.bpm)
        np.testing.assert_array_equal(a.count_frames, b.count_frames)
        np.testing.assert_array_equal(a.motion.rotations, b.motion.rotations)
        np.testing.assert_array_equal(a.start_pose, b.start_pose)
        assert a.descriptors == pytest.approx(b.descriptors)
    # saving again gives the same fingerprint
    back.save(tmp_path / "lib2")
    assert Library.load(tmp_path / "lib2").fingerprint == lib.fingerprint


def test_fingerprint_follows_ids_and_counts_not_float_noise():
    lib = small_library()
    noisy = small_library()
    noisy.phrases[0].motion.rotations[3, 2] *= -1.0  # same rotation, other float bits
    assert Library(lib.name, lib.skeleton, noisy.phrases, lib.transition_prior).fingerprint == (
        lib.fingerprint)  # another machine's regenerated demo library still matches its model
    renamed = small_library()
    renamed.phrases[0].id = "renamed"
    assert Library("x", lib.skeleton, renamed.phrases, lib.transition_prior).fingerprint != (
        lib.fingerprint)
    recounted = small_library()
    recounted.phrases[0].count_frames = recounted.phrases[0].count_frames + 1
    assert Library("x", lib.skeleton, recounted.phrases, lib.transition_prior).fingerprint != (
        lib.fingerprint)


def test_arrays_from_another_save_are_refused(tmp_path):
    lib = small_library()
    lib.save(tmp_path / "a")
    other = small_library()
    other.phrases[0].motion.rotations[3, 2] *= -1.0
    other.save(tmp_path / "b")
    arrays_path(tmp_path / "a").write_bytes(arrays_path(tmp_path / "b").read_bytes())
    with pytest.raises(ChoreoError, match="does not match its library.json"):
        Library.load(tmp_path / "a")


def test_lookup_and_unknown_id():
    lib = small_library()
    assert lib.phrase("jazz-1").style == "jazz"
    assert lib.index_of("hip-hop-2") == 2
    with pytest.raises(ChoreoError, match="no phrase with id"):
        lib.phrase("nope")


@pytest.mark.parametrize("damage", ["missing_json", "missing_npz", "bad_version", "garbage_npz",
                                    "edited_arrays", "bad_json", "deep_json"])
def test_loading_errors_are_one_line(tmp_path, damage):
    folder = tmp_path / "lib"
    small_library().save(folder)
    meta = json.loads((folder / METADATA_FILE).read_text())
    if damage == "missing_json":
        (folder / METADATA_FILE).unlink()
    elif damage == "missing_npz":
        arrays_path(folder).unlink()
    elif damage == "bad_version":
        meta["format_version"] = 99
        (folder / METADATA_FILE).write_text(json.dumps(meta))
    elif damage == "garbage_npz":
        arrays_path(folder).write_bytes(b"not a zip file at all")
    elif damage == "bad_json":
        (folder / METADATA_FILE).write_text("{ nope")
    elif damage == "deep_json":  # json.loads recursed into a RecursionError before
        (folder / METADATA_FILE).write_text("[" * 100_000 + "]" * 100_000)
    else:
        with np.load(arrays_path(folder)) as npz:
            arrays = {k: npz[k] for k in npz.files}
        arrays["rotations"] = arrays["rotations"][::-1].copy()
        np.savez(arrays_path(folder), **arrays)
    with pytest.raises(ChoreoError) as info:
        Library.load(folder)
    assert "\n" not in str(info.value)
    assert str(folder) in str(info.value)


def _write_clip(path, seed, n_frames=64):
    write_bvh(path, random_motion(n_frames, 30.0, seed))


def test_import_one_phrase_per_file_with_styles_from_folders(tmp_path):
    src = tmp_path / "clips"
    (src / "jazz").mkdir(parents=True)
    (src / "popping").mkdir()
    _write_clip(src / "jazz" / "a.bvh", 1)
    _write_clip(src / "jazz" / "b.bvh", 2)
    _write_clip(src / "popping" / "c.bvh", 3)
    (src / "popping" / "c.json").write_text(json.dumps({"energy": 3, "bpm": 90.0,
                                                         "tags": ["hits"]}))
    lib = import_folder(src, options=ImportOptions(bpm=120.0, unit="cm"))
    assert lib.ids == ["jazz/a", "jazz/b", "popping/c"]
    assert [p.style for p in lib.phrases] == ["jazz", "jazz", "popping"]
    c = lib.phrase("popping/c")
    assert (c.energy, c.bpm, c.tags) == (3, 90.0, ["hits"])
    a = lib.phrase("jazz/a")
    assert a.n_counts == 4  # 64 frames at 30 fps, 15 frames per count -> 4 whole counts
    np.testing.assert_array_equal(a.count_frames, [0, 15, 30, 45])
    assert lib.transition_prior.shape == (3, 3)


def test_import_cuts_long_take_into_8_count_phrases(tmp_path):
    src = tmp_path / "take"
    src.mkdir()
    motion, _ = beat_motion(30.0, 120.0, n_beats=20)
    write_bvh(src / "long.bvh", motion)
    lib = import_folder(src, options=ImportOptions(style="hip-hop", bpm=120.0,
                                                   first_beat_s=0.5, cut=True, unit="cm"))
    # beats from 0.5 s every 0.5 s: 19 whole beats -> two 8-count phrases
    assert lib.ids == ["long#01", "long#02"]
    assert all(p.n_counts == 8 and p.motion.n_frames == 120 for p in lib.phrases)
    np.testing.assert_array_equal(lib.phrases[0].count_frames, np.arange(8) * 15)


def test_import_estimates_bpm_when_not_given(tmp_path):
    src = tmp_path / "c"
    src.mkdir()
    motion, _ = beat_motion(30.0, 100.0, n_beats=12)
    write_bvh(src / "x.bvh", motion)
    lib = import_folder(src, options=ImportOptions(unit="cm"))
    assert lib.phrases[0].bpm == pytest.approx(100.0, rel=0.05)
    assert "bpm-estimated" in lib.phrases[0].tags


def test_import_skips_a_different_non_humanoid_skeleton_with_one_line(tmp_path):
    src = tmp_path / "mixed"
    src.mkdir()
    _write_clip(src / "a.bvh", 1)
    other = Skeleton(["Root", "Child"], [-1, 0], [[0, 90, 0], [0, 10, 0]])
    m = random_motion(20)
    from choreo_studio.core.library.importing import import_library
    from choreo_studio.core.motion.motion import Motion

    write_bvh(src / "b.bvh", Motion(other, 30, m.rotations[:, :2], m.root_pos_cm))
    lib, report = import_library(src, options=ImportOptions(bpm=120.0, unit="cm"))
    assert lib.ids == ["a"]
    assert len(report.skipped) == 1 and "b.bvh: its skeleton differs" in report.skipped[0]


def test_import_empty_folder_and_foreign_sidecar_keys(tmp_path):
    with pytest.raises(ChoreoError, match="no .bvh files"):
        import_folder(tmp_path)
    _write_clip(tmp_path / "a.bvh", 1)
    (tmp_path / "a.json").write_text(json.dumps({"colour": "red"}))
    lib = import_folder(tmp_path, options=ImportOptions(bpm=120.0, unit="cm", up="y"))
    assert lib.phrases[0].source["sidecar"] == {"colour": "red"}
    assert "colour=red" in lib.phrases[0].tags


def test_cli_import_info_preview(tmp_path, capsys):
    src = tmp_path / "clips" / "urban"
    src.mkdir(parents=True)
    for i in range(3):
        _write_clip(src / f"c{i}.bvh", i, n_frames=90)
    out = tmp_path / "lib"
    assert main(["library", "import", str(tmp_path / "clips"), "-o", str(out), "--bpm", "120",
                 "--unit", "cm"]) == 0
    assert main(["library", "info", str(out), "--phrases"]) == 0
    text = capsys.readouterr().out
    assert "3 phrases" in text and "urban/c1" in text
    assert main(["library", "info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["n_phrases"] == 3 and info["styles"] == {"urban": 3}
    assert main(["library", "preview", str(out), "urban/c0", "-o", str(tmp_path / "p.gif")]) == 0
    assert main(["library", "preview", str(out), "-o", str(tmp_path / "s.png")]) == 0
    from PIL import Image

    with Image.open(tmp_path / "p.gif") as gif:
        assert gif.n_frames >= 10
    with Image.open(tmp_path / "s.png") as png:
        assert png.size[1] > 3 * 100


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["library", "info", str(tmp_path / "nothing")]) == 2
    assert "not a dance library" in capsys.readouterr().err
    small_library().save(tmp_path / "lib")
    assert main(["library", "preview", str(tmp_path / "lib"), "zzz", "-o",
                 str(tmp_path / "x.gif")]) == 2
    assert main(["library", "preview", str(tmp_path / "lib"), "-o", str(tmp_path / "x.mp4")]) == 2
    err = capsys.readouterr().err
    assert "no phrase with id 'zzz'" in err and "use a .gif" in err


def test_import_keeps_per_frame_joint_translations_through_save_load(tmp_path):
    from choreo_studio.core.motion.bvh import bvh_text
    from choreo_studio.core.motion.motion import Motion

    m = random_motion(40)
    local = m._translations().copy()  # noqa: SLF001
    local[:, 2, 1] += np.linspace(0.0, 5.0, 40)  # a stretching neck, as some exporters write
    stretchy = Motion(m.skeleton, m.fps, m.rotations, m.root_pos_cm, local)
    src = tmp_path / "mixamo"
    src.mkdir()
    (src / "wave.bvh").write_bytes(bvh_text(stretchy).replace("\n", "\r\n").encode())
    lib = import_folder(src, options=ImportOptions(style="k-pop", bpm=120.0, unit="cm"))
    lib.save(tmp_path / "lib")
    back = Library.load(tmp_path / "lib")
    assert back.phrases[0].motion.local_pos_cm is not None
    np.testing.assert_allclose(back.phrases[0].motion.fk(), stretchy.trim(0, 30).fk(), atol=1e-3)


def test_import_units_and_z_up(tmp_path):
    src = tmp_path / "m"
    src.mkdir()
    motion = random_motion(40)
    metres = type(motion)(motion.skeleton.scaled(0.01), motion.fps, motion.rotations,
                          motion.root_pos_cm * 0.01)
    write_bvh(src / "a.bvh", metres)
    lib = import_folder(src, options=ImportOptions(bpm=120.0))  # unit auto -> metres
    np.testing.assert_allclose(lib.phrases[0].motion.fk(), motion.trim(0, 30).fk(), atol=1e-3)
    lib_z = import_folder(src, options=ImportOptions(bpm=120.0, unit="m", up="z"))
    pos = lib_z.phrases[0].motion.fk()
    ref = motion.trim(0, 30).fk()
    # Z-up input turned to Y-up: old +Z (up in the file) becomes +Y
    np.testing.assert_allclose(pos[..., 1], ref[..., 2], atol=1e-3)


def test_a_save_that_dies_before_its_library_json_leaves_the_old_library(tmp_path, monkeypatch):
    import choreo_studio.core.library.library as library_module

    old = small_library()
    old.save(tmp_path / "lib")
    new = small_library()
    new.phrases[0].id = "renamed"

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies after the arrays, before library.json

    monkeypatch.setattr(library_module, "write_json_atomic", killed)
    with pytest.raises(KeyboardInterrupt):
        Library(new.name, new.skeleton, new.phrases, new.transition_prior).save(tmp_path / "lib")
    monkeypatch.undo()
    back = Library.load(tmp_path / "lib")
    assert back.ids == old.ids and back.fingerprint == old.fingerprint
    # the next successful save leaves only its own arrays behind
    Library(new.name, new.skeleton, new.phrases, new.transition_prior).save(tmp_path / "lib")
    assert Library.load(tmp_path / "lib").ids[0] == "renamed"
    assert [p.name for p in (tmp_path / "lib").glob("motion*.npz")] == [
        arrays_path(tmp_path / "lib").name]
