"""Where each pending item stands in the shared ledger: waiting, approved n/m, decided by X, resuming, failed.

Read from the DB every console and CLI shares (`hitl_decisions`, `hitl_votes`, `hitl_acks`), so a partial
four-eyes approval made in one console shows in every other one and in `hitl-tui list`. No Textual here.
An item is one pending interrupt at one checkpoint, keyed like the console's rows (`item_key`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hitl_tui.db import connect, explain_sqlite_error
from hitl_tui.decisions.decision import DecisionState as RecordState
from hitl_tui.model import DecisionKind, PendingInterrupt, PendingThread

_SEP = "\x1f"  # never shown; thread ids may contain anything printable

# What a recorded decision's state is called on an item and in `watch` events.
STATUS_OF = {
    RecordState.DECIDED: "decided",
    RecordState.RESUMING: "resuming",
    RecordState.PAUSED_AGAIN: "resumed",
    RecordState.FINISHED: "resumed",
    RecordState.FAILED: "failed",
    RecordState.IN_DOUBT: "in_doubt",
}


# "approve by alice" reads badly in a column: decisions in the past tense, the same words in the console and the CLI.
PAST = {
    DecisionKind.APPROVE.value: "approved",
    DecisionKind.REJECT.value: "rejected",
    DecisionKind.EDIT.value: "edited",
    DecisionKind.FEEDBACK.value: "answered",
    DecisionKind.IGNORE.value: "ignored",
}


def approvals_text(given: int, needed: int) -> str:
    """A four-eyes round still gathering approvals, worded once for the console and the CLI: "approved 1/2"."""
    return f"approved {given}/{needed}"


def decided_text(kinds: Iterable[str], who: str) -> str:
    """Who decided what, worded once for the console and the CLI: "approved by alice", "edited+approved by bob"."""
    return "+".join(PAST.get(k, k) for k in sorted(set(kinds))) + f" by {who}"


def item_key(thread_id: str, checkpoint_id: str, interrupt_key: str) -> str:
    """The key of one interrupt at one checkpoint (the same triple the ledger is unique on)."""
    return _SEP.join((thread_id, checkpoint_id, interrupt_key))


@dataclass(frozen=True)
class DecisionState:
    """One item's place in the ledger. `status`: waiting | voting | decided | resuming | resumed | failed |
    in_doubt."""

    status: str = "waiting"
    decision: str | None = None  # approve, reject+approve, ... once decided
    decided_by: str | None = None
    decided_at: str | None = None
    decision_id: str | None = None
    votes: int = 0  # four-eyes approvals so far
    votes_needed: int = 1
    voters: tuple[str, ...] = ()
    error: str | None = None  # why the resume failed, or why it is in doubt
    acknowledged_by: str | None = None  # in_doubt: who checked the agent's side effects

    @property
    def label(self) -> str:
        """One short phrase for a table cell or a status line."""
        if self.status == "voting":
            return f"{approvals_text(self.votes, self.votes_needed)} ({', '.join(self.voters)})"
        if self.status == "decided":
            return decided_text((self.decision or "").split("+"), self.decided_by or "")
        if self.status == "failed":
            return f"failed: {self.error}" if self.error else "failed"
        if self.status == "in_doubt":
            return f"in doubt, checked by {self.acknowledged_by}" if self.acknowledged_by else "in doubt"
        return self.status

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status, "decision": self.decision, "decided_by": self.decided_by,
            "decided_at": self.decided_at, "decision_id": self.decision_id, "votes": self.votes,
            "votes_needed": self.votes_needed, "voters": list(self.voters), "error": self.error,
            "acknowledged_by": self.acknowledged_by,
        }


class _HasDBPath(Protocol):
    db_path: Path


Item = tuple[PendingThread, PendingInterrupt]
VotesNeeded = Callable[[PendingThread, PendingInterrupt], int]


def decision_states(
    ledger_or_db: Path | sqlite3.Connection | _HasDBPath, items: Iterable[Item], *,
    votes_needed: VotesNeeded | None = None,
) -> dict[str, DecisionState]:
    """Each item's state, keyed by `item_key`. `ledger_or_db`: the checkpoint DB's path, an open connection to
    it, or a ledger (anything with `db_path`). `votes_needed`: how many approvals the policy asks of an item
    (the votes table doesn't store it); without it, an item with votes shows them out of at least 2."""
    wanted = {item_key(t.thread_id, t.checkpoint_id, i.key): (t, i) for t, i in items}
    if not wanted:
        return {}
    if isinstance(ledger_or_db, sqlite3.Connection):
        return _read(ledger_or_db, wanted, votes_needed)
    path = ledger_or_db if isinstance(ledger_or_db, Path) else ledger_or_db.db_path
    conn = connect(path, readonly=True)
    try:
        return _read(conn, wanted, votes_needed)
    except sqlite3.Error as err:
        raise explain_sqlite_error(path, err) from None
    finally:
        conn.close()


def _read(conn: sqlite3.Connection, wanted: dict[str, Item], votes_needed: VotesNeeded | None
          ) -> dict[str, DecisionState]:
    threads = json.dumps(sorted({t.thread_id for t, _ in wanted.values()}))
    states = {key: DecisionState() for key in wanted}
    # One read transaction: the votes, decisions and acks agree with each other.
    conn.execute("BEGIN")
    try:
        votes = _rows(conn, "SELECT thread_id, checkpoint_id, interrupt_key, operator FROM hitl_votes "
                            "WHERE thread_id IN (SELECT value FROM json_each(?)) ORDER BY voted_at", threads)
        # In rowid order: a reopened interrupt's latest attempt is the one that stands.
        decisions = _rows(conn, "SELECT thread_id, checkpoint_id, interrupt_key, state, decisions, operator, "
                                "decided_at, decision_id, error, approvals, approvals_needed FROM hitl_decisions "
                                "WHERE thread_id IN (SELECT value FROM json_each(?)) ORDER BY rowid", threads)
        acks = dict(_rows(conn, "SELECT a.decision_id, a.operator FROM hitl_acks AS a JOIN hitl_decisions AS d "
                                "ON d.decision_id = a.decision_id WHERE d.thread_id IN "
                                "(SELECT value FROM json_each(?))", threads))
    finally:
        conn.execute("COMMIT")
    voters: dict[str, list[str]] = {}
    for thread_id, checkpoint_id, interrupt_key, operator in votes:
        voters.setdefault(item_key(thread_id, checkpoint_id, interrupt_key), []).append(operator)
    for key, names in voters.items():
        if key in states:
            thread, interrupt = wanted[key]
            needed = votes_needed(thread, interrupt) if votes_needed else max(len(names) + 1, 2)
            states[key] = DecisionState("voting", decision="approve", votes=len(names), votes_needed=needed,
                                        voters=tuple(names))
    for (thread_id, checkpoint_id, interrupt_key, state, kinds, operator, decided_at, decision_id, error,
         approvals, approvals_needed) in decisions:
        key = item_key(thread_id, checkpoint_id, interrupt_key)
        if key not in states:
            continue
        record_state = RecordState(state)
        states[key] = DecisionState(
            STATUS_OF[record_state], decision="+".join(sorted({d["kind"] for d in json.loads(kinds)})),
            decided_by=operator, decided_at=decided_at, decision_id=decision_id, votes=approvals,
            votes_needed=approvals_needed, voters=tuple(voters.get(key, ())), error=error,
            acknowledged_by=acks.get(decision_id),
        )
    return states


def _rows(conn: sqlite3.Connection, query: str, threads: str) -> Sequence[tuple[Any, ...]]:
    """The query's rows; none when the table doesn't exist yet (nobody has decided anything in this DB)."""
    try:
        return conn.execute(query, (threads,)).fetchall()
    except sqlite3.OperationalError as err:
        if "no such table" in str(err):
            return []
        raise


@dataclass(frozen=True)
class Voter:
    """One approval in a four-eyes round that has not reached its quorum yet."""

    operator: str
    operator_uid: int


ItemKey = tuple[str, str, str]  # (thread_id, checkpoint_id, interrupt_key): what the ledger is unique on


def open_votes(conn: sqlite3.Connection) -> dict[ItemKey, tuple[Voter, ...]]:
    """Approvals of every four-eyes round still open (no decision recorded yet), oldest vote first: what the
    console reads each tick (the rounds are few, so no list of items is needed)."""
    try:
        rows = conn.execute(
            "SELECT v.thread_id, v.checkpoint_id, v.interrupt_key, v.operator, v.operator_uid FROM hitl_votes AS v "
            "WHERE NOT EXISTS (SELECT 1 FROM hitl_decisions AS d WHERE d.thread_id = v.thread_id "
            "AND d.checkpoint_id = v.checkpoint_id AND d.interrupt_key = v.interrupt_key) ORDER BY v.voted_at"
        ).fetchall()
    except sqlite3.OperationalError as err:
        if "no such table" in str(err):
            return {}  # nobody has decided anything in this DB yet
        raise
    votes: dict[ItemKey, list[Voter]] = {}
    for thread_id, checkpoint_id, key, operator, uid in rows:
        votes.setdefault((thread_id, checkpoint_id, key), []).append(Voter(operator, uid))
    return {k: tuple(v) for k, v in votes.items()}
