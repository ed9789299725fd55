"""Training data for the beat network from real composed music: scores and game MIDI files.

The MMA songs (``beat_activation_data``) are accompaniment patterns; composed music adds what
they lack: melodies and bass lines that syncopate, chorale and string textures without drums,
fiddle jigs in 6/8, pickups, game tracks as sequenced by their authors. Sources (none of them
a benchmark source: no OpenMSX, Freedoom, Tang, nor music21's Haydn, Mozart, Schumann or
Joplin):

- music21's corpus: Bach (chorales and more), Beethoven's string quartets, the fiddle tunes of
  Ryan's Mammoth Collection and O'Neill's 1850 (reels, jigs, hornpipes, airs). A score's beats
  and bar lines come from its measures and time signatures (6/8 counts two dotted-quarter
  beats, 2/2 two half notes; a pickup bar's beats are counted back from its bar line); it is
  played at a random tempo on random General MIDI instruments.
- Standard MIDI files of Debian game packages (``freedink-data``, ``planetblupi-music-midi``):
  beats from their tempo map and time-signature events.

A piece is kept only when at least ``METRICAL_SHARE`` of its note onsets fall on its beat grid
split in four or three (within 25 ms), which drops free-time files and wrong meta events.
Each piece is rendered and mixed like the MMA songs and stored in the same format, named
``real-SOURCE-NNNNN-M.npz``. Needs ``fluidsynth`` and, for the scores, ``music21``.

    python -m choreo_studio.training.beat_activation_scores OUTDIR [--pieces N] [--seed S]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from choreo_studio.training.beat_activation_data import (
    SOUNDFONT_SHARE,
    SOUNDFONTS,
    TAIL_S,
    _events,
    data_parser,
    exit_on_sigterm,
    is_note_on,
    map_events,
    mixes_of,
    read_midi_timing,
    save_mixes,
    split_smf,
    tick_seconds,
)

# share of the drawn scores by corpus source: polyphony first, the fiddle tunes are melodies
SCORE_SHARE = {"bach": 0.55, "ryansMammoth": 0.335, "oneills1850": 0.09, "beethoven": 0.025}
SCORE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn", ".abc")  # notes, not harmony text
MIDI_DIRS = (Path("/usr/share/games/dink/dink/Sound"), Path("/usr/share/planetblupi/music"))
MAX_S = 100.0  # a longer piece is cut here: many short pieces teach more than a few long ones
METRICAL_SHARE = 0.9
ONSET_TOLERANCE_S = 0.025
# beat tempo ranges (BPM) by beat length in quarter notes: dotted-quarter and half-note beats
# are slower than quarter ones
TEMPO_RANGE = {1.0: (60.0, 170.0), 1.5: (50.0, 125.0), 2.0: (55.0, 120.0)}
# General MIDI programs (0-based) that scores are played on: one for all parts, or a consort
SOLO_PROGRAMS = (0, 1, 4, 6, 19, 16, 24, 25, 21, 11, 46)
CONSORT_PROGRAMS = (40, 41, 42, 43, 48, 52, 56, 57, 60, 68, 70, 71, 73, 45, 32, 33)


def score_grid(score) -> tuple[np.ndarray, np.ndarray, float] | None:
    """(beats, downbeats, end) in quarter notes of a music21 score's first part, or None
    when it has no measures. A short first bar is a pickup: no bar line, beats counted back."""
    from music21 import meter

    part = score.parts[0] if score.parts else score
    beats: list[float] = []
    downs: list[float] = []
    sig = meter.TimeSignature("4/4")
    measures = list(part.getElementsByClass("Measure"))
    for i, bar in enumerate(measures):
        sig = bar.timeSignature or sig
        unit = float(sig.beatDuration.quarterLength)
        start, length = float(bar.offset), float(bar.duration.quarterLength)
        full = float(sig.barDuration.quarterLength)
        if i == 0 and length < full - 1e-6:
            beats += [start + length - k * unit for k in range(int(length / unit + 1e-6), 0, -1)]
            continue
        downs.append(start)
        beats += [start + k * unit for k in range(int(np.ceil(length / unit - 1e-6)))]
    if not measures or len(downs) < 2:
        return None
    end = float(measures[-1].offset + measures[-1].duration.quarterLength)
    return np.array(beats), np.array(downs), end


def score_piece(score, rng: np.random.Generator) -> tuple[bytes, np.ndarray, np.ndarray,
                                                          str] | None:
    """(SMF bytes, beat and downbeat seconds, description) of a score played at a random
    tempo on random instruments, or None for a score without a usable bar grid or one that
    music21 cannot write as MIDI."""
    from music21 import exceptions21, midi, tempo

    grid = score_grid(score)
    if grid is None:
        return None
    beats, downs, _ = grid
    unit = float(np.median(np.diff(beats))) if beats.size > 1 else 1.0
    low, high = TEMPO_RANGE.get(round(unit * 2) / 2, TEMPO_RANGE[1.0])
    bpm = float(np.exp(rng.uniform(np.log(low), np.log(high))))
    qpm = bpm * unit
    cut = MAX_S * qpm / 60.0  # quarter notes: a long movement is played up to MAX_S only
    for mark in list(score.recurse().getElementsByClass("MetronomeMark")):
        mark.activeSite.remove(mark)
    parts = score.parts or [score]
    for part in parts:
        for bar in list(part.getElementsByClass("Measure")):
            if bar.offset >= cut:
                part.remove(bar)
        part.insert(0, tempo.MetronomeMark(number=qpm))
    beats, downs = beats[beats < cut], downs[downs < cut]
    try:
        data = midi.translate.music21ObjectToMidiFile(score).writestr()
    except exceptions21.Music21Exception:  # a score music21 cannot play (it says why)
        return None
    data, how = with_programs(data, rng)
    scale = 60.0 / qpm
    return data, beats * scale, downs * scale, f"{bpm:.1f} BPM beat {unit:g} q, {how}"


def with_programs(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """The SMF with every program change set to one random instrument (a keyboard, organ,
    guitar...) or each channel's to a random consort instrument; and which."""
    if rng.random() < 0.5:
        program = int(rng.choice(SOLO_PROGRAMS))
        programs, how = [program] * 16, f"program {program}"
    else:
        programs, how = [int(rng.choice(CONSORT_PROGRAMS)) for _ in range(16)], "consort"
    return map_events(data, lambda _, e: bytes([e[0], programs[e[0] & 0x0F]])
                      if e[0] & 0xF0 == 0xC0 else e), how


