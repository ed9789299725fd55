"""Sound output in a child process, so that no thread of the editor can delay the callback.

PortAudio calls back into Python: in the editor's process the callback waits for the
interpreter lock whenever the GUI thread or a worker holds it, and under load that starved the
output (gaps of 11–98 ms, a long stall after each start). Here the stream runs in an
interpreter of its own that does nothing else (``python -m choreo_studio.editor.audio_process``).
The editor's side (:class:`ProcessOutput`) and the child share, in shared memory
(:mod:`.audio_shared`):

* the song's samples and the song stretched to each slowed speed (copied there once);
* a control block (play, seek, loop, stop point, metronome) that the editor writes under a
  sequence counter; the callback reads it without ever waiting (a torn read keeps the last one);
* a state block the callback writes (cursor frame, finished, the seek it applied, underruns)
  and a ring of its latest blocks (first frame, when it reaches the DAC, ...), from which the
  editor's playhead shows the frame heard, as :class:`~.audio_player.SoundDeviceOutput` does.

Commands that carry data (a speed with its stretched song, the beats) go to the child's stdin
as JSON lines; the child answers ``ready`` or its one-line error on stdout. Its stream runs from
the output's opening to its close, silent while paused, so playing starts at the next block
instead of waiting for a stream to start. If the child cannot start or dies, the same callback
runs in the editor's process over the same shared memory (sound as before, no drop-out guard).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from multiprocessing import shared_memory

import numpy as np
from choreo_studio.editor.audio_player import (
    HEARD_BLOCKS,
    OUTPUT_LATENCY_S,
    OutputBase,
    SoundDeviceOutput,
    ask_short_periods,
    block_frames,
)
from choreo_studio.editor.audio_shared import (
    C_LOOP_HI,
    C_LOOP_LO,
    C_METRONOME,
    C_PLAYING,
    C_SEEK_FRAME,
    C_SEEK_REQ,
    C_STOP_AT,
    NONE,
    PLAYED,
    RING,
    ROOM_FACTOR,
    S_APPLIED,
    S_BLOCKS,
    S_FINISHED,
    S_FRAME,
    S_LATENCY_US,
    S_PRIORITY,
    S_SEQ,
    S_UNDERRUNS,
    UNDERFLOW,
    SharedBlocks,
    attach_memory,
    heard_frame,
    new_array,
    release,
    seq_read,
    seq_write,
    shared_room_ok,
)

CLOSE_WAIT_S = 2.0
RT_PRIORITY = 10
"""Real-time priority asked for the child's threads (audio servers use 5-20)."""
PRIORITY_NAMES = {0: "normal priority", 1: "raised nice", 2: "real-time", -1: "not yet known"}


def raise_priority() -> int:
    """Run this process's threads ahead of ordinary work where the system allows it: the
    calling one (the callback's) and, where the system lists them, the sound library's own
    (libpulse's, which carries the blocks to the server, starved as badly). Real-time
    round-robin as audio servers and DAWs ask, else a nice of -10; 2, 1 or 0 for what the
    callback's thread got."""
    got = _raise_thread(0)
    tasks = "/proc/self/task"
    for tid in sorted(os.listdir(tasks)) if os.path.isdir(tasks) else []:
        _raise_thread(int(tid))
    return got


def _raise_thread(tid: int) -> int:
    """Real-time (2), else raised nice (1), else nothing (0) for one thread (0: the caller)."""
    try:
        os.sched_setscheduler(tid, os.SCHED_RR, os.sched_param(RT_PRIORITY))
        return 2
    except (AttributeError, OSError):
        pass
    try:
        os.setpriority(os.PRIO_PROCESS, tid, -10)  # Linux: that thread only
        return 1
    except (AttributeError, OSError):
        return 0


