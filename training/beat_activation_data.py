"""Training data for the beat/downbeat activation network: MMA accompaniments rendered to audio.

Each piece is a random chord progression played by a random MMA groove (2, 3 or 4 beats per
bar; 6/8 and 12/8 grooves count dotted-quarter beats) at a random tempo, with optional tempo
steps, ritardandi or accelerandi, an optional generated melody (MMA's Aria track) and random
track volumes, drums muted in some pieces. MMA writes MIDI; its tempo map gives the exact
beat and downbeat times (one MMA beat per quarter-note tick span); fluidsynth renders it with
one of several soundfonts at a random gain. The analysis' own spectra are stored per piece:

    NAME.npz  logmel [128, frames] float16, beat [frames] and downbeat [frames] uint8 targets

Nothing here comes from the benchmark pieces (beats-midi, OpenMSX, Freedoom, music21, Tang).
Needs the ``mma`` and ``fluidsynth`` programs.

    python -m choreo_studio.training.beat_activation_data OUTDIR [--pieces N] [--seed S]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MMA_LIB = Path("/usr/share/mma/lib/stdlib")  # Debian's mma package
SOUNDFONTS = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/sounds/sf2/TimGM6mb.sf2"),
    Path("/usr/share/sounds/sf3/MuseScore_General.sf3"),
)
METER_SHARE = {4: 0.55, 3: 0.35, 2: 0.10}  # beats per bar (the library is mostly 4/4)
SOUNDFONT_SHARE = (0.45, 0.37, 0.18)  # the sf3 takes ~5 s of CPU to load: drawn less often
RENDER_SR = 22050
TAIL_S = 2.0
_SKIP = re.compile(r"(intro|end|fill|break|metronome)", re.IGNORECASE)
_DEGREES = (("", 0), ("m", 2), ("m", 4), ("", 5), ("7", 7), ("m", 9), ("", 7), ("M7", 0),
            ("m7", 2), ("6", 5), ("7", 2), ("dim", 11))
_KEYS = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
_MELODY_VOICES = ("Piano1", "Flute", "Violin", "Trumpet", "AltoSax", "Clarinet", "JazzGuitar")
_TRACKS = ("Drum", "Bass", "Chord", "Arpeggio", "Walk", "Plectrum", "Scale")


@dataclass(frozen=True)
class Groove:
    """An MMA groove and its beats per bar."""

    name: str
    beats: int


def list_grooves(lib: Path = MMA_LIB) -> list[Groove]:
    """Grooves of MMA's standard library with 2, 3 or 4 beats per bar (no intros or endings)."""
    out = []
    for path in sorted(lib.glob("*.mma")):
        beats = 4
        for line in path.read_text(errors="replace").splitlines():
            word = line.split("//")[0].split()
            if len(word) >= 2 and word[0].lower() == "time" and word[1].isdigit():
                beats = int(word[1])
            elif len(word) >= 2 and word[0].lower() == "defgroove":
                if beats in (2, 3, 4) and not _SKIP.search(word[1]):
                    out.append(Groove(word[1], beats))
    return out


