"""`PgChangeProbe`: says cheaply whether anything the console shows may have changed in a Postgres database.

Two signals, neither of which touches LangGraph's tables: our ledger's own `NOTIFY hitl_changes` (sent by every
ledger transaction, delivered at its commit), and the store's change token (`pg_current_snapshot()`), which
moves when any transaction commits, agents' writes included. (Triggers on LangGraph's tables would run inside the
agents' transactions, where a faulty one breaks their writes; table statistics lag ~10 s.) A lost connection
raises one sentence; the watcher then closes everything and reads afresh on a new connection: a full resync.
"""

from __future__ import annotations

import psycopg

from hitl_tui.checkpoints.postgres.sql import CHANGE_TOKEN
from hitl_tui.checkpoints.postgres.store import redact
from hitl_tui.errors import CheckpointDBError

CHANNEL = "hitl_changes"


class PgChangeProbe:
    """`changed()` is True when a notification arrived or the snapshot token moved since the last call."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        try:
            self._conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
        except psycopg.Error as err:
            raise _explain(dsn, err) from None
        try:
            self._conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as err:
            self._conn.close()
            raise _explain(dsn, err) from None
        self._token: str | None = None

    def changed(self) -> bool:
        try:
            notified = any(True for _ in self._conn.notifies(timeout=0))
            token = str(self._conn.execute(CHANGE_TOKEN).fetchone()[0])  # type: ignore[index]
        except psycopg.Error as err:
            raise _explain(self.dsn, err) from None
        changed = notified or token != self._token
        self._token = token
        return changed

    def close(self) -> None:
        self._conn.close()


def _explain(dsn: str, err: psycopg.Error) -> CheckpointDBError:
    """One sentence, the password left out (the status line shows it)."""
    first = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return CheckpointDBError(f"{redact(dsn)}: {first}.")
