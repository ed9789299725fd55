"""Importing takes of any rig: recognition, retargeting, units/up from the dancer, positions
takes with known answers, counts from the motion, and bad inputs as one line each."""

import json

import numpy as np
import pytest
from choreo_studio.core.cli import main
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.library.importing import ImportOptions, import_library
from choreo_studio.core.library.library import Library
from choreo_studio.core.motion import quaternions as quat
from choreo_studio.core.motion.bvh import write_bvh
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.rig_mapping import map_rig, missing_joints, require_humanoid
from choreo_studio.core.motion.skeleton import Skeleton

from tests.rig_fixtures import (
    SCHEMES,
    TEMPLATE_HEIGHT_CM,
    dance_positions,
    rig,
    scheme_motion,
    template,
)

FPS = 30.0


def _bone_dirs(positions, a, b):
    d = positions[:, b] - positions[:, a]
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_naming_scheme_maps_to_the_humanoid(scheme):
    skeleton, names = rig(scheme)
    mapping = map_rig(skeleton)
    assert missing_joints(mapping) == []
    assert {k: skeleton.joint_names[v] for k, v in mapping.items()} == names


def test_generic_and_daz_names_and_a_map_override():
    names = ["hip", "abdomen", "chest", "neck", "head", "lCollar", "lShldr", "lForeArm",
             "lHand", "rCollar", "rShldr", "rForeArm", "rHand", "lThigh", "lShin", "lFoot",
             "rThigh", "rShin", "rFoot"]
    parents = [-1, 0, 1, 2, 3, 2, 5, 6, 7, 2, 9, 10, 11, 0, 13, 14, 0, 16, 17]
    sk = Skeleton(names, parents, np.ones((len(names), 3)))
    mapping = map_rig(sk)
    assert mapping["LeftArm"] == names.index("lShldr")
    assert mapping["LeftShoulder"] == names.index("lCollar")
    assert mapping["RightLeg"] == names.index("rShin") and mapping["Hips"] == 0
    odd = Skeleton(["pelvis", "a", "b"], [-1, 0, 1], np.ones((3, 3)))
    with pytest.raises(ChoreoError, match="no joint for Head") as info:
        require_humanoid(odd, "odd.bvh")
    assert "rig_map.json" in str(info.value) and "\n" not in str(info.value)
    assert map_rig(odd, {"b": "Head"})["Head"] == 2


def _write_dance(folder, scheme, positions, unit=1.0, z_up=False, name=None):
    motion = scheme_motion(scheme, positions, FPS)
    if z_up:
        motion = motion.rotated_world(quat.about_axis("X", np.array(np.pi / 2)))
    if unit != 1.0:
        motion = motion.scaled(unit)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name or scheme}.bvh"
    write_bvh(path, motion)
    return path


def test_mixed_rigs_import_into_one_library_with_the_dance_kept(tmp_path):
    positions = dance_positions(240, FPS)
    src = tmp_path / "takes"
    _write_dance(src / "a", "cmu", positions, unit=1 / (2.54 / 0.45))  # CMU's own unit
    _write_dance(src / "b", "mixamo", positions, unit=0.01)  # metres
    _write_dance(src / "c", "bandai", positions)
    _write_dance(src / "d", "jnt", positions, unit=1 / 2.54)  # inches
    _write_dance(src / "e", "biped", positions, z_up=True)  # 3ds Max: Z up
    library, report = import_library(src)
    assert report.skipped == []
    assert set(report.phrases) == {"a/cmu", "b/mixamo", "c/bandai", "d/jnt", "e/biped"}
    for take, height in report.heights_cm.items():
        assert height == pytest.approx(TEMPLATE_HEIGHT_CM, rel=0.05), take
    tpl = template()
    lib_map = map_rig(library.skeleton)
    for phrase in library.phrases:
        assert phrase.motion.skeleton is library.skeleton
        start = phrase.source["start_frame"]
        ref = positions[start : start + phrase.motion.n_frames]
        got = phrase.motion.fk()
        for a, b in (("LeftArm", "LeftForeArm"), ("RightForeArm", "RightHand"),
                     ("LeftUpLeg", "LeftLeg"), ("Hips", "Spine")):
            cos = np.sum(_bone_dirs(ref, tpl.index(a), tpl.index(b))
                         * _bone_dirs(got, lib_map[a], lib_map[b]), -1)
            assert np.degrees(np.arccos(np.clip(cos.min(), -1, 1))) < 4.0, (phrase.id, a, b)
        lowest = got[..., 1].min(axis=1)
        assert abs(np.median(lowest)) < 2.0
        head, hips = got[:, lib_map["Head"], 1], got[:, lib_map["Hips"], 1]
        assert np.all(head > hips)


