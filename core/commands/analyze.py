"""`choreo analyze [SONG] [-o analysis.json]`: tempo, meter, beats, sections and a phrase table.

Without SONG it analyses the bundled demo song (synthesized in memory).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from choreo_studio.core.atomic_io import check_output_file, write_json_atomic
from choreo_studio.core.clock import format_clock
from choreo_studio.core.progress import cli_stage

if TYPE_CHECKING:  # the analysis stack (numpy, audio, phrases) loads when a song is analysed,
    from choreo_studio.core.phrases.song import Song  # not for `choreo --help`


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="analyse a song: tempo, beats, meter, sections and music phrases",
        description="Analyse a song (wav, flac, ogg, mp3) and print its music phrases. "
        "Without SONG, analyses the bundled demo song.",
    )
    parser.add_argument("song", nargs="?", help="audio file (default: the bundled demo song)")
    parser.add_argument("-o", "--output", help="write the analysis and phrases to this JSON file")
    parser.add_argument("--no-cache", action="store_true", help="ignore and do not write the cache")
    parser.add_argument("--cache-dir", help="cache folder (default: the user cache folder)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from choreo_studio.core.phrases.song import open_song

    if args.output:
        check_output_file(args.output)
    if args.song:
        source = Path(args.song)
        title = source.name
    else:
        from choreo_studio.resources.demo_song import render_demo_song

        demo = render_demo_song()
        source, title = demo.audio(), demo.name
    with cli_stage("analyse") as progress:
        song = open_song(source, progress, cache_dir=args.cache_dir, use_cache=not args.no_cache)
    print(summary(song, title))
    if args.output:
        data = song.analysis.to_dict()
        data["phrases"] = [p.to_dict() for p in song.phrases]
        write_json_atomic(args.output, data, indent=None)
        print(f"wrote {args.output}")
    return 0


def summary(song: Song, title: str) -> str:
    """Human-readable summary: tempo, meter, beats, sections and the phrase table."""
    a = song.analysis
    voiced = float(a.melody_voiced.mean()) if a.melody_voiced.size else 0.0
    lines = [
        f"{title}: {a.duration_s:.1f} s" + (" (cached analysis)" if song.from_cache else ""),
        f"tempo {a.tempo_bpm:.1f} BPM, meter {a.meter}, {a.n_beats} beats, {a.n_bars} bars, "
        f"{a.onsets_s.size} onsets, melody voiced {100 * voiced:.0f}% "
        f"[tracker {a.beat_tracker}]",
        "sections: "
        + ", ".join(f"{s.label} {s.start_s:.1f}-{s.end_s:.1f}s" for s in a.sections),
        "",
        f"{'#':>3} {'start':>8} {'end':>8} {'bars':>4} {'beats':>5}  section",
    ]
    for p in song.phrases:
        lines.append(
            f"{p.index:>3} {format_clock(p.start_s):>8} {format_clock(p.end_s):>8} {p.n_bars:>4} "
            f"{p.n_beats:>5}  {p.section_label}"
        )
    lines.append(f"{len(song.phrases)} phrases")
    return "\n".join(lines)
