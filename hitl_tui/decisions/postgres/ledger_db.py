"""`PostgresLedgerDB`: the Postgres ledger's connections, transactions, audit events and claim leases.

Compare-and-set on Postgres: READ COMMITTED plus `SELECT ... FOR UPDATE` on one lock row per thread
(`hitl_thread_locks`), not SERIALIZABLE. Why: a decision must *wait* for a rival on the same thread and then see
what the rival committed, which is exactly what a row lock gives (after the lock is granted, every later
statement of a READ COMMITTED transaction reads the newest commits). SERIALIZABLE would instead abort the loser
with a serialization failure that every caller must retry, and its predicate locks on index pages also abort
transactions on *other* threads that merely share a page: under four busy workers most aborts would be false
alarms. Row locks serialise only what must be serialised (one thread), so hosts decide different threads in
parallel. The UNIQUE (thread, checkpoint, interrupt, attempt) constraint remains the backstop either way.

Durability mirrors the SQLite ledger: decisions and claims commit synchronously; phase marks and outcomes commit
with `synchronous_commit = off` (a server crash may drop the last few; the claim itself stays).

Leases. A host can't see another host's pids, so every claim carries `lease_until` on the database's clock (the
one clock all hosts share). A live claimant renews its leases from a background thread every third of the lease;
a claim whose lease ran out belongs to a dead (or cut-off) host and may be taken over. Phase changes are fenced:
they succeed only for the claim's holder with an unexpired lease, so a cut-off host that comes back never starts
the agent on a claim someone else took.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg

from hitl_tui.audit.pg_chain import append_events
from hitl_tui.canonical import canonical_json
from hitl_tui.checkpoints.postgres.store import redact
from hitl_tui.config import Config
from hitl_tui.decisions.postgres.schema import create_tables
from hitl_tui.errors import CheckpointDBError

Clock = Callable[[], datetime]

LEASE_ENV = "HITL_TUI_LEASE_SECONDS"
DEFAULT_LEASE_SECONDS = 30.0


def lease_seconds() -> float:
    """How long a claim lives without renewal: $HITL_TUI_LEASE_SECONDS, else 30 s."""
    try:
        value = float(os.environ.get(LEASE_ENV, DEFAULT_LEASE_SECONDS))
    except ValueError:
        return DEFAULT_LEASE_SECONDS
    return value if value > 0 else DEFAULT_LEASE_SECONDS


def explain(dsn: str, err: psycopg.Error) -> CheckpointDBError:
    """One sentence for a Postgres error, the password left out."""
    first = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return CheckpointDBError(f"{redact(dsn)}: {first}.")


def connect(dsn: str) -> psycopg.Connection:
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=10, options="-c jit=off")
    except psycopg.Error as err:
        raise explain(dsn, err) from None


class PostgresLedgerDB:
    """Owns the ledger's session; transactions, the audit events they carry, and this process's claim leases."""

    def __init__(self, dsn: str, config: Config, *, clock: Clock | None = None, claimant: str | None = None,
                 create: bool = True) -> None:
        from hitl_tui.decisions.claimants import claimant_id

        self.dsn = dsn
        self.db_path = dsn  # what messages and the desk name the database by
        self.config = config
        self._clock = clock or (lambda: datetime.now(UTC))
        self.claimant = claimant or claimant_id()
        self.lease = lease_seconds()
        self._conn = connect(dsn)
        try:
            if create:  # an observer console creates nothing: reads of missing tables then find nothing
                create_tables(self._conn)
        except psycopg.Error as err:
            self._conn.close()
            raise explain(dsn, err) from None
        self._events: list[tuple[str, str]] = []  # this transaction's audit events, chained at commit
        self._touched = False  # this transaction changed what a console shows, with no event to say so
        self._keeper: _LeaseKeeper | None = None

    def close(self) -> None:
        if self._keeper is not None:
            self._keeper.stop()
        self._conn.close()

    def now(self) -> datetime:
        return self._clock()

    @property
    def conn(self) -> psycopg.Connection:
        """The session, reconnected if the server or network dropped it (a transaction in flight is lost and
        raised; the next one starts on a fresh connection)."""
        if self._conn.closed or self._conn.broken:
            self._conn = connect(self.dsn)
        return self._conn

    @contextlib.contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[psycopg.Connection]:
        """One READ COMMITTED transaction; its audit events join the chain just before it commits."""
        conn = self.conn
        self._events = []
        self._touched = False
        try:
            with conn.transaction():
                if not durable:
                    conn.execute("SET LOCAL synchronous_commit = off")
                yield conn
                if self._events or self._touched:  # consoles on every host look again (checkpoints/postgres/changes.py)
                    append_events(conn, self._events)
                    conn.execute("NOTIFY hitl_changes")
        except psycopg.Error as err:
            raise explain(self.dsn, err) from None
        finally:
            self._events = []

    def touched(self) -> None:
        """The open transaction changed what consoles show (a claim, say): they are notified at its commit."""
        self._touched = True

    def event(self, record: dict[str, Any], *, event_id: str | None = None) -> None:
        """An audit event of the open transaction (chained at its commit, dropped with a rollback)."""
        self._events.append((event_id or uuid.uuid4().hex, canonical_json(record)))

    @contextlib.contextmanager
    def savepoint(self, conn: psycopg.Connection) -> Iterator[None]:
        """A nested transaction whose events go if it rolls back."""
        mark = len(self._events)
        try:
            with conn.transaction():
                yield
        except BaseException:
            del self._events[mark:]
            raise

    def lock_threads(self, conn: psycopg.Connection, thread_ids: list[str]) -> None:
        """Lock these threads' rows for this transaction, in one order everywhere (no deadlock between bulks)."""
        ids = sorted(set(thread_ids))
        conn.execute("INSERT INTO hitl_thread_locks SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING", (ids,))
        conn.execute("SELECT 1 FROM hitl_thread_locks WHERE thread_id = ANY(%s) ORDER BY thread_id FOR UPDATE",
                     (ids,))

    def keep_leases(self) -> None:
        """Renew this process's claims in the background from now on (idempotent)."""
        if self._keeper is None:
            self._keeper = _LeaseKeeper(self.dsn, self.claimant, self.lease)

    def sync(self) -> None:
        """Every commit that matters is already synchronous on Postgres (the SQLite ledger's sync has no twin)."""


class _LeaseKeeper:
    """A daemon thread with its own session: every third of a lease, pushes this claimant's leases forward."""

    def __init__(self, dsn: str, claimant: str, lease: float) -> None:
        self._dsn, self._claimant, self._lease = dsn, claimant, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hitl-lease-keeper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn: psycopg.Connection | None = None
        while not self._stop.wait(self._lease / 3):
            try:
                if conn is None or conn.closed or conn.broken:
                    conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=10)
                conn.execute(
                    "UPDATE hitl_decisions SET lease_until = now() + make_interval(secs => %s) "
                    "WHERE claimed_by = %s AND state = 'resuming' AND lease_until > now()",
                    (self._lease, self._claimant),
                )
            except psycopg.Error:
                conn = None  # the database is away: try again next round; an expired lease stays expired
        if conn is not None:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
