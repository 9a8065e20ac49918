"""What a resumer, a timeout sweep and the ledger's compare step ask of the checkpoint DB, on Postgres: the same
methods as the SQLite `CheckpointReader` (thread, read_all, poll, threads, context, marks, saved_since,
run_metadata)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hitl_tui.checkpoints.postgres.store import PostgresStore
from hitl_tui.checkpoints.reader import ReadResult
from hitl_tui.checkpoints.store_reader import StoreReader
from hitl_tui.config import Config
from hitl_tui.model import PendingThread

ThreadMarks = tuple[str | None, tuple[int, int, int]]

# Everything the agent saved for a thread: checkpoints in any namespace, and writes other than a failed task's
# error record (the next run of the task replaces it; see CheckpointReader.saved_since).
_SAVED = """
SELECT (SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = %(t)s AND checkpoint_ns = ''),
    (SELECT count(*) FROM checkpoints WHERE thread_id = %(t)s),
    (SELECT count(*) FROM checkpoint_writes WHERE thread_id = %(t)s AND channel <> '__error__'),
    (SELECT count(*) FROM checkpoint_writes WHERE thread_id = %(t)s)
"""


class PostgresThreadReader:
    """A `StoreReader` over a `PostgresStore`, plus the resumer's before/after checks."""

    def __init__(self, dsn: str, config: Config | None = None) -> None:
        self.store = PostgresStore(dsn)
        self._reader = StoreReader(self.store, config)

    def close(self) -> None:
        self._reader.close()

    def read_all(self) -> ReadResult:
        return self._reader.read_all()

    def poll(self) -> ReadResult | None:
        return self._reader.poll()

    def stream(self, sink: Callable[[Sequence[PendingThread]], None]) -> None:
        """Hand the paused threads to `sink` (in one batch: the store's cold read is one scan)."""
        sink(self.read_all().threads)

    @property
    def threads(self) -> tuple[PendingThread, ...]:
        return self._reader.threads

    def thread(self, thread_id: str) -> PendingThread | None:
        return self._reader.thread(thread_id)

    def context(self, thread_id: str, checkpoint_id: str, graph_id: str | None) -> tuple[Any, ...] | None:
        return self._reader.context(thread_id, checkpoint_id, graph_id)

    def marks(self, thread_id: str) -> ThreadMarks:
        """The thread's latest root checkpoint and counts of what was saved for it (compared by saved_since)."""
        row = self.store.connection.execute(_SAVED, {"t": thread_id}).fetchone()
        assert row is not None
        return row[0], (int(row[1]), int(row[2]), int(row[3]))

    def saved_since(self, thread_id: str, marks: ThreadMarks) -> bool:
        """True when the agent saved a checkpoint or a write (other than an error record) after `marks`.
        Counts suffice: LangGraph only ever adds rows for a thread (or replaces an error record)."""
        _, (checkpoints, writes, _) = marks
        _, (now_checkpoints, now_writes, _) = self.marks(thread_id)
        return now_checkpoints > checkpoints or now_writes > writes

    def run_metadata(self, thread_id: str) -> dict[str, Any]:
        return self.store.run_metadata(thread_id)
