"""Resume claims: which resumer runs a decided batch, how far it got, how it ended, and acknowledging in-doubt ones."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from hitl_tui.audit.outbox import add_event
from hitl_tui.decisions.decision import DecisionState
from hitl_tui.decisions.ledger_db import LedgerDB
from hitl_tui.decisions.rows import (
    COLUMNS,
    LedgerRow,
    acknowledged_event,
    already_acknowledged,
    in_doubt_row,
    row_from,
)
from hitl_tui.identity import Operator


class LedgerClaims(LedgerDB):
    """Claiming decided batches for a resumer and recording how their resume went."""

    def claim_next(self, claimant: str, *, graph_ids: Iterable[str | None] | None = None,
                   decision_id: str | None = None) -> list[LedgerRow]:
        """Claim the oldest decided batch whose thread nobody is resuming; [] when there is none."""
        allowed = None if graph_ids is None else set(graph_ids)
        with self.transaction() as conn:
            query = f"SELECT {COLUMNS} FROM hitl_decisions WHERE state = 'decided'"
            params: tuple[Any, ...] = ()
            if decision_id is not None:
                query += " AND batch_id = (SELECT batch_id FROM hitl_decisions WHERE decision_id = ?)"
                params = (decision_id,)
            busy = {r[0] for r in conn.execute("SELECT thread_id FROM hitl_decisions WHERE state = 'resuming'")}
            for values in conn.execute(query + " ORDER BY rowid", params).fetchall():
                row = row_from(values)
                if row.thread_id in busy or (allowed is not None and row.graph_id not in allowed):
                    continue
                batch = [
                    row_from(v) for v in conn.execute(
                        f"SELECT {COLUMNS} FROM hitl_decisions WHERE batch_id = ? AND state = 'decided' "
                        "ORDER BY rowid",
                        (row.batch_id,),
                    )
                ]
                conn.execute(
                    "UPDATE hitl_decisions SET state = 'resuming', phase = 'claimed', claimed_by = ?, claimed_at = ? "
                    "WHERE batch_id = ? AND state = 'decided'",
                    (claimant, self.now().isoformat(), row.batch_id),
                )
                return batch
        return []

    def lapsed_claims(self) -> set[str]:
        """Batches whose claim lapsed by time: none here (one host; the resumer asks the pids). Postgres has leases."""
        return set()

    def takeover(self, batch: Sequence[LedgerRow], *, dead: str | None, claimant: str) -> bool:
        """Take a dead resumer's claim over; False when someone else already did."""
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE hitl_decisions SET claimed_by = ?, claimed_at = ? WHERE batch_id = ? AND state = 'resuming' "
                "AND claimed_by IS ?",
                (claimant, self.now().isoformat(), batch[0].batch_id, dead),
            )
            return cur.rowcount > 0

    def set_phase(self, batch: Sequence[LedgerRow], phase: str) -> None:
        """Note how far a resume got, so a restarted resumer knows what may have run. Relaxed: a process crash
        never loses it; after an OS crash the resumer doesn't rely on phases (the claim itself is durable)."""
        with self.transaction(durable=False) as conn:
            conn.execute(
                "UPDATE hitl_decisions SET phase = ? WHERE decision_id IN (SELECT value FROM json_each(?))",
                (phase, json.dumps([r.decision_id for r in batch])),
            )

    def release(self, batch: Sequence[LedgerRow]) -> None:
        """Give a claim back untouched (nothing ran), so the batch can be resumed again."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE hitl_decisions SET state = 'decided', phase = NULL, claimed_by = NULL, claimed_at = NULL "
                "WHERE decision_id IN (SELECT value FROM json_each(?)) AND state = 'resuming'",
                (json.dumps([r.decision_id for r in batch]),),
            )

    def finish(self, batch: Sequence[LedgerRow], state: DecisionState, *, error: str | None = None,
               note: str | None = None, actor: Operator | None = None, reopened: bool = False) -> list[LedgerRow]:
        """Record how a resume ended (and its audit event) for every decision in the batch. Relaxed, like phases:
        if an OS crash takes it back, a restarted resumer records what the thread shows, or in doubt.

        `reopened` (FAILED only): the agent saved nothing, so the interrupt takes a new decision; the approvals
        gathered for this one are cleared with it (a new round). Durable, as a decision is: it lets one happen."""
        now = self.now()
        with self.transaction(durable=reopened) as conn:
            for row in batch:
                conn.execute(
                    "UPDATE hitl_decisions SET state = ?, phase = NULL, finished_at = ?, error = ?, reopened = ? "
                    "WHERE decision_id = ?",
                    (state.value, now.isoformat(), error, int(reopened), row.decision_id),
                )
                if reopened:
                    conn.execute("DELETE FROM hitl_votes WHERE thread_id = ? AND checkpoint_id = ? AND "
                                 "interrupt_key = ?", (row.thread_id, row.checkpoint_id, row.interrupt_key))
                add_event(conn, {
                    "event": "outcome",
                    "at": now.isoformat(),
                    "actor": actor.as_record() if actor else None,
                    "thread_id": row.thread_id,
                    "graph_id": row.graph_id,
                    "checkpoint_id": row.checkpoint_id,
                    "interrupt_id": row.interrupt_id or row.interrupt_key,
                    "action": row.action,
                    "payload_hash": row.payload_hash,
                    "decision": "+".join(d.kind.value for d in row.decisions),
                    "decision_id": row.decision_id,
                    "decided_by": row.operator,
                    "outcome": state.value,
                    "error": error,
                    "text": note,
                    **({"reopened": True} if reopened else {}),
                }, event_id=f"{row.decision_id}:outcome")
        return [replace(r, state=state, phase=None, finished_at=now.isoformat(), error=error, reopened=reopened)
                for r in batch]

    def acknowledge(self, decision_id: str, operator: Operator, note: str | None = None) -> LedgerRow:
        """Record that a person checked an in-doubt resume, so its thread can be decided again."""
        now = self.now()
        with self.transaction() as conn:
            values = conn.execute(f"SELECT {COLUMNS} FROM hitl_decisions WHERE decision_id = ?",
                                  (decision_id,)).fetchone()
            row = in_doubt_row(values, decision_id)
            if conn.execute("SELECT 1 FROM hitl_acks WHERE decision_id = ?", (decision_id,)).fetchone():
                raise already_acknowledged(decision_id)
            conn.execute("INSERT INTO hitl_acks VALUES (?, ?, ?, ?)",
                         (decision_id, operator.display, now.isoformat(), note))
            add_event(conn, acknowledged_event(row, operator, now, note), event_id=f"{decision_id}:acknowledged")
        return row
