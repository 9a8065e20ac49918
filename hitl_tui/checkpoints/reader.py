"""The list of threads waiting for a human, read straight from a LangGraph SQLite checkpoint DB.

Cold: one SQL pass over the primary key (latest root checkpoint per thread, joined to the writes keyed to it).
Warm: `PRAGMA data_version` says in microseconds whether anyone else committed; when they did, rowid watermarks on
both tables name the threads that changed, and only those are read again.
Reads never write, never import anything named in the data, and never block a writer (WAL readers don't).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hitl_tui.checkpoints.changes import ChangeTracker
from hitl_tui.checkpoints.classify import Breakpoints, CheckpointRow, WriteRow, build_thread
from hitl_tui.checkpoints.context_messages import thread_context
from hitl_tui.checkpoints.decode import DecodeError, decode_metadata, decode_typed
from hitl_tui.checkpoints.ordered_threads import OrderedThreads
from hitl_tui.checkpoints.prefilter import msgpack_may_have_tasks
from hitl_tui.checkpoints.split_read import SPLIT_MIN_CHECKPOINTS, Chunk, split_read
from hitl_tui.checkpoints.task_sites import SubgraphSearch, nodes_ran_last_step
from hitl_tui.config import Config
from hitl_tui.db import connect, explain_sqlite_error
from hitl_tui.gc_pause import no_gc
from hitl_tui.model import PendingThread

# The latest root checkpoint of each thread, from the primary-key index alone: with MAX(), SQLite takes the bare
# `rowid` column from the row holding the maximum.
_LATEST_ALL = "SELECT MAX(checkpoint_id), rowid AS rid FROM checkpoints WHERE checkpoint_ns = '' GROUP BY thread_id"
_LATEST_BELOW = (
    "SELECT MAX(checkpoint_id), rowid AS rid FROM checkpoints "
    "WHERE checkpoint_ns = '' AND thread_id < ? GROUP BY thread_id"
)
_LATEST_FROM = (
    "SELECT MAX(checkpoint_id), rowid AS rid FROM checkpoints "
    "WHERE checkpoint_ns = '' AND thread_id >= ? GROUP BY thread_id"
)
_LATEST_BETWEEN = (
    "SELECT MAX(checkpoint_id), rowid AS rid FROM checkpoints "
    "WHERE checkpoint_ns = '' AND thread_id >= ? AND thread_id < ? GROUP BY thread_id"
)
_LATEST_SOME = (
    "SELECT MAX(checkpoint_id), rowid AS rid FROM checkpoints "
    "WHERE checkpoint_ns = '' AND thread_id IN (SELECT value FROM json_each(?)) GROUP BY thread_id"
)
# Then their rows in rowid order (SQLite sorts an IN list): neighbouring pages instead of a random walk. The blob
# comes only when it is msgpack (the bytes check below reads it); the row's other columns are small, and fetching
# them here saves a second lookup of every row that may have something left to run.
_COLUMNS = (
    "rowid, thread_id, checkpoint_id, parent_checkpoint_id, type, metadata, iif(type = 'msgpack', checkpoint, NULL)"
)
_BLOBS = f"SELECT {_COLUMNS} FROM checkpoints WHERE rowid IN (SELECT rid FROM ({{latest}}))"
_BLOB_ONE = (
    f"SELECT {_COLUMNS} FROM checkpoints "
    "WHERE thread_id = ? AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1"
)
_FETCH = 2048  # rows per fetchmany of the blob scan
_FIRST_FETCH = 100
# The writes keyed to given (thread, checkpoint) pairs. Values are only needed for interrupts and errors.
_WRITES_AT = (
    "SELECT w.thread_id, w.task_id, w.task_path, w.idx, w.channel, w.type, "
    "CASE WHEN w.channel IN ('__interrupt__', '__error__') THEN w.value END "
    "FROM json_each(?) AS j JOIN writes AS w "
    "ON w.thread_id = j.value ->> 0 AND w.checkpoint_ns = '' AND w.checkpoint_id = j.value ->> 1"
)
_BATCH = 500  # threads classified per writes query: bounds memory, keeps each query's parameter small
# A thread's row marks: its newest checkpoint rowid, how many writes it has and the newest write rowid, over every
# namespace (primary-key prefix scans). LangGraph only inserts (INSERT OR REPLACE gives a replaced row a new
# rowid) and deletes whole threads, so equal marks mean nothing about the thread was written in between.
_MARKS = (
    "(SELECT MAX(rowid) FROM checkpoints WHERE thread_id = {tid}), "
    "(SELECT COUNT(*) FROM writes WHERE thread_id = {tid}), (SELECT MAX(rowid) FROM writes WHERE thread_id = {tid})"
)
_MARKS_ONE = (  # with the latest root checkpoint id: a decision's whole compare in one statement
    "SELECT (SELECT MAX(checkpoint_id) FROM checkpoints WHERE thread_id = ?1 AND checkpoint_ns = ''), "
    + _MARKS.format(tid="?1")
)
_MARKS_SOME = "SELECT j.value, " + _MARKS.format(tid="j.value") + " FROM json_each(?) AS j"


@dataclass(frozen=True)
class ReadResult:
    """Every thread that has not finished (paused, running or stalled, unreadable), and which ones just changed."""

    threads: tuple[PendingThread, ...]
    changed: frozenset[str]
    full: bool
    # The changed threads that are still listed, when the reader has them at hand: a screen of 50k rows then
    # updates without searching `threads` (None: look them up there).
    updated: tuple[PendingThread, ...] | None = None


def breakpoints_from_config(config: Config) -> dict[str, Breakpoints]:
    """Static breakpoint nodes per graph id, as configured."""
    return {
        name: Breakpoints(frozenset(g.interrupt_before), frozenset(g.interrupt_after))
        for name, g in config.graphs.items()
        if g.interrupt_before or g.interrupt_after
    }


class CheckpointReader:
    """Reads paused threads; use from one thread at a time (the console's worker)."""

    def __init__(
        self,
        path: Path,
        config: Config | None = None,
        *,
        breakpoints: Mapping[str, Breakpoints] | None = None,
        split: bool | None = None,
    ) -> None:
        """`split`: share a cold read with a second process (None: when the DB is big and there are 2+ CPUs)."""
        self.path = path
        self.config = config or Config()
        self.breakpoints = dict(breakpoints) if breakpoints is not None else breakpoints_from_config(self.config)
        self.split = split
        self._conn = connect(path, readonly=True)
        self._threads = OrderedThreads()
        self._tracker = ChangeTracker(self._conn)
        self._progress: Callable[[Sequence[PendingThread]], None] | None = None
        self._keep = True  # False while streaming: batches go to `_progress` only
        self._skip: frozenset[str] = frozenset()  # threads a split read's child already handed over

    def close(self) -> None:
        self._conn.close()

    # -- public reads -------------------------------------------------------------------------------------------

    def read_all(self, progress: Callable[[Sequence[PendingThread]], None] | None = None) -> ReadResult:
        """Classify every thread in the DB (the cold path); `progress` gets each batch as soon as it is classified,
        so a console can paint the first rows long before a large DB has been read to the end."""
        with no_gc():
            with self._snapshot():
                self._tracker.reset()
                self._progress = progress
                try:
                    threads = self._read(None)
                finally:
                    self._progress = None
            before = self._threads
            self._threads = OrderedThreads(threads)
            if before:
                changed = {tid for tid, t in self._threads.items() if before.get(tid) != t}
                changed |= set(before) - set(self._threads)
            else:  # the first read: everything is news (44k equality checks against nothing otherwise)
                changed = set(self._threads)
            return ReadResult(self._threads.as_tuple(), frozenset(changed), full=True)

    def stream(
        self, sink: Callable[[Sequence[PendingThread]], None], *, ranges: Iterable[Chunk] | None = None
    ) -> None:
        """Classify every thread (or those in each `(from_, below)` range of `ranges`, one range after another, all
        in one snapshot) and hand each batch to `sink` as soon as it is classified, keeping none: memory stays flat
        however big the DB. Batches come in read order, not sorted; the listing is left untouched. An exception
        from `sink` stops the read."""
        with no_gc(), self._snapshot():
            self._progress, self._keep = sink, False
            try:
                if ranges is None:
                    self._read(None)
                else:
                    for from_, below in ranges:
                        self._scan(self._range_cursor(from_, below))
            finally:
                self._progress, self._keep = None, True

    def poll(self) -> ReadResult | None:
        """Re-check cheaply; None when nothing listed changed since the last read."""
        if not self._tracker.started:
            return self.read_all()
        try:
            if not self._tracker.moved():
                return None
            full = False
            with self._snapshot():
                changed = self._tracker.changed_threads(self._threads)
                if changed is None:  # the newest rows were deleted under our watermarks: read everything again
                    self._tracker.reset()
                    fresh = {t.thread_id: t for t in self._read(None)}
                    changed, full = set(fresh) | set(self._threads), True
                else:
                    fresh = {t.thread_id: t for t in self._read(changed)} if changed else {}
        except sqlite3.Error as err:
            raise explain_sqlite_error(self.path, err) from None
        really_changed = self._threads.update(changed, fresh)
        if not really_changed:
            return None
        updated = tuple(t for tid in really_changed if (t := fresh.get(tid)) is not None)
        return ReadResult(self._threads.as_tuple(), frozenset(really_changed), full=full, updated=updated)

    def thread(self, thread_id: str) -> PendingThread | None:
        """A fresh read of one thread (None when it finished or does not exist)."""
        with self._snapshot():
            found = self._read({thread_id})
        return found[0] if found else None

    def marks(self, thread_id: str) -> tuple[str | None, tuple[int, int, int]]:
        """The thread's latest root checkpoint and row marks now (see `thread_version`)."""
        try:
            return thread_version(self._conn, thread_id)
        except sqlite3.Error as err:
            raise explain_sqlite_error(self.path, err) from None

    def saved_since(self, thread_id: str, marks: tuple[str | None, tuple[int, int, int]]) -> bool:
        """True when the agent saved anything for this thread after `marks` were taken: a checkpoint in any
        namespace, or a write other than a failed task's error record. (LangGraph stores that record when a
        task raises, and the next run of the task replaces it; an answer it saved as `__resume__` would instead be
        replayed to every later resume, so that thread is not answerable again.)"""
        _, (newest_checkpoint, _, newest_write) = marks
        try:
            return self._conn.execute(
                "SELECT EXISTS (SELECT 1 FROM checkpoints WHERE thread_id = ?1 AND rowid > ?2) "
                "OR EXISTS (SELECT 1 FROM writes WHERE thread_id = ?1 AND rowid > ?3 AND channel != '__error__')",
                (thread_id, newest_checkpoint, newest_write),
            ).fetchone()[0] == 1
        except sqlite3.Error as err:
            raise explain_sqlite_error(self.path, err) from None

    def context(self, thread_id: str, checkpoint_id: str, graph_id: str | None) -> tuple[Any, ...] | None:
        """The last few messages in a thread's state at one of its root checkpoints, as the details pane shows
        them; None when that checkpoint is not there (or does not decode). Listings leave them out: an operator
        reads the context of one thread at a time, and 40k threads' chat histories would be most of a listing's
        memory."""
        try:
            checkpoint = _checkpoint_at(self._conn, thread_id, "", checkpoint_id)
        except sqlite3.Error as err:
            raise explain_sqlite_error(self.path, err) from None
        if checkpoint is None:
            return None
        return thread_context(checkpoint, self.config.graphs.get(graph_id) if graph_id else None)

    def run_metadata(self, thread_id: str) -> dict[str, Any]:
        """The metadata of a thread's latest root checkpoint ({} when there is none or it doesn't decode)."""
        try:
            row = self._conn.execute(
                "SELECT metadata FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' "
                "ORDER BY checkpoint_id DESC LIMIT 1", (thread_id,),
            ).fetchone()
        except sqlite3.Error as err:
            raise explain_sqlite_error(self.path, err) from None
        try:
            return decode_metadata(row[0]) if row else {}
        except DecodeError:
            return {}

    @property
    def threads(self) -> tuple[PendingThread, ...]:
        return self._threads.as_tuple()

    # -- internals ----------------------------------------------------------------------------------------------

    def _snapshot(self) -> _ReadTransaction:
        return _ReadTransaction(self._conn, self.path)

    def _own_snapshot(self) -> contextlib.AbstractContextManager[None]:
        """A snapshot of its own, unless the caller's read already holds one (then it is part of that)."""
        return contextlib.nullcontext() if self._conn.in_transaction else self._snapshot()

    def _read(self, thread_ids: Iterable[str] | None) -> list[PendingThread]:
        if thread_ids is None:
            split = split_read(self, self._conn) if self._should_split() else None
            return split if split is not None else self._scan(self._range_cursor(None, None))
        ids = sorted(thread_ids)
        if len(ids) == 1:  # a decision's check of one thread: a plain lookup instead of an IN list
            return self._scan(self._conn.execute(_BLOB_ONE, ids))
        return self._scan(self._conn.execute(_BLOBS.format(latest=_LATEST_SOME), (json.dumps(ids),)))

    def read_range(
        self, *, from_: str | None = None, below: str | None = None, skip: frozenset[str] = frozenset()
    ) -> list[PendingThread]:
        """The unfinished threads with `from_ <= thread_id < below` (None: that end open), but those in `skip`
        (part of a split cold read)."""
        with self._own_snapshot():
            self._skip = skip
            try:
                return self._scan(self._range_cursor(from_, below))
            finally:
                self._skip = frozenset()

    def deliver(self, out: list[PendingThread], batch: list[PendingThread]) -> None:
        """Add threads classified elsewhere (a split read's child) to a read, as if classified here."""
        self._found(out, batch)

    def read_threads(self, thread_ids: Iterable[str]) -> list[PendingThread]:
        """The unfinished ones among these threads (in the current snapshot when called inside a read)."""
        with self._own_snapshot():
            return self._read(list(thread_ids))

    def _range_cursor(self, from_: str | None, below: str | None) -> sqlite3.Cursor:
        if from_ is None and below is None:
            return self._conn.execute(_BLOBS.format(latest=_LATEST_ALL))
        if from_ is None:
            return self._conn.execute(_BLOBS.format(latest=_LATEST_BELOW), (below,))
        if below is None:
            return self._conn.execute(_BLOBS.format(latest=_LATEST_FROM), (from_,))
        return self._conn.execute(_BLOBS.format(latest=_LATEST_BETWEEN), (from_, below))

    def _should_split(self) -> bool:
        if self.split is not None:
            return self.split
        if (os.cpu_count() or 1) < 2:
            return False
        rows = self._conn.execute("SELECT MAX(rowid) FROM checkpoints").fetchone()[0] or 0
        return rows >= SPLIT_MIN_CHECKPOINTS

    def _scan(self, cur: sqlite3.Cursor) -> list[PendingThread]:
        out: list[PendingThread] = []
        batch: list[CheckpointRow] = []
        maybe = msgpack_may_have_tasks
        size = _FIRST_FETCH  # a small first batch, classified at once: a console paints its first rows from it
        while rows := cur.fetchmany(size):
            first, size = size == _FIRST_FETCH, _FETCH
            # Finished threads (most of them) are recognised from the bytes and never decoded.
            batch += [CheckpointRow(tid, cid, parent, typ, blob, meta)
                      for _, tid, cid, parent, typ, meta, blob in rows if not blob or maybe(blob)]
            if len(batch) >= _BATCH or first:
                self._found(out, self._classify(batch))
                batch = []
        self._found(out, self._classify(batch))
        return out

    def _found(self, out: list[PendingThread], batch: list[PendingThread]) -> None:
        if self._skip:
            batch = [t for t in batch if t.thread_id not in self._skip]
        if self._keep:
            out.extend(batch)
        if self._progress is not None and batch:
            self._progress(batch)

    def _classify(self, rows: list[CheckpointRow]) -> list[PendingThread]:
        """Their writes, and the verdict, for threads that may have something left to run."""
        if not rows:
            return []
        for row in rows:
            if row.type != "msgpack":  # the first pass only kept msgpack blobs
                row.checkpoint = self._conn.execute(
                    "SELECT checkpoint FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' "
                    "AND checkpoint_id = ?", (row.thread_id, row.checkpoint_id),
                ).fetchone()[0]
        by_thread = {r.thread_id: r for r in rows}
        pairs = json.dumps([[r.thread_id, r.checkpoint_id] for r in rows])
        for tid, task_id, path, idx, channel, typ, value in self._conn.execute(_WRITES_AT, (pairs,)):
            by_thread[tid].writes.append(WriteRow(task_id, path, idx, channel, typ, value))
        assert self._conn.in_transaction, "classify inside a snapshot: the marks must vouch for these very rows"
        marks = {  # in the same snapshot as the rows they vouch for
            tid: (c or 0, n or 0, w or 0)
            for tid, c, n, w in self._conn.execute(_MARKS_SOME, (json.dumps(list(by_thread)),))
        }
        out = []
        for row in rows:
            thread = build_thread(
                row, self.config.graphs, self.breakpoints, ran_last_step=self._ran_last_step,
                locate=_subgraph_lookup(self._conn, row.thread_id), version=marks.get(row.thread_id),
            )
            if thread is not None:
                out.append(thread)
        return out

    def _ran_last_step(self, row: CheckpointRow) -> list[str]:
        """Nodes whose tasks ran in the step that produced this checkpoint (see task_sites)."""
        conn, tid = self._conn, row.thread_id

        def writes_at(ns: str, checkpoint_id: str) -> Iterable[tuple[str, str]]:
            return conn.execute(
                "SELECT task_id, task_path FROM writes WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?",
                (tid, ns, checkpoint_id),
            )

        return nodes_ran_last_step(row, writes_at, functools.partial(_checkpoint_at, conn, tid))


def thread_version(conn: sqlite3.Connection, thread_id: str) -> tuple[str | None, tuple[int, int, int]]:
    """A thread's latest root checkpoint id and its row marks now, as PendingThread.version holds them."""
    latest, c, n, w = conn.execute(_MARKS_ONE, (thread_id,)).fetchone()
    return latest, (c or 0, n or 0, w or 0)


def _checkpoint_at(conn: sqlite3.Connection, thread_id: str, ns: str, checkpoint_id: str) -> Mapping[str, Any] | None:
    found = conn.execute(
        "SELECT type, checkpoint FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?",
        (thread_id, ns, checkpoint_id),
    ).fetchone()
    if found is None:
        return None
    try:
        value = decode_typed(found[0], found[1])
    except DecodeError:
        return None
    return value if isinstance(value, Mapping) else None


def _subgraph_lookup(conn: sqlite3.Connection, thread_id: str) -> SubgraphSearch:
    """Finds where inside a subgraph an interrupt copied to the root was really raised (see task_sites)."""

    def interrupt_rows(parent_ns: str) -> list[tuple[str, str, str, str | None, bytes | None]]:
        return conn.execute(
            "SELECT checkpoint_ns, checkpoint_id, task_path, type, value FROM writes WHERE thread_id = ? "
            "AND checkpoint_ns >= ? AND checkpoint_ns < ? AND channel = '__interrupt__' "
            "ORDER BY length(checkpoint_ns) DESC, checkpoint_id DESC",
            (thread_id, parent_ns, parent_ns + "\U0010ffff"),
        ).fetchall()

    return SubgraphSearch(interrupt_rows, functools.partial(_checkpoint_at, conn, thread_id))


class _ReadTransaction:
    """One consistent snapshot for a whole read (WAL readers never block writers)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn, self._path = conn, path

    def __enter__(self) -> None:
        try:
            self._conn.execute("BEGIN")
        except sqlite3.Error as err:
            raise explain_sqlite_error(self._path, err) from None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise explain_sqlite_error(self._path, exc) from None
