"""Benchmark: seconds per analysis stage on a 4-minute song, and the ratio to the floor.

The floor is decoding the file plus one STFT of it. Whole = analysis + segmentation + features.
"Cold process" runs `open_song` in a fresh interpreter with an empty cache (imports and JIT
included, what a user waits for); "cached" re-opens the same file in a fresh interpreter.

    python benchmarks/bench_analysis.py [SONG]   # default: a 4-minute demo song as Ogg Vorbis
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _demo_ogg(folder: Path) -> Path:
    import soundfile as sf
    from choreo_studio.resources.demo_song import DemoSongSpec, render_demo_song

    structure = (("intro", 4),) + (("verse", 8), ("chorus", 8)) * 7 + (("outro", 4),)
    song = render_demo_song(DemoSongSpec(structure=structure, sr=44100))
    path = folder / "demo-4min.ogg"
    with sf.SoundFile(path, "w", song.sr, 2, format="OGG") as fh:
        for start in range(0, song.samples.shape[0], 1 << 15):  # blocks: libsndfile's Vorbis
            fh.write(song.samples[start : start + (1 << 15)])  # encoder crashes on huge writes
    return path


def _timed(label: str, fn, rows: list[tuple[str, float]]):
    start = time.perf_counter()
    out = fn()
    rows.append((label, time.perf_counter() - start))
    return out


def stages(path: Path) -> list[tuple[str, float]]:
    """In-process per-stage timings (modules already imported and JIT-warmed once)."""
    import librosa
    from choreo_studio.core.analysis import beat_tracking, melody, meter, sections
    from choreo_studio.core.analysis.analyzer import analyze_audio, detect_onsets
    from choreo_studio.core.audio.load import load_audio
    from choreo_studio.core.audio.spectral import HOP, N_FFT, compute_spectra
    from choreo_studio.core.phrases.features import phrase_features
    from choreo_studio.core.phrases.segmentation import segment

    analyze_audio(load_audio(path))  # warm imports and numba caches
    rows: list[tuple[str, float]] = []
    audio = _timed("decode", lambda: load_audio(path), rows)
    y = _timed("resample to 22.05 kHz mono", audio.mono, rows)
    _timed("one STFT (floor part)", lambda: librosa.stft(y, n_fft=N_FFT, hop_length=HOP), rows)
    spectra = _timed("spectra (STFT, mel, onset envs)", lambda: compute_spectra(y), rows)
    decoded = _timed("beats, tempo, meter: bar-pointer decoding",
                     lambda: beat_tracking.decode(spectra, meter.DEFAULT_METERS), rows)
    grid = _timed("meter details + alternatives",
                  lambda: meter.choose_grid(decoded, None, 1.0), rows)
    beats, downbeats = grid.beats_s, grid.downbeats
    _timed("onsets", lambda: detect_onsets(spectra), rows)
    _timed("melody", lambda: melody.extract_melody(spectra), rows)
    _timed("sections",
           lambda: sections.find_sections(spectra, beats, downbeats, audio.duration_s), rows)
    analysis, spectra = analyze_audio(audio)
    phrases = _timed("phrases", lambda: segment(analysis), rows)
    _timed("features",
           lambda: phrase_features(spectra.logmel_db, spectra.fps, analysis, phrases), rows)
    return rows


_OPEN = (
    "import sys, time; t = time.perf_counter(); sys.path.insert(0, {root!r});"
    "from choreo_studio.core.audio.load import load_audio;"
    "from choreo_studio.core.phrases.song import open_song;"
    "a = load_audio({path!r}); t1 = time.perf_counter();"
    "s = open_song(a, cache_dir={cache!r});"
    "print(time.perf_counter() - t, t1 - t, s.from_cache)"
)


def fresh_process_open(path: Path, cache: Path) -> tuple[float, float, float, bool]:
    """(process wall s, s to import + decode + open, s of which import + decode, from_cache)."""
    code = _OPEN.format(root=str(ROOT), path=str(path), cache=str(cache))
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    inside, decode, cached = out.stdout.split()
    return wall, float(inside), float(decode), cached == "True"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("song", nargs="?", help="audio file (default: a 4-minute demo song)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = Path(args.song) if args.song else _demo_ogg(folder)
        import soundfile as sf

        print(f"song: {path.name}, {sf.info(str(path)).duration:.1f} s")
        rows = stages(path)
        for label, secs in rows:
            print(f"  {label:34s} {secs:7.3f} s")
        times = dict(rows)
        floor = times["decode"] + times["one STFT (floor part)"]
        whole = sum(s for label, s in rows if label != "one STFT (floor part)")
        print(f"floor (decode + one STFT): {floor:.3f} s; whole in-process: {whole:.3f} s; "
              f"ratio {whole / floor:.1f}x")
        cache = folder / "cache"
        for label in ("cold process, empty cache", "fresh process, warm cache"):
            wall, inside, decode, hit = fresh_process_open(path, cache)
            print(f"{label}: import+decode+open {inside:.3f} s (import+decode {decode:.3f} s, "
                  f"analysis/cache part {inside - decode:.3f} s; process {wall:.3f} s), "
                  f"from_cache={hit}; ratio to floor {inside / floor:.1f}x")


if __name__ == "__main__":
    main()
