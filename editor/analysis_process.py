"""Cold song analysis in a child process, so the editor's GUI never waits on it.

Some analysis stages hold Python's global lock for long stretches (JIT compilation, large
C routines); in a thread they would freeze the window for up to a second. The child runs
``core.phrases.song.open_song``, which fills core's content-hash cache, and streams its
progress as lines on stdout; the editor then opens the song from the cache in a thread.
Cancel kills the child. A crash in a native library ends the child, not the editor.

The editor has decoded the song already (waveform, playback), so it hands the child the
samples through a pipe instead of letting it decode the file a second time; the child is
started first and imports the analysis while the editor loads its dance library.

Run as ``python -P -m choreo_studio.editor.analysis_process SONG [--stdin]`` (what
:class:`ChildAnalysis` does; ``--stdin``: a header line ``sr frames channels hash`` and the
float32 samples follow on stdin).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING

from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.progress import ProgressFn, no_progress

if TYPE_CHECKING:
    from choreo_studio.core.audio.load import Audio


class ChildAnalysis:
    """One analysis child: :meth:`start` it, :meth:`wait` for it (progress), or :meth:`kill`."""

    def __init__(self, proc: subprocess.Popen, path: str, feeder: threading.Thread | None
                 ) -> None:
        self._proc = proc
        self._path = path
        self._feeder = feeder

    @classmethod
    def start(cls, path: str, audio: Audio | None = None) -> ChildAnalysis:
        """Spawn the child on ``path``; with ``audio`` (the decoded song) it gets the samples
        through its stdin and does not decode the file itself."""
        # -P: the current folder is not put on sys.path, so a user's core.py there cannot
        # shadow us
        cmd = [sys.executable, "-P", "-m", "choreo_studio.editor.analysis_process", str(path)]
        if audio is not None:
            cmd.append("--stdin")
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE if audio is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
        )
        feeder = None
        if audio is not None:
            feeder = threading.Thread(target=_send_samples, args=(proc.stdin, audio),
                                      name="analysis-child-feed", daemon=True)
            feeder.start()
        return cls(proc, str(path), feeder)

    def kill(self) -> None:
        """Stop the child now (cancel) and reap it."""
        self._proc.kill()
        self._proc.wait()
        self._close()

    def wait(self, progress: ProgressFn = no_progress) -> None:
        """Relay the child's progress until it ends; ChoreoError when the song is bad or the
        child died; a Cancelled from ``progress`` kills the child."""
        proc, error = self._proc, ""
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
            self.kill()
            raise
        stderr = proc.stderr.read()
        self._close()
        if error:
            raise ChoreoError(error)
        if code != 0:
            tail = " ".join(stderr.strip().splitlines()[-1:])[:200]
            raise ChoreoError(
                f"{Path(self._path).name}: the analysis stopped unexpectedly (exit {code}: "
                f"{tail}) — try again, or convert the song to WAV"
            )

    def _close(self) -> None:
        if self._feeder is not None:
            self._feeder.join(timeout=5.0)
        for stream in (self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()


def analyze_in_child(path: str, progress: ProgressFn = no_progress,
                     audio: Audio | None = None) -> None:
    """Analyse ``path`` in a child process into core's cache (``audio``: its decoded samples,
    so the child does not decode it again); ChoreoError on a bad song."""
    ChildAnalysis.start(path, audio).wait(progress)


def _send_samples(stream: IO[str], audio: Audio) -> None:
    """Write the header line and the samples to the child's stdin (a child that died or was
    killed just stops the writing)."""
    import numpy as np

    samples = np.ascontiguousarray(audio.samples, dtype=np.float32)
    try:
        stream.write(f"{audio.sr} {samples.shape[0]} {samples.shape[1]} {audio.content_hash}\n")
        stream.flush()
        stream.buffer.write(memoryview(samples).cast("B"))
        stream.close()
    except (BrokenPipeError, OSError, ValueError):
        pass


def _read_samples(path: str) -> Audio:
    """Child side: the song as the editor decoded it, from stdin."""
    import numpy as np
    from choreo_studio.core.audio.load import Audio

    stdin = sys.stdin.buffer
    sr, frames, channels, content_hash = stdin.readline().decode("ascii").split()
    samples = np.empty((int(frames), int(channels)), dtype=np.float32)
    view, got = memoryview(samples).cast("B"), 0
    while got < view.nbytes:
        n = stdin.readinto(view[got:])
        if not n:
            raise ChoreoError(f"{Path(path).name}: the editor stopped sending the song")
        got += n
    return Audio(samples, int(sr), str(path), content_hash)


def main(argv: list[str]) -> int:
    """Child side: analyse one song, print ``PROGRESS f msg`` lines and ``ERROR msg``."""
    from choreo_studio.core.phrases.song import open_song

    def report(fraction: float, message: str) -> None:
        print(f"PROGRESS {fraction:.4f} {message}", flush=True)

    try:
        open_song(_read_samples(argv[0]) if "--stdin" in argv[1:] else argv[0], report)
    except ChoreoError as exc:
        print(f"ERROR {exc}", flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
