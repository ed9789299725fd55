"""Benchmark: does analysis grow linearly with song length, and what does `choreo analyze` import?

Synthetic demo songs (120 BPM, verse/chorus blocks) of 1, 4, 10, 30 and 60 minutes are analysed
in one process (imports and JIT warmed on a short song first): analysis + segmentation +
features as `choreo analyze` runs them, with the per-phrase features timed on their own. The
log-log slope of time against length is the growth exponent (1.0 = linear; the scale issue's
target is <= 1.1 from 4 to 60 minutes). The import cost is measured in fresh interpreters
with `python -X importtime`: `choreo --help`, and `choreo analyze` of a short song (lazy
imports inside the analysis included).

    python benchmarks/bench_scale_analysis.py [--minutes 1 4 10 30 60]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BAR_S = 2.0  # 4/4 at 120 BPM


def synthetic_song(minutes: float):
    """An in-memory demo song of about ``minutes`` minutes (intro, verse/chorus blocks, outro)."""
    from choreo_studio.resources.demo_song import DemoSongSpec, render_demo_song

    blocks, rest = divmod(max(int(round(minutes * 60.0 / BAR_S)) - 8, 16), 16)
    body = (("verse", 8), ("chorus", 8)) * blocks + ((("verse", rest),) if rest >= 2 else ())
    structure = (("intro", 4),) + body + (("outro", 4),)
    return render_demo_song(DemoSongSpec(structure=structure)).audio()


def analyse(audio) -> tuple[float, float, float, int]:
    """(seconds of analysis + segmentation + features, of the features alone, of the sections
    alone (run again after), phrases) of a song, with the stages `choreo analyze` runs (no
    cache)."""
    from choreo_studio.core.analysis.analyzer import analyze_audio
    from choreo_studio.core.analysis.sections import find_sections
    from choreo_studio.core.phrases.features import phrase_features
    from choreo_studio.core.phrases.segmentation import segment

    start = time.perf_counter()
    analysis, spectra = analyze_audio(audio)
    phrases = segment(analysis)
    features_start = time.perf_counter()
    phrase_features(spectra.logmel_db, spectra.fps, analysis, phrases)
    end = time.perf_counter()
    find_sections(spectra, analysis.beats_s, analysis.downbeats, analysis.duration_s)
    sections_s = time.perf_counter() - end
    return end - start, end - features_start, sections_s, len(phrases)


def growth_exponent(minutes: list[float], seconds: list[float]) -> float:
    """Slope of log(time) against log(length): 1.0 when time is proportional to length."""
    return float(np.polyfit(np.log(minutes), np.log(seconds), 1)[0])


def import_report(args: list[str]) -> tuple[float, float, list[str]]:
    """(process wall s, s spent importing, the five costliest top-level imports) of one fresh
    `choreo ARGS` process, from `python -X importtime` (lazy imports included)."""
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); sys.argv = ['choreo', *{args!r}];"
        "from choreo_studio.core.cli import main; raise SystemExit(main())"
    )
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    top: list[tuple[int, str]] = []
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        if not name[1:].startswith(" "):  # depth 0: not imported by another module's import
            top.append((int(cumulative), name.strip()))
    total = sum(us for us, _ in top) / 1e6
    costly = [f"{name} {us / 1e6:.2f} s" for us, name in sorted(top, reverse=True)[:5]]
    return wall, total, costly


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 4, 10, 30, 60])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        import soundfile as sf

        wav = Path(tmp) / "short.wav"
        short = synthetic_song(0.5)
        sf.write(wav, short.samples, short.sr)
        for label, argv in (("choreo --help", ["--help"]),
                            ("choreo analyze (30 s song)", ["analyze", str(wav), "--no-cache"])):
            wall, imports, costly = import_report(argv)
            print(f"{label}: process {wall:.2f} s, imports {imports:.2f} s")
            print("   costliest: " + "; ".join(costly))

    analyse(synthetic_song(0.5))  # imports, numba JIT, FFT plans
    lengths, whole_s, features_s = [], [], []
    print(f"\n{'minutes':>8} {'phrases':>8} {'analysis s':>11} {'s/min':>7} {'features s':>11} "
          f"{'sections s':>11}")
    for minutes in args.minutes:
        audio = synthetic_song(minutes)
        whole, features, sections_s, n_phrases = analyse(audio)
        lengths.append(audio.duration_s / 60.0)
        whole_s.append(whole)
        features_s.append(features)
        print(f"{lengths[-1]:8.1f} {n_phrases:8d} {whole:11.2f} {whole / lengths[-1]:7.2f} "
              f"{features:11.3f} {sections_s:11.3f}", flush=True)
        del audio
    if len(lengths) >= 2:
        print(f"\ngrowth exponent (log-log slope), all lengths: "
              f"{growth_exponent(lengths, whole_s):.2f}")
    longer = [i for i, m in enumerate(lengths) if m >= 3.9]
    if len(longer) >= 2:
        mins = [lengths[i] for i in longer]
        whole = growth_exponent(mins, [whole_s[i] for i in longer])
        features = growth_exponent(mins, [features_s[i] for i in longer])
        print(f"growth exponent from 4 minutes up: {whole:.2f} (features alone: {features:.2f})")

if __name__ == "__main__":
    main()