def song_text(rng: np.random.Generator, groove: Groove) -> tuple[str, int]:
    """An MMA song (tempo changes, melody, volumes) and its number of bars."""
    bars = int(rng.integers(12, 24))
    tempo = float(np.exp(rng.uniform(np.log(60.0), np.log(200.0))))
    key = int(rng.integers(12))
    lines = [f"Tempo {tempo:.1f}", f"Groove {groove.name}"]
    if rng.random() < 0.35:
        lines.append("AllTracks Drum Off")
    for track in _TRACKS[1:]:
        if rng.random() < 0.2:
            lines.append(f"AllTracks {track} Volume {rng.choice(['pp', 'p', 'mp', 'f', 'ff'])}")
    if rng.random() < 0.6:
        lines += ["Begin Aria", f" Voice {rng.choice(_MELODY_VOICES)}",
                  " Octave 5", " Range 1.5", " Direction r r 1 -1 2 r",
                  " ScaleType Scale", " Rskip 15", " Rvolume 15",
                  f" Sequence {_aria_pattern(rng, groove.beats)}", "End"]
    change_at = int(rng.integers(bars // 3, 2 * bars // 3)) if rng.random() < 0.4 else -1
    slow_at = bars - int(rng.integers(3, 6)) if rng.random() < 0.3 else -1
    for bar in range(bars):
        if bar == change_at:
            lines.append(f"Tempo *{rng.choice([0.8, 0.87, 1.15, 1.25, 0.75, 1.33])}")
        if bar == change_at + 1 and rng.random() < 0.3:
            ramp = int(rng.integers(2, 5)) * groove.beats  # MMA spreads a change over beats
            lines.append(f"Tempo *{rng.uniform(0.85, 1.15):.3f} {ramp}")
        if bar == slow_at:
            lines.append(f"Tempo *{rng.uniform(0.6, 0.85):.3f} {(bars - slow_at) * groove.beats}")
        lines.append(_bar_chords(rng, key, groove.beats))
    return "\n".join(lines) + "\n", bars


def _aria_pattern(rng: np.random.Generator, beats: int) -> str:
    """One bar of melody rhythm: notes on beats and eighths, lengths in MMA note values."""
    notes = []
    for beat in range(beats):
        if rng.random() < 0.8:
            notes.append(f"{beat + 1} {rng.choice(['4', '8', '2'])} {int(rng.integers(60, 100))}")
        if rng.random() < 0.4:
            notes.append(f"{beat + 1.5} 8 {int(rng.integers(50, 90))}")
    return "{" + ("; ".join(notes) or "1 4 80") + "}"


def _bar_chords(rng: np.random.Generator, key: int, beats: int) -> str:
    """One bar of chords: one chord, or (4 beats) two, as an MMA chord line."""
    def chord() -> str:
        kind, degree = _DEGREES[int(rng.integers(len(_DEGREES)))]
        return _KEYS[(key + degree) % 12] + kind

    if beats == 4 and rng.random() < 0.4:
        return f"{chord()} / {chord()} /"
    return chord()


def read_midi_timing(data: bytes) -> tuple[int, list[tuple[int, int]], int]:
    """(ticks per quarter, [(tick, microseconds per quarter)], last note-off tick) of a SMF."""
    if data[:4] != b"MThd":
        raise ValueError("not a standard MIDI file")
    tpq = int.from_bytes(data[12:14], "big")
    pos, tempos, last = 14, [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4 : pos + 8], "big")
        if data[pos : pos + 4] == b"MTrk":
            last = max(last, _scan_track(data[pos + 8 : pos + 8 + size], tempos))
        pos += 8 + size
    return tpq, sorted(tempos) or [(0, 500000)], last


def _scan_track(track: bytes, tempos: list[tuple[int, int]]) -> int:
    """Collect a track's set-tempo events into ``tempos``; return its last note tick."""
    i = tick = last = status = 0
    while i < len(track):
        delta, i = _varlen(track, i)
        tick += delta
        byte = track[i]
        if byte == 0xFF:
            kind, (length, i) = track[i + 1], _varlen(track, i + 2)
            if kind == 0x51:
                tempos.append((tick, int.from_bytes(track[i : i + 3], "big")))
            i += length
        elif byte in (0xF0, 0xF7):
            length, i = _varlen(track, i + 1)
            i += length
        else:
            if byte & 0x80:
                status, i = byte, i + 1
            kind = status & 0xF0
            i += 1 if kind in (0xC0, 0xD0) else 2
            if kind in (0x80, 0x90):
                last = tick
    return last


def _varlen(data: bytes, i: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = data[i]
        value = (value << 7) | (byte & 0x7F)
        i += 1
        if not byte & 0x80:
            return value, i


def tick_seconds(ticks: np.ndarray, tpq: int, tempos: list[tuple[int, int]]) -> np.ndarray:
    """Seconds of MIDI ``ticks`` under the tempo map."""
    starts = np.array([t for t, _ in tempos], dtype=np.float64)
    per_tick = np.array([us for _, us in tempos], dtype=np.float64) / 1e6 / tpq
    at = np.concatenate([[0.0], np.cumsum(np.diff(starts) * per_tick[:-1])])
    k = np.searchsorted(starts, ticks, side="right") - 1
    k = np.clip(k, 0, starts.size - 1)
    return at[k] + (ticks - starts[k]) * per_tick[k]


def render(midi: Path, soundfont: Path, gain: float, reverb: bool, seconds: float) -> np.ndarray:
    """Mono float32 audio at RENDER_SR of ``midi`` (fluidsynth, cut at ``seconds``)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.wav"
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", f"{gain:.3f}", "-r", str(RENDER_SR),
                        "-o", f"synth.reverb.active={int(reverb)}",
                        "-o", "synth.chorus.active=0", "-T", "wav", "-O", "s16",
                        "-F", str(out), str(soundfont), str(midi)],
                       check=True, capture_output=True, timeout=600)
        with wave.open(str(out)) as w:
            channels, raw = w.getnchannels(), w.readframes(w.getnframes())
    y = np.frombuffer(raw, dtype=np.int16).reshape(-1, channels).mean(axis=1) / 32768.0
    return y[: int(seconds * RENDER_SR)].astype(np.float32)


def make_piece(rng: np.random.Generator, grooves: list[Groove], work: Path) -> dict | None:
    """One rendered piece: spectra and frame targets, or None when MMA or fluidsynth fails."""
    from choreo_studio.core.audio.spectral import compute_spectra

    meter = int(rng.choice(list(METER_SHARE), p=list(METER_SHARE.values())))
    choices = [g for g in grooves if g.beats == meter] or grooves
    groove = choices[int(rng.integers(len(choices)))]
    text, _ = song_text(rng, groove)
    (work / "song.mma").write_text(text)
    mid = work / "song.mid"
    mid.unlink(missing_ok=True)
    done = subprocess.run(["mma", "-f", str(mid), str(work / "song.mma")], capture_output=True,
                          text=True, timeout=120)
    if done.returncode != 0 or not mid.exists():
        return None
    tpq, tempos, last = read_midi_timing(mid.read_bytes())
    beat_ticks = np.arange(0, last + 1, tpq, dtype=np.float64)
    beats = tick_seconds(beat_ticks, tpq, tempos)
    down = beats[:: groove.beats]
    soundfont = SOUNDFONTS[int(rng.choice(len(SOUNDFONTS), p=SOUNDFONT_SHARE))]
    y = render(mid, soundfont, float(rng.uniform(0.2, 0.9)), bool(rng.random() < 0.5),
               float(beats[-1]) + TAIL_S)
    spectra = compute_spectra(y, RENDER_SR)
    n = spectra.n_frames
    return {
        "logmel": spectra.logmel_db.astype(np.float16),
        "beat": _targets(beats, n, spectra.fps),
        "downbeat": _targets(down, n, spectra.fps),
        "meta": f"{groove.name} {groove.beats} {soundfont.name} {60e6 / tempos[0][1]:.1f}",
    }


def _targets(times: np.ndarray, n: int, fps: float) -> np.ndarray:
    """uint8 [n]: 1 at the frame nearest each time."""
    out = np.zeros(n, dtype=np.uint8)
    idx = np.round(times * fps).astype(np.int64)
    out[idx[(idx >= 0) & (idx < n)]] = 1
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--pieces", type=int, default=341)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)
    grooves = list_grooves()
    print(f"{len(grooves)} grooves", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.pieces):
            out = args.outdir / f"piece{k:04d}.npz"
            if out.exists():
                continue
            piece = make_piece(np.random.default_rng([args.seed, k]), grooves, Path(tmp))
            if piece is None:
                print(f"piece {k}: MMA failed, skipped", file=sys.stderr)
                continue
            np.savez(out.with_suffix(".tmp.npz"), **piece)
            os.replace(out.with_suffix(".tmp.npz"), out)
            print(f"{out.name} {piece['meta']}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
