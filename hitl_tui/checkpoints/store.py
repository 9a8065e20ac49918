"""What a checkpoint backend (SQLite, Postgres) hands the shared classifier: the protocol both stores meet.

A store only fetches rows; the rules (what runs next, who waits, where a subgraph raised an interrupt) live once,
in classify.py and task_sites.py, so every backend gives the same answers (the conformance tests hold both to
LangGraph's own `get_state`). Stores read LangGraph's tables and never write them.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

from hitl_tui.checkpoints.classify import CheckpointRow

Marks = tuple[int, int, int]
"""A thread's row marks in one snapshot: equal marks mean nothing of the thread was written in between."""


class CheckpointStore(Protocol):
    """Read-only access to one LangGraph checkpoint database."""

    def snapshot(self) -> AbstractContextManager[None]:
        """One consistent view for everything read inside it (nested calls join the open one)."""
        ...

    def latest_rows(self, thread_ids: Collection[str] | None = None) -> Iterator[list[CheckpointRow]]:
        """The latest root checkpoint of every thread (or of these), with the writes keyed to it, in batches.
        Threads that certainly have nothing left to run may be left out (most threads, in a real DB)."""
        ...

    def latest_ids(self) -> dict[str, str]:
        """thread id -> its latest root checkpoint id, for every thread (what a poll diffs against)."""
        ...

    def marks(self, thread_ids: Collection[str]) -> dict[str, Marks]:
        """Row marks of these threads now (see `Marks`)."""
        ...

    # -- one thread's rows, for the task-site rules (task_sites.py) -------------------------------------------

    def writes_at(self, thread_id: str, ns: str, checkpoint_id: str) -> Iterable[tuple[str, str]]:
        """(task_id, task_path) of every write keyed to that checkpoint."""
        ...

    def checkpoint_at(self, thread_id: str, ns: str, checkpoint_id: str) -> Mapping[str, Any] | None:
        """That checkpoint decoded (None when gone or undecodable)."""
        ...

    def interrupt_rows(
        self, thread_id: str, parent_ns: str
    ) -> Iterable[tuple[str, str, str, str | None, bytes | None]]:
        """`__interrupt__` writes in `parent_ns` and below: (ns, checkpoint id, task_path, type, value), deepest
        namespace first, newest checkpoint first within one."""
        ...

    # -- change --------------------------------------------------------------------------------------------------

    def change_token(self) -> Hashable:
        """A cheap value that is equal on two calls only if nobody committed in between (false alarms allowed)."""
        ...

    def close(self) -> None: ...
