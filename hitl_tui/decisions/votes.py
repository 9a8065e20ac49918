"""Four-eyes approvals: votes gathered in the ledger until a quorum forms over the same arguments."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from hitl_tui.decisions.decision import Decision
from hitl_tui.decisions.rows import args_hash, decisions_from, decisions_json
from hitl_tui.errors import DecisionRefused
from hitl_tui.identity import Operator
from hitl_tui.model import DecisionKind, PendingInterrupt, PendingThread


@dataclass(frozen=True)
class Vote:
    """One operator's approval counted towards a four-eyes quorum."""

    operator: str
    operator_uid: int
    voted_at: str


def check_voter(operator: Operator) -> None:
    """Four eyes means people: a policy runs under some process's uid and must never stand in for one."""
    if not operator.is_human:
        raise DecisionRefused(f"{operator.user} can't approve an item that needs several operators' approval.")


def starts_new_round(
    first: tuple[str, str] | None, voted: bool, mine: str, decisions: Sequence[Decision], operator: Operator
) -> bool:
    """Whether this approval may count, given the round's first vote (`first`: its args hash and operator) and
    whether this operator already voted; True when it starts a new round (the old votes are to be cleared).

    Every vote names exactly what it approves (the edited arguments, or none for as-is), and a quorum forms only
    over votes for the same thing: nobody's approval counts for arguments they didn't see. The same rule for
    every ledger backend."""
    if first is not None and first[0] != mine and any(d.kind is DecisionKind.EDIT for d in decisions):
        return True  # a different edit changes what is being approved: earlier approvals no longer count
    if voted:
        raise DecisionRefused(f"{operator.user} has already approved this; a different operator must approve it.")
    if first is not None and first[0] != mine:
        raise DecisionRefused(
            f"{first[1]} edited the arguments after approvals began; review the edit and approve it by "
            "submitting the same edit, or edit again."
        )
    return False


def cast_vote(
    conn: sqlite3.Connection, thread: PendingThread, interrupt: PendingInterrupt,
    decisions: Sequence[Decision], operator: Operator, now: datetime,
) -> list[Vote]:
    """Count `operator`'s approval towards the quorum (inside the decision's transaction); all votes so far."""
    key = (thread.thread_id, thread.checkpoint_id, interrupt.key)
    check_voter(operator)
    mine = args_hash(decisions)
    current = conn.execute(
        "SELECT args_hash, operator FROM hitl_votes WHERE thread_id=? AND checkpoint_id=? AND interrupt_key=? "
        "ORDER BY voted_at LIMIT 1", key,
    ).fetchone()
    voted = conn.execute(
        "SELECT 1 FROM hitl_votes WHERE thread_id=? AND checkpoint_id=? AND interrupt_key=? AND operator_uid=?",
        (*key, operator.uid),
    ).fetchone() is not None
    if starts_new_round(current, voted, mine, decisions, operator):
        conn.execute("DELETE FROM hitl_votes WHERE thread_id=? AND checkpoint_id=? AND interrupt_key=?", key)
    conn.execute(
        "INSERT INTO hitl_votes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*key, operator.uid, operator.display, interrupt.payload_hash, mine, decisions_json(decisions),
         now.isoformat()),
    )
    return votes_for(conn, thread.thread_id, thread.checkpoint_id, interrupt.key)

def round_decisions(
    conn: sqlite3.Connection, thread: PendingThread, interrupt: PendingInterrupt
) -> tuple[Decision, ...] | None:
    """The edit that opened this approval round (an edit clears older votes), if there was one."""
    return opening_edit(text for (text,) in conn.execute(
        "SELECT decisions FROM hitl_votes WHERE thread_id=? AND checkpoint_id=? AND interrupt_key=?",
        (thread.thread_id, thread.checkpoint_id, interrupt.key),
    ))


def opening_edit(votes_decisions: Iterable[str]) -> tuple[Decision, ...] | None:
    """Of a round's votes (their stored decisions), the edit that opened it, if there was one."""
    for text in votes_decisions:
        found = decisions_from(text)
        if any(d.kind is DecisionKind.EDIT for d in found):
            return found
    return None

def votes_for(conn: sqlite3.Connection, thread_id: str, checkpoint_id: str, key: str) -> list[Vote]:
    """Approvals gathered so far for one pending interrupt."""
    rows = conn.execute(
        "SELECT operator, operator_uid, voted_at FROM hitl_votes WHERE thread_id=? AND checkpoint_id=? "
        "AND interrupt_key=? ORDER BY voted_at", (thread_id, checkpoint_id, key),
    )
    return [Vote(*r) for r in rows]
