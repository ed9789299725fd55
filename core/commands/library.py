"""`choreo library import|info|preview`: build a dance library from BVH files, summarise it,
and draw its phrases (animated GIF or a PNG contact sheet).

LIB may be a library folder or ``demo`` for the bundled demo library.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from choreo_studio.core.atomic_io import check_output_file, check_output_folder
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.progress import ProgressFn, cli_stage


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `choreo library` with its import, info and preview actions."""
    parser = subparsers.add_parser(
        "library", help="import, inspect and preview dance-phrase libraries",
        description="Build a dance library from BVH files, show what is in one, or draw phrases.",
    )
    sub = parser.add_subparsers(dest="library_command", metavar="ACTION")

    imp = sub.add_parser(
        "import", help="build a library from a folder of takes (BVH of any rig, Tang "
        "dances, keypoints)",
        description="Takes: BVH files of any common rig (CMU, Mixamo, HumanIK, Bandai, _JNT, "
        "Biped...), Tang et al. dance folders (skeletons.json + config.json + song) and N×J×3 "
        ".npz/.npy keypoints, all retargeted onto one skeleton (the first take's, or --target). "
        "Counts come from the take's song (a same-named audio file; Tang: its song), a sidecar "
        "beats_s list, --bpm, or the motion's own beats; takes long enough are cut into phrases "
        "of 2 bars (--bars, --counts). Style comes from the sub-folder name, a sidecar "
        "TAKE.json, or --style. Sidecar keys: style, energy (1-3), bpm, first_beat_s, beats_s, "
        "beats_per_bar, bars, cut, n_counts, name, tags, unit, up, song; other keys are kept "
        "in the phrase's source. A rig_map.json in the folder maps odd joint names "
        '({"joint": "LeftArm"}). Takes that cannot be read are listed and skipped.',
    )
    imp.add_argument("folder", help="folder holding the takes (searched recursively)")
    imp.add_argument("-o", "--output", required=True, help="library folder to write")
    imp.add_argument("--name", help="library name (default: the folder name)")
    imp.add_argument("--style", help="style for clips without sub-folder or sidecar style")
    imp.add_argument("--energy", type=int, choices=(1, 2, 3),
                     help="energy level for all clips (default: from speed, in thirds)")
    imp.add_argument("--bpm", type=float, help="tempo of the clips (default: estimated)")
    imp.add_argument("--first-beat", type=float, default=0.0, dest="first_beat_s",
                     help="time in seconds of the first count (default 0)")
    imp.add_argument("--cut", action=argparse.BooleanOptionalAction, default=None,
                     help="cut every take into phrases (--no-cut: one phrase per take; "
                     "default: cut takes long enough for two phrases)")
    imp.add_argument("--counts", type=int, default=None, dest="n_counts",
                     help="counts per phrase (default: --bars bars of the take's meter)")
    imp.add_argument("--bars", type=int, default=2, help="bars per phrase (default 2)")
    imp.add_argument("--unit", default="auto", choices=("auto", "cm", "m", "mm", "inch", "cmu"),
                     help="length unit of the files (auto: from the dancer's height; cmu: the "
                     "CMU database's 1/0.45 inch)")
    imp.add_argument("--up", default="auto", choices=("auto", "y", "z"),
                     help="up axis of the files (auto: the axis the dancer stands along)")
    imp.add_argument("--target", help="skeleton to put the library on: 'demo' or a BVH file "
                     "(default: the first take's)")
    imp.add_argument("--jobs", type=int, default=None,
                     help="worker processes for the takes (default: one per CPU core, at most "
                     "8, when the takes are long enough to pay for starting them; 1 imports in "
                     "this process)")
    imp.set_defaults(func=run_import)

    info = sub.add_parser("info", help="summarise a library (or 'demo')")
    info.add_argument("library", help="library folder or 'demo'")
    info.add_argument("--phrases", action="store_true", help="list every phrase")
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.set_defaults(func=run_info)

    prev = sub.add_parser(
        "preview", help="draw phrases: animated GIF or PNG contact sheet",
        description="With -o out.gif: an animation of the phrase(s) in a row, counts flashing. "
        "With -o out.png: a contact sheet, one row per phrase, one pose per count.",
    )
    prev.add_argument("library", help="library folder or 'demo'")
    prev.add_argument("ids", nargs="*",
                      help="phrase ids (default: --style, else each style in turn)")
    prev.add_argument("-o", "--output", required=True, help="out.gif or out.png")
    prev.add_argument("--style", help="preview phrases of this style")
    prev.add_argument("--limit", type=int, default=12, help="at most this many phrases (12)")
    prev.set_defaults(func=run_preview)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def open_library(spec: str, progress: ProgressFn):
    """The library folder ``spec``, or the demo library for ``demo``."""
    from choreo_studio.core.library.library import Library

    if spec == "demo" and not Path(spec).exists():
        from choreo_studio.resources.demo_library import load_demo_library

        return load_demo_library(progress)
    return Library.load(spec, progress)


