"""The console's decision thread: decisions and acknowledgements queued by the UI, run through the desk one
after another (a burst is recorded with one commit). No Textual here."""

from __future__ import annotations

import queue
from collections.abc import Callable
from dataclasses import dataclass

from hitl_tui.console.loop_events import Acknowledged, Decider, DecisionOutcome, Emit, SourceProblem, sentence
from hitl_tui.decisions.decision import Decision
from hitl_tui.decisions.resume_values import InvalidDecision
from hitl_tui.errors import DecisionRefused
from hitl_tui.model import PendingInterrupt, PendingThread

# -- decisions -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AckJob:
    """A person checked an in-doubt resume (the console's acknowledge key)."""

    key: str
    decision_id: str


@dataclass(frozen=True)
class DecisionJob:
    key: str
    thread: PendingThread
    interrupt: PendingInterrupt
    decisions: tuple[Decision, ...]


GROUP_COMMIT_MAX = 100  # decisions waiting in the queue that are recorded with one commit


class DecisionRunner:
    """Runs decisions one at a time, in the order they were made, on a desk built in this thread."""

    def __init__(self, make_desk: Callable[[], Decider], emit: Emit) -> None:
        self._make_desk = make_desk
        self._emit = emit
        self._jobs: queue.Queue[DecisionJob | AckJob | None] = queue.Queue()
        self._desk: Decider | None = None

    def submit(self, job: DecisionJob | AckJob) -> None:
        self._jobs.put(job)

    def warm_up(self) -> None:
        """Build the desk now (it loads LangGraph), so the first decision is not slowed by it."""
        self._jobs.put(None)

    def stop(self) -> None:
        self._jobs.put(_STOP)  # type: ignore[arg-type]

    def run(self) -> None:
        held: list[object] = []  # a job taken off the queue (while grouping decisions) but not run yet
        try:
            while True:
                if not held and self._jobs.empty():  # a burst is over: its events go to the log first
                    self._flush_audit(idle=True)
                job = held.pop() if held else self._jobs.get()
                if job is _STOP:
                    return
                if job is None:
                    self._desk_or_none()
                    continue
                if isinstance(job, AckJob):
                    self._acknowledge(job)
                    continue
                assert isinstance(job, DecisionJob)
                # Decisions queued behind this one (keys pressed while it ran) share its commit: group commit.
                group = [job]
                while len(group) < GROUP_COMMIT_MAX:
                    try:
                        more = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if not isinstance(more, DecisionJob):
                        held.append(more)
                        break
                    group.append(more)
                self._decide(group)
                self._flush_audit(idle=False)  # mid-burst: only when the last copy is AUDIT_FLUSH_INTERVAL old
        finally:
            if self._desk is not None:
                self._desk.flush_audit_if_due(idle=True)  # the last burst's events, before the window closes
                self._desk.close()

    def _acknowledge(self, job: AckJob) -> None:
        try:
            self._emit(Acknowledged(job.key, record=self._desk_or_raise().acknowledge(job.decision_id)))
        except Exception as err:  # not in doubt (any more), acknowledged by someone else, a locked DB...
            self._emit(Acknowledged(job.key, error=sentence(err)))

    def _decide(self, group: list[DecisionJob]) -> None:
        """Run the decisions (the audit log is appended once per burst, by the caller, not once per decision)."""
        if len(group) > 1:
            try:
                results = self._desk_or_raise().decide_bulk(
                    [(j.thread, j.interrupt, j.decisions) for j in group], flush=False)
            except InvalidDecision:  # raised before anything was recorded: decide them one by one instead
                pass
            except Exception as err:  # a locked DB, say: say so for each
                for job in group:
                    self._emit(DecisionOutcome(job.key, error=sentence(err)))
                return
            else:
                for job, result in zip(group, results, strict=True):
                    if isinstance(result, DecisionRefused):
                        self._emit(DecisionOutcome(job.key, refused=result.message))
                    else:
                        self._emit(DecisionOutcome(job.key, result=result))
                return
        for job in group:
            try:
                result = self._desk_or_raise().decide(job.thread, job.interrupt, job.decisions, flush=False)
                self._emit(DecisionOutcome(job.key, result=result))
            except DecisionRefused as err:
                self._emit(DecisionOutcome(job.key, refused=err.message))
            except Exception as err:  # InvalidDecision, a locked DB, a graph that raised...
                self._emit(DecisionOutcome(job.key, error=sentence(err)))

    def _flush_audit(self, *, idle: bool) -> None:
        if self._desk is None:
            return
        try:
            if self._desk.flush_audit_if_due(idle=idle):
                self._emit(SourceProblem("audit-write", self._desk.audit_error))  # None clears an earlier problem
        except Exception as err:  # a locked DB, say: the events wait in the DB for the next flush
            self._emit(SourceProblem("audit-write", f"The audit log can't be updated yet: {sentence(err)}"))

    def _desk_or_raise(self) -> Decider:
        if self._desk is None:
            self._desk = self._make_desk()
            self._emit(SourceProblem("desk", None))
        return self._desk

    def _desk_or_none(self) -> Decider | None:
        try:
            return self._desk_or_raise()
        except Exception as err:
            self._emit(SourceProblem("desk", f"Decisions are unavailable: {sentence(err)}"))
            return None


_STOP = object()
