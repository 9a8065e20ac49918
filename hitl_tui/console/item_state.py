"""How the console words an item's shared state: "approved 1/2", "rejected by bob", "resuming", "resumed",
"failed", "in doubt". Built from the ledger's record and the open four-eyes votes (hitl_tui.decisions.state), so
every console shows the same; no Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass

from hitl_tui.decisions.decision import DecisionRecord, DecisionState
from hitl_tui.decisions.state import Voter, approvals_text, decided_text

_AFTER = {
    DecisionState.RESUMING: "resuming",
    DecisionState.PAUSED_AGAIN: "resumed",  # and the thread paused again (a new item)
    DecisionState.FINISHED: "resumed",
    DecisionState.FAILED: "failed",
    DecisionState.IN_DOUBT: "in doubt",
}


@dataclass(frozen=True)
class ItemState:
    """The shared state of one pending item: its decision record, or the approvals gathered so far."""

    record: DecisionRecord | None = None
    voters: tuple[Voter, ...] = ()

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
                return approvals_text(len(self.voters), max(approvals_needed, len(self.voters) + 1))
            return "waiting"
        if record.state is DecisionState.DECIDED:
            return self.decided_by(short=True)
        if record.state is DecisionState.FAILED and record.reopened:
            return "failed, decide again"  # the agent saved nothing: the interrupt takes a new decision
        if record.state is DecisionState.IN_DOUBT and record.acknowledged_by:
            return "doubt checked"
        return _AFTER.get(record.state, record.state.value)

    def decided_by(self, *, short: bool = False) -> str:
        """"approved by alice@host", "rejected by policy:timeout" ("" before a decision); `short` drops the host,
        for a status column (the details and the audit log keep it)."""
        if self.record is None:
            return ""
        who = self.record.operator.split("@", 1)[0] if short else self.record.operator
        return decided_text((d.kind.value for d in self.record.decisions), who)

    def who(self) -> str:
        """Who acted: the approvers so far, or who decided."""
        if self.record is not None:
            return self.record.operator
        return ", ".join(v.operator for v in self.voters)
