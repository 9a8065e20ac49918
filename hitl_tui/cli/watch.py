"""`hitl-tui watch [--jsonl]`: paused, decided, resumed, failed and escalated events, as they happen.

The console's own DB loop (`DBWatcher`) runs in a thread and reports into a queue; this thread turns the reports
into events (watch_events.EventTracker), checks deadlines between reports, and writes one line per event,
flushed at once so `| while read` and pagers see it immediately. It only reads: no table is created, nothing is
decided. Ctrl+C ends it with exit 0; so does the reader of its pipe going away (`watch --jsonl | head -1`), which
is noticed even while no event is due.
"""

from __future__ import annotations

import json
import os
import queue
import select
import stat
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from hitl_tui.clock import utc_now
from hitl_tui.config import Config
from hitl_tui.console.watch_events import Event, EventTracker
from hitl_tui.db_target import DbTarget, is_postgres
from hitl_tui.errors import ExitCode
from hitl_tui.safe_text import json_for_terminal, visible

TICK_SECONDS = 0.5  # how often deadlines (and a vanished pipe reader) are checked while nothing else happens


class _ReadOnlyRecords:
    """The ledger's recent decisions through a read-only view (a watch never writes to the DB, nor creates our
    tables in a Postgres database)."""

    def __init__(self, db: DbTarget, config: Config) -> None:
        if is_postgres(db):
            from hitl_tui.decisions.postgres.ledger import PostgresLedger

            self._view: Any = PostgresLedger(str(db), config, create=False)
        else:
            from hitl_tui.decisions.ledger import LedgerView

            self._view = LedgerView(Path(db))

    def recent(self, limit: int = 500) -> list[Any]:
        return self._view.recent_records(limit)

    def close(self) -> None:
        self._view.close()


def as_line(event: Event, *, jsonl: bool) -> str:
    """One event as a JSON line, or as a short line for a person; agent text can't reach the terminal raw."""
    if jsonl:
        return json_for_terminal(json.dumps(event, ensure_ascii=False, separators=(",", ":")))
    detail = {
        "escalated": event.get("level"),
        "failed": event.get("error"),
        "in_doubt": event.get("error"),
        "resumed": event.get("outcome"),
    }.get(event["event"])
    if event["event"] in ("decided", "resuming", "resumed", "failed", "in_doubt"):
        detail = f"{event['decision']} by {event['decided_by']}" + (f", {detail}" if detail else "")
    parts = [event["at"][11:19], f"{event['event']:<9}", event["thread_id"], event.get("action") or "", detail or ""]
    return visible(" ".join(str(p) for p in parts if p))


def _reader_gone(out: TextIO) -> bool:
    """True when `out` is a pipe whose reading end was closed (Linux reports POLLERR on the write end)."""
    try:
        fd = out.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
        poller = select.poll()
        poller.register(fd, 0)  # no events asked: error and hang-up are always reported
        return any(mask & (select.POLLERR | select.POLLHUP) for _, mask in poller.poll(0))
    except (OSError, ValueError):
        return False


def run_watch(config: Config, db: DbTarget, out: TextIO, err: TextIO, *, jsonl: bool,
              clock: Callable[[], datetime] | None = None) -> int:
    """Print events until interrupted or until the reader of `out` goes away; the exit code."""
    from hitl_tui.console.loop_events import RecordsRead, SourceProblem, ThreadsRead
    from hitl_tui.console.watchers import DBWatcher
    from hitl_tui.decisions.backend import open_thread_reader

    reports: queue.Queue[object] = queue.Queue()
    watcher = DBWatcher(db, lambda: open_thread_reader(db, config), lambda: _ReadOnlyRecords(db, config),
                        config.poll_interval, reports.put)
    loop = threading.Thread(target=watcher.run, name="watch-db", daemon=True)
    tracker = EventTracker(config, clock or utc_now)
    loop.start()
    try:
        while True:
            try:
                report: object = reports.get(timeout=TICK_SECONDS)
            except queue.Empty:
                report = None
            events: list[Event] = []
            if isinstance(report, ThreadsRead):
                result = report.result
                events += tracker.threads_read(result.threads, result.changed, complete=report.complete,
                                               full=result.full)
                if report.ledger is not None:
                    events += tracker.records_read(report.ledger.records)
            elif isinstance(report, RecordsRead):
                events += tracker.records_read(report.ledger.records)
            elif isinstance(report, SourceProblem) and report.message:
                print(f"hitl-tui watch: {report.message}", file=err, flush=True)
            events += tracker.tick()
            for event in events:
                out.write(as_line(event, jsonl=jsonl) + "\n")
                out.flush()
            if not events and _reader_gone(out):
                return ExitCode.OK
    except KeyboardInterrupt:
        return ExitCode.OK
    except BrokenPipeError:
        # The reader went away mid-write: point stdout at /dev/null so the interpreter's last flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return ExitCode.OK
    finally:
        watcher.stop.set()
        watcher.wake.set()
        loop.join(timeout=5)
