"""`PostgresLedger`: the decision ledger in the agents' Postgres database, for consoles and workers on many hosts.

The same public API and the same compare-and-set rules as the SQLite `DecisionLedger` (ledger.py): a decision
wins only if, under its thread's lock, nobody decided that interrupt first, no earlier resume of the thread is in
doubt, and a fresh read of LangGraph's tables still shows the checkpoint and payload the operator saw. Why row
locks rather than SERIALIZABLE: see decisions/postgres/ledger_db.py.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from hitl_tui.checkpoints.postgres.thread_reader import PostgresThreadReader
from hitl_tui.config import Config
from hitl_tui.decisions.decision import Decision, DecisionRecord, DecisionState
from hitl_tui.decisions.ledger import DecisionLedger
from hitl_tui.decisions.postgres.claims import PostgresClaims
from hitl_tui.decisions.postgres.ledger_db import Clock
from hitl_tui.decisions.resume_values import ResumePlan, plan_resume
from hitl_tui.decisions.rows import COLUMNS as _COLUMNS
from hitl_tui.decisions.rows import (
    LedgerRow,
    Submission,
    acknowledged_event,
    already_acknowledged,
    args_hash,
    decision_event,
    decisions_json,
    in_doubt_row,
    new_row,
    refuse_if_decided_or_in_doubt,
    refuse_unless_current,
)
from hitl_tui.decisions.rows import row_from as _row
from hitl_tui.decisions.rows import row_values as _values
from hitl_tui.decisions.submitting import SubmitsOne
from hitl_tui.decisions.votes import Vote, check_voter, opening_edit, starts_new_round
from hitl_tui.errors import DecisionRefused
from hitl_tui.identity import Operator
from hitl_tui.model import DecisionKind, PendingInterrupt, PendingThread

_PLACEHOLDERS = ", ".join(["%s"] * len(_COLUMNS.split(",")))
Planned = list[tuple[str, PendingInterrupt, tuple[Decision, ...], ResumePlan]]


class PostgresLedger(PostgresClaims, SubmitsOne):
    """Compare-and-set decisions, four-eyes votes, claims and the audit chain on Postgres."""

    # Helpers shared with the SQLite ledger: they touch no connection, only the config.
    def _plan(self, submission: Submission, operator: Operator) -> Planned:
        return DecisionLedger._plan(self, submission, operator)  # type: ignore[arg-type]

    def _base_event(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return decision_event(*args, **kwargs)

    def __init__(self, dsn: str, config: Config, *, clock: Clock | None = None, claimant: str | None = None,
                 create: bool = True) -> None:
        super().__init__(dsn, config, clock=clock, claimant=claimant, create=create)
        self._reader = PostgresThreadReader(dsn, config)

    def close(self) -> None:
        self._reader.close()
        super().close()

    # -- deciding -----------------------------------------------------------------------------------------------

    def submit_many(
        self, submissions: Sequence[Submission], operator: Operator, *, event: str = "decision",
        extra: dict[str, Any] | None = None,
    ) -> list[list[LedgerRow] | list[Vote] | DecisionRefused]:
        """See DecisionLedger.submit_many: one transaction, each submission under its own savepoint."""
        planned = [self._plan(s, operator) for s in submissions]
        now = self.now()
        outcomes: list[list[LedgerRow] | list[Vote] | DecisionRefused] = []
        claimed = False
        with self.transaction() as conn:
            self.lock_threads(conn, [s.thread.thread_id for s in submissions])
            for submission, plans in zip(submissions, planned, strict=True):
                try:
                    with self.savepoint(conn):
                        outcome = self._submit_in(conn, submission, plans, operator, now, event, extra)
                except DecisionRefused as refusal:
                    interrupt, decisions = submission.items[0]
                    self.event({
                        **self._base_event("refused", submission.thread, interrupt, decisions, operator, now,
                                           risk=submission.risk),
                        "error": refusal.message,
                    })
                    outcomes.append(refusal)
                    continue
                claimed = claimed or any(isinstance(r, LedgerRow) and r.claimed_by for r in outcome)
                outcomes.append(outcome)
        if claimed:
            self.keep_leases()
        return outcomes

    def _submit_in(
        self, conn: psycopg.Connection, submission: Submission, planned: Planned, operator: Operator,
        now: datetime, event: str, extra: dict[str, Any] | None,
    ) -> list[LedgerRow] | list[Vote]:
        """One submission's compare-and-set, inside the caller's transaction (which holds the thread's lock)."""
        thread, approvals_needed, claimant = submission.thread, submission.approvals_needed, submission.claimant
        for _, interrupt, _, _ in planned:
            self._check_current(conn, thread, interrupt)
        approvals = 1
        if approvals_needed > 1:
            decision_id, interrupt, decisions, plan = planned[0]
            if {d.kind for d in decisions} <= {DecisionKind.APPROVE, DecisionKind.EDIT}:
                initiator = submission.initiator_uid
                if operator.is_human and initiator is not None and operator.uid == initiator:
                    raise DecisionRefused(
                        f"{operator.user} started this thread and may not approve it; another operator must."
                    )
                votes = self._vote(conn, thread, interrupt, decisions, operator, now)
                if len(votes) < approvals_needed:
                    self.event({
                        **self._base_event("approval", thread, interrupt, decisions, operator, now,
                                           risk=submission.risk),
                        "approvals": len(votes), "approvals_needed": approvals_needed, **(extra or {}),
                    })
                    return votes
                approvals = len(votes)
                decisions = self._round_decisions(conn, thread, interrupt) or decisions
                plan = plan_resume(interrupt, decisions, graph=self.config.graph(thread.graph_id),
                                   decision_id=decision_id, operator=operator.display)
                planned = [(decision_id, interrupt, decisions, plan)]
        busy = conn.execute("SELECT 1 FROM hitl_decisions WHERE thread_id = %s AND state = 'resuming' LIMIT 1",
                            (thread.thread_id,)).fetchone()
        claim = (None, None, None) if claimant is None or busy else ("claimed", claimant, now.isoformat())
        state = DecisionState.DECIDED if claim[0] is None else DecisionState.RESUMING
        batch_id = uuid.uuid4().hex
        rows = []
        for decision_id, interrupt, decisions, plan in planned:
            row, decisions_text, plan_text = new_row(
                decision_id, batch_id, thread, interrupt, decisions, plan, operator, now, state, claim,
                approvals=approvals, approvals_needed=approvals_needed,
            )
            conn.execute(
                f"INSERT INTO hitl_decisions ({_COLUMNS}, attempt, lease_until) VALUES ({_PLACEHOLDERS}, "
                "(SELECT count(*) FROM hitl_decisions WHERE thread_id = %s AND checkpoint_id = %s "
                "AND interrupt_key = %s), CASE WHEN %s THEN now() + make_interval(secs => %s) END)",
                (*_values(row, decisions_text, plan_text), row.thread_id, row.checkpoint_id, row.interrupt_key,
                 claim[0] is not None, self.lease),
            )
            rows.append(row)
            self.event({
                **self._base_event(event, thread, interrupt, decisions, operator, now, risk=submission.risk),
                "decision_id": decision_id, "approvals": approvals, "approvals_needed": approvals_needed,
                **(extra or {}),
            }, event_id=f"{decision_id}:decided")
        return rows

    def _check_current(self, conn: psycopg.Connection, thread: PendingThread, interrupt: PendingInterrupt) -> None:
        """The compare part of compare-and-set; the thread's lock is held, so no rival decides it meanwhile."""
        refuse_if_decided_or_in_doubt(
            lambda sql, params: conn.execute(sql.replace("?", "%s"), params).fetchone(), thread, interrupt
        )
        # LangGraph's tables are read fresh (another session, committed data): agents write them outside our
        # locks, but an agent moves a paused thread on only when resumed, and resumes go through claims.
        if self._unchanged_since_read(thread, interrupt):
            return
        refuse_unless_current(self._reader.thread(thread.thread_id), thread, interrupt)

    def _unchanged_since_read(self, thread: PendingThread, interrupt: PendingInterrupt) -> bool:
        """True when nothing of the thread was written since the operator's view was read (its row marks: counts
        and the sum of row versions, so an added, changed or removed row moves them) and the interrupt is one of
        that view's: the view is then what a fresh read would show, at the cost of one query instead of ~ten."""
        if thread.version is None or not any(
            i.key == interrupt.key and i.payload_hash == interrupt.payload_hash for i in thread.interrupts
        ):
            return False
        store = self._reader.store
        with store.snapshot():
            latest = store.connection.execute(
                "SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = ''",
                (thread.thread_id,)).fetchone()
            marks = store.marks([thread.thread_id]).get(thread.thread_id)
        return latest is not None and latest[0] == thread.checkpoint_id and marks == thread.version

    def _vote(
        self, conn: psycopg.Connection, thread: PendingThread, interrupt: PendingInterrupt,
        decisions: Sequence[Decision], operator: Operator, now: datetime,
    ) -> list[Vote]:
        """See DecisionLedger._vote: a quorum forms only over votes for the same arguments."""
        key = (thread.thread_id, thread.checkpoint_id, interrupt.key)
        check_voter(operator)
        mine = args_hash(decisions)
        where = "thread_id = %s AND checkpoint_id = %s AND interrupt_key = %s"
        current = conn.execute(f"SELECT args_hash, operator FROM hitl_votes WHERE {where} ORDER BY voted_at LIMIT 1",
                               key).fetchone()
        voted = conn.execute(f"SELECT 1 FROM hitl_votes WHERE {where} AND operator_uid = %s",
                             (*key, operator.uid)).fetchone() is not None
        if starts_new_round(current, voted, mine, decisions, operator):
            conn.execute(f"DELETE FROM hitl_votes WHERE {where}", key)
        conn.execute(
            "INSERT INTO hitl_votes VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (*key, operator.uid, operator.display, interrupt.payload_hash, mine, decisions_json(decisions),
             now.isoformat()),
        )
        return self.votes(*key, conn=conn)

    def _round_decisions(
        self, conn: psycopg.Connection, thread: PendingThread, interrupt: PendingInterrupt
    ) -> tuple[Decision, ...] | None:
        """The edit that opened this approval round, if there was one."""
        return opening_edit(text for (text,) in conn.execute(
            "SELECT decisions FROM hitl_votes WHERE thread_id = %s AND checkpoint_id = %s AND interrupt_key = %s",
            (thread.thread_id, thread.checkpoint_id, interrupt.key),
        ))

    def votes(self, thread_id: str, checkpoint_id: str, key: str, *,
              conn: psycopg.Connection | None = None) -> list[Vote]:
        """Approvals gathered so far for one pending interrupt."""
        rows = (conn or self.conn).execute(
            "SELECT operator, operator_uid, voted_at FROM hitl_votes WHERE thread_id = %s AND checkpoint_id = %s "
            "AND interrupt_key = %s ORDER BY voted_at", (thread_id, checkpoint_id, key),
        ).fetchall()
        return [Vote(*r) for r in rows]

    def acknowledge(self, decision_id: str, operator: Operator, note: str | None = None) -> LedgerRow:
        """Record that a person checked an in-doubt resume, so its thread can be decided again."""
        now = self.now()
        with self.transaction() as conn:
            values = conn.execute(f"SELECT {_COLUMNS} FROM hitl_decisions WHERE decision_id = %s FOR UPDATE",
                                  (decision_id,)).fetchone()
            row = in_doubt_row(values, decision_id)
            inserted = conn.execute("INSERT INTO hitl_acks VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                                    (decision_id, operator.display, now.isoformat(), note)).rowcount
            if not inserted:
                raise already_acknowledged(decision_id)
            self.event(acknowledged_event(row, operator, now, note), event_id=f"{decision_id}:acknowledged")
        return row

    # -- the audit log's file copies ----------------------------------------------------------------------------

    def flush_audit(self, audit: Any) -> int:
        """Copy the chain's events this host's log doesn't have yet into it, in chain order; returns how many."""
        from hitl_tui.audit.outbox import _flush_lock
        from hitl_tui.decisions.claimants import host_id

        path = getattr(audit, "path", None)
        copy = f"{host_id()}:{Path(path).resolve() if path is not None else '-'}"
        with _flush_lock(Path(f"{path}.flush") if path is not None else None):
            found = self.conn.execute("SELECT seq FROM hitl_audit_copies WHERE copy = %s", (copy,)).fetchone()
            done = int(found[0]) if found else 0
            rows = self.conn.execute("SELECT seq, event_id, record FROM hitl_events WHERE seq > %s ORDER BY seq",
                                     (done,)).fetchall()
            if not rows:
                return 0
            audit.append_many([(json.loads(record), event_id) for _, event_id, record in rows])
            self.conn.execute(
                "INSERT INTO hitl_audit_copies VALUES (%s, %s) ON CONFLICT (copy) DO UPDATE SET seq = EXCLUDED.seq",
                (copy, rows[-1][0]),
            )
        return len(rows)

    # -- reading ------------------------------------------------------------------------------------------------

    def _select(self, where: str, params: Sequence[Any] = (), tail: str = "ORDER BY seq") -> list[LedgerRow]:
        try:
            return [_row(v) for v in self.conn.execute(
                f"SELECT {_COLUMNS} FROM hitl_decisions WHERE {where} {tail}", params).fetchall()]
        except psycopg.errors.UndefinedTable:
            return []  # an observer's view of a database where nobody decided anything yet

    @property
    def connection(self) -> Any:
        """For decision_state's read-only helpers (open_votes): this session, speaking their SQL dialect."""
        from hitl_tui.decisions.postgres.state import SqliteDialect

        return SqliteDialect(self.conn)

    def get(self, decision_id: str) -> LedgerRow | None:
        found = self._select("decision_id = %s", (decision_id,))
        return found[0] if found else None

    def batch(self, batch_id: str) -> list[LedgerRow]:
        return self._select("batch_id = %s", (batch_id,))

    def waiting_on(self, thread_id: str) -> list[tuple[str, str | None]]:
        """(decision id, graph) of the decisions on a thread that wait for a resumer, oldest first."""
        return [(r[0], r[1]) for r in self.conn.execute(
            "SELECT decision_id, graph_id FROM hitl_decisions WHERE thread_id = %s AND state = 'decided' ORDER BY seq",
            (thread_id,)).fetchall()]

    def in_state(self, *states: DecisionState) -> list[LedgerRow]:
        return self._select("state = ANY(%s)", ([s.value for s in states],))

    def for_threads(self, thread_ids: Iterable[str]) -> list[LedgerRow]:
        return self._select("thread_id = ANY(%s)", (sorted(set(thread_ids)),))

    def recent(self, limit: int = 200) -> list[LedgerRow]:
        return self._select("TRUE", (limit,), "ORDER BY seq DESC LIMIT %s")

    def recent_records(self, limit: int = 200) -> list[DecisionRecord]:
        records = [r.as_record() for r in self.recent(limit)]
        doubtful = [r.decision_id for r in records if r.state is DecisionState.IN_DOUBT]
        if not doubtful:
            return records
        acked: dict[str, str] = dict(self.conn.execute(
            "SELECT decision_id, operator FROM hitl_acks WHERE decision_id = ANY(%s)", (doubtful,)).fetchall())
        return [replace(r, acknowledged_by=acked[r.decision_id]) if r.decision_id in acked else r for r in records]
