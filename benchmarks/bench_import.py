"""Import benchmark on real data: `real-bvh/` (four rigs) and `tang2018/` (positions + songs).

Prints, per data set: phrases per take and in all (counts per phrase by style), each dancer's
height, the median lowest point of each take's phrases (feet on the floor), the positions fit's
FK error, head above hips over all frames (mirrored too), and the import time next to the time
it takes only to read the files, measured in the same run (just before the imports), so the
ratio holds on a loaded machine where seconds do not. Tang's songs are analysed on the first
(cold) import and read from the analysis cache on the second (warm) one; both are timed, as
wall seconds and as CPU seconds of this process and its worker processes (the work done, which
a loaded machine does not inflate as much). Nothing is written outside a temporary folder (the
analysis cache lives there too).

    python benchmarks/bench_import.py [DATA_DIR] [--jobs N]   # default ../shared/data, N cores
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _read_only(folder: Path) -> tuple[float, float]:
    """Wall and CPU seconds to read and parse every take's files (BVH text, Tang JSON, songs
    decoded), the modules that read them already imported."""
    from choreo_studio.core.audio.load import load_audio
    from choreo_studio.core.library.importing import find_takes
    from choreo_studio.core.motion.bvh import read_bvh_file

    t0, c0 = time.perf_counter(), _cpu_s()
    for path in find_takes(folder):
        if path.is_dir():
            json.loads((path / "skeletons.json").read_text())
            json.loads((path / "config.json").read_text())
            songs = [p for p in path.iterdir() if p.stem == "audio"]
            if songs:
                load_audio(songs[0])
        elif path.suffix.lower() == ".bvh":
            read_bvh_file(path)
    return time.perf_counter() - t0, _cpu_s() - c0


def _cpu_s() -> float:
    """CPU seconds used so far by this process and its finished worker processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed_import(folder: Path, jobs: int | None):  # noqa: ANN202 - (library, report, s, cpu s)
    """Import ``folder``; the library, the report, wall and CPU seconds."""
    from choreo_studio.core.library.importing import ImportOptions, import_library

    c0, t0 = _cpu_s(), time.perf_counter()
    library, report = import_library(folder, options=ImportOptions(jobs=jobs))
    return library, report, time.perf_counter() - t0, _cpu_s() - c0


def _upright_share(library) -> float:
    """Share of frames (each phrase and its mirror) with the head above the hips."""
    from choreo_studio.core.motion.rig_mapping import map_rig

    mapping = map_rig(library.skeleton)
    up = total = 0
    for p in library.phrases:
        for m in (p.motion, p.motion.mirror()):
            fk = m.fk()
            up += int(np.sum(fk[:, mapping["Head"], 1] > fk[:, mapping["Hips"], 1]))
            total += m.n_frames
    return up / max(total, 1)


def _lowest_by_take(library) -> dict[str, float]:
    """Median over each take's frames of the body's lowest point (cm above the floor)."""
    lows: dict[str, list[np.ndarray]] = {}
    for p in library.phrases:
        lows.setdefault(p.source.get("take", p.id), []).append(p.motion.fk()[..., 1].min(1))
    return {k: float(np.median(np.concatenate(v))) for k, v in lows.items()}


def bench(folder: Path, jobs: int | None) -> None:
    """Import ``folder`` cold and warm and print the figures."""
    from choreo_studio.core.commands.library import summary

    read_s, read_cpu = _read_only(folder)
    library, report, cold_s, cold_cpu = _timed_import(folder, jobs)
    library, report, warm_s, warm_cpu = _timed_import(folder, jobs)
    info = summary(library)
    print(f"\n== {folder.name}: {len(library)} phrases from {len(report.phrases)} takes, "
          f"{len(report.skipped)} skipped; library dancer {info['dancer_height_cm']} cm")
    for line in report.skipped:
        print(f"   skipped: {line}")
    per_style = Counter((p.style, p.n_counts) for p in library.phrases)
    print("   counts per phrase by style: " + ", ".join(
        f"{s} {n}-count x{k}" for (s, n), k in sorted(per_style.items())))
    lows = _lowest_by_take(library)
    print(f"   {'take':<44} {'phrases':>7} {'height cm':>9} {'lowest cm':>9} {'FK err cm':>9}")
    for take, n in report.phrases.items():
        fk = report.fk_error_cm.get(take)
        print(f"   {take:<44} {n:>7} {report.heights_cm[take]:>9.1f} {lows.get(take, 0):>9.2f} "
              f"{'' if fk is None else f'{fk:.2f}':>9}")
    if report.fk_error_cm:
        errs = list(report.fk_error_cm.values())
        print(f"   FK error (median per take): median {np.median(errs):.2f} cm, "
              f"max {max(errs):.2f} cm")
    print(f"   head above hips: {100 * _upright_share(library):.1f} % of frames (mirrored too)")
    print(f"   import {cold_s:.1f} s cold (songs analysed), {warm_s:.1f} s warm (analysis cached), "
          f"takes in {report.workers} process{'es' if report.workers > 1 else ''}; reading the "
          f"files alone {read_s:.1f} s: ratio "
          f"{cold_s / max(read_s, 1e-9):.1f}x cold, {warm_s / max(read_s, 1e-9):.1f}x warm")
    print(f"   CPU seconds: import {cold_cpu:.1f} cold, {warm_cpu:.1f} warm, reading "
          f"{read_cpu:.1f} (ratio {cold_cpu / max(read_cpu, 1e-9):.1f}x cold, "
          f"{warm_cpu / max(read_cpu, 1e-9):.1f}x warm)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--jobs", type=int, default=None,
                        help="worker processes (default: one per core; 1: in this process)")
    args = parser.parse_args()
    data = Path(args.data)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["CHOREO_CACHE_DIR"] = cache
        for name in ("real-bvh", "tang2018"):
            if (data / name).is_dir():
                bench(data / name, args.jobs)
            else:
                print(f"{data / name}: not there — skipped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
