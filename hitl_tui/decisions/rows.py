"""The ledger's row codec: decision rows as stored and read, and the audit event a decision makes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from hitl_tui.canonical import canonical_json, value_hash
from hitl_tui.decisions.decision import Decision, DecisionRecord, DecisionState
from hitl_tui.decisions.resume_values import ResumePlan
from hitl_tui.errors import DecisionRefused, HitlError
from hitl_tui.identity import Operator
from hitl_tui.model import DecisionKind, PendingInterrupt, PendingThread

COLUMNS = (
    "decision_id, batch_id, thread_id, checkpoint_id, interrupt_key, interrupt_id, graph_id, shape, node, action, "
    "payload_hash, decisions, plan, operator, operator_uid, actor_kind, decided_at, state, phase, claimed_by, "
    "claimed_at, finished_at, error, approvals, approvals_needed, reopened"
)
PLACEHOLDERS = ", ".join("?" * len(COLUMNS.split(",")))


@dataclass(frozen=True)
class LedgerRow:
    """A decision row with everything a resumer needs."""

    decision_id: str
    batch_id: str
    thread_id: str
    checkpoint_id: str
    interrupt_key: str
    interrupt_id: str | None
    graph_id: str | None
    shape: str
    node: str | None
    action: str | None
    payload_hash: str
    decisions: tuple[Decision, ...]
    plan: ResumePlan
    operator: str
    operator_uid: int | None
    actor_kind: str
    decided_at: datetime
    state: DecisionState
    phase: str | None
    claimed_by: str | None
    claimed_at: str | None
    finished_at: str | None
    error: str | None
    approvals: int
    approvals_needed: int
    reopened: bool = False  # failed with nothing saved by the agent: the interrupt takes a new decision

    def as_record(self) -> DecisionRecord:
        return DecisionRecord(
            decision_id=self.decision_id,
            thread_id=self.thread_id,
            checkpoint_id=self.checkpoint_id,
            interrupt_key=self.interrupt_key,
            graph_id=self.graph_id,
            decisions=self.decisions,
            operator=self.operator,
            operator_uid=self.operator_uid,
            decided_at=self.decided_at,
            state=self.state,
            error=self.error,
            approvals=self.approvals,
            approvals_needed=self.approvals_needed,
            reopened=self.reopened,
        )


@dataclass(frozen=True)
class Submission:
    """One thread's decisions for `submit_many`: what the operator saw and decided, and what policy asks."""

    thread: PendingThread
    items: tuple[tuple[PendingInterrupt, Sequence[Decision]], ...]
    approvals_needed: int = 1
    initiator_uid: int | None = None
    claimant: str | None = None  # claim the batch for this resumer in the same commit
    risk: str | None = None  # the policy's risk for what will run, for the audit record


def decisions_json(decisions: Sequence[Decision]) -> str:
    """Decisions as stored: canonical JSON."""
    return canonical_json(
        [{"kind": d.kind.value, "action_index": d.action_index, "args": d.args, "text": d.text} for d in decisions]
    )


def decisions_from(text: str) -> tuple[Decision, ...]:
    """Decisions as stored (the inverse of `decisions_json`)."""
    return tuple(
        Decision(DecisionKind(d["kind"]), d.get("action_index", 0), d.get("args"), d.get("text"))
        for d in json.loads(text)
    )


def row_from(values: Sequence[Any]) -> LedgerRow:
    """A row as read, in COLUMNS order."""
    names = [c.strip() for c in COLUMNS.split(",")]
    d = dict(zip(names, values, strict=True))
    plan = json.loads(d["plan"])
    d["plan"] = ResumePlan(**plan)
    d["decisions"] = decisions_from(d["decisions"])
    d["decided_at"] = datetime.fromisoformat(d["decided_at"])
    d["state"] = DecisionState(d["state"])
    d["reopened"] = bool(d["reopened"])
    return LedgerRow(**d)


def row_values(row: LedgerRow, decisions_text: str, plan_text: str) -> tuple[Any, ...]:
    """A row as stored, column by column (the inverse of `_row`), with its decisions and plan already in JSON."""
    return (
        row.decision_id, row.batch_id, row.thread_id, row.checkpoint_id, row.interrupt_key, row.interrupt_id,
        row.graph_id, row.shape, row.node, row.action, row.payload_hash, decisions_text, plan_text, row.operator,
        row.operator_uid, row.actor_kind, row.decided_at.isoformat(), row.state.value, row.phase, row.claimed_by,
        row.claimed_at, row.finished_at, row.error, row.approvals, row.approvals_needed, int(row.reopened),
    )


