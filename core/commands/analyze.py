"""`choreo analyze [SONG] [-o analysis.json]`: tempo, meter, beats, sections and a phrase table.

Without SONG it analyses the bundled demo song (synthesized in memory). The metrical
alternatives are listed with their scores; `--reading KIND` takes one of them as listed, and
`--bpm`, `--meter` and `--tempo-hint` ask for another.
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
    parser.add_argument("--bpm", type=float, help="force this tempo (beats per minute; ±8 %%)")
    parser.add_argument("--meter", help="force this meter: 2/4, 3/4, 4/4, 6/8, 12/8 …")
    parser.add_argument("--tempo-hint", type=float,
                        help="prefer tempi near this one (BPM) without forcing it")
    parser.add_argument("--reading", metavar="KIND",
                        help="take one of the listed alternatives, e.g. 'half tempo' or "
                        "'downbeat +1 beat': its very grid, tempo map kept")
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
        if args.bpm is not None or args.meter or args.tempo_hint is not None:
            song = _open_with_choice(source, progress, args)
        else:
            song = open_song(source, progress, cache_dir=args.cache_dir,
                             use_cache=not args.no_cache)
        if args.reading:
            song = _take_reading(song, args.reading, progress)
    print(summary(song, title))
    if args.output:
        data = song.analysis.to_dict()
        data["phrases"] = [p.to_dict() for p in song.phrases]
        write_json_atomic(args.output, data, indent=None)
        print(f"wrote {args.output}")
    return 0


def _take_reading(song: Song, kind: str, progress) -> Song:
    """``song`` re-timed to its alternative named ``kind`` (a ChoreoError naming the kinds
    there are when it has none of that name)."""
    from choreo_studio.core.analysis.analyzer import reanalyze_beats
    from choreo_studio.core.errors import ChoreoError
    from choreo_studio.core.phrases.song import resegment
    from choreo_studio.core.project.session import reading_request

    a = song.analysis
    reading = next((alt for alt in a.alternatives if alt.kind == kind.strip().lower()), None)
    if reading is None:
        kinds = ", ".join(repr(alt.kind) for alt in a.alternatives) or "none"
        raise ChoreoError(f"no reading {kind!r} for this song — it has: {kinds}")
    analysis = reanalyze_beats(song.audio, a, **reading_request(a, reading), progress=progress)
    return resegment(song.audio, analysis, progress=progress)


def _open_with_choice(source, progress, args: argparse.Namespace) -> Song:
    """Analyse under the user's tempo/meter choice (uncached: the cache keeps the automatic one)."""
    from choreo_studio.core.analysis.analyzer import analyze_audio
    from choreo_studio.core.analysis.music_analysis import MusicAnalysis
    from choreo_studio.core.audio.load import Audio, stream_audio
    from choreo_studio.core.phrases.song import resegment

    audio = source if isinstance(source, Audio) else stream_audio(source)  # no native samples
    analysis, spectra = analyze_audio(audio, progress, bpm=args.bpm, meter_text=args.meter,
                                      tempo_hint=args.tempo_hint)
    analysis = MusicAnalysis.from_dict(analysis.to_dict())  # the saved form, as open_song does
    return resegment(audio, analysis, progress=progress, logmel=(spectra.logmel_db, spectra.fps))


def summary(song: Song, title: str) -> str:
    """Human-readable summary: tempo, meter, beats, sections and the phrase table."""
    a = song.analysis
    voiced = float(a.melody_voiced.mean()) if a.melody_voiced.size else 0.0
    lines = [
        f"{title}: {a.duration_s:.1f} s" + (" (cached analysis)" if song.from_cache else ""),
        f"tempo {a.tempo_bpm:.1f} BPM, meter {a.meter}, {a.n_beats} beats, {a.n_bars} bars, "
        f"{a.onsets_s.size} onsets, melody voiced {100 * voiced:.0f}% "
        f"[tracker {a.beat_tracker}]",
        f"beat confidence {a.beat_confidence:.2f}" + _tempo_map_text(a) + _unsure_text(a),
        "alternatives (score per minute, 0 = as good as the chosen grid): "
        + (", ".join(f"{alt.kind} {alt.tempo_bpm:.1f} BPM {alt.meter} ({alt.score:+.1f})"
                     for alt in a.alternatives[:6]) or "none"),
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


def _unsure_text(analysis) -> str:
    """What to do when the grid is a best guess (see ``MusicAnalysis.grid_unsure``)."""
    if not analysis.grid_unsure:
        return ""
    return (" — a best guess (weak pulse or close rivals): check it, or take an alternative "
            "with --reading KIND, --bpm, --meter or --tempo-hint")


def _tempo_map_text(analysis) -> str:
    """", tempo map 0:00.5 92.0, 1:10.2 120.0 BPM" when the tempo changes, else ""."""
    rows = analysis.tempo_map
    if rows.shape[0] < 2:
        return ""
    shown = ", ".join(f"{format_clock(t)} {bpm:.1f}" for t, bpm in rows[:8])
    return f", tempo map {shown}{' …' if rows.shape[0] > 8 else ''} BPM"
