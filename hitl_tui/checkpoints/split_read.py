"""A cold read of a big DB on two CPUs: this process and a child share the thread-id range, chunk by chunk.

The thread ids are cut into chunks (from thread ids sampled evenly by rowid). This process takes chunks from the
low end, the child is granted chunks from the high end, one at a time plus one ahead, until they meet: whichever
side is slower (the child starts Python first and pickles what it found; this process unpickles that) simply takes
fewer chunks, so both finish together. The child's frames are unpickled here between our own chunks, not after.

Each thread is classified by the process that read it, from one snapshot, with the row marks of that snapshot
(`PendingThread.version`). The child's snapshot may be a moment newer than ours: anything that changed in between
has rows newer than the watermarks taken at the start of our read, so the next poll reads it again.

Threads cross the pipe pickled, in length-prefixed frames, and are unpickled with an allowlist of the few classes a
`PendingThread` is made of: the child builds only plain values from the DB's data, and nothing else is ever
imported here. If the child can't start, fails, or sends anything else, this process reads what the child had
been granted itself (leaving out the threads it already handed over): a split read never gives a different answer,
only a faster one.
"""

from __future__ import annotations

import bisect
import contextlib
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
        self, *, from_: str | None = None, below: str | None = None, skip: frozenset[str] = frozenset()
    ) -> list[PendingThread]: ...

    def deliver(self, out: list[PendingThread], batch: list[PendingThread]) -> None: ...


Chunk = tuple["str | None", "str | None"]
"""(from_, below): the threads with `from_ <= thread_id < below`; None leaves that end open."""

SPLIT_MIN_CHECKPOINTS = 50_000  # below this a second process costs more than it saves
WORKER_ARGS = ["-m", "hitl_tui.checkpoints.split_child"]  # after sys.executable
_SAMPLES = 255
# Small chunks keep the two sides even at the end (neither waits for more than one chunk of the other); each
# chunk costs a range query and a few small batches more, a few ms in all.
MAX_CHUNKS = 64
_AHEAD = 2  # chunks the child holds: the one it reads and the next, so it never waits for a grant
FRAME_HEADER = struct.Struct(">I")  # the length of the pickled batch that follows
_DONE_FLAG = 1 << 31  # a header with this bit set is no length: "chunk N (the low bits) is done"
_MAX_FRAME = 1 << 30
_PIECE = 1 << 20
# A child that sends nothing for this long is taken for stuck: it is killed and its chunks are read here. It sends
# a frame every few hundred threads, so even a DB read from a slow disk keeps it far below this.
STALL_SECONDS = 60.0
GRANT = struct.Struct(">i")  # parent to child: the index of the next chunk to read, or STOP
STOP = -1
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


# -- the pipe, both ways -----------------------------------------------------------------------------------------


def write_frame(out: IO[bytes], batch: list[PendingThread]) -> None:
    """Send one batch of threads (the child's side)."""
    data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(FRAME_HEADER.pack(len(data)))
    out.write(data)
    out.flush()


def write_done(out: IO[bytes], chunk: int) -> None:
    """Say that every thread of a chunk has been sent (the child's side)."""
    out.write(FRAME_HEADER.pack(_DONE_FLAG | chunk))
    out.flush()


def raw_frames(stream: IO[bytes]) -> Iterator[bytes | int]:
    """The pickled batches the child sends, and the index of each chunk it reports done (an int), until it closes
    its end; BadFrame for a cut or oversized frame."""
    while header := stream.read(FRAME_HEADER.size):
        if len(header) < FRAME_HEADER.size:
            raise BadFrame("a cut frame header")
        (size,) = FRAME_HEADER.unpack(header)
        if size & _DONE_FLAG:
            yield size & ~_DONE_FLAG
            continue
        if size > _MAX_FRAME:
            raise BadFrame("a frame larger than any batch")
        yield _read_exactly(stream, size)


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    """`size` bytes, read a piece at a time: a header that lies about its length costs only what really came."""
    data = bytearray()
    while len(data) < size:
        piece = stream.read(min(size - len(data), _PIECE))
        if not piece:
            raise BadFrame("a cut frame")
        data += piece
    return bytes(data)


def load_frame(data: bytes) -> list[PendingThread]:
    """One batch of threads from a frame; BadFrame when it holds anything else."""
    try:
        batch = _ThreadUnpickler(io.BytesIO(data)).load()
    except BadFrame:
        raise
    except Exception as err:  # whatever a broken stream makes pickle raise
        raise BadFrame(f"a frame that does not unpickle ({type(err).__name__})") from None
    if not isinstance(batch, list) or not all(
        isinstance(t, PendingThread) and type(t.thread_id) is str and type(t.checkpoint_id) is str for t in batch
    ):
        raise BadFrame("a frame that is not a list of threads")
    return batch


