"""Consumer check: the exports load in real consumers and agree with our forward kinematics.

For the demo song and a real song (Tang et al.'s DANCE_W_1 under the data folder, when present)
it choreographs the song, writes the arrangement (dance.bvh, dance.glb, dance.fbx when Blender
is there) and the per-dance clips (clips.glb, clip-NAME.bvh), then

- runs the Khronos glTF validator on every glb (0 errors and 0 warnings expected), given a
  folder where ``npm install gltf-validator`` was run (``--validator`` or
  ``$CHOREO_GLTF_VALIDATOR``) and node;
- loads the glbs with three.js (GLTFLoader + AnimationMixer under node, ``--threejs`` or
  ``$CHOREO_THREEJS``: a folder where ``npm install three`` was run) and compares bone world
  positions at 5 frames with our FK;
- imports the BVH, the glb and the FBX into Blender headless (``bpy``: this Python, or
  ``--blender-python`` / ``$CHOREO_BLENDER_PYTHON``) and compares every bone's world position
  at 5 frames with our FK (target: within 0.01 cm), for the arrangement and for each clip
  (names and frame counts checked too).

Run: ``python benchmarks/consumer_check.py [DATA]`` (DATA defaults to ``../shared/data``);
prints one line per check and exits 1 when a check fails. A consumer that is missing is
reported as skipped, not failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

TOLERANCE_CM = 0.01
N_FRAMES = 5
VALIDATE_JS = """
const v=require('gltf-validator');const fs=require('fs');
(async()=>{const out={};for(const f of process.argv.slice(1)){
 const r=await v.validateBytes(new Uint8Array(fs.readFileSync(f)));
 out[f]={errors:r.issues.numErrors,warnings:r.issues.numWarnings,
         first:r.issues.messages.slice(0,3)};}
 console.log(JSON.stringify(out));})();
