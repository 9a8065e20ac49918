"""What `hitl-tui watch --jsonl` prints: events made from what the console's loops report. No Textual here.

The console's `DBWatcher` (hitl_tui/console/watchers.py, Textual-free) polls the checkpoint DB and the ledger;
`EventTracker` turns its reports into events for scripts (pager hooks, chat notifications):

- `paused`: an interrupt is waiting for a person (those already waiting when the watch starts carry
  `"backlog": true`);
- `decided`, `resumed`, `failed`, `in_doubt`: a decision recorded in the shared ledger, by any console, CLI or
  policy, and what became of its resume (`resuming` while a resumer works on it);
- `escalated`: a waiting item passed 50% or 80% of its deadline, or is overdue (`level`: "50%", "80%", "overdue");
  a `paused` event carries the level the item had already reached when first seen (or null).

Decisions made before the watch started are history, not news: they produce no events.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from hitl_tui.config import Config
from hitl_tui.decisions.decision import DecisionRecord
from hitl_tui.decisions.decision import DecisionState as RecordState
from hitl_tui.decisions.state import STATUS_OF, item_key
from hitl_tui.model import PendingInterrupt, PendingThread, ThreadStatus
from hitl_tui.policy.timeouts import LEVEL_RANK, Escalation, escalation_for

Event = dict[str, Any]
_LEVEL_NAMES = {"half": "50%", "urgent": "80%", "overdue": "overdue"}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class EventTracker:
    """Remembers what was already said (pending items, decision states, escalation levels) and says what's new."""

    def __init__(self, config: Config, clock: Callable[[], datetime]) -> None:
        self._config = config
        self._clock = clock
        self._threads: dict[str, PendingThread] = {}
        self._items: dict[str, tuple[PendingThread, PendingInterrupt]] = {}
        self._levels: dict[str, str] = {}
        self._states: dict[str, RecordState] | None = None  # None until the first records (the baseline) arrive
        self._loaded = False

    # -- the checkpoint DB ---------------------------------------------------------------------------------------

    def threads_read(self, threads: tuple[PendingThread, ...], changed: frozenset[str], *, complete: bool,
                     full: bool) -> list[Event]:
        """A read of the DB (see watchers.ThreadsRead): `paused` events for interrupts not seen before."""
        if not complete or full or not changed:  # a batch of the first read, a full re-read, or the final word
            seen = {t.thread_id: t for t in threads}
            if complete:
                self._threads = seen
            else:
                self._threads.update(seen)
        else:
            touched = {t.thread_id: t for t in threads if t.thread_id in changed}
            for tid in changed:
                if tid in touched:
                    self._threads[tid] = touched[tid]
                else:
                    self._threads.pop(tid, None)
        backlog = not self._loaded
        self._loaded = self._loaded or complete
        items = {
            item_key(t.thread_id, t.checkpoint_id, i.key): (t, i)
            for t in self._threads.values() if t.status is ThreadStatus.PAUSED for i in t.interrupts
        }
        now = self._clock()
        events = []
        for key, (thread, interrupt) in items.items():
            if key in self._items:
                continue
            pressure = self._escalation(thread, interrupt, now)
            self._levels[key] = pressure.level if pressure else "ok"
            events.append(self._paused(thread, interrupt, pressure, now, backlog=backlog))
        for key in set(self._items) - set(items):
            self._levels.pop(key, None)
        self._items = items
        return events

    def _paused(self, thread: PendingThread, interrupt: PendingInterrupt, pressure: Escalation | None,
                now: datetime, *, backlog: bool) -> Event:
        return {
            **self._about(thread, interrupt, "paused", now),
            "paused_at": _iso(thread.paused_at),
            "risk": interrupt.risk,
            "confidence": interrupt.confidence,
            "deadline_at": _iso(pressure.deadline_at) if pressure else None,
            "level": _LEVEL_NAMES.get(pressure.level) if pressure else None,  # already past 50%, 80%, overdue
            "backlog": backlog,
        }

    @staticmethod
    def _about(thread: PendingThread, interrupt: PendingInterrupt, event: str, now: datetime) -> Event:
        return {
            "event": event,
            "at": now.isoformat(),
            "thread_id": thread.thread_id,
            "graph_id": thread.graph_id,
            "checkpoint_id": thread.checkpoint_id,
            "interrupt_id": interrupt.key,
            "node": interrupt.node,
            "action": ", ".join(a.name for a in interrupt.actions) or None,
        }

    # -- deadlines -----------------------------------------------------------------------------------------------

    def _escalation(self, thread: PendingThread, interrupt: PendingInterrupt, now: datetime) -> Escalation | None:
        try:
            return escalation_for(self._config, thread, interrupt, now)
        except Exception:  # a rule that can't be applied to this payload: no deadline to report
            return None

    def tick(self) -> list[Event]:
        """`escalated` events for waiting items whose deadline pressure rose since the last look."""
        now = self._clock()
        events = []
        for key, (thread, interrupt) in self._items.items():
            pressure = self._escalation(thread, interrupt, now)
            if pressure is None or LEVEL_RANK[pressure.level] <= LEVEL_RANK[self._levels.get(key, "ok")]:
                continue
            self._levels[key] = pressure.level
            events.append({
                **self._about(thread, interrupt, "escalated", now),
                "level": _LEVEL_NAMES[pressure.level],
                "deadline_at": pressure.deadline_at.isoformat(),
                "seconds_left": round(pressure.seconds_left, 3),
            })
        return events

    # -- the ledger ----------------------------------------------------------------------------------------------

    def records_read(self, records: tuple[DecisionRecord, ...]) -> list[Event]:
        """The ledger's recent decisions: an event for each new decision and each change of its state."""
        if self._states is None:
            self._states = {r.decision_id: r.state for r in records}
            return []
        now = self._clock()
        events = []
        for record in sorted(records, key=lambda r: r.decided_at):
            before = self._states.get(record.decision_id)
            if before is record.state:
                continue
            self._states[record.decision_id] = record.state
            if before is None and record.state is not RecordState.DECIDED:
                events.append(self._decision("decided", record, now))  # it moved on between two looks
            events.append(self._decision(STATUS_OF[record.state], record, now))
        return events

    @staticmethod
    def _decision(event: str, record: DecisionRecord, now: datetime) -> Event:
        out: Event = {
            "event": event,
            "at": now.isoformat(),
            "thread_id": record.thread_id,
            "graph_id": record.graph_id,
            "checkpoint_id": record.checkpoint_id,
            "interrupt_id": record.interrupt_key,
            "decision_id": record.decision_id,
            "decision": record.summary,
            "decided_by": record.operator,
            "decided_at": record.decided_at.isoformat(),
        }
        if record.approvals_needed > 1:
            out["votes"], out["votes_needed"] = record.approvals, record.approvals_needed
        if event == "resumed":
            out["outcome"] = record.state.value
        if event in ("failed", "in_doubt"):
            out["error"] = record.error
        return out
