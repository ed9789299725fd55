"""Deterministic demo-song synthesizer: the default input of `choreo analyze` and a test oracle.

It renders drums, bass, chords and a lead melody over a song structure (by default intro / verse
/ chorus / verse / chorus / outro) and returns the audio with its ground truth: tempo, meter,
beat times, downbeats, section boundaries and the 4-bar phrase starts. Everything is set by a
:class:`DemoSongSpec` (tempo, meter, style palette, energy, structure, seed), so training can
render many songs in several styles. Rendering is vectorised: a 3-minute song takes well under
a second.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from choreo_studio.core.analysis.music_analysis import Section
from choreo_studio.core.atomic_io import write_atomic
from choreo_studio.core.audio.load import Audio

DEFAULT_STRUCTURE: tuple[tuple[str, int], ...] = (
    ("intro", 4),
    ("verse", 8),
    ("chorus", 8),
    ("verse", 8),
    ("chorus", 8),
    ("outro", 4),
)

# Drum patterns per style on a grid of 4 steps per beat, for a 4-beat bar ("x" hit, "." rest).
# 3/4 songs use the first 12 steps. "K" kick, "S" snare, "H" closed hat, "O" open hat.
_DRUMS: dict[str, dict[str, dict[str, str]]] = {
    "pop": {
        "verse": {"K": "x.......x.x.....", "S": "....x.......x...", "H": "x.x.x.x.x.x.x.x."},
        "chorus": {"K": "x.....x.x.......", "S": "....x.......x...", "H": "xxxxxxxxxxxxxxxx",
                   "O": "..x...x...x...x."},
    },
    "edm": {
        "verse": {"K": "x...x...x...x...", "S": "................", "H": "..x...x...x...x."},
        "chorus": {"K": "x...x...x...x...", "S": "....x.......x...", "H": "xxxxxxxxxxxxxxxx",
                   "O": "..x...x...x...x."},
    },
    "hiphop": {
        "verse": {"K": "x.....x...x.....", "S": "....x.......x...", "H": "x.x.x.x.x.x.x.x."},
        "chorus": {"K": "x.....x.x.x...x.", "S": "....x.......x..x", "H": "x.xxx.x.x.xxx.x."},
    },
    "dnb": {
        "verse": {"K": "x.........x.....", "S": "....x.......x...", "H": "x.x.x.x.x.x.x.x."},
        "chorus": {"K": "x.........x..x..", "S": "....x..x....x...", "H": "xxxxxxxxxxxxxxxx"},
    },
    "rock": {
        "verse": {"K": "x.......x.......", "S": "....x.......x...", "H": "x.x.x.x.x.x.x.x."},
        "chorus": {"K": "x.x.....x.x.....", "S": "....x.......x...", "O": "x.x.x.x.x.x.x.x."},
    },
    "waltz": {
        "verse": {"K": "x...........", "S": "....x...x...", "H": "x...x...x..."},
        "chorus": {"K": "x.......x...", "S": "....x...x...", "H": "x.x.x.x.x.x.",
                   "O": "....x...x..."},
    },
}

# Chord progressions as scale degrees (0 = tonic) per section kind, one chord per bar.
_PROGRESSIONS = {
    "intro": (0, 5, 3, 4),
    "verse": (0, 5, 3, 4),
    "chorus": (3, 4, 2, 5),
    "bridge": (5, 3, 0, 4),
    "outro": (3, 4, 0, 0),
}
_MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
_STYLE_TIMBRE = {  # (bass harmonics, pad brightness, lead harmonics)
    "pop": (4, 0.5, 5),
    "edm": (8, 0.8, 9),
    "hiphop": (3, 0.3, 3),
    "dnb": (6, 0.6, 7),
    "rock": (7, 0.7, 8),
    "waltz": (2, 0.4, 3),
}
STYLES = tuple(_DRUMS)


@dataclass(frozen=True)
class DemoSongSpec:
    """How to render a demo song. ``structure`` is ((section kind, bars), ...)."""

    tempo_bpm: float = 120.0
    beats_per_bar: int = 4
    style: str = "pop"
    energy: float = 0.7
    structure: tuple[tuple[str, int], ...] = DEFAULT_STRUCTURE
    key_midi: int = 57
    seed: int = 0
    sr: int = 22050
    lead_in_s: float = 0.25

    def __post_init__(self) -> None:
        if self.style not in _DRUMS:
            raise ValueError(f"unknown demo style {self.style!r}; choose from {', '.join(STYLES)}")
        if self.beats_per_bar not in (3, 4):
            raise ValueError("demo songs are in 3/4 or 4/4")
        if not 30.0 <= self.tempo_bpm <= 250.0:
            raise ValueError("demo tempo must be within 30–250 BPM")


@dataclass
class DemoSong:
    """A rendered demo song with its ground truth (times in seconds, beats as indices)."""

    spec: DemoSongSpec
    samples: np.ndarray  # float32 [n, 2]
    sr: int
    beats_s: np.ndarray
    downbeats: np.ndarray
    sections: list[Section]
    phrase_start_beats: np.ndarray
    lead_notes: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # start_s, end_s, midi
    name: str = field(default="demo song")

    def lead_midi_at(self, times_s: np.ndarray) -> np.ndarray:
        """Ground-truth lead pitch (MIDI) at each time, 0 where the lead rests."""
        out = np.zeros(len(times_s))
        for start, end, midi in self.lead_notes:
            out[(times_s >= start) & (times_s < end)] = midi
        return out

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / float(self.sr)

    def audio(self) -> Audio:
        """The song as an in-memory :class:`Audio` (content hash over the samples)."""
        return Audio.from_array(self.samples, self.sr, path=None)

    def write_wav(self, path: str | os.PathLike[str]) -> Path:
        """Save as 16-bit PCM WAV (atomically)."""
        import soundfile as sf

        def _write(fh) -> None:
            sf.write(fh, self.samples, self.sr, format="WAV", subtype="PCM_16")

        return write_atomic(path, _write)


def render_demo_song(spec: DemoSongSpec | None = None) -> DemoSong:
    """Render ``spec`` (default: 120 BPM 4/4 pop, intro/verse/chorus/verse/chorus/outro)."""
    spec = spec or DemoSongSpec()
    sr, bpb = spec.sr, spec.beats_per_bar
    beat_s = 60.0 / spec.tempo_bpm
    n_bars = sum(bars for _, bars in spec.structure)
    n_beats = n_bars * bpb
    beats_s = spec.lead_in_s + np.arange(n_beats) * beat_s
    duration_s = beats_s[-1] + beat_s + 1.5
    out = np.zeros((int(duration_s * sr), 2), dtype=np.float32)
    rng = np.random.default_rng(spec.seed)
    kit = _DrumKit(sr, rng)
    timbre = _STYLE_TIMBRE[spec.style]
    sections: list[Section] = []
    phrase_starts: list[int] = []
    lead_notes: list[tuple[float, float, float]] = []
    bar = 0
    for kind, bars in spec.structure:
        start_beat = bar * bpb
        sections.append(Section(float(beats_s[start_beat]) if bar else 0.0, 0.0, kind))
        phrase_starts.extend(start_beat + np.arange(0, bars, 4) * bpb)
        motif = _motif(spec, kind)
        for b in range(bars):
            bar_t = float(beats_s[(bar + b) * bpb])
            degree = _PROGRESSIONS.get(kind, _PROGRESSIONS["verse"])[b % 4]
            _drums_bar(out, kit, spec, kind, bar_t, beat_s, b, bars)
            _bass_bar(out, spec, kind, degree, bar_t, beat_s, timbre[0])
            _pad_bar(out, spec, kind, degree, bar_t, beat_s, timbre[1])
            lead_notes += _lead_bar(out, spec, kind, motif, b, bar_t, beat_s, timbre[2])
        bar += bars
    ends = [s.start_s for s in sections[1:]] + [float(duration_s)]
    sections = [Section(s.start_s, e, s.label) for s, e in zip(sections, ends, strict=True)]
    out /= max(float(np.max(np.abs(out))), 1e-6) / 0.9
    return DemoSong(
        spec=spec,
        samples=out,
        sr=sr,
        beats_s=beats_s,
        downbeats=np.arange(0, n_beats, bpb),
        sections=sections,
        phrase_start_beats=np.asarray(phrase_starts, dtype=np.int64),
        lead_notes=np.asarray(lead_notes, dtype=np.float64).reshape(-1, 3),
        name=f"demo {spec.style} {spec.tempo_bpm:g} BPM {bpb}/4 (seed {spec.seed})",
    )


def _section_gain(spec: DemoSongSpec, kind: str) -> float:
    base = {"intro": 0.55, "verse": 0.8, "chorus": 1.0, "bridge": 0.85, "outro": 0.6}
    return base.get(kind, 0.8) * (0.5 + 0.5 * spec.energy)


class _DrumKit:
    """One-shot drum samples rendered once per song."""

    def __init__(self, sr: int, rng: np.random.Generator) -> None:
        t = np.arange(int(0.35 * sr)) / sr
        sweep = 2 * np.pi * np.cumsum(45 + 110 * np.exp(-t / 0.03)) / sr
        self.kick = (np.sin(sweep) * np.exp(-t / 0.12)).astype(np.float32)
        noise = rng.standard_normal(int(0.4 * sr)).astype(np.float32)
        ts = t[: int(0.2 * sr)]
        body = np.sin(2 * np.pi * 190 * ts) * np.exp(-ts / 0.05)
        self.snare = (0.6 * np.diff(noise[: ts.size + 1]) * np.exp(-ts / 0.07) + 0.5 * body)
        hp = np.diff(np.diff(noise)) / 4
        th = np.arange(hp.size) / sr
        self.hat = (hp * np.exp(-th / 0.025))[: int(0.08 * sr)].astype(np.float32)
        self.open_hat = (hp * np.exp(-th / 0.15))[: int(0.35 * sr)].astype(np.float32)
        self.crash = (hp * np.exp(-th / 0.25)).astype(np.float32)


def _add(out: np.ndarray, sr: int, start_s: float, sound: np.ndarray, gain: float,
         pan: float = 0.0) -> None:
    """Mix ``sound`` into stereo ``out`` at ``start_s`` (pan -1 left … 1 right), cut at the end."""
    i0 = int(round(start_s * sr))
    n = min(sound.size, out.shape[0] - i0)
    if n <= 0 or i0 < 0:
        return
    out[i0 : i0 + n, 0] += gain * (1.0 - max(pan, 0.0)) * sound[:n]
    out[i0 : i0 + n, 1] += gain * (1.0 + min(pan, 0.0)) * sound[:n]


@lru_cache(maxsize=512)
def _tone(sr: int, midi: float, dur_s: float, harmonics: int, decay_s: float,
          attack_s: float = 0.005, vibrato: float = 0.0) -> np.ndarray:
    """A harmonic tone (1/k amplitudes) with attack, exponential decay and a short release."""
    t = np.arange(int(dur_s * sr)) / sr
    f0 = 440.0 * 2.0 ** ((midi - 69.0) / 12.0)
    phase = 2 * np.pi * f0 * (t + vibrato * np.sin(2 * np.pi * 5.5 * t) / (2 * np.pi * 5.5))
    wave = np.zeros_like(t)
    for k in range(1, harmonics + 1):
        if k * f0 < sr / 2 - 500:
            wave += np.sin(k * phase) / k
    env = np.minimum(t / attack_s, 1.0) * np.exp(-t / decay_s)
    release = min(int(0.02 * sr), t.size)
    env[t.size - release :] *= np.linspace(1.0, 0.0, release)
    tone = (wave * env).astype(np.float32)
    tone.flags.writeable = False
    return tone


def _pitch(spec: DemoSongSpec, degree: int, octave: int = 0) -> int:
    """MIDI pitch of scale ``degree`` (may exceed 6) in the song's major key."""
    return spec.key_midi + 12 * (octave + degree // 7) + int(_MAJOR[degree % 7])


def _drums_bar(out: np.ndarray, kit: _DrumKit, spec: DemoSongSpec, kind: str, bar_t: float,
               beat_s: float, bar_in_section: int, section_bars: int) -> None:
    gain = _section_gain(spec, kind)
    pattern_kind = "chorus" if kind in ("chorus", "bridge") else "verse"
    pattern = _DRUMS[spec.style][pattern_kind]
    steps = 4 * spec.beats_per_bar
    step_s = beat_s / 4
    if kind == "intro":
        pattern = {"H": pattern.get("H", "x.x." * 4), "K": "x" + "." * 15}
    if kind == "outro":
        pattern = {"K": pattern["K"], "H": "x...x...x...x..."}
    if bar_in_section == 0:
        _add(out, spec.sr, bar_t, kit.crash, 0.35 * gain)
    for drum, hits in pattern.items():
        sound, level, pan = {
            "K": (kit.kick, 1.0, 0.0),
            "S": (kit.snare, 0.7, 0.1),
            "H": (kit.hat, 0.25, -0.3),
            "O": (kit.open_hat, 0.2, 0.3),
        }[drum]
        for step in range(steps):
            if hits[step % len(hits)] == "x":
                accent = 1.15 if step == 0 else (0.8 if step % 4 else 1.0)
                _add(out, spec.sr, bar_t + step * step_s, sound, level * gain * accent, pan)
    # a fill on the last beat of every 4th bar marks the phrase end
    if bar_in_section % 4 == 3 and kind in ("verse", "chorus", "bridge"):
        last_beat_t = bar_t + (spec.beats_per_bar - 1) * beat_s
        for k in range(4):
            _add(out, spec.sr, last_beat_t + k * step_s, kit.snare, 0.35 * gain * (0.7 + 0.1 * k))


def _bass_bar(out: np.ndarray, spec: DemoSongSpec, kind: str, degree: int, bar_t: float,
              beat_s: float, harmonics: int) -> None:
    gain = 0.55 * _section_gain(spec, kind)
    root = _pitch(spec, degree, octave=-2)
    if kind == "intro":
        return
    if kind == "chorus":
        offsets = [(k * 0.5, root + (12 if k % 2 else 0)) for k in range(2 * spec.beats_per_bar)]
    else:
        offsets = [(float(k), root) for k in range(spec.beats_per_bar)]
    for beat, midi in offsets:
        dur = 0.5 * beat_s if kind == "chorus" else 0.9 * beat_s
        tone = _tone(spec.sr, midi, dur, harmonics, decay_s=0.25)
        _add(out, spec.sr, bar_t + beat * beat_s, tone, gain * (1.2 if beat == 0 else 0.9))


def _pad_bar(out: np.ndarray, spec: DemoSongSpec, kind: str, degree: int, bar_t: float,
             beat_s: float, brightness: float) -> None:
    gain = 0.12 * _section_gain(spec, kind)
    bar_len = spec.beats_per_bar * beat_s
    harmonics = 2 + int(4 * brightness) + (2 if kind == "chorus" else 0)
    for i, step in enumerate((0, 2, 4)):
        midi = _pitch(spec, degree + step, octave=-1 if kind != "chorus" else 0)
        tone = _tone(spec.sr, midi, bar_len, harmonics, decay_s=2.0 * bar_len, attack_s=0.04)
        _add(out, spec.sr, bar_t, tone, gain, pan=(-0.5, 0.0, 0.5)[i])


def _motif(spec: DemoSongSpec, kind: str) -> list[list[tuple[float, float, int]]]:
    """A 4-bar lead melody per section kind: bars of (beat, length in beats, scale degree).

    The same kind always gets the same melody (repeated material); the last bar holds a long
    note and rests before the next phrase, as sung phrases do.
    """
    seed = [spec.seed, sum(map(ord, kind)), spec.beats_per_bar]
    rng = np.random.default_rng(seed)
    bpb = spec.beats_per_bar
    base = 4 if kind == "chorus" else 0
    bars: list[list[tuple[float, float, int]]] = []
    for b in range(4):
        notes: list[tuple[float, float, int]] = []
        chord = _PROGRESSIONS.get(kind, _PROGRESSIONS["verse"])[b]
        if b == 3:
            notes.append((0.0, bpb - 1.5, chord + base + 2))
        else:
            beat = 0.0
            while beat < bpb - 0.01:
                length = float(rng.choice([0.5, 1.0, 1.0, 1.5])) if kind != "outro" else 1.0
                length = min(length, bpb - beat)
                degree = chord + base + int(rng.choice([0, 2, 4, 1, -1]))
                notes.append((beat, length, degree))
                beat += length
        bars.append(notes)
    return bars


def _lead_bar(out: np.ndarray, spec: DemoSongSpec, kind: str,
              motif: list[list[tuple[float, float, int]]], bar_in_section: int, bar_t: float,
              beat_s: float, harmonics: int) -> list[tuple[float, float, float]]:
    """Render one bar of the lead; returns its notes as (start_s, end_s, midi)."""
    if kind == "intro" and bar_in_section < 2:
        return []
    notes: list[tuple[float, float, float]] = []
    gain = 0.3 * _section_gain(spec, kind)
    variant = 1 if (bar_in_section // 4) % 2 else 0
    for beat, length, degree in motif[bar_in_section % 4]:
        shift = 1 if variant and bar_in_section % 4 == 3 else 0
        midi = _pitch(spec, degree + shift, octave=0)
        tone = _tone(spec.sr, midi, 0.92 * length * beat_s, harmonics, decay_s=1.2,
                     attack_s=0.01, vibrato=0.02)
        _add(out, spec.sr, bar_t + beat * beat_s, tone, gain, pan=0.1)
        start_s = bar_t + beat * beat_s
        notes.append((start_s, start_s + 0.92 * length * beat_s, float(midi)))
    return notes