def new_row(
    decision_id: str, batch_id: str, thread: PendingThread, interrupt: PendingInterrupt,
    decisions: Sequence[Decision], plan: ResumePlan, operator: Operator, now: datetime, state: DecisionState,
    claim: tuple[str | None, str | None, str | None], *, approvals: int, approvals_needed: int,
) -> tuple[LedgerRow, str, str]:
    """A decision about to be inserted, as a worker would read it back (through the JSON of the stored columns),
    with that JSON: (row, decisions text, plan text). `claim`: (phase, claimed_by, claimed_at)."""
    decisions_text, plan_text = decisions_json(decisions), canonical_json(vars(plan))
    row = LedgerRow(
        decision_id, batch_id, thread.thread_id, thread.checkpoint_id, interrupt.key,
        interrupt.interrupt_id, thread.graph_id, interrupt.shape.value, interrupt.node,
        action_names(interrupt, decisions), interrupt.payload_hash, decisions_from(decisions_text),
        ResumePlan(**json.loads(plan_text)), operator.display, operator.uid, operator.kind, now,
        state, phase=claim[0], claimed_by=claim[1], claimed_at=claim[2], finished_at=None,
        error=None, approvals=approvals, approvals_needed=approvals_needed,
    )
    return row, decisions_text, plan_text


def acknowledged_event(row: LedgerRow, operator: Operator, now: datetime, note: str | None) -> dict[str, Any]:
    """The audit event of a person checking an in-doubt resume."""
    return {
        "event": "acknowledged", "at": now.isoformat(), "actor": operator.as_record(),
        "thread_id": row.thread_id, "graph_id": row.graph_id, "checkpoint_id": row.checkpoint_id,
        "interrupt_id": row.interrupt_id or row.interrupt_key, "action": row.action,
        "decision_id": row.decision_id, "outcome": row.state.value, "text": note,
    }


def args_hash(decisions: Sequence[Decision]) -> str:
    """What was approved: the edited arguments (or none) of every action in the submission."""
    return value_hash([[d.action_index, d.args if d.kind is DecisionKind.EDIT else None] for d in decisions])


def with_acks(conn: sqlite3.Connection, records: list[DecisionRecord]) -> list[DecisionRecord]:
    """The records, in-doubt ones with who acknowledged them (if anyone did)."""
    doubtful = [r.decision_id for r in records if r.state is DecisionState.IN_DOUBT]
    if not doubtful:
        return records
    acked = dict(conn.execute(
        "SELECT decision_id, operator FROM hitl_acks WHERE decision_id IN (SELECT value FROM json_each(?))",
        (json.dumps(doubtful),),
    ).fetchall())
    return [replace(r, acknowledged_by=acked[r.decision_id]) if r.decision_id in acked else r for r in records]


def action_names(interrupt: PendingInterrupt, decisions: Sequence[Decision]) -> str:
    """The decided actions' names, in action order, as one string."""
    names = [interrupt.actions[d.action_index].name for d in sorted(decisions, key=lambda d: d.action_index)
             if 0 <= d.action_index < len(interrupt.actions)]
    return ", ".join(names)


# The compare's reads of our own tables, in SQLite's placeholder style (the Postgres ledger swaps `?` for `%s`).
PRIOR_DECISION_SQL = (
    "SELECT operator, decided_at, decisions FROM hitl_decisions "
    "WHERE thread_id = ? AND checkpoint_id = ? AND interrupt_key = ? AND reopened = 0"
)
UNACKNOWLEDGED_DOUBT_SQL = (
    "SELECT d.decision_id, d.operator, d.decided_at FROM hitl_decisions AS d "
    "LEFT JOIN hitl_acks AS a ON a.decision_id = d.decision_id "
    "WHERE d.thread_id = ? AND d.state = 'in_doubt' AND a.decision_id IS NULL LIMIT 1"
)
FetchOne = Callable[[str, tuple[Any, ...]], "Sequence[Any] | None"]


def refuse_if_decided_or_in_doubt(fetch_one: FetchOne, thread: PendingThread, interrupt: PendingInterrupt) -> None:
    """The ledger's half of the compare: refused when the item was decided already, or when an earlier resume of
    the thread is in doubt and nobody acknowledged it. `fetch_one(sql, params)`: one row or None, inside the
    decision's transaction (either backend)."""
    prior = fetch_one(PRIOR_DECISION_SQL, (thread.thread_id, thread.checkpoint_id, interrupt.key))
    if prior is not None:
        raise already_decided(*prior[:3])
    doubt = fetch_one(UNACKNOWLEDGED_DOUBT_SQL, (thread.thread_id,))
    if doubt is not None:
        raise earlier_resume_in_doubt(*doubt)


