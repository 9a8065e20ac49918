"""The one model of a paused thread that the reader produces and the UI and decisions consume.

Every payload shape seen in the wild is normalised into these types by `payloads.normalise`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hitl_tui.canonical import value_hash

# The key that marks an interrupt value as ours (`hitl_tui.agent.approval_payload`); readers look for it.
PAYLOAD_MARKER = "hitl_tui"


class DecisionKind(str, enum.Enum):
    """What an operator can say about a pending action."""

    APPROVE = "approve"
    EDIT = "edit"
    REJECT = "reject"
    FEEDBACK = "feedback"  # free text that steers the agent ("respond" in Agent Inbox / middleware)
    IGNORE = "ignore"


class PayloadShape(str, enum.Enum):
    """Which protocol an interrupt value speaks; decides how a decision becomes a resume value."""

    HITL = "hitl"  # the project's own payload, see hitl_tui.agent
    AGENT_INBOX = "agent_inbox"  # langgraph.prebuilt HumanInterrupt, resumed with a one-element list
    MIDDLEWARE_BATCH = "middleware_batch"  # LangChain HumanInTheLoopMiddleware {"action_requests", "review_configs"}
    MIDDLEWARE_PER_CALL = "middleware_per_call"  # {"type": "tool_approval", ...}, resumed by interrupt id
    BREAKPOINT = "breakpoint"  # static interrupt_before/after; resumed with update_state + invoke(None)
    RAW = "raw"  # any other JSON value; answered with free text or JSON


class ThreadStatus(str, enum.Enum):
    """Where a thread stands, as far as the checkpoint DB can tell."""

    PAUSED = "paused"  # waiting for a human (dynamic interrupt or a known static breakpoint)
    RUNNING_OR_STALLED = "running_or_stalled"  # next is non-empty but no human is being waited on
    UNREADABLE = "unreadable"  # a row did not decode; `error` says why


ALL_DECISIONS = frozenset(DecisionKind)


# A thread's context: its last few messages, one line each (read for the thread an operator looks at, shown in
# the details pane). Defined here once so the reader keeps no more than the pane shows.
MESSAGES_SHOWN = 6
MESSAGE_LINE_WIDTH = 300  # characters of a message's text on its line

@dataclass(frozen=True)
class ActionRequest:
    """One action an agent wants to take, as a person should see it."""

    name: str
    args: Any  # usually a dict; kept as decoded JSON-like data
    description: str | None = None
    allowed: frozenset[DecisionKind] = ALL_DECISIONS
    args_schema: Any = None


class _LazyPayloadHash:
    """`PendingInterrupt.payload_hash`: the hash given to the constructor, or else `value_hash(value)`, taken when
    first read and kept (a frozen dataclass field whose default is this descriptor)."""

    def __get__(self, obj: PendingInterrupt | None, owner: type | None = None) -> str:
        if obj is None:
            return ""  # the field's default: "" means "not given"
        given: str = obj.__dict__.get("_payload_hash", "")
        if not given:
            given = obj.__dict__["_payload_hash"] = value_hash(obj.value)
        return given

    def __set__(self, obj: PendingInterrupt, value: str) -> None:
        if value:  # "" (not given) is what a missing entry means: 57k rows don't each keep one
            obj.__dict__["_payload_hash"] = value


@dataclass(frozen=True)
class PendingInterrupt:
    """One thing a thread is waiting on a human for.

    For a static breakpoint `interrupt_id` is None and `value` is the thread's state values.
    """

    interrupt_id: str | None
    namespace: str  # "" at the root; "node:task_id|..." when raised inside a subgraph
    node: str  # the node that raised it (or the breakpoint node)
    value: Any  # the raw decoded interrupt value
    shape: PayloadShape
    actions: tuple[ActionRequest, ...]
    # sha256 over canonical JSON of `value`: what the operator saw. Computed on first use unless given: listing
    # 40k paused threads needs none of them, a decision needs one.
    payload_hash: _LazyPayloadHash = _LazyPayloadHash()
    reasoning: str | None = None
    confidence: float | None = None
    risk: str | None = None
    initiator: str | None = None  # who started the run, when the payload or metadata says so
    response_schema: Any = None

    @property
    def key(self) -> str:
        """A stable identifier within its thread (breakpoints have no interrupt id)."""
        return self.interrupt_id or f"breakpoint:{self.node}"


@dataclass(frozen=True)
class PendingThread:
    """A thread at its latest root checkpoint, as read from the DB."""

    thread_id: str
    graph_id: str | None
    checkpoint_id: str
    step: int | None
    paused_at: datetime | None  # the latest checkpoint's timestamp (UTC)
    next_nodes: tuple[str, ...]
    status: ThreadStatus
    interrupts: tuple[PendingInterrupt, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # why the thread is UNREADABLE
    # The thread's row marks in the snapshot it was read from (see reader.thread_version): a decision compares
    # these with the DB instead of reading the thread again. None for a view not read by CheckpointReader.
    version: tuple[int, int, int] | None = None


# Risk levels an agent may declare and a policy rule may set, lowest first.
RISK_ORDER: tuple[str, ...] = ("low", "medium", "high", "critical")


def normalise_risk(value: Any) -> str | None:
    """A risk level from RISK_ORDER ("High " -> "high"), or None for anything else."""
    if not isinstance(value, str):
        return None
    level = value.strip().lower()
    return level if level in RISK_ORDER else None


def risk_rank(risk: str | None) -> int:
    """Sort key for risk levels: low 0 ... critical 3; unknown or missing -1."""
    level = normalise_risk(risk)
    return RISK_ORDER.index(level) if level is not None else -1
