"""Deadlines, escalation marks, and the sweeper that rejects what nobody decided in time.

A pending item's deadline is `paused_at + deadline_seconds` (from its risk rule, else
`policy.default_deadline_seconds`). Before the deadline the item escalates -- past 50% of its time it is
"half", past 80% "urgent" -- so the console can mark and sort it up; at the deadline it is "overdue" and the
sweeper (run by `hitl-tui worker` each pass) rejects it with the reason "timed out".

A timeout never approves (RELIABILITY promise 4). It goes through the desk, so it is the same compare-and-set
as a person's decision: when a person decides first, the timeout loses (DecisionRefused) and is not counted;
when the timeout wins, the person is told it was already decided. Where a payload can't be rejected, the
sweeper sends the safest answer it allows that doesn't approve (ignore, else feedback "timed out"); where even
that is impossible, the item is skipped and reported, never approved.

`paused_at` is the thread's latest checkpoint: a thread that is resumed and pauses again starts a new deadline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from hitl_tui.clock import Clock, utc_now
from hitl_tui.config import Config, check_policy
from hitl_tui.db_target import DbTarget
from hitl_tui.decisions.decision import Decision
from hitl_tui.decisions.resume_values import InvalidDecision, plan_resume
from hitl_tui.errors import DecisionRefused
from hitl_tui.identity import Operator
from hitl_tui.model import DecisionKind, PendingInterrupt, PendingThread, ThreadStatus
from hitl_tui.policy.rules import Assessment, assess

if TYPE_CHECKING:
    from hitl_tui.decisions.desk import DecisionDesk

Level = Literal["ok", "half", "urgent", "overdue"]

HALF_MARK = 0.5
URGENT_MARK = 0.8
TIMEOUT_REASON = "timed out"
LEVEL_RANK: dict[str, int] = {"ok": 0, "half": 1, "urgent": 2, "overdue": 3}
# The answers a timeout may give, safest first. APPROVE and EDIT are deliberately absent.
TIMEOUT_KINDS: tuple[DecisionKind, ...] = (DecisionKind.REJECT, DecisionKind.IGNORE, DecisionKind.FEEDBACK)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass(frozen=True)
class Escalation:
    """How close one pending item is to its deadline."""

    level: Level
    seconds_left: float  # negative once overdue
    fraction: float  # share of the allowed time used so far (>= 1.0 when overdue)
    deadline_at: datetime

    @property
    def rank(self) -> int:
        """0 ok, 1 half, 2 urgent, 3 overdue: sort descending to put the most pressing first."""
        return LEVEL_RANK[self.level]


def escalation(deadline_at: datetime, paused_at: datetime, now: datetime) -> Escalation:
    """The escalation level at `now`: overdue at or after the deadline, urgent from 80%, half from 50%."""
    deadline_at, paused_at, now = _utc(deadline_at), _utc(paused_at), _utc(now)
    total = (deadline_at - paused_at).total_seconds()
    left = (deadline_at - now).total_seconds()
    used = (now - paused_at).total_seconds()
    if left <= 0:
        level: Level = "overdue"
        fraction = used / total if total > 0 else 1.0
        fraction = max(fraction, 1.0)
    else:
        fraction = max(used / total, 0.0) if total > 0 else 0.0
        level = "urgent" if fraction >= URGENT_MARK else "half" if fraction >= HALF_MARK else "ok"
    return Escalation(level=level, seconds_left=left, fraction=fraction, deadline_at=deadline_at)


def deadline_at(thread: PendingThread, assessment: Assessment) -> datetime | None:
    """When the item times out; None without a deadline or without a pause time."""
    if assessment.deadline_seconds is None or thread.paused_at is None:
        return None
    return _utc(thread.paused_at) + timedelta(seconds=assessment.deadline_seconds)


def escalation_for(
    config: Config, thread: PendingThread, interrupt: PendingInterrupt, now: datetime,
    assessment: Assessment | None = None,
) -> Escalation | None:
    """The console's entry point: escalation of one pending interrupt at `now`, None when it has no deadline."""
    assessment = assessment or assess(config, thread, interrupt)
    due = deadline_at(thread, assessment)
    if due is None or thread.paused_at is None:
        return None
    return escalation(due, thread.paused_at, now)


def escalation_sort_key(item: Escalation | None) -> tuple[int, float]:
    """Most pressing first: overdue, urgent, half, ok, then items without a deadline; sooner first within a level."""
    if item is None:
        return (1, float("inf"))
    return (-item.rank, item.seconds_left)


