"""Tables hitl-tui keeps in the shared checkpoint DB, next to LangGraph's own (all prefixed `hitl_`)."""

from __future__ import annotations

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
    UNIQUE (thread_id, checkpoint_id, interrupt_key)
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
"""
