"""Renders in a child process, so a render never shares Python's global lock with the GUI.

A render holds the lock in long stretches (numpy on small arrays, FK, metrics); in a worker
thread that froze the window for 50–120 ms at a time. One long-lived child (started when a
song opens, shared by every window of the process) renders the whole dance or an audition's
two dances and sends back the skeleton view's arrays: joint positions, parents, foot points
and the metrics. The child runs the very code the editor ran in its thread (core's session
render, audition and the engine's metrics) on the library it loads from the engine's path.

Messages both ways are :mod:`editor.render_scenes`' (a JSON header line and the raw bytes of
the arrays it lists, no pickle). The editor asks ``render`` / ``audition`` / ``load`` /
``cancel``; the child answers ``progress``, ``done`` (with the scenes), ``cancelled``,
``error`` or ``unservable`` (its library is not the engine's: the caller renders in its own
thread). Cancel reaches the child at its next progress step; a child that dies is reported
and the next call starts a fresh one. Run as ``python -P -m
choreo_studio.editor.render_process`` (what :class:`RenderChild` does).
"""

from __future__ import annotations

import atexit
import hashlib
import os
import queue
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from typing import IO, TYPE_CHECKING, Any

import numpy as np
from choreo_studio.core.errors import Cancelled, ChoreoError
from choreo_studio.core.progress import ProgressFn, no_progress
from choreo_studio.core.user_cache import code_hash
from choreo_studio.editor.analysis_process import child_env
from choreo_studio.editor.render_scenes import (
    PREVIEW_FPS,
    Arrays,
    RenderedScene,
    analysis_from,
    audition_in_process,
    read_message,
    render_in_process,
    scene_message,
    scenes_from,
    state_message,
    write_message,
)

if TYPE_CHECKING:
    from choreo_studio.core.choreography.engine import Engine
    from choreo_studio.core.project.session import Segmentation

POLL_S = 0.05
"""How often a waiting caller looks at its cancel flag and at the child's health."""
CANCEL_WAIT_S = 30.0
"""How long a cancelled call waits for the child to stop before it is killed."""
PROGRESS_INTERVAL_S = 0.05
WIRE_CODE = code_hash("choreo_studio.editor.render_scenes", "choreo_studio.editor.render_process")
"""The messages' code, read when this module is imported: a child started after the files
changed on disk (an editor running while its program is updated) runs other code than the
editor and refuses its requests (they render in the editor) instead of misreading them (was:
KeyError: 'engine' and an empty 3D view after the request format changed)."""
RECENT_SCENES = 8
"""Whole-dance scenes kept by what they were rendered from (~2 MB each on a 4-minute song):
an undo, redo or a swap tried and taken back shows its dance again without a render."""


class Unservable(ChoreoError):
    """The child cannot render for this engine (its library is not the one on disk)."""


