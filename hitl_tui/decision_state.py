"""Where each pending item stands in the SHARED ledger: waiting, approvals gathered (n of m, by whom), decided by
whom, resuming, resumed, failed (with the error), in doubt.

Read from the ledger tables in the checkpoint DB (`hitl_decisions`, `hitl_votes`, `hitl_acks`), never from what one
console remembers, so every console and `hitl-tui list` say the same thing. No Textual here.

    states = decision_states(ledger, [(thread_id, checkpoint_id, interrupt_key), ...])
    states.get(key, WAITING).label(approvals_needed)
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from hitl_tui.decision import DecisionRecord, DecisionState
from hitl_tui.model import DecisionKind

ItemKey = tuple[str, str, str]  # (thread_id, checkpoint_id, interrupt_key): what the ledger is unique on

# "approve by alice" reads badly in a column: decisions in the past tense.
PAST = {
    DecisionKind.APPROVE.value: "approved",
    DecisionKind.REJECT.value: "rejected",
    DecisionKind.EDIT.value: "edited",
    DecisionKind.FEEDBACK.value: "answered",
    DecisionKind.IGNORE.value: "ignored",
}
_AFTER = {
    DecisionState.RESUMING: "resuming",
    DecisionState.PAUSED_AGAIN: "resumed",  # and the thread paused again (a new item)
    DecisionState.FINISHED: "resumed",
    DecisionState.FAILED: "failed",
    DecisionState.IN_DOUBT: "in doubt",
}


class LedgerReader(Protocol):
    """What `decision_states` needs of a ledger (`DecisionLedger` or the read-only `LedgerView`)."""

    @property
    def connection(self) -> sqlite3.Connection: ...
    def records_for(self, keys: Iterable[ItemKey]) -> list[DecisionRecord]: ...


@dataclass(frozen=True)
class Voter:
    """One approval in a four-eyes round that has not reached its quorum yet."""

    operator: str
    operator_uid: int


@dataclass(frozen=True)
class ItemState:
    """The shared state of one pending item: its decision record, or the approvals gathered so far."""

    record: DecisionRecord | None = None
    voters: tuple[Voter, ...] = ()

    @property
    def decided(self) -> bool:
        return self.record is not None

    @property
    def reason(self) -> str | None:
        """The text a reject (or feedback) carried, for showing next to the decision."""
        if self.record is None:
            return None
        texts = [d.text for d in self.record.decisions if d.text]
        return "; ".join(texts) or None

    def label(self, approvals_needed: int = 1) -> str:
        """A short status: waiting, approved 1/2, rejected by alice, resuming, resumed, failed, in doubt."""
        record = self.record
        if record is None:
            if self.voters:
                return f"approved {len(self.voters)}/{max(approvals_needed, len(self.voters) + 1)}"
            return "waiting"
        if record.state is DecisionState.DECIDED:
            return self.decided_by(short=True)
        if record.state is DecisionState.IN_DOUBT and record.acknowledged_by:
            return "doubt checked"
        return _AFTER.get(record.state, record.state.value)

    def decided_by(self, *, short: bool = False) -> str:
        """"approved by alice@host", "rejected by policy:timeout" ("" before a decision); `short` drops the host,
        for a status column (the details and the audit log keep it)."""
        if self.record is None:
            return ""
        kinds = sorted({d.kind.value for d in self.record.decisions})
        who = self.record.operator.split("@", 1)[0] if short else self.record.operator
        return "+".join(PAST.get(k, k) for k in kinds) + f" by {who}"

    def who(self) -> str:
        """Who acted: the approvers so far, or who decided."""
        if self.record is not None:
            return self.record.operator
        return ", ".join(v.operator for v in self.voters)


WAITING = ItemState()


def open_votes(conn: sqlite3.Connection) -> dict[ItemKey, tuple[Voter, ...]]:
    """Approvals of every four-eyes round still open (no decision recorded yet), oldest vote first."""
    try:
        rows = conn.execute(
            "SELECT v.thread_id, v.checkpoint_id, v.interrupt_key, v.operator, v.operator_uid FROM hitl_votes AS v "
            "WHERE NOT EXISTS (SELECT 1 FROM hitl_decisions AS d WHERE d.thread_id = v.thread_id "
            "AND d.checkpoint_id = v.checkpoint_id AND d.interrupt_key = v.interrupt_key) "
            "ORDER BY v.voted_at"
        ).fetchall()
    except sqlite3.OperationalError as err:
        if "no such table" in str(err):
            return {}  # nobody has decided anything in this DB yet
        raise
    votes: dict[ItemKey, list[Voter]] = {}
    for thread_id, checkpoint_id, key, operator, uid in rows:
        votes.setdefault((thread_id, checkpoint_id, key), []).append(Voter(operator, uid))
    return {k: tuple(v) for k, v in votes.items()}


def merge_states(
    records: Iterable[DecisionRecord], votes: dict[ItemKey, tuple[Voter, ...]], keys: Iterable[ItemKey] | None = None
) -> dict[ItemKey, ItemState]:
    """Per item: its newest record, else its open votes (only `keys`, when given). Items with neither are absent."""
    wanted = set(keys) if keys is not None else None
    states: dict[ItemKey, ItemState] = {}
    for key, voters in votes.items():
        if wanted is None or key in wanted:
            states[key] = ItemState(voters=voters)
    newest: dict[ItemKey, DecisionRecord] = {}
    for rec in records:
        key = (rec.thread_id, rec.checkpoint_id, rec.interrupt_key)
        if (wanted is None or key in wanted) and (key not in newest or rec.decided_at >= newest[key].decided_at):
            newest[key] = rec
    for key, rec in newest.items():
        states[key] = ItemState(record=rec)
    return states


def decision_states(ledger: LedgerReader, keys: Iterable[ItemKey]) -> dict[ItemKey, ItemState]:
    """The shared state of each item in `keys`; an item nobody acted on is absent (use `WAITING`)."""
    wanted = list(dict.fromkeys(keys))
    return merge_states(ledger.records_for(wanted), open_votes(ledger.connection), wanted)


def keys_json(keys: Iterable[ItemKey]) -> str:
    """Keys as a JSON array of [thread, checkpoint, interrupt] for `json_each` (one query, any number of keys)."""
    return json.dumps([list(k) for k in keys])


def as_json(state: ItemState, approvals_needed: int = 1) -> dict[str, Any]:
    """An item's state for `list --json` and other scripts."""
    record = state.record
    return {
        "state": record.state.value if record else ("approving" if state.voters else "waiting"),
        "label": state.label(approvals_needed),
        "decided_by": record.operator if record else None,
        "decision": "+".join(sorted({d.kind.value for d in record.decisions})) if record else None,
        "reason": state.reason,
        "error": record.error if record else None,
        "approvals": record.approvals if record else len(state.voters),
        "approvals_needed": record.approvals_needed if record else approvals_needed,
        "approved_by": [v.operator for v in state.voters],
    }
