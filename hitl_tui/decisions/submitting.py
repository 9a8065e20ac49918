"""`submit`, one thread's decisions, in terms of `submit_many`: the same for every ledger backend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hitl_tui.decisions.decision import Decision
from hitl_tui.decisions.rows import LedgerRow, Submission
from hitl_tui.decisions.votes import Vote
from hitl_tui.errors import DecisionRefused
from hitl_tui.identity import Operator
from hitl_tui.model import PendingInterrupt, PendingThread


class SubmitsOne:
    """Mixed into a ledger that has `submit_many`."""

    def submit_many(
        self, submissions: Sequence[Submission], operator: Operator, *, event: str = "decision",
        extra: dict[str, Any] | None = None,
    ) -> list[list[LedgerRow] | list[Vote] | DecisionRefused]:
        raise NotImplementedError

    def submit(
        self,
        thread: PendingThread,
        items: Sequence[tuple[PendingInterrupt, Sequence[Decision]]],
        operator: Operator,
        *,
        approvals_needed: int = 1,
        initiator_uid: int | None = None,
        event: str = "decision",
        extra: dict[str, Any] | None = None,
        claimant: str | None = None,
        risk: str | None = None,
    ) -> list[LedgerRow] | list[Vote]:
        """Record decisions on one or more interrupts of a thread in one compare-and-set transaction.

        Returns the decision rows (one batch, resumed together), or the votes so far when a four-eyes quorum
        is not reached yet. Raises InvalidDecision before touching the DB, and DecisionRefused (after logging
        the refusal) when the compare-and-set lost. With `claimant`, the batch is also claimed for that
        resumer in the same commit (state resuming, phase claimed) unless the thread is being resumed already.
        """
        submission = Submission(thread, tuple(items), approvals_needed, initiator_uid, claimant, risk)
        [outcome] = self.submit_many([submission], operator, event=event, extra=extra)
        if isinstance(outcome, DecisionRefused):
            raise outcome
        return outcome
