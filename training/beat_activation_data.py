"""Training data for the beat/downbeat activation network: MMA accompaniments rendered to audio.

Each song is a random chord progression played by a random groove of every MMA library
installed (2, 3 or 4 beats per bar; 6/8 grooves count two dotted-quarter beats, 12/8 ones four)
at a random tempo, with random tempo events (steps, ramps, ritardandi, accelerandi, a slight
rubato bar by bar), an optional generated melody (MMA's Aria track) and random track volumes.
MMA writes MIDI; its tempo map gives the exact beat and downbeat times. fluidsynth renders
the song with one of several soundfonts as two stems (the drum channel; everything else).
Each song then gives ``--mixes`` mixes with their own random drum level (some with no drums
at all, so the net also learns the beat from harmony), EQ, room reverb and noise. The
analysis' own spectra are stored per mix:

    songNNNNN-M.npz  logmel [128, frames] float16, beat [frames] and downbeat [frames] uint8
                     targets, meta (groove, beats per bar, soundfont, first tempo, tempo events)

Nothing here comes from the benchmark pieces (beats-midi, OpenMSX, Freedoom, music21, Tang).
Needs the ``mma`` and ``fluidsynth`` programs.

    python -m choreo_studio.training.beat_activation_data OUTDIR [--songs N] [--seed S] [--part K/N]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.fft

MMA_LIBS = Path("/usr/share/mma/lib")  # Debian's mma package: stdlib, yamaha, casio, zoom, ...
SOUNDFONTS = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/sounds/sf2/TimGM6mb.sf2"),
    Path("/usr/share/sounds/sf3/MuseScore_General.sf3"),
)
METER_SHARE = {4: 0.5, 3: 0.32, 2: 0.18}  # beats per bar; 2 = 6/8 and 2/4 grooves (few exist)
SOUNDFONT_SHARE = (0.55, 0.37, 0.08)  # the sf3 takes ~5 s of CPU to load: drawn seldom
RENDER_SR = 22050
TAIL_S = 2.0
DRUM_CHANNEL = 9
_SKIP = re.compile(r"(intro|end|fill|break|metronome)", re.IGNORECASE)
_DEGREES = (("", 0), ("m", 2), ("m", 4), ("", 5), ("7", 7), ("m", 9), ("", 7), ("M7", 0),
            ("m7", 2), ("6", 5), ("7", 2), ("dim", 11))
_KEYS = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
_MELODY_VOICES = ("Piano1", "Flute", "Violin", "Trumpet", "AltoSax", "Clarinet", "JazzGuitar",
                  "Oboe", "Vibraphone", "Accordion", "Harmonica", "Strings")
_TRACKS = ("Drum", "Bass", "Chord", "Arpeggio", "Walk", "Plectrum", "Scale")


@dataclass(frozen=True)
class Groove:
    """An MMA groove: musical beats per bar and MMA beats (MIDI quarter notes) per beat."""

    name: str
    beats: int
    step: float = 1.0


def _count(word: str) -> int | None:
    """The number of a ``Time`` or ``Timesig`` argument ('4', '3/4', '6/8'): its numerator."""
    num = word.partition("/")[0]
    return int(num) if num.isdigit() else None


def meter_of(time_arg: int | None, timesig: int | None) -> tuple[int, float] | None:
    """(musical beats per bar, MMA beats per musical beat) of MMA's ``Time`` and ``Timesig``
    numerators, or None for a meter not labelled here. A 6/8 bar has two dotted-quarter
    beats whether MMA counts it as 2, 3 (quarter notes) or 6 beats; 12/8 as 4 or 12."""
    if timesig == 6:
        return {2: (2, 1.0), 3: (2, 1.5), 6: (2, 3.0)}.get(time_arg)
    if timesig == 12:
        return {4: (4, 1.0), 12: (4, 3.0)}.get(time_arg)
    if time_arg in (2, 3, 4) and timesig in (None, 2, 3, 4):
        return time_arg, 1.0
    return None


def list_grooves(libs: Path = MMA_LIBS) -> list[Groove]:
    """Main grooves of every MMA library under ``libs`` (no intros, endings, fills), once each.

    A groove name defined in two files is dropped: MMA loads the first it finds, whose meter
    may not be the one read here.
    """
    found: dict[str, list[Groove]] = {}
    for path in sorted(libs.glob("*/*.mma")):
        time_arg: int | None = 4
        timesig: int | None = None
        for line in path.read_text(errors="replace").splitlines():
            word = line.split("//")[0].split()
            if len(word) < 2:
                continue
            if word[0].lower() == "time":
                time_arg = _count(word[1])
            elif word[0].lower() == "timesig":
                timesig = _count(word[1])
            elif word[0].lower() == "defgroove" and not _SKIP.search(word[1]):
                meter = meter_of(time_arg, timesig)
                if meter is not None:
                    found.setdefault(word[1].lower(), []).append(Groove(word[1], *meter))
    return [g[0] for g in found.values() if len(g) == 1]


def song_text(rng: np.random.Generator, groove: Groove) -> tuple[str, list[str]]:
    """An MMA song (tempo events, melody, volumes; MMA's own randomness seeded) and the list
    of its tempo events."""
    bars = int(rng.integers(12, 28))
    tempo = float(np.exp(rng.uniform(np.log(55.0), np.log(210.0))))
    if groove.beats == 3:  # waltzes: slow (~85) to Viennese (~180)
        tempo = float(np.exp(rng.uniform(np.log(70.0), np.log(200.0))))
    if groove.step > 1:  # dotted-quarter beats of 6/8 and 12/8
        tempo = float(np.exp(rng.uniform(np.log(45.0), np.log(130.0))))
    key = int(rng.integers(12))
    mma_beats = round(groove.beats * groove.step)
    lines = [f"Tempo {tempo * groove.step:.1f}", f"Groove {groove.name}"]
    if rng.random() < 0.25:
        lines.append("AllTracks Drum Off")
    for track in _TRACKS[1:]:
        if rng.random() < 0.2:
            lines.append(f"AllTracks {track} Volume {rng.choice(['pp', 'p', 'mp', 'f', 'ff'])}")
    if rng.random() < 0.6:
        lines += ["Begin Aria", f" Voice {rng.choice(_MELODY_VOICES)}",
                  " Octave 5", " Range 1.5", " Direction r r 1 -1 2 r",
                  " ScaleType Scale", " Rskip 15", " Rvolume 15",
                  f" Sequence {_aria_pattern(rng, mma_beats)}", "End"]
    events: dict[int, str] = {}
    if rng.random() < 0.4:  # a tempo step, sometimes followed by a ramp
        at = int(rng.integers(bars // 4, 3 * bars // 4))
        events[at] = f"Tempo *{rng.choice([0.7, 0.75, 0.8, 0.87, 1.15, 1.25, 1.33, 1.4])}"
        if rng.random() < 0.3:
            ramp = int(rng.integers(2, 5)) * mma_beats  # MMA spreads a change over beats
            events[at + 1] = f"Tempo *{rng.uniform(0.85, 1.15):.3f} {ramp}"
    if rng.random() < 0.25:  # a gradual accelerando or ritardando in the middle
        at = int(rng.integers(2, bars // 2))
        length = int(rng.integers(3, 9))
        events.setdefault(at, f"Tempo *{rng.choice([0.75, 0.85, 1.18, 1.3]):.3f} "
                              f"{length * mma_beats}")
    if rng.random() < 0.3:  # a final ritardando
        slow_at = bars - int(rng.integers(2, 6))
        events[slow_at] = f"Tempo *{rng.uniform(0.55, 0.85):.3f} {(bars - slow_at) * mma_beats}"
    rubato = rng.random() < 0.2  # a slight bar-to-bar tempo wobble
    for bar in range(bars):
        if bar in events:
            lines.append(events[bar])
        elif rubato and bar > 0:
            lines.append(f"Tempo *{np.exp(rng.normal(0.0, 0.03)):.3f}")
        lines.append(_bar_chords(rng, key, groove.beats))
    kinds = [e.split()[0] + (" ramp" if len(e.split()) > 2 else "") for e in events.values()]
    text = "\n".join(lines) + "\n"
    # MMA humanises timing and volume with Python's random, unseeded unless told: seeding it
    # from the song itself makes a rebuild give the same audio without drawing from ``rng``
    return f"RndSeed {zlib.crc32(text.encode())}\n" + text, kinds + (["rubato"] if rubato else [])


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
    tpq, tracks = split_smf(data)
    tempos: list[tuple[int, int]] = []
    last = 0
    for track in tracks:
        for tick, event in _events(track):
            if event[:2] == b"\xff\x51":
                tempos.append((tick, int.from_bytes(event[3:6], "big")))
            elif event[0] & 0xE0 == 0x80:  # note on / note off
                last = max(last, tick)
    return tpq, sorted(tempos) or [(0, 500000)], last


def split_smf(data: bytes) -> tuple[int, list[bytes]]:
    """(ticks per quarter, [track chunk bodies]) of a standard MIDI file."""
    if data[:4] != b"MThd":
        raise ValueError("not a standard MIDI file")
    tpq = int.from_bytes(data[12:14], "big")
    pos, tracks = 14, []
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4 : pos + 8], "big")
        if data[pos : pos + 4] == b"MTrk":
            tracks.append(data[pos + 8 : pos + 8 + size])
        pos += 8 + size
    return tpq, tracks


def _events(track: bytes) -> list[tuple[int, bytes]]:
    """[(absolute tick, event bytes with its status byte)] of one track (running status undone)."""
    out = []
    i = tick = status = 0
    while i < len(track):
        delta, i = _varlen(track, i)
        tick += delta
        byte = track[i]
        if byte == 0xFF:
            length, j = _varlen(track, i + 2)
            out.append((tick, track[i : j + length]))
            i = j + length
        elif byte in (0xF0, 0xF7):
            length, j = _varlen(track, i + 1)
            out.append((tick, track[i : j + length]))
            i = j + length
        else:
            if byte & 0x80:
                status, i = byte, i + 1
            size = 1 if status & 0xF0 in (0xC0, 0xD0) else 2
            out.append((tick, bytes([status]) + track[i : i + size]))
            i += size
    return out


def _varlen(data: bytes, i: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = data[i]
        value = (value << 7) | (byte & 0x7F)
        i += 1
        if not byte & 0x80:
            return value, i


def _write_varlen(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def keep_channels(data: bytes, drums: bool) -> bytes:
    """The SMF with only the drum channel's events (``drums``) or only the other channels'.

    Meta and system events stay in both, so both halves keep the song's tempo map.
    """
    return map_events(data, lambda _, e: e if e[0] >= 0xF0
                      or ((e[0] & 0x0F) == DRUM_CHANNEL) == drums else None)


def map_events(data: bytes, change) -> bytes:
    """The SMF with every event replaced by ``change(tick, event bytes)`` (None drops it),
    times kept."""
    tpq, tracks = split_smf(data)
    body = []
    for track in tracks:
        events = [(t, new) for t, e in _events(track) if (new := change(t, e)) is not None]
        chunk, now = bytearray(), 0
        for tick, event in events:
            chunk += _write_varlen(tick - now) + event
            now = tick
        if not events or events[-1][1][:2] != b"\xff\x2f":
            chunk += b"\x00\xff\x2f\x00"
        body.append(b"MTrk" + len(chunk).to_bytes(4, "big") + bytes(chunk))
    header = b"MThd" + (6).to_bytes(4, "big") + (1).to_bytes(2, "big")
    return header + len(body).to_bytes(2, "big") + tpq.to_bytes(2, "big") + b"".join(body)


def is_note_on(event: bytes) -> bool:
    """Whether a MIDI event (status byte first) starts a note (a note-on of velocity 0 ends
    one)."""
    return event[0] & 0xF0 == 0x90 and event[2] > 0


def has_notes(data: bytes) -> bool:
    """Whether a SMF plays any note."""
    return any(is_note_on(e) for track in split_smf(data)[1] for _, e in _events(track))


def tick_seconds(ticks: np.ndarray, tpq: int, tempos: list[tuple[int, int]]) -> np.ndarray:
    """Seconds of MIDI ``ticks`` under the tempo map."""
    starts = np.array([t for t, _ in tempos], dtype=np.float64)
    per_tick = np.array([us for _, us in tempos], dtype=np.float64) / 1e6 / tpq
    at = np.concatenate([[0.0], np.cumsum(np.diff(starts) * per_tick[:-1])])
    k = np.searchsorted(starts, ticks, side="right") - 1
    k = np.clip(k, 0, starts.size - 1)
    return at[k] + (ticks - starts[k]) * per_tick[k]


def render(midi: Path, soundfont: Path, seconds: float) -> np.ndarray:
    """Mono float32 audio at RENDER_SR of ``midi`` (fluidsynth, no effects, cut at
    ``seconds``, zero-padded to it).

    fluidsynth renders to headerless stereo 16-bit samples and is stopped once it has written
    ``seconds`` of them: some files make it render silence long past their end (one wrote
    36 GB before it was stopped).
    """
    n = int(seconds * RENDER_SR)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.raw"
        proc = subprocess.Popen(
            ["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(RENDER_SR),
             "-o", "synth.reverb.active=0", "-o", "synth.chorus.active=0",
             "-T", "raw", "-O", "s16", "-F", str(out), str(soundfont), str(midi)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        stopped = False
        try:
            while proc.poll() is None:
                if out.exists() and out.stat().st_size >= 4 * n:
                    stopped = True
                    break
                time.sleep(0.05)
        finally:
            if proc.poll() is None:
                proc.kill()
            _, err = proc.communicate()
        if not stopped and (proc.returncode != 0 or not out.exists()):
            raise RuntimeError(f"fluidsynth failed on {midi}: {err.decode()[-300:]}")
        raw = out.read_bytes()[: 4 * n]
    y = np.frombuffer(raw[: len(raw) // 4 * 4], dtype=np.int16).reshape(-1, 2).mean(axis=1)
    y = y / 32768.0
    return np.pad(y[:n], (0, max(n - y.size, 0))).astype(np.float32)


def mix(rng: np.random.Generator, stems: np.ndarray, sr: int = RENDER_SR) -> tuple[np.ndarray,
                                                                                  str]:
    """One random mix of (drums, rest): drum level, EQ, room reverb, noise; and its description."""
    drums = 0.0 if rng.random() < 0.3 else float(np.exp(rng.uniform(np.log(0.1), np.log(2.0))))
    y = drums * stems[0] + stems[1]
    if not np.any(stems[1]):  # a drums-only song keeps its drums
        y, drums = stems[0].copy(), 1.0
    n = y.size
    size = scipy.fft.next_fast_len(n, real=True)  # a song's own length can be slow to FFT
    spec = scipy.fft.rfft(y, size)
    freq = scipy.fft.rfftfreq(size, 1.0 / sr)
    octaves = np.log2(np.maximum(freq, 20.0) / 1000.0)
    tilt = rng.uniform(-3.0, 3.0)  # dB per octave around 1 kHz
    centre, width, boost = rng.uniform(-3.0, 3.0), rng.uniform(0.3, 1.5), rng.uniform(-9.0, 9.0)
    gain_db = tilt * octaves + boost * np.exp(-0.5 * ((octaves - centre) / width) ** 2)
    if rng.random() < 0.2:  # a small speaker: no lows
        gain_db -= 24.0 * np.clip((np.log2(250.0) - np.log2(np.maximum(freq, 1.0))) / 2, 0, 1)
    spec *= 10.0 ** (np.clip(gain_db, -30.0, 15.0) / 20.0)
    reverb = ""
    if rng.random() < 0.5:  # a room: exponentially decaying noise, mixed wet
        rt60 = rng.uniform(0.3, 2.5)
        t = np.arange(int(rt60 * sr)) / sr
        ir = rng.standard_normal(t.size) * np.exp(-6.9 * t / rt60)
        ir *= np.sqrt(rng.uniform(0.1, 0.6) / np.sum(ir**2))
        ir[0] = 1.0
        spec *= scipy.fft.rfft(ir[:size], size)  # circular: a tail past the end wraps
        reverb = f" reverb {rt60:.1f}s"
    y = scipy.fft.irfft(spec, size)[:n]
    noise = ""
    if rng.random() < 0.3:  # white to brown noise, 5-35 dB below the music
        colour = rng.uniform(0.0, 2.0)
        white = scipy.fft.rfft(rng.standard_normal(size))
        shaped = scipy.fft.irfft(white / np.maximum(freq, 20.0) ** (colour / 2), size)[:n]
        snr = rng.uniform(5.0, 35.0)
        shaped *= np.sqrt(np.mean(y**2) / max(np.mean(shaped**2), 1e-20)) * 10 ** (-snr / 20)
        y = y + shaped
        noise = f" noise {snr:.0f}dB"
    return y.astype(np.float32), f"drums {drums:.2f} tilt {tilt:+.1f}{reverb}{noise}"


def make_song(rng: np.random.Generator, grooves: list[Groove], work: Path,
              mixes: int) -> list[dict] | None:
    """Spectra and frame targets of ``mixes`` mixes of one song, or None when MMA fails."""
    meter = int(rng.choice(list(METER_SHARE), p=list(METER_SHARE.values())))
    choices = [g for g in grooves if g.beats == meter] or grooves
    groove = choices[int(rng.integers(len(choices)))]
    text, kinds = song_text(rng, groove)
    (work / "song.mma").write_text(text)
    mid = work / "song.mid"
    mid.unlink(missing_ok=True)
    done = subprocess.run(["mma", "-f", str(mid), str(work / "song.mma")], capture_output=True,
                          text=True, timeout=120)
    if done.returncode != 0 or not mid.exists():
        return None
    data = mid.read_bytes()
    tpq, tempos, last = read_midi_timing(data)
    beat_ticks = np.arange(0, last + 1, tpq * groove.step, dtype=np.float64)
    beats = tick_seconds(beat_ticks, tpq, tempos)
    down = beats[:: groove.beats]
    soundfont = SOUNDFONTS[int(rng.choice(len(SOUNDFONTS), p=SOUNDFONT_SHARE))]
    bpm = 60e6 / tempos[0][1] / groove.step
    meta = f"{groove.name} {groove.beats} {soundfont.name} {bpm:.1f} [{', '.join(kinds)}]"
    return mixes_of(rng, data, beats, down, soundfont, mixes, work, meta)


def mixes_of(rng: np.random.Generator, data: bytes, beats: np.ndarray, down: np.ndarray,
             soundfont: Path, mixes: int, work: Path, meta: str,
             seconds: float | None = None) -> list[dict] | None:
    """Spectra and frame targets of ``mixes`` random mixes of a SMF rendered as two stems
    (drums, the rest) up to ``seconds`` (default: the last beat plus a tail); None if silent."""
    from choreo_studio.core.audio.spectral import compute_spectra

    seconds = float(beats[-1]) + TAIL_S if seconds is None else seconds
    stems = np.zeros((2, int(seconds * RENDER_SR)), dtype=np.float32)
    for k, drums in enumerate((True, False)):
        stem = keep_channels(data, drums)
        if has_notes(stem):  # fluidsynth writes an empty file for a stem without notes
            (work / "stem.mid").write_bytes(stem)
            stems[k] = render(work / "stem.mid", soundfont, seconds)
    if not np.any(stems):
        return None
    out = []
    for _ in range(mixes):
        y, how = mix(rng, stems)
        spectra = compute_spectra(y, RENDER_SR)
        n = spectra.n_frames
        out.append({
            "logmel": spectra.logmel_db.astype(np.float16),
            "beat": _targets(beats, n, spectra.fps),
            "downbeat": _targets(down, n, spectra.fps),
            "meta": f"{meta} {how}",
        })
    return out


def save_mixes(names: list[Path], mixes: list[dict]) -> None:
    """Write each mix to its ``.npz`` name whole or not at all (a stopped run leaves no half
    file, so a rerun resumes where it stopped)."""
    for out, mixed in zip(names, mixes, strict=True):
        np.savez(out.with_suffix(".tmp.npz"), **mixed)
        os.replace(out.with_suffix(".tmp.npz"), out)


def _targets(times: np.ndarray, n: int, fps: float) -> np.ndarray:
    """uint8 [n]: 1 at the frame nearest each time."""
    out = np.zeros(n, dtype=np.uint8)
    idx = np.round(times * fps).astype(np.int64)
    out[idx[(idx >= 0) & (idx < n)]] = 1
    return out


def data_parser(description: str, count: str, count_default: int,
                mixes_default: int) -> argparse.ArgumentParser:
    """The command line of a data generator: output folder, how many songs or pieces, mixes
    of each, seed and time limit."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("outdir", type=Path)
    parser.add_argument(f"--{count}", type=int, default=count_default)
    parser.add_argument("--mixes", type=int, default=mixes_default, help="mixes of each")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--minutes", type=float, default=0.0,
                        help="stop after this many minutes (0: no limit); rerun to resume")
    parser.add_argument("--part", default=(0, 1), type=_part,
                        help=f"K/N: make only {count} K, K+N, K+2N... (N runs side by side)")
    return parser


