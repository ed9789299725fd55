"""`choreo auto [SONG] -o OUTDIR`: a whole choreography for a song, exported for game engines.

Analyses the song (the bundled demo song without SONG), scores every music phrase against the
library (a trained model bundle when one exists for it, the descriptor matcher otherwise),
decodes with the transition matrix, renders the beat-warped motion and writes timeline.json,
timeline.csv, dance.bvh and dance.glb; prints the phrase table, the scorer and the metrics.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from choreo_studio.core.choreography.frame_rates import SUPPORTED_FPS
from choreo_studio.core.clock import format_clock
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.progress import cli_stage
from choreo_studio.core.retrieval.decoder_names import DECODERS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "auto",
        help="choreograph a song automatically and export timeline, BVH, glTF and CSV",
        description="Choreograph a song (wav, flac, ogg, mp3; the bundled demo song without "
        "SONG) from a dance library and export timeline.json, timeline.csv, dance.bvh and "
        "dance.glb into OUTDIR.",
    )
    parser.add_argument("song", nargs="?", help="audio file (default: the bundled demo song)")
    parser.add_argument("-o", "--outdir", required=True, help="folder for the exported files")
    parser.add_argument("--library", help="dance library folder (default: the demo library)")
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--model", help="model bundle (.choreomodel) trained for the library "
                       "(default: a bundled model for that library, if any)")
    model.add_argument("--no-model", action="store_true",
                       help="use the descriptor matcher even if a model exists")
    parser.add_argument("--decoder", choices=DECODERS, default=DECODERS[0],
                        help="viterbi: best whole-song sequence (default); greedy: the paper's "
                        "left-to-right rescale (Eq. 6)")
    parser.add_argument("--tie-sections", action="store_true",
                        help="repeated sections (same label) get the same dances")
    parser.add_argument("--max-uses", type=int, metavar="N",
                        help="use each dance phrase at most N times")
    parser.add_argument("--allow-repeats", action="store_true",
                        help="allow the same dance on two neighbouring phrases")
    parser.add_argument("--recency", type=int, default=None, metavar="N",
                        help="no dance returns within N phrases unless the music repeats "
                        "(default 4; 0 turns it off)")
    parser.add_argument("--reuse-cost", type=float, default=None, metavar="NATS",
                        help="cost of each further use of a dance, in log-probability units "
                        "(default 1; 0 turns it off)")
    parser.add_argument("--transition-weight", type=float, default=None, metavar="W",
                        help="weight of how well dances connect vs how well they fit the music "
                        "(default 0.5)")
    parser.add_argument("--fit-floor", type=float, default=None, metavar="SHARE",
                        help="a dance fitting the music below this share of the phrase's best "
                        "fit is placed only if nothing else is left (default 0.5; 0 turns it "
                        "off)")
    parser.add_argument("--vary", type=float, default=0.0, metavar="T",
                        help="sample a varied choreography at temperature T (e.g. 1.0)")
    parser.add_argument("--seed", type=int, help="random seed for --vary")
    parser.add_argument("--fps", type=float, choices=SUPPORTED_FPS,
                        default=30.0, help="frame rate of the exported motion (default 30)")
    parser.add_argument("--unit", choices=("cm", "m"), default="cm",
                        help="length unit of dance.bvh (default cm; m imports life-size in "
                        "Blender at its default scale)")
    parser.add_argument("--fbx", action="store_true",
                        help="also write dance.fbx through Blender (needs the fbx extra)")
    parser.add_argument("--no-root-bone", action="store_true",
                        help="no floor-level Root bone above the hips in dance.glb (engines' "
                        "root motion reads it)")
    parser.add_argument("--blend", type=float, default=None, metavar="SECONDS",
                        help="crossfade between dance phrases (default 0.25 s)")
    parser.add_argument("--stage-radius", type=float, default=None, metavar="METRES",
                        help="keep the dancer within this radius of where it started: plays "
                        "turn at cuts and the path is pulled back softly, planted feet kept "
                        "(default 1.25; 0 turns both off)")
    parser.add_argument("--no-cache", action="store_true", help="ignore the analysis cache")
    parser.set_defaults(func=run)


def _options(args: argparse.Namespace):
    from choreo_studio.core.project.session import checked_decode_setting
    from choreo_studio.core.retrieval.decoding import DecodeOptions

    if args.max_uses is not None and args.max_uses < 1:
        raise ChoreoError(f"--max-uses {args.max_uses}: must be at least 1")
    if args.vary < 0:
        raise ChoreoError(f"--vary {args.vary}: the temperature must not be negative")
    chosen = {name: checked_decode_setting(name, value, flag) for name, flag, value in (
        ("recency_window", "--recency", args.recency),
        ("reuse_penalty", "--reuse-cost", args.reuse_cost),
        ("transition_weight", "--transition-weight", args.transition_weight),
        ("fit_floor", "--fit-floor", args.fit_floor)) if value is not None}
    return DecodeOptions(
        **chosen,
        no_back_to_back=not args.allow_repeats,
        max_uses=args.max_uses,
        tie_sections=args.tie_sections,
        temperature=args.vary,
        seed=args.seed,
    )


def run(args: argparse.Namespace) -> int:
    from choreo_studio.core.choreography.engine import load_engine
    from choreo_studio.core.choreography.metrics import format_metrics
    from choreo_studio.core.choreography.placements import DEFAULT_BLEND_S
    from choreo_studio.core.phrases.song import open_song
    from choreo_studio.core.project import session

    if args.blend is not None and not 0.0 <= args.blend <= 2.0:
        raise ChoreoError(f"--blend {args.blend}: use 0 to 2 seconds")
    if args.stage_radius is not None and not (args.stage_radius == 0
                                              or 0.5 <= args.stage_radius <= 100.0):
        raise ChoreoError(f"--stage-radius {args.stage_radius}: use 0.5 to 100 metres, or 0 "
                          "for no stage")
    options = _options(args)
    if args.fbx:
        from choreo_studio.core.export.fbx import require_fbx

        require_fbx()  # the one-line install hint before the song is analysed
    outdir = Path(args.outdir)
    if outdir.exists() and not outdir.is_dir():
        raise ChoreoError(f"{outdir}: exists and is not a folder — choose another -o OUTDIR")
    started = time.perf_counter()
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        source, title = _song_source(args.song, outdir)
    except OSError as exc:
        raise ChoreoError(f"{outdir}: cannot write there ({exc.strerror}) — choose another "
                          "-o OUTDIR") from None
    # Library and model first: a wrong --library/--model is reported before the analysis runs.
    with cli_stage("library") as progress:
        engine = load_engine(args.library or "", args.model or "", use_model=not args.no_model,
                             options=options, decoder=args.decoder, progress=progress,
                             blend_s=DEFAULT_BLEND_S if args.blend is None else args.blend)
    if args.stage_radius is not None:
        engine.stage_radius_cm = 100.0 * args.stage_radius or None
    library = engine.library
    with cli_stage("analyse") as progress:
        song = open_song(source, progress, use_cache=not args.no_cache)
    if not song.phrases:
        raise ChoreoError(f"{title}: no music phrases found — is it long enough to dance to?")
    with cli_stage("choreograph") as progress:
        seg = session.start(engine, song, progress)
    choreography = seg.choreography
    with cli_stage("render") as progress:
        motion = session.render(engine, seg, args.fps, progress)
    try:
        files = session.export(engine, seg, outdir, fps=args.fps, song_name=title,
                               motion=motion, bvh_unit=args.unit,
                               kinds=("timeline", "csv", "bvh", "glb", "fbx") if args.fbx
                               else None,
                               root_bone=not args.no_root_bone)
    except OSError as exc:
        raise ChoreoError(f"{outdir}: cannot write the exports ({exc.strerror}) — free some "
                          "space or choose another -o OUTDIR") from None
    if not args.song:
        files["song"] = source
    metrics = engine.metrics(song, choreography, motion)
    print(f"{title}: {song.analysis.duration_s:.1f} s, {song.analysis.tempo_bpm:.1f} BPM, "
          f"{len(song.phrases)} phrases")
    print(f"library {library.name} ({len(library)} dance phrases); scorer: {engine.scorer_name}; "
          f"decoder: {choreography.decoder}")
    print()
    print(phrase_table(song, choreography, library, session.score_parts(engine, seg)))
    print()
    print(format_metrics(metrics))
    print()
    for kind, path in files.items():
        print(f"wrote {kind:<8} {path}")
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


def _song_source(song: str | None, outdir: Path) -> tuple[Path, str]:
    """(audio file, title); the demo song is written into ``outdir`` first so the timeline's
    song hash is that file's and ``choreo eval OUTDIR/song.wav ...`` works."""
    if song:
        path = Path(song)
        return path, path.name
    from choreo_studio.resources.demo_song import render_demo_song

    demo = render_demo_song()
    return demo.write_wav(outdir / "song.wav"), demo.name


def _score(value: float | None, fmt: str = "{:.3f}") -> str:
    return "-" if value is None else fmt.format(value)


def phrase_table(song, choreography, library, parts) -> str:
    """One line per music phrase: timing, section, dance and the three score parts."""
    lines = [f"{'#':>3} {'start':>8} {'end':>8} {'bars':>4}  {'section':<8} "
             f"{'fit':>6} {'in':>5} {'out':>5}  dance"]
    for phrase, placement, part in zip(song.phrases, choreography.placements, parts,
                                       strict=True):
        dance = library.phrase(placement.dance_id)
        flags = (" [locked]" if placement.locked else "") + (" [mirror]" if placement.mirror
                                                             else "")
        lines.append(
            f"{phrase.index:>3} {format_clock(phrase.start_s):>8} {format_clock(phrase.end_s):>8} "
            f"{phrase.n_bars:>4}  {phrase.section_label[:8]:<8} "
            f"{_score(part.music_fit):>6} {_score(part.transition_in, '{:.2f}'):>5} "
            f"{_score(part.transition_out, '{:.2f}'):>5}  {dance.id}  {dance.name}{flags}"
        )
    return "\n".join(lines)