class SharedEngine(SoundDeviceOutput):
    """The callback side: follows the control block, mixes as SoundDeviceOutput does, and
    publishes the cursor and each block's timing. Runs in the child (or, as a fallback, in the
    editor's process); data commands are queued and applied at the start of a callback, so the
    callback's thread is the only one that changes the playback state."""

    def __init__(self, samples: np.ndarray, sr: int, sd_module: object, blocks: SharedBlocks,
                 latency_s: float, *,
                 attach: Callable[[str], shared_memory.SharedMemory] = attach_memory,
                 prioritise: bool = False) -> None:
        super().__init__(samples, sr, sd_module)
        self.blocks = blocks
        self.latency_s = latency_s
        self._prioritise = prioritise
        """Raise the callback thread's priority at its first block (the child does)."""
        if not prioritise:
            seq_write(blocks.state, {S_PRIORITY: 0})
        self._attach = attach
        """Opens a stretched song's segment by name (the editor's own ones when run there)."""
        self._pending: deque[Callable[[], None]] = deque()
        self._control = blocks.control.copy()
        self._applied = 0
        self._speed_buffers: dict[str, tuple[shared_memory.SharedMemory, np.ndarray]] = {}
        """Segments stay mapped until the output's process ends or the editor frees them."""

    def open(self) -> float:
        """Open and start the stream; return its reported latency in seconds."""
        ask_short_periods(self._sd, self.sr, self.latency_s)
        self._stream = self._sd.OutputStream(
            samplerate=self.sr, channels=self.samples.shape[1], dtype="float32",
            callback=self._callback, latency=self.latency_s, blocksize=block_frames(self.sr))
        latency = float(self._stream.latency)
        self._latency_frames = int(latency * self.sr)
        seq_write(self.blocks.state, {S_LATENCY_US: int(latency * 1e6)})
        self._stream.start()
        return latency

    def continue_from(self, state: np.ndarray) -> None:
        """Take over where another callback stopped (the child, gone): its frame and the seek
        it had applied, so a seek already done is not done again (and a write it died in
        the middle of is closed, or every later read would wait for it)."""
        if int(self.blocks.state[S_SEQ]) & 1:
            self.blocks.state[S_SEQ] += 1
        self.cursor.seek(int(state[S_FRAME]))
        self.cursor.finished = bool(state[S_FINISHED])
        self._applied = int(state[S_APPLIED])

    def handle(self, command: dict) -> None:
        """Prepare a data command from the editor and queue it for the callback."""
        if "speed" in command:
            speed = float(command["speed"])
            buffer = None
            if "shm" in command:
                buffer = self._speed_buffer(command["shm"], tuple(command["shape"]))
            self._pending.append(lambda: self.set_speed(speed, buffer))
        if "beats" in command:
            beats = np.asarray(command["beats"], dtype=np.float64)
            downbeats = np.asarray(command["downbeats"], dtype=np.int64)
            self._pending.append(lambda: self.set_beats(beats, downbeats))

    def _speed_buffer(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        if name not in self._speed_buffers:
            memory = self._attach(name)
            self._speed_buffers[name] = (memory, np.ndarray(shape, np.float32, memory.buf))
        return self._speed_buffers[name][1]

    def _callback(self, out: np.ndarray, frames: int, time_info: object, status: object) -> None:
        called = time.perf_counter()
        if self._prioritise:
            self._prioritise = False
            seq_write(self.blocks.state, {S_PRIORITY: raise_priority()})
        while self._pending:
            self._pending.popleft()()
        control = seq_read(self.blocks.control)
        if control is not None:  # mid-write: the last whole one holds for this block
            self._control = control
        self._follow(self._control)
        first, speed = self.cursor.frame, self.speed
        played = bool(self._control[C_PLAYING])
        if played:
            super()._callback(out, frames, time_info, status)
        else:
            out.fill(0.0)
        flags = (PLAYED if played else 0) | (
            UNDERFLOW if getattr(status, "output_underflow", False) else 0)
        self._publish((first, self._dac_time(time_info, called), self._applied, speed, frames,
                       called, flags))

    def _follow(self, control: np.ndarray) -> None:
        """Take the editor's seek, loop, stop point and metronome switch."""
        if control[C_SEEK_REQ] != self._applied:
            self.cursor.seek(int(control[C_SEEK_FRAME]))
            self._applied = int(control[C_SEEK_REQ])
        lo, hi, stop = (int(v) for v in control[[C_LOOP_LO, C_LOOP_HI, C_STOP_AT]])
        self.cursor.loop = None if hi == NONE else (lo, hi)
        self.cursor.stop_at = None if stop == NONE else stop
        self.metronome = bool(control[C_METRONOME])

    def _dac_time(self, time_info: object, called: float) -> float:
        """When this block's first frame reaches the DAC, on this machine's perf_counter clock
        (shared by both processes); the stream's latency from now when the host does not say."""
        dac = float(getattr(time_info, "outputBufferDacTime", 0.0) or 0.0)
        now = float(getattr(time_info, "currentTime", 0.0) or 0.0)
        if dac > 0.0 and now > 0.0:
            return called + dac - now
        return called + self._latency_frames / self.sr

    def _publish(self, row: tuple) -> None:
        count = int(self.blocks.state[S_BLOCKS])
        self.blocks.ring[count % RING] = row
        seq_write(self.blocks.state, {
            S_FRAME: self.cursor.frame, S_FINISHED: int(self.cursor.finished),
            S_APPLIED: self._applied, S_UNDERRUNS: self.underruns, S_BLOCKS: count + 1})

    def close(self) -> None:
        if self._stream is not None:
            self._stream.abort()  # not stop(): no waiting for the queued blocks to play
        super().close()
        self._speed_buffers = {}
        self._stretched = None


class SharedCursor:
    """The editor's view of the callback's cursor: the frame and end it published, a seek not
    applied yet counted as done; loop and stop point written for the callback to take."""

    def __init__(self, n_frames: int, blocks: SharedBlocks) -> None:
        self.n_frames = n_frames
        self._blocks = blocks
        self._loop: tuple[int, int] | None = None
        self._stop_at: int | None = None
        self._seek_frame = 0
        self.seeks = 0
        """Seeks asked so far; blocks played since the last one carry this number."""

    def _pending(self) -> np.ndarray | None:
        state = self._blocks.read_state()
        return None if state[S_APPLIED] != self.seeks else state

    @property
    def frame(self) -> int:
        state = self._pending()
        return self._seek_frame if state is None else int(state[S_FRAME])

    @property
    def finished(self) -> bool:
        state = self._pending()
        return self._seek_frame >= self.n_frames if state is None else bool(state[S_FINISHED])

    @property
    def loop(self) -> tuple[int, int] | None:
        return self._loop

    @loop.setter
    def loop(self, span: tuple[int, int] | None) -> None:
        self._loop = None if span is None else (int(span[0]), int(span[1]))
        lo, hi = self._loop or (NONE, NONE)
        seq_write(self._blocks.control, {C_LOOP_LO: lo, C_LOOP_HI: hi})

    @property
    def stop_at(self) -> int | None:
        return self._stop_at

    @stop_at.setter
    def stop_at(self, frame: int | None) -> None:
        self._stop_at = None if frame is None else int(frame)
        seq_write(self._blocks.control, {C_STOP_AT: NONE if frame is None else int(frame)})

    def seek(self, frame: int) -> None:
        """Move the playhead (clamped to the song); the callback takes it at its next block."""
        self._seek_frame = int(min(max(frame, 0), self.n_frames))
        self.seeks += 1
        seq_write(self._blocks.control, {C_SEEK_REQ: self.seeks, C_SEEK_FRAME: self._seek_frame})

    def wrapped(self, frame: int) -> int:
        """A frame counted on past the loop's end, brought back inside the loop."""
        if self._loop is not None and self._loop[0] < self._loop[1] <= frame:
            return self._loop[0] + (frame - self._loop[0]) % (self._loop[1] - self._loop[0])
        return frame


class ProcessOutput(OutputBase):
    """The editor's side of the child's output: same API as the in-process outputs."""

    has_sound = True

    def __init__(self, samples: np.ndarray, sr: int, sd_module: object, *, device_name: str,
                 latency_s: float = OUTPUT_LATENCY_S, prioritise: bool = True,
                 python: str = sys.executable) -> None:
        if not shared_room_ok(int(samples.size * 4 * ROOM_FACTOR)):
            raise OSError("no room in shared memory for the song and its slowed copies")
        self.blocks = SharedBlocks.create()
        super().__init__(samples, sr)
        self.description = "audio: " + device_name
        self.latency_s = latency_s
        self.prioritise = prioritise
        """Whether the child asks for real-time (else raised) priority for its callback."""
        self._sd = sd_module
        self._song_memory, _ = new_array(self.samples.shape, np.float32)
        self.cursor = SharedCursor(len(self.samples), self.blocks)
        self._speed_memory: dict[float, shared_memory.SharedMemory] = {}
        self._commands: list[dict] = []
        self._lock = threading.Lock()
        """Orders commands against the child's start and a move of the callback to here."""
        self._engine: SharedEngine | None = None
        self._proc: subprocess.Popen | None = None
        self._closing = False
        self.error = ""
        """Why the child could not play (then the callback runs in this process)."""
        self.ready = threading.Event()
        """Set once sound runs, in the child or here."""
        threading.Thread(target=self._run_child, args=(python,), name="audio-child",
                         daemon=True).start()

    def _config(self) -> dict:
        return {"song": self._song_memory.name, "shape": list(self.samples.shape), "sr": self.sr,
                "blocks": self.blocks.memory.name, "latency": self.latency_s,
                "prioritise": self.prioritise}

    # -- the child ------------------------------------------------------------------------
    def _run_child(self, python: str) -> None:
        """Copy the song to shared memory, start the child, wait for its ready or error, and if
        it fails or dies play in this process (a thread: the copy alone takes ~0.2 s a song).
        The child starts a session of its own: where the kernel shares CPU time out by session
        (Linux's autogroups), a child left at normal priority then competes as a group of its
        own rather than inside the editor's, with its workers and their busy threads; it still
        ends with its stdin, when the editor closes the output or dies."""
        song = np.ndarray(self.samples.shape, np.float32, self._song_memory.buf)
        song[...] = self.samples
        del song
        error = "the audio process ended"
        with self._lock:
            if self._closing:
                return
            try:
                self._proc = subprocess.Popen(
                    [python, "-m", "choreo_studio.editor.audio_process",
                     json.dumps(self._config())],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                    start_new_session=True)
                for command in self._commands:  # those sent before the child existed
                    self._proc.stdin.write(json.dumps(command) + "\n")
                self._proc.stdin.flush()
            except OSError as exc:
                error = f"the audio process could not start ({exc})"
        if self._proc is not None:
            error = self._read_replies(self._proc) or error
        if not self._closing:
            self._take_over(error)

    def _read_replies(self, proc: subprocess.Popen) -> str:
        """Read the child's replies until it ends; return its error, if it sent one."""
        error = ""
        for line in proc.stdout:
            try:
                reply = json.loads(line)
            except ValueError:
                continue  # not ours: a library printing
            if "error" in reply:
                error = str(reply["error"])
            else:
                self.ready.set()
        proc.wait()
        return error

    def _take_over(self, reason: str) -> None:
        """Run the callback in this process over the same shared memory (sound, as before)."""
        with self._lock:
            if self._closing:
                return
            try:
                song = np.ndarray(self.samples.shape, np.float32, self._song_memory.buf)
                engine = SharedEngine(song, self.sr, self._sd, self.blocks, self.latency_s,
                                      attach=self._own_memory)
                engine.continue_from(self.blocks.read_state())
                for command in self._commands:
                    engine.handle(command)
                engine.open()
            except Exception as exc:  # noqa: BLE001 - no sound at all: say why
                reason = f"{reason}; in-process output failed too ({exc})"
                engine = None
            self._engine = engine
        self.error = reason
        self.description += f" (in the editor's process: {reason})"
        self.ready.set()

    def _own_memory(self, name: str) -> shared_memory.SharedMemory:
        """One of this side's stretched-song segments, by name."""
        return next(m for m in self._speed_memory.values() if m.name == name)

    def _send(self, command: dict) -> None:
        """A data command to the callback, kept to replay if the callback moves here."""
        with self._lock:
            self._commands.append(command)
            if self._engine is not None:
                self._engine.handle(command)
                return
            if self._proc is None or self._proc.poll() is not None:
                return  # not started yet, or gone: the command is replayed
            try:
                self._proc.stdin.write(json.dumps(command) + "\n")
                self._proc.stdin.flush()
            except (OSError, ValueError):
                pass  # gone meanwhile: replayed the same way

    # -- the output API -------------------------------------------------------------------
    @property
    def metronome(self) -> bool:
        return bool(self.blocks.control[C_METRONOME])

    @metronome.setter
    def metronome(self, on: bool) -> None:
        seq_write(self.blocks.control, {C_METRONOME: int(bool(on))})

    @property
    def underruns(self) -> int:
        """Played blocks PortAudio flagged as an output underflow (audible drop-outs)."""
        return int(self.blocks.read_state()[S_UNDERRUNS])

    @property
    def priority(self) -> str:
        """What the callback thread got: real-time, raised nice or normal priority."""
        return PRIORITY_NAMES[int(self.blocks.read_state()[S_PRIORITY])]

    @property
    def latency_frames(self) -> int:
        """The stream's reported latency in frames (0 until the stream runs)."""
        return int(self.blocks.read_state()[S_LATENCY_US] * self.sr // 1_000_000)

    def set_beats(self, beats_s: np.ndarray, downbeats: np.ndarray) -> None:
        super().set_beats(beats_s, downbeats)
        self._send({"beats": [float(b) for b in np.asarray(beats_s)],
                    "downbeats": [int(d) for d in np.asarray(downbeats)]})

    def set_speed(self, speed: float, stretched: np.ndarray | None = None) -> None:
        """Play at ``speed``; below 1 the sound is ``stretched`` (copied to shared memory once)."""
        if speed != 1.0 and stretched is None:
            raise ValueError("slowed sound needs the song stretched to that speed")
        command: dict = {"speed": float(speed)}
        if speed != 1.0:
            buffer = stretched if stretched.ndim == 2 else stretched[:, None]
            if speed not in self._speed_memory:
                memory, array = new_array(buffer.shape, np.float32)
                array[...] = buffer
                del array
                self._speed_memory[speed] = memory
            command |= {"shm": self._speed_memory[speed].name, "shape": list(buffer.shape)}
        self._send(command)
        super().set_speed(speed)

    def start(self) -> None:
        """Play from the cursor: a seek to it, so blocks heard before no longer count."""
        self.cursor.seek(self.cursor.frame)
        seq_write(self.blocks.control, {C_PLAYING: 1})
        super().start()

    def stop(self) -> None:
        """Pause; the playhead stays at the frame heard, where playing resumes."""
        if self.playing:
            heard = self._heard_now()
            seq_write(self.blocks.control, {C_PLAYING: 0})
            if heard is not None and not self.cursor.finished:
                self.cursor.seek(heard)
        super().stop()

    def position_frames(self) -> int:
        """The frame the listener hears now; playing ends when the last frame sent is heard."""
        if not self.playing:
            return self.cursor.frame
        heard = self._heard_now()
        if self.cursor.finished and (heard is None or heard >= self.cursor.frame):
            self.stop()
            return self.cursor.frame
        return self.cursor.frame if heard is None else heard

    def _heard_now(self) -> int | None:
        rows, _ = self.blocks.rows(last=HEARD_BLOCKS)
        heard = heard_frame(rows, self.cursor.seeks, time.perf_counter(), self.sr)
        if heard is None:
            return None
        state = self.blocks.read_state()
        if state[S_APPLIED] == self.cursor.seeks and state[S_FINISHED]:
            heard = min(heard, int(state[S_FRAME]))  # heard up to the end or stop point
        return min(self.cursor.wrapped(heard), self.cursor.n_frames)

    def close(self) -> None:
        """Stop the child (it exits when its stdin closes) and free the shared memory."""
        self.stop()
        with self._lock:
            self._closing = True
            proc, engine, self._engine = self._proc, self._engine, None
        if proc is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass
            threading.Thread(target=end_child, args=(proc,), name="audio-end", daemon=True).start()
        if engine is not None:
            engine.close()
            del engine
        for memory in (self._song_memory, *self._speed_memory.values()):
            release(memory, unlink=True)
        self._speed_memory = {}
        self.blocks.close(unlink=True)


def end_child(proc: subprocess.Popen) -> None:
    """Give the child (its stdin closed) a moment to close its stream and exit, else kill it."""
    try:
        proc.wait(CLOSE_WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def serve(config: dict, sd_module: object, lines: Iterable[str], reply: Callable[[dict], None],
          attach: Callable[[str], shared_memory.SharedMemory] = attach_memory) -> None:
    """The child's life: attach the shared memory, run the stream, apply commands until EOF."""
    song_memory = attach(config["song"])
    blocks = SharedBlocks(attach(config["blocks"]))
    song = np.ndarray(tuple(config["shape"]), np.float32, song_memory.buf)
    engine = SharedEngine(song, int(config["sr"]), sd_module, blocks, float(config["latency"]),
                          attach=attach, prioritise=bool(config.get("prioritise", True)))
    latency = engine.open()
    reply({"ready": True, "latency": latency})
    try:
        for line in lines:
            if line.strip():
                engine.handle(json.loads(line))
    finally:
        engine.close()


def main() -> int:
    """Entry point of the child process (its one argument is the JSON config)."""
    def reply(message: dict) -> None:
        print(json.dumps(message), flush=True)

    try:
        import sounddevice as sd

        serve(json.loads(sys.argv[1]), sd, sys.stdin, reply)
    except Exception as exc:  # noqa: BLE001 - one line for the editor, which plays itself
        reply({"error": f"audio process: {type(exc).__name__}: {exc}"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
