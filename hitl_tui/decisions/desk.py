"""The one way decisions are made, for the console, the CLI and policies alike.

`DecisionDesk.decide` records a decision with compare-and-set, copies the audit events to the log, and resumes the
thread in-process when this process can load its graph (otherwise a `hitl-tui worker` will). Blocking: the console
calls it from a thread worker.

A caller that decides in bursts (the console's decision thread) may pass `flush=False` and call
`flush_audit_if_due` between decisions: the events are durable in the DB at commit either way, and copying them to
the JSON log once per burst saves two fsyncs per decision.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from hitl_tui.audit import AuditLog, AuditLogError
from hitl_tui.clock import Clock
from hitl_tui.config import Config
from hitl_tui.db_target import DbTarget
from hitl_tui.decisions.backend import open_ledger
from hitl_tui.decisions.decision import Decision, DecisionRecord, DecisionState, as_decided
from hitl_tui.decisions.ledger import LedgerRow, Submission, Vote
from hitl_tui.decisions.resume_values import InvalidDecision
from hitl_tui.decisions.resumer import Resumer
from hitl_tui.errors import DecisionRefused, GraphLoadError, HitlError
from hitl_tui.identity import Operator
from hitl_tui.model import DecisionKind, PendingInterrupt, PendingThread

# What became of one submission in a bulk commit.
Outcome = list[LedgerRow] | list[Vote] | DecisionRefused

# During a long burst of decisions, the audit log is still appended at least this often (seconds).
AUDIT_FLUSH_INTERVAL = 1.0


@dataclass(frozen=True)
class Requirements:
    """What a policy asks of a decision on one pending interrupt (default: one operator suffices)."""

    approvals_needed: int = 1
    initiator_uid: int | None = None
    risk: str | None = None  # the policy's risk for what will run (None: no policy said; the agent's own is kept)


@dataclass(frozen=True)
class DeskResult:
    """What became of a submission: the decision records, or the approvals gathered so far (four-eyes)."""

    records: tuple[DecisionRecord, ...] = ()
    votes: tuple[Vote, ...] = ()
    approvals_needed: int = 1
    audit_error: str | None = None  # the decision stands, but the audit log could not be written yet
    resume_error: str | None = None  # the decision stands, but this process could not load the graph

    @property
    def awaiting_approvals(self) -> bool:
        return not self.records and bool(self.votes)


class DecisionDesk:
    """Decide, log, resume: the only code path from an operator's key press to a resumed agent."""

    def __init__(
        self,
        config: Config,
        db_path: DbTarget,
        operator: Operator,
        audit: AuditLog | None = None,
        *,
        clock: Clock | None = None,
        resume_in_process: bool = True,
        requirements: Callable[[PendingThread, PendingInterrupt], Requirements] | None = None,
    ) -> None:
        self.config = config
        self.operator = operator
        self.audit = audit if audit is not None else AuditLog(config.audit_log, clock=clock, operator=operator)
        self.ledger = open_ledger(db_path, config, clock=clock)  # SQLite file or Postgres URL
        self.resumer = Resumer(self.ledger, config, db_path, actor=operator) if resume_in_process else None
        self._requirements = requirements or (lambda thread, interrupt: Requirements())
        self.audit_error: str | None = None
        self._unflushed = False  # a decision made with flush=False has events not yet copied to the log
        self._last_flush = time.monotonic()

    def close(self) -> None:
        if self.resumer is not None:
            self.resumer.close()
        self.ledger.close()

    def can_resume(self, graph_id: str | None) -> bool:
        """True when this process resumes the graph itself (else a worker must)."""
        return self.resumer is not None and self.resumer.graphs.can_load(graph_id)

    def decide(
        self, thread: PendingThread, interrupt: PendingInterrupt, decisions: Sequence[Decision], *,
        flush: bool = True,
    ) -> DeskResult:
        """Decide one pending interrupt; raises DecisionRefused or InvalidDecision with one sentence."""
        return self.decide_many(thread, [(interrupt, decisions)], flush=flush)

    def decide_many(
        self, thread: PendingThread, items: Sequence[tuple[PendingInterrupt, Sequence[Decision]]], *,
        actor: Operator | None = None,
        event: str = "decision", extra: dict | None = None, flush: bool = True,
    ) -> DeskResult:
        """Decide several interrupts of one thread together: one compare-and-set, one resume.

        `flush=False` leaves the audit events in the DB for the caller's next `flush_audit_if_due`."""
        if not flush:
            self._unflushed = True
        who = actor or self.operator
        needs = [self._requirements(thread, as_decided(interrupt, ds)) for interrupt, ds in items]
        need = needs[0] if len(items) == 1 else Requirements()
        if len(items) > 1 and any(
            n.approvals_needed > 1 and any(d.kind in (DecisionKind.APPROVE, DecisionKind.EDIT) for d in ds)
            for n, (_, ds) in zip(needs, items, strict=True)
        ):
            # Four-eyes votes are counted per item: deciding it in a batch would skip the quorum.
            raise InvalidDecision("An item that needs several approvers must be decided on its own, not together.")
        self._check_resumable(thread)
        self._check_audit_writable()
        resumer = self.resumer if self.can_resume(thread.graph_id) else None
        try:
            outcome = self.ledger.submit(
                thread, items, who, approvals_needed=need.approvals_needed,
                initiator_uid=need.initiator_uid, event=event, extra=extra, risk=need.risk,
                claimant=resumer.claimant if resumer is not None else None,  # claimed in the same commit
            )
        except BaseException:
            if flush:
                self.flush_audit()  # a refusal is an audit event too; the CLI exits right after it
            raise
        # The decision's audit event is already durable in the DB (hitl_events, same commit). When we resume
        # right away, it goes to the JSON log together with the outcome: one append instead of two. A crash
        # in between loses nothing: the next flush by anyone copies it, in order.
        claimed = isinstance(outcome[0], LedgerRow) and outcome[0].state is DecisionState.RESUMING
        if flush and (resumer is None or not claimed):
            self.flush_audit()
        result = self._carry_out(thread, outcome, need, resumer)
        if flush and resumer is not None:
            self.flush_audit()
        return replace(result, audit_error=self.audit_error)

    def decide_bulk(
        self, items: Sequence[tuple[PendingThread, PendingInterrupt, Sequence[Decision]]], *, flush: bool = True,
    ) -> list[DeskResult | DecisionRefused]:
        """Decide many threads at once, each on its own terms: one compare-and-set commit (one fsync) for all,
        then each resumed in turn, and one audit append at the end. A refused item (stale, already decided,
        policy) is returned as its DecisionRefused and holds nothing else back; InvalidDecision for any item is
        raised before anything is recorded."""
        if not flush:
            self._unflushed = True
        self._check_audit_writable()
        needs = [self._requirements(thread, as_decided(interrupt, ds)) for thread, interrupt, ds in items]
        resumers = [self.resumer if self.can_resume(thread.graph_id) else None for thread, _, _ in items]
        submissions = [
            Submission(thread, ((interrupt, tuple(decisions)),), need.approvals_needed, need.initiator_uid,
                       resumer.claimant if resumer is not None else None, need.risk)
            for (thread, interrupt, decisions), need, resumer in zip(items, needs, resumers, strict=True)
        ]
        results: list[DeskResult | DecisionRefused] = []
        try:
            outcomes = self._submit_resumable(submissions)
            for (thread, _, _), need, resumer, outcome in zip(items, needs, resumers, outcomes, strict=True):
                if isinstance(outcome, DecisionRefused):
                    results.append(outcome)
                else:
                    results.append(self._carry_out(thread, outcome, need, resumer))
        finally:
            if flush:
                self.flush_audit()
        return [replace(r, audit_error=self.audit_error) if isinstance(r, DeskResult) else r for r in results]

    def _check_audit_writable(self) -> None:
        """The rule when the audit log can't be written: decide nothing. A decision recorded now would resume
        (run its side effect) with no line in the log, and report success; refusing up front runs nothing."""
        try:
            self.audit.check_writable()
        except AuditLogError as err:
            self.audit_error = str(err)
            raise HitlError(f"{err} Nothing was decided: no action may run while its audit trail can't be "
                            "written; fix the log (`hitl-tui doctor` helps) and decide again.") from None

    def _check_resumable(self, thread: PendingThread) -> None:
        """Refuse, before anything is recorded, a decision that nobody could carry out (a silent, endless wait): a
        thread that names no graph, which no resumer can ever pick up, or a graph the config in use doesn't know.
        (With no config file at all, a worker elsewhere may know it: that decision is taken and left to it.)"""
        if thread.graph_id is not None and (self.config.graph(thread.graph_id) or self.config.source is None):
            return
        if thread.graph_id is None:
            named = "it names no graph (no graph_id in its checkpoint metadata)"
        else:
            named = f"its graph {thread.graph_id!r} is not in {self.config.source} [graphs]"
        raise DecisionRefused(
            f"Nobody can resume thread {thread.thread_id}: {named}; name the graph (README: \"Naming your graph\") "
            "and decide again. Nothing was decided."
        )

    def _submit_resumable(self, submissions: Sequence[Submission]) -> list[Outcome]:
        """submit_many for the threads someone can resume; the others are refused without being recorded."""
        outcomes: list[Outcome | None] = []
        resumable = []
        for submission in submissions:
            try:
                self._check_resumable(submission.thread)
                outcomes.append(None)
                resumable.append(submission)
            except DecisionRefused as refused:
                outcomes.append(refused)
        submitted = iter(self.ledger.submit_many(resumable, self.operator) if resumable else [])
        return [next(submitted) if o is None else o for o in outcomes]

    def _carry_out(
        self, thread: PendingThread, outcome: list[LedgerRow] | list[Vote], need: Requirements,
        resumer: Resumer | None,
    ) -> DeskResult:
        """After the compare-and-set: resume what this process can, and say what became of it."""
        if outcome and isinstance(outcome[0], Vote):
            return DeskResult(votes=tuple(outcome), approvals_needed=need.approvals_needed)  # type: ignore[arg-type]
        rows: list[LedgerRow] = outcome  # type: ignore[assignment]
        resume_error = None
        finished = None
        if resumer is not None:
            try:
                if rows[0].state is DecisionState.RESUMING:
                    # Claimed in the compare-and-set's own commit: that compare was the look at the thread.
                    finished = resumer.resume(rows, checked=True, metadata=thread.metadata)
                else:  # someone else is resuming this thread right now; claim it if they are done
                    resumer.run(decision_id=rows[0].decision_id)
                self._resume_waiting(thread.thread_id)
            except GraphLoadError as err:  # the decision stands (claim released); a worker may resume it
                resume_error = err.message
        final = finished or self.ledger.batch(rows[0].batch_id)
        return DeskResult(records=tuple(r.as_record() for r in final), approvals_needed=need.approvals_needed,
                          resume_error=resume_error)

    def _resume_waiting(self, thread_id: str) -> None:
        """Resume decisions on this thread that had to wait: it was being resumed when they were made (one resume
        per thread at a time), or they came from a console that doesn't resume. Without this they would wait
        for a worker that a console-only setup doesn't run."""
        assert self.resumer is not None
        for decision_id, graph_id in self.ledger.waiting_on(thread_id):
            if self.can_resume(graph_id):
                self.resumer.run(decision_id=decision_id)  # a no-op if someone claimed it meanwhile

    def flush_audit_if_due(self, *, idle: bool) -> bool:
        """After a decision made with flush=False: copy to the log when the burst is over (`idle`), or when the
        last copy is AUDIT_FLUSH_INTERVAL old. Returns True when it flushed (see `audit_error`)."""
        if not self._unflushed or not (idle or time.monotonic() - self._last_flush >= AUDIT_FLUSH_INTERVAL):
            return False
        self.flush_audit()
        return True

    def flush_audit(self) -> None:
        """Copy pending audit events to the log; an unwritable log is reported, never fatal."""
        self._unflushed = False
        self._last_flush = time.monotonic()
        try:
            self.ledger.flush_audit(self.audit)
            self.audit_error = None
        except AuditLogError as err:
            self.audit_error = str(err)
        except OSError as err:
            self.audit_error = f"The audit log {self.audit.path} can't be written: {err.strerror}."

    def acknowledge(self, decision_id: str, note: str | None = None) -> DecisionRecord:
        """This operator checked an in-doubt resume's side effects (HitlError with one sentence if it isn't one);
        the event reaches the audit log with the next flush."""
        row = self.ledger.acknowledge(decision_id, self.operator, note)
        self._unflushed = True
        return replace(row.as_record(), acknowledged_by=self.operator.display)

    def records_for(self, thread_ids: Iterable[str]) -> list[DecisionRecord]:
        return [r.as_record() for r in self.ledger.for_threads(thread_ids)]

    def recent(self, limit: int = 200) -> list[DecisionRecord]:
        return [r.as_record() for r in self.ledger.recent(limit)]

    def votes(self, thread: PendingThread, interrupt: PendingInterrupt) -> list[Vote]:
        return self.ledger.votes(thread.thread_id, thread.checkpoint_id, interrupt.key)