"""
THREE_JS = r"""
// three.js GLTFLoader + AnimationMixer under node: world positions of named bones at given frames
import * as THREE from 'three';
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js';
import fs from 'fs';
const [file, anim, fps, ...frames] = process.argv.slice(2);
const data = fs.readFileSync(file);
const buf = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
new GLTFLoader().parse(buf, '', (gltf) => {
  const clip = gltf.animations.find(a => a.name === anim);
  const mixer = new THREE.AnimationMixer(gltf.scene);
  const action = mixer.clipAction(clip);
  action.setLoop(THREE.LoopOnce); action.clampWhenFinished = true; action.play();  // no wrap
  const out = {names: gltf.animations.map(a => a.name), duration: clip.duration, frames: {}};
  for (const f of frames) {
    mixer.setTime(Number(f) / Number(fps));
    gltf.scene.updateMatrixWorld(true);
    const pos = {};
    gltf.scene.traverse(o => {
      const v = new THREE.Vector3(); o.getWorldPosition(v);
      if (o.name) pos[o.name] = [v.x, v.y, v.z]; });
    out.frames[f] = pos;
  }
  console.log(JSON.stringify(out));
}, (e) => { console.error(String(e)); process.exit(2); });
"""
BLENDER_JS = r'''
import json, sys
import bpy

def positions(arm, frames, offset):
    out = {}
    for f in frames:
        bpy.context.scene.frame_set(f + offset)
        for b in arm.pose.bones:
            out.setdefault(b.name, []).append(list(arm.matrix_world @ b.head))
    return out

jobs = json.load(open(sys.argv[1]))
result = []
for job in jobs:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.scene.render.fps = int(job["fps"])
    path = job["path"]
    if path.endswith(".bvh"):
        bpy.ops.import_anim.bvh(filepath=path, global_scale=1.0, frame_start=1,
                                use_fps_scale=False, update_scene_fps=False,
                                rotate_mode="NATIVE")
        offset = 1
    elif path.endswith(".fbx"):
        bpy.ops.import_scene.fbx(filepath=path, anim_offset=0.0)  # its default shifts +1
        offset = 0
    else:
        bpy.ops.import_scene.gltf(filepath=path)
        offset = 0
    arm = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    entry = {"path": path, "animations": {}}
    for name, frames in job["animations"].items():
        action = bpy.data.actions.get(name) if name else None
        if action is None and name:  # FBX import names takes "Armature|NAME"
            action = next((a for a in bpy.data.actions
                           if a.name.endswith("|" + name) or a.name.startswith(name)), None)
        if action is not None:
            arm.animation_data.action = action
            if getattr(arm.animation_data, "action_suitable_slots", None):
                arm.animation_data.action_slot = arm.animation_data.action_suitable_slots[0]
        rng = list(action.frame_range) if action is not None else []
        entry["animations"][name] = {"found": action is not None or not name,
                                     "frame_range": rng,
                                     "positions": positions(arm, frames, offset)}
    result.append(entry)
json.dump(result, open(sys.argv[2], "w"))
'''


def _frames(n_frames: int) -> list[int]:
    return sorted({int(round(x)) for x in np.linspace(0, n_frames - 1, N_FRAMES)})


def choreograph(song: Path | None, outdir: Path, with_fbx: bool):
    """Choreograph ``song`` (None: the demo song) and export everything; returns the motion,
    the library and the used dance ids."""
    from choreo_studio.core.choreography.engine import load_engine
    from choreo_studio.core.commands.auto import _song_source
    from choreo_studio.core.export.clips import ClipFiles, used_dances
    from choreo_studio.core.phrases.song import open_song
    from choreo_studio.core.project import session

    engine = load_engine("", "", use_model=False)
    source, title = _song_source(str(song) if song else None, outdir)
    seg = session.start(engine, open_song(source))
    motion = session.render(engine, seg, 30.0)
    kinds = ["timeline", "bvh", "glb"] + (["fbx"] if with_fbx else [])
    session.export(engine, seg, outdir, kinds=kinds, fps=30.0, song_name=title, motion=motion,
                   clips=ClipFiles(glb="one", bvh=True))
    return motion, engine.library, used_dances(seg.choreography), title


def validate(validator: str | None, files: list[Path]) -> list[tuple[str, bool, str]]:
    """Khronos validator result per glb: (name, passed, detail)."""
    if not validator or not shutil.which("node"):
        return [("validator", True, "skipped: no node or CHOREO_GLTF_VALIDATOR")]
    done = subprocess.run(["node", "-e", VALIDATE_JS, *map(str, files)], cwd=validator,
                          capture_output=True, text=True, timeout=300, check=True)
    out = []
    for path, r in json.loads(done.stdout).items():
        ok = r["errors"] == 0 and r["warnings"] == 0
        out.append((f"validator {Path(path).name}", ok,
                    f"{r['errors']} errors, {r['warnings']} warnings {r['first'] or ''}"))
    return out


def threejs_checks(folder: str | None, glb: Path, animations: dict[str, tuple[np.ndarray,
                   list[int]]], joints: list[str]) -> list[tuple[str, bool, str]]:
    """three.js GLTFLoader + AnimationMixer under node: bone world positions vs our FK."""
    if not folder or not shutil.which("node"):
        return [("three.js", True, "skipped: no node or CHOREO_THREEJS")]
    script = Path(folder) / "choreo_check.mjs"  # beside node_modules, so imports resolve
    script.write_text(THREE_JS)
    out = []
    for name, (fk, frames) in animations.items():
        done = subprocess.run(["node", str(script), str(glb), name, "30", *map(str, frames)],
                              cwd=folder, capture_output=True, text=True, timeout=300,
                              check=True)
        got = json.loads(done.stdout)["frames"]
        worst = max(float(np.abs(np.array(got[str(f)][joint]) * 100.0 - fk[f, j]).max())
                    for j, joint in enumerate(joints) for f in frames)
        out.append((f"three.js {glb.name} [{name}]", worst <= TOLERANCE_CM,
                    f"max bone error {worst:.5f} cm over {len(frames)} frames"))
    return out


def blender_positions(python: str, jobs: list[dict]) -> list[dict]:
    """Run the Blender import script over ``jobs``; its JSON result."""
    with tempfile.TemporaryDirectory() as tmp:
        script, job_file, out = Path(tmp) / "b.py", Path(tmp) / "jobs.json", Path(tmp) / "o.json"
        script.write_text(BLENDER_JS)
        job_file.write_text(json.dumps(jobs))
        subprocess.run([python, str(script), str(job_file), str(out)], capture_output=True,
                       text=True, timeout=1800, check=True)
        return json.loads(out.read_text())


def to_ours(blender_xyz: np.ndarray, scale_cm: float) -> np.ndarray:
    """Blender's Z-up world (x, y, z) → our Y-up (x, z, -y), in cm."""
    p = np.asarray(blender_xyz, dtype=np.float64) * scale_cm
    return np.stack([p[:, 0], p[:, 2], -p[:, 1]], axis=1)


