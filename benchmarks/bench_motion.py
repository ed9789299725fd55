"""Motion benchmarks: BVH read/write speed (and, when installed, the `bvh` / `bvhio` PyPI readers
for comparison), FK, demo library generation and loading, transition prior M0 at the paper's
K = 1,101, and preview rendering. Run: ``python benchmarks/bench_motion.py [--frames N]``.

Timings are wall-clock seconds of one run each (best of ``--repeat``); nothing is asserted.
"""

from __future__ import annotations

import argparse
import importlib
import tempfile
import time
from pathlib import Path

import numpy as np


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def long_motion(n_frames: int):
    """A long take: demo phrases strung together (22 joints, 30 fps)."""
    from choreo_studio.core.motion.motion import concatenate
    from choreo_studio.resources.demo_library.generate import build_phrase

    parts = [build_phrase(s, 2, v) for s in ("hip-hop", "jazz", "popping") for v in range(4)]
    m = concatenate([p.motion for p in parts])
    reps = int(np.ceil(n_frames / m.n_frames))
    return concatenate([m] * reps).trim(0, n_frames)


def compare_packages(path: Path, ours, repeat: int) -> None:
    """Time the `bvh` and `bvhio` packages on the same file and check their numbers."""
    try:
        bvh_pkg = importlib.import_module("bvh")
        text = path.read_text()

        def read_bvh_pkg():
            doc = bvh_pkg.Bvh(text)
            return np.array(doc.frames, dtype=np.float64)

        t, frames = best_of(read_bvh_pkg, 1)
        ours_text = np.array([r.split() for r in text.split("Frame Time:")[1].splitlines()[1:]
                              if r.strip()], float)
        same = np.allclose(frames, ours_text)
        print(f"  `bvh` 0.3 (pure Python): {t:.3f} s to channel values (no rotations), "
              f"values equal ours: {same}")
    except ImportError:
        print("  `bvh` package not installed (pip install bvh) — skipped")
    try:
        bvhio = importlib.import_module("bvhio")
        t, root = best_of(lambda: bvhio.readAsHierarchy(str(path)), 1)
        frame = min(10, ours.n_frames - 1)
        root.loadPose(frame)
        theirs = {j.Name: np.array(j.PositionWorld) for j, _, _ in root.layout()}
        mine = ours.fk()[frame]
        err = max(np.abs(theirs[n] - mine[i]).max() for i, n in
                  enumerate(ours.skeleton.joint_names) if n in theirs)
        print(f"  `bvhio` 1.5: {t:.3f} s to a pose hierarchy, world positions at frame {frame} "
              f"differ from our FK by {err:.2e} cm")
    except ImportError:
        print("  `bvhio` package not installed (pip install bvhio) — skipped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=18000, help="frames in the BVH test file")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from choreo_studio.core.export.preview import contact_sheet, save_gif
    from choreo_studio.core.library.library import Library
    from choreo_studio.core.library.transition_prior import build_transition_prior
    from choreo_studio.core.motion.bvh import read_bvh, write_bvh
    from choreo_studio.resources.demo_library.generate import build_demo_library

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        motion = long_motion(args.frames)
        path = tmp / "take.bvh"
        t_write, _ = best_of(lambda: write_bvh(path, motion), 1)
        size_mb = path.stat().st_size / 1e6
        t_read, back = best_of(lambda: read_bvh(path), args.repeat)
        print(f"BVH: {motion.n_frames} frames x {motion.skeleton.n_joints} joints "
              f"({size_mb:.1f} MB): write {t_write:.2f} s, read {t_read:.3f} s "
              f"({motion.n_frames / t_read:,.0f} frames/s, {size_mb / t_read:.0f} MB/s)")
        err = np.abs(back.fk() - motion.fk()).max()
        print(f"  round trip max joint error {err:.1e} cm")
        compare_packages(path, back, args.repeat)
        t_fk, _ = best_of(back.fk, args.repeat)
        print(f"FK all frames: {t_fk:.3f} s ({back.n_frames / t_fk:,.0f} frames/s)")

        t_gen, lib = best_of(build_demo_library, 1)
        t_save, _ = best_of(lambda: lib.save(tmp / "demo"), 1)
        size = sum(f.stat().st_size for f in (tmp / "demo").iterdir()) / 1e6
        t_load, _ = best_of(lambda: Library.load(tmp / "demo"), args.repeat)
        print(f"demo library: {len(lib)} phrases generated in {t_gen:.2f} s, saved in "
              f"{t_save:.2f} s ({size:.1f} MB), loaded in {t_load:.3f} s")

        phrases = [lib.phrases[i % len(lib)] for i in range(1101)]
        fake = []
        for i, p in enumerate(phrases):
            q = type(p)(**{**vars(p), "id": f"{p.id}#{i}"})
            fake.append(q)
        t_m0, m0 = best_of(lambda: build_transition_prior(fake), args.repeat)
        print(f"M0 for K=1101: {t_m0:.3f} s, values {m0.min():.2f}..{m0.max():.2f}")

        t_sheet, _ = best_of(lambda: contact_sheet(lib.phrases[:12], tmp / "s.png"), 1)
        p0 = lib.phrases[0]
        t_gif, _ = best_of(lambda: save_gif(p0.motion, tmp / "a.gif", p0.count_frames), 1)
        print(f"preview: contact sheet of 12 phrases {t_sheet:.2f} s, GIF of one phrase "
              f"{t_gif:.2f} s")


if __name__ == "__main__":
    main()