def run_import(args: argparse.Namespace) -> int:
    """`choreo library import DIR -o LIB`."""
    from choreo_studio.core.library.importing import ImportOptions, import_library

    options = ImportOptions(style=args.style, energy=args.energy, bpm=args.bpm,
                            first_beat_s=args.first_beat_s, cut=args.cut,
                            n_counts=args.n_counts, bars=args.bars, unit=args.unit, up=args.up,
                            target=args.target, jobs=args.jobs)
    if args.jobs is not None and args.jobs < 1:
        raise ChoreoError(f"--jobs {args.jobs}: give 1 or more worker processes")
    if args.n_counts is not None and args.n_counts < 1:
        raise ChoreoError(f"--counts {args.n_counts}: a phrase needs at least one count")
    if args.bars < 1:
        raise ChoreoError(f"--bars {args.bars}: a phrase needs at least one bar")
    check_output_folder(args.output)
    with cli_stage("import") as progress:
        library, report = import_library(args.folder, args.name, options, progress)
        library.save(args.output)
    for line in report.skipped:
        print(f"skipped: {line}", file=sys.stderr)
    for line in report.notes:
        print(f"  note: {line}")
    for take, n in report.phrases.items():
        fk = report.fk_error_cm.get(take)
        print(f"  {take}: {n} phrase{'s' if n != 1 else ''}, dancer "
              f"{report.heights_cm[take]:.0f} cm" + (f", fit error {fk:.1f} cm" if fk else ""))
    print(f"wrote {args.output}: {len(library)} phrases from {len(report.phrases)} takes"
          + (f" ({len(report.skipped)} skipped)" if report.skipped else "")
          + f", styles {', '.join(library.styles)}, fingerprint {library.fingerprint}")
    return 0


def summary(library) -> dict:
    """Counts per style and energy, lengths and tempi, for `info`."""
    from choreo_studio.core.motion.dancer import HEIGHT_MEANS

    durations = [p.duration_s for p in library.phrases]
    m0 = library.transition_prior
    return {
        "name": library.name,
        "fingerprint": library.fingerprint,
        "n_phrases": len(library),
        "n_joints": library.skeleton.n_joints,
        "skeleton_height_cm": round(library.skeleton.height_cm(), 1),
        "dancer_height_cm": _dancer_height(library),
        "dancer_height_means": HEIGHT_MEANS,
        "fps": sorted({p.motion.fps for p in library.phrases}),
        "styles": dict(sorted(Counter(p.style for p in library.phrases).items())),
        "energy": dict(sorted(Counter(p.energy_label for p in library.phrases).items())),
        "counts": dict(sorted(Counter(p.n_counts for p in library.phrases).items())),
        "bpm_range": [min(p.bpm for p in library.phrases), max(p.bpm for p in library.phrases)],
        "duration_s_range": [round(min(durations), 2), round(max(durations), 2)],
        "total_minutes": round(sum(durations) / 60.0, 1),
        "transition_prior_range": [float(m0.min()), float(m0.max())] if m0.size else [],
    }


def _dancer_height(library) -> float | None:
    """The dancer's standing height over the library's phrases (None: not a humanoid rig)."""
    from choreo_studio.core.motion.dancer import typical_height
    from choreo_studio.core.motion.rig_mapping import map_rig, missing_joints

    mapping = map_rig(library.skeleton)
    if missing_joints(mapping):
        return None
    motions = [p.motion for p in library.phrases]
    return round(typical_height(motions, mapping["Head"], mapping["Hips"]), 1)