def compare(entry: dict, name: str, fk: np.ndarray, joints: list[str], frames: list[int],
            scale_cm: float, n_frames: int | None) -> tuple[str, bool, str]:
    """(label, passed, detail) for one animation of one imported file."""
    label = f"blender {Path(entry['path']).name}" + (f" [{name}]" if name else "")
    anim = entry["animations"][name]
    if not anim["found"]:
        return label, False, "animation not found"
    errors = []
    for j, joint in enumerate(joints):
        got = anim["positions"].get(joint)
        if got is None:
            return label, False, f"no bone {joint}"
        errors.append(np.abs(to_ours(got, scale_cm) - fk[frames, j]).max())
    worst = float(max(errors))
    detail = f"max bone error {worst:.5f} cm over {len(frames)} frames"
    ok = worst <= TOLERANCE_CM
    if n_frames is not None and anim["frame_range"]:
        span = int(round(anim["frame_range"][1] - anim["frame_range"][0])) + 1
        detail += f", {span} frames (ours {n_frames})"
        ok = ok and span == n_frames
    return label, ok, detail


def check_song(song: Path | None, out: Path, python: str | None, validator: str | None,
               threejs: str | None = None) -> list[tuple[str, bool, str]]:
    from choreo_studio.core.export.clips import clip_motion, clip_names

    motion, library, used, title = choreograph(song, out, with_fbx=python is not None)
    results = [("song", True, f"{title}: {motion.duration_s:.1f} s, {len(used)} clips")]
    results += validate(validator, [out / "dance.glb", out / "clips.glb"])
    joints = motion.skeleton.joint_names
    results += threejs_checks(threejs, out / "dance.glb",
                              {"arrangement": (motion.fk(), _frames(motion.n_frames))}, joints)
    first = {clip_names(used)[d]: clip_motion(library.phrase(d)) for d in used[:2]}
    results += threejs_checks(threejs, out / "clips.glb",
                              {n: (m.fk(), _frames(m.n_frames)) for n, m in first.items()},
                              joints)
    if python is None:
        return results + [("blender", True, "skipped: no bpy (pip install bpy on Python 3.11 "
                                              "or set CHOREO_BLENDER_PYTHON)")]
    names = clip_names(used)
    frames = _frames(motion.n_frames)
    clips = {names[d]: clip_motion(library.phrase(d)) for d in used}
    jobs = [{"path": str(out / "dance.bvh"), "fps": 30, "animations": {"": frames}},
            {"path": str(out / "dance.glb"), "fps": 30, "animations": {"arrangement": frames}},
            {"path": str(out / "dance.fbx"), "fps": 30, "animations": {"arrangement": frames}},
            {"path": str(out / "clips.glb"), "fps": 30,
             "animations": {n: _frames(m.n_frames) for n, m in clips.items()}}]
    jobs += [{"path": str(out / f"clip-{n}.bvh"), "fps": 30, "animations": {"": _frames(
        m.n_frames)}} for n, m in list(clips.items())[:3]]
    entries = blender_positions(python, jobs)
    fk = motion.fk()
    results.append(compare(entries[0], "", fk, joints, frames, 1.0, None))
    results.append(compare(entries[1], "arrangement", fk, joints, frames, 100.0,
                           motion.n_frames))
    results.append(compare(entries[2], "arrangement", fk, joints, frames, 100.0, None))
    for name, clip in clips.items():
        results.append(compare(entries[3], name, clip.fk(), joints, _frames(clip.n_frames),
                               100.0, clip.n_frames))
    for entry, clip in zip(entries[4:], list(clips.values())[:3], strict=True):
        results.append(compare(entry, "", clip.fk(), joints, _frames(clip.n_frames), 1.0, None))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(Path(__file__).resolve().parents[1].parent
                                                       / "shared" / "data"))
    parser.add_argument("--blender-python", default=os.environ.get("CHOREO_BLENDER_PYTHON"))
    parser.add_argument("--validator", default=os.environ.get("CHOREO_GLTF_VALIDATOR"))
    parser.add_argument("--threejs", default=os.environ.get("CHOREO_THREEJS"),
                        help="a folder where `npm install three` was run")
    parser.add_argument("--out", help="keep the exports in this folder")
    parser.add_argument("--demo-only", action="store_true", help="skip the real song")
    args = parser.parse_args()
    from choreo_studio.core.export.fbx import blender_python

    if args.blender_python:
        os.environ["CHOREO_BLENDER_PYTHON"] = args.blender_python
    python = blender_python()
    real = Path(args.data) / "tang2018" / "DANCE_W_1" / "audio.ogg"
    songs = [None] + ([real] if real.is_file() and not args.demo_only else [])
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, song in enumerate(songs):
            out = Path(args.out or tmp) / f"song{i}"
            for label, ok, detail in check_song(song, out, python, args.validator,
                                                args.threejs):
                failed += not ok
                print(f"{'ok  ' if ok else 'FAIL'} {label}: {detail}", flush=True)
    if not real.is_file():
        print(f"skipped the real song: {real} not found")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
