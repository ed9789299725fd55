"""Cold song analysis in a child process, so the editor's GUI never waits on it.

Some analysis stages hold Python's global lock for long stretches (JIT compilation, large
C routines); in a thread they would freeze the window for up to a second. The child runs
``core.phrases.song.open_song`` on the file, which fills core's content-hash cache, and streams its
progress as lines on stdout; the editor then opens the song from the cache in a thread.
Cancel kills the child. A crash in a native library ends the child, not the editor.

Run as ``python -P -m choreo_studio.editor.analysis_process SONG`` (what
:func:`analyze_in_child` does).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.progress import ProgressFn, no_progress


def analyze_in_child(path: str, progress: ProgressFn = no_progress) -> None:
    """Analyse ``path`` in a child process into core's cache; ChoreoError on a bad song."""
    # -P: the current folder is not put on sys.path, so a user's core.py there cannot shadow us
    cmd = [sys.executable, "-P", "-m", "choreo_studio.editor.analysis_process", str(path)]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    error = ""
    try:
        for line in proc.stdout:
            kind, _, rest = line.rstrip("\n").partition(" ")
            if kind == "PROGRESS":
                fraction, _, message = rest.partition(" ")
                progress(float(fraction), message)
            elif kind == "ERROR":
                error = rest
        code = proc.wait()
    except BaseException:  # Cancelled (from progress) or interrupted: stop the child now
        proc.kill()
        proc.wait()
        raise
    finally:
        proc.stdout.close()
    stderr = proc.stderr.read()
    proc.stderr.close()
    if error:
        raise ChoreoError(error)
    if code != 0:
        tail = " ".join(stderr.strip().splitlines()[-1:])[:200]
        raise ChoreoError(
            f"{Path(path).name}: the analysis stopped unexpectedly (exit {code}: {tail}) — "
            "try again, or convert the song to WAV"
        )


def main(argv: list[str]) -> int:
    """Child side: analyse one song, print ``PROGRESS f msg`` lines and ``ERROR msg``."""
    from choreo_studio.core.phrases.song import open_song

    def report(fraction: float, message: str) -> None:
        print(f"PROGRESS {fraction:.4f} {message}", flush=True)

    try:
        open_song(argv[0], report)
    except ChoreoError as exc:
        print(f"ERROR {exc}", flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
