"""One message per event of a background loop (hitl_tui.console.loop_events), as the app receives them.

The loops run in threads and report plain events through `emit`; `message_for` wraps each in its own Message
class, so the app has one handler per kind (`on_threads_loaded`, ...) instead of an isinstance chain. A burst of
ledger reads or problem reports (each a full snapshot of its source) keeps only the newest still queued.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message

from hitl_tui.console.context_loader import ContextRead
from hitl_tui.console.loop_events import (
    Acknowledged,
    AuditRead,
    DecisionOutcome,
    RecordsRead,
    SourceProblem,
    ThreadsRead,
)


class LoopMessage(Message):
    """A background loop's event, posted from its thread (Textual's post_message is thread-safe)."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event


class ThreadsLoaded(LoopMessage):
    """The DB watcher read threads: all of them, the changed ones, or one batch of a first read."""

    event: ThreadsRead


class RecordsLoaded(LoopMessage):
    """The shared ledger changed (a full snapshot of recent records and open votes)."""

    event: RecordsRead

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RecordsLoaded)


class AuditLoaded(LoopMessage):
    """New audit log records (appended to what was shown: never replaces an earlier batch)."""

    event: AuditRead


class ProblemChanged(LoopMessage):
    """A source's problem sentence, or None when it cleared (the newest per source is what counts)."""

    event: SourceProblem

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ProblemChanged) and message.event.source == self.event.source


class DecisionAnswered(LoopMessage):
    """What the desk said about one submitted decision."""

    event: DecisionOutcome


class AcknowledgeAnswered(LoopMessage):
    """What the desk said about one acknowledgement of an in-doubt resume."""

    event: Acknowledged


class ContextLoaded(LoopMessage):
    """The recent messages of a thread the operator looked at (or why they could not be read)."""

    event: ContextRead


_MESSAGES: dict[type, type[LoopMessage]] = {
    ThreadsRead: ThreadsLoaded,
    RecordsRead: RecordsLoaded,
    AuditRead: AuditLoaded,
    SourceProblem: ProblemChanged,
    DecisionOutcome: DecisionAnswered,
    Acknowledged: AcknowledgeAnswered,
    ContextRead: ContextLoaded,
}


def message_for(event: object) -> LoopMessage:
    """The message that carries a loop's event."""
    return _MESSAGES[type(event)](event)
