"""Cold song analysis in a child process, so the editor's GUI never waits on it.

Some analysis stages hold Python's global lock for long stretches (JIT compilation, large
C routines); in a thread they would freeze the window for up to a second. The child runs
``core.phrases.song.open_song``, which fills core's content-hash cache, and streams its
progress as lines on stdout; the editor then opens the song from the cache in a thread.
Cancel kills the child. A crash in a native library ends the child, not the editor.

The editor has decoded the song already (waveform, playback), so it hands the child the
samples through a pipe instead of letting it decode the file a second time. A child imports
the analysis before it is told its song: :func:`prepare_spare` starts one when a cold open
begins, so its imports overlap the editor's decode, and :meth:`ChildAnalysis.start` takes it.

Run as ``python -P -m choreo_studio.editor.analysis_process`` (what :class:`ChildAnalysis`
does): its stdin gives one JSON line ``{"path": …, "samples": [sr, frames, channels, hash]}``
(``samples`` null: decode the file) and then the float32 samples; an empty stdin ends it.
"""

from __future__ import annotations

import json
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

SINGLE_THREADED = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""The math libraries' thread counts the editor and its children keep at one."""


def child_env() -> dict[str, str]:
    """The environment for the editor's child processes: one math thread each, as in the
    editor itself (see :mod:`editor.workers`), unless the user set a count."""
    env = dict(os.environ)
    for name in SINGLE_THREADED:
        env.setdefault(name, "1")
    return env


class ChildAnalysis:
    """One analysis child: :meth:`start` it, :meth:`wait` for it (progress), or :meth:`kill`."""

    def __init__(self, proc: subprocess.Popen, env: dict[str, str]) -> None:
        self._proc = proc
        self._env = env
        self._path = ""
        self._feeder: threading.Thread | None = None

    @classmethod
    def spawn(cls) -> ChildAnalysis:
        """A child that imports the analysis and waits for its song (see :meth:`assign`)."""
        # -P: the current folder is not put on sys.path, so a user's core.py there cannot
        # shadow us
        cmd = [sys.executable, "-P", "-m", "choreo_studio.editor.analysis_process"]
        env = child_env()
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        return cls(proc, env)

    @classmethod
    def start(cls, path: str, audio: Audio | None = None) -> ChildAnalysis:
        """A child analysing ``path`` (the spare one when it is ready); with ``audio`` (the
        decoded song) it gets the samples through its stdin and does not decode the file."""
        child = take_spare() or cls.spawn()
        child.assign(path, audio)
        return child

    @property
    def usable(self) -> bool:
        """Whether the child still runs in the environment a new one would get (its cache
        folder above all): a spare that died or was started under another is not used."""
        return self._proc.poll() is None and self._env == child_env()

    def assign(self, path: str, audio: Audio | None = None) -> None:
        """Tell the child its song: the job line, then (on a thread) the samples."""
        self._path = str(path)
        samples = None if audio is None else [audio.sr, audio.n_frames, audio.n_channels,
                                              audio.content_hash]
        self._feeder = threading.Thread(target=_send_job, args=(
            self._proc.stdin, {"path": self._path, "samples": samples}, audio),
            name="analysis-child-feed", daemon=True)
        self._feeder.start()

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
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()


def analyze_in_child(path: str, progress: ProgressFn = no_progress,
                     audio: Audio | None = None) -> None:
    """Analyse ``path`` in a child process into core's cache (``audio``: its decoded samples,
    so the child does not decode it again); ChoreoError on a bad song."""
    ChildAnalysis.start(path, audio).wait(progress)


_spare: ChildAnalysis | None = None
_spare_lock = threading.Lock()


def prepare_spare() -> None:
    """Start a child now (when none is waiting) so the next cold open finds its imports done."""
    global _spare
    with _spare_lock:
        if _spare is None or not _spare.usable:
            if _spare is not None:
                _spare.kill()
            _spare = ChildAnalysis.spawn()


def take_spare() -> ChildAnalysis | None:
    """The waiting child, if one is alive (it is then no longer spare)."""
    global _spare
    with _spare_lock:
        child, _spare = _spare, None
    if child is not None and not child.usable:
        child.kill()
        return None
    return child


def _send_job(stream: IO[str], job: dict, audio: Audio | None) -> None:
    """Write the job line and the samples to the child's stdin (a child that died or was
    killed just stops the writing)."""
    import numpy as np

    try:
        stream.write(json.dumps(job) + "\n")
        stream.flush()
        if audio is not None:
            samples = np.ascontiguousarray(audio.samples, dtype=np.float32)
            stream.buffer.write(memoryview(samples).cast("B"))
        stream.close()
    except (BrokenPipeError, OSError, ValueError):
        pass


def _read_samples(path: str, described: list) -> Audio:
    """Child side: the song as the editor decoded it, from stdin."""
    import numpy as np
    from choreo_studio.core.audio.load import Audio

    stdin = sys.stdin.buffer
    sr, frames, channels, content_hash = described
    samples = np.empty((int(frames), int(channels)), dtype=np.float32)
    view, got = memoryview(samples).cast("B"), 0
    while got < view.nbytes:
        n = stdin.readinto(view[got:])
        if not n:
            raise ChoreoError(f"{Path(path).name}: the editor stopped sending the song")
        got += n
    return Audio(samples, int(sr), str(path), content_hash)


def main() -> int:
    """Child side: import the analysis, read the song's job line, analyse it, print
    ``PROGRESS f msg`` lines and ``ERROR msg``."""
    import choreo_studio.core.analysis.analyzer  # noqa: F401 - imported before the song comes
    from choreo_studio.core.phrases.song import open_song

    def report(fraction: float, message: str) -> None:
        print(f"PROGRESS {fraction:.4f} {message}", flush=True)

    line = sys.stdin.buffer.readline()
    if not line:  # the editor closed before it had a song for this child
        return 0
    job = json.loads(line)
    path = str(job["path"])
    try:
        open_song(_read_samples(path, job["samples"]) if job["samples"] else path, report)
    except ChoreoError as exc:
        print(f"ERROR {exc}", flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
