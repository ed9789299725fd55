"""Benchmark: how fast `choreo analyze` starts, how warm a cached song is, what an hour costs.

On synthetic demo songs written as files (4 minutes, 44.1 kHz stereo WAV; 60 minutes for the
memory check), each `choreo analyze` runs as a fresh process, as a user runs it:

* import cost of `choreo analyze` (`python -X importtime`, lazy imports included) beside a bare
  `import numpy` (the floor on this machine);
* cold command (`--no-cache`) against decode + one STFT in one process (the issue's unit: target
  <= 6x), and the analysis alone in process;
* warm command (cache filled) and its work in process (open_song on the cached song: target
  <= 0.3 s of work, <= 1 s as a command; no decode);
* peak RSS of a cold `choreo analyze` of a 60-minute song (target <= 1.5 GB).

Absolute seconds on a loaded machine are 2-4x slow: read the ratios.

    python benchmarks/bench_start.py [--minutes 4] [--long-minutes 60] [--skip-long]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_scale_analysis import import_report, synthetic_song  # noqa: E402

WRITE_BLOCK = 1 << 20


def write_song(path: Path, minutes: float) -> Path:
    """A synthetic demo song of ``minutes`` as a 44.1 kHz stereo 16-bit WAV (written in blocks)."""
    import numpy as np
    import soundfile as sf

    audio = synthetic_song(minutes)
    factor = 44100 // audio.sr
    with sf.SoundFile(path, "w", samplerate=audio.sr * factor, channels=2, subtype="PCM_16") as fh:
        for start in range(0, audio.n_frames, WRITE_BLOCK):
            block = audio.samples[start : start + WRITE_BLOCK]
            stereo = block if block.shape[1] == 2 else np.repeat(block, 2, axis=1)
            fh.write(np.repeat(stereo, factor, axis=0))
    return path


def choreo(args: list[str], cache_dir: Path) -> float:
    """Wall seconds of one fresh `choreo ARGS` process (output discarded)."""
    env = dict(os.environ, CHOREO_CACHE_DIR=str(cache_dir))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "choreo_studio", *args], env=env, check=True,
                   stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def numpy_import_s() -> float:
    """Wall seconds of a fresh `python -c "import numpy"` (the import floor)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import numpy"], check=True)
    return time.perf_counter() - start


def decode_and_stft_s(path: Path) -> float:
    """Seconds to decode ``path`` to the mono analysis signal and take one STFT (warmed)."""
    from choreo_studio.core.audio.load import load_audio
    from choreo_studio.core.audio.spectral import HOP, N_FFT
    from choreo_studio.core.audio.stft import stft_power

    stft_power(load_audio(path).mono()[:22050], N_FFT, HOP)
    start = time.perf_counter()
    stft_power(load_audio(path).mono(), N_FFT, HOP)
    return time.perf_counter() - start


def warm_work_s(path: Path, cache_dir: Path) -> tuple[float, bool]:
    """(seconds of open_song on a cached song, whether it decoded), in this process."""
    from choreo_studio.core.phrases.song import open_song

    open_song(path, cache_dir=cache_dir)  # imports and first reads
    start = time.perf_counter()
    song = open_song(path, cache_dir=cache_dir)
    return time.perf_counter() - start, song.audio.decoded or not song.from_cache


def peak_rss_gb(args: list[str], cache_dir: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in GB) of one fresh `choreo ARGS` process."""
    env = dict(os.environ, CHOREO_CACHE_DIR=str(cache_dir))
    code = ("import resource, subprocess, sys, time; t = time.perf_counter();"
            "subprocess.run([sys.executable, '-m', 'choreo_studio', *sys.argv[1:]], check=True,"
            " stdout=subprocess.DEVNULL);"
            "print(time.perf_counter() - t,"
            " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, check=True,
                         capture_output=True, text=True, cwd=ROOT).stdout.split()
    return float(out[0]), int(out[1]) * 1024 / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--long-minutes", type=float, default=60.0)
    parser.add_argument("--skip-long", action="store_true", help="no 60-minute memory check")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        song = write_song(folder / "song.wav", args.minutes)
        cache = folder / "cache"
        floor = numpy_import_s()
        wall, imports, costly = import_report(["analyze", str(song), "--no-cache"])
        print(f"import numpy alone: {floor:.2f} s (process)")
        print(f"choreo analyze: imports {imports:.2f} s ({imports / floor:.2f}x a bare numpy "
              f"process); costliest: " + "; ".join(costly))

        reference = decode_and_stft_s(song)
        cold = choreo(["analyze", str(song), "--no-cache"], cache)
        print(f"\n{args.minutes:g}-minute song: decode + one STFT {reference:.2f} s; cold "
              f"`choreo analyze` {cold:.2f} s = {cold / reference:.1f}x (target <= 6x)")
        choreo(["analyze", str(song)], cache)  # fills the cache
        warm = min(choreo(["analyze", str(song)], cache) for _ in range(3))
        work, decoded = warm_work_s(song, cache)
        print(f"warm `choreo analyze` {warm:.2f} s ({warm / floor:.2f}x a bare numpy process, "
              f"{warm / cold:.2f}x cold); work in process {work:.3f} s, "
              f"{'DECODED' if decoded else 'no decode'}")

        if not args.skip_long:
            long_song = write_song(folder / "long.wav", args.long_minutes)
            seconds, rss = peak_rss_gb(["analyze", str(long_song), "--no-cache"], cache)
            print(f"\n{args.long_minutes:g}-minute song: cold `choreo analyze` {seconds:.1f} s, "
                  f"peak RSS {rss:.2f} GB (target <= 1.5 GB)")


if __name__ == "__main__":
    main()
