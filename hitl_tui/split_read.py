"""A cold read of a big DB on two CPUs: this process reads the threads below a pivot id, a child the rest.

Each thread is read whole by one side, from one snapshot, so every thread is as consistent as in a single read.
The child's snapshot may be a moment newer than ours; anything that changed in between is newer than the
watermarks taken at the start of our read, so the next poll reads it again. The child is our own code
(`python -m hitl_tui.read_worker`) and sends back the pickled threads it built. If it can't start or fails,
this process reads its half too: a split read never gives a different answer, only a faster one.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from typing import IO, TYPE_CHECKING

from hitl_tui.model import PendingThread

if TYPE_CHECKING:
    from hitl_tui.reader import CheckpointReader

SPLIT_MIN_CHECKPOINTS = 50_000  # below this a second process costs more than it saves
_SAMPLES = 63
WORKER_ARGS = ["-m", "hitl_tui.read_worker"]  # after sys.executable


def pivot_thread_id(reader: CheckpointReader) -> str | None:
    """A thread id with about half of the rows on each side: the median of thread ids sampled evenly by rowid."""
    conn = reader._conn
    top = conn.execute("SELECT MAX(rowid) FROM checkpoints").fetchone()[0] or 0
    rowids = json.dumps([top * k // (_SAMPLES + 1) for k in range(1, _SAMPLES + 1)])
    ids = sorted(r[0] for r in conn.execute(
        "SELECT thread_id FROM checkpoints WHERE rowid IN (SELECT value FROM json_each(?))", (rowids,)
    ) if isinstance(r[0], str))
    return ids[len(ids) // 2] if ids else None


def split_read(reader: CheckpointReader) -> list[PendingThread] | None:
    """Every unfinished thread, read on two CPUs; None when the DB can't be split (read it in one go)."""
    pivot = pivot_thread_id(reader)
    if pivot is None:
        return None
    request = {"path": str(reader.path), "config": reader.config, "breakpoints": reader.breakpoints, "from": pivot}
    try:
        child = subprocess.Popen(
            [sys.executable, *WORKER_ARGS],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None
    try:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
        child.stdin.close()
        mine = reader.read_range(below=pivot)
        theirs = _result(child.stdout)
        if child.wait() != 0:
            theirs = None
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    if theirs is None:
        theirs = reader.read_range(from_=pivot)
    return mine + theirs


def _result(stream: IO[bytes]) -> list[PendingThread] | None:
    try:
        # Straight from the pipe: no second copy of the whole answer in memory.
        threads = pickle.load(stream)  # written by our own child, from our own objects
    except Exception:  # a child that died mid-write, or wrote something else: read that half here instead
        return None
    if not isinstance(threads, list) or not all(isinstance(t, PendingThread) for t in threads):
        return None
    return threads
