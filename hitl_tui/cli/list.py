"""`hitl-tui list`: its options, and the read that feeds them (whole, for a sorted table or array; streamed for
`--jsonl`)."""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hitl_tui.cli.list_filter import WAITING, ListFilter
from hitl_tui.config import Config
from hitl_tui.db_target import DbTarget, is_postgres
from hitl_tui.decisions.backend import open_thread_reader
from hitl_tui.model import PendingThread, ThreadStatus

if TYPE_CHECKING:
    from hitl_tui.checkpoints.reader import CheckpointReader
    from hitl_tui.cli.listing import States


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--limit takes a whole number of threads, 1 or more, not {text!r}")
    return value


def add_list_command(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser(
        "list",
        help="list the threads waiting for a human",
        description="List the threads waiting for a human (and, on request, those running or stalled): "
        "a table for people, JSON for scripts. Filters combine; each may be given more than once.",
    )
    add_common(p)
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="one JSON array, compact (oldest checkpoint first)")
    form.add_argument(
        "--jsonl", action="store_true",
        help="one JSON object per thread and line, written as the DB is read: the first thread comes at once and "
        "memory stays flat (read order, not sorted)",
    )
    p.add_argument("--pretty", action="store_true", help="indented JSON for people to read (implies --json)")
    p.add_argument("--all", action="store_true", help="also show threads that are running or stalled")
    p.add_argument("--graph", action="append", metavar="GRAPH_ID", help="only threads of this graph")
    p.add_argument("--action", action="append", metavar="NAME", help="only threads waiting on this action")
    p.add_argument(
        "--status", action="append", choices=[s.value for s in ThreadStatus],
        help="only threads in this state (default: paused and unreadable; --all adds running_or_stalled)",
    )
    p.add_argument("--limit", type=_positive, metavar="N", help="at most N threads")


def list_filter(args: argparse.Namespace) -> ListFilter:
    """The filter the command line asks for."""
    if args.status:
        statuses = frozenset(ThreadStatus(s) for s in args.status)
    else:
        statuses = WAITING | {ThreadStatus.RUNNING_OR_STALLED} if args.all else WAITING
    return ListFilter(statuses, frozenset(args.graph or ()), frozenset(args.action or ()))


def run_list(args: argparse.Namespace, config: Config, db: DbTarget) -> int:
    from hitl_tui.errors import HitlError
    from hitl_tui.gc_pause import no_gc

    if args.pretty and args.jsonl:
        raise HitlError("--pretty indents a JSON array; --jsonl writes one thread per line: choose one.")
    select = list_filter(args)
    reader = open_thread_reader(db, config)  # SQLite file or Postgres URL
    states: _LedgerStates | _PgLedgerStates = (
        _PgLedgerStates(config, str(db)) if is_postgres(db) else _LedgerStates(config, Path(db)))
    try:
        with no_gc():  # the rows are acyclic; collections over 40k listed threads would cost more than the encoding
            return _print(args, select, reader, states)  # type: ignore[arg-type]
    finally:
        states.close()


class _PgLedgerStates:
    """As _LedgerStates, from the Postgres ledger, on one read-only session of its own."""

    def __init__(self, config: Config, dsn: str) -> None:
        self._config, self._dsn = config, dsn
        self._store: Any = None

    def __call__(self, threads: Sequence[PendingThread]) -> States:
        from hitl_tui.checkpoints.postgres.store import PostgresStore
        from hitl_tui.decisions.postgres.state import decision_states
        from hitl_tui.policy.rules import assess

        items = [(t, i) for t in threads for i in t.interrupts]
        if not items:
            return {}
        if self._store is None:
            self._store = PostgresStore(self._dsn)
        return decision_states(self._store.connection, items,
                               votes_needed=lambda t, i: assess(self._config, t, i).approvals)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


class _LedgerStates:
    """Where each listed item stands in the shared ledger (approved n/m, decided by, resuming, failed), read on
    one connection however many batches `--jsonl` streams."""

    def __init__(self, config: Config, db: Path) -> None:
        self._config, self._db = config, db
        self._conn: sqlite3.Connection | None = None

    def __call__(self, threads: Sequence[PendingThread]) -> States:
        from hitl_tui.db import connect, explain_sqlite_error
        from hitl_tui.decisions.state import decision_states
        from hitl_tui.policy.rules import assess

        items = [(t, i) for t in threads for i in t.interrupts]
        if not items:
            return {}
        try:
            if self._conn is None:
                self._conn = connect(self._db, readonly=True)
            return decision_states(self._conn, items, votes_needed=lambda t, i: assess(self._config, t, i).approvals)
        except sqlite3.Error as err:
            raise explain_sqlite_error(self._db, err) from None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


def _print(
    args: argparse.Namespace, select: ListFilter, reader: CheckpointReader,
    states_of: Callable[[Sequence[PendingThread]], States],
) -> int:
    from hitl_tui.cli.listing import JsonLines, ListingFull, print_listing, selected

    try:
        if args.jsonl:
            lines = JsonLines(sys.stdout, select, args.limit, states_of)
            with contextlib.suppress(ListingFull):  # enough threads are out: the rest of the DB is not read
                reader.stream(lines.write)
            return 0
        threads = reader.read_all().threads
    finally:
        reader.close()
    shown = selected(threads, select, args.limit)
    print_listing(
        shown, out=sys.stdout, as_json=args.json or args.pretty, pretty=args.pretty, states=states_of(shown)
    )
    return 0
