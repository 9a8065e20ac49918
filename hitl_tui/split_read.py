"""A cold read of a big DB on two CPUs: a child process runs the byte check over the threads from a pivot id on,
while this process reads the threads below it, then classifies the child's candidates as the child names them.

Everything listed is decoded and classified here, in this process's snapshot: the child only says which of its
threads may have something left to run, and sends their ids back as JSON (no objects cross the pipe). The child's
snapshot may be a moment newer than ours; anything that changed in between is newer than the watermarks taken
at the start of our read, so the next poll reads it again. If the child can't start or fails, this process
scans that range too: a split read never gives a different answer, only a faster one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

from hitl_tui.model import PendingThread

if TYPE_CHECKING:
    from hitl_tui.reader import CheckpointReader

SPLIT_MIN_CHECKPOINTS = 50_000  # below this a second process costs more than it saves
WORKER_ARGS = ["-m", "hitl_tui.read_worker"]  # after sys.executable
_SAMPLES = 63
# This process also decodes and classifies every candidate, the child's too, as they come: it scans a quarter.
_OUR_SHARE = 0.25


def pivot_thread_id(reader: CheckpointReader) -> str | None:
    """A thread id that splits the rows about `_OUR_SHARE`:rest, from thread ids sampled evenly by rowid."""
    conn = reader._conn
    top = conn.execute("SELECT MAX(rowid) FROM checkpoints").fetchone()[0] or 0
    rowids = json.dumps([top * k // (_SAMPLES + 1) for k in range(1, _SAMPLES + 1)])
    ids = sorted(r[0] for r in conn.execute(
        "SELECT thread_id FROM checkpoints WHERE rowid IN (SELECT value FROM json_each(?))", (rowids,)
    ) if isinstance(r[0], str))
    return ids[int(len(ids) * _OUR_SHARE)] if ids else None


def split_read(reader: CheckpointReader) -> list[PendingThread] | None:
    """Every unfinished thread, the byte check shared with a child; None when the DB can't be split."""
    pivot = pivot_thread_id(reader)
    if pivot is None:
        return None
    try:
        child = subprocess.Popen(
            [sys.executable, *WORKER_ARGS, str(reader.path), pivot],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None
    try:
        assert child.stdout is not None
        mine = reader.read_range(below=pivot)
        # Then the child's candidates, chunk by chunk while it scans on.
        theirs: list[PendingThread] | None = []
        for line in child.stdout:
            ids = _candidates(line)
            if ids is None or theirs is None:
                theirs = None
                continue
            # Only ids that really are in the child's range: never anything of ours twice.
            theirs.extend(reader.read_threads(t for t in ids if t >= pivot))
        if child.wait() != 0:
            theirs = None
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    if theirs is None:  # the child failed somewhere: its whole range is read here
        theirs = reader.read_range(from_=pivot)
    return mine + theirs


def _candidates(line: bytes) -> list[str] | None:
    try:
        ids = json.loads(line)
    except ValueError:  # a child that died mid-write, or wrote something else: scan that range here instead
        return None
    if not isinstance(ids, list) or not all(isinstance(t, str) for t in ids):
        return None
    return ids
