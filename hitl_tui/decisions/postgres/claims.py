"""Resume claims on Postgres: one resume per thread at a time across every host, leases for dead hosts.

A claim moves a batch from `decided` to `resuming` under its thread's lock row. A claim is taken over only when
its lease ran out (or its claimant is a dead process on this very host), and only as it was seen: the takeover
names the holder and the phase it read, so a holder that moved on to `invoking` in between keeps its claim, and
the taker never re-runs what may have started.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from hitl_tui.decisions.decision import DecisionState
from hitl_tui.decisions.postgres.ledger_db import PostgresLedgerDB
from hitl_tui.decisions.rows import COLUMNS as _COLUMNS
from hitl_tui.decisions.rows import LedgerRow
from hitl_tui.decisions.rows import row_from as _row
from hitl_tui.errors import ClaimLost
from hitl_tui.identity import Operator

_LEASE = "now() + make_interval(secs => %(lease)s)"


class PostgresClaims(PostgresLedgerDB):
    """claim_next / takeover / set_phase / release / finish with the SQLite ledger's meaning, across hosts."""

    def claim_next(self, claimant: str, *, graph_ids: Iterable[str | None] | None = None,
                   decision_id: str | None = None) -> list[LedgerRow]:
        """Claim the oldest decided batch whose thread nobody is resuming; [] when there is none."""
        allowed = None if graph_ids is None else set(graph_ids)
        params: dict[str, Any] = {"decision": decision_id, "lease": self.lease, "me": claimant,
                                  "at": self.now().isoformat()}
        with self.transaction() as conn:
            candidates = conn.execute(
                "SELECT d.batch_id, d.thread_id, d.graph_id FROM hitl_decisions AS d WHERE d.state = 'decided' "
                "AND (%(decision)s::text IS NULL OR d.batch_id = "
                "    (SELECT batch_id FROM hitl_decisions WHERE decision_id = %(decision)s)) "
                "AND NOT EXISTS (SELECT 1 FROM hitl_decisions AS r WHERE r.thread_id = d.thread_id "
                "    AND r.state = 'resuming') "
                "ORDER BY d.seq LIMIT 64", params,
            ).fetchall()
            for batch_id, thread_id, graph_id in candidates:
                if allowed is not None and graph_id not in allowed:
                    continue
                # Whoever holds the thread's lock is deciding or claiming it right now: try the next one.
                if conn.execute("SELECT 1 FROM hitl_thread_locks WHERE thread_id = %s FOR UPDATE SKIP LOCKED",
                                (thread_id,)).fetchone() is None:
                    continue
                # Under the lock, a fresh statement sees every commit: is it still free to claim?
                if conn.execute("SELECT 1 FROM hitl_decisions WHERE thread_id = %s AND state = 'resuming'",
                                (thread_id,)).fetchone() is not None:
                    continue
                claimed = conn.execute(
                    f"UPDATE hitl_decisions SET state = 'resuming', phase = 'claimed', claimed_by = %(me)s, "
                    f"claimed_at = %(at)s, lease_until = {_LEASE} WHERE batch_id = %(batch)s AND state = 'decided'",
                    {**params, "batch": batch_id},
                ).rowcount
                if claimed:
                    self.touched()
                    self.keep_leases()
                    return [_row(v) for v in conn.execute(
                        f"SELECT {_COLUMNS} FROM hitl_decisions WHERE batch_id = %s AND claimed_by = %s "
                        "AND state = 'resuming' ORDER BY seq", (batch_id, claimant))]
        return []

    def lapsed_claims(self) -> set[str]:
        """Batches whose claim's lease ran out: their host died or lost the database for a whole lease."""
        with self.transaction() as conn:  # a read: no notification
            return {r[0] for r in conn.execute(
                "SELECT DISTINCT batch_id FROM hitl_decisions WHERE state = 'resuming' AND lease_until < now()")}

    def takeover(self, batch: Sequence[LedgerRow], *, dead: str | None, claimant: str) -> bool:
        """Take a lapsed claim over, exactly as it was seen (holder and phase); False when it wasn't lapsed or
        someone else took it, or its holder moved on meanwhile."""
        from hitl_tui.decisions.claimants import claimant_alive

        local_dead = claimant_alive(dead) is False  # a dead pid on this host: no need to wait for its lease
        with self.transaction() as conn:
            cur = conn.execute(
                f"UPDATE hitl_decisions SET claimed_by = %(me)s, claimed_at = %(at)s, lease_until = {_LEASE} "
                "WHERE batch_id = %(batch)s AND state = 'resuming' AND claimed_by IS NOT DISTINCT FROM %(dead)s "
                "AND phase IS NOT DISTINCT FROM %(phase)s AND (lease_until < now() OR %(local_dead)s)",
                {"me": claimant, "at": self.now().isoformat(), "lease": self.lease, "batch": batch[0].batch_id,
                 "dead": dead, "phase": batch[0].phase, "local_dead": local_dead},
            )
            taken = cur.rowcount > 0
            if taken:
                self.touched()
        if taken:
            self.keep_leases()
        return taken

    def set_phase(self, batch: Sequence[LedgerRow], phase: str) -> None:
        """Note how far a resume got; fenced: only the holder of an unexpired claim may move it on (ClaimLost)."""
        with self.transaction(durable=False) as conn:
            cur = conn.execute(
                "UPDATE hitl_decisions SET phase = %s WHERE decision_id = ANY(%s) AND state = 'resuming' "
                "AND claimed_by = %s AND lease_until > now()",
                (phase, [r.decision_id for r in batch], self.claimant),
            )
            if cur.rowcount < len(batch):
                raise ClaimLost(f"The claim on thread {batch[0].thread_id} lapsed and may be another host's now; "
                                "nothing more was run here.")

    def release(self, batch: Sequence[LedgerRow]) -> None:
        """Give a claim back untouched (nothing ran), so the batch can be resumed again."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE hitl_decisions SET state = 'decided', phase = NULL, claimed_by = NULL, claimed_at = NULL, "
                "lease_until = NULL WHERE decision_id = ANY(%s) AND state = 'resuming' AND claimed_by = %s",
                ([r.decision_id for r in batch], self.claimant),
            )
            self.touched()

    def finish(self, batch: Sequence[LedgerRow], state: DecisionState, *, error: str | None = None,
               note: str | None = None, actor: Operator | None = None, reopened: bool = False) -> list[LedgerRow]:
        """Record how a resume ended, with its audit event, for the rows this process still holds."""
        now = self.now()
        with self.transaction(durable=reopened) as conn:
            for row in batch:
                cur = conn.execute(
                    "UPDATE hitl_decisions SET state = %s, phase = NULL, finished_at = %s, error = %s, "
                    "reopened = %s, lease_until = NULL WHERE decision_id = %s "
                    "AND state = 'resuming' AND claimed_by = %s",
                    (state.value, now.isoformat(), error, int(reopened), row.decision_id, self.claimant),
                )
                if cur.rowcount == 0:
                    continue  # taken over after our lease ran out: the new holder records the outcome
                if reopened:
                    conn.execute("DELETE FROM hitl_votes WHERE thread_id = %s AND checkpoint_id = %s AND "
                                 "interrupt_key = %s", (row.thread_id, row.checkpoint_id, row.interrupt_key))
                self.event({
                    "event": "outcome", "at": now.isoformat(), "actor": actor.as_record() if actor else None,
                    "thread_id": row.thread_id, "graph_id": row.graph_id, "checkpoint_id": row.checkpoint_id,
                    "interrupt_id": row.interrupt_id or row.interrupt_key, "action": row.action,
                    "payload_hash": row.payload_hash, "decision": "+".join(d.kind.value for d in row.decisions),
                    "decision_id": row.decision_id, "decided_by": row.operator, "outcome": state.value,
                    "error": error, "text": note, **({"reopened": True} if reopened else {}),
                }, event_id=f"{row.decision_id}:outcome")
        return [replace(r, state=state, phase=None, finished_at=now.isoformat(), error=error, reopened=reopened)
                for r in batch]

