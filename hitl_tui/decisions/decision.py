"""What an operator decides, and the states a decision goes through after it is recorded."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from hitl_tui.model import DecisionKind, PendingInterrupt


@dataclass(frozen=True)
class Decision:
    """One decision on one action of a pending interrupt."""

    kind: DecisionKind
    action_index: int = 0  # which action of a batched pause (middleware batch) this answers
    args: Any = None  # EDIT: the new arguments
    text: str | None = None  # REJECT: the reason; FEEDBACK: the text (for a RAW payload, may be JSON)


class DecisionState(str, enum.Enum):
    """Where a recorded decision stands."""

    DECIDED = "decided"  # committed; waiting for a resumer (or for more approvals, see `approvals_needed`)
    RESUMING = "resuming"  # claimed by a resumer
    PAUSED_AGAIN = "paused_again"  # resumed; the thread paused for a human again
    FINISHED = "finished"  # resumed; the thread ran to its end
    FAILED = "failed"  # resumed; the graph raised (the error is recorded)
    IN_DOUBT = "in_doubt"  # a resumer died mid-resume; a person must check what happened

    @property
    def is_final(self) -> bool:
        return self in (
            DecisionState.PAUSED_AGAIN,
            DecisionState.FINISHED,
            DecisionState.FAILED,
            DecisionState.IN_DOUBT,
        )


@dataclass(frozen=True)
class DecisionRecord:
    """A decision as stored in the ledger, as the console and CLI show it."""

    decision_id: str
    thread_id: str
    checkpoint_id: str
    interrupt_key: str
    graph_id: str | None
    decisions: tuple[Decision, ...]
    operator: str  # display name of who decided (a policy name for automatic decisions)
    operator_uid: int | None
    decided_at: datetime
    state: DecisionState
    error: str | None = None
    approvals: int = 1
    approvals_needed: int = 1
    acknowledged_by: str | None = None  # IN_DOUBT only: who checked the agent's side effects (`hitl-tui ack`)
    reopened: bool = False  # FAILED only: the agent saved nothing, so the interrupt can be decided again

    @property
    def summary(self) -> str:
        kinds = sorted({d.kind.value for d in self.decisions})
        return "+".join(kinds)


def as_decided(interrupt: PendingInterrupt, decisions: Sequence[Decision]) -> PendingInterrupt:
    """The interrupt as it will run: every edited action carries its edited arguments. Policy judges this, not
    what the agent first asked for (an edit from 800 to 50000 must meet the rule for 50000)."""
    edited = {d.action_index: d.args for d in decisions if d.kind is DecisionKind.EDIT}
    if not edited:
        return interrupt
    actions = tuple(replace(a, args=edited[i]) if i in edited else a for i, a in enumerate(interrupt.actions))
    return replace(interrupt, actions=actions)
