"""Tables hitl-tui keeps in the shared checkpoint DB, next to LangGraph's own (all prefixed `hitl_`)."""

from __future__ import annotations

import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS hitl_decisions (
    decision_id      TEXT PRIMARY KEY,
    batch_id         TEXT NOT NULL,          -- decisions on several interrupts of one thread, resumed together
    thread_id        TEXT NOT NULL,
    checkpoint_id    TEXT NOT NULL,          -- the checkpoint the operator saw
    interrupt_key    TEXT NOT NULL,          -- interrupt id, or breakpoint:NODE
    interrupt_id     TEXT,
    graph_id         TEXT,
    shape            TEXT NOT NULL,
    node             TEXT,
    action           TEXT,
    payload_hash     TEXT NOT NULL,          -- hash of the payload the operator saw
    decisions        TEXT NOT NULL,          -- JSON list of {kind, action_index, args, text}
    plan             TEXT NOT NULL,          -- JSON ResumePlan
    operator         TEXT NOT NULL,
    operator_uid     INTEGER,
    actor_kind       TEXT NOT NULL DEFAULT 'human',
    decided_at       TEXT NOT NULL,
    state            TEXT NOT NULL,
    phase            TEXT,                   -- while resuming: claimed -> updated -> invoking
    claimed_by       TEXT,
    claimed_at       TEXT,
    finished_at      TEXT,
    error            TEXT,
    approvals        INTEGER NOT NULL DEFAULT 1,
    approvals_needed INTEGER NOT NULL DEFAULT 1,
    attempt          INTEGER NOT NULL DEFAULT 0, -- earlier decisions on this interrupt whose resume failed unsaved
    reopened         INTEGER NOT NULL DEFAULT 0, -- 1: failed with nothing saved; the interrupt takes a new decision
    UNIQUE (thread_id, checkpoint_id, interrupt_key, attempt)
);
CREATE INDEX IF NOT EXISTS hitl_decisions_open ON hitl_decisions(state) WHERE state IN ('decided', 'resuming');
CREATE INDEX IF NOT EXISTS hitl_decisions_thread ON hitl_decisions(thread_id, checkpoint_id);

-- Four-eyes: approvals gathered from distinct operators before a decision is made.
CREATE TABLE IF NOT EXISTS hitl_votes (
    thread_id     TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    interrupt_key TEXT NOT NULL,
    operator_uid  INTEGER NOT NULL,
    operator      TEXT NOT NULL,
    payload_hash  TEXT NOT NULL,
    args_hash     TEXT NOT NULL,             -- the arguments approved; an edit starts a new round
    decisions     TEXT NOT NULL,
    voted_at      TEXT NOT NULL,
    PRIMARY KEY (thread_id, checkpoint_id, interrupt_key, operator_uid)
);

-- Audit events, written in the same transaction as the change they describe, then copied to the
-- hash-chained JSON-lines log in this order. A crash between commit and append loses nothing.
CREATE TABLE IF NOT EXISTS hitl_events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    record   TEXT NOT NULL,
    flushed  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS hitl_events_unflushed ON hitl_events(seq) WHERE flushed = 0;

-- A person's word that an in-doubt resume was checked; until then the thread takes no new decision.
CREATE TABLE IF NOT EXISTS hitl_acks (
    decision_id TEXT PRIMARY KEY,
    operator    TEXT NOT NULL,
    acked_at    TEXT NOT NULL,
    note        TEXT
);

-- One row that a durable commit bumps to make every earlier relaxed commit durable too (ledger.sync): with
-- synchronous=FULL, SQLite fsyncs the WAL at commit, which covers all frames before it. Doing it through SQLite
-- means we never open the WAL file ourselves (closing it would drop this process's POSIX locks).
CREATE TABLE IF NOT EXISTS hitl_sync (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    syncs INTEGER NOT NULL
);
"""


# Ledgers made before `attempt`/`reopened` have UNIQUE (thread, checkpoint, interrupt_key), which would forbid
# deciding a reopened interrupt again. SQLite can't alter a constraint, so the table is rebuilt once, in one
# write transaction (other connections re-prepare their statements when they see the new schema).
_MIGRATE_DECISIONS = SCHEMA.split("CREATE INDEX IF NOT EXISTS hitl_decisions_open")[0].replace(
    "CREATE TABLE IF NOT EXISTS hitl_decisions (", "CREATE TABLE hitl_decisions_new ("
) + """
INSERT INTO hitl_decisions_new SELECT *, 0, 0 FROM hitl_decisions;
DROP TABLE hitl_decisions;
ALTER TABLE hitl_decisions_new RENAME TO hitl_decisions;
CREATE INDEX IF NOT EXISTS hitl_decisions_open ON hitl_decisions(state) WHERE state IN ('decided', 'resuming');
CREATE INDEX IF NOT EXISTS hitl_decisions_thread ON hitl_decisions(thread_id, checkpoint_id);
"""


def needs_migration(conn: sqlite3.Connection) -> bool:
    cols = {row[0] for row in conn.execute("SELECT name FROM pragma_table_info('hitl_decisions')")}
    return bool(cols) and "attempt" not in cols


def migrate(conn: sqlite3.Connection) -> None:
    """Bring an older ledger up to SCHEMA, inside the caller's write transaction (a no-op when current)."""
    if needs_migration(conn):
        for statement in _MIGRATE_DECISIONS.split(";"):
            if statement.strip():
                conn.execute(statement)
