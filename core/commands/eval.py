"""`choreo eval SONG TIMELINE`: beat and arrangement metrics of a phrase timeline on its song.

Renders the timeline's choreography with the library it was made from (the demo library
unless --library) and prints beat coverage, beat hit rate, Beat Align Score (against the
timeline's beats and, with --beats, against ground-truth beats), back-to-back repeats, section
consistency, variety (distinct per phrase, most uses, returns within 2 phrases), music fit of
the chosen dances vs the best available (the library's scorer), foot skating near cuts vs inside
phrases, peak joint speed at cuts, floor penetration and root drift.
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
    parser.add_argument("--model", help="model bundle scoring the fit (default: the bundled "
                        "one for the library, if any)")
    parser.add_argument("--no-model", action="store_true",
                        help="score the fit with the descriptor matcher")
    parser.add_argument("--beats", help="ground-truth beats: a JSON list of seconds or an "
                        "object with beats_s")
    parser.add_argument("--stage-radius", type=float, metavar="METRES",
                        help="render with this stage radius (turns at cuts and the soft pull "
                        "back), as choreo auto --stage-radius (default 1.25; 0 turns it off)")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    parser.add_argument("--no-cache", action="store_true", help="ignore the analysis cache")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from choreo_studio.core.choreography.beat_warp import plan_segments
    from choreo_studio.core.choreography.engine import (
        DEFAULT_STAGE_RADIUS_CM,
        load_library,
        load_scorer,
        scorer_path,
    )
    from choreo_studio.core.choreography.metrics import evaluate, format_metrics
    from choreo_studio.core.choreography.render import render
    from choreo_studio.core.export.timeline import read_timeline
    from choreo_studio.core.phrases.song import open_song

    timeline = read_timeline(args.timeline)
    reference = _reference_beats(args.beats) if args.beats else None
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
    radius = (DEFAULT_STAGE_RADIUS_CM if args.stage_radius is None
              else 100.0 * args.stage_radius or None)
    motion = render(timeline.choreography, analysis, phrases, library,
                    fps=args.fps or timeline.fps, stage_radius_cm=radius)
    with cli_stage("fit") as progress:
        scorer = load_scorer(library, scorer_path(library, args.model or None,
                                                  use_model=not args.no_model),
                             use_model=not args.no_model)
        scores = scorer.probabilities(song, progress)
    segments = plan_segments(timeline.choreography, timeline.beats_s, phrases, library)
    if len(phrases) != scores.shape[0]:
        scores = None  # the timeline's phrases were edited: no per-phrase fit to compare
    metrics = evaluate(timeline.choreography, motion, timeline.beats_s, phrases,
                       cuts_s=[s.start_s for s in segments[1:]], scores=scores,
                       dance_indices=[library.index_of(d) for d in timeline.choreography
                                      .dance_ids], reference_beats_s=reference)
    if args.json:
        print(json.dumps(metrics.to_dict(), indent=1))
    else:
        chor = timeline.choreography
        print(f"{Path(args.song).name}: {len(phrases)} phrases, scorer {chor.scorer}, "
              f"decoder {chor.decoder}")
        print(format_metrics(metrics))
    return 0


def _reference_beats(path: str):
    """Ground-truth beat times from a JSON list or an object with ``beats_s``."""
    import numpy as np
    from choreo_studio.core.json_files import read_json_file

    data = read_json_file(path, fix="pass a JSON list of beat times")
    beats = data.get("beats_s") if isinstance(data, dict) else data
    try:
        out = np.asarray(beats, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        out = np.zeros(0)
    if out.size < 2 or not np.all(np.isfinite(out)) or np.any(np.diff(out) <= 0):
        raise ChoreoError(f"{path}: not a list of increasing beat times in seconds — pass a "
                          "JSON list or an object with beats_s")
    return out