def test_retarget_onto_a_user_bvh_skeleton(tmp_path):
    positions = dance_positions(200, FPS)
    src = tmp_path / "takes"
    _write_dance(src, "cmu", positions)
    target = _write_dance(tmp_path / "rig", "mixamo", positions[:2], name="character")
    library, _ = import_library(src, options=ImportOptions(target=str(target)))
    assert library.skeleton.joint_names[0] == "mixamorig3:Hips"
    assert len(library) >= 1


def test_bad_takes_are_one_line_each_and_the_rest_imports(tmp_path):
    positions = dance_positions(240, FPS)
    src = tmp_path / "takes"
    good = _write_dance(src, "mixamo", positions, name="good")
    text = good.read_text()
    head, motion_block = text.split("MOTION")
    lines = motion_block.strip().splitlines()
    lines[3] = " ".join(lines[3].split()[:-2])  # a frame line two channels short
    (src / "short_line.bvh").write_text(head + "MOTION\n" + "\n".join(lines) + "\n")
    other = Skeleton(["Root", "Child"], [-1, 0], [[0, 90, 0], [0, 10, 0]])
    write_bvh(src / "stick.bvh", Motion(other, 30, quat.identity((40, 2)), np.zeros((40, 3))))
    tiny = scheme_motion("cmu", positions[:20], FPS)
    write_bvh(src / "tiny.bvh", tiny)
    (src / "tiny.json").write_text(json.dumps({"cut": True, "n_counts": 8}))
    bad_points = np.zeros((30, 17, 3))
    bad_points[5, 3] = np.nan
    np.savez(src / "nan.npz", keypoints=bad_points, joint_names=np.array(
        ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
         "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
         "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"]))
    library, report = import_library(src)
    assert list(report.phrases) == ["good"]
    assert len(report.skipped) == 4
    for line in report.skipped:
        assert "\n" not in line and " — " in line
    joined = " | ".join(report.skipped)
    assert "stick.bvh" in joined and "not recognised as a humanoid" in joined
    assert "nan.npz" in joined and "missing (NaN)" in joined
    assert "tiny.bvh" in joined and "shorter than one 8-count phrase" in joined
    assert "short_line.bvh" in joined


def test_imported_rig_mirrors_exactly(tmp_path):
    src = tmp_path / "takes"
    _write_dance(src, "bandai", dance_positions(200, FPS))
    library, _ = import_library(src)
    sk = library.skeleton
    perm = sk.mirror_indices()
    motion = library.phrases[0].motion
    mirrored = motion.mirror().fk()
    expected = motion.fk()[:, perm] * np.array([-1.0, 1.0, 1.0])
    np.testing.assert_allclose(mirrored, expected, atol=1e-3)


def test_foreign_sidecar_keys_are_kept(tmp_path):
    src = tmp_path / "studio"
    path = _write_dance(src, "bandai", dance_positions(200, FPS), name="take")
    path.with_suffix(".json").write_text(json.dumps({"content": 16, "style": 0}))
    library, report = import_library(src)
    phrase = library.phrases[0]
    assert phrase.source["sidecar"] == {"content": 16, "style": 0}
    assert "content=16" in phrase.tags and phrase.style == "unknown"
    library.save(tmp_path / "lib")
    assert Library.load(tmp_path / "lib").phrases[0].source["sidecar"]["content"] == 16


def _drifting_beats(n_beats, bpm0, bpm1, start_s=1.5):
    """Beat times whose tempo slides from bpm0 to bpm1."""
    bpm = np.linspace(bpm0, bpm1, n_beats)
    return start_s + np.concatenate([[0.0], np.cumsum(60.0 / bpm[:-1])])