# ============================================================================ editor side
class RenderChild:
    """The editor's handle on one render child: :meth:`call` sends a request and waits for
    its answer (progress relayed, Cancelled passed on to the child); calls take turns."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._env: dict[str, str] = {}
        self._replies: queue.Queue = queue.Queue()
        self._next_id = 0

    def prepare(self, engine: Engine) -> None:
        """Start the child (when not running) and have it load ``engine``'s library now, so
        the first render does not wait for it."""
        library = {"path": engine.library_path, "fingerprint": engine.library.fingerprint}
        if self._lock.acquire(blocking=False):  # busy: a child runs already, no need to wait
            try:
                self._send({"op": "load", "library": library})
            finally:
                self._lock.release()

    def call(self, header: dict[str, Any], arrays: Arrays, progress: ProgressFn = no_progress
             ) -> tuple[dict[str, Any], Arrays]:
        """The ``done`` answer to one request; ChoreoError (Unservable) when the child cannot
        serve it or died, Cancelled when ``progress`` raised it."""
        with self._lock:
            rid = self._send(header, arrays)
            return self._await(rid, progress)

    def close(self) -> None:
        """End the child (it also ends by itself when the editor's process goes)."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            try:
                proc.stdin.close()
                proc.wait(timeout=2.0)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()

    def _send(self, header: dict[str, Any], arrays: Arrays | None = None) -> int:
        """Write one request (starting a child first when none runs); its id."""
        self._next_id += 1
        for attempt in (0, 1):
            proc = self._running()
            try:
                write_message(proc.stdin, dict(header, id=self._next_id, code=WIRE_CODE), arrays)
                return self._next_id
            except (BrokenPipeError, OSError):  # it died since: one fresh start
                self._kill(proc)
                if attempt:
                    raise ChoreoError("the render process could not be started — check the "
                                      "installation (see the terminal for details)") from None
        raise AssertionError("unreachable")

    def _running(self) -> subprocess.Popen:
        """The child, started when none runs or when it runs in another environment than a
        new one would get (another cache folder, where the bundled library lives)."""
        env = child_env()
        if self._proc is not None and self._proc.poll() is None and self._env != env:
            self._kill(self._proc)
        if self._proc is None or self._proc.poll() is not None:
            self._env = env
            self._proc = subprocess.Popen(
                [sys.executable, "-P", "-m", "choreo_studio.editor.render_process"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
            )
            self._replies = queue.Queue()
            threading.Thread(target=_relay_replies, args=(self._proc.stdout, self._replies),
                             name="render-child-replies", daemon=True).start()
        return self._proc

    def _await(self, rid: int, progress: ProgressFn) -> tuple[dict[str, Any], Arrays]:
        """Relay progress until request ``rid`` is answered."""
        fraction, text = 0.0, "rendering"
        proc, replies = self._proc, self._replies
        while True:
            try:
                message = replies.get(timeout=POLL_S)
            except queue.Empty:
                try:
                    progress(fraction, text)  # raises Cancelled once the job is cancelled
                except Cancelled:
                    self._cancel(rid, proc, replies)
                    raise
                continue
            if message is None:
                self._proc = None
                raise ChoreoError(f"the render stopped unexpectedly (exit {proc.wait()}) — try "
                                  "again; if it keeps happening, see the terminal for details")
            header, arrays = message
            if header.get("id") != rid:
                continue  # the answer to a load, or to a cancelled request
            kind = header["kind"]
            if kind == "progress":
                fraction, text = float(header["fraction"]), str(header["message"])
                try:
                    progress(fraction, text)
                except Cancelled:
                    self._cancel(rid, proc, replies)
                    raise
            elif kind == "done":
                return header, arrays
            elif kind == "unservable":
                raise Unservable(header["message"])
            elif kind == "cancelled":
                raise Cancelled("render")
            else:
                raise ChoreoError(header["message"])

    def _cancel(self, rid: int, proc: subprocess.Popen, replies: queue.Queue) -> None:
        """Stop request ``rid`` in the child and wait until it says so (killed if it does
        not), so the next request starts on a free child."""
        try:
            write_message(proc.stdin, {"op": "cancel", "id": rid})
        except (BrokenPipeError, OSError):
            self._kill(proc)
            return
        end = time.monotonic() + CANCEL_WAIT_S
        while time.monotonic() < end:
            try:
                message = replies.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if message is None:
                break
            if message[0].get("id") == rid and message[0]["kind"] != "progress":
                return
        self._kill(proc)

    def _kill(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if self._proc is proc:
            self._proc = None


def _relay_replies(stream: IO[bytes], replies: queue.Queue) -> None:
    """Reader thread: every message from the child into ``replies``; None when it ends."""
    try:
        while (message := read_message(stream)) is not None:
            replies.put(message)
    except (OSError, ValueError):
        pass
    replies.put(None)


class SceneCache:
    """The last :data:`RECENT_SCENES` whole-dance scenes, keyed by everything a render reads
    (library, stage radius, beat grid, phrases, placements, P(d | u_t) for the metrics)."""

    def __init__(self, size: int = RECENT_SCENES) -> None:
        self._size = size
        self._scenes: OrderedDict[tuple, RenderedScene] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(engine: Engine, seg: Segmentation) -> tuple:
        """What the render of ``seg`` by ``engine`` depends on (the arrays by their bytes)."""
        digest = hashlib.sha256(np.ascontiguousarray(seg.analysis.beats_s).tobytes())
        digest.update(np.ascontiguousarray(engine.probabilities(seg.song)).tobytes())
        return (engine.library.fingerprint, engine.stage_radius_cm, seg.analysis.song_hash,
                float(seg.analysis.duration_s), digest.hexdigest(), tuple(seg.phrases),
                tuple(seg.choreography.placements))

    def get(self, key: tuple) -> RenderedScene | None:
        with self._lock:
            scene = self._scenes.get(key)
            if scene is not None:
                self._scenes.move_to_end(key)
            return scene

    def clear(self) -> None:
        with self._lock:
            self._scenes.clear()

    def put(self, key: tuple, scene: RenderedScene) -> None:
        """Keep ``scene`` (its arrays made read-only: views share them)."""
        for array in (scene.positions, scene.parents, scene.feet):
            array.setflags(write=False)
        with self._lock:
            self._scenes[key] = scene
            self._scenes.move_to_end(key)
            while len(self._scenes) > self._size:
                self._scenes.popitem(last=False)


recent_scenes = SceneCache()
_shared: RenderChild | None = None
_shared_lock = threading.Lock()


def shared_child() -> RenderChild:
    """The process's one render child (windows take turns on it)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = RenderChild()
            atexit.register(_shared.close)
        return _shared


def render_scene(engine: Engine, seg: Segmentation, progress: ProgressFn = no_progress
                 ) -> RenderedScene:
    """The whole dance of ``seg`` rendered and measured in the child."""
    header, arrays = state_message(engine, seg)
    header.update(op="render", fps=PREVIEW_FPS)
    return scenes_from(*shared_child().call(header, arrays, progress))[0]


def audition_scenes(engine: Engine, seg: Segmentation, t: int, dance_ids: list[str],
                    preroll_bars: int = 1, progress: ProgressFn = no_progress
                    ) -> list[RenderedScene]:
    """Phrase ``t`` danced with each of ``dance_ids`` in context, rendered in the child."""
    header, arrays = state_message(engine, seg)
    header.update(op="audition", fps=PREVIEW_FPS, t=int(t), dance_ids=list(dance_ids),
                  preroll_bars=int(preroll_bars))
    return scenes_from(*shared_child().call(header, arrays, progress))


# ============================================================================ child side
class _GivenScores:
    """The child's scorer: P(d | u_t) as the editor's scorer computed it (sent along)."""

    def __init__(self, name: str, probabilities: np.ndarray) -> None:
        self.name = name
        self._probabilities = probabilities

    def probabilities(self, song: Any, progress: ProgressFn = no_progress) -> np.ndarray:
        return self._probabilities


class _Server:
    """Child side: the loaded library and the request being served."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._write = threading.Lock()
        self._library: Any = None
        self._library_key: tuple[str, str] | None = None
        self.cancelled: set[int] = set()

    def send(self, header: dict[str, Any], arrays: Arrays | None = None) -> None:
        with self._write:
            write_message(self._out, header, arrays)

    def serve(self, header: dict[str, Any], arrays: Arrays) -> None:
        """Answer one request."""
        rid = header["id"]
        try:
            if rid in self.cancelled:
                raise Cancelled("render")
            if header.get("code") != WIRE_CODE:
                raise Unservable("the render process runs other code than the editor")
            scenes = self._run(header, arrays, self._reporter(rid))
        except Cancelled:
            self.send({"kind": "cancelled", "id": rid})
        except Unservable as exc:
            self.send({"kind": "unservable", "id": rid, "message": str(exc)})
        except ChoreoError as exc:
            self.send({"kind": "error", "id": rid, "message": str(exc)})
        except MemoryError:
            self.send({"kind": "error", "id": rid, "message": "rendering: out of memory — "
                       "close other programs or use a shorter song"})
        except Exception as exc:  # noqa: BLE001 - reported to the editor, the child goes on
            import traceback

            traceback.print_exc(file=sys.stderr)
            self.send({"kind": "error", "id": rid, "message":
                       f"rendering: internal error ({type(exc).__name__}: {exc})"})
        else:
            reply, out = scene_message(scenes)
            self.send(dict(reply, id=rid), out)
        self.cancelled.discard(rid)

    def _reporter(self, rid: int) -> ProgressFn:
        last = [0.0]

        def report(fraction: float, message: str) -> None:
            if rid in self.cancelled:
                raise Cancelled(message)
            now = time.perf_counter()
            if now - last[0] >= PROGRESS_INTERVAL_S:
                last[0] = now
                self.send({"kind": "progress", "id": rid, "fraction": float(fraction),
                           "message": message})

        return report

    def _run(self, header: dict[str, Any], arrays: Arrays, progress: ProgressFn
             ) -> list[RenderedScene]:
        op = header["op"]
        library = self._load(header["library"])
        if op == "load":
            return []
        engine, seg = self._state(library, header, arrays)
        if op == "render":
            return [render_in_process(engine, seg, progress)]
        if op == "audition":
            scenes = []
            for dance_id in header["dance_ids"]:
                progress(len(scenes) / len(header["dance_ids"]), "audition")
                scenes.append(audition_in_process(engine, seg, header["t"], dance_id,
                                                  header["preroll_bars"]))
            return scenes
        raise ChoreoError(f"render process: unknown request {op!r}")

    def _load(self, ref: dict[str, str]) -> Any:
        """The library the editor's engine uses (loaded again when it changed on disk)."""
        from choreo_studio.core.choreography.engine import load_library

        key = (ref["path"], ref["fingerprint"])
        if self._library_key != key:
            library = load_library(ref["path"] or None)
            if library.fingerprint != ref["fingerprint"]:
                raise Unservable("the library on disk is not the one the editor loaded")
            self._library, self._library_key = library, key
        return self._library

    @staticmethod
    def _state(library: Any, header: dict[str, Any], arrays: Arrays) -> tuple[Engine, Any]:
        """An engine over ``library`` with the editor's plain settings, scoring with its
        P(d | u_t), and the session state the editor sent (the render reads only the song's
        analysis and phrases)."""
        from choreo_studio.core.choreography.engine import Engine
        from choreo_studio.core.choreography.placements import Choreography, Placement
        from choreo_studio.core.phrases.segmentation import MusicPhrase
        from choreo_studio.core.phrases.song import Song
        from choreo_studio.core.project.session import Segmentation

        chor = header["choreography"]
        choreography = Choreography([Placement(**p) for p in chor["placements"]],
                                    chor["scorer"], chor["decoder"], dict(chor["notes"]))
        scorer = _GivenScores(header["scorer"], arrays["probabilities"])
        engine = Engine(library, scorer, **header["engine"])  # type: ignore[arg-type]
        song = Song(None, analysis_from(header["analysis"], arrays),  # type: ignore[arg-type]
                    [MusicPhrase(**p) for p in header["phrases"]], None)  # type: ignore[arg-type]
        return engine, Segmentation(song, arrays["scores"], choreography)


def _read_requests(stream: IO[bytes], server: _Server, inbox: queue.Queue) -> None:
    """Child's reader thread: cancels mark their request at once, the rest queue up."""
    try:
        while (message := read_message(stream)) is not None:
            if message[0]["op"] == "cancel":
                server.cancelled.add(message[0]["id"])
            else:
                inbox.put(message)
    except (OSError, ValueError):
        pass
    inbox.put(None)


def main() -> int:
    """Child side: serve requests from stdin until it closes (answers on the original
    stdout; anything else printed goes to stderr)."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    server = _Server(out)
    inbox: queue.Queue = queue.Queue()
    threading.Thread(target=_read_requests, args=(sys.stdin.buffer, server, inbox),
                     name="render-requests", daemon=True).start()
    while (message := inbox.get()) is not None:
        server.serve(*message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
