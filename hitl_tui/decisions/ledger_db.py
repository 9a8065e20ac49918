"""The ledger's connection owner: one durable and one relaxed connection to the shared DB, and its transactions.

Every write is one `BEGIN IMMEDIATE` transaction (a deferred read-then-write fails under contention).

Durability. Decisions and claims commit with `synchronous=FULL` (fsync): nothing resumes on a decision that a power
cut could take back, and nothing runs without a durable claim. Progress marks that a restarted resumer can do
without (a resume's phase, its outcome, audit flush marks) commit with `synchronous=NORMAL`: in WAL mode that
survives any crash of the process and never corrupts the file, but an OS crash or power loss may roll the last
such commits back. The resumer therefore trusts phase marks only from claims made since the current boot (see
resumer.py), and the audit outbox fsyncs the WAL before copying events out, so the audit log never holds an event
the DB could still lose.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from hitl_tui.checkpoints.reader import CheckpointReader
from hitl_tui.clock import Clock, utc_now
from hitl_tui.config import Config
from hitl_tui.db import connect, explain_sqlite_error
from hitl_tui.decisions.schema import SCHEMA, migrate, needs_migration


class LedgerDB:
    """The ledger's connections (and the checkpoint reader it checks decisions against); every ledger part
    (claims, the decision ledger) works through these."""

    def __init__(self, db_path: Path, config: Config, *, clock: Clock | None = None) -> None:
        self.db_path = db_path
        self.config = config
        self._clock = clock or utc_now
        self._conn = connect(db_path, readonly=False)
        self._conn.execute("PRAGMA synchronous = FULL")  # a decision is durable before anything resumes
        self._conn.execute("PRAGMA busy_timeout = 30000")
        try:
            self._conn.executescript(SCHEMA)  # IF NOT EXISTS throughout: safe when several processes start at once
            if needs_migration(self._conn):
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    migrate(self._conn)  # re-checks under the write lock: another process may have done it
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            # NORMAL is crash-consistent only in WAL mode; in a rollback journal every commit stays FULL.
            wal = self._conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
        except sqlite3.Error as err:
            raise explain_sqlite_error(db_path, err) from None
        self._wal = wal
        # Relaxed commits go through a connection of their own (switching one connection's mode costs more).
        self._relaxed = self._conn
        if wal:
            self._relaxed = connect(db_path, readonly=False)
            self._relaxed.execute("PRAGMA synchronous = NORMAL")
            self._relaxed.execute("PRAGMA busy_timeout = 30000")
        self._reader = CheckpointReader(db_path, config)

    def close(self) -> None:
        self._reader.close()
        self._conn.close()
        if self._relaxed is not self._conn:
            self._relaxed.close()

    def now(self) -> datetime:
        return self._clock()

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """`BEGIN IMMEDIATE` ... COMMIT, rolled back on any error.

        `durable=False` commits without an fsync (synchronous=NORMAL, WAL only): for marks that may be lost in an
        OS crash or power cut, never in a crash of this process (see the module doc)."""
        conn = self._conn if durable else self._relaxed
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            raise explain_sqlite_error(self.db_path, err) from None
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as err:
                conn.execute("ROLLBACK")
                raise explain_sqlite_error(self.db_path, err) from None

    def sync(self) -> None:
        """Make every commit so far durable, relaxed ones included: one small durable commit fsyncs the WAL, and
        with it every frame before it. (What a checkpoint already moved into the main file is durable: SQLite
        syncs it there before the WAL is reused.) Never os.open() the WAL for this: closing that descriptor
        would be one more way to drop this process's POSIX locks on the DB's files."""
        if not self._wal:
            return
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO hitl_sync (id, syncs) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET syncs = syncs + 1"
            )

    @property
    def connection(self) -> sqlite3.Connection:
        """For read-only helpers such as `decisions.state.open_votes` (this thread's connection)."""
        return self._conn
