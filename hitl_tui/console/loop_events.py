"""What the console's background loops read from and report: their sources (protocols) and their events.

A loop reports through an `emit` callback with one of these frozen events; the UI turns each kind into its own
message (hitl_tui.ui.messages). No Textual here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from hitl_tui.checkpoints.reader import ReadResult
from hitl_tui.decisions.decision import Decision, DecisionRecord
from hitl_tui.decisions.state import ItemKey, Voter
from hitl_tui.errors import HitlError
from hitl_tui.model import PendingInterrupt, PendingThread


class ThreadSource(Protocol):
    """What the console reads paused threads from (`CheckpointReader`)."""

    def read_all(self) -> ReadResult: ...
    def poll(self) -> ReadResult | None: ...
    def close(self) -> None: ...


class RecordFeed(Protocol):
    """Where the console reads recorded decisions from (the desk's ledger)."""

    def recent(self, limit: int = ...) -> Sequence[Any]: ...
    # Optionally `votes() -> Mapping[ItemKey, tuple[Voter, ...]]`: the open four-eyes rounds (the console's feed).


class Decider(Protocol):
    """The decisions layer (`DecisionDesk`): the only way a key press becomes a resumed agent."""

    audit_error: str | None

    def decide(
        self, thread: PendingThread, interrupt: PendingInterrupt, decisions: Sequence[Decision], *, flush: bool = ...
    ) -> Any: ...
    def decide_bulk(
        self, items: Sequence[tuple[PendingThread, PendingInterrupt, Sequence[Decision]]], *, flush: bool = ...
    ) -> list[Any]: ...
    def flush_audit_if_due(self, *, idle: bool) -> bool: ...
    def acknowledge(self, decision_id: str, note: str | None = ...) -> Any: ...
    def close(self) -> None: ...


# -- what the loops report -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerRead:
    """The shared ledger's decisions and open four-eyes rounds, read in one tick."""

    records: tuple[DecisionRecord, ...]
    votes: Mapping[ItemKey, tuple[Voter, ...]]


@dataclass(frozen=True)
class ThreadsRead:
    result: ReadResult
    ledger: LedgerRead | None = None  # read in the same tick; None when unchanged
    complete: bool = True  # False: one batch of a first read still in progress


@dataclass(frozen=True)
class RecordsRead:
    ledger: LedgerRead


@dataclass(frozen=True)
class SourceProblem:
    """`message` is one sentence; None means the problem went away."""

    source: str  # "db" | "audit" (reading it) | "audit-write" | "desk"
    message: str | None


@dataclass(frozen=True)
class AuditRead:
    records: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class DecisionOutcome:
    key: str
    result: Any = None  # the desk's result (DeskResult)
    refused: str | None = None  # the desk's one-sentence refusal
    error: str | None = None  # anything else that went wrong, in one sentence


@dataclass(frozen=True)
class Acknowledged:
    key: str
    record: Any = None  # the in-doubt decision, now acknowledged
    error: str | None = None


Emit = Callable[[object], None]


def sentence(err: BaseException) -> str:
    """An error as the one sentence a loop reports (a HitlError already is one)."""
    if isinstance(err, HitlError):
        return err.message
    return f"{type(err).__name__}: {err}"