def refuse_unless_current(fresh: PendingThread | None, seen: PendingThread, interrupt: PendingInterrupt) -> None:
    """The DB's half of the compare: refused unless a fresh read of the thread still waits on `interrupt`, at the
    checkpoint the operator saw, asking for the same thing."""
    if fresh is None:
        raise DecisionRefused("The thread has finished or no longer exists; nothing was decided.")
    if fresh.checkpoint_id != seen.checkpoint_id:
        raise DecisionRefused(
            f"The thread moved on since you looked (checkpoint {seen.checkpoint_id[-8:]} is now "
            f"{fresh.checkpoint_id[-8:]}); look again before deciding."
        )
    current = next((i for i in fresh.interrupts if i.key == interrupt.key), None)
    if current is None:
        raise DecisionRefused("That interrupt is no longer pending; look again before deciding.")
    if current.payload_hash != interrupt.payload_hash:
        raise DecisionRefused("The pending action changed since you looked; look again before deciding.")


def already_decided(operator: str, decided_at: str, decisions_text: str) -> DecisionRefused:
    """The refusal of a decision on an item someone already decided (from that decision's stored row)."""
    kinds = "+".join(sorted({d.kind.value for d in decisions_from(decisions_text)}))
    return DecisionRefused(f"Already decided ({kinds}) by {operator} at {short_time(decided_at)}.")


def earlier_resume_in_doubt(decision_id: str, operator: str, decided_at: str) -> DecisionRefused:
    """The refusal of a decision on a thread whose earlier resume is in doubt and not yet acknowledged: the agent
    may have acted on that decision, and deciding again could make it act twice."""
    return DecisionRefused(
        f"An earlier resume of this thread (decided by {operator} at {short_time(decided_at)}) is in doubt; "
        f"check its side effects, then run `hitl-tui ack {decision_id}`."
    )


def in_doubt_row(values: Sequence[Any] | None, decision_id: str) -> LedgerRow:
    """The stored decision an operator acknowledges (its row's values), or the sentence why it can't be."""
    if values is None:
        raise HitlError(f"No decision has the id {decision_id!r}.")
    row = row_from(values)
    if row.state is not DecisionState.IN_DOUBT:
        raise HitlError(f"Decision {decision_id} is {row.state.value}, not in doubt; nothing to acknowledge.")
    return row


def already_acknowledged(decision_id: str) -> HitlError:
    return HitlError(f"Decision {decision_id} was already acknowledged.")


def short_time(iso: str) -> str:
    """A stored ISO time as a refusal says it (UTC, to the second)."""
    try:
        return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return iso


def decision_event(
    event: str, thread: PendingThread, interrupt: PendingInterrupt, decisions: Sequence[Decision],
    operator: Operator, now: datetime, *, risk: str | None = None,
) -> dict[str, Any]:
    """What every decision event says. `risk` is the policy's risk for what will run (edits included), the
    agent's own claim is kept beside it; edited arguments are recorded themselves, so a reviewer of the log
    sees what ran, and hashed as before."""
    edited = [d.args for d in decisions if d.kind is DecisionKind.EDIT]
    texts = [d.text for d in decisions if d.text]
    return {
        "event": event,
        "at": now.isoformat(),
        "actor": operator.as_record(),
        "thread_id": thread.thread_id,
        "graph_id": thread.graph_id,
        "checkpoint_id": thread.checkpoint_id,
        "interrupt_id": interrupt.interrupt_id or interrupt.key,
        "action": action_names(interrupt, decisions),
        "payload_hash": interrupt.payload_hash,
        "shape": interrupt.shape.value,
        "confidence": interrupt.confidence,
        "risk": risk if risk is not None else interrupt.risk,
        "agent_risk": interrupt.risk,
        "decision": "+".join(d.kind.value for d in sorted(decisions, key=lambda d: d.action_index)),
        "decisions": [{"action_index": d.action_index, "kind": d.kind.value} for d in decisions],
        "text": " | ".join(texts) if texts else None,
        "args_hash": value_hash(edited) if edited else None,
        "edited_args": [{"action_index": d.action_index, "args": d.args}
                        for d in decisions if d.kind is DecisionKind.EDIT] or None,
    }
