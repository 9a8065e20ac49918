"""One audit hash chain for every host writing to one Postgres database.

Events are appended at the end of the transaction that made them, after locking the chain's head row
(`SELECT ... FOR UPDATE`): appends from all hosts queue on that one row, so sequence numbers follow commit order
and have no gaps, and each event's `prev_hash` is the hash of the one committed before it. The lock is held only
for the transaction's last statements. Each link: hash = sha256(prev_hash, seq, event_id, record).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import psycopg

GENESIS = "0" * 64


def link_hash(prev_hash: str, seq: int, event_id: str, record: str) -> str:
    """The hash of one link: what the previous link was, where this one stands, and what it says."""
    return hashlib.sha256(f"{prev_hash}\n{seq}\n{event_id}\n{record}".encode()).hexdigest()


def append_events(conn: psycopg.Connection, events: Sequence[tuple[str, str]]) -> None:
    """Chain (event_id, canonical JSON record) pairs onto the head, inside the caller's transaction."""
    if not events:
        return
    head = conn.execute("SELECT seq, hash FROM hitl_chain_head WHERE id = 1 FOR UPDATE").fetchone()
    assert head is not None, "hitl_chain_head has no row"
    seq, prev = int(head[0]), str(head[1])
    rows = []
    for event_id, record in events:
        seq += 1
        digest = link_hash(prev, seq, event_id, record)
        rows.append((seq, event_id, record, prev, digest))
        prev = digest
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO hitl_events (seq, event_id, record, prev_hash, hash) VALUES (%s, %s, %s, %s, %s)", rows
        )
    conn.execute("UPDATE hitl_chain_head SET seq = %s, hash = %s WHERE id = 1", (seq, prev))


@dataclass(frozen=True)
class ChainReport:
    """What verifying the database's chain found."""

    ok: bool
    events: int
    reason: str | None = None
    bad_seq: int | None = None


def verify_chain(conn: psycopg.Connection) -> ChainReport:
    """Recompute every link from the first; the first one that doesn't hold is named."""
    prev, expected, count = GENESIS, 1, 0
    for seq, event_id, record, prev_hash, digest in _rows(conn):
        if seq != expected:
            return ChainReport(False, count, f"event {expected} is missing (the next one is {seq})", expected)
        if prev_hash != prev:
            return ChainReport(False, count, f"event {seq} does not follow event {seq - 1}", seq)
        if link_hash(prev, seq, event_id, record) != digest:
            return ChainReport(False, count, f"event {seq} was altered (its hash does not match)", seq)
        prev, expected, count = digest, expected + 1, count + 1
    head = conn.execute("SELECT seq, hash FROM hitl_chain_head WHERE id = 1").fetchone()
    if head is not None and (int(head[0]), str(head[1])) != (count, prev):
        return ChainReport(False, count, f"the chain ends at event {count} but its head says {head[0]} (truncated)",
                           count + 1)
    return ChainReport(True, count)


def _rows(conn: psycopg.Connection) -> Iterator[tuple[int, str, str, str, str]]:
    """All events in order, a batch at a time (a server-side cursor: the whole chain never sits in memory)."""
    with conn.transaction(), conn.cursor(name="hitl_chain") as cur:
        cur.execute("SELECT seq, event_id, record, prev_hash, hash FROM hitl_events ORDER BY seq")
        while batch := cur.fetchmany(2000):
            yield from batch
