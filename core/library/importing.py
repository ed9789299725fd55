"""Building dance libraries: `choreo library import` from folders of takes of any common rig.

Takes understood by :func:`import_library` (sub-folders searched):

    DIR/<style>/<take>.bvh            a BVH take of any rig (CMU, Mixamo, HumanIK, Bandai, Biped…)
    DIR/<style>/<take>.glb|.gltf      a glTF take (its first animation), any rig
    DIR/<style>/<take>.fbx            an FBX take (Mixamo, Unity), through Blender (fbx extra)
    DIR/<style>/<take>.json           optional sidecar (see ``SIDECAR_KEYS``; other keys are kept
                                      in the phrase's source, not refused)
    DIR/<style>/<take>.wav|ogg|mp3…   optional song of the take (same name): counts from its beats
    DIR/<dance>/skeletons.json        a Tang et al. dance folder (+ config.json + its song)
    DIR/<style>/<take>.npz|.npy       N×J×3 keypoints with joint names (AIST++ style)
    DIR/rig_map.json                  optional joint map {"joint name": "Canonical"} for odd rigs

Every take is read in centimetres, Y up (unit and up axis from the dancer, see
:mod:`motion.dancer`, unless given), recognised as a humanoid (:mod:`motion.rig_mapping`) and
put on the library's one skeleton (:mod:`motion.retarget`): the first take's, re-rested standing
when its rest pose does not stand, or the one given as ``target`` (``demo`` or a BVH file).
Takes whose skeleton is the library's exactly need no recognition.

Counts: from the take's song (the take cut on the song's music phrases, see
:mod:`library.music_cut`), else a sidecar ``beats_s`` list (``downbeats``: indices of bar
starts, the first one starts the first phrase), else ``bpm``/``first_beat_s``, else
the motion's own kinematic beats (a drifting beat list, :mod:`motion.take_beats`), idle ends
trimmed. A take long enough for two phrases is cut into phrases of 2 bars (8 counts in 4/4,
6 in 3/4; ``n_counts`` or ``bars`` to change); each phrase keeps its source (take, start frame).
A bad take is one line in the report and the others still import.

The takes after the first are imported in worker processes (:mod:`library.parallel`) once the
first ones have set what all share (the library skeleton, frame rate and positions rest), so
the library is the one a take-by-take import gives.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.json_files import (
    Where,
    check_str,
    read_json_file,
    require_bool,
    require_float,
    require_int,
    require_list,
    require_numbers,
    require_object,
    require_str,
)
from choreo_studio.core.library.library import DancePhrase, Library
from choreo_studio.core.library.parallel import ordered_map, worker_count
from choreo_studio.core.library.takes import (
    FBX_SUFFIX,
    GLTF_SUFFIXES,
    STYLE_METERS,
    Take,
    read_take,
)
from choreo_studio.core.library.transition_prior import build_transition_prior
from choreo_studio.core.motion.motion import Motion
from choreo_studio.core.motion.motion_descriptors import body_frame_positions, describe
from choreo_studio.core.motion.retarget import grounded, retarget
from choreo_studio.core.motion.rig_mapping import require_humanoid
from choreo_studio.core.motion.skeleton import Skeleton
from choreo_studio.core.motion.take_beats import active_span, beat_envelope, tempo_bpm, track_beats
from choreo_studio.core.progress import ProgressFn, no_progress

SIDECAR_KEYS = {"style", "energy", "bpm", "first_beat_s", "cut", "n_counts", "name", "tags",
                "unit", "up", "beats_s", "downbeats", "beats_per_bar", "bars", "song"}
DEFAULT_BARS = 2


def make_phrase(
    phrase_id: str, name: str, style: str, energy: int, motion: Motion, count_frames: np.ndarray,
    bpm: float, tags: list[str] | None = None, source: dict[str, Any] | None = None,
    positions_cm: np.ndarray | None = None,
) -> DancePhrase:
    """A DancePhrase with its descriptors and start/end pose features computed;
    ``positions_cm``: the motion's forward kinematics when the caller has it (a take's, sliced)."""
    counts = np.asarray(count_frames, dtype=np.int64)
    positions = motion.fk() if positions_cm is None else positions_cm
    body = body_frame_positions(motion, positions)  # = pose_features of every frame
    first = int(counts[0]) if len(counts) else 0
    return DancePhrase(
        id=phrase_id, name=name, style=style, energy=int(energy), tags=list(tags or []),
        n_counts=len(counts), bpm=float(bpm), count_frames=counts, motion=motion,
        descriptors=describe(motion, counts, positions),
        start_pose=body[first].reshape(-1).astype(np.float32),
        end_pose=body[-1].reshape(-1).astype(np.float32),
        source=dict(source or {}),
    )


def assemble_library(name: str, phrases: list[DancePhrase]) -> Library:
    """A Library over ``phrases`` with its transition prior M0 and fingerprint."""
    if not phrases:
        raise ChoreoError(f"library {name}: no phrases — nothing to build")
    return Library(name, phrases[0].motion.skeleton, phrases, build_transition_prior(phrases))


@dataclass
class ImportOptions:
    """Command-line defaults; a take's sidecar JSON overrides them.

    ``cut``: None cuts takes long enough for two phrases; ``n_counts``: None means ``bars``
    bars of the take's meter; ``unit``/``up``: ``auto`` measures the dancer; ``target``: None
    (the first take's skeleton), ``demo`` or a BVH file whose skeleton the library uses;
    ``jobs``: worker processes for the takes after the first (None: one per core when the
    takes are long enough to pay for starting them, see :mod:`library.parallel`; 1: none).
    """

    style: str | None = None
    energy: int | None = None
    bpm: float | None = None
    first_beat_s: float = 0.0
    cut: bool | None = None
    n_counts: int | None = None
    bars: int = DEFAULT_BARS
    unit: str = "auto"
    up: str = "auto"
    target: str | None = None
    jobs: int | None = None


@dataclass
class ImportReport:
    """What an import did, per take: phrases made, dancer height, FK error, what was skipped."""

    phrases: dict[str, int] = field(default_factory=dict)
    heights_cm: dict[str, float] = field(default_factory=dict)
    fk_error_cm: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    workers: int = 1  # processes the takes after the first ran in (1: this one)


def read_sidecar(take_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The take's sidecar (``take.json``): typed known fields, and the other keys as they are."""
    path = take_path.with_suffix(".json")
    if not path.is_file() or take_path.suffix.lower() == ".json":
        return {}, {}
    fix = "fix the sidecar (see choreo library import --help)"
    where = Where(str(path), fix)
    data = require_object(read_json_file(path, fix=fix, max_bytes=1024 * 1024), where)
    foreign = {k: v for k, v in data.items() if k not in SIDECAR_KEYS}
    if "style" in data and not isinstance(data["style"], str):
        foreign["style"] = data["style"]  # a dataset's style code (Bandai: 0): kept, not a name
    checks = {
        "style": lambda k: require_str(data, k, where, max_len=200),
        "name": lambda k: require_str(data, k, where, max_len=200),
        "unit": lambda k: require_str(data, k, where, max_len=16),
        "up": lambda k: require_str(data, k, where, max_len=16),
        "song": lambda k: require_str(data, k, where, max_len=300),
        "energy": lambda k: require_int(data, k, where, lo=1, hi=3),
        "bpm": lambda k: require_float(data, k, where, lo=20.0, hi=300.0),
        "first_beat_s": lambda k: require_float(data, k, where, lo=0.0, hi=1e6),
        "cut": lambda k: require_bool(data, k, where),
        "n_counts": lambda k: require_int(data, k, where, lo=1, hi=1024),
        "beats_per_bar": lambda k: require_int(data, k, where, lo=1, hi=16),
        "bars": lambda k: require_int(data, k, where, lo=1, hi=64),
        "beats_s": lambda k: require_numbers(data, k, where, lo=0.0, min_len=2,
                                             increasing=True),
        "downbeats": lambda k: require_numbers(data, k, where, lo=0, hi=1e6, min_len=1,
                                               increasing=True).astype(int),
        "tags": lambda k: [check_str(t, where.at(k).at(i), max_len=100)
                           for i, t in enumerate(require_list(data, k, where, max_len=100))],
    }
    known = {key: checks[key](key) for key in data if key in SIDECAR_KEYS and key not in foreign}
    return known, foreign


def _folder_map(folder: Path) -> dict[str, str | None]:
    """The optional ``rig_map.json`` of the import folder: joint name -> canonical name."""
    path = folder / "rig_map.json"
    if not path.is_file():
        return {}
    fix = 'write it as {"joint name": "LeftArm", ...}'
    data = require_object(read_json_file(path, fix=fix, max_bytes=1024 * 1024),
                          Where(str(path), fix))
    return {str(k): (None if v is None else str(v)) for k, v in data.items()}


def find_takes(folder: Path) -> list[Path]:
    """Every take under ``folder``: BVH and glTF files, keypoint arrays and Tang dance folders."""
    if (folder / "skeletons.json").is_file():
        return [folder]
    takes = []
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix.lower() in (".bvh", ".npy", ".npz", FBX_SUFFIX,
                                                *GLTF_SUFFIXES):
            takes.append(p)
        elif p.is_dir() and (p / "skeletons.json").is_file() and (p / "config.json").is_file():
            takes.append(p)
    return takes


@dataclass
class _Target:
    """The library skeleton and its canonical mapping (None: not a recognised humanoid)."""

    skeleton: Skeleton
    mapping: dict[str, int] | None


def _target_from_option(spec: str) -> _Target:
    """The skeleton named by ``--target``: ``demo`` or a BVH file."""
    if spec == "demo" and not Path(spec).exists():
        from choreo_studio.resources.demo_library import load_demo_library

        skeleton = load_demo_library().skeleton
    else:
        from choreo_studio.core.motion.bvh import read_bvh_file

        skeleton = read_bvh_file(spec, "cm").motion.skeleton
    mapping = require_humanoid(skeleton, spec)
    if mapping["Hips"] != 0:
        raise ChoreoError(f"{spec}: the target skeleton's root must be its hips — re-export it "
                          "without a world root")
    return _Target(skeleton, mapping)


def _same_rest(a: Skeleton, b: Skeleton) -> bool:
    """Same hierarchy and bone directions (lengths may differ): rotations carry over as is."""
    if not a.same_hierarchy(b):
        return False
    la = np.linalg.norm(a.offsets_cm[1:], axis=1)
    lb = np.linalg.norm(b.offsets_cm[1:], axis=1)
    both = (la > 1e-6) & (lb > 1e-6)
    cos = np.sum(a.offsets_cm[1:][both] * b.offsets_cm[1:][both], axis=1) / (la * lb)[both]
    return bool(np.all(cos > 0.999) and np.all((la > 1e-6) == (lb > 1e-6)))


def _copy_onto(motion: Motion, skeleton: Skeleton) -> Motion:
    """A clip of the same rig on the library skeleton (root path scaled by the height ratio)."""
    sk = motion.skeleton
    if np.allclose(sk.offsets_cm[1:], skeleton.offsets_cm[1:], atol=1e-3):
        return Motion(skeleton, motion.fps, motion.rotations, motion.root_pos_cm,
                      motion.local_pos_cm)
    ratio = np.ptp(skeleton.rest_positions_cm()[:, 1]) / max(
        np.ptp(sk.rest_positions_cm()[:, 1]), 1e-6
    )
    return Motion(skeleton, motion.fps, motion.rotations, motion.root_pos_cm * ratio, None)


def _onto_target(take: Take, target: _Target, overrides: dict) -> Motion:
    """The take's motion on the library skeleton (copied, or retargeted through the humanoid)."""
    motion = take.motion
    if _same_rest(motion.skeleton, target.skeleton):
        return _copy_onto(motion, target.skeleton)
    if target.mapping is None:
        raise ChoreoError(
            f"{take.path}: its skeleton differs from the library's, which is not a recognised "
            "humanoid — map the first take's joints in rig_map.json or import it separately"
        )
    mapping = take.mapping or require_humanoid(motion.skeleton, str(take.path), overrides)
    return retarget(motion, mapping, target.skeleton, target.mapping)


def _beats_for(take: Take, motion: Motion, options: ImportOptions, side: dict,
               positions: np.ndarray) -> tuple[np.ndarray, str, dict[str, Any]]:
    """Count frames (fractional, in ``motion``'s frames) of a take without a song, how they
    were found, and what to record; ``positions``: the motion's forward kinematics."""
    fps = motion.fps
    if "beats_s" in side:  # phrases start on the first downbeat given (indices into beats_s)
        first = int(side["downbeats"][0]) if "downbeats" in side else 0
        return np.asarray(side["beats_s"])[first:] * fps, "sidecar-beats", {}
    bpm = side.get("bpm", options.bpm)
    if bpm is not None:
        first = float(side.get("first_beat_s", options.first_beat_s))
        period = 60.0 / float(bpm) * fps
        n = int(math.floor((motion.n_frames - first * fps) / period + 1e-6))
        return first * fps + np.arange(max(n, 0)) * period, "bpm-given", {}
    start, end = active_span(positions, fps)
    envelope = beat_envelope(positions[start:end], fps)
    bpm_k = tempo_bpm(envelope, fps)
    beats = track_beats(envelope, fps, bpm_k) + start
    return beats, "bpm-estimated", {"active_frames": [int(start), int(end)]}


def _cut_on_beats(beats: np.ndarray, n_frames: int, n_counts: int, cut: bool
                  ) -> list[tuple[int, int, np.ndarray]]:
    """(start, end, count frames) of one phrase over all beats, or of ``n_counts``-beat
    phrases when ``cut``; a phrase ends where the next count would fall."""
    beats = beats[(beats >= 0) & (beats < n_frames - 0.5)]
    if len(beats) == 0:
        return []
    groups = [beats] if not cut else [beats[k : k + n_counts]
                                      for k in range(0, len(beats) - n_counts + 1, n_counts)]
    out = []
    for g in groups:
        step = float(np.median(np.diff(beats))) if len(beats) > 1 else float(n_frames)
        after = beats[beats > g[-1] + 1e-9]
        nxt = after[0] if len(after) else g[-1] + step
        start, end = int(round(g[0])), min(n_frames, int(round(nxt)))
        counts = np.round(g).astype(np.int64) - start
        counts = counts[counts < end - start]
        if end - start >= 2 and len(counts):
            out.append((start, end, counts))
    return out


def _music_cuts(take: Take, motion: Motion, positions: np.ndarray, bars: int,  # noqa: ANN202
                report: ImportReport):
    """The take cut on its song, or None (no song, or one without a beat: noted in the report,
    and the take is counted from its own motion)."""
    if take.song is None:
        return None
    from choreo_studio.core.library.song_counts import music_cuts

    try:
        return music_cuts(take, motion, bars, positions)
    except ChoreoError as exc:
        report.notes.append(f"{take.rel_id}: counted from the motion, its song gave no counts "
                            f"({exc})")
        return None


def _phrases_of_take(take: Take, motion: Motion, options: ImportOptions, side: dict,
                     report: ImportReport) -> list[DancePhrase]:
    """The take cut into phrases on its counts (song, sidecar beats, BPM or the motion)."""
    bars = int(side.get("bars", options.bars))
    tags = [str(t) for t in side.get("tags", [])]
    source_base: dict[str, Any] = {"take": take.rel_id, **take.metadata}
    if take.fk_error_cm is not None:
        source_base["fit_error_cm"] = round(take.fk_error_cm, 2)
    if take.foreign:
        source_base["sidecar"] = take.foreign
        tags += [f"{k}={v}"[:100] for k, v in take.foreign.items()
                 if isinstance(v, (str, int, float))]
    positions = motion.fk()  # one forward-kinematics pass serves the counts and every phrase
    music = _music_cuts(take, motion, positions, bars, report)
    if music is not None:
        cuts, info = music
        source_base.update(info)
        report.notes.append(f"{take.rel_id}: counts from {take.song.name} "
                            f"(time map x{info['time_map']['scale']:.4f} "
                            f"{info['time_map']['offset_s']:+.2f} s)")
        pieces = [(c.start_frame, c.end_frame, np.round(c.count_frames).astype(np.int64)
                   - c.start_frame, {"music_phrase": c.music_phrase, "section": c.section_label,
                                     "bars": c.bars}) for c in cuts]
        how, cut = "music-beats", True
    else:
        beats, how, extra = _beats_for(take, motion, options, side, positions)
        source_base.update(extra)
        meter = int(side.get("beats_per_bar", STYLE_METERS.get((take.style or "").lower(), 4)))
        n_counts = int(side.get("n_counts", options.n_counts or meter * bars))
        cut = side.get("cut", options.cut)
        if cut is None:
            cut = len(beats) >= 2 * n_counts
        pieces = [(s, e, c, {}) for s, e, c in _cut_on_beats(beats, motion.n_frames, n_counts,
                                                            bool(cut))]
        if cut and not pieces:
            raise ChoreoError(f"{take.path}: shorter than one {n_counts}-count phrase "
                              f"({len(beats)} counts found) — check the BPM or give --counts")
    if not pieces:
        raise ChoreoError(f"{take.path}: no whole phrase found on the counts — check the "
                          "BPM/beats or the song")
    style = str(side.get("style") or options.style or take.style or "unknown")
    name = str(side.get("name", take.name))
    out = []
    single = not cut
    for k, (start, end, counts, extra) in enumerate(pieces):
        counts = np.unique(counts)
        piece = motion.trim(start, end)
        bpm = 60.0 * motion.fps / float(np.median(np.diff(counts))) if len(counts) > 1 else (
            60.0 * motion.fps / max(end - start, 1))
        if how == "bpm-given":
            bpm = float(side.get("bpm", options.bpm))
        pid = take.rel_id if single else f"{take.rel_id}#{k + 1:02d}"
        pname = name if single else f"{name} {k + 1}"
        source = {**source_base, "start_frame": int(start), "fps": float(motion.fps), **extra}
        out.append(make_phrase(pid, pname, style, int(side.get("energy", options.energy) or 2),
                               piece, counts, bpm, tags + ([how] if how == "bpm-estimated" else []),
                               source, positions[start:end]))
    return out


def _take_phrases(take: Take, side: dict, target: _Target, overrides: dict,
                  options: ImportOptions, fps: float | None, report: ImportReport
                  ) -> list[DancePhrase]:
    """One take on the library skeleton, grounded, at the library frame rate ``fps`` (None:
    its own, for the first take), cut."""
    motion = _onto_target(take, target, overrides)
    if target.mapping is not None:  # the lowest point of the body (feet, heels, toes) on y = 0
        motion = grounded(motion, [])
    if fps is not None and abs(motion.fps - fps) > 1e-6:
        report.notes.append(f"{take.rel_id}: resampled from {motion.fps:g} to {fps:g} fps")
        motion = motion.resample(fps)
    return _phrases_of_take(take, motion, options, side, report)


@dataclass(frozen=True)
class _Context:
    """What every take of an import shares: the options, the rig map, the rest directions of
    positions takes, the library skeleton and frame rate (None until the first take sets them)."""

    folder: Path
    options: ImportOptions
    overrides: dict
    rest_like: Skeleton | None = None
    target: _Target | None = None
    fps: float | None = None


@dataclass
class _TakeResult:
    """One take imported: its phrases and figures, or the one line saying why it was skipped."""

    rel_id: str = ""
    phrases: list[DancePhrase] = field(default_factory=list)
    skipped: str | None = None
    height_cm: float = 0.0
    fk_error_cm: float | None = None
    rated: bool = False  # the sidecar or the options gave the energy
    notes: list[str] = field(default_factory=list)


def _read_one(path: Path, ctx: _Context) -> tuple[Take, dict]:
    """The take at ``path`` and its sidecar (ChoreoError: not readable)."""
    side, foreign = read_sidecar(path)
    take = read_take(path, ctx.folder, side, foreign, ctx.options.unit, ctx.options.up,
                     ctx.overrides, ctx.rest_like)
    return take, side


def _cut_one(take: Take, side: dict, ctx: _Context) -> _TakeResult:
    """A read take on the library skeleton, cut into phrases (or the line why not)."""
    report = ImportReport()
    try:
        made = _take_phrases(take, side, ctx.target, ctx.overrides, ctx.options, ctx.fps,
                             report)
    except ChoreoError as exc:
        return _TakeResult(take.rel_id, skipped=str(exc), notes=report.notes)
    return _TakeResult(take.rel_id, made, None, take.height_cm, take.fk_error_cm,
                       side.get("energy", ctx.options.energy) is not None, report.notes)


def _import_take(job: tuple[Path, _Context]) -> _TakeResult:
    """One take read and cut (a worker process's job, see :mod:`library.parallel`)."""
    path, ctx = job
    try:
        take, side = _read_one(path, ctx)
    except ChoreoError as exc:
        return _TakeResult(skipped=str(exc))
    return _cut_one(take, side, ctx)


def _is_positions(path: Path) -> bool:
    """A positions take (Tang folder or keypoint array): its rest comes from the first one."""
    return path.is_dir() or path.suffix.lower() in (".npy", ".npz")


def _first_takes(takes: list[Path], ctx: _Context, progress: ProgressFn
                 ) -> tuple[list[_TakeResult], _Context]:
    """The takes imported one by one, in order, until what the others share is known: the
    library skeleton (the first humanoid's, or the first take's when none is one), the frame
    rate (the first take cut) and, while positions takes remain, their rest directions."""
    results: list[_TakeResult] = []
    pending: list[tuple[int, Take, dict]] = []  # read before the library skeleton was known

    def settled(i: int) -> bool:
        return ctx.target is not None and ctx.fps is not None and (
            ctx.rest_like is not None or not any(_is_positions(p) for p in takes[i:]))

    def cut_pending() -> None:
        nonlocal ctx
        for k, take, side in pending:
            results[k] = _cut_one(take, side, ctx)
            if ctx.fps is None and results[k].phrases:
                ctx = replace(ctx, fps=results[k].phrases[0].motion.fps)
        pending.clear()

    i = 0
    while i < len(takes) and not settled(i):
        progress(0.9 * i / len(takes), f"importing {takes[i].name}")
        results.append(_TakeResult())
        try:
            take, side = _read_one(takes[i], ctx)
        except ChoreoError as exc:
            results[i] = _TakeResult(skipped=str(exc))
            i += 1
            continue
        if ctx.rest_like is None and take.fk_error_cm is not None:
            ctx = replace(ctx, rest_like=take.motion.skeleton)
        pending.append((i, take, side))
        if ctx.target is None and take.mapping is not None:
            ctx = replace(ctx, target=_Target(take.motion.skeleton, take.mapping))
        if ctx.target is not None:
            cut_pending()
        i += 1
    if pending:  # no humanoid among the takes: the library is on the first take's skeleton
        ctx = replace(ctx, target=_Target(pending[0][1].motion.skeleton, None))
        cut_pending()
    return results, ctx


def import_library(
    folder: str | Path, name: str | None = None, options: ImportOptions | None = None,
    progress: ProgressFn = no_progress,
) -> tuple[Library, ImportReport]:
    """Build a Library from every take under ``folder`` (see the module docstring)."""
    folder = Path(folder)
    options = options or ImportOptions()
    if not folder.is_dir():
        raise ChoreoError(f"{folder}: not a folder — give the folder holding the takes")
    takes = find_takes(folder)
    if not takes:
        raise ChoreoError(f"{folder}: no .bvh files, glTF files, keypoint arrays or Tang dance "
                          "folders found (sub-folders are searched too)")
    target = _target_from_option(options.target) if options.target else None
    ctx = _Context(folder, options, _folder_map(folder), target=target)
    t0 = time.process_time()  # CPU seconds: the estimate does not grow with the machine's load
    results, ctx = _first_takes(takes, ctx, progress)
    rest = takes[len(results):]
    done = len(results)
    workers = worker_count(options.jobs, len(rest), (time.process_time() - t0) / max(done, 1))
    results += ordered_map(
        _import_take, [(p, ctx) for p in rest], workers,
        lambda f, m: progress(0.9 * (done + f * len(rest)) / len(takes), m), "take")
    report = ImportReport(workers=workers)
    phrases: list[DancePhrase] = []
    unrated: list[int] = []
    for r in results:
        report.notes += r.notes
        if r.skipped is not None:
            report.skipped.append(r.skipped)
            continue
        if not r.rated:
            unrated += list(range(len(phrases), len(phrases) + len(r.phrases)))
        for p in r.phrases:  # a worker's phrases hold a copy of the library skeleton: one object
            if p.motion.skeleton is not ctx.target.skeleton:
                p.motion.skeleton = ctx.target.skeleton
        phrases += r.phrases
        report.phrases[r.rel_id] = len(r.phrases)
        report.heights_cm[r.rel_id] = round(r.height_cm, 1)
        if r.fk_error_cm is not None:
            report.fk_error_cm[r.rel_id] = round(r.fk_error_cm, 2)
    if not phrases:
        if len(report.skipped) == 1:
            raise ChoreoError(report.skipped[0])
        raise ChoreoError(f"{folder}: none of {len(takes)} takes could be imported — first: "
                          f"{report.skipped[0] if report.skipped else 'nothing found'}")
    _rate_energy(phrases, unrated)
    progress(0.97, "building transition prior")
    return assemble_library(name or folder.name, phrases), report


def import_folder(
    folder: str | Path, name: str | None = None, options: ImportOptions | None = None,
    progress: ProgressFn = no_progress,
) -> Library:
    """:func:`import_library` without the report."""
    return import_library(folder, name, options, progress)[0]


def _rate_energy(phrases: list[DancePhrase], indices: list[int]) -> None:
    """Energy 1/2/3 by speed tertile for phrases whose sidecar gave none."""
    if not indices:
        return
    speeds = np.array([phrases[i].descriptors["speed_cm_s"] for i in indices])
    cuts = np.quantile(speeds, [1 / 3, 2 / 3]) if len(speeds) >= 3 else [np.inf, np.inf]
    for i, s in zip(indices, speeds, strict=True):
        phrases[i].energy = 1 + int(s > cuts[0]) + int(s > cuts[1])
