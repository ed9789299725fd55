"""Shared memory between the editor and its audio child (:mod:`.audio_process`): the layout
of the control block, the state block and the block ring, the sequence counter that keeps a
reader in the other process from taking half an update, and the segments' life.

The control block is written by the editor only, the state block and the ring by the callback
only: one writer each, so no lock is ever waited for.
"""

from __future__ import annotations

import os
import time
from multiprocessing import resource_tracker, shared_memory

import numpy as np

NONE = -1
"""An unset loop end or stop point in the control block."""
C_SEQ, C_PLAYING, C_SEEK_REQ, C_SEEK_FRAME, C_LOOP_LO, C_LOOP_HI, C_STOP_AT, C_METRONOME = range(8)
S_SEQ, S_FRAME, S_FINISHED, S_APPLIED, S_UNDERRUNS, S_BLOCKS, S_LATENCY_US, S_PRIORITY = range(8)
R_FIRST, R_DAC, R_TAG, R_SPEED, R_FRAMES, R_CALLED, R_FLAGS = range(7)
"""Ring columns: first song frame, perf_counter time it reaches the DAC, the seek it follows,
speed, output frames, perf_counter time of the callback, flags (PLAYED | UNDERFLOW)."""
PLAYED, UNDERFLOW = 1, 2
FIELDS, RING, RING_COLS = 8, 512, 7
READ_TRIES = 1000
"""Reads of the state block that may find it mid-write before the last good one is used."""
ROOM_FACTOR = 4.5
"""Shared memory asked free for a song: itself and its slowed copies (2× at 0.5, 1.33× at 0.75)."""
SHM_FOLDER = "/dev/shm"


def seq_write(block: np.ndarray, values: dict[int, int]) -> None:
    """Write fields of a block whose slot 0 counts writes (odd while writing), so a reader in the
    other process never takes half an update (one writer per block)."""
    block[0] += 1
    for index, value in values.items():
        block[index] = value
    block[0] += 1


def seq_read(block: np.ndarray) -> np.ndarray | None:
    """A consistent copy of the block, or None when a write was under way."""
    before = int(block[0])
    if before & 1:
        return None
    snapshot = block.copy()
    return snapshot if int(block[0]) == before else None


def attach_memory(name: str) -> shared_memory.SharedMemory:
    """Open a segment the editor made, without this process unlinking it at exit."""
    try:
        return shared_memory.SharedMemory(name=name, track=False)
    except TypeError:  # Python < 3.13 registers every attach with the resource tracker
        memory = shared_memory.SharedMemory(name=name)
        resource_tracker.unregister(memory._name, "shared_memory")  # noqa: SLF001
        return memory


def shared_room_ok(nbytes: int) -> bool:
    """Whether shared memory has room for ``nbytes`` (a container's small /dev/shm would
    otherwise kill the editor with SIGBUS when the copy reaches its end)."""
    if not os.path.isdir(SHM_FOLDER):
        return True  # not Linux: the system sizes its shared memory itself
    stats = os.statvfs(SHM_FOLDER)
    return stats.f_bavail * stats.f_frsize >= nbytes


def new_array(shape: tuple[int, ...], dtype: type) -> tuple[shared_memory.SharedMemory, np.ndarray]:
    """A fresh shared-memory segment (zero-filled by the system) and an array over it."""
    size = max(int(np.prod(shape)) * np.dtype(dtype).itemsize, 1)
    memory = shared_memory.SharedMemory(create=True, size=size)
    return memory, np.ndarray(shape, dtype=dtype, buffer=memory.buf)


def release(memory: shared_memory.SharedMemory, *, unlink: bool) -> None:
    """Close (and unlink) a segment; a view still alive keeps the mapping until it goes."""
    try:
        memory.close()
    except BufferError:
        pass
    if unlink:
        try:
            memory.unlink()
        except FileNotFoundError:
            pass


class SharedBlocks:
    """The control block, the state block and the block ring, over one segment."""

    def __init__(self, memory: shared_memory.SharedMemory) -> None:
        self.memory = memory
        self.control = np.ndarray((FIELDS,), np.int64, memory.buf, 0)
        self.state = np.ndarray((FIELDS,), np.int64, memory.buf, FIELDS * 8)
        self.ring = np.ndarray((RING, RING_COLS), np.float64, memory.buf, 2 * FIELDS * 8)

    @classmethod
    def create(cls) -> SharedBlocks:
        memory, _ = new_array((2 * FIELDS + RING * RING_COLS,), np.float64)
        blocks = cls(memory)
        seq_write(blocks.control, {C_LOOP_LO: NONE, C_LOOP_HI: NONE, C_STOP_AT: NONE})
        seq_write(blocks.state, {S_PRIORITY: -1})
        return blocks

    def read_state(self) -> np.ndarray:
        """The state block as the callback last wrote it whole."""
        for _ in range(READ_TRIES):
            state = seq_read(self.state)
            if state is not None:
                return state
            time.sleep(0)
        return self.state.copy()

    def rows(self, since: int | None = None, *, last: int = RING - 1) -> tuple[np.ndarray, int]:
        """Ring rows of the blocks after the ``since``-th (else the ``last`` ones), and the count
        (at most RING - 1: the row being written is never read)."""
        count = int(self.read_state()[S_BLOCKS])
        first = max(count - last if since is None else since, count - RING + 1, 0)
        index = np.arange(first, count) % RING
        return self.ring[index].copy(), count

    def close(self, *, unlink: bool) -> None:
        del self.control, self.state, self.ring
        release(self.memory, unlink=unlink)


def heard_frame(rows: np.ndarray, seeks: int, now: float, sr: int) -> int | None:
    """The song frame heard at perf_counter ``now``, counted on through loop wraps: from the last
    block played since seek ``seeks`` whose first frame has reached the DAC, advanced at its
    speed but never past the frames sent; the first such block's frame while none is heard
    yet; None when none was played."""
    rows = rows[(rows[:, R_TAG] == seeks) & (rows[:, R_FLAGS].astype(np.int64) & PLAYED > 0)]
    if not len(rows):
        return None
    heard = rows[rows[:, R_DAC] <= now]
    if not len(heard):
        return int(rows[0, R_FIRST])
    at = len(heard) - 1  # the rows heard are the first ones (DAC times rise)
    last = rows[at]
    sent = last[R_FIRST] + float(np.sum(rows[at:, R_FRAMES] * rows[at:, R_SPEED]))
    advanced = last[R_FIRST] + round((now - last[R_DAC]) * sr * last[R_SPEED])
    return int(min(advanced, sent))
