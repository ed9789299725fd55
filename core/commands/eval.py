"""`choreo eval SONG TIMELINE`: beat and arrangement metrics of a phrase timeline on its song.

Renders the timeline's choreography with the library it was made from (the demo library
unless --library) and prints beat coverage, beat hit rate, Beat Align Score, back-to-back
repeat rate and section consistency.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from choreo_studio.core.choreography.frame_rates import SUPPORTED_FPS
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.progress import cli_stage


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="print beat and arrangement metrics of a timeline on its song",
        description="Render TIMELINE (a timeline.json from choreo auto or the editor) on SONG "
        "and print beat coverage, beat hit rate, Beat Align Score, back-to-back repeat rate "
        "and section consistency.",
    )
    parser.add_argument("song", help="the audio file the timeline was made for")
    parser.add_argument("timeline", help="timeline JSON file")
    parser.add_argument("--library", help="dance library folder (default: the demo library)")
    parser.add_argument("--fps", type=float, choices=SUPPORTED_FPS,
                        help="frame rate to render at (default: the timeline's)")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    parser.add_argument("--no-cache", action="store_true", help="ignore the analysis cache")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from choreo_studio.core.choreography.engine import load_library
    from choreo_studio.core.choreography.metrics import evaluate, format_metrics
    from choreo_studio.core.choreography.render import render
    from choreo_studio.core.export.timeline import read_timeline
    from choreo_studio.core.phrases.song import open_song

    timeline = read_timeline(args.timeline)
    with cli_stage("analyse") as progress:
        song = open_song(Path(args.song), progress, use_cache=not args.no_cache)
    if song.analysis.song_hash != timeline.song_hash:
        raise ChoreoError(
            f"{args.timeline}: made for another song (hash {timeline.song_hash[:12]}, "
            f"{args.song} is {song.analysis.song_hash[:12]}) — pass the song it was made for"
        )
    with cli_stage("library") as progress:
        library = load_library(args.library, progress)
    if timeline.library_fingerprint and timeline.library_fingerprint != library.fingerprint:
        raise ChoreoError(
            f"{args.timeline}: made with library {timeline.library_name!r} "
            f"({timeline.library_fingerprint}), not {library.name!r} ({library.fingerprint}) — "
            "pass that library with --library"
        )
    phrases = timeline.music_phrases()
    for p in timeline.choreography:
        library.index_of(p.dance_id)  # unknown dance ids are a one-line error
    # the timeline's beats are authoritative (the user may have corrected the tempo in the editor)
    analysis = replace(song.analysis, beats_s=timeline.beats_s, downbeats=timeline.downbeats)
    motion = render(timeline.choreography, analysis, phrases, library,
                    fps=args.fps or timeline.fps)
    metrics = evaluate(timeline.choreography, motion, timeline.beats_s, phrases)
    if args.json:
        print(json.dumps(metrics.to_dict(), indent=1))
    else:
        chor = timeline.choreography
        print(f"{Path(args.song).name}: {len(phrases)} phrases, scorer {chor.scorer}, "
              f"decoder {chor.decoder}")
        print(format_metrics(metrics))
    return 0
