"""A cold read of a big DB on two CPUs: a child process reads and classifies the threads from a pivot id on, while
this process reads the threads below it, then takes the child's threads batch by batch as the child sends them.

Each thread is classified by the process that read it, from one snapshot, with the row marks of that snapshot
(`PendingThread.version`). The child's snapshot may be a moment newer than ours: anything that changed in between
has rows newer than the watermarks taken at the start of our read, so the next poll reads it again.

Threads cross the pipe pickled, in length-prefixed frames, and are unpickled with an allowlist of the few classes a
`PendingThread` is made of: the child builds only plain values from the DB's data, and nothing else is ever
imported here. If the child can't start, fails, or sends anything else, this process reads the rest of that range
itself (leaving out the threads the child already handed over): a split read never gives a different answer,
only a faster one.
"""

from __future__ import annotations

import io
import json
import pickle
import queue
import sqlite3
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol

from hitl_tui.model import PendingThread


class SplitSource(Protocol):
    """What a split read needs of the reader it splits (the CheckpointReader; a Protocol so this module doesn't
    import the reader that imports it)."""

    path: Path
    config: Any
    breakpoints: Any

    def read_range(
        self, *, below: str | None = None, from_: str | None = None, skip: frozenset[str] = frozenset()
    ) -> list[PendingThread]: ...

    def deliver(self, out: list[PendingThread], batch: list[PendingThread]) -> None: ...

SPLIT_MIN_CHECKPOINTS = 50_000  # below this a second process costs more than it saves
WORKER_ARGS = ["-m", "hitl_tui.checkpoints.split_child"]  # after sys.executable
_SAMPLES = 63
# Both processes classify their own half; this one also unpickles the child's threads (a tenth of what
# classifying them costs) while the child pays for starting Python: they come out about even.
_OUR_SHARE = 0.5
FRAME_HEADER = struct.Struct(">I")  # the length of the pickled batch that follows
_MAX_FRAME = 1 << 30
_ALLOWED_GLOBALS = frozenset(
    [("hitl_tui.model", name) for name in
     ("PendingThread", "PendingInterrupt", "ActionRequest", "ThreadStatus", "PayloadShape", "DecisionKind")]
    + [("datetime", "datetime"), ("datetime", "timezone"), ("datetime", "timedelta"), ("builtins", "frozenset"),
       ("builtins", "set"), ("copyreg", "_reconstructor"), ("builtins", "object")]
)


class BadFrame(Exception):
    """The child sent something that is not a batch of threads."""


class _ThreadUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise BadFrame(f"{module}.{name} is not part of a thread")
        return super().find_class(module, name)


def write_frame(out: IO[bytes], batch: list[PendingThread]) -> None:
    """Send one batch of threads (the child's side)."""
    data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(FRAME_HEADER.pack(len(data)))
    out.write(data)
    out.flush()


def raw_frames(stream: IO[bytes]) -> Iterator[bytes]:
    """The pickled batches the child sends, until it closes its end; BadFrame for a cut or oversized frame."""
    while header := stream.read(FRAME_HEADER.size):
        if len(header) < FRAME_HEADER.size:
            raise BadFrame("a cut frame header")
        (size,) = FRAME_HEADER.unpack(header)
        if size > _MAX_FRAME:
            raise BadFrame("a frame larger than any batch")
        data = stream.read(size)
        if len(data) < size:
            raise BadFrame("a cut frame")
        yield data


def load_frame(data: bytes) -> list[PendingThread]:
    """One batch of threads from a frame; BadFrame when it holds anything else."""
    try:
        batch = _ThreadUnpickler(io.BytesIO(data)).load()
    except BadFrame:
        raise
    except Exception as err:  # whatever a broken stream makes pickle raise
        raise BadFrame(f"a frame that does not unpickle ({type(err).__name__})") from None
    if not isinstance(batch, list) or not all(isinstance(t, PendingThread) for t in batch):
        raise BadFrame("a frame that is not a list of threads")
    return batch


def read_frames(stream: IO[bytes]) -> Iterator[list[PendingThread]]:
    """Each batch of threads the child sends."""
    for data in raw_frames(stream):
        yield load_frame(data)


class _Drain(threading.Thread):
    """Empties the child's pipe while this process reads its own half: a full pipe would stop the child."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__(daemon=True, name="split-read-drain")
        self._stream = stream
        self.frames: queue.SimpleQueue[bytes | BadFrame | None] = queue.SimpleQueue()

    def run(self) -> None:
        try:
            for data in raw_frames(self._stream):
                self.frames.put(data)
        except (BadFrame, OSError, ValueError) as err:
            self.frames.put(err if isinstance(err, BadFrame) else BadFrame(str(err)))
        self.frames.put(None)

    def batches(self) -> Iterator[list[PendingThread]]:
        """The child's batches in order, unpickled here (on the caller's thread)."""
        while (item := self.frames.get()) is not None:
            if isinstance(item, BadFrame):
                raise item
            yield load_frame(item)


def pivot_thread_id(conn: sqlite3.Connection) -> str | None:
    """A thread id that splits the rows about `_OUR_SHARE`:rest, from thread ids sampled evenly by rowid."""
    top = conn.execute("SELECT MAX(rowid) FROM checkpoints").fetchone()[0] or 0
    rowids = json.dumps([top * k // (_SAMPLES + 1) for k in range(1, _SAMPLES + 1)])
    ids = sorted(r[0] for r in conn.execute(
        "SELECT thread_id FROM checkpoints WHERE rowid IN (SELECT value FROM json_each(?))", (rowids,)
    ) if isinstance(r[0], str))
    return ids[int(len(ids) * _OUR_SHARE)] if ids else None


def split_read(reader: SplitSource, conn: sqlite3.Connection) -> list[PendingThread] | None:
    """Every unfinished thread, half of them read by a child; None when the DB can't be split. `conn`: the
    reader's connection, inside its read's snapshot."""
    pivot = pivot_thread_id(conn)
    if pivot is None:
        return None
    try:
        child = subprocess.Popen(
            [sys.executable, *WORKER_ARGS, str(reader.path), pivot],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None
    theirs: list[PendingThread] = []
    received: set[str] = set()
    complete = False
    try:
        assert child.stdin is not None and child.stdout is not None
        try:  # the settings it classifies with: ours, whatever file or object they came from
            child.stdin.write(pickle.dumps((reader.config, reader.breakpoints), protocol=pickle.HIGHEST_PROTOCOL))
            child.stdin.close()
        except OSError:
            pass  # it died already: its exit status says so below
        drain = _Drain(child.stdout)
        drain.start()
        mine = reader.read_range(below=pivot)
        try:
            for batch in drain.batches():
                # Only threads that really are in the child's range: never anything of ours twice.
                batch = [t for t in batch if t.thread_id >= pivot and t.thread_id not in received]
                received.update(t.thread_id for t in batch)
                reader.deliver(theirs, batch)
            complete = child.wait() == 0
        except BadFrame:
            pass
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()  # ends the drain thread if it is still reading
    if not complete:  # the child failed somewhere: what it did not hand over is read here
        theirs += reader.read_range(from_=pivot, skip=frozenset(received))
    return mine + theirs
