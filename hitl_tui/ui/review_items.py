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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from hitl_tui.decision import DecisionRecord, DecisionState
from hitl_tui.model import ActionRequest, DecisionKind, PendingInterrupt, PendingThread, ThreadStatus
from hitl_tui.ui.shown import bounded

GHOST_TTL = timedelta(minutes=10)  # how long a decided item stays listed after it left the DB's pending set
HIGH_RISK = frozenset({"high", "critical"})
_SEP = "\x1f"  # never shown; thread ids may contain anything printable


def item_key(thread_id: str, checkpoint_id: str, interrupt_key: str) -> str:
    """The row key of one interrupt at one checkpoint (the same triple the ledger is unique on)."""
    return _SEP.join((thread_id, checkpoint_id, interrupt_key))


_STATE_LABELS = {
    DecisionState.DECIDED: "decided",
    DecisionState.RESUMING: "resuming",
    DecisionState.PAUSED_AGAIN: "resumed, paused again",
    DecisionState.FINISHED: "resumed",
    DecisionState.FAILED: "failed",
    DecisionState.IN_DOUBT: "in doubt",
}


@dataclass(frozen=True)
class ReviewItem:
    """One row: an interrupt waiting for a person (or an unreadable thread), and what was decided on it."""

    key: str
    thread: PendingThread
    interrupt: PendingInterrupt | None  # None for an unreadable thread
    record: DecisionRecord | None = None  # the ledger's decision on this interrupt, if any
    pending: bool = True  # False once the DB no longer lists it as waiting (kept to show the outcome)
    local: str | None = None  # this console's own note: "submitting", "refused", "2/3 staged"

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
        return self.interrupt.risk if self.interrupt else None

    @property
    def high_risk(self) -> bool:
        return (self.risk or "").lower() in HIGH_RISK

    @property
    def decidable(self) -> bool:
        """Whether decision keys apply at all (a decided item still takes one, which the desk will refuse)."""
        return self.interrupt is not None and self.thread.status is ThreadStatus.PAUSED

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
        if self.record is not None:
            label = _STATE_LABELS.get(self.record.state, self.record.state.value)
            if self.record.state is DecisionState.DECIDED:
                label = f"{self.record.summary} by {self.record.operator}"
            elif self.record.state is DecisionState.FAILED and self.record.error:
                label = "failed"
            return label
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


@dataclass
class ItemBook:
    """The merged, ordered list of items: the reader's threads, the ledger's records and this console's notes."""

    clock: Callable[[], datetime]
    ghost_ttl: timedelta = GHOST_TTL
    items: dict[str, ReviewItem] = field(default_factory=dict)
    _threads: tuple[PendingThread, ...] = ()
    _records: dict[str, DecisionRecord] = field(default_factory=dict)
    _local: dict[str, str] = field(default_factory=dict)
    _ghosts: dict[str, ReviewItem] = field(default_factory=dict)

    def set_threads(self, threads: Sequence[PendingThread]) -> None:
        self._threads = tuple(threads)
        self._rebuild()

    def set_records(self, records: Iterable[DecisionRecord]) -> bool:
        """Take the ledger's latest records; True when anything shown changed."""
        fresh: dict[str, DecisionRecord] = {}
        for rec in records:
            key = item_key(rec.thread_id, rec.checkpoint_id, rec.interrupt_key)
            old = fresh.get(key)
            if old is None or rec.decided_at >= old.decided_at:
                fresh[key] = rec
        if fresh == self._records:
            return False
        self._records = fresh
        self._rebuild()
        return True

    def set_local(self, key: str, note: str | None) -> None:
        if note is None:
            self._local.pop(key, None)
        else:
            self._local[key] = note
        self._rebuild()

    def records(self) -> list[DecisionRecord]:
        return list(self._records.values())

    def ordered(self) -> list[ReviewItem]:
        return list(self.items.values())

    def counts(self) -> dict[str, int]:
        waiting = sum(1 for i in self.items.values() if i.pending and i.record is None and i.interrupt is not None)
        decided = sum(1 for i in self.items.values() if i.record is not None)
        unreadable = sum(1 for i in self.items.values() if i.interrupt is None)
        return {"waiting": waiting, "decided": decided, "unreadable": unreadable}

    def _rebuild(self) -> None:
        now = self.clock()
        items: dict[str, ReviewItem] = {}
        for thread in self._threads:
            if thread.status is ThreadStatus.UNREADABLE:
                key = item_key(thread.thread_id, thread.checkpoint_id, "unreadable")
                items[key] = ReviewItem(key, thread, None)
                continue
            if thread.status is not ThreadStatus.PAUSED:
                continue
            for interrupt in thread.interrupts:
                key = item_key(thread.thread_id, thread.checkpoint_id, interrupt.key)
                items[key] = self._with_notes(ReviewItem(key, thread, interrupt, pending=True))
        # Items that left the pending set stay while there is something to say about them.
        for key, old in list(self.items.items()) + list(self._ghosts.items()):
            if key in items:
                continue
            record = self._records.get(key)
            if record is None and key not in self._local:
                continue
            if record is not None and now - record.decided_at > self.ghost_ttl:
                continue
            items[key] = self._with_notes(ReviewItem(key, old.thread, old.interrupt, pending=False))
        self._ghosts = {k: v for k, v in items.items() if not v.pending}
        self.items = _in_list_order(items)

    def _with_notes(self, item: ReviewItem) -> ReviewItem:
        record, local = self._records.get(item.key), self._local.get(item.key)
        if record is None and local is None:
            return item
        return ReviewItem(item.key, item.thread, item.interrupt, record, item.pending, local)


def _in_list_order(items: dict[str, ReviewItem]) -> dict[str, ReviewItem]:
    # Oldest pause first (checkpoint ids are uuid6, time-ordered); a thread's interrupts in the order it raised them.
    order = {k: i for i, k in enumerate(items)}
    ranked = sorted(items.values(), key=lambda it: (it.thread.checkpoint_id, it.thread.thread_id, order[it.key]))
    return {it.key: it for it in ranked}