def _stepping_on(beats_s, n_frames, fps):
    """Known positions: the dancer goes down and up, easing to a dead stop on every beat
    (and idles 1.5 s first)."""
    base = dance_positions(1, fps)[0]
    t = np.arange(n_frames) / fps
    phase = np.interp(t, beats_s, np.arange(len(beats_s)), left=0.0, right=len(beats_s) - 1)
    k = np.floor(phase)
    ease = (phase - k) ** 2 * (3 - 2 * (phase - k))
    bob = 3.0 * np.where(k % 2 == 0, ease, 1.0 - ease)
    pos = np.repeat(base[None], n_frames, axis=0)
    arm = [template().index(n) for n in ("LeftForeArm", "LeftHand", "RightForeArm",
                                         "RightHand")]
    pos[:, arm, 1] += bob[:, None] * 3
    pos[:, :, 1] += bob[:, None]
    return pos


def test_long_take_cut_on_its_own_drifting_beats(tmp_path):
    beats = _drifting_beats(34, 100.0, 116.0)
    n = int((beats[-1] + 2.0) * FPS)
    positions = _stepping_on(beats, n, FPS)
    src = tmp_path / "take"
    _write_dance(src, "mixamo", positions, name="long")
    library, _ = import_library(src)
    assert len(library) >= 3 and all(p.n_counts == 8 for p in library.phrases)
    found = np.concatenate([p.source["start_frame"] + p.count_frames for p in library.phrases])
    truth = beats * FPS
    nearest = np.min(np.abs(found[:, None] - truth[None, :]), axis=1)
    assert np.median(nearest) <= 1.0 and nearest.max() <= 3.0
    assert library.phrases[0].source["start_frame"] >= int(1.0 * FPS)  # idle start trimmed
    assert "bpm-estimated" in library.phrases[0].tags


def test_sidecar_beats_list_gives_the_counts(tmp_path):
    src = tmp_path / "take"
    path = _write_dance(src, "jnt", dance_positions(300, FPS), name="t")
    beats = [0.5 + 0.55 * k for k in range(17)]
    path.with_suffix(".json").write_text(json.dumps({"beats_s": beats}))
    library, _ = import_library(src)
    assert [p.n_counts for p in library.phrases] == [8, 8]
    np.testing.assert_array_equal(
        library.phrases[1].source["start_frame"] + library.phrases[1].count_frames,
        np.round(np.array(beats[8:16]) * FPS).astype(int))
    path.with_suffix(".json").write_text(json.dumps({"beats_s": beats, "downbeats": [1, 5]}))
    library, _ = import_library(src)
    assert library.phrases[0].source["start_frame"] == round(beats[1] * FPS)


def _keypoints(positions):
    """Known positions as canonical-named keypoints (cm, Y up)."""
    tpl = template()
    names = [n for n in tpl.joint_names]
    return positions[:, [tpl.index(n) for n in names]], names


def test_keypoints_import_with_known_answer(tmp_path):
    positions = dance_positions(240, FPS)
    points, names = _keypoints(positions)
    src = tmp_path / "kp"
    src.mkdir()
    np.savez(src / "dance.npz", keypoints=points / 100.0, joint_names=np.array(names),
             fps=np.array(FPS))  # metres
    library, report = import_library(src)
    assert report.fk_error_cm["dance"] < 0.05
    assert report.heights_cm["dance"] == pytest.approx(TEMPLATE_HEIGHT_CM, rel=0.06)
    phrase = library.phrases[0]
    lib_map = map_rig(library.skeleton)
    got = phrase.motion.fk()
    ref = positions[phrase.source["start_frame"]:][: phrase.motion.n_frames]
    d = got[:, lib_map["LeftHand"]] - got[:, lib_map["Hips"]]
    e = ref[:, template().index("LeftHand")] - ref[:, 0]
    np.testing.assert_allclose(d, e, atol=0.5)