def smf_grid(data: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """(beat, downbeat) seconds of a SMF from its tempo map and time signatures (x/4: quarter
    beats, 6/8 9/8 12/8: dotted quarters, x/2: halves), up to its last note; None if empty."""
    tpq, tempos, _ = read_midi_timing(data)
    sigs, onsets = _signatures_and_onsets(data)
    if onsets.size == 0:
        return None
    last = float(onsets.max())
    sigs = sigs or [(0, 4, 4)]
    beat_ticks, down_ticks = [], []
    tick, k = 0.0, 0
    while tick <= last:
        while k + 1 < len(sigs) and sigs[k + 1][0] <= tick + 1e-6:
            k += 1
        num, den = sigs[k][1], sigs[k][2]
        unit, count = 4.0 * tpq / den, num
        if den == 8 and num in (6, 9, 12):
            unit, count = 1.5 * tpq, num // 3
        down_ticks.append(tick)
        beat_ticks += [t for t in tick + unit * np.arange(count) if t <= last]
        tick += unit * count
    return (tick_seconds(np.array(beat_ticks), tpq, tempos),
            tick_seconds(np.array(down_ticks), tpq, tempos))


def cut_smf(data: bytes, seconds: float) -> bytes:
    """The SMF without its events after ``seconds`` (a long or looping file renders fast)."""
    tpq, tempos, last = read_midi_timing(data)
    ticks = np.arange(0.0, last + 2.0 * tpq, tpq)
    limit = float(np.interp(seconds, tick_seconds(ticks, tpq, tempos), ticks))
    return map_events(data, lambda t, e: e if t <= limit else None)


def _signatures_and_onsets(data: bytes) -> tuple[list[tuple[int, int, int]], np.ndarray]:
    """([(tick, numerator, denominator)] of the time signatures, ticks of every note-on)."""
    sigs, onsets = [], []
    for track in split_smf(data)[1]:
        for tick, event in _events(track):
            if event[:2] == b"\xff\x58":
                sigs.append((tick, event[3], 2 ** event[4]))
            elif is_note_on(event):
                onsets.append(tick)
    return sorted(sigs), np.array(onsets, dtype=np.float64)


def onset_seconds(data: bytes) -> np.ndarray:
    """Seconds of every note-on of a SMF."""
    tpq, tempos, _ = read_midi_timing(data)
    return tick_seconds(_signatures_and_onsets(data)[1], tpq, tempos)


def metrical_share(onsets: np.ndarray, beats: np.ndarray) -> float:
    """Share of the onsets within ONSET_TOLERANCE_S of the beat grid split in four or in
    three (sixteenths, triplets): how well a bar grid explains the notes."""
    if onsets.size == 0 or beats.size < 2:
        return 0.0
    fine = [np.interp(np.arange(0, beats.size - 1 + 1e-9, 1.0 / d), np.arange(beats.size),
                      beats) for d in (4, 3)]
    grid = np.unique(np.concatenate(fine))
    inside = onsets[(onsets >= beats[0] - ONSET_TOLERANCE_S) & (onsets <= beats[-1])]
    if inside.size == 0:
        return 0.0
    idx = np.clip(np.searchsorted(grid, inside), 1, grid.size - 1)
    gap = np.minimum(np.abs(inside - grid[idx - 1]), np.abs(inside - grid[idx]))
    return float(np.mean(gap <= ONSET_TOLERANCE_S))


def score_paths(source: str) -> list[str]:
    """The corpus files of one source that hold notes (not roman-numeral analyses)."""
    from music21 import corpus

    return sorted(str(p) for p in corpus.getComposer(source)
                  if str(p).lower().endswith(SCORE_SUFFIXES))


def load_score(path: str, number: int, rng: np.random.Generator):
    """One score of a corpus file (a random tune of a collection) with its repeats written
    out, as its MIDI will play them; None when its repeat marks do not pair up."""
    from music21 import corpus, repeat, stream

    found = corpus.parse(path)
    if isinstance(found, stream.Opus):
        scores = list(found.scores)
        if not scores:
            return None
        found = scores[number if number >= 0 else int(rng.integers(len(scores)))]
    try:
        return found.expandRepeats()
    except repeat.ExpanderException:
        return None


def make_piece(rng: np.random.Generator, item: tuple[str, str, int], work: Path,
               mixes: int) -> list[dict] | None:
    """Mixes of one real piece (spectra and targets), or None when it has no usable bar grid
    or is not metrical."""
    source, path, number = item
    if source == "midi":
        data = cut_smf(Path(path).read_bytes(), MAX_S)
        grid = smf_grid(data)
        how = "as written"
    else:
        score = load_score(path, number, rng)
        played = None if score is None else score_piece(score, rng)
        if played is None:
            return None
        data, beats, downs, how = played
        grid = beats, downs
    if grid is None or metrical_share(onset_seconds(data), grid[0]) < METRICAL_SHARE:
        return None
    beats, downs = grid
    seconds = min(float(beats[-1]) + TAIL_S, MAX_S)
    beats, downs = beats[beats < seconds], downs[downs < seconds]
    soundfont = SOUNDFONTS[int(rng.choice(len(SOUNDFONTS), p=SOUNDFONT_SHARE))]
    meta = f"{source}:{Path(path).name} {soundfont.name} {how}"
    return mixes_of(rng, data, beats, downs, soundfont, mixes, work, meta, seconds)


def all_items(rng: np.random.Generator, pieces: int) -> list[tuple[str, str, int]]:
    """(source, path, tune number or -1: a random tune of a collection) of every game MIDI
    file and of scores drawn by SCORE_SHARE, ``pieces`` in all, shuffled (so a run cut short
    keeps the mix of sources)."""
    items = [("midi", str(p), -1) for d in MIDI_DIRS for p in sorted(d.glob("*.mid"))]
    left = max(pieces - len(items), 0)
    for source, share in SCORE_SHARE.items():
        paths = score_paths(source)
        n = int(round(share * left))  # collections of tunes may repeat a file: another tune
        draw = rng.choice(len(paths), size=n, replace=n > len(paths))
        items += [(source, paths[i], -1) for i in draw]
    return [items[i] for i in rng.permutation(len(items))]


def main(argv: list[str] | None = None) -> int:
    parser = data_parser(__doc__.splitlines()[0], "pieces", 1000, 2)
    args = parser.parse_args(argv)
    exit_on_sigterm()
    part, parts = args.part
    args.outdir.mkdir(parents=True, exist_ok=True)
    items = all_items(np.random.default_rng(args.seed), args.pieces)
    print(f"{len(items)} pieces", file=sys.stderr)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        for k, item in enumerate(items):
            if k % parts != part:
                continue
            if args.minutes and time.monotonic() - t0 > 60.0 * args.minutes:
                print(f"time limit: stopped before piece {k}", file=sys.stderr)
                break
            stem = f"real-{item[0]}-{k:05d}"
            names = [args.outdir / f"{stem}-{m}.npz" for m in range(args.mixes)]
            if all(p.exists() for p in names) or (args.outdir / f"{stem}.skip").exists():
                continue
            piece = make_piece(np.random.default_rng([args.seed, k]), item, Path(tmp),
                               args.mixes)
            if piece is None:
                why = "no usable bar grid, or its notes are off it"
                (args.outdir / f"{stem}.skip").write_text(f"{item[1]}: {why}\n")
                print(f"piece {k}: {Path(item[1]).name}: {why}, skipped",
                      file=sys.stderr)
                continue
            save_mixes(names, piece)
            print(f"piece {k:05d}: {piece[0]['meta']}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