def timeout_decisions(
    interrupt: PendingInterrupt, config: Config, graph_id: str | None
) -> list[Decision] | None:
    """The safest non-approving answer this interrupt accepts (one per action), or None when there is none."""
    graph = config.graph(graph_id)
    options: list[list[DecisionKind]] = []
    for action in interrupt.actions:
        kinds = [k for k in TIMEOUT_KINDS if k in action.allowed]
        if not kinds:
            return None
        options.append(kinds)
    # Most payloads have one action; a batch takes the safest kind each action allows. plan_resume is the
    # authority on what a payload accepts (a breakpoint can reject only with a reject_update configured).
    candidates = [[(i, kinds[0]) for i, kinds in enumerate(options)]]
    if len(options) == 1:
        candidates = [[(0, k)] for k in options[0]]
    for candidate in candidates:
        decisions = [Decision(kind, i, None, TIMEOUT_REASON if kind is not DecisionKind.IGNORE else None)
                     for i, kind in candidate]
        try:
            plan_resume(interrupt, decisions, graph=graph, decision_id="timeout-probe", operator="policy:timeout")
        except InvalidDecision:
            continue
        assert all(d.kind in TIMEOUT_KINDS for d in decisions)  # never approve, whatever changes above
        return decisions
    return None


Due = tuple[PendingInterrupt, Escalation]


@dataclass(frozen=True)
class Skipped:
    """An overdue item the sweeper could not time out, and why (one sentence)."""

    thread_id: str
    interrupt_key: str
    reason: str


class TimeoutSweeper:
    """Rejects overdue pending items through the desk; one `sweep()` per worker pass."""

    def __init__(self, config: Config, db: DbTarget, desk: DecisionDesk, *, clock: Clock | None = None) -> None:
        from hitl_tui.decisions.backend import ThreadReader, open_thread_reader

        check_policy(config.policy)  # a rule that can't be applied must not silently never time out
        self.config = config
        self.db = db
        self.desk = desk
        self._clock = clock or utc_now
        self.actor = Operator.policy("timeout")
        self.skipped: list[Skipped] = []  # from the last sweep
        self.refused = 0  # items a person decided first, in the last sweep
        self._reader: ThreadReader | None = None
        self._enabled = config.policy.default_deadline_seconds is not None or any(
            r.deadline_seconds is not None for r in config.policy.rules
        )
        if self._enabled:
            self._reader = open_thread_reader(db, config)  # SQLite file or Postgres URL

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _threads(self) -> Sequence[PendingThread]:
        assert self._reader is not None
        self._reader.poll()  # cheap when nothing changed; the first call reads everything
        return self._reader.threads

    def overdue(self, now: datetime | None = None) -> list[tuple[PendingThread, list[Due]]]:
        """Paused threads with their overdue interrupts at `now` (default: the clock)."""
        if self._reader is None:
            return []
        now = now or self._clock()
        found = []
        for thread in self._threads():
            if thread.status is not ThreadStatus.PAUSED:
                continue
            due = []
            for interrupt in thread.interrupts:
                esc = escalation_for(self.config, thread, interrupt, now)
                if esc is not None and esc.level == "overdue":
                    due.append((interrupt, esc))
            if due:
                found.append((thread, due))
        return found

    def _decided_here(self, threads: Iterable[PendingThread]) -> set[tuple[str, str]]:
        """(thread, checkpoint) pairs with a recorded decision: their resume is coming, leave them alone."""
        records = self.desk.records_for([t.thread_id for t in threads])
        return {(r.thread_id, r.checkpoint_id) for r in records}

    def sweep(self) -> int:
        """Time out every overdue item; returns how many items this sweep rejected (a person's win isn't one)."""
        self.skipped, self.refused = [], 0
        due = self.overdue()
        if not due:
            return 0
        decided = self._decided_here(t for t, _ in due)
        timed_out = 0
        for thread, items in due:
            if (thread.thread_id, thread.checkpoint_id) in decided:
                # Someone decided part of this pause; another decision on the same checkpoint would only fail
                # when the first resumes. If the item is still pending after that, it gets a fresh deadline.
                self.refused += len(items)
                continue
            batch = []
            for interrupt, esc in items:
                decisions = timeout_decisions(interrupt, self.config, thread.graph_id)
                if decisions is None:
                    self.skipped.append(Skipped(
                        thread.thread_id, interrupt.key,
                        f"Thread {thread.thread_id} is past its deadline, but its payload accepts no answer that "
                        "doesn't approve; a person must decide it.",
                    ))
                    continue
                batch.append((interrupt, decisions, esc))
            if not batch:
                continue
            first = batch[0][2]
            extra = {
                "reason": TIMEOUT_REASON,
                "deadline_at": first.deadline_at.isoformat(),
                "paused_at": _utc(thread.paused_at).isoformat() if thread.paused_at else None,
                "overdue_seconds": round(-first.seconds_left, 3),
            }
            try:
                self.desk.decide_many(
                    thread, [(i, d) for i, d, _ in batch], actor=self.actor, event="timeout", extra=extra,
                )
            except DecisionRefused:
                self.refused += len(batch)  # a person (or the thread itself) got there first: fine
                continue
            except InvalidDecision as err:
                self.skipped.append(Skipped(thread.thread_id, batch[0][0].key, err.message))
                continue
            timed_out += len(batch)
        return timed_out