def read_frames(stream: IO[bytes]) -> Iterator[list[PendingThread]]:
    """Each batch of threads the child sends (chunk-done marks left out)."""
    for item in raw_frames(stream):
        if isinstance(item, bytes):
            yield load_frame(item)


def write_settings(out: IO[bytes], config: Any, breakpoints: Any, chunks: list[Chunk]) -> None:
    """What the child classifies with, and the chunks it may be granted (the parent's side)."""
    data = pickle.dumps((config, breakpoints, chunks), protocol=pickle.HIGHEST_PROTOCOL)
    out.write(FRAME_HEADER.pack(len(data)) + data)
    out.flush()


def read_settings(stream: IO[bytes]) -> tuple[Any, Any, list[Chunk]]:
    """The child's side of `write_settings` (our own pickle, from the parent that started it, over its pipe)."""
    header = stream.read(FRAME_HEADER.size)
    if len(header) < FRAME_HEADER.size:
        raise EOFError("no settings")
    (size,) = FRAME_HEADER.unpack(header)
    config, breakpoints, chunks = pickle.loads(stream.read(size))
    return config, breakpoints, chunks


def grants(stream: IO[bytes]) -> Iterator[int]:
    """The chunks the parent grants the child, one at a time, until STOP or the end of the pipe."""
    while len(data := stream.read(GRANT.size)) == GRANT.size:
        (chunk,) = GRANT.unpack(data)
        if chunk < 0:
            return
        yield chunk


# -- the parent's side ------------------------------------------------------------------------------------------


