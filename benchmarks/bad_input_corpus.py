"""The bad-input corpus: hostile audio, BVH files and sidecars, projects, model bundles,
timelines, output and cache folders, cache faults and training files, each run through the
command (or loader) a user would hit it with.

Run: ``python benchmarks/bad_input_corpus.py [--only bvh,project] [--seed 0] [--hang-s 60]``.
Prints one row per case, ``case | command | exit | traceback? | first line | data lost?``, then
the totals. Commands run in this process (``choreo_studio.core.cli.main``) so the library and
model load once; a case running past ``--hang-s`` is stopped and counted as a hang. "data lost"
means a file that existed before a failing command changed or vanished, or a temporary file was
left behind. Nothing is asserted; exit 1 when any traceback, hang or loss was seen.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from choreo_studio.core.cli import main as cli_main  # noqa: E402
from choreo_studio.core.errors import ChoreoError  # noqa: E402

from tests import fuzz_targets as ft  # noqa: E402


@dataclass
class Case:
    """One hostile input and the command it is given to."""

    category: str
    name: str
    command: str
    run: Callable[[], int]
    guard: list[Path] = field(default_factory=list)  # must survive a failing command
    watch: list[Path] = field(default_factory=list)  # folders that must hold no temp files


@dataclass
class Outcome:
    exit: int | str
    traceback: bool
    first_line: str
    lost: bool
    seconds: float


class Hang(BaseException):
    """Raised by the alarm when a case runs too long (BaseException: not caught as an error)."""


def cli(*argv: str) -> Callable[[], int]:
    """A runner for ``choreo ARGV`` in this process."""
    def run() -> int:
        try:
            return cli_main(list(argv))
        except SystemExit as exc:  # argparse refusals
            return int(exc.code or 0)
    return run


def loader(fn: Callable[..., Any], *args: Any) -> Callable[[], int]:
    """A runner for a loader the editor or training calls (ChoreoError -> exit 2, shown)."""
    def run() -> int:
        try:
            fn(*args)
        except ChoreoError as exc:
            print(f"choreo: error: {exc}", file=sys.stderr)
            return 2
        return 0
    return run


def _snapshot(paths: list[Path]) -> dict[str, bytes | None]:
    """The bytes of every file under ``paths`` (None for a missing path)."""
    out: dict[str, bytes | None] = {}
    for path in paths:
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                if p.is_file():
                    out[str(p)] = p.read_bytes()
        else:
            out[str(path)] = path.read_bytes() if path.is_file() else None
    return out


def _temp_left(folders: list[Path]) -> bool:
    """Whether a temporary file or folder of an atomic write was left behind."""
    for folder in folders:
        if folder.is_dir():
            for p in folder.rglob("*"):
                if p.name.startswith(".") and (p.name.endswith(".tmp") or ".tmp" in p.name
                                               or p.name.endswith(".old")):
                    return True
    return False


def run_case(case: Case, hang_s: int) -> Outcome:
    """Run one case with stdout/stderr captured and an alarm for hangs."""
    before = _snapshot(case.guard)
    err, out = io.StringIO(), io.StringIO()

    def alarm(signum: int, frame: Any) -> None:
        raise Hang

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(hang_s)
    started = time.perf_counter()
    tb = False
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code: int | str = case.run()
    except Hang:
        code = "hang"
    except Exception:  # what the corpus is looking for
        code = 1
        tb = True
        err.write(traceback.format_exc())
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    seconds = time.perf_counter() - started
    text = err.getvalue()
    if tb:
        lines = [ln for ln in text.strip().splitlines() if ln.strip()]
        first = lines[-1] if lines else "?"
    else:
        errors = [ln for ln in text.splitlines() if ln.startswith("choreo: error:")]
        lines = errors or [ln for ln in text.splitlines() if ln.strip() and "arning" not in ln]
        stdout = out.getvalue().strip().splitlines()
        first = (stdout or [""])[0] if code == 0 and stdout else (lines or stdout or [""])[0]
    changed = code != 0 and _snapshot(case.guard) != before
    return Outcome(code, tb, first.strip(), changed or _temp_left(case.watch), seconds)


# ============================================================================ inputs
def click_track(path: Path, seconds: float = 12.0, bpm: float = 120.0, sr: int = 22050,
                channels: int = 1, subtype: str = "PCM_16") -> Path:
    """A click track with a bass line: a song the analyser finds a steady beat in."""
    import soundfile as sf

    t = np.arange(int(seconds * sr)) / sr
    y = 0.2 * np.sin(2 * np.pi * 110 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * t * bpm / 240))
    for beat in np.arange(0, seconds, 60.0 / bpm):
        i = int(beat * sr)
        n = min(len(t) - i, int(0.03 * sr))
        y[i:i + n] += 0.8 * np.exp(-np.arange(n) / (0.005 * sr)) * np.sin(
            2 * np.pi * 1000 * np.arange(n) / sr)
    y = np.clip(y, -1, 1).astype(np.float32)
    data = np.stack([y] * channels, axis=1) if channels > 1 else y
    sf.write(path, data, sr, subtype=subtype)
    return path


def audio_cases(work: Path, rng: random.Random) -> list[Case]:
    """Broken, odd and hostile audio files given to analyze (and a few to auto)."""
    import soundfile as sf

    folder = work / "audio"
    folder.mkdir()
    good = click_track(folder / "good.wav")
    raw = good.read_bytes()
    files: dict[str, Path] = {}

    def put(name: str, data: bytes) -> None:
        (folder / name).write_bytes(data)
        files[name] = folder / name

    put("empty.wav", b"")
    put("one-byte.wav", b"R")
    put("riff-only.wav", raw[:12])
    put("header-only.wav", raw[:44])
    for frac in (0.1, 0.5, 0.9):
        put(f"cut-{int(frac * 100)}pct.wav", raw[: int(len(raw) * frac)])
    put("text.wav", b"this is not audio\n" * 100)
    put("html.mp3", b"<html><body>404</body></html>")
    put("zeros.wav", bytes(50_000))
    put("huge-size-field.wav", raw[:4] + (2**32 - 1).to_bytes(4, "little") + raw[8:])
    put("bad-fmt.wav", raw[:20] + b"\xff\xff" + raw[22:])
    put("zero-channels.wav", raw[:22] + b"\x00\x00" + raw[24:])
    put("zero-rate.wav", raw[:24] + b"\x00\x00\x00\x00" + raw[28:])
    for i in range(12):
        put(f"random-{i}.{['wav', 'mp3', 'flac', 'ogg', 'm4a', 'aac'][i % 6]}",
            bytes(rng.getrandbits(8) for _ in range(rng.choice([10, 1000, 20000]))))
    for i in range(8):
        data = bytearray(raw)
        for _ in range(rng.choice([1, 10, 100])):
            data[rng.randrange(0, 64)] = rng.getrandbits(8)
        put(f"header-flip-{i}.wav", bytes(data))
    for ext in ("mp3", "flac", "ogg", "m4a"):
        put(f"truncated.{ext}", b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(300) if ext == "mp3"
            else {"flac": b"fLaC\x00\x00\x00\x22", "ogg": b"OggS\x00\x02",
                  "m4a": b"\x00\x00\x00\x20ftypM4A "}[ext] + bytes(200))
    sr = 22050
    odd = {
        "silence-10s.wav": np.zeros(10 * sr),
        "silence-0.1s.wav": np.zeros(sr // 10),
        "one-sample.wav": np.zeros(1),
        "dc-offset.wav": np.full(5 * sr, 0.5),
        "clipped-square.wav": np.sign(np.sin(2 * np.pi * 2 * np.arange(8 * sr) / sr)),
        "white-noise.wav": np.random.default_rng(0).uniform(-1, 1, 8 * sr),
        "tone-440.wav": 0.5 * np.sin(2 * np.pi * 440 * np.arange(8 * sr) / sr),
        "nan-float.wav": np.full(4 * sr, np.nan),
        "inf-float.wav": np.full(4 * sr, np.inf),
        "loud-float.wav": np.full(4 * sr, 1e30),
        "tiny-float.wav": np.full(4 * sr, 1e-30),
    }
    for name, y in odd.items():
        subtype = "FLOAT" if "float" in name else "PCM_16"
        with np.errstate(invalid="ignore"):
            sf.write(folder / name, np.asarray(y, dtype=np.float32), sr, subtype=subtype)
        files[name] = folder / name
    files["mono8k.wav"] = click_track(folder / "mono8k.wav", sr=8000)
    files["stereo.flac"] = click_track(folder / "stereo.flac", channels=2)
    files["six-channel.wav"] = click_track(folder / "six-channel.wav", channels=6)
    files["24bit.wav"] = click_track(folder / "24bit.wav", subtype="PCM_24")
    files["2hz-rate.wav"] = folder / "2hz-rate.wav"
    sf.write(files["2hz-rate.wav"], np.zeros(20, dtype=np.float32), 2)
    files["ünïcödé ñame.wav"] = click_track(folder / "ünïcödé ñame.wav")
    (folder / "a-folder.wav").mkdir()
    files["a-folder.wav"] = folder / "a-folder.wav"
    files["missing.wav"] = folder / "missing.wav"
    files["name-too-long.wav"] = folder / ("n" * 300 + ".wav")
    files["under-a-file.wav"] = good / "x.wav"
    link = folder / "dangling.wav"
    link.symlink_to(folder / "nowhere.wav")
    files["dangling-link.wav"] = link
    cases = [Case("audio", f"analyze {name}", "analyze SONG --no-cache",
                  cli("analyze", str(path), "--no-cache")) for name, path in files.items()]
    auto_names = ["empty.wav", "text.wav", "cut-50pct.wav", "random-0.wav", "silence-10s.wav",
                  "nan-float.wav", "a-folder.wav", "missing.wav", "header-flip-0.wav",
                  "truncated.mp3", "one-sample.wav", "mono8k.wav"]
    for name in auto_names:
        out = work / "audio-auto" / name
        cases.append(Case("audio", f"auto {name}", "auto SONG -o OUT --no-model",
                          cli("auto", str(files[name]), "-o", str(out), "--no-model",
                              "--no-cache"), watch=[out]))
    return cases


# ============================================================================ BVH
def _chain(n: int) -> str:
    body = "".join(f"JOINT j{i}\n{{\nOFFSET 0 1 0\nCHANNELS 3 Zrotation Xrotation Yrotation\n"
                   for i in range(n))
    return ("HIERARCHY\nROOT r\n{\nOFFSET 0 0 0\nCHANNELS 3 Zrotation Xrotation Yrotation\n"
            + body + "}\n" * (n + 1) + "MOTION\nFrames: 2\nFrame Time: 0.0333\n"
            + ("0 " * 3 * (n + 1) + "\n") * 2)


def _long_take(n_frames: int) -> str:
    head = ft.SIDECAR_CLIP.split("MOTION")[0]
    rows = "\n".join(" ".join(str(v) for v in [0, 90, 0, 0, (3 * i) % 360, 0, 5, 0, 0, 0, 0,
                                                i % 90]) for i in range(n_frames))
    return f"{head}MOTION\nFrames: {n_frames}\nFrame Time: 0.0333333\n{rows}\n"


def bvh_cases(work: Path, rng: random.Random, n_random: int) -> list[Case]:
    """One hostile clip (or sidecar) per folder, given to ``library import``."""
    clip = ft.SIDECAR_CLIP
    lines = clip.split("\n")
    first = next(i for i, ln in enumerate(lines) if ln.startswith("Frame Time")) + 1
    specific: dict[str, str] = {
        "extra-3-values-one-line": "\n".join(lines[:first + 5] + [lines[first + 5] + " 1 2 3"]
                                             + lines[first + 6:]),
        "values-split-over-lines": "\n".join(lines[:first] + lines[first].split(" ", 4)[:4]
                                             + [lines[first].split(" ", 4)[4]]
                                             + lines[first + 1:]),
        "one-value-short": "\n".join(lines[:first + 2] + [lines[first + 2].rsplit(" ", 1)[0]]
                                     + lines[first + 3:]),
        "value-1e308": clip.replace("\n0 90 0 0 3 0", "\n0 90 0 0 1e308 0", 1),
        "value-nan": clip.replace("\n0 90 0 0 3 0", "\n0 nan 0 0 3 0", 1),
        "value-inf": clip.replace("\n0 90 0 0 3 0", "\n0 inf 0 0 3 0", 1),
        "value-2e6": clip.replace("\n0 90 0 0 3 0", "\n2e6 90 0 0 3 0", 1),
        "value-word": clip.replace("\n0 90 0 0 3 0", "\n0 ninety 0 0 3 0", 1),
        "frame-time-1e-9": clip.replace("Frame Time: 0.0333333", "Frame Time: 1e-9"),
        "frame-time-0": clip.replace("Frame Time: 0.0333333", "Frame Time: 0"),
        "frame-time-negative": clip.replace("Frame Time: 0.0333333", "Frame Time: -0.03"),
        "frame-time-huge": clip.replace("Frame Time: 0.0333333", "Frame Time: 1e9"),
        "frame-time-word": clip.replace("Frame Time: 0.0333333", "Frame Time: fast"),
        "frames-huge": clip.replace("Frames: 60", "Frames: 1000000000000"),
        "frames-more-than-lines": clip.replace("Frames: 60", "Frames: 61"),
        "frames-zero": clip.replace("Frames: 60", "Frames: 0"),
        "frames-negative": clip.replace("Frames: 60", "Frames: -5"),
        "no-motion": clip.split("MOTION")[0],
        "motion-only": "MOTION" + clip.split("MOTION")[1],
        "empty": "",
        "crlf": clip.replace("\n", "\r\n"),
        "cr-only": clip.replace("\n", "\r"),
        "tabs-and-spaces": clip.replace(" ", " \t "),
        "bom": "\ufeff" + clip,
        "chain-2000": _chain(2000),
        "chain-20000": _chain(20000),
        "chain-900": _chain(900),
        "duplicate-joint": clip.replace("JOINT Head", "JOINT Chest"),
        "channels-7": clip.replace("CHANNELS 3 Zrotation Xrotation Yrotation\n\t\tJOINT",
                                   "CHANNELS 7 Zrotation Xrotation Yrotation\n\t\tJOINT", 1),
        "channels-negative": clip.replace("CHANNELS 3", "CHANNELS -3", 1),
        "channel-unknown": clip.replace("Yrotation", "Wrotation", 1),
        "channels-repeated": clip.replace("Zrotation Xrotation Yrotation", "Zrotation Zrotation "
                                          "Yrotation", 1),
        "offset-1e308": clip.replace("OFFSET 0 10 0", "OFFSET 0 1e308 0"),
        "offset-nan": clip.replace("OFFSET 0 10 0", "OFFSET 0 nan 0"),
        "offset-2-values": clip.replace("OFFSET 0 10 0", "OFFSET 0 10"),
        "missing-close-brace": clip.replace("\t}\n}\nMOTION", "\t}\nMOTION"),
        "extra-close-brace": clip.replace("}\nMOTION", "}\n}\nMOTION"),
        "two-roots": clip.replace("MOTION", "ROOT B\n{\nOFFSET 0 0 0\nCHANNELS 0\n}\nMOTION"),
        "no-root-name": clip.replace("ROOT Hips", "ROOT"),
        "binary-garbage": "".join(chr(rng.randrange(1, 255)) for _ in range(3000)),
        "nul-bytes": clip.replace("Chest", "Ch\x00est"),
        "long-joint-name": clip.replace("Chest", "C" * 100_000),
        "zero-channel-joints": clip.replace("CHANNELS 3 Zrotation Xrotation Yrotation",
                                            "CHANNELS 0"),
        "end-site-no-brace": clip.replace("End Site\n\t\t\t{", "End Site\n"),
        "hierarchy-typo": clip.replace("HIERARCHY", "HIERACHY"),
        "clip-shorter-than-a-count": _long_take(5),
    }
    sidecars: dict[str, Any] = {
        "sidecar-bpm-fast": {"bpm": "fast"},
        "sidecar-n-counts-0-cut": {"n_counts": 0, "cut": True},
        "sidecar-n-counts-huge": {"n_counts": 10**9, "cut": True},
        "sidecar-bpm-1e308": {"bpm": 1e308},
        "sidecar-bpm-0": {"bpm": 0},
        "sidecar-cut-no": {"cut": "no"},
        "sidecar-energy-7": {"energy": 7},
        "sidecar-tags-string": {"tags": "a,b"},
        "sidecar-name-10mb": {"name": "x" * 10_000_000},
        "sidecar-unknown-key": {"colour": "red"},
        "sidecar-list": [1, 2, 3],
        "sidecar-unit-furlong": {"unit": "furlong"},
        "sidecar-up-w": {"up": "w"},
        "sidecar-first-beat-past-end": {"first_beat_s": 1e6, "cut": True},
        "sidecar-style-object": {"style": {"a": 1}},
    }
    cases: list[Case] = []

    def add(name: str, text: str, sidecar: Any = None, raw_sidecar: str | None = None) -> None:
        src = work / "bvh" / name / "clips"
        src.mkdir(parents=True)
        (src / "clip.bvh").write_text(text, encoding="utf-8", errors="surrogateescape")
        if sidecar is not None or raw_sidecar is not None:
            (src / "clip.json").write_text(raw_sidecar if raw_sidecar is not None
                                           else json.dumps(sidecar), encoding="utf-8")
        out = work / "bvh" / name / "lib"
        cases.append(Case("bvh", name, "library import DIR -o LIB --bpm 120 --unit cm",
                          cli("library", "import", str(src), "-o", str(out), "--bpm", "120",
                              "--unit", "cm"), watch=[out.parent]))

    for name, text in specific.items():
        add(name, text)
    for name, side in sidecars.items():
        add(name, clip, side)
    add("sidecar-deep-nesting", clip, raw_sidecar='{"tags": ' + "[" * 50_000 + "]" * 50_000 + "}")
    add("sidecar-5001-digits", clip, raw_sidecar='{"energy": ' + "9" * 5001 + "}")
    add("sidecar-not-json", clip, raw_sidecar="{bpm: 120,,}")
    add("sidecar-nan", clip, raw_sidecar='{"bpm": NaN}')
    texts = _examples(ft.mutated_text(ft.SIDECAR_CLIP, max_edits=4), n_random, rng)
    for i, text in enumerate(texts):
        add(f"random-mutation-{i:03d}", text)
    for i, side in enumerate(_examples(ft.mutated_json(ft.BASE_SIDECAR), n_random // 3, rng)):
        add(f"random-sidecar-{i:03d}", clip, side)
    return cases


def _examples(strategy: Any, n: int, rng: random.Random) -> list[Any]:
    """``n`` reproducible examples drawn from a hypothesis strategy."""
    from hypothesis import HealthCheck, given, settings

    drawn: list[Any] = []

    @settings(max_examples=n, database=None, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value: Any) -> None:
        if len(drawn) < n:
            drawn.append(value)

    collect()
    rng.shuffle(drawn)
    return drawn


# ============================================================================ projects
def make_session(work: Path):
    """A real project and timeline of a 12-second click track with the demo library."""
    from choreo_studio.core.audio.load import load_audio
    from choreo_studio.core.choreography.engine import load_engine
    from choreo_studio.core.phrases.song import open_song
    from choreo_studio.core.project import session
    from choreo_studio.core.project.project_file import project_to_dict

    song_path = click_track(work / "song.wav", seconds=24.0)
    engine = load_engine("", "", use_model=False)
    song = open_song(load_audio(song_path), use_cache=False)
    seg = session.start(engine, song)
    project = session.to_project(engine, seg, str(song_path), {"top_k": 10})
    project_doc = project_to_dict(project, work / "base.choreo")
    out = work / "base-export"
    session.export(engine, seg, out, fps=30.0, song_name="song")
    timeline_doc = json.loads((out / "timeline.json").read_text())
    return engine, song_path, project_doc, timeline_doc


def _open_project(path: Path, engine: Any) -> None:
    """What the editor does on File > Open: read, decode the song, restore the session."""
    from choreo_studio.core.audio.load import load_audio
    from choreo_studio.core.project import session
    from choreo_studio.core.project.project_file import read_project

    project = read_project(path)
    session.restore(engine, project, load_audio(project.song_path))


def _set(doc: Any, path: list[Any], value: Any) -> Any:
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


def project_cases(work: Path, rng: random.Random, engine: Any, project: dict[str, Any],
                  n_random: int) -> list[Case]:
    """Damaged, hostile and wrongly typed .choreo files opened the way the editor opens them."""
    folder = work / "projects"
    folder.mkdir()
    analysis = project.get("analysis") or {}
    docs: dict[str, Any] = {
        "valid": project,
        "empty-beats": _set(project, ["analysis", "beats_s"], []) if analysis else project,
        "one-beat": _set(project, ["analysis", "beats_s"], [1.0]) if analysis else project,
        "reversed-beats": _set(project, ["analysis", "beats_s"],
                               list(reversed(analysis.get("beats_s", [])))),
        "beats-as-text": _set(project, ["analysis", "beats_s"], "many"),
        "tempo-nan-text": _set(project, ["analysis", "tempo_bpm"], "NaN"),
        "top-k-ten": _set(project, ["settings", "top_k"], "ten"),
        "top-k-huge": _set(project, ["settings", "top_k"], 10**12),
        "segmentation-wrong-type": _set(project, ["segmentation"], "auto"),
        "segmentation-field-wrong": _set(project, ["segmentation", "pinned"], {"a": 1}),
        "locked-no": _set(project, ["choreography", "placements", 0, "locked"], "no"),
        "blend-huge": _set(project, ["choreography", "placements", 0, "blend_s"], 1e308),
        "blend-text": _set(project, ["choreography", "placements", 0, "blend_s"], "slow"),
        "dance-id-number": _set(project, ["choreography", "placements", 0, "dance_id"], 7),
        "dance-id-10mb": _set(project, ["choreography", "placements", 0, "dance_id"],
                              "x" * 10_000_000),
        "dance-id-unknown": _set(project, ["choreography", "placements", 0, "dance_id"], "nope"),
        "placements-missing": _set(project, ["choreography", "placements"], []),
        "phrases-overlap": _set(project, ["phrases", 1], [0, 4]),
        "phrases-past-end": _set(project, ["phrases", -1], [0, 10**9]),
        "song-path-100k": _set(project, ["song", "path"], "a" * 100_000),
        "song-hash-wrong": _set(project, ["song", "hash"], "0" * 32),
        "song-missing": _set(_set(project, ["song", "path"], "gone.wav"),
                             ["song", "absolute_path"], str(folder / "gone.wav")),
        "library-string": _set(project, ["library"], "demo"),
        "library-path-bogus": _set(project, ["library", "path"], str(folder / "no-lib")),
        "model-path-bogus": _set(project, ["model", "path"], str(folder / "no.choreomodel")),
        "format-99": _set(project, ["format_version"], 99),
        "format-text": _set(project, ["format_version"], "1"),
        "kind-other": _set(project, ["kind"], "something"),
        "top-level-list": [project],
        "null": None,
    }
    raws = {
        "empty-file": "",
        "not-json": "{choreo",
        "deep-nesting": "[" * 100_000 + "]" * 100_000,
        "5001-digit-int": json.dumps(project).replace('"top_k": 10', '"top_k": ' + "9" * 5001),
        "nan-literal": json.dumps(project).replace('"top_k": 10', '"top_k": NaN'),
        "truncated": json.dumps(project)[: len(json.dumps(project)) // 2],
        "utf16": json.dumps(project).encode("utf-16").decode("latin-1"),
    }
    for i, doc in enumerate(_examples(ft.mutated_json(project, max_edits=3), n_random, rng)):
        docs[f"random-mutation-{i:03d}"] = doc
    cases = []
    for name, doc in docs.items():
        raws[name] = json.dumps(doc)
    for name, text in raws.items():
        path = folder / f"{name}.choreo"
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        cases.append(Case("project", name, "editor: open PROJECT", loader(_open_project, path,
                                                                           engine)))
    return cases


# ============================================================================ bundles
def bundle_cases(work: Path, rng: random.Random, song: Path, n_random: int) -> list[Case]:
    """Broken model bundles given to ``choreo auto --model`` (random configs: to the loader)."""
    import torch
    from choreo_studio.core.retrieval.model_bundle import load_bundle
    from choreo_studio.core.retrieval.model_files import (
        CONFIG_NAME,
        WEIGHTS_NAME,
        bundled_models_folder,
    )
    from safetensors.torch import load_file, save_file

    shipped = next(bundled_models_folder().glob("*.choreomodel"))
    folder = work / "bundles"
    folder.mkdir()
    config = json.loads((shipped / CONFIG_NAME).read_text())
    weights = load_file(str(shipped / WEIGHTS_NAME))

    def bundle(name: str, cfg: Any = None, tensors: dict | None = None, raw: str | None = None,
               weights_bytes: bytes | None = None) -> Path:
        path = folder / f"{name}.choreomodel"
        path.mkdir()
        (path / CONFIG_NAME).write_text(raw if raw is not None else json.dumps(
            config if cfg is None else cfg))
        if weights_bytes is not None:
            (path / WEIGHTS_NAME).write_bytes(weights_bytes)
        else:
            save_file(weights if tensors is None else tensors, str(path / WEIGHTS_NAME))
        return path

    def changed(fn: Callable[[dict], None]) -> dict:
        tensors = {k: v.clone() for k, v in weights.items()}
        fn(tensors)
        return tensors

    pred = next(k for k in weights if k.startswith("predictor.") and weights[k].ndim == 2)
    enc = next(k for k in weights if k.startswith("encoder.") and weights[k].is_floating_point())
    specials = {
        "nan-weights": bundle("nan-weights", tensors=changed(
            lambda t: t[enc].view(-1).__setitem__(0, float("nan")))),
        "inf-weights": bundle("inf-weights", tensors=changed(
            lambda t: t[enc].view(-1).__setitem__(0, float("inf")))),
        "nan-transition": bundle("nan-transition", tensors=changed(
            lambda t: t["transition_matrix"].view(-1).__setitem__(0, float("nan")))),
        "negative-transition": bundle("negative-transition", tensors=changed(
            lambda t: t["transition_matrix"].view(-1).__setitem__(0, -1.0))),
        "overflowing-weights": bundle("overflowing-weights", tensors=changed(
            lambda t: t[pred].fill_(1e38))),
        "predictor-wrong-shape": bundle("predictor-wrong-shape", tensors=changed(
            lambda t: t.__setitem__(pred, t[pred][:, :-1].contiguous()))),
        "tensor-missing": bundle("tensor-missing", tensors=changed(lambda t: t.pop(enc))),
        "tensor-extra": bundle("tensor-extra", tensors=changed(
            lambda t: t.__setitem__("bogus.weight", torch.zeros(3)))),
        "no-transition": bundle("no-transition", tensors=changed(
            lambda t: t.pop("transition_matrix"))),
        "truncated-weights": bundle("truncated-weights", weights_bytes=(
            shipped / WEIGHTS_NAME).read_bytes()[:5000]),
        "pickle-weights": bundle("pickle-weights", weights_bytes=b"\x80\x04\x95" + bytes(500)),
        "empty-weights": bundle("empty-weights", weights_bytes=b""),
        "library-string": bundle("library-string", {**config, "library": "demo"}),
        "n-dances-text": bundle("n-dances-text", {**config, "n_dances": "many"}),
        "dance-ids-short": bundle("dance-ids-short", {**config,
                                                       "dance_ids": config["dance_ids"][:-1]}),
        "format-2": bundle("format-2", {**config, "format_version": 2}),
        "deep-nesting": bundle("deep-nesting", raw="[" * 100_000 + "]" * 100_000),
        "not-json": bundle("not-json", raw="{model"),
        "config-list": bundle("config-list", raw="[]"),
        "base-width-1e9": bundle("base-width-1e9", _set(config, ["preset", "network",
                                                                 "base_width"], 10**9)),
        "other-library": bundle("other-library", _set(config, ["library", "fingerprint"], "0")),
    }
    (folder / "empty.choreomodel").mkdir()
    specials["empty-folder"] = folder / "empty.choreomodel"
    (folder / "a-file.choreomodel").write_text("x")
    specials["a-file"] = folder / "a-file.choreomodel"
    specials["missing"] = folder / "missing.choreomodel"
    cases = []
    for name, path in specials.items():
        out = work / "bundle-out" / name
        cases.append(Case("bundle", name, "auto SONG --model BUNDLE -o OUT",
                          cli("auto", str(song), "--model", str(path), "-o", str(out)),
                          watch=[out]))

    def load_and_build(path: Path) -> None:
        load_bundle(path).build_network()

    for i, cfg in enumerate(_examples(ft.mutated_json(config, max_edits=3), n_random, rng)):
        path = bundle(f"random-{i:03d}", cfg)
        cases.append(Case("bundle", f"random-config-{i:03d}", "load_bundle + build_network",
                          loader(load_and_build, path)))
    return cases


# ============================================================================ timelines
def timeline_cases(work: Path, rng: random.Random, song: Path, timeline: dict[str, Any],
                   n_random: int) -> list[Case]:
    """Damaged and hostile timeline files given to ``choreo eval``."""
    folder = work / "timelines"
    folder.mkdir()
    beats = timeline["song"]["beats_s"]
    docs: dict[str, Any] = {
        "valid": timeline,
        "empty-beats": _set(timeline, ["song", "beats_s"], []),
        "reversed-beats": _set(timeline, ["song", "beats_s"], list(reversed(beats))),
        "one-beat": _set(timeline, ["song", "beats_s"], beats[:1]),
        "no-phrases": _set(timeline, ["phrases"], []),
        "phrase-reversed": _set(timeline, ["phrases", 0, "end_s"], -1.0),
        "dance-id-unknown": _set(timeline, ["phrases", 0, "dance_id"], "nope"),
        "dance-id-10mb": _set(timeline, ["phrases", 0, "dance_id"], "x" * 10_000_000),
        "fps-zero": _set(timeline, ["fps"], 0),
        "fps-text": _set(timeline, ["fps"], "thirty"),
        "format-2": _set(timeline, ["format_version"], 2),
        "list": [timeline],
    }
    raws = {"empty": "", "not-json": "{tl", "deep-nesting": "[" * 100_000 + "]" * 100_000,
            "nan": json.dumps(timeline).replace('"fps": 30.0', '"fps": NaN', 1),
            "truncated": json.dumps(timeline)[:500]}
    for i, doc in enumerate(_examples(ft.mutated_json(timeline, max_edits=3), n_random, rng)):
        docs[f"random-mutation-{i:03d}"] = doc
    for name, doc in docs.items():
        raws[name] = json.dumps(doc)
    cases = []
    for name, text in raws.items():
        path = folder / f"{name}.json"
        path.write_text(text)
        cases.append(Case("timeline", name, "eval SONG TIMELINE",
                          cli("eval", str(song), str(path))))
    return cases


# ============================================================================ output folders
@contextlib.contextmanager
def file_size_limit(n_bytes: int):
    """Writes past ``n_bytes`` fail with EFBIG, as on a full disk (soft limit, restored)."""
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (n_bytes, old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
        signal.signal(signal.SIGXFSZ, old_handler)


def limited(run: Callable[[], int], n_bytes: int) -> Callable[[], int]:
    def inner() -> int:
        with file_size_limit(n_bytes):
            return run()
    return inner


def output_cases(work: Path, song: Path) -> list[Case]:
    """-o that is a folder, under a file, too long, on a 'full disk'; caches that are files."""
    folder = work / "outputs"
    folder.mkdir()
    blocker = folder / "a-file"
    blocker.write_text("keep me")
    (folder / "a-folder").mkdir()
    clips = work / "outputs-clips"
    clips.mkdir()
    (clips / "clip.bvh").write_text(ft.SIDECAR_CLIP)
    existing_json = folder / "existing.json"
    existing_json.write_text('{"old": true}\n')
    library = work / "outputs-lib"
    cli("library", "import", str(clips), "-o", str(library), "--bpm", "120", "--unit", "cm")()
    long_name = "n" * 300
    cases: list[Case] = []
    targets = {
        "folder": folder / "a-folder", "under-a-file": blocker / "x",
        "under-a-file-deep": blocker / "x" / "y", "name-too-long": folder / long_name,
        "parent-too-long": folder / long_name / "x",
    }
    for where, target in targets.items():
        cases += [
            Case("output", f"analyze -o {where}", "analyze SONG -o OUT.json",
                 cli("analyze", str(song), "-o", str(target)), guard=[blocker], watch=[folder]),
            Case("output", f"auto -o {where}", "auto SONG -o OUTDIR --no-model",
                 cli("auto", str(song), "-o", str(target), "--no-model"), guard=[blocker],
                 watch=[folder]),
            Case("output", f"library import -o {where}", "library import DIR -o LIB",
                 cli("library", "import", str(clips), "-o", str(target), "--bpm", "120",
                     "--unit", "cm"), guard=[blocker], watch=[folder]),
            Case("output", f"library preview -o {where}", "library preview LIB -o OUT.gif",
                 cli("library", "preview", str(library), "-o", str(target)), guard=[blocker],
                 watch=[folder]),
        ]
    cases += [
        Case("output", "library import -o a-file", "library import DIR -o FILE",
             cli("library", "import", str(clips), "-o", str(blocker), "--bpm", "120", "--unit",
                 "cm"), guard=[blocker], watch=[folder]),
        Case("output", "auto -o a-file", "auto SONG -o FILE --no-model",
             cli("auto", str(song), "-o", str(blocker), "--no-model"), guard=[blocker]),
        Case("output", "preview -o .txt", "library preview LIB -o OUT.txt",
             cli("library", "preview", str(library), "-o", str(folder / "x.txt"))),
    ]
    full = folder / "full-disk"
    full.mkdir()
    (full / "analysis.json").write_text('{"old": true}\n')
    for name, run, guard in [
        ("analyze -o on a full disk", cli("analyze", str(song), "-o", str(full / "analysis.json"),
                                          "--no-cache"), [full / "analysis.json"]),
        ("auto -o on a full disk", cli("auto", str(song), "-o", str(full / "auto"),
                                       "--no-model", "--no-cache"), []),
        ("library import -o on a full disk", cli("library", "import", str(clips), "-o",
                                                 str(library), "--bpm", "120", "--unit", "cm"),
         [library]),
        ("library preview -o on a full disk", cli("library", "preview", str(library), "-o",
                                                  str(full / "p.gif")), []),
    ]:
        cases.append(Case("output", name, name.split(" -o")[0] + " (writes fail: EFBIG)",
                          limited(run, 2000), guard=guard, watch=[full, library]))
    cache_file = folder / "cache-is-a-file"
    cache_file.write_text("not a folder")
    for name, cache in [("cache is a file", cache_file), ("cache under a file", cache_file / "c"),
                        ("cache name too long", folder / long_name)]:
        cases.append(Case("cache", f"analyze, {name}", "analyze SONG --cache-dir CACHE",
                          cli("analyze", str(song), "--cache-dir", str(cache)),
                          guard=[cache_file]))
    cases.append(Case("cache", "analyze, cache on a full disk", "analyze SONG --cache-dir CACHE "
                      "(writes fail)", limited(cli("analyze", str(song), "--cache-dir",
                                                   str(folder / "full-cache")), 2000)))
    cases.append(Case("output", "analyze -o existing.json, song bad", "analyze BAD -o EXISTING",
                      cli("analyze", str(folder / "nope.wav"), "-o", str(existing_json)),
                      guard=[existing_json]))
    bad_clips = work / "outputs-bad-clips"
    bad_clips.mkdir()
    (bad_clips / "clip.bvh").write_text(ft.SIDECAR_CLIP.replace("Frames: 60", "Frames: 70"))
    for i in range(3):
        cases.append(Case("library-overwrite", f"import -o EXISTING with a bad clip #{i}",
                          "library import BAD -o EXISTING_LIB",
                          cli("library", "import", str(bad_clips), "-o", str(library), "--bpm",
                              "120", "--unit", "cm"), guard=[library], watch=[library.parent]))
    return cases


# ============================================================================ cache faults
def cache_fault_cases(work: Path, song: Path) -> list[Case]:
    """Truncated or garbage entries in a populated analysis cache, then analyze again."""
    cases = []
    faults: list[tuple[str, Callable[[Path], None]]] = []
    for pattern in ("logmel.npz", "features-*.npz", "analysis.json"):
        for keep in (0, 1, 100, 0.5, -1):
            def cut(folder: Path, pattern: str = pattern, keep: float = keep) -> None:
                for p in folder.rglob(pattern):
                    data = p.read_bytes()
                    n = int(len(data) * keep) if isinstance(keep, float) else (
                        len(data) + keep if keep < 0 else keep)
                    p.write_bytes(data[:n])
            faults.append((f"{pattern} cut to {keep}", cut))

        def garbage(folder: Path, pattern: str = pattern) -> None:
            for p in folder.rglob(pattern):
                p.write_bytes(os.urandom(p.stat().st_size or 100))
        faults.append((f"{pattern} random bytes", garbage))

        def folder_instead(folder: Path, pattern: str = pattern) -> None:
            for p in list(folder.rglob(pattern)):
                p.unlink()
                p.mkdir()
        faults.append((f"{pattern} is a folder", folder_instead))
    faults.append(("analysis.json deep nesting", lambda f: [
        p.write_text("[" * 100_000) for p in f.rglob("analysis.json")]))
    faults.append(("analysis.json empty beats", lambda f: [
        p.write_text(json.dumps({**json.loads(p.read_text()), "beats_s": []}))
        for p in f.rglob("analysis.json")]))
    for name, damage in faults:
        cache = work / "cache-faults" / name.replace(" ", "_").replace("*", "x")

        def run(cache: Path = cache, damage: Callable[[Path], None] = damage) -> int:
            first = cli("analyze", str(song), "--cache-dir", str(cache))()
            if first != 0:
                return first
            damage(cache)
            again = cli("analyze", str(song), "--cache-dir", str(cache))()
            return again if again != 0 else cli("analyze", str(song), "--cache-dir",
                                                str(cache))()
        cases.append(Case("cache", name, "analyze SONG --cache-dir C (damage, twice)", run))
    return cases


# ============================================================================ training
def training_cases(work: Path, rng: random.Random, n_random: int) -> list[Case]:
    """Hostile training configs and checkpoints given to the training loaders and CLI."""
    import torch
    from choreo_studio.training.checkpoints import StageState, load_checkpoint, save_checkpoint
    from choreo_studio.training.config import TrainConfig

    folder = work / "training"
    folder.mkdir()
    base = TrainConfig().to_dict()
    configs: dict[str, Any] = {
        "valid": base, "seed-text": {**base, "seed": "one"}, "amp-no": {**base, "amp": "no"},
        "lr-fast": _set(base, ["pretrain", "lr"], "fast"),
        "batch-0": _set(base, ["finetune", "batch_size"], 0),
        "unknown-key": {**base, "colour": 1}, "stage-string": {**base, "pretrain": "x"},
        "topk-zero": {**base, "topk": [0]}, "list": [base],
    }
    for i, doc in enumerate(_examples(ft.mutated_json(base, max_edits=2), n_random, rng)):
        configs[f"random-{i:03d}"] = doc
    cases = []
    for name, doc in configs.items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(doc))
        cases.append(Case("training", f"config {name}", "TrainConfig.load (train --config)",
                          loader(TrainConfig.load, path)))
    deep = folder / "deep.json"
    deep.write_text("[" * 100_000)
    cases.append(Case("training", "config deep nesting", "TrainConfig.load",
                      loader(TrainConfig.load, deep)))
    cases.append(Case("training", "train pretrain --config deep", "train pretrain --config C",
                      cli("train", "pretrain", "--cache", str(folder / "no-cache"), "--run-dir",
                          str(folder / "run"), "--config", str(deep))))

    def module() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
        net = torch.nn.Linear(3, 4)
        return net, torch.optim.Adam(net.parameters())

    net, opt = module()
    good = save_checkpoint(folder / "good.safetensors", modules={"net": net}, optimizer=opt,
                           scheduler=None, scaler=None, state=StageState(2))
    data = good.read_bytes()
    checkpoints = {"valid": data, "pickle": b"PK\x03\x04" + bytes(300), "empty": b"",
                   "truncated": data[: len(data) // 2], "garbage": os.urandom(len(data))}
    for name, blob in checkpoints.items():
        path = folder / f"ckpt-{name}.safetensors"
        path.write_bytes(blob)
        fresh, fresh_opt = module()
        cases.append(Case("training", f"checkpoint {name}", "load_checkpoint (train --resume)",
                          loader(lambda p=path, m=fresh, o=fresh_opt: load_checkpoint(
                              p, modules={"net": m}, optimizer=o, scheduler=None,
                              scaler=None))))
    wrong = torch.nn.Linear(3, 5)
    cases.append(Case("training", "checkpoint of another shape", "load_checkpoint",
                      loader(lambda: load_checkpoint(good, modules={"net": wrong},
                                                     optimizer=torch.optim.Adam(
                                                         wrong.parameters()),
                                                     scheduler=None, scaler=None))))
    return cases


# ============================================================================ long files
def long_cases(work: Path) -> list[Case]:
    """Very long takes: import and preview must finish (decimated), not hang."""
    folder = work / "long"
    (folder / "clips").mkdir(parents=True)
    (folder / "clips" / "take.bvh").write_text(_long_take(100_000))
    lib = folder / "lib"
    cases = [Case("long", "import a 100,000-frame take (cut)", "library import DIR -o LIB --cut",
                  cli("library", "import", str(folder / "clips"), "-o", str(lib), "--bpm", "120",
                      "--unit", "cm", "--cut", "--counts", "6000"))]
    cases.append(Case("long", "preview the 100,000-frame phrase", "library preview LIB -o x.gif",
                      cli("library", "preview", str(lib), "-o", str(folder / "x.gif"))))
    (folder / "clips2").mkdir()
    (folder / "clips2" / "take.bvh").write_text(_long_take(600_000)[:2_000_000])
    cases.append(Case("long", "600,000 frames declared", "library import DIR -o LIB",
                      cli("library", "import", str(folder / "clips2"), "-o", str(folder / "l2"),
                          "--bpm", "120", "--unit", "cm")))
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated categories")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hang-s", type=int, default=60)
    parser.add_argument("--random", type=int, default=45, help="random mutations per loader")
    parser.add_argument("--count", action="store_true", help="only count the cases")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="choreo-corpus-"))
    only = {c for c in args.only.split(",") if c}

    def want(category: str) -> bool:
        return not only or category in only

    cases: list[Case] = []
    song = click_track(work / "click.wav", seconds=16.0)
    if want("audio"):
        cases += audio_cases(work, rng)
    if want("bvh"):
        cases += bvh_cases(work, rng, args.random * 2)
    if want("project") or want("timeline"):
        engine, session_song, project, timeline = make_session(work)
        if want("project"):
            cases += project_cases(work, rng, engine, project, args.random)
        if want("timeline"):
            cases += timeline_cases(work, rng, session_song, timeline, args.random // 2)
    if want("bundle"):
        cases += bundle_cases(work, rng, song, args.random // 2)
    if want("output"):
        cases += output_cases(work, song)
    if want("cache"):
        cases += cache_fault_cases(work, song)
    if want("training"):
        cases += training_cases(work, rng, args.random // 4)
    if want("long"):
        cases += long_cases(work)
    if args.count:
        counts: dict[str, int] = {}
        for case in cases:
            counts[case.category] = counts.get(case.category, 0) + 1
        print(f"{len(cases)} cases: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        shutil.rmtree(work, ignore_errors=True)
        return 0
    print("case | command | exit | traceback? | first line | data lost?")
    totals: dict[str, int] = {"cases": 0, "exit 0": 0, "refused (exit 2)": 0, "tracebacks": 0,
                              "hangs": 0, "data lost": 0, "other exit": 0}
    slowest = (0.0, "")
    for case in cases:
        o = run_case(case, args.hang_s)
        totals["cases"] += 1
        totals["exit 0"] += o.exit == 0
        totals["refused (exit 2)"] += o.exit == 2
        totals["tracebacks"] += o.traceback
        totals["hangs"] += o.exit == "hang"
        totals["data lost"] += o.lost
        totals["other exit"] += o.exit not in (0, 2, "hang") and not o.traceback
        slowest = max(slowest, (o.seconds, f"{case.category}/{case.name}"))
        first = o.first_line if len(o.first_line) <= 160 else o.first_line[:157] + "..."
        print(f"{case.category}/{case.name} | {case.command} | {o.exit} | "
              f"{'yes' if o.traceback else 'no'} | {first} | {'yes' if o.lost else 'no'}",
              flush=True)
    by_category: dict[str, int] = {}
    for case in cases:
        by_category[case.category] = by_category.get(case.category, 0) + 1
    print()
    print("cases by category: " + ", ".join(f"{k} {v}" for k, v in by_category.items()))
    print("totals: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    print(f"slowest case: {slowest[1]} ({slowest[0]:.1f} s)")
    shutil.rmtree(work, ignore_errors=True)
    bad = totals["tracebacks"] + totals["hangs"] + totals["data lost"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
