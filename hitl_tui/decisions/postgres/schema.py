"""hitl-tui's own tables in the agents' Postgres database (all prefixed `hitl_`, like the SQLite ledger's).

LangGraph's tables are never touched: no trigger, no column, no index on them. Our tables carry the same columns
as the SQLite ledger (text timestamps, so one row codec serves both), plus what several hosts need: a claim's
lease (`lease_until`, on the database's clock, which every host shares), one row per thread to lock
(`hitl_thread_locks`), the audit chain's head (`hitl_chain_head`) and each host's file copy's watermark.
"""

from __future__ import annotations

import psycopg

# Tables are created under one advisory lock: CREATE TABLE IF NOT EXISTS from two sessions at once can still
# fail on the catalog's unique index (pg_type), and every process creates them at start.
SCHEMA_LOCK = 0x68_69_74_6C  # "hitl"

SCHEMA = """
CREATE TABLE IF NOT EXISTS hitl_decisions (
    seq              BIGSERIAL UNIQUE,       -- commit order of decisions (SQLite's rowid)
    decision_id      TEXT PRIMARY KEY,
    batch_id         TEXT NOT NULL,
    thread_id        TEXT NOT NULL,
    checkpoint_id    TEXT NOT NULL,
    interrupt_key    TEXT NOT NULL,
    interrupt_id     TEXT,
    graph_id         TEXT,
    shape            TEXT NOT NULL,
    node             TEXT,
    action           TEXT,
    payload_hash     TEXT NOT NULL,
    decisions        TEXT NOT NULL,
    plan             TEXT NOT NULL,
    operator         TEXT NOT NULL,
    operator_uid     BIGINT,
    actor_kind       TEXT NOT NULL DEFAULT 'human',
    decided_at       TEXT NOT NULL,
    state            TEXT NOT NULL,
    phase            TEXT,
    claimed_by       TEXT,
    claimed_at       TEXT,
    lease_until      TIMESTAMPTZ,            -- a claim not renewed by then is a dead host's: others may settle it
    finished_at      TEXT,
    error            TEXT,
    approvals        INTEGER NOT NULL DEFAULT 1,
    approvals_needed INTEGER NOT NULL DEFAULT 1,
    attempt          INTEGER NOT NULL DEFAULT 0,
    reopened         INTEGER NOT NULL DEFAULT 0,
    UNIQUE (thread_id, checkpoint_id, interrupt_key, attempt)
);
CREATE INDEX IF NOT EXISTS hitl_decisions_open ON hitl_decisions(state, seq) WHERE state IN ('decided', 'resuming');
CREATE INDEX IF NOT EXISTS hitl_decisions_thread ON hitl_decisions(thread_id, checkpoint_id);
CREATE INDEX IF NOT EXISTS hitl_decisions_batch ON hitl_decisions(batch_id);

-- One row per thread anyone decided on: deciding and claiming lock it (SELECT ... FOR UPDATE), so one thread's
-- compare-and-set and claims run one at a time on every host, while other threads' go on in parallel.
CREATE TABLE IF NOT EXISTS hitl_thread_locks (
    thread_id TEXT PRIMARY KEY
);

CREATE TABLE IF NOT EXISTS hitl_votes (
    thread_id     TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    interrupt_key TEXT NOT NULL,
    operator_uid  BIGINT NOT NULL,
    operator      TEXT NOT NULL,
    payload_hash  TEXT NOT NULL,
    args_hash     TEXT NOT NULL,
    decisions     TEXT NOT NULL,
    voted_at      TEXT NOT NULL,
    PRIMARY KEY (thread_id, checkpoint_id, interrupt_key, operator_uid)
);

-- The audit events of every host, one hash chain in commit order (seq has no gaps: the chain head hands it out).
CREATE TABLE IF NOT EXISTS hitl_events (
    seq       BIGINT PRIMARY KEY,
    event_id  TEXT NOT NULL UNIQUE,
    record    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS hitl_chain_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO hitl_chain_head VALUES (1, 0, repeat('0', 64)) ON CONFLICT (id) DO NOTHING;

-- How far each decisions.jsonl copy (one per host and path) has been written.
CREATE TABLE IF NOT EXISTS hitl_audit_copies (
    copy TEXT PRIMARY KEY,
    seq  BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS hitl_acks (
    decision_id TEXT PRIMARY KEY,
    operator    TEXT NOT NULL,
    acked_at    TEXT NOT NULL,
    note        TEXT
);
"""


def create_tables(conn: psycopg.Connection) -> None:
    """Create our tables if missing (an autocommit connection; safe when many processes start at once)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        if conn.execute("SELECT to_regclass('hitl_audit_copies') IS NOT NULL").fetchone()[0]:  # type: ignore[index]
            return
        conn.execute(SCHEMA)  # type: ignore[arg-type]
