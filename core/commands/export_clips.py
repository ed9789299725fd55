"""`choreo export-clips [SONG | PROJECT.choreo] -o OUTDIR`: per-dance clips for runtime sequencing.

Choreographs the song (as `choreo auto` does) or reopens a saved project exactly, then writes
every dance phrase the arrangement uses as its own animation at the library's own tempo
(``clips.glb`` with one named animation per clip and/or ``clip-NAME.glb``, ``clip-NAME.bvh``,
with ``--fbx`` also ``clips.fbx`` through Blender)
and ``timeline.json`` / ``timeline.csv`` saying, per music phrase, which clip plays with what
in-point, play rate, warp map, blends and mirror. ``--arrangement`` adds the baked whole-song
``dance.bvh`` and ``dance.glb`` to the same set.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.progress import cli_stage

GLB_CHOICES = ("one", "each", "both", "none")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export-clips",
        help="write one animation per used dance phrase plus the arrangement timeline",
        description="Choreograph SONG (the bundled demo song without it) or reopen a saved "
        "PROJECT.choreo, then write each used dance phrase as its own clip at the library's "
        "tempo (glb and BVH) and timeline.json/timeline.csv with each placement's clip, "
        "in-point, play rate, warp map, blends and mirror into OUTDIR.",
    )
    parser.add_argument("source", nargs="?", help="audio file or .choreo project "
                        "(default: the bundled demo song)")
    parser.add_argument("-o", "--outdir", required=True, help="folder for the exported files")
    parser.add_argument("--library", help="dance library folder for a song (default: the "
                        "demo library; a project uses its own)")
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--model", help="model bundle (.choreomodel) trained for the library")
    model.add_argument("--no-model", action="store_true",
                       help="use the descriptor matcher even if a model exists")
    parser.add_argument("--glb", choices=GLB_CHOICES, default="one",
                        help="one: clips.glb with a named animation per clip (default); each: "
                        "clip-NAME.glb per clip; both; none")
    parser.add_argument("--no-bvh", action="store_true", help="no clip-NAME.bvh files")
    parser.add_argument("--unit", choices=("cm", "m"), default="cm",
                        help="length unit of the BVH files (default cm; m imports life-size in "
                        "Blender)")
    parser.add_argument("--fbx", action="store_true",
                        help="also write clips.fbx (every clip as an FBX take; dance.fbx with "
                        "--arrangement) through Blender: needs the fbx extra")
    parser.add_argument("--arrangement", action="store_true",
                        help="also write the whole song baked as dance.bvh and dance.glb")
    parser.add_argument("--fps", type=float, default=30.0,
                        help="frame rate of the arrangement files and timeline frames "
                        "(default 30; clips keep the library's)")
    parser.set_defaults(func=run)


def _clip_files(args: argparse.Namespace):
    from choreo_studio.core.export.clips import ClipFiles

    if args.glb == "none" and args.no_bvh:
        raise ChoreoError("export-clips: --glb none with --no-bvh writes no clips — keep one")
    if args.fbx:
        from choreo_studio.core.export.fbx import require_fbx

        require_fbx()  # before the song is analysed
    return ClipFiles(glb=None if args.glb == "none" else args.glb, bvh=not args.no_bvh,
                     unit=args.unit, fbx=args.fbx)


def _open(args: argparse.Namespace, outdir: Path):
    """(engine, session state, title) for a song or a project."""
    from choreo_studio.core.choreography.engine import load_engine
    from choreo_studio.core.project import session

    source = args.source
    if source and source.lower().endswith(".choreo"):
        from choreo_studio.core.audio.load import load_audio
        from choreo_studio.core.project.project_file import read_project

        project = read_project(source)
        with cli_stage("library") as progress:
            engine = load_engine(args.library or project.library.path or "", args.model or
                                 project.model.path or "", use_model=not args.no_model,
                                 progress=progress)
        with cli_stage("restore") as progress:
            seg, warning = session.restore(engine, project, load_audio(project.song_path),
                                           progress)
        if warning:
            print(f"warning: {warning}")
        return engine, seg, Path(project.song_path).name
    from choreo_studio.core.commands.auto import _song_source
    from choreo_studio.core.phrases.song import open_song

    with cli_stage("library") as progress:
        engine = load_engine(args.library or "", args.model or "", use_model=not args.no_model,
                             progress=progress)
    song_path, title = _song_source(source, outdir)
    with cli_stage("analyse") as progress:
        song = open_song(song_path, progress)
    if not song.phrases:
        raise ChoreoError(f"{title}: no music phrases found — is it long enough to dance to?")
    with cli_stage("choreograph") as progress:
        seg = session.start(engine, song, progress)
    return engine, seg, title


def run(args: argparse.Namespace) -> int:
    from choreo_studio.core.choreography.frame_rates import SUPPORTED_FPS
    from choreo_studio.core.project import session

    if not any(abs(args.fps - f) < 1e-6 for f in SUPPORTED_FPS):
        raise ChoreoError(f"--fps {args.fps:g}: use one of "
                          f"{', '.join(f'{f:g}' for f in SUPPORTED_FPS)}")
    clips = _clip_files(args)
    outdir = Path(args.outdir)
    if outdir.exists() and not outdir.is_dir():
        raise ChoreoError(f"{outdir}: exists and is not a folder — choose another -o OUTDIR")
    outdir.mkdir(parents=True, exist_ok=True)
    engine, seg, title = _open(args, outdir)
    kinds = ["timeline", "csv"] + (["bvh", "glb"] if args.arrangement else [])
    kinds += ["fbx"] if args.arrangement and args.fbx else []
    with cli_stage("export") as progress:
        files = session.export(engine, seg, outdir, kinds=kinds, fps=args.fps, song_name=title,
                               bvh_unit=args.unit, clips=clips, progress=progress)
    n_clips = len(set(seg.choreography.dance_ids))
    print(f"{title}: {len(seg.phrases)} phrases, {n_clips} clips from library "
          f"{engine.library.name}")
    for kind, path in files.items():
        print(f"wrote {kind.split(':')[0]:<8} {path}")
    return 0
