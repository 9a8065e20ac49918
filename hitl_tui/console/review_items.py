"""What the thread list shows: one row per pending interrupt, merged with the decisions recorded on it.

Why a row per interrupt and not per thread: an interrupt is the unit a person decides and the desk records
(`thread, checkpoint, interrupt`); a thread with parallel interrupts (per-call tool approvals, parallel nodes) has
several independent decisions waiting, each with its own action, risk and confidence. A batched pause (middleware
`action_requests`) is ONE interrupt answered by one submission, so it is one row whose actions are decided in turn.

A row's key names the checkpoint too, so a thread that pauses again gets a new row, and the old one can stay for a
while to show what happened to it (decided by X, resumed, failed). No Textual in here: pure data, tested directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from hitl_tui.console.item_state import ItemState
from hitl_tui.console.shown import bounded
from hitl_tui.decisions.decision import DecisionRecord, DecisionState
from hitl_tui.decisions.state import ItemKey, Voter
from hitl_tui.model import ActionRequest, DecisionKind, PendingInterrupt, PendingThread, ThreadStatus
from hitl_tui.policy.rules import HIGH_RISK

_SEP = "\x1f"  # never shown; thread ids may contain anything printable


def item_key(thread_id: str, checkpoint_id: str, interrupt_key: str) -> str:
    """The row key of one interrupt at one checkpoint (the same triple the ledger is unique on)."""
    return _SEP.join((thread_id, checkpoint_id, interrupt_key))


Order = tuple[str, str, int, str]
"""A row's place in display order and its key, flat: (checkpoint id, thread id, index, key). The book keeps 50k of
them sorted as batches arrive; Python sorts flat tuples whose first items are all strings far faster than nested
ones, and these hold the thread's own id strings instead of new ones."""


def row_order(checkpoint_id: str, thread_id: str, index: int, key: str) -> Order:
    return (checkpoint_id, thread_id, index, key)


def ledger_key(key: ItemKey) -> str:
    """The row key of a ledger key (thread, checkpoint, interrupt)."""
    return item_key(*key)


@dataclass(frozen=True)
class ReviewItem:
    """One row: an interrupt waiting for a person (or an unreadable thread), and what was decided on it."""

    key: str
    thread: PendingThread
    interrupt: PendingInterrupt | None  # None for an unreadable thread
    record: DecisionRecord | None = None  # the ledger's decision on this interrupt, if any
    pending: bool = True  # False once the DB no longer lists it as waiting (kept to show the outcome)
    local: str | None = None  # this console's own note: "submitting", "refused", "2/3 staged"
    assessment: Any = None  # the policy's view (hitl_tui.policy.rules.Assessment): risk, confirm, approvals, deadline
    voters: tuple[Voter, ...] = ()  # approvals gathered so far in an open four-eyes round (from the shared ledger)

    @property
    def shared(self) -> ItemState:
        """What the shared ledger says about this item (every console shows the same)."""
        return ItemState(self.record, self.voters)

    @property
    def order(self) -> Order:
        """Display order (see `Order`): oldest pause first (checkpoint ids are uuid6, time-ordered), a thread's
        interrupts in the order it raised them. Not cached on the row: the book keeps it in its order list."""
        thread = self.thread
        index = next((n for n, i in enumerate(thread.interrupts) if i is self.interrupt), 0)
        return row_order(thread.checkpoint_id, thread.thread_id, index, self.key)

    @property
    def actions(self) -> tuple[ActionRequest, ...]:
        return self.interrupt.actions if self.interrupt else ()

    @property
    def action_label(self) -> str:
        if self.interrupt is None:
            return "(unreadable)"
        names = [a.name for a in self.interrupt.actions] or [self.interrupt.node]
        return names[0] + (f" +{len(names) - 1}" if len(names) > 1 else "")

    @property
    def risk(self) -> str | None:
        """The policy's risk level when there is a policy view, else what the agent declared."""
        if self.assessment is not None:
            return str(self.assessment.risk)
        return self.interrupt.risk if self.interrupt else None

    @property
    def high_risk(self) -> bool:
        return (self.risk or "").lower() in HIGH_RISK

    @property
    def needs_confirmation(self) -> bool:
        """Approving (or editing) asks "are you sure?": high or critical risk, or a rule that says so."""
        return self.high_risk or bool(self.assessment is not None and self.assessment.confirm)

    @property
    def approvals_needed(self) -> int:
        return int(self.assessment.approvals) if self.assessment is not None else 1

    @property
    def decidable(self) -> bool:
        """Whether decision keys apply at all: a paused, listed item nobody has decided yet, or whose failed
        resume was reopened (the ledger refuses any other second decision, so the keys would only invite one)."""
        if self.interrupt is None or self.thread.status is not ThreadStatus.PAUSED or not self.pending:
            return False
        record = self.record  # a failed resume that saved nothing is reopened: it takes a new decision
        return record is None or (record.state is DecisionState.FAILED and record.reopened)

    def allowed(self, action_index: int) -> frozenset[DecisionKind]:
        """Decisions the payload allows for one action of this item."""
        if not self.decidable or not 0 <= action_index < len(self.actions):
            return frozenset()
        return self.actions[action_index].allowed

    @property
    def status(self) -> str:
        """waiting / decided by X / resuming / resumed / failed / unreadable, plus this console's own note."""
        if self.thread.status is ThreadStatus.UNREADABLE:
            return "unreadable"
        if self.record is not None or (self.voters and not self.local):
            return self.shared.label(self.approvals_needed)
        if self.local:
            return self.local
        return "waiting" if self.pending else "gone"

    @cached_property
    def haystack(self) -> str:
        """Lower-cased text the `/` filter searches: ids, graph, action names, node, risk, status and arguments."""
        parts = [self.thread.thread_id, self.thread.graph_id or "", self.status, self.risk or ""]
        if self.interrupt is not None:
            parts.append(self.interrupt.node)
            for a in self.interrupt.actions:
                parts.append(a.name)
                parts.append(a.description or "")
                parts.append(json.dumps(bounded(a.args), ensure_ascii=False)[:4000])
        if self.thread.error:
            parts.append(self.thread.error)
        return "\n".join(parts).lower()

    def matches(self, needle: str) -> bool:
        """Every word of the filter appears somewhere in the item."""
        return all(word in self.haystack for word in needle.lower().split())