def run_info(args: argparse.Namespace) -> int:
    """`choreo library info LIB`."""
    with cli_stage("load") as progress:
        library = open_library(args.library, progress)
    info = summary(library)
    if args.json:
        if args.phrases:
            info["phrases"] = [
                {"id": p.id, "name": p.name, "style": p.style, "energy": p.energy,
                 "n_counts": p.n_counts, "bpm": p.bpm, "descriptors": p.descriptors}
                for p in library.phrases
            ]
        print(json.dumps(info, indent=1))
        return 0
    print(f"library {info['name']}  fingerprint {info['fingerprint']}")
    height = info["dancer_height_cm"]
    print(f"  {info['n_phrases']} phrases, {info['total_minutes']} min of motion, dancer "
          + (f"{height:.0f} cm tall ({info['dancer_height_means']})" if height is not None
             else "height unknown")
          + f", skeleton {info['n_joints']} joints, fps {info['fps']}")
    print("  styles: " + ", ".join(f"{k} {v}" for k, v in info["styles"].items()))
    print("  energy: " + ", ".join(f"{k} {v}" for k, v in info["energy"].items()))
    print(f"  counts per phrase: {info['counts']}, BPM {info['bpm_range'][0]:.0f}-"
          f"{info['bpm_range'][1]:.0f}, length {info['duration_s_range'][0]}-"
          f"{info['duration_s_range'][1]} s")
    if info["transition_prior_range"]:
        lo, hi = info["transition_prior_range"]
        print(f"  transition prior M0: {len(library)}x{len(library)}, values {lo:.2f}-{hi:.2f}")
    if args.phrases:
        print(f"  {'id':<22} {'style':<9} {'energy':<7} {'counts':>6} {'bpm':>5} "
              f"{'speed cm/s':>10} {'extent cm':>9} {'beats/count':>11}")
        for p in library.phrases:
            d = p.descriptors
            print(f"  {p.id:<22} {p.style:<9} {p.energy_label:<7} {p.n_counts:>6} {p.bpm:>5.0f} "
                  f"{d.get('speed_cm_s', 0):>10.1f} {d.get('extent_cm', 0):>9.1f} "
                  f"{d.get('beats_per_count', 0):>11.2f}")
    return 0


def _round_robin(library) -> list:
    """Phrases taken in turn from each style (a sampler of the whole library)."""
    by_style: dict[str, list] = {}
    for p in library.phrases:
        by_style.setdefault(p.style, []).append(p)
    queues = list(by_style.values())
    order = []
    for i in range(max(len(q) for q in queues)):
        order += [q[i] for q in queues if i < len(q)]
    return order


def run_preview(args: argparse.Namespace) -> int:
    """`choreo library preview LIB [ID...] -o out.gif|png`."""
    from choreo_studio.core.export.preview import contact_sheet, save_gif
    from choreo_studio.core.motion.motion import concatenate

    check_output_file(args.output)
    with cli_stage("load") as progress:
        library = open_library(args.library, progress)
    if args.ids:
        phrases = [library.phrase(i) for i in args.ids]
    elif args.style:
        phrases = [p for p in library.phrases if p.style == args.style]
        if not phrases:
            raise ChoreoError(f"library {library.name}: no phrases of style {args.style!r} — "
                              f"styles: {', '.join(library.styles)}")
    else:
        phrases = _round_robin(library)
    phrases = phrases[: max(args.limit, 1)]
    out = Path(args.output)
    suffix = out.suffix.lower()
    if suffix == ".png":
        contact_sheet(phrases, out)
    elif suffix == ".gif":
        motion = concatenate([p.motion for p in phrases])
        counts, start = [], 0
        for p in phrases:
            counts += [start + int(c) for c in p.count_frames]
            start += p.motion.n_frames
        title = phrases[0].id if len(phrases) == 1 else f"{len(phrases)} phrases"
        save_gif(motion, out, counts, title)
    else:
        raise ChoreoError(f"{out}: use a .gif (animation) or .png (contact sheet) file name")
    print(f"wrote {out} ({len(phrases)} phrase{'s' if len(phrases) != 1 else ''})")
    return 0