def _part(text: str) -> tuple[int, int]:
    """``K/N`` → (K, N) with 0 <= K < N: one of N generators running side by side."""
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match or not int(match.group(1)) < int(match.group(2)):
        raise argparse.ArgumentTypeError(f"{text!r} is not K/N with 0 <= K < N, e.g. 0/2")
    return int(match.group(1)), int(match.group(2))


def exit_on_sigterm() -> None:
    """Make a stop by SIGTERM (``kill``, ``pkill``) unwind like Ctrl-C, so a generator's
    temporary render folder is removed instead of left behind with its audio."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def main(argv: list[str] | None = None) -> int:
    parser = data_parser(__doc__.splitlines()[0], "songs", 900, 3)
    args = parser.parse_args(argv)
    exit_on_sigterm()
    args.outdir.mkdir(parents=True, exist_ok=True)
    grooves = list_grooves()
    print(f"{len(grooves)} grooves", file=sys.stderr)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.part[0], args.songs, args.part[1]):
            if args.minutes and time.monotonic() - t0 > 60.0 * args.minutes:
                print(f"time limit: stopped before song {k}", file=sys.stderr)
                break
            names = [args.outdir / f"song{k:05d}-{m}.npz" for m in range(args.mixes)]
            if all(p.exists() for p in names):
                continue
            song = make_song(np.random.default_rng([args.seed, k]), grooves, Path(tmp),
                             args.mixes)
            if song is None:
                print(f"song {k}: MMA or fluidsynth gave nothing, skipped", file=sys.stderr)
                continue
            save_mixes(names, song)
            print(f"song {k:05d}: {song[0]['meta']}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