def test_cli_import_info_reports_dancer_height_and_phrases(tmp_path, capsys):
    src = tmp_path / "takes"
    _write_dance(src, "cmu", dance_positions(300, FPS), unit=0.01)
    assert main(["library", "import", str(src), "-o", str(tmp_path / "lib")]) == 0
    out = capsys.readouterr().out
    assert "phrases" in out
    assert main(["library", "info", str(tmp_path / "lib"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["dancer_height_cm"] == pytest.approx(TEMPLATE_HEIGHT_CM, rel=0.05)
    assert info["n_phrases"] >= 1
    assert main(["library", "info", str(tmp_path / "lib")]) == 0
    assert "cm tall (crown above the floor, 95th percentile" in capsys.readouterr().out


def _tang_points(positions):
    """Tang's 23 points (its index order) from the template's joints."""
    tpl = template()

    def j(name):
        return positions[:, tpl.index(name)]

    lateral = j("LeftUpLeg") - j("RightUpLeg")
    lateral /= np.linalg.norm(lateral, axis=-1, keepdims=True)
    pts = np.zeros((len(positions), 23, 3))
    pts[:, 0], pts[:, 1] = j("Head") + 7 * lateral, j("Head") - 7 * lateral
    for side, idx in (("Left", (3, 4, 5, 6, 22, 7, 8, 9, 10, 11)),
                      ("Right", (12, 13, 21, 15, 14, 16, 17, 18, 19, 20))):
        arm, fore, hand = j(side + "Arm"), j(side + "ForeArm"), j(side + "Hand")
        foot, toe = j(side + "Foot"), j(side + "ToeBase")
        for i, p in zip(idx, (arm, fore, (fore + hand) / 2, hand, hand + 0.2 * (hand - fore),
                              j(side + "UpLeg"), j(side + "Leg"), foot, toe,
                              foot - 0.5 * (toe - foot)), strict=True):
            pts[:, i] = p
    pts[:, 2] = j("Hips")
    return pts


def test_tang_folder_with_its_song_cuts_waltz_phrases_on_the_music(tmp_path, monkeypatch):
    import soundfile as sf

    monkeypatch.setenv("CHOREO_CACHE_DIR", str(tmp_path / "cache"))
    from tests.audio_fixtures import click_track

    samples, clicks, _ = click_track(90.0, beats_per_bar=3, n_bars=14, lead_in_s=1.0)
    fps, start = 25.0, 25  # the dance starts 1 s into the song
    n = 600
    beats_motion_s = clicks - start / fps
    beats_motion_s = beats_motion_s[(beats_motion_s >= 0) & (beats_motion_s < n / fps)]
    positions = _stepping_on(beats_motion_s, n, fps)
    points = _tang_points(positions)
    folder = tmp_path / "tang" / "DANCE_W_1"
    folder.mkdir(parents=True)
    centre = points[:, 2]
    (folder / "skeletons.json").write_text(json.dumps({
        "length": n, "center": centre.round(2).tolist(),
        "skeletons": (points - centre[:, None]).round(2).tolist()}))
    (folder / "config.json").write_text(json.dumps({"start_position": start,
                                                    "end_position": start + n}))
    sf.write(folder / "audio.ogg", samples, 22050)
    library, report = import_library(tmp_path / "tang")
    assert report.skipped == []
    assert report.fk_error_cm["DANCE_W_1"] < 1.5
    assert {p.n_counts for p in library.phrases} == {6}
    assert {p.style for p in library.phrases} == {"waltz"} and len(library) >= 4
    song_counts = np.concatenate([(p.source["start_frame"] + p.count_frames) / fps
                                  + start / fps for p in library.phrases])
    nearest = np.min(np.abs(song_counts[:, None] - clicks[None, :]), axis=1)
    assert np.median(nearest) <= 1.0 / fps and nearest.max() <= 2.0 / fps
    assert all("music_phrase" in p.source for p in library.phrases)
    lowest = np.concatenate([p.motion.fk()[..., 1].min(axis=1) for p in library.phrases])
    assert abs(np.median(lowest)) < 2.0


def _tang_folder(root, name, points, start=0):
    """A Tang dance folder (no song) holding ``points`` [frames, P, 3] (None for NaN)."""
    folder = root / name
    folder.mkdir(parents=True)
    values = np.where(np.isnan(points), None, points.round(2)).tolist()
    (folder / "skeletons.json").write_text(json.dumps({
        "length": len(points), "center": np.zeros((len(points), 3)).tolist(),
        "skeletons": values}))
    (folder / "config.json").write_text(json.dumps({"start_position": start,
                                                    "end_position": start + len(points)}))
    return folder


def test_bad_positions_and_hierarchies_are_one_line_each_and_the_rest_imports(tmp_path):
    positions = dance_positions(240, FPS)
    src = tmp_path / "takes"
    good = _write_dance(src, "cmu", positions, name="good")
    write_bvh(src / "later60.bvh", scheme_motion("mixamo", dance_positions(480, 60.0), 60.0))
    text = good.read_text().replace("CHANNELS 3 Zrotation Xrotation Yrotation",
                                    "CHANNELS 3 Zrotation Xrotation", 1)
    (src / "channel_names.bvh").write_text(text)
    points = _tang_points(positions)
    _tang_folder(src / "tang", "DANCE_W_90", points[:, :22])  # a point missing in every frame
    holed = points.copy()
    holed[10, 4] = np.nan
    _tang_folder(src / "tang", "DANCE_W_91", holed)
    ragged = tmp_path / "ragged"
    _tang_folder(ragged, "DANCE_W_92", points)
    data = json.loads((ragged / "DANCE_W_92" / "skeletons.json").read_text())
    data["skeletons"][7] = data["skeletons"][7][:20]  # one frame with 20 points
    (src / "tang" / "DANCE_W_92").mkdir()
    (src / "tang" / "DANCE_W_92" / "skeletons.json").write_text(json.dumps(data))
    (src / "tang" / "DANCE_W_92" / "config.json").write_text(
        (ragged / "DANCE_W_92" / "config.json").read_text())
    kp, names = _keypoints(positions)
    keep = [i for i, n in enumerate(names) if n != "LeftLeg"]
    np.savez(src / "no_knee.npz", keypoints=kp[:, keep],
             joint_names=np.array([names[i] for i in keep]), fps=np.array(FPS))
    np.savez(src / "no_rate.npz", keypoints=kp, joint_names=np.array(names), fps=np.array(0.0))
    library, report = import_library(src, options=ImportOptions(jobs=1))
    assert sorted(report.phrases) == ["good", "later60"]
    assert {p.motion.fps for p in library.phrases} == {FPS}  # the 60 fps take resampled
    assert any("later60: resampled from 60 to 30 fps" in n for n in report.notes)
    assert len(report.skipped) == 6
    for line in report.skipped:
        assert "\n" not in line and " — " in line
    expect = {"channel_names.bvh": "CHANNELS says 3 but lists 2",
              "DANCE_W_90": "points are missing", "DANCE_W_91": "missing (NaN) points",
              "DANCE_W_92": "unequal point counts", "no_knee.npz": "lack LeftLeg",
              "no_rate.npz": "frame rate"}
    for name, what in expect.items():
        assert any(name in s and what in s for s in report.skipped), (name, report.skipped)


def test_worker_processes_give_the_serial_library(tmp_path):
    positions = dance_positions(200, FPS)
    src = tmp_path / "takes"
    for k, scheme in enumerate(("cmu", "bandai")):  # the first sets the skeleton, in-process
        _write_dance(src / f"s{k}", scheme, positions[k * 10:], name=scheme)
    (src / "s2").mkdir()
    (src / "s2" / "broken.bvh").write_text("HIERARCHY\nROOT Hips\n")
    serial, r1 = import_library(src, options=ImportOptions(jobs=1))
    pooled, r2 = import_library(src, options=ImportOptions(jobs=2))
    assert (r1.workers, r2.workers) == (1, 2)
    assert pooled.fingerprint == serial.fingerprint
    assert (r2.phrases, r2.skipped, r2.notes) == (r1.phrases, r1.skipped, r1.notes)
    assert all(p.motion.skeleton is pooled.skeleton for p in pooled.phrases)
    for a, b in zip(serial.phrases, pooled.phrases, strict=True):
        np.testing.assert_array_equal(a.motion.rotations, b.motion.rotations)
        assert a.descriptors == b.descriptors and a.energy == b.energy
