"""The console's background loops: watch the checkpoint DB, tail the audit log, run decisions. No Textual here.

Each loop runs in ONE thread worker and reports through an `emit` callback (the app turns those into messages), so
polls never overlap: the next poll starts `interval` after the previous one finished. While nothing changes a tick
costs a `stat` and a `PRAGMA data_version` (microseconds), so an idle console uses ~0% CPU. Any error becomes one
sentence for the status line, and the loop retries with the source reopened.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hitl_tui.checkpoints.reader import ReadResult
from hitl_tui.console.loop_events import (
    AuditRead,
    Emit,
    LedgerRead,
    RecordFeed,
    RecordsRead,
    SourceProblem,
    ThreadSource,
    ThreadsRead,
    sentence,
)
from hitl_tui.db import explain_sqlite_error
from hitl_tui.db_target import DbTarget, is_postgres
from hitl_tui.errors import HitlError
from hitl_tui.model import PendingThread

if TYPE_CHECKING:
    from hitl_tui.checkpoints.postgres.changes import PgChangeProbe

RETRY_SECONDS = 1.0

# -- the checkpoint DB -----------------------------------------------------------------------------------------


class _ChangeProbe:
    """Says cheaply whether anyone committed to the DB (LangGraph's tables or the ledger) since the last look."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.identity = file_identity(path)
        uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro"
        try:
            self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as err:
            raise explain_sqlite_error(path, err) from None
        self._version: int | None = None

    def changed(self) -> bool:
        ident = file_identity(self.path)
        if ident is None:
            raise HitlError(f"{self.path} was deleted or moved; waiting for it to come back.")
        if ident != self.identity:
            raise HitlError(f"{self.path} was replaced by another file; reopening it.")
        try:
            version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error as err:
            raise explain_sqlite_error(self.path, err) from None
        changed, self._version = version != self._version, version
        return changed

    def close(self) -> None:
        self._conn.close()


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at `path` now; None when there is none. A stat, never an open()."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


# Between updates of a first read's progress. Each update costs the screen only its own threads (~40 us each), so
# small frequent ones keep keys answered while a big DB loads; one per 0.5 s made 5,000-thread updates that held
# the event loop for 200 ms and more.
PROGRESS_SECONDS = 0.05


class DBWatcher:
    """Reads all paused threads once, then polls for changes; reopens and retries after any error."""

    def __init__(
        self,
        path: DbTarget,
        make_source: Callable[[], ThreadSource],
        make_records: Callable[[], RecordFeed | None] | None,
        interval: float,
        emit: Emit,
    ) -> None:
        self.path = path
        self._make_source, self._make_records = make_source, make_records
        self.interval = interval
        self._emit = emit
        self.stop = threading.Event()
        self.wake = threading.Event()  # set to poll now (after a decision) instead of waiting out the interval
        self._source: ThreadSource | None = None
        self._probe: _ChangeProbe | PgChangeProbe | None = None
        self._records: RecordFeed | None = None
        self._records_failed = False
        self._last_ledger: LedgerRead | None = None
        self._problem: str | None = None

    def run(self) -> None:
        """The loop; returns when `stop` is set."""
        try:
            while not self.stop.is_set():
                delay = self.interval
                try:
                    self._tick()
                    self._report(None)
                except Exception as err:  # one sentence on screen; never a dead console
                    self._report(sentence(err))
                    self._close()
                    delay = max(self.interval, RETRY_SECONDS)
                self.wake.wait(delay)
                self.wake.clear()
        finally:
            self._close()

    def _tick(self) -> None:
        if self._source is None:
            self._open()
            assert self._source is not None
            result: ReadResult | None = self._first_read(self._source)
        else:
            assert self._probe is not None
            if not self._probe.changed():
                return
            result = self._source.poll()
        # Threads and the decisions on them travel together, so a row that leaves the DB because someone decided
        # it is never shown as simply gone.
        ledger = self._read_ledger()
        if result is not None:
            self._emit(ThreadsRead(result, ledger))
        elif ledger is not None:
            self._emit(RecordsRead(ledger))

    def _first_read(self, source: ThreadSource) -> ReadResult:
        """Read everything; show batches as they are classified when the source can report them."""
        read_all: Any = source.read_all
        try:
            takes_progress = "progress" in inspect.signature(read_all).parameters
        except (TypeError, ValueError):
            takes_progress = False
        if not takes_progress:
            return source.read_all()

        held: list[PendingThread] = []
        last_sent = 0.0

        def send() -> None:
            nonlocal last_sent
            ids = frozenset(t.thread_id for t in held)
            self._emit(ThreadsRead(ReadResult(tuple(held), ids, full=False), complete=False))
            held.clear()
            last_sent = time.monotonic()

        def progress(batch: Sequence[PendingThread]) -> None:
            # The first batch at once (the first paint); then at most one update per PROGRESS_SECONDS.
            held.extend(batch)
            if not last_sent or time.monotonic() - last_sent >= PROGRESS_SECONDS:
                send()

        result: ReadResult = read_all(progress=progress)
        # Every thread but the held ones already arrived in a batch: they go with the word that the list is complete.
        return ReadResult(result.threads, frozenset(t.thread_id for t in held), full=False, updated=tuple(held))

    def _open(self) -> None:
        if is_postgres(self.path):
            from hitl_tui.checkpoints.postgres.changes import PgChangeProbe

            self._probe = PgChangeProbe(str(self.path))  # our NOTIFY + the snapshot token; no file to stat
            self._probe.changed()
            self._source = self._make_source()
            return
        assert isinstance(self.path, Path)
        if not self.path.exists():
            # Checked here so a missing DB reads the same whatever the source is.
            raise HitlError(f"{self.path} does not exist yet; waiting for an agent to create it.")
        self._probe = _ChangeProbe(self.path)
        self._probe.changed()
        self._source = self._make_source()

    def _read_ledger(self) -> LedgerRead | None:
        """The recent decisions and open approvals, or None when they did not change (or can't be read)."""
        if self._make_records is None:
            return None
        try:
            if self._records is None:
                self._records = self._make_records()
                if self._records is None:
                    self._make_records = None
                    return None
            votes = getattr(self._records, "votes", None)  # a feed may know decisions only
            ledger = LedgerRead(tuple(self._records.recent()), votes() if votes is not None else {})
        except Exception as err:  # decisions are extra information: the list keeps working without them
            if not self._records_failed:
                self._emit(SourceProblem("desk", f"Decision records can't be read: {sentence(err)}"))
            self._records_failed = True
            self._records = None
            return None
        if self._records_failed:
            self._records_failed = False
            self._emit(SourceProblem("desk", None))
        if ledger == self._last_ledger:
            return None
        self._last_ledger = ledger
        return ledger

    def _report(self, problem: str | None) -> None:
        if problem != self._problem:
            self._problem = problem
            self._emit(SourceProblem("db", problem))

    def _close(self) -> None:
        for thing in (self._source, self._probe, self._records):
            close = getattr(thing, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()
        self._source = self._probe = self._records = None
        self._last_ledger = None


# -- the audit log ---------------------------------------------------------------------------------------------


class AuditWatcher:
    """Tails the audit log (rotation and truncation are handled by `AuditTail`)."""

    def __init__(self, make_tail: Callable[[], Any], interval: float, emit: Emit) -> None:
        self._make_tail = make_tail
        self.interval = interval
        self._emit = emit
        self.stop = threading.Event()
        self.wake = threading.Event()
        self._problem: str | None = None

    def run(self) -> None:
        tail = None
        try:
            while not self.stop.is_set():
                delay = self.interval
                try:
                    if tail is None:
                        tail = self._make_tail()
                    records = tail.read_new()
                    if records:
                        self._emit(AuditRead(tuple(records)))
                    self._report(None)
                except Exception as err:
                    self._report(f"The audit log can't be read: {sentence(err)}")
                    tail = None
                    delay = max(self.interval, RETRY_SECONDS)
                self.wake.wait(delay)
                self.wake.clear()
        finally:
            if tail is not None:
                tail.close()

    def _report(self, problem: str | None) -> None:
        if problem != self._problem:
            self._problem = problem
            self._emit(SourceProblem("audit", problem))