def chunk_bounds(conn: sqlite3.Connection) -> list[Chunk]:
    """Up to MAX_CHUNKS thread-id ranges holding about as many checkpoints each, from thread ids sampled evenly
    by rowid; [] when there is nothing to cut."""
    if str(conn.execute("PRAGMA encoding").fetchone()[0]).upper() != "UTF-8":
        return []  # the cuts are compared in Python, whose str order is SQLite's byte order for UTF-8 text only
    top = conn.execute("SELECT MAX(rowid) FROM checkpoints").fetchone()[0] or 0
    rowids = json.dumps([top * k // (_SAMPLES + 1) for k in range(1, _SAMPLES + 1)])
    ids = sorted({r[0] for r in conn.execute(
        "SELECT thread_id FROM checkpoints WHERE rowid IN (SELECT value FROM json_each(?))", (rowids,)
    ) if isinstance(r[0], str)})
    cuts = sorted({ids[len(ids) * k // MAX_CHUNKS] for k in range(1, MAX_CHUNKS)}) if len(ids) > 1 else []
    if not cuts:
        return []
    lows: list[str | None] = [None, *cuts]
    highs: list[str | None] = [*cuts, None]
    return list(zip(lows, highs, strict=True))


class _Work:
    """The chunks nobody has taken yet: this process takes them from the low end, the child from the high end."""

    def __init__(self, chunks: int) -> None:
        self._lock = threading.Lock()
        self._low, self._high = 0, chunks - 1

    def take_low(self) -> int | None:
        with self._lock:
            if self._low > self._high:
                return None
            self._low += 1
            return self._low - 1

    def take_high(self) -> int | None:
        with self._lock:
            if self._low > self._high:
                return None
            self._high -= 1
            return self._high + 1


class _Broker(threading.Thread):
    """Empties the child's pipe while this process reads its own chunks (a full pipe would stop the child), and
    grants the child its next chunk as soon as it reports one done. Frames and done-marks are queued in the order
    they came, for the reading thread to take in that order."""

    def __init__(self, child: subprocess.Popen[bytes], work: _Work) -> None:
        super().__init__(daemon=True, name="split-read-broker")
        assert child.stdin is not None and child.stdout is not None
        self._stdin, self._stdout, self._work = child.stdin, child.stdout, work
        self.items: queue.SimpleQueue[bytes | int | BadFrame | None] = queue.SimpleQueue()
        self.granted: set[int] = set()
        self._lock = threading.Lock()  # the reading thread says stop at the end; this thread grants meanwhile

    def grant(self) -> None:
        """Hand the child the next chunk, or tell it to stop when none is left."""
        with self._lock:
            self._grant()

    def _grant(self) -> None:
        if self._stdin.closed:
            return
        chunk = self._work.take_high()
        try:
            if chunk is None:
                self._stdin.write(GRANT.pack(STOP))
                self._stdin.close()
            else:
                self.granted.add(chunk)
                self._stdin.write(GRANT.pack(chunk))
                self._stdin.flush()
        except (OSError, ValueError):
            pass  # the child is gone: its exit status says so, and what it was granted is read here

    def run(self) -> None:
        try:
            for item in raw_frames(self._stdout):
                if isinstance(item, int):
                    self.grant()
                self.items.put(item)
        except BaseException as err:  # whatever stops this thread, the reader must hear of it
            self.items.put(err if isinstance(err, BadFrame) else BadFrame(f"{type(err).__name__}: {err}"))
        finally:
            self.items.put(None)


class _Theirs:
    """What the child handed over, taken from the broker's queue in order: threads, and the chunks finished."""

    def __init__(self, reader: SplitSource, broker: _Broker, chunks: list[Chunk]) -> None:
        self._reader, self._broker = reader, broker
        self._cuts = [below for _, below in chunks[:-1] if below is not None]  # every chunk but the last has one
        self.threads: list[PendingThread] = []
        self.received: set[str] = set()
        self.done: set[int] = set()
        self.ended = False  # the child closed its pipe (or sent something we stopped at)
        self.failed = False

    def take(self, *, wait: bool) -> None:
        """Deliver what has come so far (`wait`: and everything else, until the child closes its pipe)."""
        items = self._broker.items
        while not self.ended:
            try:
                item = items.get(timeout=STALL_SECONDS) if wait else items.get_nowait()
            except queue.Empty:
                if wait:  # alive but silent: stuck
                    self.ended = self.failed = True
                return
            if item is None or isinstance(item, BadFrame):
                self.ended, self.failed = True, item is not None
            elif isinstance(item, int):
                self.done.add(item)
            else:
                try:
                    batch = load_frame(item)
                except BadFrame:
                    self.ended = self.failed = True
                    return
                # Only threads of chunks the child was granted, each once: never anything of ours twice.
                batch = [t for t in batch if self._chunk_of(t.thread_id) in self._broker.granted
                         and t.thread_id not in self.received]
                self.received.update(t.thread_id for t in batch)
                self._reader.deliver(self.threads, batch)

    def _chunk_of(self, thread_id: str) -> int:
        return bisect.bisect_right(self._cuts, thread_id)


def split_read(reader: SplitSource, conn: sqlite3.Connection) -> list[PendingThread] | None:
    """Every unfinished thread, part of them read by a child; None when the DB can't be split. `conn`: the
    reader's connection, inside its read's snapshot."""
    chunks = chunk_bounds(conn)
    if len(chunks) < 2:
        return None
    try:
        child = subprocess.Popen(
            [sys.executable, *WORKER_ARGS, str(reader.path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None
    work = _Work(len(chunks))
    broker = _Broker(child, work)
    theirs = _Theirs(reader, broker, chunks)
    mine: list[PendingThread] = []
    try:
        assert child.stdin is not None and child.stdout is not None
        try:  # the settings it classifies with: ours, whatever file or object they came from
            write_settings(child.stdin, reader.config, reader.breakpoints, chunks)
            for _ in range(_AHEAD):
                broker.grant()
        except OSError:
            pass  # it died already: its exit status says so below
        broker.start()
        while (chunk := work.take_low()) is not None:
            mine += reader.read_range(from_=chunks[chunk][0], below=chunks[chunk][1])
            theirs.take(wait=False)  # unpickled here, between our chunks: the child takes more chunks meanwhile
            if theirs.failed and child.poll() is None:
                child.kill()  # it sent something else: it is granted nothing more, and what it had is read here
        broker.grant()  # every chunk is taken: this says stop, after the ones the child holds
        theirs.take(wait=True)
        if theirs.failed and child.poll() is None:
            child.kill()  # nobody reads its pipe any more: it might never get to exit on its own
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if broker.ident is not None:
            broker.join()  # the child is gone, so its pipe ends and the broker with it
        for pipe in (child.stdout, child.stdin):
            if pipe is not None:
                # A grant left in the buffer of a pipe the child closed: closing must not replace the error
                # (or the ListingFull) that brought us here.
                with contextlib.suppress(OSError, ValueError):
                    pipe.close()
    # What the child was granted and did not report done (after handing over its threads) is read here.
    left = sorted(broker.granted - theirs.done)
    skip = frozenset(theirs.received)
    for chunk in left:
        theirs.threads += reader.read_range(from_=chunks[chunk][0], below=chunks[chunk][1], skip=skip)
    return mine + theirs.threads
