"""The audit outbox: events written into the shared DB in the same commit as what they record (`hitl_events`),
then copied to the JSON-lines log in commit order, exactly once. The ledger writes through it; `audit verify`
counts what is still waiting in it."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

from hitl_tui.canonical import canonical_json
from hitl_tui.db import connect
from hitl_tui.errors import HitlError


class OutboxDB(Protocol):
    """What the outbox needs of the ledger's connection owner."""

    @property
    def connection(self) -> sqlite3.Connection: ...

    def transaction(self, *, durable: bool = True) -> AbstractContextManager[sqlite3.Connection]: ...

    def sync(self) -> None: ...


def add_event(conn: sqlite3.Connection, record: dict[str, Any], *, event_id: str | None = None) -> None:
    """Put an audit event into the outbox, inside the caller's transaction."""
    conn.execute(
        "INSERT INTO hitl_events (event_id, record) VALUES (?, ?)",
        (event_id or uuid.uuid4().hex, canonical_json(record)),
    )


def flush_outbox(db: OutboxDB, audit: Any) -> int:
    """Copy events not yet in the audit log into it, in commit order; returns how many were appended."""
    # One flusher at a time, reading the backlog only once it holds the lock: without it every process
    # re-appends (re-checks) every other process's events, and a list read before someone else's flush can
    # land an event a second time in a log rotated in between.
    path = getattr(audit, "path", None)
    with _flush_lock(Path(f"{path}.flush") if path is not None else None):
        rows = db.connection.execute(
            "SELECT seq, event_id, record FROM hitl_events WHERE flushed = 0 ORDER BY seq"
        ).fetchall()
        if rows:
            db.sync()  # an event from a relaxed commit must be durable in the DB before the log has it
        done = []
        try:
            if rows and hasattr(audit, "append_many"):  # the whole backlog under one lock, write and fsync
                audit.append_many([(json.loads(record), event_id) for _, event_id, record in rows])
                done = [seq for seq, _, _ in rows]
            for seq, event_id, record in rows[len(done):]:
                audit.append(json.loads(record), event_id=event_id)  # idempotent per event id
                done.append(seq)
        finally:
            if done:
                _mark_flushed(db, done)
    return len(done)


def _mark_flushed(db: OutboxDB, seqs: list[int]) -> None:
    """Note events as copied. Not fsynced: a lost mark only makes the next flush find them logged already
    (appends are idempotent per event id), and the next durable commit carries the mark to disk anyway."""
    with db.transaction(durable=False) as conn:
        conn.execute(
            "UPDATE hitl_events SET flushed = 1 WHERE seq IN (SELECT value FROM json_each(?))",
            (json.dumps(seqs),),
        )


@contextmanager
def _flush_lock(path: Path | None) -> Iterator[None]:
    """An exclusive flock on a sidecar of the audit log (not the log's own lock: append takes that one)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666) if path is not None else None
    except OSError:
        fd = None  # no folder yet or read-only: the append itself will say what is wrong
    try:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if fd is not None:
            os.close(fd)  # releases the flock


def unflushed_events(db: Path) -> int | None:
    """How many audit events the DB holds that were not copied to the log yet (None: no ledger, or unreadable).
    Read through SQLite only, read-only."""
    try:
        conn = connect(db, readonly=True)
    except HitlError:
        return None
    try:
        return int(conn.execute("SELECT COUNT(*) FROM hitl_events WHERE flushed = 0").fetchone()[0])
    except sqlite3.Error:
        return None
    finally:
        conn.close()
