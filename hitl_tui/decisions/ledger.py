"""The decision ledger: compare-and-set decisions in the shared DB, and reading them back.

A decision wins only if, at commit time, the checkpoint the operator saw is still the thread's latest, the
interrupt is still pending with the same payload hash, and nobody decided it first. Its audit event goes into the
outbox (hitl_tui.audit.outbox) in the same transaction. The connections and their durability are LedgerDB's
(ledger_db.py); claims for resumers are LedgerClaims' (claims.py); four-eyes votes are votes.py's.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from hitl_tui.audit.outbox import add_event, flush_outbox
from hitl_tui.checkpoints.reader import thread_version
from hitl_tui.db import connect, explain_sqlite_error
from hitl_tui.decisions.claims import LedgerClaims
from hitl_tui.decisions.decision import Decision, DecisionRecord, DecisionState
from hitl_tui.decisions.resume_values import InvalidDecision, ResumePlan, plan_resume
from hitl_tui.decisions.rows import (
    COLUMNS,
    PLACEHOLDERS,
    LedgerRow,
    Submission,
    decision_event,
    new_row,
    refuse_if_decided_or_in_doubt,
    refuse_unless_current,
    row_from,
    row_values,
    with_acks,
)
from hitl_tui.decisions.schema import needs_migration
from hitl_tui.decisions.submitting import SubmitsOne
from hitl_tui.decisions.votes import Vote, cast_vote, round_decisions, votes_for
from hitl_tui.errors import DecisionRefused
from hitl_tui.identity import Operator
from hitl_tui.model import DecisionKind, PendingInterrupt, PendingThread

__all__ = ["DecisionLedger", "LedgerRow", "LedgerView", "Submission", "Vote"]


class DecisionLedger(LedgerClaims, SubmitsOne):
    """Compare-and-set decisions and resume claims on the shared checkpoint DB."""

    def submit_many(
        self, submissions: Sequence[Submission], operator: Operator, *, event: str = "decision",
        extra: dict[str, Any] | None = None,
    ) -> list[list[LedgerRow] | list[Vote] | DecisionRefused]:
        """Several submissions (threads) in ONE transaction: one fsync for all of them. Each is compared and set
        on its own, under a savepoint: a refused one (returned as its DecisionRefused, and logged) takes nothing
        else with it. InvalidDecision for any of them is raised before the DB is touched."""
        planned = [self._plan(s, operator) for s in submissions]
        now = self.now()
        outcomes: list[list[LedgerRow] | list[Vote] | DecisionRefused] = []
        with self.transaction() as conn:
            for submission, plans in zip(submissions, planned, strict=True):
                conn.execute("SAVEPOINT submission")
                try:
                    outcomes.append(self._submit_in(conn, submission, plans, operator, now, event, extra))
                except DecisionRefused as refusal:
                    conn.execute("ROLLBACK TO submission")
                    interrupt, decisions = submission.items[0]
                    add_event(conn, {
                        **decision_event("refused", submission.thread, interrupt, decisions, operator, now,
                                           risk=submission.risk),
                        "error": refusal.message,
                    })
                    outcomes.append(refusal)
                conn.execute("RELEASE submission")
        return outcomes

    def _plan(self, submission: Submission, operator: Operator) -> list[tuple[str, PendingInterrupt,
                                                                                tuple[Decision, ...], ResumePlan]]:
        if not submission.items:
            raise InvalidDecision("No decision was given.")
        if submission.approvals_needed > 1 and len(submission.items) > 1:
            raise InvalidDecision("Items that need several approvers are decided one at a time.")
        graph = self.config.graph(submission.thread.graph_id)
        planned = []
        for interrupt, decisions in submission.items:
            decision_id = uuid.uuid4().hex
            plan = plan_resume(interrupt, decisions, graph=graph, decision_id=decision_id, operator=operator.display)
            planned.append((decision_id, interrupt, tuple(decisions), plan))
        return planned

    def _submit_in(
        self, conn: sqlite3.Connection, submission: Submission,
        planned: list[tuple[str, PendingInterrupt, tuple[Decision, ...], ResumePlan]], operator: Operator,
        now: datetime, event: str, extra: dict[str, Any] | None,
    ) -> list[LedgerRow] | list[Vote]:
        """One submission's compare-and-set, inside the caller's write transaction."""
        thread, approvals_needed, claimant = submission.thread, submission.approvals_needed, submission.claimant
        initiator_uid = submission.initiator_uid
        for _, interrupt, _, _ in planned:
            self._check_current(conn, thread, interrupt)
        approvals = 1
        if approvals_needed > 1:
            decision_id, interrupt, decisions, plan = planned[0]
            kinds = {d.kind for d in decisions}
            if kinds <= {DecisionKind.APPROVE, DecisionKind.EDIT}:
                if operator.is_human and initiator_uid is not None and operator.uid == initiator_uid:
                    raise DecisionRefused(
                        f"{operator.user} started this thread and may not approve it; another operator must."
                    )
                votes = cast_vote(conn, thread, interrupt, decisions, operator, now)
                if len(votes) < approvals_needed:
                    add_event(conn, {
                        **decision_event("approval", thread, interrupt, decisions, operator, now,
                                           risk=submission.risk),
                        "approvals": len(votes), "approvals_needed": approvals_needed, **(extra or {}),
                    })
                    return votes
                approvals = len(votes)
                # What the quorum approved is the round's edit, if the round started with one.
                decisions = round_decisions(conn, thread, interrupt) or decisions
                plan = plan_resume(
                    interrupt, decisions, graph=self.config.graph(thread.graph_id), decision_id=decision_id,
                    operator=operator.display,
                )
                planned = [(decision_id, interrupt, decisions, plan)]
        # Claiming here saves the resumer a transaction; claim_next's rule holds: one resume per thread.
        claim = (None, None, None) if claimant is None or conn.execute(
            "SELECT 1 FROM hitl_decisions WHERE thread_id = ? AND state = 'resuming' LIMIT 1",
            (thread.thread_id,),
        ).fetchone() else ("claimed", claimant, now.isoformat())
        state = DecisionState.DECIDED if claim[0] is None else DecisionState.RESUMING
        batch_id = uuid.uuid4().hex
        rows = []
        for decision_id, interrupt, decisions, plan in planned:
            row, decisions_text, plan_text = new_row(
                decision_id, batch_id, thread, interrupt, decisions, plan, operator, now, state, claim,
                approvals=approvals, approvals_needed=approvals_needed,
            )
            # attempt: how many earlier decisions on this interrupt were reopened (their resume failed unsaved).
            conn.execute(
                f"INSERT INTO hitl_decisions ({COLUMNS}, attempt) VALUES ({PLACEHOLDERS}, (SELECT COUNT(*) "
                "FROM hitl_decisions WHERE thread_id = ? AND checkpoint_id = ? AND interrupt_key = ?))",
                (*row_values(row, decisions_text, plan_text), row.thread_id, row.checkpoint_id, row.interrupt_key),
            )
            rows.append(row)
            add_event(conn, {
                **decision_event(event, thread, interrupt, decisions, operator, now, risk=submission.risk),
                "decision_id": decision_id, "approvals": approvals, "approvals_needed": approvals_needed,
                **(extra or {}),
            }, event_id=f"{decision_id}:decided")
        return rows

    def _check_current(self, conn: sqlite3.Connection, thread: PendingThread, interrupt: PendingInterrupt) -> None:
        """The compare part of compare-and-set; we hold the write lock, so what we read can't change under us."""
        refuse_if_decided_or_in_doubt(lambda sql, params: conn.execute(sql, params).fetchone(), thread, interrupt)
        if self._unchanged_since_read(conn, thread, interrupt):
            return
        refuse_unless_current(self._reader.thread(thread.thread_id), thread, interrupt)

    @staticmethod
    def _unchanged_since_read(conn: sqlite3.Connection, thread: PendingThread, interrupt: PendingInterrupt) -> bool:
        """True when nothing about the thread was written since the operator's view was read and the interrupt is
        one of that view's: the view is then exactly what a fresh read would show (two index lookups instead)."""
        if thread.version is None or not any(
            i.key == interrupt.key and i.payload_hash == interrupt.payload_hash for i in thread.interrupts
        ):
            return False
        latest, version = thread_version(conn, thread.thread_id)
        return latest == thread.checkpoint_id and version == thread.version

    def votes(self, thread_id: str, checkpoint_id: str, key: str) -> list[Vote]:
        """Approvals gathered so far for one pending interrupt."""
        return votes_for(self._conn, thread_id, checkpoint_id, key)

    def flush_audit(self, audit: Any) -> int:
        """Copy events not yet in the audit log into it, in commit order; returns how many were appended."""
        return flush_outbox(self, audit)

    # -- reading ------------------------------------------------------------------------------------------------

    def get(self, decision_id: str) -> LedgerRow | None:
        values = self._conn.execute(
            f"SELECT {COLUMNS} FROM hitl_decisions WHERE decision_id = ?", (decision_id,)
        ).fetchone()
        return row_from(values) if values else None

    def batch(self, batch_id: str) -> list[LedgerRow]:
        return [row_from(v) for v in self._conn.execute(
            f"SELECT {COLUMNS} FROM hitl_decisions WHERE batch_id = ? ORDER BY rowid", (batch_id,))]

    def waiting_on(self, thread_id: str) -> list[tuple[str, str | None]]:
        """(decision id, graph) of the decisions on a thread that wait for a resumer, oldest first."""
        return self._conn.execute(
            "SELECT decision_id, graph_id FROM hitl_decisions WHERE thread_id = ? AND state = 'decided' ORDER BY rowid",
            (thread_id,),
        ).fetchall()

    def in_state(self, *states: DecisionState) -> list[LedgerRow]:
        marks = ", ".join("?" * len(states))
        return [row_from(v) for v in self._conn.execute(
            f"SELECT {COLUMNS} FROM hitl_decisions WHERE state IN ({marks}) ORDER BY rowid",
            tuple(s.value for s in states))]

    def for_threads(self, thread_ids: Iterable[str]) -> list[LedgerRow]:
        """Every decision on these threads, oldest first (the console shows the newest per interrupt)."""
        return [row_from(v) for v in self._conn.execute(
            f"SELECT {COLUMNS} FROM hitl_decisions WHERE thread_id IN (SELECT value FROM json_each(?)) ORDER BY rowid",
            (json.dumps(sorted(set(thread_ids))),))]

    def recent(self, limit: int = 200) -> list[LedgerRow]:
        return [row_from(v) for v in self._conn.execute(
            f"SELECT {COLUMNS} FROM hitl_decisions ORDER BY rowid DESC LIMIT ?", (limit,))]

    def recent_records(self, limit: int = 200) -> list[DecisionRecord]:
        """The newest decisions as the console shows them: in-doubt ones say who acknowledged them."""
        return with_acks(self._conn, [r.as_record() for r in self.recent(limit)])


class LedgerView:
    """Decision records read without writing (observer consoles): no tables are created, none may exist yet."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._conn = connect(db_path, readonly=True)

    def recent(self, limit: int = 200) -> list[LedgerRow]:
        # An older ledger (not migrated: this view never writes) has no `reopened` column: nothing was reopened.
        columns = COLUMNS if not needs_migration(self._conn) else COLUMNS.replace("reopened", "0 AS reopened")
        try:
            return [row_from(v) for v in self._conn.execute(
                f"SELECT {columns} FROM hitl_decisions ORDER BY rowid DESC LIMIT ?", (limit,))]
        except sqlite3.OperationalError as err:
            if "no such table" in str(err):
                return []  # nobody has decided anything in this DB yet
            raise explain_sqlite_error(self.db_path, err) from None

    def recent_records(self, limit: int = 200) -> list[DecisionRecord]:
        records = [r.as_record() for r in self.recent(limit)]
        try:
            return with_acks(self._conn, records)
        except sqlite3.OperationalError:  # an older ledger without hitl_acks: nothing was acknowledged
            return records

    @property
    def connection(self) -> sqlite3.Connection:
        return self._conn

    def close(self) -> None:
        self._conn.close()
